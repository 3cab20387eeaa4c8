"""Run a study's cases (serially, on a local dask cluster or on a dask scheduler) into a table.

Every case runs :func:`execute_case` (on a dask worker or in this process), which never raises: a
failing case comes back as a row with ``_status = "failed"`` and its error. The client writes
each row to the store (:mod:`wlcsp.study.store`) the moment it arrives, so a killed sweep loses
only the cases in flight and a rerun skips what is stored. Designs with equal hashes run once.

Local clusters start one single-threaded worker process per core (or ``workers``) with the BLAS
thread pools pinned to one thread (:data:`BLAS_ENV`): the cases are the parallelism, and
oversubscribed BLAS threads only slow the sparse solves down (shared/reference/skfem_notes.md).
Their scheduler hands a worker one case at a time (``worker-saturation`` 1.0, dask's task
queuing), so a long case never waits behind another on a busy worker while a worker idles.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

try:
    import pandas as pd
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("sweeps need the [dist] extra: pip install 'wlcsp[dist]'") from exc

from ..errors import DesignError
from ..progress import bar as progress_bar
from . import store
from .analyses import ANALYSES, extract, to_json
from .figures import write_figures
from .spec import Axis, Case, Study, case_hash, column_value, load_study

BLAS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Environment of local-cluster workers: one BLAS/OpenMP thread per single-threaded worker."""

BOOKKEEPING = ("_case", "_hash", "_status", "_error", "_seconds", "_worker")
"""Bookkeeping columns of the results table (the others are parameters and outputs)."""

CONNECT_TIMEOUT = 30
"""Seconds to reach a scheduler before the address counts as bad input."""

Row = dict[str, Any]


def execute_case(fn: Callable[[Mapping[str, Any]], Mapping[str, Any]],
                 design: Mapping[str, Any]) -> Row:
    """Run ``fn`` on one case design; any exception becomes a failed row, never a raise."""
    start = time.perf_counter()
    row: Row = {"_status": store.DONE, "_error": "", "_traceback": "", "_result": ""}
    try:
        row["_result"] = to_json(fn(design))
    except Exception as exc:  # a failing case is recorded and the others go on
        row.update(_status=store.FAILED, _error=f"{type(exc).__name__}: {exc}",
                   _traceback=traceback.format_exc())
    row["_seconds"] = time.perf_counter() - start
    row["_worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return row


class _Progress:
    """Cases done and failed on ``stream`` (None: silent).

    A status line at the start and at the end (a log reads them) and between them a
    :func:`wlcsp.progress.bar` where progress shows.
    """

    def __init__(self, stream: TextIO | None, total: int, stored: Sequence[Row]) -> None:
        self.stream, self.total = stream, total
        self.failed = sum(r["_status"] == store.FAILED for r in stored)
        self.done = len(stored) - self.failed
        self.line()
        self.bar = progress_bar(total, "sweep", unit="case", initial=len(stored), file=stream,
                                show=stream is not None)

    def line(self) -> None:
        """Print ``sweep: N done, M failed, K remaining`` on the stream."""
        if self.stream is not None:
            left = self.total - self.done - self.failed
            print(f"sweep: {self.done} done, {self.failed} failed, {left} remaining",
                  file=self.stream, flush=True)

    def update(self, row: Row) -> None:
        self.failed += row["_status"] == store.FAILED
        self.done += row["_status"] == store.DONE
        self.bar.update()
        self.bar.set_postfix_str(f"{self.done} done, {self.failed} failed")

    def close(self) -> None:
        self.bar.close()
        self.line()


def _serial(fn: Callable, todo: Sequence[Case], record: Callable[[Case, Row], None]) -> None:
    for case in todo:
        record(case, execute_case(fn, case.design))


def _dask(client: Any, fn: Callable, todo: Sequence[Case],
          record: Callable[[Case, Row], None]) -> None:
    """Submit every case, record each row as it completes; lost workers become failed rows."""
    from distributed import as_completed

    futures = {client.submit(execute_case, fn, c.design, key=f"wlcsp-case-{c.hash}"): c
               for c in todo}
    for future in as_completed(futures):
        try:
            row = future.result()
        except Exception as exc:  # e.g. KilledWorker: record, go on
            row = {"_status": store.FAILED, "_error": f"{type(exc).__name__}: {exc}",
                   "_traceback": "", "_result": "", "_seconds": float("nan"), "_worker": ""}
        record(futures[future], row)
        future.release()


def _cluster_run(fn: Callable, todo: Sequence[Case], record: Callable[[Case, Row], None],
                 workers: int | None, scheduler: str | None) -> None:
    try:
        import dask
        from dask.system import CPU_COUNT
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError("parallel sweeps need the [dist] extra: pip install 'wlcsp[dist]' "
                          "(or run serially with workers=0)") from exc
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, ValueError, TypeError) as exc:
            raise DesignError("scheduler", scheduler, f"cannot connect: {exc}") from None
        with client:
            _dask(client, fn, todo, record)
        return
    n = min(workers or CPU_COUNT, len(todo))
    with (dask.config.set({"distributed.scheduler.worker-saturation": 1.0}),
          LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                       dashboard_address=":0", env=BLAS_ENV, silence_logs=logging.ERROR)
          as cluster, Client(cluster) as client):
        _dask(client, fn, todo, record)


def run_study(study: Study | str | Path | Mapping[str, Any], out_dir: str | Path, *,
              workers: int | None = None, scheduler: str | None = None,
              retry_failed: bool = False, figures: bool = True,
              case_function: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
              progress: TextIO | None = sys.stderr) -> pd.DataFrame:
    """Run every case of ``study`` not yet stored in ``out_dir``; return the full results table.

    Parameters
    ----------
    study
        A :class:`~wlcsp.study.spec.Study`, a study file path or its dict.
    out_dir
        Result folder: ``cases/<hash>.parquet`` per case, then ``results.parquet``,
        ``results.csv``, ``study.json`` and ``figures/*.png``.
    workers
        Worker processes of a local dask cluster (default: one per core, at most one per case);
        ``0`` runs the cases one after another in this process, without dask.
    scheduler
        Address of a running dask scheduler (``tcp://host:8786``) to use instead.
    retry_failed
        Run the cases stored as failed again (by default a rerun skips them too).
    figures
        Draw ``figures/<output>__vs__<parameter>.png`` (:mod:`wlcsp.study.figures`).
    case_function
        A module-level function (design dict -> result dict) to run instead of the study's
        ``analysis``, e.g. one's own post-processing of :func:`wlcsp.analyze`; its qualified name
        enters the case hashes instead of the analysis name. Dask workers must be able to
        import it.
    progress
        Stream for the progress bar (None: silent); it shows by the rule of
        :mod:`wlcsp.progress` (a terminal, or ``WLCSP_PROGRESS=1``).

    Returns
    -------
    pandas.DataFrame
        One row per case in study order: ``_case``, ``_hash``, ``_status``, the swept parameters
        (one column per axis), the outputs, ``_error``, ``_seconds``, ``_worker``.
    """
    if not isinstance(study, Study):
        study = load_study(study)
    fn = case_function or ANALYSES[study.analysis]
    if case_function is not None:
        label = f"{case_function.__module__}.{case_function.__qualname__}"
        study = replace(study, cases=tuple(replace(c, hash=case_hash(label, c.design))
                                           for c in study.cases))
    if workers is not None and scheduler is not None:
        raise DesignError("scheduler", scheduler, "give either workers or a scheduler, not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 0):
        raise DesignError("workers", workers, "an integer ≥ 0 (0: serially in this process)")
    out = Path(out_dir)
    unique: dict[str, Case] = {}
    for case in study.cases:
        unique.setdefault(case.hash, case)
    with store.locked(out):
        rows = store.finished(out, set(unique), retry_failed)
        _write_json(out / "study.json", _describe(study))
        todo = [c for h, c in unique.items() if h not in rows]
        bar = _Progress(progress, len(unique), list(rows.values()))

        def record(case: Case, row: Row) -> None:
            row = {"_hash": case.hash, **_params(study.axes, case), **row}
            store.write_case(out, row)
            rows[case.hash] = row
            bar.update(row)

        if todo and workers == 0:
            _serial(fn, todo, record)
        elif todo:
            _cluster_run(fn, todo, record, workers, scheduler)
        bar.close()
        _check_outputs(study, rows)
        frame = results_table(study, rows)
        with store.atomic(out / "results.parquet") as tmp:
            frame.to_parquet(tmp, index=False)
        with store.atomic(out / "results.csv") as tmp:
            frame.to_csv(tmp, index=False)
        if figures:
            write_figures(frame, study, out / "figures")
    return frame


def _params(axes: Sequence[Axis], case: Case) -> Row:
    return {ax.column: column_value(ax, case.params[ax.column]) for ax in axes}


def results_table(study: Study, rows: Mapping[str, Row]) -> pd.DataFrame:
    """The table of every case in study order, outputs extracted from the stored results."""
    records = []
    for case in study.cases:
        row = rows.get(case.hash, {"_status": "missing"})
        result = json.loads(row["_result"]) if row.get("_result") else None
        records.append({
            "_case": case.index, "_hash": case.hash, "_status": row["_status"],
            **_params(study.axes, case),
            **{o: extract(result, o) if result is not None else None for o in study.outputs},
            "_error": row.get("_error", ""), "_seconds": row.get("_seconds"),
            "_worker": row.get("_worker", "")})
    return pd.DataFrame.from_records(records)


def _check_outputs(study: Study, rows: Mapping[str, Row]) -> None:
    """Raise if an output is in none of the finished results (a typo in the study's outputs).

    The finished cases stay stored: a rerun with the outputs corrected reuses them.
    """
    results = [json.loads(r["_result"]) for r in rows.values() if r["_status"] == store.DONE]
    for i, out in enumerate(study.outputs):
        if results and all(extract(r, out) is None for r in results):
            raise DesignError(f"outputs[{i}]", out, f"in none of the {len(results)} finished "
                              f"results (kept in cases/; fix the study and rerun); top-level "
                              f"keys: {', '.join(results[0])}")


def _describe(study: Study) -> dict[str, Any]:
    """The study as JSON-able data (written to ``study.json`` for provenance)."""
    return {"name": study.name, "analysis": study.analysis, "mode": study.mode,
            "source": str(study.source) if study.source else None, "base": study.base,
            "axes": [{"key": a.key, "column": a.column, "values": list(a.values)}
                     for a in study.axes],
            "outputs": list(study.outputs),
            "cases": [{"index": c.index, "hash": c.hash, "params": dict(c.params)}
                      for c in study.cases]}


def _write_json(path: Path, data: Any) -> None:
    with store.atomic(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
