"""The result store of a sweep: one Parquet file per case under ``DIR/cases``, written atomically.

``DIR/cases/<hash>.parquet`` holds one finished case, ``DIR/cases/<hash>.failed.parquet`` one
failed case (its error and traceback). A row has the case parameters, the bookkeeping columns
(names starting with ``_``: ``_hash``, ``_status``, ``_error``, ``_seconds``, ``_worker``) and
``_result``, the whole result dict as JSON, so the tabulated outputs can change without
recomputing. Each file is written to a temporary name in the same folder and renamed with
:func:`os.replace`, which is atomic on POSIX and Windows: a reader (or a rerun after the writer was
killed) sees a whole file or none. A lock file (``DIR/.lock``, :func:`fcntl.flock`, released by the
kernel when the process dies, even by SIGKILL) keeps two sweeps from writing one folder at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ..errors import DesignError

CASES = "cases"
DONE, FAILED = "done", "failed"
_TMP = ".tmp"


def case_file(out: Path, case_hash: str, status: str = DONE) -> Path:
    """Path of a case's result file for ``status`` ``done`` or ``failed``."""
    suffix = ".parquet" if status == DONE else ".failed.parquet"
    return out / CASES / f"{case_hash}{suffix}"


@contextlib.contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it to ``path`` (atomic)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}{_TMP}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_case(out: Path, row: Mapping[str, Any]) -> None:
    """Store one case's row; a success replaces an earlier failure of the same case."""
    with atomic(case_file(out, row["_hash"], row["_status"])) as tmp:
        pd.DataFrame([dict(row)]).to_parquet(tmp, index=False)
    if row["_status"] == DONE:
        case_file(out, row["_hash"], FAILED).unlink(missing_ok=True)


def read_case(path: Path) -> dict[str, Any] | None:
    """The row stored in ``path``, or None when it is missing or unreadable."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, pa.ArrowException):
        return None
    if len(frame) != 1:
        return None
    return frame.iloc[0].to_dict()


def finished(out: Path, hashes: set[str], retry_failed: bool) -> dict[str, dict[str, Any]]:
    """Stored rows of the cases in ``hashes`` (failures too unless ``retry_failed``)."""
    rows: dict[str, dict[str, Any]] = {}
    for h in hashes:
        for status in (DONE,) if retry_failed else (DONE, FAILED):
            row = read_case(case_file(out, h, status))
            if row is not None:
                rows[h] = row
                break
    return rows


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` for the duration; stale temporary files are removed on entry."""
    (out / CASES).mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DesignError("out", str(out), "another sweep is writing to this folder") from None
        for stale in (*out.glob(f".*{_TMP}"), *(out / CASES).glob(f".*{_TMP}")):
            stale.unlink(missing_ok=True)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
