"""The symmetry cell of a 3D model: which part of the package and which bumps it holds.

Coordinates (mm): x along the die length (``die.size[0]``), y along its width (``die.size[1]``),
both from the die centre (the neutral point); z up from the substrate bottom, the die on top,
face down (the 2D models' y is this z).

Cells
-----
``quarter``
    x ≥ 0, y ≥ 0 of a package whose bump array is symmetric about both die axes: symmetry faces
    ``sym_x`` (x = 0, u_x = 0) and ``sym_y`` (y = 0, u_y = 0). A bump on a symmetry plane is cut by
    it (half a ball on one plane, a quarter on both); ``fraction`` says how much of it the cell
    holds. The standard cell of the field for small dies (a quarter or octant model).
``strip``
    The row of bumps nearest the die's long edge, x ≥ 0, from half a row pitch inside that row
    (y = y_row − p_y/2) out past the die edge: the critical row of a full array with the die
    corner and both free edges. Faces ``sym_x`` (x = 0) and ``plane_y`` (y = y₀, a cut through the
    array that stays plane, u_y = a + b·z: the interior of the array acts as a generalized-plane-
    strain continuation with zero net force and moment). For large dies, whose quarter holds too
    many joints to mesh finely.

Bumps are numbered by DNP (distance from the die centre), ties by angle from the x axis, i = 0
innermost, as in the 2D models.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

CELLS = ("quarter", "strip")
"""The 3D symmetry cells; see the module docstring."""

_ON_PLANE = 1e-9
"""Tolerance (mm) for a bump centre lying on a symmetry plane."""


@dataclass(frozen=True)
class CellBump:
    """One bump of the cell: its centre (x, y) in mm, DNP (mm) and the part of it in the cell."""

    center: tuple[float, float]
    dnp: float
    fraction: float
    """1, 1/2 (cut by one symmetry plane) or 1/4 (by both)."""


@dataclass(frozen=True)
class Cell:
    """Extent, faces and bumps of a 3D symmetry cell (see the module docstring).

    Attributes
    ----------
    kind : str
        One of :data:`CELLS`.
    die : tuple[float, float]
        Die edges in the cell (mm): x of the die's short edge, y of its long edge (L/2, W/2).
    x, y : tuple[float, float]
        Extent of the cell, substrate overhang included (mm).
    bumps : tuple[CellBump, ...]
        By DNP, innermost first.
    symmetry : Mapping[str, str]
        Symmetry face -> the displacement component held at zero on it.
    plane : Mapping[str, str]
        Face that stays plane -> its normal component.
    faces : Mapping[str, tuple[str, float]]
        Every cut face -> (axis of its normal, coordinate of its plane).
    """

    kind: str
    die: tuple[float, float]
    x: tuple[float, float]
    y: tuple[float, float]
    bumps: tuple[CellBump, ...]
    symmetry: Mapping[str, str]
    plane: Mapping[str, str]
    faces: Mapping[str, tuple[str, float]]

    @property
    def dnp(self) -> tuple[float, ...]:
        """DNP of every bump of the cell (mm), innermost first."""
        return tuple(b.dnp for b in self.bumps)


def _fraction(x: float, y: float, planes: tuple[str, ...]) -> float:
    f = 1.0
    if "x" in planes and abs(x) <= _ON_PLANE:
        f /= 2
    if "y" in planes and abs(y) <= _ON_PLANE:
        f /= 2
    return f


def _order(bumps: list[CellBump]) -> tuple[CellBump, ...]:
    return tuple(sorted(bumps, key=lambda b: (round(b.dnp, 9), math.atan2(b.center[1],
                                                                          b.center[0]))))


def make_cell(kind: str, die_size: tuple[float, float], overhang: float,
              centers: tuple[tuple[float, float], ...], pitch_y: float) -> Cell:
    """The cell ``kind`` of a die ``die_size`` (mm) with bumps at ``centers`` (die coordinates).

    ``pitch_y`` (mm) is the row pitch, which sets the strip's inner cut face. The array must be
    symmetric about the planes the cell cuts (checked by ``wlcsp.design``).
    """
    half_x, half_y = die_size[0] / 2, die_size[1] / 2
    x_out, y_out = half_x + overhang, half_y + overhang
    if kind == "quarter":
        inside = [CellBump((x, y), math.hypot(x, y), _fraction(x, y, ("x", "y")))
                  for x, y in centers if x >= -_ON_PLANE and y >= -_ON_PLANE]
        return Cell(kind, (half_x, half_y), (0.0, x_out), (0.0, y_out), _order(inside),
                    {"sym_x": "x", "sym_y": "y"}, {},
                    {"sym_x": ("x", 0.0), "sym_y": ("y", 0.0)})
    if kind == "strip":
        y_row = max(y for _, y in centers)
        y0 = y_row - pitch_y / 2
        inside = [CellBump((x, y), math.hypot(x, y), _fraction(x, y, ("x",)))
                  for x, y in centers if x >= -_ON_PLANE and abs(y - y_row) <= _ON_PLANE]
        return Cell(kind, (half_x, half_y), (0.0, x_out), (y0, y_out), _order(inside),
                    {"sym_x": "x"}, {"plane_y": "y"},
                    {"sym_x": ("x", 0.0), "plane_y": ("y", y0)})
    raise ValueError(f"cell = {kind!r}: one of {', '.join(CELLS)}")
