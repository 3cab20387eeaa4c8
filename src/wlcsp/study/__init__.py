"""Parameter studies: study files, resumable sweeps on dask.distributed, result tables.

:func:`load_study` and the study classes need only the core dependencies; :func:`run_study`
(pandas, pyarrow, dask.distributed) needs the ``[dist]`` extra and is imported on first use.
"""

from __future__ import annotations

from typing import Any

from .command import sweep_command
from .spec import Axis, Case, Study, load_study

__all__ = ["Axis", "Case", "Study", "load_study", "run_study", "sweep_command"]


def __getattr__(name: str) -> Any:
    if name == "run_study":
        from .runner import run_study

        return run_study
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
