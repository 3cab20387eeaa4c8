"""The unit of every number wlcsp writes: design keys, ``summary.json`` fields, CSV columns.

Package units (DESIGN.md): lengths mm, stresses and energy densities MPa (= MJ/m³), time s,
temperatures °C in files (K for differences), CTE ppm/K, lives cycles; strains, ratios and counts
are dimensionless ("-"). A field's unit follows from its name: an exact name in :data:`EXACT`, else
the first pattern of :data:`PATTERNS` its name contains. ``summary.json`` carries the units of its
fields in a ``units`` block (:func:`with_units`), so that no number is read without its unit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

EXACT: dict[str, str] = {
    "e": "MPa", "t": "s", "T": "°C", "T_min": "°C", "T_max": "°C", "dofs": "-", "elements": "-",
    "cycles": "-", "steps": "-", "bump": "-", "critical_bump": "-", "n_bumps": "-", "nu": "-",
    "accuracy": "-", "center": "mm", "shear_direction": "-", "cycle_bounds": "s",
    "gamma": "-", "tau": "MPa", "energy_change": "-", "evaluations": "-", "band": "cycles",
    "azimuth_deg": "deg", "radius_fraction": "-",
}
"""Units of fields known by their whole (last) name."""

PATTERNS: tuple[tuple[str, str], ...] = (
    ("_ppm", "ppm/K"), ("cte", "ppm/K"), ("_cycles", "cycles"), ("life", "cycles"),
    ("ratio", "-"), ("factor", "-"), ("strain", "-"), ("energy_density", "MPa"),
    ("energy", "MPa"), ("work", "MPa"), ("von_mises", "MPa"), ("shear", "MPa"),
    ("stress", "MPa"), ("_mpa", "MPa"), ("modulus", "MPa"), ("warpage", "mm"),
    ("_mm", "mm"), ("thickness", "mm"), ("diameter", "mm"), ("pitch", "mm"), ("height", "mm"),
    ("standoff", "mm"), ("dnp", "mm"), ("gap", "mm"), ("width", "mm"), ("size", "mm"),
    ("fillet", "mm"), ("clearance", "mm"), ("radius", "mm"), ("delta_t", "K"),
    ("temperature", "°C"), ("stress_free", "°C"), ("tg", "°C"), ("dwell", "s"),
    ("ramp", "s"), ("seconds", "s"), ("time", "s"), ("iterations", "-"), ("cutbacks", "-"),
    ("rejected", "-"), ("factorizations", "-"), ("per_step", "-"), ("underfill", "-"),
    ("samples", "-"), ("count", "-"),
)
"""(pattern, unit): the first pattern a (lower-case) name contains gives its unit."""


def unit_of(key: str) -> str | None:
    """The unit of a field or key path (``bumps[3].mean_shear``, ``materials.x.E``), or None.

    The last segment is tried first (exact, then patterns), then the whole path's patterns
    (``life.darveaux``: cycles).
    """
    last = re.sub(r"\[.*?\]", "", key).rsplit(".", 1)[-1]
    if last in EXACT or last.lower() in EXACT:
        return EXACT.get(last, EXACT.get(last.lower()))
    for probe in (last.lower(), key.lower()):
        unit = next((u for pattern, u in PATTERNS if pattern in probe), None)
        if unit is not None:
            return unit
    return None


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(_numeric(v) for v in value)


def numeric_fields(result: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """Every numeric leaf of ``result`` by its path (lists of tables by their first entry)."""
    out: dict[str, Any] = {}
    for key, value in result.items():
        here = f"{path}.{key}" if path else str(key)
        if isinstance(value, Mapping):
            out |= numeric_fields(value, here)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Mapping)
                                                                for v in value):
            for item in value:
                out |= numeric_fields(item, f"{here}[]")
        elif _numeric(value):
            out[here] = value
    return out


def summary_units(result: Mapping[str, Any]) -> dict[str, str]:
    """Field path (list entries as ``[]``) -> unit of every numeric leaf with a known unit."""
    paths = numeric_fields(result)
    return {p: u for p in paths if (u := unit_of(p)) is not None}


def with_units(result: Mapping[str, Any]) -> dict[str, Any]:
    """``result`` with its ``units`` block (:func:`summary_units`), as ``summary.json`` holds it."""
    return {**result, "units": summary_units(result)}
