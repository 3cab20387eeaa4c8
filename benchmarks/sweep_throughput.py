"""Sweep throughput: cases per minute serially and on a local dask cluster, and the overhead.

A linear (elastic) sweep of the seed 000 design, elastomer thickness x underfill on/off (16 cases
by default), runs three ways on this machine:

1. bare: ``wlcsp.analyze(load_design(case))`` in a loop, no sweep machinery;
2. ``run_study(..., workers=0)``: the serial loop with hashing, atomic Parquet writes, progress;
3. ``run_study(..., workers=N)``: a local cluster of N single-threaded worker processes, cluster
   start-up included;
4. bare parallel: the bare calls in a ``ProcessPoolExecutor`` of N processes with the same
   one-thread BLAS setting, the ceiling this machine allows (no dask, no store).

The machinery's overhead per case is measured twice: the serial sweep's wall time minus the time
spent inside the case function (its ``_seconds``, robust to load drift between runs), and the
serial sweep's wall time minus the bare loop's (noisier). The load average is printed, since
other work on the machine changes every number here.

Usage::

    python benchmarks/sweep_throughput.py [--cases 16] [--workers 2] [--mesh-size 0.05]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from wlcsp.analysis import analyze
from wlcsp.design import load_design
from wlcsp.study import load_study, run_study
from wlcsp.study.runner import BLAS_ENV

SEED = Path(__file__).resolve().parents[1] / "studies" / "seed000_elastomer.toml"


def study(cases: int, mesh_size: float | None) -> dict:
    """Elastomer thickness (cases/2 values, 0 to 150 um) x underfill off/on, elastic."""
    thickness = [round(float(t), 4) for t in np.linspace(0.0, 0.15, cases // 2)]
    raw = {"name": "throughput", "analysis": "elastic", "base": str(SEED),
           "outputs": ["critical_bump", "bumps[critical_bump].delta_shear_strain", "dofs"],
           "sweep": {"axes": [{"key": "layers.elastomer.thickness", "values": thickness},
                              {"key": "underfill", "values": [False, True]}]}}
    if mesh_size is not None:
        raw["set"] = {"mesh.size": mesh_size}
    return raw


def bare_case(design: dict) -> float:
    """Seconds of one bare ``analyze`` call (run in a pool process)."""
    start = time.perf_counter()
    analyze(load_design(design))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mesh-size", type=float, default=None)
    args = parser.parse_args()
    st = load_study(study(args.cases, args.mesh_size))
    n = len(st.cases)
    print(f"{n} cases, cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        bare_each = []
        for case in st.cases:
            s = time.perf_counter()
            analyze(load_design(case.design))
            bare_each.append(time.perf_counter() - s)
        bare = time.perf_counter() - t
        print(f"bare analyze loop   {bare:8.1f} s  {60 * n / bare:6.2f} cases/min  "
              f"(median case {np.median(bare_each):.2f} s), load {os.getloadavg()[0]:.2f}")

        t = time.perf_counter()
        serial = run_study(st, Path(tmp) / "serial", workers=0, figures=False, progress=None)
        wall0 = time.perf_counter() - t
        inside = serial["_seconds"].sum()
        print(f"sweep, workers=0    {wall0:8.1f} s  {60 * n / wall0:6.2f} cases/min  "
              f"(median case {serial['_seconds'].median():.2f} s), load "
              f"{os.getloadavg()[0]:.2f}")

        t = time.perf_counter()
        par = run_study(st, Path(tmp) / "parallel", workers=args.workers, figures=False,
                        progress=None)
        wall = time.perf_counter() - t
        print(f"sweep, workers={args.workers}    {wall:8.1f} s  {60 * n / wall:6.2f} cases/min  "
              f"(median case {par['_seconds'].median():.2f} s), load {os.getloadavg()[0]:.2f}")
        for frame in (serial, par):
            if (frame["_status"] != "done").any():
                raise SystemExit(f"failed cases: {frame['_error'].tolist()}")
        same = np.allclose(par["bumps[critical_bump].delta_shear_strain"],
                           serial["bumps[critical_bump].delta_shear_strain"], rtol=1e-9)
        saved = dict(os.environ)
        os.environ.update(BLAS_ENV)  # read by the spawned processes as they start
        t = time.perf_counter()
        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            pool_each = list(pool.map(bare_case, [c.design for c in st.cases]))
        ceiling = time.perf_counter() - t
        os.environ.clear()
        os.environ.update(saved)
        print(f"bare pool of {args.workers}     {ceiling:8.1f} s  {60 * n / ceiling:6.2f} "
              f"cases/min  (median case {np.median(pool_each):.2f} s), load "
              f"{os.getloadavg()[0]:.2f}")
    print(f"speed-up {args.workers} workers / serial sweep: {wall0 / wall:.2f}x "
          f"(same results: {same}); bare pool / bare loop: {bare / ceiling:.2f}x")
    print(f"machinery overhead per case: {1e3 * (wall0 - inside) / n:.1f} ms "
          f"(serial wall - time in the case function); sweep - bare: "
          f"{1e3 * (wall0 - bare) / n:+.0f} ms (noisy: two runs)")


if __name__ == "__main__":
    main()
