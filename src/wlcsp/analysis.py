"""One design through the whole pipeline: mesh, solve, post-process, life (``wlcsp run``).

The elastic estimate
--------------------
With ``loading.solder = "elastic"`` the package is solved thermoelastically at the two extremes
of the profile (the state is path-independent, so one solve per temperature) and the ranges are
the differences between the two states (issue 4). Per bump:

``delta_shear_strain``
    |⟨Δγ_xy⟩|, the range of the bump's volume-averaged shear strain (γ_rz when axisymmetric).
    This is the quantity of Engelmaier's model, Δγ = F·L_D·Δα·ΔT/h (IPC-D-279), and the bumps
    are ranked by it: it is free of the hoop strain that an axisymmetric ring imposes on every
    bump alike and of the out-of-plane strain of plane strain (both rank nothing).
``delta_equivalent_strain``
    ⟨Δε_eq⟩, the volume average of the von Mises equivalent of the mechanical strain range
    (out-of-plane / hoop component included), reported for comparison.
``delta_elastic_energy_density``
    ½ Δσ:Δε averaged over the Darveaux interface layer (``post.DARVEAUX_LAYER``) of the worse of
    the two pad interfaces (MPa). Elastic, so *not* a dissipated energy: it ranks designs but is
    not fed to the energy-based life models (Darveaux, Syed), which need the inelastic energy of
    the viscoplastic analysis.

The elastic estimate is a screening analysis (issue 11): it ranks joints and variants by these
ranges and gives no creep-fatigue life (an elastic FE strain range in a creep-fatigue law is not
a life): ``primary`` is None, ``screening`` says why, and the one life is Engelmaier's DNP hand
estimate ``hand_estimate`` (no FE input), through :func:`wlcsp.life_report.report`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import life_report, post, refined_joint
from .cycling import analyze_cycles
from .design import Design, load_design
from .fem.thermoelastic import ThermoelasticModel, ThermoelasticSolution
from .life_report import json_safe
from .loading import Profile, extremes, parse_profile
from .mesh import PackageMesh, build_mesh
from .post import equivalent_strain
from .run_figures import state_figures
from .units import with_units


@dataclass(frozen=True)
class Elastic:
    """The two thermoelastic states of an elastic estimate and the mesh/model that made them."""

    mesh: PackageMesh
    model: ThermoelasticModel
    profile: Profile
    cold: ThermoelasticSolution
    hot: ThermoelasticSolution


def solve_elastic(design: Design, pm: PackageMesh | None = None) -> Elastic:
    """Mesh (unless given) and solve ``design`` at the cold and hot extremes of its profile."""
    profile = parse_profile(design.loading.profile)
    pm = pm or build_mesh(design)
    model = ThermoelasticModel(pm.mesh, pm.materials, kind=design.model, order=pm.order,
                               stress_free=pm.stress_free, supports=pm.supports,
                               plane_faces=pm.plane_faces)
    lo, hi = extremes(profile)
    return Elastic(mesh=pm, model=model, profile=profile, cold=model.solve(lo),
                   hot=model.solve(hi))


def bump_ranges(design: Design, a: ThermoelasticSolution, b: ThermoelasticSolution
                ) -> list[dict[str, float]]:
    """Per-bump ranges between states ``a`` and ``b`` (see the module docstring)."""
    ranges = post.all_joint_ranges(a, b, dict(enumerate(design.bump_directions)))
    return [{k: ranges[i][k] for k in post.BUMP_RANGES} for i in range(len(ranges))]


def delta_cte(design: Design, profile: Profile) -> float:
    """Secant CTE mismatch substrate − die over the profile (1/K), for the DNP hand check."""
    lo, hi = extremes(profile)
    sub = design.material(design.substrate.material).secant_alpha(lo, hi)
    die = design.material(design.die.material).secant_alpha(lo, hi)
    return abs(sub - die)


def analyze(design: Design | str | Path | Mapping[str, Any], out: str | Path | None = None,
            *, figures: bool = True) -> dict[str, Any]:
    """Run one design and return its ``summary.json`` dict; write the files into ``out``."""
    if not isinstance(design, Design):
        design = load_design(design)
    if design.loading.solder != "elastic":
        return analyze_cycles(design, out, figures=figures)
    request = refined_joint.parse_submodel(design)  # a bad [submodel] table, before the solve
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    pm = build_mesh(design)
    seconds["mesh"] = time.perf_counter() - t
    t = time.perf_counter()
    el = solve_elastic(design, pm)
    seconds["solve"] = time.perf_counter() - t
    t = time.perf_counter()
    profile = el.profile
    # the reported state: the cold extreme of a cycle, the end of a step
    final = el.cold if profile.cyclic or profile.temperatures[-1] <= profile.temperatures[0] \
        else el.hot
    result: dict[str, Any] = {
        "design": design.name,
        "model": design.model,
        "analysis": "elastic estimate",
        "profile": {"name": profile.name, "T_min": profile.T_min, "T_max": profile.T_max,
                    "cyclic": profile.cyclic},
        "temperature": final.T,
        "dofs": int(el.model.kin.ndofs),
        "elements": int(pm.mesh.nelements),
        "stress_free": design.loading.stress_free,
        **post.summary(final, design.dnp, design.bump_directions),
        "warpage_hot": post.warpage(el.hot),
        "warpage_cold": post.warpage(el.cold),
        "singular_peaks": "max_* values sit at bimaterial corners (singular, mesh-dependent): "
                          "display only; bumps are ranked by volume averages",
    }
    for bump, rng, center in zip(result["bumps"], bump_ranges(design, el.cold, el.hot),
                                 design.bump_centers, strict=True):
        bump.update(rng, center=list(center))
    crit = int(np.argmax([b["delta_shear_strain"] for b in result["bumps"]]))
    result["critical_bump"] = crit
    seconds["post"] = time.perf_counter() - t
    t = time.perf_counter()
    result["primary"], result["screening"] = None, life_report.SCREENING
    if profile.cyclic:
        dcte = delta_cte(design, profile)
        life_report.report(result, design, profile, [
            {life_report.HAND_ESTIMATE: {"dnp": b["dnp"], "joint_height": design.joint.height,
                                         "delta_cte": dcte}} for b in result["bumps"]],
            screening=True)
    seconds["life"] = time.perf_counter() - t
    local = None
    if request is not None:
        t = time.perf_counter()
        result["submodel"], local = refined_joint.elastic(design, request, el.model, el.cold,
                                                          el.hot, result)
        seconds["submodel"] = time.perf_counter() - t
    result["seconds"] = seconds
    if out is not None:
        write_outputs(result, el, final, Path(out), figures=figures)
        if local is not None:
            refined_joint.write_vtu(Path(out), local)
    return result


def write_outputs(result: dict[str, Any], el: Elastic, final: ThermoelasticSolution, out: Path,
                  *, figures: bool = True) -> None:
    """``summary.json``, ``solution.vtu`` and the figures of one run."""
    out.mkdir(parents=True, exist_ok=True)
    d_eps = el.hot.mechanical_strain - el.cold.mechanical_strain
    post.write_vtu(out / "solution.vtu", final, extra_cells={
        "delta_strain": post.element_means(final, d_eps),
        "delta_equivalent_strain": post.element_means(final, equivalent_strain(d_eps)),
    })
    (out / "summary.json").write_text(json.dumps(json_safe(with_units(result)), indent=2),
                                      encoding="utf-8")
    if figures:
        state_figures(result, el.mesh, final, out)


def _energy(bump: Mapping[str, Any]) -> float:
    return bump.get("delta_energy_density", bump.get("delta_elastic_energy_density", math.nan))


def format_table(result: Mapping[str, Any]) -> str:
    """The short table ``wlcsp run`` prints."""
    lines = [f"{result['design']}  [{result['model']}, {result['analysis']}, "
             f"{result['dofs']} dofs, {sum(result['seconds'].values()):.1f} s]",
             f"{'bump':>4} {'DNP mm':>7} {'mean vM':>8} {'mean τ':>8} {'Δγ %':>7} "
             f"{'Δε_eq %':>8} {'ΔW MPa':>8}  {life_report.column_title(result)}"]
    for i, b in enumerate(result["bumps"]):
        life = life_report.format_bump(result, b)
        mark = "*" if i == result.get("critical_bump") else " "
        lines.append(
            f"{i:>3}{mark} {b['dnp']:>7.3f} {b['mean_von_mises']:>8.1f} {b['mean_shear']:>8.2f} "
            f"{100 * b.get('delta_shear_strain', math.nan):>7.3f} "
            f"{100 * b.get('delta_equivalent_strain', math.nan):>8.3f} "
            f"{_energy(b):>8.4f}"
            f"  {life}")
    lines.append(f"warpage (substrate bottom, edge - centre) at {result['temperature']:g} °C: "
                 f"{1e3 * result['warpage']:.2f} um")
    basis = ("largest Darveaux energy per cycle" if "delta_energy_density" in
             result["bumps"][0] else "largest shear-strain range")
    lines.append(f"* critical bump ({basis}). Stresses in MPa at "
                 f"{result['temperature']:g} °C; peak values at corners are singular, so bumps "
                 "are ranked by volume averages.")
    return "\n".join(lines + life_report.format_lines(result)
                     + refined_joint.format_lines(result))
