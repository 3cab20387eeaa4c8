"""The refined critical joint of a 3D run: the design's ``[submodel]`` table and its local model.

A 3D design with a ``[submodel]`` table (or ``wlcsp run --submodel``) gets, after the global
analysis of its cell, a global-local (submodel) analysis of one joint (:mod:`wlcsp.submesh`,
:mod:`wlcsp.submodel`): a block around the joint meshed ``refine`` times finer, driven on its
cut faces by the global displacement, with the same solder law and load history. It reports
that joint's figures and lives from the finer mesh beside the global ones (``submodel`` in
``summary.json``, the printed table and ``report.md``, ``submodel.vtu``).

.. code-block:: toml

    [submodel]
    joint = "critical"      # or a bump index of the cell (0 = innermost)
    refine = 2.0            # local element sizes: the design's divided by this
    # rim_size = 0.00635    # element size (mm, at refine 1) on the land and pad rims; 0: off
    # half_width = 0.25     # block half-width (mm); default half the pitch
    # die_fraction = 1.0    # of the die thickness in the block (1: the whole die)
    # substrate_fraction = 1.0

Which joint
    ``joint = "critical"`` (default): the global run's critical joint (largest Darveaux
    energy per cycle; largest shear-strain range for the elastic screening). A viscoplastic
    global run cannot know it before it ends, so it records the whole displacement field at
    every step end (``cycle.run(..., record=identity)``: 8 bytes × DOFs × steps, 147 MB for
    the seed strip cell at the bundled density over 3 JEDEC G cycles, 171,819 DOFs × 107
    step ends) and the cut-face history of that
    joint is taken from the record afterwards. A joint named by its index records only its own
    cut faces (:attr:`wlcsp.submodel.Submodel.recorder`).
Block
    Default: the joint's unit cell (half the pitch to each side). Keep its cut faces in the
    joint's elastic surroundings: measured on a 3 x 3 quarter cell (tests/test_refined_joint.py,
    refine 1), widening the block to 0.32 mm (the widest that leaves the neighbours out) moves
    the joint's ΔW by +0.9 %, cutting through the creeping neighbours (0.45 mm) by +3.3 %.
Driving
    Viscoplastic: the global viscoplastic history recorded at every step end, linear in time
    between (every joint of the cell creeps, as in the field's practice; an elastic global
    driving measured 37-43 % low, ``benchmarks/submodel.py``). Elastic: the global states at
    the two extremes of the profile.
Defaults ``refine`` = :data:`DEFAULT_REFINE`, ``rim_size`` = :data:`wlcsp.submesh.RIM_SIZE`
    The layer energy converges only with the rims of the land and pad interfaces resolved (the
    singular bimaterial corners carry 35-41 % of the layer's work): measured
    (``benchmarks/submodel.py``, seed000_bare_3d, critical joint, Anand, one JEDEC G cycle,
    creep driving, rim 6.35 µm): land / pad layer 0.3254 / 0.2579 MPa at refine 2 (186k DOFs),
    0.3323 / 0.2592 at 2.5, 0.3321 / 0.2583 at 2.75, so refine 2 is within 2.1 % / 0.5 % of
    the converged figures at 0.64× the DOFs of 2.5. Without the rims refine 2 gives 0.2759 /
    0.2230, 17 % / 14 % low, and the sequence does not converge within 3 %. ``rim_size = 0``
    switches the rims off (the local mesh is then the design's sizes divided by ``refine``,
    and ``refine`` 1 reproduces the global joint: tests/test_refined_joint.py). Through
    several cycles the rims need the line search of the global Newton
    (:func:`wlcsp.fem.cycle._line_search`): a few solder points at the land rim flow at the
    rate-insensitive limit, and with residual-norm halvings the seed's local run stalled at
    T ≈ 8 °C in the third cooling ramp (steps down to 1e-12 s). With it (seed000_bare_3d,
    joint 7, 186,450 DOFs, driven by the recorded 3-cycle global history): 107 steps, 691 s;
    land-side ΔW per cycle 0.3254, 0.2970, 0.3026 MPa (stabilization check 1.8 %), pad side
    0.2579, 0.2213, 0.2243.
Cost (``wlcsp run studies/seed000_bare_3d.toml --solder anand --submodel``, 2 cores shared
    with the test suite, 3 JEDEC G cycles, 3 Dec 2026): cell 171,819 DOFs, 501 s; refined
    joint 7 at the defaults, 186,450 DOFs, 695 s (107 steps); 20 min 11 s end to end, 3.47 GB
    peak. Joint 7's ΔW 0.3026 MPa against the cell's 0.2761 (+9.6 %; rimless −7.5 %),
    primary (Syed) life 1,740 against 1,910 cycles.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from . import life_report, post, progress
from .design import Design
from .errors import DesignError
from .fem.cycle import Controls, History
from .fem.thermoelastic import ThermoelasticModel, ThermoelasticSolution
from .joint_cycles import (
    SITES,
    bump_cycles,
    interface_diameter,
    joint_monitors,
    last_cycle_work,
    life_inputs,
    procedures,
    stabilization,
)
from .loading import Profile
from .submesh import RIM_SIZE, SubmodelSpec, block, build_local_mesh, rim_sizing
from .submodel import Driving, Submodel, recorded_drivings, run_cycles

DEFAULT_REFINE = 2.0
"""Local element sizes are the design's divided by this (module docstring: measured)."""

CRITICAL = "critical"
"""``submodel.joint`` value for the global run's critical joint."""

NOTE = ("refined joint: with the default rim refinement the Darveaux-layer energy at refine 2 "
        "lies within about 2 % of the converged value (refine 2, 2.5, 2.75: changes 2.1 % and "
        "0.06 %, benchmarks/submodel.py); without it (rim_size = 0) the layer energy is about "
        "15 % low at refine 2")
"""The ``note`` of every submodel result (module docstring, default refine)."""


@dataclass(frozen=True)
class Request:
    """What the ``[submodel]`` table asks for: the joint (None: the critical one) and the block."""

    joint: int | None
    spec: SubmodelSpec


def parse_submodel(design: Design) -> Request | None:
    """The design's ``[submodel]`` table, validated; None without one.

    Raises DesignError naming ``submodel.<key>`` for an unknown key or a bad value, and for a
    design that is not 3D.
    """
    raw = design.raw.get("submodel")
    if raw is None:
        return None
    if design.cell is None:
        raise DesignError("submodel", raw, "applies to model = '3d' only (a 2D section has no "
                          "joint to cut out)")
    if not isinstance(raw, dict):
        raise DesignError("submodel", raw, "a table")
    keys = ("joint", *(f.name for f in dataclasses.fields(SubmodelSpec)))
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise DesignError(f"submodel.{unknown[0]}", raw[unknown[0]],
                          f"unknown key; allowed here: {', '.join(keys)}")
    joint = raw.get("joint", CRITICAL)
    nbumps = len(design.cell.bumps)
    if joint == CRITICAL:
        joint = None
    elif isinstance(joint, bool) or not isinstance(joint, int) or not 0 <= joint < nbumps:
        raise DesignError("submodel.joint", joint, f"'{CRITICAL}' or a bump index of the cell, "
                          f"0 to {nbumps - 1}")
    fields = {k: v for k, v in raw.items() if k != "joint"}
    fields.setdefault("refine", DEFAULT_REFINE)
    fields.setdefault("rim_size", RIM_SIZE)
    if fields["rim_size"] == 0 and not isinstance(fields["rim_size"], bool):
        fields["rim_size"] = None  # rim refinement off
    spec = SubmodelSpec(**fields)
    bump = 0 if joint is None else joint
    block(design, bump, spec)  # its size and the rim size against the joint, now
    rim_sizing(design, bump, spec)
    return Request(joint, spec)


def _spec_dict(sm: Submodel) -> dict[str, Any]:
    return {**dataclasses.asdict(sm.local.spec), "block_mm": list(dataclasses.astuple(
        sm.local.block)), "dofs": int(sm.model.kin.ndofs),
        "elements": int(sm.local.mesh.mesh.nelements)}


def _change(local: float, glob: float) -> float:
    return float((local - glob) / abs(glob)) if glob else float("nan")


def submodel(design: Design, model: ThermoelasticModel, bump: int, spec: SubmodelSpec
             ) -> Submodel:
    """The local model of joint ``bump`` driven by the global ``model``, meshed with progress."""
    with progress.phase(f"submodel: local mesh of joint {bump}, refine {spec.refine:g}"):
        return Submodel(model, build_local_mesh(design, bump, spec))


def elastic(design: Design, request: Request, model: ThermoelasticModel,
            cold: ThermoelasticSolution, hot: ThermoelasticSolution,
            result: dict[str, Any]) -> tuple[dict[str, Any], ThermoelasticSolution]:
    """The refined joint of an elastic screening; its ``submodel`` dict and cold local state.

    The joint is ``request.joint`` or ``result["critical_bump"]``; its ranges between the
    local states at the two extremes (:func:`wlcsp.post.joint_ranges`) beside the global
    bump's, with their relative ``change``.
    """
    t = time.perf_counter()
    bump = result["critical_bump"] if request.joint is None else request.joint
    sm = submodel(design, model, bump, request.spec)
    with progress.phase("submodel: elastic solves at the extremes"):
        lc, lh = sm.solve(cold), sm.solve(hot)
    figs = post.joint_ranges(lc, lh, bump, design.bump_directions[bump])
    glob = result["bumps"][bump]
    keys = post.BUMP_RANGES
    out = {"bump": bump, "dnp": design.dnp[bump],
           "selected": "critical joint of the global model" if request.joint is None else
           "submodel.joint", "driving": "global elastic states at the profile's extremes",
           **_spec_dict(sm), **{k: figs[k] for k in keys},
           "global": {k: glob[k] for k in keys},
           "change": {k: _change(figs[k], glob[k]) for k in keys},
           "note": NOTE, "seconds": time.perf_counter() - t}
    return out, lc


@dataclass(frozen=True)
class Plan:
    """What the global viscoplastic run records for the refined joint (module docstring)."""

    request: Request
    record: sparse.csr_matrix
    """The ``record`` of the global run: its cut faces (a named joint) or the whole field."""
    sm: Submodel | None
    """The local model of a named joint (built before the run), None for the critical one."""


def plan(design: Design, request: Request, model: ThermoelasticModel) -> Plan:
    """The global run's ``record`` for ``request`` (and the named joint's local model)."""
    if request.joint is None:
        return Plan(request, sparse.identity(model.kin.ndofs, format="csr"), None)
    sm = submodel(design, model, request.joint, request.spec)
    return Plan(request, sm.recorder, sm)


def driving(p: Plan, sm: Submodel, history: History) -> Driving:
    """The cut-face history of ``sm`` from the global run's record of plan ``p``.

    A named joint's run recorded its cut faces (:func:`wlcsp.submodel.recorded_drivings`); the
    critical joint's recorded the whole field, which ``sm.recorder`` maps to its cut faces.
    """
    if p.sm is not None:
        return recorded_drivings([sm], history)[0]
    return Driving(np.asarray(history.times, dtype=float), (sm.recorder @ history.recorded.T).T,
                   sm.driven_dofs, sm.model.kin.ndofs)


def viscoplastic(design: Design, p: Plan, model: ThermoelasticModel, history: History,
                 knots: tuple[np.ndarray, np.ndarray, np.ndarray], profile: Profile,
                 result: dict[str, Any], *, controls: Controls | None = None,
                 layer: float) -> tuple[dict[str, Any], Any]:
    """The refined joint of a viscoplastic run; its ``submodel`` dict and the local CycleResult.

    ``knots`` = (times, temperatures, cycle bounds) of the global run, ``history`` its history
    with the record of :func:`plan`; ``result`` its summary (``critical_bump``, ``bumps``). The
    local model steps through the same knots with the same solder law, every joint in its block
    creeping; the refined joint's per-cycle figures are those of :func:`wlcsp.cycling.
    bump_cycles`, and its lives those of :func:`wlcsp.life_report.report`.
    """
    t = time.perf_counter()
    bump = result["critical_bump"] if p.request.joint is None else p.request.joint
    sm = p.sm if p.sm is not None else submodel(design, model, bump, p.request.spec)
    kt, kT, bounds = knots
    mons = joint_monitors(sm.model, bump, layer)
    last = kt[(kt >= bounds[-2]) & (kt <= bounds[-1])]
    with progress.phase(f"submodel: viscoplastic solve of joint {bump}, "
                        f"{sm.model.kin.ndofs} dofs"):
        res = run_cycles(sm, kt, kT, driving(p, sm, history), law=design.loading.solder,
                         monitors=mons, controls=controls, keep=last)
    hist = res.history
    solder = design.material(design.bumps.material)
    thermal = np.asarray(solder.thermal_strain(hist.temperatures, kT[0]))
    figs = bump_cycles(hist, bounds, [bump], thermal, sm.model.kin, design.bump_directions)[0]
    local = {"bumps": [figs], "critical_bump": 0}
    cycles = len(bounds) - 1
    if profile.cyclic:
        life_report.report(local, design, profile, [life_inputs(design, figs)],
                           screening=False, procedures=procedures(
                               design, profile, cycles, layer, where="refined local model"))
    side = figs["energy_interface"]
    work = last_cycle_work(res, bounds)
    peak = {"bump": bump, "interface": side, **post.peak_site(
        sm.model.kin, work, mons[f"bump_{bump}_{side}"],
        post.region_mask(res.final, f"bump_{bump}"), design.bump_directions[bump],
        interface_diameter(design, side) / 2)}
    glob = result["bumps"][bump]
    keys = ("delta_energy_density", "delta_inelastic_strain",
            "delta_accumulated_inelastic_strain")
    global_primary = result.get("primary")
    out = {"bump": bump, "dnp": design.dnp[bump],
           "selected": "critical joint of the global run" if p.request.joint is None else
           "submodel.joint",
           "driving": "global viscoplastic history recorded at every step end",
           **_spec_dict(sm), **figs,
           "stabilization": stabilization(figs["per_cycle"]["delta_energy_density"]),
           "energy_peak": peak,
           **{k: local[k] for k in ("life", "primary", "primary_note", "secondary",
                                    "life_constants", "life_note") if k in local},
           "global": {**{k: glob[k] for k in keys},
                      "energy_interface": glob["energy_interface"],
                      "primary_life": None if global_primary is None or
                      bump != result["critical_bump"] else global_primary["life"]},
           "change": {k: _change(figs[k], glob[k]) for k in keys},
           "steps": int(hist.stats["steps"]), "note": NOTE,
           "seconds": time.perf_counter() - t}
    return out, res


def write_vtu(out: Path, sol: Any, extra_cells: dict[str, np.ndarray] | None = None) -> Path:
    """``submodel.vtu`` in ``out``: the local model's final (or cold) state."""
    path = out / "submodel.vtu"
    post.write_vtu(path, sol, extra_cells=extra_cells)
    return path


def format_lines(result: dict[str, Any]) -> list[str]:
    """The lines ``wlcsp run`` prints under its table for the refined joint (none without)."""
    sub = result.get("submodel")
    if sub is None:
        return []
    head = (f"refined joint {sub['bump']} (DNP {sub['dnp']:.3f} mm; {sub['selected']}): "
            f"submodel refine {sub['refine']:g}, {sub['dofs']} dofs, {sub['seconds']:.0f} s")
    lines = [head]
    if "delta_energy_density" in sub:
        g = sub["global"]
        change = sub["change"]
        lines.append(f"  ΔW {sub['delta_energy_density']:.4g} MPa per cycle "
                     f"({SITES[sub['energy_interface']]}) against the global "
                     f"{g['delta_energy_density']:.4g} "
                     f"({100 * change['delta_energy_density']:+.1f} %); "
                     f"Δε_in {sub['delta_inelastic_strain']:.3g} "
                     f"({100 * change['delta_inelastic_strain']:+.1f} %)")
        primary = sub.get("primary")
        if primary is not None:
            lo, hi = primary["band"]
            was = g.get("primary_life")
            lines.append(f"  refined primary life: {primary['model']} = {primary['life']:.3g} "
                         f"cycles (band {lo:.3g} .. {hi:.3g})"
                         + (f"; global model {was:.3g}" if was is not None else ""))
    else:
        lines.append(f"  Δγ {100 * sub['delta_shear_strain']:.3f} % "
                     f"({100 * sub['change']['delta_shear_strain']:+.1f} % against the global), "
                     f"Darveaux-layer elastic energy range "
                     f"{sub['delta_elastic_energy_density']:.4g} MPa "
                     f"({100 * sub['change']['delta_elastic_energy_density']:+.1f} %)")
    lines.append(f"  {sub['note']}")
    return lines
