"""Global-local (submodel) analysis of the critical joint of the seed designs: times and checks.

For each design (default: ``studies/seed000_{bare,underfill,elastomer}_3d.toml``, the strip
cells at the design's mesh) it solves the global cell elastically at the cold and hot extremes of
the profile, takes the critical joint (largest Darveaux-layer elastic energy range), and reports

(a) the local model on the global mesh density (``refine`` 1, block half a pitch) against the
    global joint: relative differences of the volume-average von Mises stress and joint shear,
    the volume-average stress components (largest difference over the largest component), and
    the Darveaux-layer energy ranges at the land (top) and pad (bottom) interfaces;
(b) the same figures on local meshes ``--refine`` times finer, with the change from one mesh to
    the next relative to the finest;
(c) the figures with the cut faces moved out to ``--moved`` mm from the joint centre (at the
    first ``--refine``), against the default block;

and the wall time of every phase (global mesh and solve, local mesh, local model set-up with the
interpolation, local solves) and the process' peak resident memory.

With ``--cycles N`` the viscoplastic local model (Anand solder in the joints of the block) runs
through N cycles of the design's profile on each mesh, its cut faces driven by the global
elastic states at the knots of the history (linear in time between), and the per-cycle
Darveaux energy (inelastic work, last cycle) of both interface layers is reported with its
changes between meshes.

    python benchmarks/submodel.py [--designs FILE ...] [--refine 1 1.5 2] [--moved 0.5]
                                  [--cycles N]

Measured (2-core machine shared with other jobs, load average 5-6, so times are 2-3x those of
an idle machine; OPENBLAS_CORETYPE unset; 2 Dec 2026), the critical joint is the outermost of
the strip (bump 7, DNP 4.373 mm) in all three; figures in %, (b) as |change| relative to the
finest mesh, (c) with the cut faces at one pitch (0.5 mm, through the neighbours' centres):

=========  ============  =====================  ================  ===============  =========
design     global dofs   (a) vs global, worst   (b) 1 -> 1.5      (b) 1.5 -> 2     (c) worst
           / solve (s)   (vM, τ, σ, top, bot)   worst (figure)    worst (figure)
=========  ============  =====================  ================  ===============  =========
bare       171,819 / 62  0.75 (bottom)          6.7 (bottom)      1.9 (bottom)     1.2
underfill  221,136 / 175 0.33 (top)             2.7 (bottom)      1.1 (bottom)     0.6
elastomer  160,854 / 63  1.35 (bottom)          9.8 (bottom)      2.5 (shear)      0.6
=========  ============  =====================  ================  ===============  =========

Finer (elastomer, ``--refine 2 2.5 3``, 62k/104k/159k local DOFs, solves 45/63/117 s): worst
|change| 2.7 % (2 -> 2.5) and 1.2 % (2.5 -> 3), both the land-side layer; the critical pad-side
layer 1.3 % and 0.2 %, volume averages ≤ 1.4 % and ≤ 0.9 %.

Viscoplastic (``--designs studies/seed000_bare_3d.toml --cycles 2``, Anand, driven by the
global elastic states at the knots; ΔW of cycle 2, MPa, land side / pad side): refine 1
(22,779 DOFs, 211 steps, 201 s) 2.517 / 0.137; refine 1.5 (39,036 DOFs, 221 steps, 269 s)
2.323 / 0.134; refine 2 (66,561 DOFs, 127 steps, 282 s) 0.926 / 0.642. NOT converged: the
finest mesh changes both layers by a factor 2.5-5, with far fewer steps. Causes not yet
separated: the step control (127 against 221 steps), the singular land-edge corner inside the
layer, the global elastic driving; open.

Local models: 4,352-6,715 tetrahedra (21-29k DOFs) at refine 1, 13-23k (62-93k DOFs) at 2;
local mesh 1-11 s, set-up with the interpolation 0.7-3.5 s, two solves 4-78 s. Peak memory
6.6 GB (the underfill global model's factorization). The global mesh (6 elements across the
joint) is not converged: the local model at refine 2 gives the critical interface's Darveaux
energy below the global model's by 3.6 % (bare, land side), 2.4 % (underfill, land side) and
9.4 % (elastomer, pad side).
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import time
from pathlib import Path

import numpy as np

from wlcsp.analysis import solve_elastic
from wlcsp.design import load_design
from wlcsp.fem.cycle import profile_history
from wlcsp.loading import parse_profile
from wlcsp.mesh import build_mesh
from wlcsp.post import interface_layer_mask
from wlcsp.submesh import SubmodelSpec, build_local_mesh
from wlcsp.submodel import Submodel, compare, critical_bump, joint_result, run_cycles

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [ROOT / "studies" / f"seed000_{v}_3d.toml" for v in ("bare", "underfill", "elastomer")]
FIGURES = ("mean_von_mises", "mean_shear", "mean_stress", "darveaux_top", "darveaux_bottom")


def _local(el, design, bump: int, spec: SubmodelSpec) -> dict:
    t = time.perf_counter()
    lm = build_local_mesh(design, bump, spec)
    t_mesh = time.perf_counter() - t
    t = time.perf_counter()
    sm = Submodel(el.model, lm)
    t_setup = time.perf_counter() - t
    t = time.perf_counter()
    cold, hot = sm.solve(el.cold), sm.solve(el.hot)
    t_solve = time.perf_counter() - t
    return {"result": joint_result(cold, hot, bump, design.bump_directions[bump]),
            "elements": int(lm.mesh.mesh.nelements), "dofs": int(sm.model.kin.ndofs),
            "seconds": {"mesh": t_mesh, "setup": t_setup, "solve": t_solve}}


def _cycles(el, design, bump: int, spec: SubmodelSpec, cycles: int) -> dict:
    """Per-cycle Darveaux energy of the viscoplastic local model (Anand), ``--cycles``.

    Driven by the global elastic states at the knots of the history.
    """
    sm = Submodel(el.model, build_local_mesh(design, bump, spec))
    kt, kT, bounds = profile_history(parse_profile(design.loading.profile), cycles,
                                     design.loading.stress_free)
    states = {T: el.model.solve(T).u for T in np.unique(kT)}
    ref = sm.solve(el.cold)
    monitors = {side: interface_layer_mask(ref, f"bump_{bump}_{side}", f"bump_{bump}")
                for side in ("top", "bottom")}
    t = time.perf_counter()
    res = run_cycles(sm, kt, kT, kt, [states[T] for T in kT], monitors=monitors)
    seconds = time.perf_counter() - t
    h = res.history
    w = {side: np.diff(np.interp(bounds, h.times, h.inelastic_work[:, k]))[-1]
         for k, side in enumerate(("top", "bottom"))}
    return {"darveaux_top": float(w["top"]), "darveaux_bottom": float(w["bottom"]),
            "seconds": seconds, "steps": h.stats["steps"], "dofs": int(sm.model.kin.ndofs)}


def _step(a: dict, b: dict, ref: dict) -> dict[str, float]:
    out = {}
    for k in FIGURES:
        va, vb, vr = (np.atleast_1d(np.asarray(r[k], dtype=float)) for r in (a, b, ref))
        out[k] = float(np.abs(vb - va).max() / np.abs(vr).max())
    return out


def _fmt(d: dict[str, float], signed: bool = True) -> str:
    form = "+.2f" if signed else ".2f"
    return "  ".join(f"{k} {100 * v:{form}} %" for k, v in d.items() if k in FIGURES)


def run(path: Path, refines: list[float], moved: float, cycles: int = 0) -> dict:
    """All figures of one design (module docstring)."""
    design = load_design(path)
    t = time.perf_counter()
    pm = build_mesh(design)
    t_mesh = time.perf_counter() - t
    t = time.perf_counter()
    el = solve_elastic(design, pm)
    t_solve = time.perf_counter() - t
    bump = critical_bump(design, el.cold, el.hot)
    glob = joint_result(el.cold, el.hot, bump, design.bump_directions[bump])
    print(f"\n{path.name}: global {pm.mesh.nelements} tets, {el.model.kin.ndofs} dofs, mesh "
          f"{t_mesh:.1f} s, solve (2 T) {t_solve:.1f} s; critical bump {bump} (DNP "
          f"{design.dnp[bump]:.3f} mm): mean vM {glob['mean_von_mises']:.2f} MPa, Darveaux "
          f"top {glob['darveaux_top']:.4f} / bottom {glob['darveaux_bottom']:.4f} MPa",
          flush=True)
    locals_ = {}
    for f in refines:
        locals_[f] = _local(el, design, bump, SubmodelSpec(refine=f))
        r = locals_[f]
        print(f"  refine {f:g}: {r['elements']} tets, {r['dofs']} dofs, "
              + ", ".join(f"{k} {v:.1f} s" for k, v in r["seconds"].items())
              + f"; vs global: {_fmt(compare(glob, r['result']))}", flush=True)
    base = locals_[refines[0]]["result"]
    finest = locals_[refines[-1]]["result"]
    steps = [_step(locals_[a]["result"], locals_[b]["result"], finest)
             for a, b in itertools.pairwise(refines)]
    for (a, b), s in zip(itertools.pairwise(refines), steps, strict=True):
        print(f"  (b) refine {a:g} -> {b:g}: |change| {_fmt(s, signed=False)}", flush=True)
    out_ = _local(el, design, bump, SubmodelSpec(half_width=moved, refine=refines[0]))
    cut = compare(base, out_["result"])
    print(f"  (c) half-width {moved:g} mm ({out_['elements']} tets, {out_['dofs']} dofs, "
          f"solve {out_['seconds']['solve']:.1f} s) vs default: {_fmt(cut)}", flush=True)
    creep = {}
    if cycles:
        for f in refines:
            creep[f] = _cycles(el, design, bump, SubmodelSpec(refine=f), cycles)
            c = creep[f]
            print(f"  viscoplastic, refine {f:g} ({c['dofs']} dofs, {c['steps']} steps, "
                  f"{c['seconds']:.0f} s): ΔW per cycle (cycle {cycles}) top "
                  f"{c['darveaux_top']:.4f}, bottom {c['darveaux_bottom']:.4f} MPa", flush=True)
        for a, b in itertools.pairwise(refines):
            ch = {k: abs(creep[b][k] - creep[a][k]) / abs(creep[refines[-1]][k])
                  for k in ("darveaux_top", "darveaux_bottom")}
            print(f"  (b) viscoplastic refine {a:g} -> {b:g}: |change| "
                  f"{_fmt(ch, signed=False)}", flush=True)
    return {"design": path.name, "bump": bump, "dnp": design.dnp[bump], "global": glob,
            "creep": creep,
            "global_seconds": {"mesh": t_mesh, "solve": t_solve},
            "global_dofs": int(el.model.kin.ndofs),
            "a": compare(glob, base), "b": steps, "c": cut,
            "local": {str(f): {k: v for k, v in r.items()} for f, r in locals_.items()},
            "moved": out_}


def main() -> None:
    """Run the designs and print the figures, then a JSON summary line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", nargs="*", type=Path, default=DEFAULT)
    ap.add_argument("--refine", nargs="*", type=float, default=[1.0, 1.5, 2.0])
    ap.add_argument("--moved", type=float, default=0.5)
    ap.add_argument("--cycles", type=int, default=0, help="also run the viscoplastic local "
                    "model through this many cycles on each mesh (0: elastic only)")
    args = ap.parse_args()
    results = [run(p, args.refine, args.moved, args.cycles) for p in args.designs]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"\npeak resident memory {peak:.2f} GB")
    print(json.dumps(results, default=float))


if __name__ == "__main__":
    main()
