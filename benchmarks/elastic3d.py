"""Elastic 3D runs of the seed designs end to end, beside the 2D models (issue 9 figures).

For each design (default: ``studies/seed000_{bare,underfill,elastomer}_3d.toml``) runs
:func:`wlcsp.analysis.analyze` in a fresh subprocess and prints elements, DOFs, seconds per phase
(mesh, solve: assembly + factorization + substitution inside, post, life), wall time and the
subprocess' peak resident memory (``ru_maxrss``), then the per-bump elastic shear (mean σ_rz along
the DNP direction at the cold extreme, and the shear-strain range) of the 3D cell beside the
axisymmetric and plane-strain models of the same design.

    python benchmarks/elastic3d.py [--designs FILE ...] [--refine F] [--no-2d]

``--refine F`` divides every [mesh] size by F (mesh convergence of the critical joint).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [ROOT / "studies" / f"seed000_{v}_3d.toml" for v in ("bare", "underfill", "elastomer")]

CHILD = r"""
import json, resource, sys, time
from wlcsp.analysis import analyze
from wlcsp.design import load_design, read_toml
raw = read_toml(sys.argv[1])
for k, v in json.loads(sys.argv[2]).items():  # None deletes the key
    raw.pop(k, None) if v is None else raw.__setitem__(k, v)
refine = float(sys.argv[3])
if refine != 1.0:
    spec = load_design(raw).mesh
    raw["mesh"] = spec.refined(refine)
t = time.perf_counter()
r = analyze(raw, figures=False)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
print(json.dumps({"dofs": r["dofs"], "elements": r["elements"], "seconds": r["seconds"],
                  "wall": wall, "peak_gb": peak, "crit": r["critical_bump"],
                  "warpage": r["warpage"],
                  "bumps": [{k: b.get(k) for k in ("dnp", "mean_shear", "mean_von_mises",
                             "delta_shear_strain")} for b in r["bumps"]]}))
"""


def run(path: Path, override: dict, refine: float) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), json.dumps(override),
                          str(refine)], capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{path.name}: {out.stderr.strip().splitlines()[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", nargs="*", type=Path, default=DEFAULT)
    ap.add_argument("--refine", type=float, default=1.0)
    ap.add_argument("--no-2d", action="store_true")
    args = ap.parse_args()
    print(f"{'design':<28} {'elements':>9} {'dofs':>9} {'mesh':>6} {'solve':>6} {'post':>6} "
          f"{'wall s':>7} {'peak GB':>8} {'crit':>4} {'warp um':>8}")
    for path in args.designs:
        r = run(path, {}, args.refine)
        s = r["seconds"]
        print(f"{path.stem:<28} {r['elements']:>9} {r['dofs']:>9} {s.get('mesh', 0):>6.1f} "
              f"{s.get('solve', 0):>6.1f} {s.get('post', 0):>6.1f} {r['wall']:>7.1f} "
              f"{r['peak_gb']:>8.2f} {r['crit']:>4} {1e3 * r['warpage']:>8.2f}")
        rows = {"3d": r["bumps"]}
        if not args.no_2d:
            for model in ("axisymmetric", "plane_strain"):
                rows[model] = run(path, {"model": model, "cell": None}, 1.0)["bumps"]
        for model, bumps in rows.items():
            cells = "  ".join(f"{b['dnp']:.2f}:{b['mean_shear']:+.2f}/"
                              f"{100 * (b['delta_shear_strain'] or 0):.3f}%" for b in bumps)
            print(f"    {model:<13} DNP mm: mean shear MPa / shear-strain range  {cells}")


if __name__ == "__main__":
    main()
