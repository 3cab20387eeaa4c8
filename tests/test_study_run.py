"""Sweeps run for real with the geometry analysis (serial path; dask: test_study_dask.py).

Result store, rerun, failures, SIGKILL resume, figures and the ``wlcsp sweep`` function.
"""

from __future__ import annotations

import io
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from wlcsp.errors import AnalysisError, DesignError  # noqa: E402
from wlcsp.study import load_study, run_study, store, sweep_command  # noqa: E402
from wlcsp.study.analyses import geometry  # noqa: E402
from wlcsp.study.figures import curves  # noqa: E402

from conftest import ROOT, STUDIES  # noqa: E402

REL = 1e-12
"""Relative tolerance of closed-form identities evaluated in floating point."""
SEED = str(STUDIES / "seed000_elastomer.toml")
LAND = PAD = 0.25
"""Land and pad diameters of the seed design (mm), the caps of the spherical segment."""
KILL_AFTER = 40
"""Case files that must exist before the resumability test kills the sweep."""
TIMING = ("_seconds", "_worker")
"""Bookkeeping columns that legitimately differ between two runs of the same cases."""

SMALL = {
    "name": "small", "base": SEED,
    "outputs": ["joint_height", "standoff", "bumps[-1].dnp", "dnp_shear_strain"],
    "sweep": {"axes": [
        {"key": "bumps.ball_diameter", "values": [0.25, 0.28, 0.30], "name": "ball"},
        {"key": "underfill", "values": [False, True]},
        {"key": "layers.elastomer.thickness", "values": [0.0, 0.05], "name": "elastomer"}]},
}
LARGE = {
    # the bare base (no elastomer gap); a 10 x 16 array at 0.4-0.533 mm pitch fits the die
    "name": "large", "base": str(STUDIES / "seed000_bare.toml"),
    "outputs": ["joint_height", "n_bumps", "dnp_max"],
    "sweep": {"axes": [
        {"key": "bumps.ball_diameter", "values": [round(0.2 + 0.005 * i, 3) for i in range(20)]},
        {"key": "bumps.pitch", "values": [round(0.4 + 0.007 * i, 3) for i in range(20)]}]},
}


def _segment_volume(h: float) -> float:
    """V = πh(3a1² + 3a2² + h²)/6 of a spherical segment (CRC Math. Tables §4.6)."""
    a1, a2 = PAD / 2, LAND / 2
    return math.pi * h * (3 * a1**2 + 3 * a2**2 + h**2) / 6


def fragile(design):
    """Geometry, except that balls of 0.30 mm and more fail (to exercise failure recording)."""
    if design["bumps"]["ball_diameter"] >= 0.30:
        raise AnalysisError("did not converge (on purpose)")
    return geometry(design)


def test_serial_sweep(tmp_path):
    """Each row's outputs belong to its parameters.

    The joint height holds the ball volume πd³/6 of that row's ball diameter d (spherical
    segment, CRC Math. Tables §4.6); the outermost DNP is the corner site (7.5, 4.5)·pitch of
    the 10 × 16 array projected on the die diagonal (8.7, 5.7).
    """
    frame = run_study(SMALL, tmp_path, workers=0, progress=None)
    assert len(frame) == 12
    assert (frame["_status"] == "done").all()
    for _, row in frame.iterrows():
        assert _segment_volume(row["joint_height"]) == pytest.approx(
            math.pi * row["ball"] ** 3 / 6, rel=REL)
        assert row["bumps[-1].dnp"] == pytest.approx(
            (8.7 * 3.75 + 5.7 * 2.25) / math.hypot(8.7, 5.7), rel=REL)
    assert sorted(p.name for p in (tmp_path / "cases").iterdir()) == sorted(
        f"{h}.parquet" for h in frame["_hash"])
    on_disk = pd.read_parquet(tmp_path / "results.parquet")
    pd.testing.assert_frame_equal(on_disk, frame)
    csv = pd.read_csv(tmp_path / "results.csv")
    assert csv["joint_height"].to_numpy() == pytest.approx(frame["joint_height"].to_numpy(),
                                                           rel=REL)
    assert len(list((tmp_path / "figures").glob("*.png"))) == 4 * 3


def test_figure_lines_one_per_variant(tmp_path):
    """Figure data: one line per variant of the other axes, x ascending, y from the table.

    Joint height vs ball: one line per (underfill, elastomer) variant, three points each; vs
    underfill (a switch): x at positions 0 and 1.
    """
    study = load_study(SMALL)
    frame = run_study(study, tmp_path, workers=0, figures=False, progress=None)
    lines = curves(frame, study, "joint_height", study.axes[0])
    assert len(lines) == 4
    for label, x, y in lines:
        assert x == [0.25, 0.28, 0.30]
        expected = frame[frame["ball"].isin(x)].drop_duplicates("ball")["joint_height"]
        assert y == pytest.approx(sorted(expected), rel=REL)
        assert label.startswith("underfill=")
    switch = curves(frame, study, "standoff", study.axes[1])
    assert len(switch) == 6
    assert all(x == [0.0, 1.0] for _, x, _ in switch)


def test_rerun_skips_finished_cases(tmp_path):
    first = run_study(SMALL, tmp_path, workers=0, figures=False, progress=None)
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "cases").iterdir()}
    log = io.StringIO()
    second = run_study(SMALL, tmp_path, workers=0, figures=False, progress=log)
    assert log.getvalue().splitlines()[0] == "sweep: 12 done, 0 failed, 0 remaining"
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "cases").iterdir()} == stamps
    pd.testing.assert_frame_equal(first, second)


def test_failed_cases_are_recorded_and_the_others_go_on(tmp_path):
    frame = run_study(SMALL, tmp_path, workers=0, case_function=fragile, figures=False,
                      progress=None)
    failed = frame[frame["_status"] == "failed"]
    assert len(failed) == 4
    assert (failed["ball"] == 0.30).all()
    assert failed["_error"].str.startswith("AnalysisError: did not converge").all()
    assert failed["joint_height"].isna().all()
    assert (frame[frame["_status"] == "done"]["joint_height"] > 0).all()
    stored = store.read_case(store.case_file(tmp_path, failed["_hash"].iloc[0], "failed"))
    assert "raise AnalysisError" in stored["_traceback"]
    failed_files = sorted((tmp_path / "cases").glob("*.failed.parquet"))
    stamps = [p.stat().st_mtime_ns for p in failed_files]
    run_study(SMALL, tmp_path, workers=0, case_function=fragile, figures=False,
                      progress=None)
    assert [p.stat().st_mtime_ns for p in failed_files] == stamps
    time.sleep(0.01)
    run_study(SMALL, tmp_path, workers=0, case_function=fragile, retry_failed=True,
              figures=False, progress=None)
    assert all(p.stat().st_mtime_ns > s for p, s in zip(failed_files, stamps, strict=True))


def test_corrupt_or_foreign_files_are_recomputed(tmp_path):
    first = run_study(SMALL, tmp_path, workers=0, figures=False, progress=None)
    victim = store.case_file(tmp_path, first["_hash"].iloc[5])
    victim.write_bytes(b"PAR1 truncated")
    (tmp_path / "cases" / f".{victim.name}.999{store._TMP}").write_bytes(b"half")
    second = run_study(SMALL, tmp_path, workers=0, figures=False, progress=None)
    pd.testing.assert_frame_equal(first.drop(columns=list(TIMING)),
                                  second.drop(columns=list(TIMING)))
    assert store.read_case(victim)["_hash"] == first["_hash"].iloc[5]
    assert not list((tmp_path / "cases").glob(f".*{store._TMP}"))


def test_one_sweep_per_folder(tmp_path):
    with store.locked(tmp_path), pytest.raises(DesignError, match="another sweep"):
        run_study(SMALL, tmp_path, workers=0, figures=False, progress=None)


def test_resume_after_sigkill(tmp_path):
    """A sweep killed by SIGKILL part-way and rerun equals an uninterrupted run.

    Every case is present exactly once, every file reads, and the table equals the reference.
    """
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    script = ("import sys, json; from wlcsp.study import run_study; "
              "run_study(json.loads(sys.argv[1]), sys.argv[2], workers=0, figures=False, "
              "progress=None)")
    proc = subprocess.Popen([sys.executable, "-c", script, json.dumps(LARGE), str(killed)],
                            cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while len(list((killed / "cases").glob("*.parquet"))) < KILL_AFTER:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    partial = list((killed / "cases").glob("*.parquet"))
    assert KILL_AFTER <= len(partial) < 400
    assert all(store.read_case(p) is not None for p in partial)
    resumed = run_study(LARGE, killed, workers=0, figures=False, progress=None)
    reference = run_study(LARGE, clean, workers=0, figures=False, progress=None)
    files = sorted(p.name for p in (killed / "cases").iterdir())
    assert files == sorted(f"{h}.parquet" for h in reference["_hash"])
    assert resumed["_hash"].is_unique
    pd.testing.assert_frame_equal(resumed.drop(columns=list(TIMING)),
                                  reference.drop(columns=list(TIMING)))


def test_sweep_command_exit_codes(tmp_path, capsys):
    study = tmp_path / "s_sweep.toml"
    study.write_text(f'base = "{Path(SEED).as_posix()}"\noutputs = ["joint_height"]\n'
                     '[[sweep.axes]]\nkey = "bumps.ball_diameter"\nvalues = [0.25, 0.3]\n')
    assert sweep_command(study, tmp_path / "out", workers=0) == 0
    assert "2 cases, 2 done, 0 failed" in capsys.readouterr().out
    bad = tmp_path / "bad_sweep.toml"
    bad.write_text(study.read_text().replace("ball_diameter", "ball_diametre"))
    assert sweep_command(bad, tmp_path / "out2", workers=0) == 2
    err = capsys.readouterr().err
    assert err.startswith("wlcsp: error: sweep.axes[0].key = 'bumps.ball_diametre': unknown key")
    assert err.count("\n") == 1
    assert sweep_command(study, tmp_path / "out3", workers=2, scheduler="tcp://x:1") == 2
    assert sweep_command(study, tmp_path / "out3", workers=-1) == 2
