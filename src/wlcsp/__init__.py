"""wlcsp: finite-element thermomechanical reliability analysis of wafer-level CSPs.

The public API (DESIGN.md): :func:`load_design` (TOML -> validated Design), :func:`build_mesh`
(Design -> tagged scikit-fem mesh), :func:`analyze` (one design through solve, post-processing and
life; the ``summary.json`` dict), :func:`compare` (the design against its variants with and
without elastomer and underfill), :func:`cycle_life` (fatigue models for one bump) and
:func:`run_study` (parameter sweeps; needs the ``[dist]`` extra).
"""

from __future__ import annotations

from typing import Any

from .analysis import analyze
from .compare import compare
from .design import load_design
from .life import cycle_life
from .mesh import build_mesh

__version__ = "0.1.0"
__all__ = ["analyze", "build_mesh", "compare", "cycle_life", "load_design", "run_study"]


def __getattr__(name: str) -> Any:
    """Import the sweep machinery (pandas, dask) only when it is asked for."""
    if name == "run_study":
        from .study import run_study

        return run_study
    raise AttributeError(f"module 'wlcsp' has no attribute {name!r}")
