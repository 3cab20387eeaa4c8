"""Sweeps on dask.distributed for real: a scheduler and two workers on loopback, a local cluster.

The cluster paths must give the same table as the serial loop; a worker process that dies in a
case is recorded as that case's failure while the other cases finish.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

pd = pytest.importorskip("pandas")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402

from wlcsp.errors import DesignError  # noqa: E402
from wlcsp.study import run_study, runner, store  # noqa: E402
from wlcsp.study.analyses import geometry  # noqa: E402
from wlcsp.study.runner import BLAS_ENV  # noqa: E402

from conftest import STUDIES  # noqa: E402

STARTUP_TIMEOUT = 60
"""Seconds allowed for the scheduler and workers to come up."""
DYING = 0.5
"""Seconds a case lives before it kills its worker process."""
TIMING = ("_seconds", "_worker")
"""Bookkeeping columns that legitimately differ between two runs of the same cases."""

STUDY = {
    "name": "dask", "base": str(STUDIES / "seed000_elastomer.toml"),
    "outputs": ["joint_height", "standoff", "n_bumps", "dnp_shear_strain"],
    "sweep": {"axes": [
        {"key": "bumps.ball_diameter", "values": [0.25, 0.28, 0.30]},
        {"key": "bumps.pitch", "values": [0.45, 0.5, 0.55]},
        {"key": "underfill", "values": [False, True]}]},
}


def threads(design):
    """Geometry plus the BLAS/OpenMP thread settings of the process that ran the case."""
    return {**geometry(design), "threads": {k: os.environ.get(k) for k in BLAS_ENV}}


def dies(design):
    """Geometry, except that the worker process dies (os._exit) on balls of 0.30 mm.

    It dies after :data:`DYING` s, by when the client has collected the other cases' results
    (a result still held by the dying worker would be lost with it and computed again).
    """
    if design["bumps"]["ball_diameter"] >= 0.30:
        time.sleep(DYING)
        os._exit(3)
    return geometry(design)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes (no nanny) on 127.0.0.1."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    log = tmp_path_factory.mktemp("dask") / "log.txt"
    dask_cli = [sys.executable, "-m", "dask"]
    procs = []
    with open(log, "w") as out:
        try:
            procs.append(subprocess.Popen([*dask_cli, "scheduler", "--host", "127.0.0.1",
                                           "--port", address.rsplit(":", 1)[1],
                                           "--no-dashboard"], stdout=out, stderr=out))
            for i in range(2):
                procs.append(subprocess.Popen([*dask_cli, "worker", address, "--nthreads", "1",
                                               "--no-nanny", "--no-dashboard", "--name",
                                               f"w{i}"], stdout=out, stderr=out))
            with distributed.Client(address, timeout=STARTUP_TIMEOUT) as client:
                client.wait_for_workers(2, timeout=STARTUP_TIMEOUT)
            yield address, {p.pid for p in procs[1:]}
        finally:
            for p in reversed(procs):  # workers first, then the scheduler
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return run_study(STUDY, tmp_path_factory.mktemp("serial"), workers=0, figures=False,
                     progress=None)


def _pids(frame) -> set[int]:
    return {int(w.rsplit(":", 1)[1]) for w in frame["_worker"]}


def test_scheduler_gives_the_serial_table(scheduler, serial, tmp_path):
    address, worker_pids = scheduler
    frame = run_study(STUDY, tmp_path, scheduler=address, figures=False, progress=None)
    pd.testing.assert_frame_equal(frame.drop(columns=list(TIMING)),
                                  serial.drop(columns=list(TIMING)))
    assert _pids(frame) <= worker_pids
    assert len(_pids(frame)) == 2
    assert len(list((tmp_path / "cases").glob("*.parquet"))) == len(serial)


def test_local_cluster_gives_the_serial_table_with_one_blas_thread(serial, tmp_path):
    frame = run_study(STUDY, tmp_path, workers=2, case_function=threads, figures=False,
                      progress=None)
    different = [*TIMING, "_hash"]  # the case function's name enters the hash
    pd.testing.assert_frame_equal(frame.drop(columns=different), serial.drop(columns=different))
    assert os.getpid() not in _pids(frame)
    assert len(_pids(frame)) == 2
    for h in frame["_hash"]:
        result = json.loads(store.read_case(store.case_file(tmp_path, h))["_result"])
        assert result["threads"] == BLAS_ENV


def test_dead_worker_is_a_failed_case(tmp_path):
    study = {**STUDY, "sweep": {"axes": [STUDY["sweep"]["axes"][0]]}}
    start = time.monotonic()
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        frame = run_study(study, tmp_path, workers=2, case_function=dies, figures=False,
                          progress=None)
    assert list(frame["_status"]) == ["done", "done", "failed"], frame["_error"].tolist()
    assert frame["_error"].iloc[2].startswith("KilledWorker")
    assert time.monotonic() - start < STARTUP_TIMEOUT


def test_unreachable_scheduler_is_bad_input(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "CONNECT_TIMEOUT", 2)
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(DesignError, match=r"^scheduler = 'tcp://127.0.0.1:\d+': cannot connect"):
        run_study(STUDY, tmp_path, scheduler=address, figures=False, progress=None)
