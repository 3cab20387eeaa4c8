"""The viscoplastic thermal-cycle analysis of one design (``loading.solder`` anand or garofalo).

The package is meshed, the solder bumps follow the design's rate law and every other region stays
thermoelastic (:mod:`wlcsp.fem.cycle`). The history starts stress-free at the solder's stress-free
temperature (``bumps.stress_free``, else ``loading.stress_free``), ramps at the profile's ramp
rate to the profile's first temperature and runs ``loading.cycles`` cycles (a non-cyclic profile
once). Per bump and per cycle c (between the cycle's start and end, both step ends):

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
import json
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import life_report, post, progress
from .design import Design, load_design
from .errors import DesignError
from .fem.cycle import Controls, CycleResult, History, profile_history, run
from .fem.cycle_model import CycleModel
from .fem.kinematics import Kinematics
from .fem.thermoelastic import ThermoelasticModel
from .fem.viscoplastic import voigt
from .life import FATIGUE_SETS
from .life_report import fatigue_alloy, json_safe
from .loading import Profile, parse_profile
from .mesh import PackageMesh, build_mesh
from .post import equivalent_strain
from .units import with_units

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


def monitors(model: ThermoelasticModel, nbumps: int, layer: float) -> dict[str, np.ndarray]:
    """Averaging masks of the bumps: volumes and Darveaux layers.

    ``bump_<i>`` (the bump's volume) and ``bump_<i>_top``, ``bump_<i>_bottom`` (its layers of
    thickness ``layer`` (mm) at the land and pad interfaces).
    """
    out: dict[str, np.ndarray] = {}
    for i in range(nbumps):
        name = f"bump_{i}"
        out[name] = post.region_mask(model, name)
        for side in SIDES:
            out[f"{name}_{side}"] = post.interface_layer_mask(model, f"{name}_{side}", name,
                                                              layer)
    return out


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


def bump_cycles(history: History, bounds: np.ndarray, nbumps: int, thermal: np.ndarray,
                kin: Kinematics | None = None,
                directions: Sequence[tuple[float, float]] | None = None
                ) -> list[dict[str, Any]]:
    """Per-bump, per-cycle figures of the module docstring from a monitored history.

    ``thermal`` (nsteps + 1,) is the solder's free thermal strain at each step end, for the
    mechanical strain. The joint shear is ``kin.shear_along`` each bump's DNP direction
    (``directions[i]``; 3D), or the fourth component (γ_xy, γ_rz) without ``kin``.
    """
    names = list(history.monitors)
    out = []
    cut = [_index(history.times, t) for t in bounds]
    for i in range(nbumps):
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


def procedures(design: Design, profile: Profile, cycles: int, layer: float) -> dict[str, str]:
    """Model -> what this analysis feeds it, for the primary life's basis sentence."""
    run = (f"last of {cycles} {profile.name} cycle(s), {design.model} model, "
           f"{design.loading.solder} solder")
    energy = (f"on the inelastic work per cycle averaged over the {1e3 * layer:.4g} um interface "
              f"layer of the critical joint's worse pad interface ({run})")
    return {"darveaux": energy.replace(" (", ", crack path that pad's diameter (", 1),
            "syed_energy": energy,
            "syed_strain": f"on the critical joint's volume-averaged accumulated inelastic strain "
                           f"per cycle ({run})",
            "coffin_manson": f"on the range of the critical joint's volume-averaged inelastic "
                             f"strain ({run})"}


def analyze_cycles(design: Design | str | Path | Mapping[str, Any], out: str | Path | None = None,
                   figures: bool = True, *, controls: Controls | None = None) -> dict[str, Any]:
    """Run the viscoplastic cycle analysis of ``design``; the ``summary.json`` dict.

    Parameters
    ----------
    design : Design, path or dict
        With ``loading.solder`` = ``anand`` or ``garofalo``.
    out : path, optional
        Directory for ``summary.json``, ``solution.vtu`` and the figures (``hysteresis.png``:
        the critical bump's shear stress-strain loops).
    figures : bool
        Write the PNG figures.
    controls : Controls, optional
        Step and tolerance settings of :func:`wlcsp.fem.cycle.run`.

    Raises
    ------
    DesignError
        For a design the analysis cannot take (an elastic solder, an unsupported 2D model).
    AnalysisError
        When a step does not converge (naming time and temperature).
    """
    if not isinstance(design, Design):
        design = load_design(design)
    if design.loading.solder == "elastic":
        raise DesignError("loading.solder", "elastic", "anand or garofalo for a cycle analysis")
    fatigue_alloy(design)  # no constants for the solder: a bad design, before the solve
    profile = parse_profile(design.loading.profile)
    cycles = design.loading.cycles if profile.cyclic else 1
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    with progress.phase("mesh"):
        pm = build_mesh(design)
    seconds["mesh"] = time.perf_counter() - t
    t = time.perf_counter()
    model = ThermoelasticModel(pm.mesh, pm.materials, kind=design.model, order=pm.order,
                               stress_free=pm.stress_free, supports=pm.supports,
                               plane_faces=pm.plane_faces)
    nbumps = len(design.dnp)
    cm = CycleModel(model, [f"bump_{i}" for i in range(nbumps)], design.loading.solder)
    layer = FATIGUE_SETS["darveaux"][design.fatigue["darveaux"]].interface_layer
    mons = monitors(model, nbumps, layer)
    seconds["model"] = time.perf_counter() - t
    t = time.perf_counter()
    start = pm.stress_free["bump_0"]
    knots_t, knots_T, bounds = profile_history(profile, cycles, start)
    with progress.phase(f"viscoplastic solve: {cycles} cycle(s) of {profile.name}, "
                        f"{knots_t[-1] - knots_t[0]:g} s"):
        last_cycle = knots_t[(knots_t >= bounds[-2]) & (knots_t <= bounds[-1])]
        res = run(cm, knots_t, knots_T, monitors=mons, controls=controls, keep=last_cycle)
    seconds["solve"] = time.perf_counter() - t
    t = time.perf_counter()
    hist = res.history
    solder = design.material(design.bumps.material)
    thermal = np.asarray(solder.thermal_strain(hist.temperatures, start))
    per_bump = bump_cycles(hist, bounds, nbumps, thermal, model.kin, design.bump_directions)
    final = res.final
    result: dict[str, Any] = {
        "design": design.name,
        "model": design.model,
        "analysis": f"viscoplastic ({design.loading.solder})",
        "profile": {"name": profile.name, "T_min": profile.T_min, "T_max": profile.T_max,
                    "cyclic": profile.cyclic, "cycles": cycles},
        "temperature": final.T,
        "dofs": int(model.kin.ndofs),
        "elements": int(pm.mesh.nelements),
        "stress_free": design.loading.stress_free,
        "solder_stress_free": start,
        **post.summary(final, design.dnp, design.bump_directions),
        "singular_peaks": "max_* values sit at bimaterial corners (singular, mesh-dependent): "
                          "display only; bumps are ranked by volume and interface-layer averages",
    }
    for bump, figs in zip(result["bumps"], per_bump, strict=True):
        bump.update(figs)
    crit = int(np.argmax([b["delta_energy_density"] for b in result["bumps"]]))
    result["critical_bump"] = crit
    result["stabilization"] = stabilization(
        result["bumps"][crit]["per_cycle"]["delta_energy_density"])
    k = list(hist.monitors).index(f"bump_{crit}")
    result["hysteresis"] = {"bump": crit, "cycle_bounds": bounds.tolist(),
                            "time": hist.times.tolist(), "temperature": hist.temperatures.tolist(),
                            "shear_strain": post.shear(model.kin, hist.strain[:, k],
                                                       design.bump_directions[crit]).tolist(),
                            "shear_stress": post.shear(model.kin, hist.stress[:, k],
                                                       design.bump_directions[crit]).tolist()}
    side = result["bumps"][crit]["energy_interface"]
    last = last_cycle_work(res, bounds)
    result["energy_peak"] = {
        "bump": crit, "interface": side, **post.peak_site(
            model.kin, last, mons[f"bump_{crit}_{side}"], post.region_mask(final, f"bump_{crit}"),
            design.bump_directions[crit], interface_diameter(design, side) / 2)}
    result["solver"] = _solver_stats(hist)
    seconds["post"] = time.perf_counter() - t
    t = time.perf_counter()
    if profile.cyclic:
        life_report.report(result, design, profile,
                           [life_inputs(design, b) for b in result["bumps"]], screening=False,
                           procedures=procedures(design, profile, cycles, layer))
        result["life_basis"] = (
            "viscoplastic, last cycle of the critical bump: Coffin-Manson on "
            "delta_inelastic_strain, Darveaux and Syed energy on delta_energy_density (Darveaux "
            "interface layer), Syed strain on delta_accumulated_inelastic_strain")
    seconds["life"] = time.perf_counter() - t
    result["seconds"] = seconds
    if out is not None:
        write_outputs(result, pm, res, last, Path(out), figures=figures)
    return result


def _solver_stats(hist: History) -> dict[str, Any]:
    s = hist.stats
    steps = max(int(s["steps"]), 1)
    return {"steps": s["steps"], "evaluations": s["evaluations"],
            "newton_per_step": s["evaluations"] / steps, "cg_iterations": s["cg_iterations"],
            "factorizations": s["factorizations"], "cutbacks": s["cutbacks"],
            "rejected_steps": s["rejected"], "seconds": s["seconds"]}


def last_cycle_work(res: CycleResult, bounds: Sequence[float]) -> np.ndarray:
    """Inelastic work density gained in the last cycle (MPa) at every quadrature point.

    (nelems, nqp), zero outside the solder; from the states kept at the cycle's bounds.
    """
    last = np.zeros(res.final.accumulated_inelastic_strain.shape)
    a, b = (res.states[t] for t in bounds[-2:])
    last[res.solder_elems] = (b.w - a.w).reshape(res.solder_elems.size, -1)
    return last


def _inelastic_cells(sol: Any) -> dict[str, np.ndarray]:
    """Element means of the inelastic fields of a cycle solution, for the VTU files."""
    return {"inelastic_strain": post.element_means(sol, sol.inelastic_strain),
            "accumulated_inelastic_strain": post.element_means(
                sol, sol.accumulated_inelastic_strain),
            "inelastic_work": post.element_means(sol, sol.inelastic_work)}


def write_outputs(result: dict[str, Any], pm: PackageMesh, res: CycleResult,
                  last: np.ndarray, out: Path, *, figures: bool = True) -> None:
    """``summary.json``, ``solution.vtu`` (the final state), the series and the figures.

    Besides the fields of :func:`wlcsp.post.write_vtu`, the VTU has per cell the inelastic strain,
    ⟨p⟩, the inelastic work density and the work density of the last cycle (``last``:
    :func:`last_cycle_work`, MPa per quadrature point). ``solution.pvd``
    (ParaView's time-series collection, timestep = t in s) lists ``series/knot_<k>.vtu``: the
    state at every knot of the last cycle (its start, the ends of each ramp and dwell: the cycle's
    extremes), with the same fields but the last cycle's work density.
    """
    out.mkdir(parents=True, exist_ok=True)
    final = res.final
    post.write_vtu(out / "solution.vtu", final, extra_cells={
        **_inelastic_cells(final),
        "delta_energy_density_last_cycle": post.element_means(final, last),
    })
    (out / "series").mkdir(exist_ok=True)
    entries = []
    for k, (t, sol) in enumerate(sorted(res.solutions.items())):
        name = f"series/knot_{k}.vtu"
        post.write_vtu(out / name, sol, extra_cells=_inelastic_cells(sol))
        entries.append(f'    <DataSet timestep="{t:.9g}" part="0" file="{name}"/>')
    (out / "solution.pvd").write_text(
        '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n  <Collection>\n'
        + "\n".join(entries) + "\n  </Collection>\n</VTKFile>\n", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(json_safe(with_units(result)), indent=2),
                                      encoding="utf-8")
    if figures:
        from .plots import plot_bumps, plot_deformed, plot_hysteresis, plot_von_mises

        plot_von_mises(final, pm, result["critical_bump"], out / "von_mises.png")
        plot_deformed(final, pm, out / "deformed.png")
        plot_bumps(result, out / "bumps.png")
        plot_hysteresis(result, out / "hysteresis.png")
