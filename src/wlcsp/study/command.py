"""``wlcsp sweep STUDY --out DIR [--workers N | --scheduler ADDRESS]`` as a function for the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import DesignError

FAILURES_SHOWN = 5
"""Failed cases listed by name at the end of a sweep (the table holds all of them)."""


def sweep_command(study_path: str | Path, out: str | Path, workers: int | None = None,
                  scheduler: str | None = None) -> int:
    """Run a study file; print a summary. Exit code: 0 all done, 1 some cases failed, 2 bad input.

    Bad input (the study, a design, the arguments, a missing ``[dist]`` extra) prints one line,
    ``wlcsp: error: <key> = <value>: <what is allowed>``, on stderr.
    """
    try:
        from .runner import run_study

        frame = run_study(study_path, out, workers=workers, scheduler=scheduler)
    except (DesignError, ImportError) as exc:
        print(f"wlcsp: error: {exc}", file=sys.stderr)
        return 2
    failed = frame[frame["_status"] == "failed"]
    print(f"{len(frame)} cases, {len(frame) - len(failed)} done, {len(failed)} failed: "
          f"{Path(out) / 'results.parquet'}, {Path(out) / 'results.csv'}, "
          f"{Path(out) / 'figures'}")
    for _, row in failed.head(FAILURES_SHOWN).iterrows():
        print(f"  case {row['_case']} ({row['_hash']}): {row['_error']}", file=sys.stderr)
    return 1 if len(failed) else 0
