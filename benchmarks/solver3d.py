"""Linear solvers for the 3D P2 thermoelastic model: assembly, factor/setup, solve, peak memory.

The problem: a quarter of a square package stack (symmetry faces x = 0 and y = 0), 4 x 4 mm,
BT substrate 0.4 mm, a thin soft elastomer layer 0.05 mm (E about 1/300 of its neighbours),
silicon die 0.7 mm, cooled from 125 °C to -40 °C; P2 tetrahedra on a graded structured grid
(skfem ``MeshTet.init_tensor``, 6 tets per brick), rigid modes removed automatically at the
bottom. Each (size, backend, repeat) runs in its own process so that its peak resident memory
(``VmHWM`` of /proc/self/status: C allocations included, unlike tracemalloc) is its own; the
repeats are interleaved over the backends and the medians reported.

Phases: ``assembly`` = kinematics + K (vectorised Bᵀ D B) + reduction; ``factor`` = the
backend's factorization (PARDISO, SuperLU) or hierarchy set-up (AMG); ``solve`` = one thermal
right-hand side, with the backward-error check; ``peak`` = VmHWM of the process at the end (GB),
``peak_asm`` = VmHWM after assembly. AMG also reports its CG iterations.

``--accuracy`` compares the stresses of AMG-CG at several stopping tolerances with the direct
(PARDISO) stresses on the smallest size: max |σ_amg − σ_direct| / max |σ_direct|.

Usage::

    python benchmarks/solver3d.py [--sizes 5e4 2e5 6e5] [--backends pardiso amg superlu]
                                  [--repeat 3] [--accuracy]

SuperLU runs only at sizes up to ``--superlu-max`` DOFs (its 3D fill-in makes it minutes at 2e5).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
import skfem

LAYERS = (("substrate", "bt", 0.0, 0.4), ("buffer", "elastomer", 0.4, 0.45),
          ("die", "silicon", 0.45, 1.15))


def mesh_for(dofs: float) -> skfem.MeshTet1:
    """Graded brick grid of about ``dofs`` P2 DOFs: n x n bricks in plane, 2n/3 + 3 through."""
    n = max(4, round((dofs / 3.0 / 1.3) ** (1 / 3) / 2))
    nz = [max(2, round(n * 0.35)), 2, max(2, round(n * 0.6))]
    xs = np.linspace(0.0, 4.0, n + 1)
    zs = np.unique(np.concatenate([np.linspace(z0, z1, k + 1)
                                   for (_, _, z0, z1), k in zip(LAYERS, nz, strict=True)]))
    mesh = skfem.MeshTet.init_tensor(xs, xs, zs)
    sub = {name: (lambda x, a=z0, b=z1: (x[2] > a) & (x[2] < b)) for name, _, z0, z1 in LAYERS}
    return mesh.with_subdomains(sub).with_boundaries({
        "sym_x": lambda x: np.isclose(x[0], 0.0), "sym_y": lambda x: np.isclose(x[1], 0.0),
        "bottom": lambda x: np.isclose(x[2], 0.0)})


def _vmhwm() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 2**20  # kB -> GB
    return float("nan")


def one_case(dofs: float, backend: str) -> dict:
    """Run one size with one backend in this process."""
    from wlcsp.fem.kinematics import assemble_stiffness
    from wlcsp.fem.linsolve import factorize
    from wlcsp.fem.thermoelastic import ThermoelasticModel, elastic_matrix
    from wlcsp.materials import LIBRARY

    mesh = mesh_for(dofs)
    mats = {name: LIBRARY[m] for name, m, _, _ in LAYERS}
    t0 = time.perf_counter()
    model = ThermoelasticModel(mesh, mats, kind="3d", stress_free=125.0, solver=backend,
                               supports={"sym_x": "x", "sym_y": "y"})
    t1 = time.perf_counter()
    E, nu, _ = model.region_properties(-40.0)
    D = elastic_matrix(E, nu, "3d")[model.region_id][:, None]
    K = assemble_stiffness(model.kin, D)
    t2 = time.perf_counter()
    Kr = model._reduce_matrix(K)
    t3 = time.perf_counter()
    peak_asm = _vmhwm()
    null = model.near_nullspace() if backend == "amg" else None
    fac = factorize(Kr, backend, near_nullspace=null)
    t4 = time.perf_counter()
    model._cache[(tuple(E), tuple(nu))] = (fac, np.zeros(0), np.zeros(0), 0.0)
    sol = model.solve(-40.0)
    t5 = time.perf_counter()
    return {"dofs": int(model.kin.ndofs), "nnz": int(Kr.nnz), "elements": int(mesh.nelements),
            "backend": backend, "kinematics": t1 - t0, "assemble_K": t2 - t1,
            "reduce": t3 - t2, "assembly": t3 - t0, "factor": t4 - t3,
            "solve": t5 - t4, "peak_asm": peak_asm, "peak": _vmhwm(),
            "iterations": list(fac.iterations), "max_stress": float(np.abs(sol.stress).max())}


def accuracy(dofs: float, tolerances: list[float]) -> list[dict]:
    """Stress difference of AMG-CG at each tolerance against PARDISO, smallest size."""
    from wlcsp.fem import linsolve
    from wlcsp.fem.thermoelastic import ThermoelasticModel
    from wlcsp.materials import LIBRARY

    mesh = mesh_for(dofs)
    mats = {name: LIBRARY[m] for name, m, _, _ in LAYERS}
    sup = {"sym_x": "x", "sym_y": "y"}
    ref = ThermoelasticModel(mesh, mats, kind="3d", stress_free=125.0, solver="pardiso",
                             supports=sup).solve(-40.0)
    scale = np.abs(ref.stress).max()
    out = []
    saved = linsolve.AMG_RTOL
    try:
        for tol in tolerances:
            linsolve.AMG_RTOL = tol
            model = ThermoelasticModel(mesh, mats, kind="3d", stress_free=125.0, solver="amg",
                                       supports=sup)
            sol = model.solve(-40.0)
            fac = model.factorization(-40.0)[0]
            out.append({"rtol": tol, "iterations": fac.iterations,
                        "stress_error": float(np.abs(sol.stress - ref.stress).max() / scale),
                        "u_error": float(np.abs(sol.u - ref.u).max() / np.abs(ref.u).max())})
    finally:
        linsolve.AMG_RTOL = saved
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[5e4, 2e5, 6e5])
    parser.add_argument("--backends", nargs="+", default=["pardiso", "amg", "superlu"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--superlu-max", type=float, default=6e4)
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(one_case(float(args.case[0]), args.case[1])))
        return
    if args.accuracy:
        for row in accuracy(args.sizes[0], [1e-6, 1e-8, 1e-10]):
            print(json.dumps(row))
        return
    keys = ("assembly", "factor", "solve", "peak_asm", "peak")
    print(f"{'DOFs':>8} {'backend':>8} {'assembly':>9} {'factor':>8} {'solve':>8} "
          f"{'peak asm':>9} {'peak GB':>8}  iterations")
    for size in args.sizes:
        runs: dict[str, list[dict]] = {}
        for _ in range(args.repeat):
            for backend in args.backends:
                if backend == "superlu" and size > args.superlu_max:
                    continue
                res = subprocess.run([sys.executable, __file__, "--case", str(size), backend],
                                     capture_output=True, text=True, check=True)
                runs.setdefault(backend, []).append(json.loads(res.stdout.splitlines()[-1]))
        for backend, rows in runs.items():
            med = {k: float(np.median([r[k] for r in rows])) for k in keys}
            print(f"{rows[0]['dofs']:>8} {backend:>8} {med['assembly']:>9.2f} "
                  f"{med['factor']:>8.2f} {med['solve']:>8.2f} {med['peak_asm']:>9.2f} "
                  f"{med['peak']:>8.2f}  {rows[0]['iterations']}", flush=True)


if __name__ == "__main__":
    main()
