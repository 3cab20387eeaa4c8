"""2D section models against the 3D cell, with and without the equivalent-width weighting.

The seed 000 variants (``wlcsp.compare.variants`` of ``studies/seed000_elastomer.toml``: bare,
underfill U, elastomer E, both E+U) in the three 2D models (axisymmetric, plane strain PS,
generalized plane strain GPS; the design's diagonal slice) and in the 3D strip cell
(``studies/seed000_elastomer_3d.toml``), each by the elastic estimate (cold and hot extremes of
JEDEC G, ``wlcsp.analysis.solve_elastic`` and ``bump_ranges``): the critical joint (largest
shear-strain range Δγ), its DNP, Δγ and equivalent-strain range Δε_eq, the ratio to 3D, the gain
over ``bare`` in the same model (critical Δγ of bare / of the variant) and the ranking of the four
variants (smallest critical range first).

``weight on``: every bump-level region (joints, pads, lands, underfill) has its Young's modulus
times its equivalent-width weight f (:func:`wlcsp.section_weight.section_weights`): the real
array's volume of that material in the part of the package the region stands for over the
region's volume in the model. Scaling E by f multiplies the region's stiffness and thermal stress
by f together, exactly the weighted section, so the strains below are the weighted section's
(stresses would be f times the physical ones; none is reported). Seed 000 diagonal section
(row step Δs = 0.692 mm, 0.5 mm square pitch): f = 0.652 for the solder, 0.544 for pads and
lands, 1.263 for the underfill (the section holds 1.53 times the real solder, 1.84 times the pad
and land metal, 0.79 times the underfill).

Measured (2 shared cores, 3D runs 45-125 s each; PARDISO; default meshes of the study files):

    model   weight variant DNP mm    Δγ %  Δε_eq %  Δγ/3D  Δε/3D  gain
    3D      -      bare      4.37  0.1375   0.1077   1.00   1.00  1.00
    3D      -      U         4.37  0.0813   0.1851   1.00   1.00  1.69
    3D      -      E         4.37  0.0256   0.0362   1.00   1.00  5.37
    3D      -      E+U       3.95  0.0092   0.0775   1.00   1.00 14.92
    axisym  off    bare      4.37  0.1019   0.2304   0.74   2.14  1.00
    axisym  off    U         4.37  0.0577   0.2419   0.71   1.31  1.77
    axisym  off    E         4.37  0.0213   0.1442   0.83   3.98  4.80
    axisym  off    E+U       3.68  0.0133   0.1510   1.44   1.95  7.68
    axisym  on     bare      4.37  0.1469   0.2460   1.07   2.28  1.00
    axisym  on     U         4.37  0.0749   0.2875   0.92   1.55  1.96
    axisym  on     E         4.37  0.0342   0.1536   1.33   4.24  4.30
    axisym  on     E+U       3.68  0.0199   0.1753   2.16   2.26  7.39
    PS      off    bare      4.37  0.0820   0.3433   0.60   3.19  1.00
    PS      off    U         4.37  0.0476   0.3627   0.58   1.96  1.72
    PS      off    E         4.37  0.0256   0.3387   1.00   9.35  3.20
    PS      off    E+U       3.68  0.0124   0.3442   1.34   4.44  6.62
    PS      on     bare      4.37  0.1200   0.3489   0.87   3.24  1.00
    PS      on     U         4.37  0.0625   0.3940   0.77   2.13  1.92
    PS      on     E         4.37  0.0388   0.3393   1.51   9.36  3.10
    PS      on     E+U       3.68  0.0175   0.3558   1.90   4.59  6.86
    GPS     off    bare      4.37  0.0837   0.2808   0.61   2.61  1.00
    GPS     off    U         4.37  0.0486   0.2989   0.60   1.61  1.72
    GPS     off    E         4.37  0.0262   0.2741   1.02   7.57  3.20
    GPS     off    E+U       3.68  0.0127   0.2754   1.38   3.55  6.59
    GPS     on     bare      4.37  0.1225   0.2907   0.89   2.70  1.00
    GPS     on     U         4.37  0.0637   0.3373   0.78   1.82  1.92
    GPS     on     E         4.37  0.0396   0.2776   1.55   7.66  3.09
    GPS     on     E+U       3.68  0.0180   0.2910   1.95   3.76  6.82

    ranking (smallest critical range first)
    3D      -      Δγ: E+U < E < U < bare
                   Δε: E < E+U < bare < U
    axisym  off    Δγ: E+U < E < U < bare  same
                   Δε: E < E+U < bare < U  same
    axisym  on     Δγ: E+U < E < U < bare  same
                   Δε: E < E+U < bare < U  same
    PS      off    Δγ: E+U < E < U < bare  same
                   Δε: E < bare < E+U < U  differs
    PS      on     Δγ: E+U < E < U < bare  same
                   Δε: E < bare < E+U < U  differs
    GPS     off    Δγ: E+U < E < U < bare  same
                   Δε: E < E+U < bare < U  same
    GPS     on     Δγ: E+U < E < U < bare  same
                   Δε: E < bare < E+U < U  differs

    weighting on vs off, distance |log(2D/3D)|
    axisym  bare    Δγ closer   Δε_eq farther
    axisym  U       Δγ closer   Δε_eq farther
    axisym  E       Δγ farther  Δε_eq farther
    axisym  E+U     Δγ farther  Δε_eq farther
    PS      bare    Δγ closer   Δε_eq farther
    PS      U       Δγ closer   Δε_eq farther
    PS      E       Δγ farther  Δε_eq farther
    PS      E+U     Δγ farther  Δε_eq farther
    GPS     bare    Δγ closer   Δε_eq farther
    GPS     U       Δγ closer   Δε_eq farther
    GPS     E       Δγ farther  Δε_eq farther
    GPS     E+U     Δγ farther  Δε_eq farther

    over the four variants: mean |log(2D/3D)| and spread max/min of 2D/3D
    model   weight  Δγ: mean|log|  spread  Δε: mean|log|  spread
    axisym  off              0.30    2.03           0.77    3.05
    axisym  on               0.30    2.34           0.88    2.73
    PS      off              0.34    2.30           1.39    4.77
    PS      on               0.36    2.47           1.42    4.40
    GPS     off              0.34    2.31           1.18    4.68
    GPS     on               0.37    2.49           1.24    4.20

Reading: the weighting moves the critical Δγ of the bare and underfill variants towards 3D in
every 2D model (axisymmetric 0.74 -> 1.07 and 0.71 -> 0.92) and the elastomer variants away from
it (axisymmetric E 0.83 -> 1.33, E+U 1.44 -> 2.16; plane strain E 1.00 -> 1.51); Δε_eq, whose
error is the ring's hoop / the wall's out-of-plane strain, moves away from 3D in every case. Over
the four variants neither the mean error nor the spread of the 2D/3D ratio improves, so the
weighting is not offered as a design option (``docs/2d_vs_3d.md``). Every 2D model, weighted or
not, ranks the four variants as 3D does by critical Δγ but understates the gains (E+U: 15x in 3D,
6.6-7.7x in 2D); by Δε_eq the axisymmetric model keeps the 3D order, plane strain (and weighted
GPS) swap bare and E+U. The critical joint is the corner one (DNP 4.37 mm) everywhere but E+U,
where it is the next joint inward in every model (3.95 mm on the 3D outer row, 3.68 mm on the 2D
diagonal).

Every case is cached in ``benchmarks/section_weighting.json`` under a hash of its design input,
so a rerun only prints; ``--rerun`` recomputes all, ``--only 3d|2d`` runs one part.

    python benchmarks/section_weighting.py [--rerun] [--only 3d|2d]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from wlcsp.analysis import bump_ranges, solve_elastic
from wlcsp.compare import LABELS, variants
from wlcsp.design import load_design
from wlcsp.mesh import build_mesh
from wlcsp.scatter import scaled_material
from wlcsp.section_weight import section_weights

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).with_suffix(".json")
SEED_2D = ROOT / "studies" / "seed000_elastomer.toml"
SEED_3D = ROOT / "studies" / "seed000_elastomer_3d.toml"
MODELS_2D = ("axisymmetric", "plane_strain", "generalized_plane_strain")
SHORT = {"3d": "3D", "axisymmetric": "axisym", "plane_strain": "PS",
         "generalized_plane_strain": "GPS", "bare": "bare", "underfill": "U", "elastomer": "E",
         "elastomer_underfill": "E+U"}
"""Short names of the models and variants in the printed table."""


def _key(raw: dict[str, Any]) -> str:
    """Hash of a normalized design dict: a cached case is reused only for the same input."""
    text = json.dumps(raw, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def elastic_case(raw: dict[str, Any], weighting: bool = False) -> dict[str, Any]:
    """Elastic estimate of one design: per-bump DNP, Δγ and Δε_eq, and the critical joint.

    ``weighting``: every bump-level region's Young's modulus times its equivalent-width weight
    (:func:`wlcsp.section_weight.section_weights`); exact for the strains of an elastic solve.
    """
    design = load_design(raw)
    start = time.perf_counter()
    pm = build_mesh(design)
    if weighting:
        f = section_weights(design, pm.regions)
        pm = dataclasses.replace(pm, materials={
            r: scaled_material(m, modulus=f.get(r, 1.0)) for r, m in pm.materials.items()})
    el = solve_elastic(design, pm)
    ranges = bump_ranges(design, el.cold, el.hot)
    dg = [r["delta_shear_strain"] for r in ranges]
    return {"dnp": list(design.dnp), "delta_shear_strain": dg,
            "delta_equivalent_strain": [r["delta_equivalent_strain"] for r in ranges],
            "critical_bump": int(np.argmax(dg)), "dofs": int(el.model.kin.ndofs),
            "seconds": time.perf_counter() - start}


def cached(cache: dict[str, Any], label: str, raw: dict[str, Any], rerun: bool,
           weighting: bool = False) -> dict[str, Any]:
    """The case ``label`` from ``cache`` when its input hash matches, else run and store it."""
    key = _key({**raw, "_weighting": weighting})
    hit = cache.get(label)
    if rerun or hit is None or hit.get("key") != key:
        print(f"  running {label} ...", flush=True)
        hit = {"key": key, **elastic_case(raw, weighting)}
        cache[label] = hit
        CACHE.write_text(json.dumps(cache, indent=1), encoding="utf-8")
    return hit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rerun", action="store_true", help="ignore the cached cases")
    ap.add_argument("--only", choices=("3d", "2d"), default=None)
    args = ap.parse_args()
    cache = json.loads(CACHE.read_text(encoding="utf-8")) if CACHE.is_file() else {}
    if args.only in (None, "3d"):
        for label, raw in variants(load_design(SEED_3D)).items():
            cached(cache, f"3d/{label}", raw, args.rerun)
    if args.only in (None, "2d"):
        seed = variants(load_design(SEED_2D))
        for model in MODELS_2D:
            for weighting in (False, True):
                for label, raw in seed.items():
                    cached(cache, _label(model, weighting, label), {**raw, "model": model},
                           args.rerun, weighting)
    if args.only is None:
        f = section_weights(load_design(variants(load_design(SEED_2D))["underfill"]))
        print("equivalent-width weights f of the seed 000 diagonal section: solder "
              f"{f['bump_0']:.3f}, pads {f['pad_0']:.3f}, lands {f['land_0_0']:.3f}, underfill "
              f"{f['underfill']:.3f}\n")
        print(table(cache))


def _label(model: str, weighting: bool, variant: str) -> str:
    return f"{model}/{'on' if weighting else 'off'}/{variant}"


def critical(case: dict[str, Any]) -> tuple[float, float, float]:
    """(DNP mm, Δγ, Δε_eq) of the critical joint of a cached case."""
    i = case["critical_bump"]
    return case["dnp"][i], case["delta_shear_strain"][i], case["delta_equivalent_strain"][i]


def ranking(cases: dict[str, dict[str, Any]], column: int) -> tuple[str, ...]:
    """Variants ordered from the smallest critical range to the largest (1: Δγ, 2: Δε_eq)."""
    return tuple(sorted(cases, key=lambda v: critical(cases[v])[column]))


def _gain(cases: dict[str, dict[str, Any]], variant: str) -> float:
    """Critical Δγ of ``bare`` over that of ``variant`` in the same model."""
    return critical(cases["bare"])[1] / critical(cases[variant])[1]


def _order(cases: dict[str, dict[str, Any]], column: int) -> str:
    return " < ".join(SHORT[v] for v in ranking(cases, column))


def table(cache: dict[str, Any]) -> str:
    """The comparison table: every 2D case beside the 3D one of its variant, then the rankings."""
    ref = {v: cache[f"3d/{v}"] for v in LABELS}
    lines = [f"{'model':<7} {'weight':<6} {'variant':<7} {'DNP mm':>6} {'Δγ %':>7} "
             f"{'Δε_eq %':>8} {'Δγ/3D':>6} {'Δε/3D':>6} {'gain':>5}"]
    for v in LABELS:
        dnp, dg, de = critical(ref[v])
        lines.append(f"{'3D':<7} {'-':<6} {SHORT[v]:<7} {dnp:>6.2f} {100 * dg:>7.4f} "
                     f"{100 * de:>8.4f} {1:>6.2f} {1:>6.2f} {_gain(ref, v):>5.2f}")
    rank_lines = [f"{'3D':<7} {'-':<6} Δγ: {_order(ref, 1)}",
                  f"{'':<7} {'':<6} Δε: {_order(ref, 2)}"]
    closer = []
    for model in MODELS_2D:
        for weighting in (False, True):
            cases = {v: cache[_label(model, weighting, v)] for v in LABELS}
            for v, case in cases.items():
                dnp, dg, de = critical(case)
                _, dg3, de3 = critical(ref[v])
                lines.append(f"{SHORT[model]:<7} {'on' if weighting else 'off':<6} {SHORT[v]:<7} "
                             f"{dnp:>6.2f} {100 * dg:>7.4f} {100 * de:>8.4f} {dg / dg3:>6.2f} "
                             f"{de / de3:>6.2f} {_gain(cases, v):>5.2f}")
            same = [ranking(cases, c) == ranking(ref, c) for c in (1, 2)]
            rank_lines += [f"{SHORT[model]:<7} {'on' if weighting else 'off':<6} Δγ: "
                           f"{_order(cases, 1)}  {'same' if same[0] else 'differs'}",
                           f"{'':<7} {'':<6} Δε: {_order(cases, 2)}  "
                           f"{'same' if same[1] else 'differs'}"]
        for v in LABELS:
            off, on = (critical(cache[_label(model, w, v)]) for w in (False, True))
            r3 = critical(ref[v])
            marks = ["closer" if abs(math.log(on[c] / r3[c])) < abs(math.log(off[c] / r3[c]))
                     else "farther" for c in (1, 2)]
            closer.append(f"{SHORT[model]:<7} {SHORT[v]:<7} Δγ {marks[0]:<8} Δε_eq {marks[1]}")
    scores = [f"{'model':<7} {'weight':<6} {'Δγ: mean|log|':>14} {'spread':>7} "
              f"{'Δε: mean|log|':>14} {'spread':>7}"]
    for model in MODELS_2D:
        for weighting in (False, True):
            cells = []
            for c in (1, 2):
                ratios = np.array([critical(cache[_label(model, weighting, v)])[c]
                                   / critical(ref[v])[c] for v in LABELS])
                cells += [np.mean(np.abs(np.log(ratios))), ratios.max() / ratios.min()]
            scores.append(f"{SHORT[model]:<7} {'on' if weighting else 'off':<6} {cells[0]:>14.2f} "
                          f"{cells[1]:>7.2f} {cells[2]:>14.2f} {cells[3]:>7.2f}")
    return "\n".join([*lines, "", "ranking (smallest critical range first)", *rank_lines, "",
                      "weighting on vs off, distance |log(2D/3D)|", *closer, "",
                      "over the four variants: mean |log(2D/3D)| and spread max/min of 2D/3D",
                      *scores])


if __name__ == "__main__":
    main()
