"""Sweep figures: each numeric output against each swept parameter, one line per variant.

In a grid study the variants are the combinations of the other axes' values; in a zip study
all axes move together, so there is one line. Non-numeric parameters (on/off switches, profile
names, tables) are placed at equal spacing in the order the study lists them. Figures are drawn
on :class:`matplotlib.figure.Figure` (Agg, no pyplot), which leaves a notebook's backend alone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure
from pandas.api.types import is_numeric_dtype

from ..units import unit_of
from .spec import column_value

if TYPE_CHECKING:
    import pandas as pd

    from .spec import Axis, Study

Line = tuple[str, list[float], list[float]]


def _positions(axis: Axis) -> tuple[dict[Any, float], list[str] | None]:
    """Table cell -> x position, and tick labels when the parameter is not a number."""
    cells = [column_value(axis, v) for v in axis.values]
    if all(isinstance(c, float) for c in cells):
        return {c: c for c in cells}, None
    return {c: float(k) for k, c in enumerate(cells)}, [str(c) for c in cells]


def curves(frame: pd.DataFrame, study: Study, output: str, axis: Axis) -> list[Line]:
    """(label, x, y) of ``output`` against ``axis`` for every variant; failed cases are left out."""
    done = frame[frame["_status"] == "done"]
    position, _ = _positions(axis)
    others = [a for a in study.axes if a is not axis] if study.mode == "grid" else []
    groups = (done.groupby([a.column for a in others], sort=False, dropna=False) if others
              else [((), done)])
    lines = []
    for values, part in groups:
        label = ", ".join(f"{a.column}={v}" for a, v in zip(others, values, strict=True))
        points = sorted((position[c], float(y)) for c, y in zip(part[axis.column], part[output],
                                                                strict=True))
        lines.append((label, [p[0] for p in points], [p[1] for p in points]))
    return lines


def axis_label(name: str, key: str | None = None) -> str:
    """``name (unit)`` for a column whose key (default ``name``) has a :func:`unit_of`."""
    unit = unit_of(key or name)
    return f"{name} ({unit})" if unit else name


def write_figures(frame: pd.DataFrame, study: Study, folder: Path) -> list[Path]:
    """One PNG per numeric output and swept parameter, ``<output>__vs__<column>.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for output in study.outputs:
        if not is_numeric_dtype(frame[output]) or frame[output].isna().all():
            continue
        for axis in study.axes:
            lines = curves(frame, study, output, axis)
            fig = Figure(figsize=(6.0, 4.0), layout="constrained")
            ax = fig.add_subplot()
            for label, x, y in lines:
                ax.plot(x, y, "o-", label=label or None)
            _, ticks = _positions(axis)
            if ticks is not None:
                ax.set_xticks(range(len(ticks)), ticks)
            ax.set_xlabel(axis_label(axis.column, axis.key))
            ax.set_ylabel(axis_label(output))
            ax.set_title(study.name, fontsize="small")
            ax.grid(alpha=0.3)
            if len(lines) > 1:
                ax.legend(fontsize="x-small")
            path = folder / f"{_slug(output)}__vs__{_slug(axis.column)}.png"
            fig.savefig(path, dpi=100)
            paths.append(path)
    return paths


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")
