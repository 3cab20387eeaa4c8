"""Speed of the 3D viscoplastic cycle analysis (issue 10 target: 3 JEDEC G cycles < 10 min).

Runs :func:`wlcsp.cycling.analyze_cycles` on a seed 3D design (default
``studies/seed000_bare_3d.toml``, the half strip along the outer row, 8 joints) with
``loading.solder = "anand"``, its ``[mesh]`` sizes divided by ``--refine`` (default 0.5: sizes
doubled; the thin-layer rule of :mod:`wlcsp.mesh3d` then sets most of the mesh), and prints
DOFs, solder points, steps, constitutive evaluations, CG iterations, factorizations; seconds
per phase (mesh, model set-up = kinematics + CycleModel assembly, time stepping split into
constitutive update, solder kinematics, linear part, CG, factorization, predictor; post); wall
time and the peak resident memory of the process (``ru_maxrss``). Then the unit costs on the same
model at a creeping state: one constitutive update of all solder points, one factorization of
the tangent, one preconditioner solve, one tangent product, so the phase totals read as
counts x cost.

    python benchmarks/cycle3d.py [--design FILE] [--refine F] [--cycles N] [--law anand]
                                 [--refactor-iterations N] [--newton-rtol R] [--creep-atol A]

``--refactor-iterations`` overrides :data:`wlcsp.fem.cycle.REFACTOR_ITERATIONS` (CG iterations
of one correction beyond which the preconditioner is refactored at the current tangent; a
large value keeps the first factorization for the whole run, 0 refactors at every Newton
correction): the measurement behind the 3D choice. The BLAS thread settings in the environment
are printed; the time stepping runs with :data:`wlcsp.fem.cycle.BLAS_THREADS`.

Measured (``python benchmarks/cycle3d.py``, 2 shared cores, load average 2.3 at the start and
other jobs running, thread settings none): 109,302 DOFs, 23,687 P2 tets, 17,520 solder points;
total 266.9 s wall, peak 1.20 GB; mesh 2.4 s, model 3.1 s, time stepping 261.3 s = constitutive
8.7 + solder kinematics 1.7 + linear part 3.7 + CG 239.9 + factorization 2.5 + predictor 3.5 s;
109 steps, 271 constitutive evaluations, 792 CG iterations, 1 factorization, no cut-backs.
Unit costs: constitutive update of all points 0.068 s, factorization 6.65 s, substitution
0.63 s, tangent product 0.050 s, tangent assembly 0.40 s. The substitutions (PARDISO's 3D P2
fill) are 92 % of the time; the constitutive update is 3 %, so a compiled kernel would save at
most ~8 s of 267 and is not used. Critical joint 7 (DNP 4.37 mm): ΔW per cycle 0.307, 0.285,
0.286 MPa (stabilized), Δε_in 1.70e-3.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from wlcsp.cycling import analyze_cycles
from wlcsp.design import load_design, read_toml
from wlcsp.fem import cycle
from wlcsp.fem.cycle_model import CycleModel
from wlcsp.fem.thermoelastic import ThermoelasticModel
from wlcsp.mesh import build_mesh

ROOT = Path(__file__).resolve().parents[1]


def _median(f, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def unit_costs(design) -> dict[str, float]:
    """Seconds of one of each operation at a creeping state (125 °C, 100 s step)."""
    pm = build_mesh(design)
    model = ThermoelasticModel(pm.mesh, pm.materials, kind=design.model, order=pm.order,
                               stress_free=pm.stress_free, supports=pm.supports,
                               plane_faces=pm.plane_faces)
    cm = CycleModel(model, [f"bump_{i}" for i in range(len(design.dnp))],
                    design.loading.solder)
    solver = cycle._Solver(cm)
    state = cm.initial_state()
    x = 1e-6 * np.random.default_rng(0).standard_normal(cm.nunknowns)
    r, up = solver.evaluate(x, 125.0, 100.0, state, None, None)
    eps = cm.solder_strain(x)
    out = {"solder points": cm.npoints, "unknowns": cm.nunknowns,
           "constitutive update (all points)": _median(
               lambda: cm.update(state, eps, 125.0, 100.0, None))}
    out["tangent matrix (assembly)"] = _median(lambda: cm.tangent_matrix(125.0, up.tangent), 3)
    t0 = time.perf_counter()
    solver.factor(125.0, up.tangent)
    out["factorization"] = time.perf_counter() - t0
    out["preconditioner solve"] = _median(lambda: solver.precondition(r))
    out["tangent product"] = _median(lambda: cm.tangent_product(125.0, up.tangent, x))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default=str(ROOT / "studies" / "seed000_bare_3d.toml"))
    parser.add_argument("--refine", type=float, default=0.5)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--law", default="anand")
    parser.add_argument("--refactor-iterations", type=int, default=None)
    parser.add_argument("--newton-rtol", type=float, default=None,
                        help="Newton tolerance (default: the model's, cycle.NEWTON_RTOL_3D)")
    parser.add_argument("--creep-atol", type=float, default=cycle.CREEP_ATOL)
    parser.add_argument("--no-unit-costs", action="store_true")
    args = parser.parse_args()
    if args.refactor_iterations is not None:
        cycle.REFACTOR_ITERATIONS = args.refactor_iterations
        if args.refactor_iterations > cycle.CG_MAXITER:
            cycle.CG_MAXITER = args.refactor_iterations
    threads = {k: v for k, v in os.environ.items() if k.endswith("_NUM_THREADS")
               or k == "OPENBLAS_CORETYPE"}
    print(f"cpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, thread settings: "
          f"{threads or 'none'}; REFACTOR_ITERATIONS = {cycle.REFACTOR_ITERATIONS}")
    raw = read_toml(args.design)
    raw["mesh"] = load_design(raw).mesh.refined(args.refine)
    raw["loading"] = {**raw.get("loading", {}), "solder": args.law, "cycles": args.cycles}
    design = load_design(raw)
    wall = time.perf_counter()
    controls = cycle.Controls(newton_rtol=args.newton_rtol, creep_atol=args.creep_atol)
    result = analyze_cycles(design, figures=False, controls=controls)
    wall = time.perf_counter() - wall
    peak = _peak_gb()
    s = result["solver"]
    cycles = result["profile"]["cycles"]
    print(f"{design.name}, refine {args.refine}: {result['dofs']} DOFs, {result['elements']} "
          f"elements, {cycles} cycles of {result['profile']['name']}")
    print(f"total {wall:.1f} s wall, peak memory {peak:.2f} GB; phases: " + ", ".join(
        f"{k} {v:.1f}" for k, v in result["seconds"].items()))
    print(f"time stepping {result['seconds']['solve']:.1f} s; {s['steps']} steps, "
          f"{s['evaluations']} constitutive evaluations ({s['newton_per_step']:.2f} per step), "
          f"{s['cg_iterations']} CG iterations, {s['factorizations']} factorizations, "
          f"{s['cutbacks']} cut-backs, {s['rejected_steps']} rejected steps")
    print("  of which: " + ", ".join(f"{k} {v:.1f} s" for k, v in s["seconds"].items()))
    crit = result["critical_bump"]
    b = result["bumps"][crit]
    print(f"critical bump {crit} (DNP {b['dnp']:.3f} mm): ΔW = {b['delta_energy_density']:.4g} "
          f"MPa per cycle, Δε_in = {b['delta_inelastic_strain']:.4g}; per cycle ΔW "
          f"{[round(w, 5) for w in b['per_cycle']['delta_energy_density']]}")
    if not args.no_unit_costs:
        print("unit costs (s, medians):")
        with threadpool_limits(limits=cycle.BLAS_THREADS, user_api="blas"):
            costs = unit_costs(design)
        for k, v in costs.items():
            print(f"  {k}: {v:.4g}")


if __name__ == "__main__":
    main()
