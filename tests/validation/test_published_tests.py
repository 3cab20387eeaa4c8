"""Predicted against measured board-level thermal-cycling lives (issue 11, item 4).

The cases, their sources, measured lives and assumptions are in
``src/wlcsp/data/published_tests.toml``; one design file per case under ``studies/validation/``.
Each case runs the viscoplastic cycle analysis (Anand solder, 2 cycles, the axisymmetric model)
on the design's own coarse ``[mesh]`` and compares the primary life with the measured one: the
test passes when the measured life lies within the primary model's stated accuracy band,
life/accuracy .. life·accuracy (2x where none is stated).

Why the coarse mesh suffices (measured with ``benchmarks/published_tests.py``, see
``docs/validation.md``): the ratio predicted/measured is what is asserted, and the coarse test
mesh (mesh.size 3 mm, bump_size 0.1 mm, min_size 17.5 um, two elements through the 35 um metal:
17-23k P2 triangles) gives primary lives within 0.6 % of a mesh with every element size halved
(41-57k triangles; measured: FBG900 6475 vs 6441, FFG1152 6800 vs 6778, FGG676 12992 vs
12950 cycles; docs/validation.md, column "fine"), a shift 100x smaller than the 2x band the test
asserts and than the margin by which the failing case fails. The coarse mesh takes
~30-65 s per case on the shared 2-core machine (more than the ~20 s aimed at: the 13-17 rings
of a 1 mm pitch, 27-35 mm BGA are what costs).

Cases that do not agree stay here as strict xfails with the reason and the measured ratio, so a
fix is noticed.
"""

from __future__ import annotations

import math
import sys
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from wlcsp.cycling import analyze_cycles

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "src" / "wlcsp" / "data" / "published_tests.toml"
DEFAULT_ACCURACY = 2.0
"""The band where the primary model states no accuracy (issue 11: 2x)."""


def load_table() -> dict[str, Any]:
    with TABLE.open("rb") as f:
        return tomllib.load(f)


def primary_life(result: dict[str, Any]) -> tuple[float, float, str]:
    """(life, accuracy factor, model) of an analysis result.

    Its ``primary`` life when it has one, else the Darveaux life with the default 2x band: the
    one place that reads a predicted life, so the switch to ``primary`` is made here.
    """
    primary = result.get("primary")
    if primary:
        accuracy = primary.get("accuracy") or DEFAULT_ACCURACY
        return float(primary["life"]), float(accuracy), str(primary["model"])
    return float(result["life"]["darveaux"]), DEFAULT_ACCURACY, "darveaux"


def design_dict(case: dict[str, Any]) -> dict[str, Any]:
    with (ROOT / case["design"]).open("rb") as f:
        raw = tomllib.load(f)
    assert raw["loading"]["solder"] == "anand"
    return raw


@cache
def run_case(name: str) -> dict[str, Any]:
    """The cycle analysis of one case at its design's mesh (cached across the tests)."""
    case = load_table()["cases"][name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # an unstabilized loop fails the case
        return analyze_cycles(design_dict(case), out=None, figures=False)


TABLE_DATA = load_table()
XFAIL: dict[str, str] = {
    # name -> reason with the measured ratio (predicted / measured); strict, so a fix is noticed
    "ug116_fgg676": (
        "predicted/measured = 2.17 at the test mesh (syed_energy 12,992 vs eta 5,974), just "
        "outside 2x (2.17 at the fine mesh too): the one-plate body of the wire-bond BGA takes "
        "an assumed 0.5 mm mold cap and its die-shadow CTE (7.2 ppm/K) over the whole 27 mm "
        "body; the real body is not one plate (docs/validation.md)"),
}
XFAIL_TREND = (
    "the one-plate package body gives FBG900 and FFG1152 nearly the same corner-joint energy "
    "(predicted eta ratio 0.95 at the test mesh, measured 2.22): the smeared body loses the die "
    "size, which is what the measured trend is about; a package model with the die on the "
    "substrate (or 3D) is needed")


def _cases() -> list[Any]:
    out = []
    for name in TABLE_DATA["cases"]:
        marks = [pytest.mark.xfail(reason=XFAIL[name], strict=True)] if name in XFAIL else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


def test_table_is_complete() -> None:
    """Every case cites its source, a measured life of a named kind, assumptions, a design.

    The design file loads and is a 2D model that the test can afford.
    """
    from wlcsp.design import load_design

    assert len(TABLE_DATA["cases"]) >= 3
    for name, case in TABLE_DATA["cases"].items():
        assert case["citation"].strip(), name
        assert case["measured"] > 0, name
        assert case["measured_kind"] in {"weibull_eta", "n50", "first_failure"}, name
        assert case["assumptions"], name
        for key in ("package", "balls_pads", "polymer_layers", "board", "profile"):
            assert case[key].strip(), (name, key)
        design = load_design(ROOT / case["design"])
        assert design.model in ("axisymmetric", "generalized_plane_strain"), name
    assert TABLE_DATA["not_found"]["items"]


def test_primary_life_reader() -> None:
    """The helper reads ``primary`` when present and falls back to Darveaux with 2x."""
    assert primary_life({"primary": {"model": "syed_energy", "life": 10.0, "accuracy": 1.5},
                         "life": {"darveaux": 3.0}}) == (10.0, 1.5, "syed_energy")
    assert primary_life({"primary": {"model": "m", "life": 10.0, "accuracy": None},
                         "life": {}}) == (10.0, 2.0, "m")
    assert primary_life({"life": {"darveaux": 3.0}}) == (3.0, 2.0, "darveaux")


@pytest.mark.parametrize("name", _cases())
def test_published_case(name: str) -> None:
    case = TABLE_DATA["cases"][name]
    result = run_case(name)
    life, accuracy, model = primary_life(result)
    ratio = life / case["measured"]
    assert result["stabilization"]["stabilized"], result["stabilization"]
    assert 1 / accuracy <= ratio <= accuracy, (
        f"{name}: predicted {model} {life:.0f} vs measured {case['measured_kind']} "
        f"{case['measured']} (ratio {ratio:.2f}, band x/÷{accuracy:g})")


@pytest.mark.xfail(reason=XFAIL_TREND, strict=True)
def test_package_size_trend() -> None:
    """Published trend: the larger package and die lives shorter.

    The predicted ratio has the measured sign and lies within an order of magnitude of it.
    """
    trend = TABLE_DATA["trends"]["package_size"]
    small, _, _ = primary_life(run_case(trend["small"]))
    large, _, _ = primary_life(run_case(trend["large"]))
    predicted = small / large
    assert predicted > 1.0, f"predicted ratio {predicted:.2f}: wrong sign (measured " \
                            f"{trend['measured_ratio']})"
    assert abs(math.log10(predicted / trend["measured_ratio"])) < 1.0
