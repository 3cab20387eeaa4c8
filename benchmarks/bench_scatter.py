"""Cost of the life-scatter Monte Carlo (wlcsp.scatter.monte_carlo) per kind of input.

Runs ``samples`` samples of one design (default: studies/seed000_elastomer.toml, full mesh,
152 683 unknowns) three times: CTEs only (substitutions on the nominal factors), CTEs and moduli
(CG on the nominal factors, :class:`wlcsp.scatter._Extreme`), and one geometry input (one remesh
and solve). Prints the nominal mesh-and-solve time, the time per sample and per geometry input
from ``result["seconds"]``, and for the sample loop where the time goes: the split of the
stiffness into material parts (once), the CG solves (with their iterations per solve), and the
rest (load assembly, strains and stresses, bump ranges, lives).

    python benchmarks/bench_scatter.py [DESIGN.toml] [samples]

Measured on the 2-core development machine, shared with other jobs: before at a load of 0.3,
after at 5.3-6.1 (the process got 66 % of a core), so the "after" figures are pessimistic; a
SuperLU substitution of the seed matrix took 0.043 s at load 0.3 and 0.13 s at load 5.5.

Before, a modulus sample refactorized the stiffness at both extremes: 7.5 s per sample, of it
5.7 s in 2 SuperLU factorizations (load 0.3); 200 default samples did not finish in 500 s
(~25 min extrapolated). After, ``wlcsp compare studies/seed000_elastomer.toml --monte-carlo 200``
(default tolerances: 7 CTEs, 7 moduli, 5 geometry inputs) took 3 min 56 s wall, 1.15 GB peak:
about 55 s for the four compared variants, then the Monte Carlo (``scatter.json`` seconds):

==============================  ==========================  ==================================
phase                           before (load 0.3)           after (load 5.4)
==============================  ==========================  ==================================
nominal mesh and solve          6.5 s                       7.6 s (the hot extreme, 125 °C =
                                                            stress-free, is unloaded and no
                                                            longer factorized)
geometry, 5 remeshes + solves   ~35 s                       32.9 s (same reason)
samples, 200                    ~1500 s (7.5 s each)        149 s (0.75 s each)
==============================  ==========================  ==================================

Where a modulus sample's time goes, this script with 10 samples (load 5.5-6.1): 1.33 s per
sample = the stiffness split into 7 material parts (3.1 s once, 0.31 s per sample over 10),
CG 0.72 s (iterations per solve 9, 7, 7, 7, 7, 8, 6, 7, 5, 6: one substitution each plus one;
the reduced basis brings them to ~5 by the 30th sample), bump ranges 0.08 s, load assembly,
strains, stresses and lives ~0.2 s; the hot extreme costs nothing. A CTE-only sample: 0.30 s
(one substitution). The 2-minute target for 200 samples was not reached on the loaded machine
(Monte Carlo 190 s); the CG substitutions are the largest part.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict

from wlcsp import scatter
from wlcsp.design import load_design
from wlcsp.fem import linsolve
from wlcsp.fem.thermoelastic import ThermoelasticModel
from wlcsp.scatter import monte_carlo

OFF = {"cte": 0.0, "modulus": 0.0, "thickness": 0.0, "die_thickness": 0.0,
       "substrate_thickness": 0.0, "ball_diameter": 0.0}


def _instrument(spent: dict[str, float], iterations: list[list[int]]) -> None:
    """Make the stiffness split, the solves and the bump ranges add their wall time to ``spent``.

    ``spent["split"]``: :meth:`ThermoelasticModel.reduced_stiffness` with weights (the material
    parts); ``spent["cg"]`` and ``spent["direct"]``: :meth:`Factorization.solve` by backend
    (``pcg`` or the nominal factors); ``spent["ranges"]``: the bump ranges. The CG iterations of
    each solver go to ``iterations``.
    """
    stiffness = ThermoelasticModel.reduced_stiffness
    solve = linsolve.Factorization.solve
    ranges = scatter._ranges
    cg = linsolve.preconditioned_cg

    def split(self, T, weights=None):
        start = time.perf_counter()
        out = stiffness(self, T, weights)
        if weights is not None:
            spent["split"] += time.perf_counter() - start
        return out

    def solved(self, b):
        start = time.perf_counter()
        out = solve(self, b)
        spent["cg" if self.backend == "pcg" else "direct"] += time.perf_counter() - start
        return out

    def ranged(*args):
        start = time.perf_counter()
        out = ranges(*args)
        spent["ranges"] += time.perf_counter() - start
        return out

    def counted(*args, **kwargs):
        fac = cg(*args, **kwargs)
        iterations.append(fac.iterations)
        return fac

    ThermoelasticModel.reduced_stiffness = split
    linsolve.Factorization.solve = solved
    scatter._ranges = ranged
    scatter.preconditioned_cg = counted


def main(path: str = "studies/seed000_elastomer.toml", samples: int = 4) -> None:
    design = load_design(path)
    cases = {
        "CTEs only": {**OFF, "cte": 0.03},
        "CTEs and moduli": {**OFF, "cte": 0.03, "modulus": 0.1},
        "one geometry input": {**OFF, "substrate_thickness": 0.04},
    }
    spent: dict[str, float] = defaultdict(float)
    iterations: list[list[int]] = []
    _instrument(spent, iterations)
    print(f"{design.name}, {samples} samples per case")
    for label, table in cases.items():
        spent.clear()
        iterations.clear()
        raw = dict(design.raw) | {"scatter": table}
        s = monte_carlo(raw, samples, figures=False)["seconds"]
        print(f"{label:<20} nominal {s['nominal']:6.2f} s   per sample "
              f"{s['samples'] / samples:6.2f} s   geometry {s['geometry']:6.2f} s")
        if iterations:
            its = [n for solves in iterations for n in solves]
            print(f"{'':<20} totals: stiffness split {spent['split']:.2f} s (once), CG solves "
                  f"{spent['cg']:.2f} s (iterations per solve {its}), direct solves (all "
                  f"phases) {spent['direct']:.2f} s, bump ranges {spent['ranges']:.2f} s")

if __name__ == "__main__":
    main(*sys.argv[1:2], *(int(a) for a in sys.argv[2:3]))
