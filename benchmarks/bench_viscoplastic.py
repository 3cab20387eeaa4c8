"""Speed of the viscoplastic material-point update (wlcsp.fem.viscoplastic.update).

Times one backward-Euler step of N solder points (SAC305, Anand and Garofalo) at 25 °C, 10 s,
random strains of order 2e-3 (strongly inelastic), from a cold start and with ``dp_guess`` from
a nearby solution (as in a global Newton iteration, strains perturbed by 0.1 %). Prints medians
of 7 repeats in ms and µs per point.

    python benchmarks/bench_viscoplastic.py [N ...]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from wlcsp.fem import viscoplastic as vp
from wlcsp.materials import LIBRARY


def _median_time(*args, repeats: int = 7, **kwargs) -> float:
    """Median wall time (s) of ``vp.update(*args, **kwargs)``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        vp.update(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(sizes: list[int]) -> None:
    sac = LIBRARY["sac305"]
    rng = np.random.default_rng(0)
    print(f"{'law':<9}{'points':>9}{'cold ms':>10}{'warm ms':>10}{'cold µs/pt':>12}"
          f"{'warm µs/pt':>12}")
    for name in vp.LAWS:
        law = vp.solder_law(sac, name)
        for n in sizes:
            state = vp.initial_state(law, n)
            strain = rng.normal(0.0, 2e-3, (n, 4))
            first = vp.update(sac, law, state, strain, 25.0, 25.0, 10.0)
            near = strain * (1.0 + 1e-3 * rng.normal(size=(n, 4)))
            guess = first.state.p - state.p
            cold = _median_time(sac, law, state, near, 25.0, 25.0, 10.0)
            warm = _median_time(sac, law, state, near, 25.0, 25.0, 10.0, dp_guess=guess)
            print(f"{name:<9}{n:>9}{cold * 1e3:>10.1f}{warm * 1e3:>10.1f}"
                  f"{cold / n * 1e6:>12.2f}{warm / n * 1e6:>12.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000, 100000])
