"""The bump array as engineers give it, and the row of it that a 2D section holds.

Pure functions over plain numbers (mm, die coordinates: x along ``die.size[0]``, y along
``die.size[1]``, origin at the die centre); ``wlcsp.design`` validates the keys and calls them.
An array of ``rows`` × ``columns`` at pitches (p_x, p_y) is centred on the die: bump (r, c) sits
at x = (c − (columns − 1)/2)·p_x, y = (r − (rows − 1)/2)·p_y, row 0 at the most negative y.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

Center = tuple[float, float]

_TOL = 1e-9
"""Tolerance (mm) of coordinate comparisons."""


def array_index(rows: int, columns: int, depopulate: Iterable[tuple[int, int]] = (),
                depopulate_rows: Iterable[int] = (), depopulate_columns: Iterable[int] = (),
                perimeter: int | None = None) -> list[tuple[int, int]]:
    """The (row, column) indices of the populated sites, row-major.

    ``perimeter = k`` keeps the outer k rings only (a perimeter array); the other arguments remove
    single sites, whole rows and whole columns.
    """
    gone = set(depopulate)
    rows_gone, cols_gone = set(depopulate_rows), set(depopulate_columns)
    out = []
    for r in range(rows):
        for c in range(columns):
            ring = min(r, c, rows - 1 - r, columns - 1 - c)
            if (r, c) in gone or r in rows_gone or c in cols_gone:
                continue
            if perimeter is not None and ring >= perimeter:
                continue
            out.append((r, c))
    return out


def site_center(r: int, c: int, rows: int, columns: int, pitch: tuple[float, float]) -> Center:
    """Centre (x, y) of array site (r, c) (mm)."""
    return ((c - (columns - 1) / 2) * pitch[0], (r - (rows - 1) / 2) * pitch[1])


def slice_direction(die_size: tuple[float, float], slice_: str) -> tuple[float, float]:
    """Unit vector of a 2D slice from the die centre: to the corner, along x, or along y."""
    if slice_ == "diagonal":
        a, b = die_size
        n = math.hypot(a, b)
        return a / n, b / n
    if slice_ == "long":
        return (1.0, 0.0) if die_size[0] >= die_size[1] else (0.0, 1.0)
    return (0.0, 1.0) if die_size[0] >= die_size[1] else (1.0, 0.0)


def slice_row_of_array(index: list[tuple[int, int]], rows: int, columns: int,
                       pitch: tuple[float, float], die_size: tuple[float, float],
                       slice_: str) -> list[Center]:
    """Centres of the bumps a 2D section along ``slice_`` holds (first quadrant, x, y ≥ 0).

    Diagonal: the diagonal row through the corner site (rows − 1, columns − 1), stepping
    (−1, −1) while both coordinates stay ≥ 0, populated sites only. Long / short: the populated
    row (column) nearest the slice axis, on its positive side.
    """
    populated = set(index)
    if slice_ == "diagonal":
        out = []
        r, c = rows - 1, columns - 1
        while True:
            x, y = site_center(r, c, rows, columns, pitch)
            if x < -_TOL or y < -_TOL:
                break
            if (r, c) in populated:
                out.append((x, y))
            r, c = r - 1, c - 1
        return out
    ux, _ = slice_direction(die_size, slice_)
    along_x = ux > 0.5
    centers = [site_center(r, c, rows, columns, pitch) for r, c in index]
    return _nearest_line(centers, along_x)


def _nearest_line(centers: list[Center], along_x: bool) -> list[Center]:
    """The bumps of the first quadrant on the line (row or column) nearest the slice axis."""
    k_across = 1 if along_x else 0
    quad = [p for p in centers if p[0] >= -_TOL and p[1] >= -_TOL]
    if not quad:
        return []
    nearest = min(p[k_across] for p in quad)
    return [p for p in quad if abs(p[k_across] - nearest) <= _TOL]


def slice_row_of_positions(centers: list[Center], die_size: tuple[float, float], slice_: str,
                           half_width: float) -> list[Center]:
    """Bumps of explicit centres that a 2D section holds.

    Those within ``half_width`` of the slice ray (diagonal), or the line nearest the slice axis
    (long / short).
    """
    if slice_ != "diagonal":
        return _nearest_line(centers, slice_direction(die_size, slice_)[0] > 0.5)
    ux, uy = slice_direction(die_size, slice_)
    return [(x, y) for x, y in centers
            if x * ux + y * uy >= -_TOL and abs(x * uy - y * ux) <= half_width + _TOL]


def slice_coordinates(centers: list[Center], die_size: tuple[float, float],
                      slice_: str) -> list[float]:
    """Coordinates of the centres along the slice direction (mm), sorted."""
    ux, uy = slice_direction(die_size, slice_)
    return sorted(max(x * ux + y * uy, 0.0) for x, y in centers)


def closest_pair(centers: list[Center]) -> tuple[int, int, float]:
    """Indices and distance (mm) of the two closest centres (KD-tree; n log n)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(centers)
    d, j = tree.query(centers, k=2)
    i = int(d[:, 1].argmin())
    return i, int(j[i, 1]), float(d[i, 1])


def is_symmetric(centers: list[Center], axis: str) -> bool:
    """True when the centres are symmetric about the die axis x = 0 (``"x"``) or y = 0."""
    key = {(round(x, 7), round(y, 7)) for x, y in centers}
    flip = {(round(-x, 7) + 0.0, round(y, 7)) if axis == "x" else (round(x, 7), round(-y, 7) + 0.0)
            for x, y in centers}
    return key == flip
