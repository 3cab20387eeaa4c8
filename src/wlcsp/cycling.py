"""The viscoplastic thermal-cycle analysis of one design (``loading.solder`` anand or garofalo).

The package is meshed, the solder bumps follow the design's rate law and every other region stays
thermoelastic (:mod:`wlcsp.fem.cycle`). The history starts stress-free at the solder's stress-free
temperature (``bumps.stress_free``, else ``loading.stress_free``), ramps at the profile's ramp
rate to the profile's first temperature and runs ``loading.cycles`` cycles (a non-cyclic profile
once). The figures per bump and cycle, the stabilization check and the life inputs are those of
:mod:`wlcsp.joint_cycles`; a 3D design with a ``[submodel]`` table also gets its refined
joint (:mod:`wlcsp.refined_joint`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import life_report, post, progress, refined_joint
from .design import Design, load_design
from .errors import DesignError
from .fem.cycle import Controls, CycleResult, History, profile_history, run
from .fem.cycle_model import CycleModel
from .fem.thermoelastic import ThermoelasticModel
from .joint_cycles import (
    bump_cycles,
    interface_diameter,
    last_cycle_work,
    life_inputs,
    monitors,
    procedures,
    stabilization,
)
from .life import FATIGUE_SETS
from .life_report import fatigue_alloy, json_safe
from .loading import parse_profile
from .mesh import PackageMesh, build_mesh
from .run_figures import state_figures
from .units import with_units


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
    request = refined_joint.parse_submodel(design)  # a bad [submodel] table, before the solve
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
    sub_plan = None if request is None else refined_joint.plan(design, request, model)
    seconds["model"] = time.perf_counter() - t
    t = time.perf_counter()
    start = pm.stress_free["bump_0"]
    knots_t, knots_T, bounds = profile_history(profile, cycles, start)
    with progress.phase(f"viscoplastic solve: {cycles} cycle(s) of {profile.name}, "
                        f"{knots_t[-1] - knots_t[0]:g} s"):
        last_cycle = knots_t[(knots_t >= bounds[-2]) & (knots_t <= bounds[-1])]
        res = run(cm, knots_t, knots_T, monitors=mons, controls=controls, keep=last_cycle,
                  record=None if sub_plan is None else sub_plan.record)
    seconds["solve"] = time.perf_counter() - t
    t = time.perf_counter()
    hist = res.history
    solder = design.material(design.bumps.material)
    thermal = np.asarray(solder.thermal_strain(hist.temperatures, start))
    per_bump = bump_cycles(hist, bounds, range(nbumps), thermal, model.kin,
                           design.bump_directions)
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
    for bump, figs, center in zip(result["bumps"], per_bump, design.bump_centers, strict=True):
        bump.update(figs, center=list(center))
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
    local = None
    if sub_plan is not None:
        t = time.perf_counter()
        result["submodel"], local = refined_joint.viscoplastic(
            design, sub_plan, model, hist, (knots_t, knots_T, bounds), profile, result,
            controls=controls, layer=layer)
        seconds["submodel"] = time.perf_counter() - t
    result["seconds"] = seconds
    if out is not None:
        write_outputs(result, pm, res, last, Path(out), figures=figures, local=local)
    return result


def _solver_stats(hist: History) -> dict[str, Any]:
    s = hist.stats
    steps = max(int(s["steps"]), 1)
    return {"steps": s["steps"], "evaluations": s["evaluations"],
            "newton_per_step": s["evaluations"] / steps, "cg_iterations": s["cg_iterations"],
            "factorizations": s["factorizations"], "cutbacks": s["cutbacks"],
            "rejected_steps": s["rejected"], "seconds": s["seconds"]}


def _inelastic_cells(sol: Any) -> dict[str, np.ndarray]:
    """Element means of the inelastic fields of a cycle solution, for the VTU files."""
    return {"inelastic_strain": post.element_means(sol, sol.inelastic_strain),
            "accumulated_inelastic_strain": post.element_means(
                sol, sol.accumulated_inelastic_strain),
            "inelastic_work": post.element_means(sol, sol.inelastic_work)}


def write_outputs(result: dict[str, Any], pm: PackageMesh, res: CycleResult,
                  last: np.ndarray, out: Path, *, figures: bool = True,
                  local: CycleResult | None = None) -> None:
    """``summary.json``, ``solution.vtu`` (the final state), the series and the figures.

    Besides the fields of :func:`wlcsp.post.write_vtu`, the VTU has per cell the inelastic strain,
    ⟨p⟩, the inelastic work density and the work density of the last cycle (``last``:
    :func:`last_cycle_work`, MPa per quadrature point). ``solution.pvd``
    (ParaView's time-series collection, timestep = t in s) lists ``series/knot_<k>.vtu``: the
    state at every knot of the last cycle (its start, the ends of each ramp and dwell: the cycle's
    extremes), with the same fields but the last cycle's work density. With ``local`` (the
    refined joint's run, :mod:`wlcsp.refined_joint`) also ``submodel.vtu``, its final state.
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
    if local is not None:
        bounds = result["hysteresis"]["cycle_bounds"]
        refined_joint.write_vtu(out, local.final, extra_cells={
            **_inelastic_cells(local.final),
            "delta_energy_density_last_cycle": post.element_means(
                local.final, last_cycle_work(local, bounds))})
    (out / "summary.json").write_text(json.dumps(json_safe(with_units(result)), indent=2),
                                      encoding="utf-8")
    if figures:
        from .plots import plot_hysteresis

        state_figures(result, pm, final, out)
        plot_hysteresis(result, out / "hysteresis.png")
