"""Per-joint, per-cycle figures of a monitored viscoplastic history, and what the lives take.

Shared by the cycle analysis of a cell or section (:mod:`wlcsp.cycling`) and of a refined joint
(:mod:`wlcsp.refined_joint`). Per bump and per cycle c (between the cycle's start and end,
both step ends):

``accumulated_inelastic_strain``
    ⟨p⟩ at the end of the cycle: the volume average (2πr-weighted when axisymmetric) of the
    accumulated equivalent inelastic strain.
``delta_accumulated_inelastic_strain``
    ⟨p⟩ gained in the cycle: Syed's accumulated creep strain per cycle Δε_acc.
``delta_inelastic_strain``
    The range of the bump's mean inelastic strain tensor ⟨ε_in⟩(t) in the cycle, as the largest
    von Mises equivalent of ⟨ε_in⟩(t₁) − ⟨ε_in⟩(t₂) over the step ends t₁, t₂ of the cycle: the
    width of the hysteresis loop, the inelastic strain range of Coffin-Manson (≈ half of
    ``delta_accumulated_inelastic_strain`` for a symmetric loop).
``delta_energy_density``
    The inelastic work density gained in the cycle, averaged over the Darveaux interface layer
    (thickness: the fatigue set's ``interface_layer``, the 1-mil layer Darveaux's constants were
    fitted with) at the solder/land (``top``) and solder/pad (``bottom``) interfaces; the worse of
    the two (``energy_interface`` says which) (MPa = mJ/mm³).
``delta_shear_strain``, ``delta_equivalent_strain``
    The range of the mean joint shear strain ⟨γ⟩ (γ_xy, γ_rz; in 3D along the bump's DNP
    direction, :meth:`~wlcsp.fem.kinematics.Kinematics.shear_along`) and the largest equivalent
    of the range of the mean mechanical strain in the cycle, the counterparts of the elastic
    estimate's figures (:mod:`wlcsp.analysis`).

The figures of the last cycle are the bump's values, its per-cycle lists go under ``per_cycle``.
The critical bump has the largest ``delta_energy_density``. Stabilization: the relative change
of the critical bump's energy between the last two cycles; above :data:`STABILIZATION_TOL` the
summary says so and a warning is issued (more ``loading.cycles`` needed).

Lives (``life`` -> model -> cycles) per bump through :func:`wlcsp.life_report.report`:
Coffin-Manson on ``delta_inelastic_strain``, Darveaux on ``delta_energy_density`` with the
diameter of the critical interface as the crack path (land or pad), Syed energy on
``delta_energy_density`` and Syed strain on ``delta_accumulated_inelastic_strain``; the critical
bump's lives are the design's. One of them is the ``primary`` life with its band, the others
``secondary`` (the rule, and the labels of alloy-mismatched constants: :mod:`wlcsp.life_report`).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import post
from .design import Design
from .fem.cycle import CycleResult, History
from .fem.kinematics import Kinematics
from .fem.thermoelastic import ThermoelasticModel
from .fem.viscoplastic import voigt
from .loading import Profile
from .post import equivalent_strain

STABILIZATION_TOL = 0.05
"""Largest relative change of the critical bump's per-cycle energy between the last two cycles
for a stabilized loop (issue 5: warn above 5 %)."""

SIDES = ("top", "bottom")
"""The two pad interfaces of a bump: against the land (top) and against the substrate pad."""

SITES = {"top": "die side (land)", "bottom": "board side (pad)"}
"""Each of :data:`SIDES` as a crack-initiation site (``energy_interface`` -> its name)."""


def interface_diameter(design: Design, side: str) -> float:
    """Diameter (mm) of a bump's interface ``side``: the land (top) or the substrate pad."""
    return {"top": design.rerouting.land_diameter, "bottom": design.bumps.pad_diameter}[side]


def joint_monitors(model: ThermoelasticModel, bump: int, layer: float) -> dict[str, np.ndarray]:
    """Averaging masks of joint ``bump``: its volume and its two interface layers.

    ``bump_<i>`` (the volume) and ``bump_<i>_top``, ``bump_<i>_bottom`` (its layers of
    thickness ``layer`` (mm) at the land and pad interfaces).
    """
    name = f"bump_{bump}"
    out = {name: post.region_mask(model, name)}
    for side in SIDES:
        out[f"{name}_{side}"] = post.interface_layer_mask(model, f"{name}_{side}", name, layer)
    return out


def monitors(model: ThermoelasticModel, nbumps: int, layer: float) -> dict[str, np.ndarray]:
    """:func:`joint_monitors` of bumps 0 .. nbumps − 1."""
    return {k: v for i in range(nbumps) for k, v in joint_monitors(model, i, layer).items()}


def _index(times: np.ndarray, t: float) -> int:
    i = int(np.argmin(np.abs(times - t)))
    if not np.isclose(times[i], t, rtol=0.0, atol=1e-6 * max(1.0, abs(t))):
        raise ValueError(f"t = {t} s is not a step end of the history")
    return i


def _diameter(path: np.ndarray) -> float:
    """Largest von Mises equivalent of the difference of two points of a strain path (n, 4)."""
    if len(path) < 2:
        return 0.0
    i, j = np.triu_indices(len(path), 1)
    return float(equivalent_strain(path[i] - path[j]).max())


def bump_cycles(history: History, bounds: np.ndarray, bumps: Sequence[int], thermal: np.ndarray,
                kin: Kinematics | None = None,
                directions: Sequence[tuple[float, float]] | None = None
                ) -> list[dict[str, Any]]:
    """Per-bump, per-cycle figures of the module docstring from a monitored history.

    One dict per bump of ``bumps`` (indices into the cell or section: the monitors
    ``bump_<i>``, ``bump_<i>_top``, ``bump_<i>_bottom``). ``thermal`` (nsteps + 1,) is the
    solder's free thermal strain at each step end, for the mechanical strain. The joint shear
    is ``kin.shear_along`` each bump's DNP direction (``directions[i]``; 3D), or the fourth
    component (γ_xy, γ_rz) without ``kin``.
    """
    names = list(history.monitors)
    out = []
    cut = [_index(history.times, t) for t in bounds]
    for i in bumps:
        k = names.index(f"bump_{i}")
        layers = [names.index(f"bump_{i}_{side}") for side in SIDES]
        p = history.accumulated_inelastic_strain[:, k]
        mech = history.strain[:, k] - thermal[:, None] * voigt(history.strain.shape[-1]).one
        shear = history.strain[:, k, 3] if kin is None else \
            post.shear(kin, history.strain[:, k], directions[i] if directions else (1.0, 0.0))
        per: dict[str, list] = {key: [] for key in (
            "accumulated_inelastic_strain", "delta_accumulated_inelastic_strain",
            "delta_inelastic_strain", "delta_energy_density", "energy_interface",
            "delta_shear_strain", "delta_equivalent_strain")}
        for a, b in itertools.pairwise(cut):
            w = [history.inelastic_work[b, j] - history.inelastic_work[a, j] for j in layers]
            worst = int(np.argmax(w))
            gamma = shear[a:b + 1]
            per["accumulated_inelastic_strain"].append(float(p[b]))
            per["delta_accumulated_inelastic_strain"].append(float(p[b] - p[a]))
            per["delta_inelastic_strain"].append(
                _diameter(history.inelastic_strain[a:b + 1, k]))
            per["delta_energy_density"].append(float(w[worst]))
            per["energy_interface"].append(SIDES[worst])
            per["delta_shear_strain"].append(float(gamma.max() - gamma.min()))
            per["delta_equivalent_strain"].append(_diameter(mech[a:b + 1]))
        out.append({**{key: v[-1] for key, v in per.items()}, "per_cycle": per})
    return out


def stabilization(energies: list[float]) -> dict[str, Any]:
    """Relative change of the per-cycle energy between the last two cycles."""
    if len(energies) < 2:
        return {"energy_change": None, "stabilized": None,
                "note": "one cycle or a non-cyclic history: stabilization not checked "
                        "(loading.cycles ≥ 2)"}
    change = abs(energies[-1] - energies[-2]) / max(abs(energies[-1]), 1e-300)
    out: dict[str, Any] = {"energy_change": change, "stabilized": change <= STABILIZATION_TOL}
    if change > STABILIZATION_TOL:
        out["note"] = (f"the critical bump's energy per cycle still changes by {100 * change:.1f} "
                       f"% between the last two cycles (> {100 * STABILIZATION_TOL:g} %): "
                       "run more loading.cycles")
        warnings.warn(out["note"], RuntimeWarning, stacklevel=3)
    return out


def life_inputs(design: Design, bump: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Model -> :func:`wlcsp.life.cycle_life` inputs of one bump (module docstring)."""
    energy = {"delta_energy_density": bump["delta_energy_density"],
              "pad_diameter": interface_diameter(design, bump["energy_interface"])}
    return {"coffin_manson": {"delta_strain": bump["delta_inelastic_strain"]},
            "darveaux": energy,
            "syed_energy": {"delta_energy_density": bump["delta_energy_density"]},
            "syed_strain": {"delta_strain": bump["delta_accumulated_inelastic_strain"]}}


def procedures(design: Design, profile: Profile, cycles: int, layer: float, *,
               where: str = "") -> dict[str, str]:
    """Model -> what this analysis feeds it, for the primary life's basis sentence.

    ``where`` names the model the figures come from when it is not the design's own (e.g.
    the refined local model of a joint).
    """
    run = (f"last of {cycles} {profile.name} cycle(s), {design.model} model"
           + (f", {where}" if where else "") + f", {design.loading.solder} solder")
    energy = (f"on the inelastic work per cycle averaged over the {1e3 * layer:.4g} um interface "
              f"layer of the critical joint's worse pad interface ({run})")
    return {"darveaux": energy.replace(" (", ", crack path that pad's diameter (", 1),
            "syed_energy": energy,
            "syed_strain": f"on the critical joint's volume-averaged accumulated inelastic strain "
                           f"per cycle ({run})",
            "coffin_manson": f"on the range of the critical joint's volume-averaged inelastic "
                             f"strain ({run})"}


def last_cycle_work(res: CycleResult, bounds: Sequence[float]) -> np.ndarray:
    """Inelastic work density gained in the last cycle (MPa) at every quadrature point.

    (nelems, nqp), zero outside the solder; from the states kept at the cycle's bounds.
    """
    last = np.zeros(res.final.accumulated_inelastic_strain.shape)
    a, b = (res.states[t] for t in bounds[-2:])
    last[res.solder_elems] = (b.w - a.w).reshape(res.solder_elems.size, -1)
    return last
