"""Speed of the viscoplastic cycle analysis on the seed design (issue 5 target: 3 cycles < 60 s).

Runs :func:`wlcsp.cycling.analyze_cycles` on ``studies/seed000_elastomer.toml`` (axisymmetric,
JEDEC G) with ``loading.solder = "anand"`` and prints: DOFs, solder points, steps, constitutive
evaluations (= Newton iterations), CG iterations and factorizations; seconds per phase (mesh,
model set-up, time stepping split into constitutive update, solder kinematics, linear part, CG,
factorization, predictor) and per cycle; wall and CPU time. Then the unit costs on the same
model: one constitutive update of all solder points, one preconditioner solve, one tangent
matrix-vector product, one factorization, so the phase totals can be read as counts × cost.

    python benchmarks/cycle_seed.py [--cycles N] [--design FILE] [--law anand|garofalo]
                                    [--out DIR]

The BLAS thread settings in the environment are printed: on a shared or busy 2-core machine,
OPENBLAS_NUM_THREADS=1 avoids threads spinning against each other in the many small BLAS calls
of CG (measured 2.5x on a loaded machine); compare runs only under the same setting.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from wlcsp.cycling import analyze_cycles
from wlcsp.design import load_design
from wlcsp.fem.cycle import BLAS_THREADS, _Solver
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


def unit_costs(design) -> dict[str, float]:
    """Seconds of one of each operation at a creeping state (125 °C, 100 s step)."""
    pm = build_mesh(design)
    model = ThermoelasticModel(pm.mesh, pm.materials, kind=design.model, order=pm.order,
                               stress_free=pm.stress_free)
    cm = CycleModel(model, [f"bump_{i}" for i in range(len(design.dnp))],
                    design.loading.solder)
    solver = _Solver(cm)
    state = cm.initial_state()
    x = 1e-6 * np.random.default_rng(0).standard_normal(cm.free.size)
    r, up = solver.evaluate(x, 125.0, 100.0, state, None)
    out = {"constitutive update": _median(lambda: cm.update(state, cm.solder_strain(x), 125.0,
                                                            100.0, None))}
    t0 = time.perf_counter()
    solver.factor(125.0, up.tangent)
    out["factorization"] = time.perf_counter() - t0
    out["preconditioner solve"] = _median(lambda: solver.precondition(r))
    K = cm.linear_stiffness(125.0)
    out["tangent matvec"] = _median(lambda: K @ x + cm.solder_force(
        np.einsum("pij,pj->pi", up.tangent, cm.solder_strain(x))))
    out["points"] = cm.npoints
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--design", default=str(ROOT / "studies" / "seed000_elastomer.toml"))
    parser.add_argument("--law", default="anand")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    threads = {k: v for k, v in os.environ.items() if k.endswith("_NUM_THREADS")
               or k == "OPENBLAS_CORETYPE"}
    print(f"cpus: {os.cpu_count()}, thread settings: {threads or 'none'}")
    design = load_design(args.design)
    raw = dict(design.raw)
    raw["loading"] = {**raw.get("loading", {}), "solder": args.law, "cycles": args.cycles}
    design = load_design(raw)
    wall, cpu = time.perf_counter(), time.process_time()
    result = analyze_cycles(design, args.out, figures=args.out is not None)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    s = result["solver"]
    cycles = result["profile"]["cycles"]
    print(f"{design.name}: {result['dofs']} DOFs, {result['elements']} elements, "
          f"{cycles} cycles of {result['profile']['name']}")
    print(f"total {wall:.1f} s wall, {cpu:.1f} s CPU; phases: " + ", ".join(
        f"{k} {v:.1f}" for k, v in result["seconds"].items()))
    print(f"time stepping {result['seconds']['solve']:.1f} s = "
          f"{result['seconds']['solve'] / cycles:.1f} s per cycle; {s['steps']} steps, "
          f"{s['evaluations']} constitutive evaluations ({s['newton_per_step']:.2f} Newton "
          f"iterations per step), {s['cg_iterations']} CG iterations, {s['factorizations']} "
          f"factorizations, {s['cutbacks']} cut-backs, {s['rejected_steps']} rejected steps")
    print("  of which: " + ", ".join(f"{k} {v:.1f} s" for k, v in s["seconds"].items()))
    crit = result["critical_bump"]
    print(f"critical bump {crit}: ΔW = {result['bumps'][crit]['delta_energy_density']:.4g} MPa "
          f"per cycle; stabilization {result['stabilization']}; life {result['life']}")
    print("unit costs (s, medians):")
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):  # as in the time stepping
        costs = unit_costs(design)
    for k, v in costs.items():
        print(f"  {k}: {v:.4g}")


if __name__ == "__main__":
    main()
