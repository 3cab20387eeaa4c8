"""An elastic (finite-element) sweep: the table holds what a bare ``wlcsp.analyze`` call gives.

A small package (2 x 2 mm die, two bumps, first-order coarse mesh: about 0.4 s a case) keeps the
FE cases fast. The same sweep on a local dask cluster (gmsh and the solver in worker threads of
worker processes) must give the serial table.
"""

from __future__ import annotations

import copy

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("distributed")

from wlcsp.analysis import analyze  # noqa: E402
from wlcsp.design import load_design  # noqa: E402
from wlcsp.errors import DesignError  # noqa: E402
from wlcsp.study import load_study, run_study  # noqa: E402
from wlcsp.study.analyses import extract  # noqa: E402

from conftest import raw_design  # noqa: E402

REL = 1e-9
"""The sweep and the bare call run the same deterministic mesh and solve: equal to round-off."""
TIMING = ("_seconds", "_worker")
"""Bookkeeping columns that legitimately differ between two runs of the same cases."""
OUTPUTS = ["critical_bump", "hand_estimate.engelmaier_dnp.life", "bumps[-1].delta_shear_strain",
           "bumps[critical_bump].delta_shear_strain", "warpage", "dofs"]


def _small() -> dict:
    raw = raw_design()
    raw["die"]["size"] = [2.0, 2.0]
    for key in ("array", "depopulate_rows"):
        raw["bumps"].pop(key)
    raw["bumps"]["positions"] = [0.3, 0.8]
    raw["layers"][1]["inner_gap"] = 0.1
    raw["mesh"] = {"order": 1, "size": 0.2, "bump_size": 0.05}
    return raw


STUDY = {
    "name": "elastic", "analysis": "elastic", "base": _small(), "outputs": OUTPUTS,
    "sweep": {"axes": [
        {"key": "layers.elastomer.thickness", "values": [0.0, 0.075], "name": "elastomer"},
        {"key": "underfill", "values": [False, True]}]},
}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("elastic")
    return out, run_study(STUDY, out, workers=0, figures=False, progress=None)


def test_elastic_sweep_equals_bare_analyze(serial):
    _, frame = serial
    study = load_study(STUDY)
    assert (frame["_status"] == "done").all(), frame["_error"].tolist()
    for case, (_, row) in zip(study.cases, frame.iterrows(), strict=True):
        assert case.design["loading"]["solder"] == "elastic"
        bare = analyze(load_design(copy.deepcopy(case.design)), figures=False)
        for out in OUTPUTS:
            assert row[out] == pytest.approx(extract(bare, out), rel=REL), out
    assert frame["dofs"].nunique() == 4


def test_elastic_sweep_on_a_local_cluster(serial, tmp_path):
    _, reference = serial
    frame = run_study(STUDY, tmp_path, workers=2, figures=False, progress=None)
    pd.testing.assert_frame_equal(frame.drop(columns=list(TIMING)),
                                  reference.drop(columns=list(TIMING)), rtol=REL)


def test_output_typo_found_after_the_run_and_cases_kept(serial):
    out, _ = serial
    stamps = {p: p.stat().st_mtime_ns for p in (out / "cases").iterdir()}
    with pytest.raises(DesignError, match=r"^outputs\[1\] = 'life.engelmeier': in none of the 4"):
        run_study({**STUDY, "outputs": ["dofs", "life.engelmeier"]}, out, workers=0,
                  figures=False, progress=None)
    assert {p: p.stat().st_mtime_ns for p in (out / "cases").iterdir()} == stamps
