"""Why the underfill buys what it buys in 3D: the seed underfill variant with one property changed.

The seed 000 underfill variant (``studies/seed000_underfill_3d.toml``, strip cell, ``[mesh]``
sizes divided by ``--refine``, default 0.5) is run with the library's underfill and with one of
its properties changed at a time, beside the bare variant, all with the same solder model
(``--solder``, default anand) and ``--cycles`` (default 2) JEDEC G cycles:

``library``
    ``data/materials.toml`` underfill: E 8 GPa below Tg = 130 °C falling to 0.5 GPa above it,
    CTE 30 ppm/K below, 100 above.
``cte_matched``
    the same with the glassy CTE equal to the solder's (22 ppm/K): no axial (z) mismatch
    between underfill and joint below Tg.
``no_transition``
    E 8 GPa and CTE 30 ppm/K over the whole range (a Tg above the profile's 125 °C).
``stiff``
    E 16 GPa below Tg (the glass transition kept).

These are not candidate materials and nothing is fitted: each isolates one mechanism (the
underfill's axial CTE mismatch, its softening near the hot dwell, its stiffness) to explain the
life ratio the library underfill gives. Per case: the critical joint (DNP), its shear and
equivalent strain ranges, with creep the inelastic strain range, the Darveaux-layer energy per
cycle of the last cycle and its side, and the ratio of that energy to the bare one; written to
``--json`` (default ``benchmarks/underfill_sensitivity.json``) after every case, so a killed run
keeps what it finished (cases in the file are skipped unless ``--force``).

    python benchmarks/underfill_sensitivity.py [--solder anand|elastic] [--refine 0.5]
                                               [--cycles 2] [--cases ...] [--force]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from wlcsp.analysis import analyze
from wlcsp.design import load_design, read_toml
from wlcsp.life_report import json_safe

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = {"E": [[-65.0, 8000.0], [120.0, 8000.0], [140.0, 500.0], [300.0, 500.0]],
           "nu": 0.33,
           "cte_ppm": [[-65.0, 30.0], [120.0, 30.0], [140.0, 100.0], [300.0, 100.0]]}
"""The library underfill (``data/materials.toml``), restated so that each case edits one key."""

CASES: dict[str, dict[str, Any] | None] = {
    "bare": None,
    "library": LIBRARY,
    "cte_matched": {**LIBRARY, "cte_ppm": [[-65.0, 22.0], [120.0, 22.0], [140.0, 100.0],
                                           [300.0, 100.0]]},
    "no_transition": {**LIBRARY, "E": 8000.0, "cte_ppm": 30.0},
    "stiff": {**LIBRARY, "E": [[-65.0, 16000.0], [120.0, 16000.0], [140.0, 500.0],
                               [300.0, 500.0]]},
}


def case_design(case: str, solder: str, refine: float, cycles: int) -> dict[str, Any]:
    """The raw design of ``case``: the seed underfill 3D file, edited."""
    raw = read_toml(ROOT / "studies" / "seed000_underfill_3d.toml")
    raw["mesh"] = load_design(raw).mesh.refined(refine)
    raw["loading"] = dict(raw["loading"], solder=solder, cycles=cycles)
    if CASES[case] is None:
        raw.pop("underfill")
    else:
        raw["materials"] = {"underfill_case": CASES[case]}
        raw["underfill"] = {"material": "underfill_case"}
    return raw


def run_case(case: str, solder: str, refine: float, cycles: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    s = analyze(case_design(case, solder, refine, cycles), figures=False)
    b = s["bumps"][s["critical_bump"]]
    keys = ("dnp", "delta_shear_strain", "delta_equivalent_strain", "delta_inelastic_strain",
            "delta_energy_density", "delta_elastic_energy_density", "energy_interface")
    return {"critical_bump": s["critical_bump"], **{k: b.get(k) for k in keys},
            "dofs": s["dofs"], "wall_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--solder", choices=("anand", "elastic"), default="anand")
    ap.add_argument("--refine", type=float, default=0.5)
    ap.add_argument("--cycles", type=int, default=2)
    ap.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" /
                    "underfill_sensitivity.json")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    data = json.loads(args.json.read_text()) if args.json.exists() else {}
    runs = data.setdefault(args.solder, {"refine": args.refine, "cycles": args.cycles,
                                         "cases": {}})
    energy = "delta_energy_density" if args.solder != "elastic" \
        else "delta_elastic_energy_density"
    for case in args.cases:
        if case in runs["cases"] and not args.force:
            continue
        runs["cases"][case] = run_case(case, args.solder, args.refine, args.cycles)
        args.json.write_text(json.dumps(json_safe(data), indent=1))
        bare = runs["cases"].get("bare")
        r = runs["cases"][case]
        ratio = r[energy] / bare[energy] if bare else float("nan")
        print(f"{case:<14} crit {r['critical_bump']} DNP {r['dnp']:.3f}  "
              f"dγ {100 * r['delta_shear_strain']:.4f} %  dε_eq "
              f"{100 * r['delta_equivalent_strain']:.4f} %  ΔW {r[energy]:.4g} MPa "
              f"({r['energy_interface'] or ''}) x bare {ratio:.3f}  {r['wall_s']:.0f} s",
              flush=True)


if __name__ == "__main__":
    main()
