"""Per-case analyses of a study: each maps one design dict to a JSON-able result dict.

``geometry``
    No finite elements: the derived joint geometry of :mod:`wlcsp.design` and Engelmaier's DNP
    shear-strain hand estimate for the outermost joint. Milliseconds per case; enough to size balls,
    pads and pitch.
``elastic``, ``anand``, ``garofalo``
    :func:`wlcsp.analyze` with ``loading.solder`` set to that model; the result is the
    ``summary.json`` contract of shared/DESIGN.md.

The functions are module-level so that dask pickles them by reference.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..design import SOLDER_MODELS, load_design
from ..life import DNP_FACTOR, dnp_shear_strain
from ..loading import parse_profile
from . import keys

GEOMETRY_FIELDS: dict[str, str] = {
    "joint_height": "solder height h: spherical segment plus top-coat neck (mm)",
    "joint_width": "widest diameter of the joint (mm)",
    "sphere_radius": "radius of the joint's spherical surface (mm)",
    "standoff": "gap from the substrate top to the chip-side surface (mm)",
    "clearance": "bumps.pitch minus joint_width: the solder-free gap between joints (mm)",
    "n_bumps": "number of joints along the modelled slice",
    "dnp_max": "distance to the neutral point of the outermost joint L_D (mm)",
    "delta_T": "temperature range of the loading profile (K)",
    "delta_alpha": "mean CTE mismatch of substrate and die over the profile (1/K)",
    "dnp_shear_strain": "Engelmaier's Δγ = F·L_D·Δα·ΔT/h of the outermost joint (-)",
    "bumps": "list of {dnp} per joint, innermost first (the summary.json layout)",
}
"""Keys of the geometry result and their meaning; every one but ``bumps`` is a default output."""


def geometry(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Derived geometry and the DNP hand estimate of one design (no meshing).

    ``dnp_shear_strain`` is Engelmaier's rigid-plate estimate Δγ = F·L_D·Δα·ΔT/h
    (:func:`wlcsp.life.dnp_shear_strain`; Engelmaier 1983, IEEE CHMT-6(3); IPC-D-279; literature
    §3.1) with F = :data:`wlcsp.life.DNP_FACTOR`, L_D the outermost DNP, h the solder height and
    Δα·ΔT the difference of the substrate's and the die's free thermal strains between the
    profile's extremes (exact for temperature-dependent CTEs). It ignores any compliant layer:
    the upper bound that an elastomer buffer is meant to beat.
    """
    design = load_design(raw)
    profile = parse_profile(design.loading.profile)
    t_lo, t_hi = profile.T_min, profile.T_max
    die, sub = design.material(design.die.material), design.material(design.substrate.material)
    mismatch = abs(float(sub.thermal_strain(t_hi, t_lo)) - float(die.thermal_strain(t_hi, t_lo)))
    delta_t = t_hi - t_lo
    alpha = mismatch / delta_t
    joint = design.joint
    height = joint.height + joint.neck
    width = 2 * max(joint.half_width, design.bumps.pad_diameter / 2,
                    design.rerouting.land_diameter / 2)
    dnp_max = max(design.dnp)
    return {
        "joint_height": height,
        "joint_width": width,
        "sphere_radius": joint.radius,
        "standoff": design.standoff,
        "clearance": design.bumps.pitch - width,
        "n_bumps": len(design.dnp),
        "dnp_max": dnp_max,
        "delta_T": delta_t,
        "delta_alpha": alpha,
        "dnp_shear_strain": float(dnp_shear_strain(dnp_max, alpha, delta_t, height, DNP_FACTOR)),
        "bumps": [{"dnp": d} for d in design.dnp],
    }


def finite_element(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The full analysis :func:`wlcsp.analyze` of one design (``loading.solder`` already set)."""
    from ..analysis import analyze

    return analyze(load_design(raw))


def fe_available() -> bool:
    """Whether this installation has the finite-element analysis (``wlcsp.analysis``)."""
    return importlib.util.find_spec("wlcsp.analysis") is not None


ANALYSES: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "geometry": geometry, **dict.fromkeys(SOLDER_MODELS, finite_element)}
"""Analysis name (a study's ``analysis``) -> per-case function."""


def _plain(x: Any) -> Any:
    """Convert numpy scalars and arrays to Python numbers and lists (for JSON)."""
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"{type(x).__name__} is not JSON serializable")


def to_json(result: Mapping[str, Any]) -> str:
    """A result dict as JSON text (numpy values converted; NaN kept as ``NaN``)."""
    return json.dumps(result, default=_plain, sort_keys=True)


def extract(result: Mapping[str, Any], output: str) -> Any:
    """The value at the dotted path ``output`` of a result.

    A scalar as it is, lists and tables as JSON text, None when the result does not hold it.
    """
    try:
        value, _ = keys.resolve(result, keys.parse(output))
    except keys.KeyPathError:
        return None
    if value is keys.MISSING:
        return None
    if isinstance(value, (Mapping, list)):
        return json.dumps(value, default=_plain, sort_keys=True)
    return value
