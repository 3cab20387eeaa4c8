"""Scaling of the thermoelastic solve with the number of DOFs.

The problem: P2 plane strain (or ``--kind``) on a 4:1 rectangle of two materials (silicon over
solder), cooled from 125 °C to -40 °C, supports on the axis plus one point. Each size runs in
its own process so that the peak resident memory (``ru_maxrss``) belongs to that size alone,
and the bare factorization runs in a second fresh process on the matrix saved by the first
(in one process the second factorization finds its memory already mapped and runs up to 2x
faster at 1e6 DOFs, which would flatter the baseline).

Per size it reports the wall time of each phase of :class:`ThermoelasticModel` (kinematics,
assembly of K and loads, factorization, solve = substitution + strains + stresses), the post
phase (per-region von Mises summary, warpage), the peak memory, and the ratio of wlcsp's
kinematics + assembly + factorization + solve to a bare factor + solve of the very same reduced
matrix with the same backend (the floor for a direct method; target <= 1.5).

Usage::

    python benchmarks/solve_scaling.py [--dofs 1e4 1e5 5e5 1e6] [--backend superlu|pardiso]
                                       [--kind plane_strain] [--repeat 1] [--stat median|min]

On a shared machine (other jobs on the 2 cores) ``--repeat 3 --stat min`` gives the figures
least disturbed by them (the minimum estimates the undisturbed time; Python ``timeit`` docs).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import skfem
from scipy import sparse

from wlcsp import post
from wlcsp.fem.linsolve import available_backends, factorize
from wlcsp.fem.thermoelastic import ThermoelasticModel
from wlcsp.materials import LIBRARY


def one_size(dofs: float, backend: str, kind: str, save: Path) -> dict[str, float]:
    """Run one size in this process; return the phase times (s) and peak memory (GB).

    The reduced stiffness matrix is saved to ``save`` for :func:`bare`.
    """
    n = int(np.sqrt(dofs / 8.0 / 4.0))  # P2 on 4n x n squares of 2 triangles: ~32 n² DOFs
    mesh = skfem.MeshTri.init_tensor(np.linspace(0.0, 4.0, 4 * n + 1), np.linspace(0, 1, n + 1))
    mesh = mesh.with_subdomains({"solder": lambda x: x[1] < 0.5, "die": lambda x: x[1] > 0.5})
    mesh = mesh.with_boundaries({"axis": lambda x: np.isclose(x[0], 0.0),
                                 "bottom": lambda x: np.isclose(x[1], 0.0)})
    mats = {"solder": LIBRARY["sac305"], "die": LIBRARY["silicon"]}
    start = time.perf_counter()
    model = ThermoelasticModel(mesh, mats, kind=kind, stress_free=125.0, solver=backend)
    sol = model.solve(-40.0)
    wlcsp_total = time.perf_counter() - start
    phases = dict(model.seconds)
    start = time.perf_counter()
    post.region_summary(sol)
    post.warpage(sol)
    t_post = time.perf_counter() - start
    A = model.factorization(-40.0)[0].A
    sparse.save_npz(save, A, compressed=False)
    return {
        "dofs": int(A.shape[0]), "nnz": int(A.nnz), **phases, "post": t_post,
        "wlcsp_total": wlcsp_total, "peak_GB": _peak_GB(),
    }


def bare(backend: str, load: Path) -> dict[str, float]:
    """The floor: factor + solve of the saved matrix with the same backend, nothing else."""
    A = sparse.load_npz(load).tocsr()
    b = A @ np.ones(A.shape[0])
    start = time.perf_counter()
    fac = factorize(A, backend)
    t_factor = time.perf_counter() - start
    fac.solve(b)
    return {"bare_factor": t_factor, "bare_factor_solve": time.perf_counter() - start,
            "bare_peak_GB": _peak_GB()}


def _peak_GB() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dofs", type=float, nargs="+", default=[1e4, 3e4, 1e5, 3e5, 5e5, 1e6])
    p.add_argument("--backend", default=available_backends()[0], choices=available_backends())
    p.add_argument("--kind", default="plane_strain")
    p.add_argument("--repeat", type=int, default=1, help="runs per size")
    p.add_argument("--stat", choices=["median", "min"], default="median",
                   help="statistic over the repeats, per column (ratio from the chosen times)")
    p.add_argument("--child", choices=["model", "bare"], help=argparse.SUPPRESS)
    p.add_argument("--matrix", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child == "model":
        print(json.dumps(one_size(args.dofs[0], args.backend, args.kind, args.matrix)))
        return 0
    if args.child == "bare":
        print(json.dumps(bare(args.backend, args.matrix)))
        return 0
    cols = ["dofs", "kinematics", "assembly", "factorization", "solve", "post", "wlcsp_total",
            "bare_factor_solve", "ratio", "peak_GB", "bare_peak_GB"]
    print(f"backend {args.backend}, {args.kind}, P2; seconds ({args.stat} of {args.repeat})")
    print(" ".join(f"{c:>13}" for c in cols))
    for dofs in args.dofs:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                run = {}
                for child in ("model", "bare"):
                    cmd = [sys.executable, __file__, "--child", child, "--dofs", str(dofs),
                           "--backend", args.backend, "--kind", args.kind,
                           "--matrix", str(Path(tmp) / "K.npz")]
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                    run.update(json.loads(out.strip().splitlines()[-1]))
            runs.append(run)
        stat = np.median if args.stat == "median" else np.min
        med = {c: float(stat([r[c] for r in runs])) for c in cols if c != "ratio"}
        med["ratio"] = med["wlcsp_total"] / med["bare_factor_solve"]
        print(" ".join(f"{med[c]:>13.0f}" if c == "dofs" else f"{med[c]:>13.3f}" for c in cols),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
