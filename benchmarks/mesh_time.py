"""Meshing time and size of every bundled design (issue 2: each under 10 s).

Run: ``python benchmarks/mesh_time.py`` (median of 3 runs per design, wall-clock seconds).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from wlcsp.design import load_design
from wlcsp.mesh import build_mesh, min_angle

STUDIES = Path(__file__).resolve().parents[1] / "studies"


def main() -> None:
    print(f"{'design':<24}{'elements':>9}{'nodes':>9}{'min angle':>10}{'median s':>10}")
    for path in sorted(STUDIES.glob("seed*.toml")):
        if path.stem.endswith("_ps"):
            continue  # the plane-strain twins share their twin's mesh
        design = load_design(path)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            pm = build_mesh(design)
            times.append(time.perf_counter() - t)
        print(f"{path.stem:<24}{pm.mesh.nelements:>9}{pm.mesh.doflocs.shape[1]:>9}"
              f"{min_angle(pm):>10.1f}{statistics.median(times):>10.2f}")


if __name__ == "__main__":
    main()
