"""The seed question with creeping solder, in 3D and in the 2D models: the data of notebook 04.

Runs :func:`wlcsp.compare.compare` on seed 000 (the design as given: 75 µm elastomer buffer, no
underfill; variants bare, underfill, elastomer + underfill) with Anand solder through
``--cycles`` JEDEC G cycles in each model named by ``--models``:

* ``3d``: ``studies/seed000_elastomer_3d.toml``, the strip cell along the outer row (8 joints),
  its ``[mesh]`` sizes divided by ``--refine-3d`` (default 0.5: sizes doubled);
* ``axi``: ``studies/seed000_elastomer.toml``, the axisymmetric section (``--refine-2d``);
* ``ps``: ``studies/seed000_elastomer_ps.toml``, the plane-strain section (``--refine-2d``).

Each model's table (:func:`wlcsp.compare.table_rows`), per variant the DOFs, steps, the
stabilization check and the wall time, and the whole model's wall time and peak memory are
written to ``--json`` (default ``benchmarks/seed_claims_3d.json``) as soon as that model
finishes, so a killed run keeps what it finished (a model already in the file is skipped unless
``--force``). ``notebooks/04_seed_claims_3d.ipynb`` reads the file.

    python benchmarks/seed_claims_3d.py [--models 3d axi ps] [--refine-3d 0.5] [--refine-2d 1]
                                        [--cycles 3] [--json FILE] [--force]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

from wlcsp.compare import compare
from wlcsp.design import load_design
from wlcsp.life_report import json_safe

ROOT = Path(__file__).resolve().parents[1]
STUDIES = {"3d": "seed000_elastomer_3d.toml", "axi": "seed000_elastomer.toml",
           "ps": "seed000_elastomer_ps.toml"}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def run_model(model: str, refine: float, cycles: int) -> dict[str, Any]:
    """One model's comparison: table, per-variant statistics, wall time (s), peak memory (GB)."""
    design = load_design(ROOT / "studies" / STUDIES[model])
    raw = dict(design.raw)
    raw["mesh"] = design.mesh.refined(refine)
    raw["loading"] = dict(raw["loading"], solder="anand", cycles=cycles)
    t0 = time.perf_counter()
    result = compare(raw, figures=False)
    wall = time.perf_counter() - t0
    variants = {}
    for label, s in result["summaries"].items():
        crit = s["bumps"][s["critical_bump"]]
        variants[label] = {
            "dofs": s["dofs"], "elements": s["elements"], "steps": s["solver"]["steps"],
            "seconds": s["seconds"], "stabilization": s["stabilization"],
            "critical_bump": s["critical_bump"], "energy_interface": crit["energy_interface"],
            "per_cycle_energy_MPa": crit["per_cycle"]["delta_energy_density"],
            "bumps": [{k: b.get(k) for k in ("dnp", "delta_energy_density",
                                             "delta_inelastic_strain", "energy_interface")}
                      for b in s["bumps"]]}
    return {"study": STUDIES[model], "refine": refine, "cycles": cycles, "wall_s": wall,
            "peak_rss_GB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
            "table": result["table"], "variants": variants}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", choices=sorted(STUDIES), default=["3d", "axi", "ps"])
    ap.add_argument("--refine-3d", type=float, default=0.5)
    ap.add_argument("--refine-2d", type=float, default=1.0)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "seed_claims_3d.json")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    data: dict[str, Any] = json.loads(args.json.read_text()) if args.json.exists() else {}
    data.setdefault("models", {})
    for model in args.models:
        if model in data["models"] and not args.force:
            print(f"{model}: in {args.json.name}, skipped (--force reruns it)")
            continue
        refine = args.refine_3d if model == "3d" else args.refine_2d
        print(f"{model}: {STUDIES[model]}, refine {refine}, {args.cycles} cycles", flush=True)
        data["models"][model] = run_model(model, refine, args.cycles)
        data["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "load_average": os.getloadavg(), "commit": _commit(),
                           "date": time.strftime("%Y-%m-%d")}
        args.json.write_text(json.dumps(json_safe(data), indent=1))
        print(f"{model}: {data['models'][model]['wall_s']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
