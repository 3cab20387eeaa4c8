"""`wlcsp run`: the elastic estimate end to end on small meshes of the seed stack."""

from __future__ import annotations

import json

import meshio
import numpy as np
import pytest

from wlcsp.analysis import analyze, equivalent_strain, format_table
from wlcsp.cli import main
from wlcsp.life_report import SCREENING

from conftest import STUDIES, raw_design, with_positions

LINEAR_REL = 1e-8
"""Ranges of a temperature-independent linear model scale exactly with ΔT (round-off only)."""


def small(name: str = "seed000_bare", **changes) -> dict:
    """A seed design on a coarse mesh with three bumps: seconds per solve, same physics."""
    raw = raw_design(name)
    raw["rerouting"]["thicknesses"] = [0.010, 0.006]
    raw["mesh"].update(size=0.15, bump_size=0.025)
    with_positions(raw, [2.7, 3.7, 4.7])
    for key, value in changes.items():
        section, _, field = key.partition("__")
        raw[section][field] = value
    return raw


@pytest.fixture(scope="module")
def bare_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bare")
    return analyze(small(), out), out


def test_summary_contract(bare_run):
    result, out = bare_run
    saved = json.loads((out / "summary.json").read_text())
    assert saved["dofs"] == result["dofs"] > 0
    assert saved["elements"] > 0
    assert set(saved["seconds"]) >= {"mesh", "solve", "post", "life"}
    assert {"die", "substrate", "bump_0", "polyimide"} <= set(saved["regions"])
    assert len(saved["bumps"]) == 3
    for key in ("dnp", "max_von_mises", "mean_von_mises", "mean_shear", "max_shear",
                "delta_shear_strain", "delta_equivalent_strain", "hand_estimate"):
        assert key in saved["bumps"][0]
    assert saved["critical_bump"] in (0, 1, 2)
    assert saved["primary"] is None
    assert saved["screening"] == SCREENING
    assert set(saved["hand_estimate"]) == {"engelmaier_dnp"}
    for fig in ("von_mises.png", "deformed.png", "bumps.png"):
        assert (out / fig).stat().st_size > 10_000
    vtu = meshio.read(out / "solution.vtu")
    assert {"stress", "von_mises", "material_id", "delta_strain"} <= set(vtu.cell_data)
    assert "displacement" in vtu.point_data


def test_outer_bump_is_critical_and_strain_grows_with_dnp(bare_run):
    """Shear-lag (Chen & Nelson 1979, lit §5.5): the joint shear grows towards the die edge."""
    result, _ = bare_run
    gamma = [b["delta_shear_strain"] for b in result["bumps"]]
    assert result["critical_bump"] == 2
    assert gamma[0] < gamma[1] < gamma[2]
    lives = [b["hand_estimate"]["engelmaier_dnp"] for b in result["bumps"]]
    assert lives[0] > lives[1] > lives[2]  # the hand estimate's DNP strain grows outwards


def test_run_table_prints_no_creep_fatigue_life(bare_run):
    """The printed table of the elastic screening: the hand estimate, labelled, and no FE life."""
    result, _ = bare_run
    text = format_table(result)
    assert "hand estimate (cycles)" in text
    assert "engelmaier_dnp†=" in text  # Engelmaier's constants are SnPb: labelled on SAC bumps
    assert "no life: elastic screening" in text
    for model in ("coffin_manson", "engelmaier=", "darveaux", "syed"):
        assert model not in text


def test_hand_estimate_is_the_critical_bumps(bare_run):
    result, _ = bare_run
    crit = result["bumps"][result["critical_bump"]]
    assert result["hand_estimate"]["engelmaier_dnp"]["life"] == \
        crit["hand_estimate"]["engelmaier_dnp"]


def test_ranges_scale_with_the_temperature_step():
    """Temperature-independent properties: every range is linear in ΔT (superposition)."""
    const = {"E": 40000.0, "nu": 0.4, "cte_ppm": 22.0, "solidus": 217.0, "source": "test"}
    results = []
    for to in (-40.0, 40.0):
        raw = small(loading__profile={"from": 125.0, "to": to})
        raw["materials"] = {"solder": const}
        raw["bumps"]["material"] = "solder"
        results.append(analyze(raw))
    ratio = (125.0 - -40.0) / (125.0 - 40.0)
    for a, b in zip(*(r["bumps"] for r in results), strict=True):
        assert a["delta_shear_strain"] == pytest.approx(ratio * b["delta_shear_strain"],
                                                        rel=LINEAR_REL)
        assert a["delta_elastic_energy_density"] == pytest.approx(
            ratio**2 * b["delta_elastic_energy_density"], rel=LINEAR_REL)
    assert "life" not in results[0]  # a single step is not a cycle
    assert "hand_estimate" not in results[0]
    assert results[0]["primary"] is None


def test_softer_buffer_lowers_joint_shear():
    """The seed-000 mechanism: a compliant layer under the lands decouples joint and die."""
    gammas = []
    for E in (160.0, 3000.0):
        raw = small("seed000_elastomer")
        raw["materials"] = {"buffer": {"E": E, "nu": 0.45, "cte_ppm": 236.0}}
        raw["layers"][1]["material"] = "buffer"
        gammas.append(analyze(raw)["bumps"][-1]["delta_shear_strain"])
    assert gammas[0] < gammas[1]


def test_equivalent_strain_of_pure_shear_and_uniaxial():
    """ε_eq = γ/√3 in pure shear; ε_eq = ε for incompressible uniaxial strain (ν = ½)."""
    assert equivalent_strain(np.array([0, 0, 0, 0.03])) == pytest.approx(0.03 / np.sqrt(3))
    assert equivalent_strain(np.array([0.01, -0.005, -0.005, 0])) == pytest.approx(0.01)


def _small_toml(tmp_path, profile: str = '"jedec_g"'):
    text = (STUDIES / "seed000_bare.toml").read_text()
    text = text.replace("size = 0.05", "size = 0.15").replace("bump_size = 0.008",
                                                               "bump_size = 0.025")
    text = text.replace("thicknesses = [0.010, 0.003]", "thicknesses = [0.010, 0.006]")
    text = text.replace("array = [10, 16]\ndepopulate_rows = [4, 5]", "positions = [3.7, 4.7]")
    text = text.replace('profile = "jedec_g"', f"profile = {profile}")
    path = tmp_path / "small.toml"
    path.write_text(text)
    return path


def test_cli_run_writes_results(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(_small_toml(tmp_path)), "--out", str(out), "--no-figures"]) == 0
    printed = capsys.readouterr().out
    assert "critical bump" in printed
    assert "singular" in printed
    assert json.loads((out / "summary.json").read_text())["critical_bump"] == 1


def test_cli_run_bad_profile_exits_2(tmp_path, capsys):
    path = _small_toml(tmp_path, '"jedec_z"')
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "loading.profile" in err
