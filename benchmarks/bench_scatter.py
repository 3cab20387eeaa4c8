"""Cost of the life-scatter Monte Carlo (wlcsp.scatter.monte_carlo) per kind of input.

Runs ``samples`` samples of one design (default: studies/seed000_elastomer.toml, full mesh)
three times: CTEs only (eigenstrains on the nominal factors), CTEs and moduli (one factorization
per extreme and sample), and one geometry input (one remesh and solve). Prints the nominal
mesh-and-solve time, the time per sample and per geometry input, from ``result["seconds"]``.

    python benchmarks/bench_scatter.py [DESIGN.toml] [samples]
"""

from __future__ import annotations

import sys

from wlcsp.design import load_design
from wlcsp.scatter import monte_carlo

OFF = {"cte": 0.0, "modulus": 0.0, "thickness": 0.0, "die_thickness": 0.0,
       "substrate_thickness": 0.0, "ball_diameter": 0.0}


def main(path: str = "studies/seed000_elastomer.toml", samples: int = 4) -> None:
    design = load_design(path)
    cases = {
        "CTEs only": {**OFF, "cte": 0.03},
        "CTEs and moduli": {**OFF, "cte": 0.03, "modulus": 0.1},
        "one geometry input": {**OFF, "substrate_thickness": 0.04},
    }
    print(f"{design.name}, {samples} samples per case")
    for label, table in cases.items():
        raw = dict(design.raw) | {"scatter": table}
        s = monte_carlo(raw, samples, figures=False)["seconds"]
        print(f"{label:<20} nominal {s['nominal']:6.2f} s   per sample "
              f"{s['samples'] / samples:6.2f} s   geometry {s['geometry']:6.2f} s")


if __name__ == "__main__":
    main(*sys.argv[1:2], *(int(a) for a in sys.argv[2:3]))
