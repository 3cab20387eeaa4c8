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
``--force``). ``--stabilize N`` reruns, for each model named, every variant whose critical
joint's energy per cycle still changed by more than the stabilization tolerance with ``N``
cycles, and keeps the rerun beside the first run (``reruns``: the variant's table row and
statistics). ``notebooks/04_seed_claims_3d.ipynb`` reads the file.

    python benchmarks/seed_claims_3d.py [--models 3d axi ps] [--refine-3d 0.5] [--refine-2d 1]
                                        [--cycles 3] [--stabilize N] [--json FILE] [--force]
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

from wlcsp.analysis import analyze
from wlcsp.compare import compare, variants
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


def model_design(model: str, refine: float, cycles: int) -> dict[str, Any]:
    """The raw design of ``model``'s seed file with Anand solder, ``cycles``, refined mesh."""
    design = load_design(ROOT / "studies" / STUDIES[model])
    raw = dict(design.raw)
    raw["mesh"] = design.mesh.refined(refine)
    raw["loading"] = dict(raw["loading"], solder="anand", cycles=cycles)
    return raw


def statistics(s: dict[str, Any]) -> dict[str, Any]:
    """What the notebook reads of one variant's summary besides its table row."""
    crit = s["bumps"][s["critical_bump"]]
    return {
        "dofs": s["dofs"], "elements": s["elements"], "steps": s["solver"]["steps"],
        "seconds": s["seconds"], "stabilization": s["stabilization"],
        "critical_bump": s["critical_bump"], "energy_interface": crit["energy_interface"],
        "per_cycle_energy_MPa": crit["per_cycle"]["delta_energy_density"],
        "bumps": [{k: b.get(k) for k in ("dnp", "delta_energy_density",
                                         "delta_inelastic_strain", "energy_interface")}
                  for b in s["bumps"]]}


def rerun(model: str, entry: dict[str, Any], label: str, cycles: int) -> dict[str, Any]:
    """The variant ``label`` of a finished model run again with ``cycles`` cycles.

    Its statistics, the critical joint's figures, its primary and secondary lives.
    """
    raw = variants(load_design(model_design(model, entry["refine"], cycles)))[label]
    t0 = time.perf_counter()
    s = analyze(raw, figures=False)
    crit = s["bumps"][s["critical_bump"]]
    return {"cycles": cycles, "wall_s": time.perf_counter() - t0, **statistics(s),
            "critical": {k: crit.get(k) for k in ("dnp", "delta_energy_density",
                                                  "delta_inelastic_strain",
                                                  "delta_shear_strain",
                                                  "delta_equivalent_strain")},
            "primary": s.get("primary"), "secondary": s.get("secondary")}


def run_model(model: str, refine: float, cycles: int) -> dict[str, Any]:
    """One model's comparison: table, per-variant statistics, wall time (s), peak memory (GB)."""
    t0 = time.perf_counter()
    result = compare(model_design(model, refine, cycles), figures=False)
    wall = time.perf_counter() - t0
    variants = {label: statistics(s) for label, s in result["summaries"].items()}
    return {"study": STUDIES[model], "refine": refine, "cycles": cycles, "wall_s": wall,
            "peak_rss_GB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
            "table": result["table"], "variants": variants}


def save(path: Path, model: str, key: str | None, value: Any) -> None:
    """Write ``value`` as ``models[model]`` (or its ``reruns[key]``) into ``path``.

    The file is read again first, so that runs of other models in other processes are kept.
    """
    data = json.loads(path.read_text()) if path.exists() else {}
    models = data.setdefault("models", {})
    if key is None:
        models[model] = value
    else:
        models[model].setdefault("reruns", {})[key] = value
    data["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "load_average": os.getloadavg(), "commit": _commit(),
                       "date": time.strftime("%Y-%m-%d")}
    path.write_text(json.dumps(json_safe(data), indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", choices=sorted(STUDIES), default=["3d", "axi", "ps"])
    ap.add_argument("--refine-3d", type=float, default=0.5)
    ap.add_argument("--refine-2d", type=float, default=1.0)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "seed_claims_3d.json")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--stabilize", type=int, default=0, metavar="N")
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
        save(args.json, model, None, data["models"][model])
        print(f"{model}: {data['models'][model]['wall_s']:.0f} s", flush=True)
    for model in args.models if args.stabilize else ():
        entry = data["models"][model]
        for label, v in entry["variants"].items():
            done = entry.setdefault("reruns", {}).get(label, {}).get("cycles", 0)
            if v["stabilization"]["stabilized"] or done >= args.stabilize:
                continue
            print(f"{model} {label}: not stabilized, {args.stabilize} cycles", flush=True)
            entry["reruns"][label] = rerun(model, entry, label, args.stabilize)
            save(args.json, model, label, entry["reruns"][label])


if __name__ == "__main__":
    main()
