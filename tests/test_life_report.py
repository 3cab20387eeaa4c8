"""Life reporting (wlcsp.life_report): constant sets per design, alloy match, the primary life.

Oracles: the calibration records of ``data/fatigue.toml`` (which alloy family each set was fitted
on), the primary-life rule of the module docstring (the first of PRIMARY_ORDER with constants of
the bumps' alloy family) and the closed forms of the models (Syed 2004: N = 1/(W'·ΔW) with
W' = 0.0019 1/MPa; Darveaux 2000: N = K1·ΔW^K2 + a/(K3·ΔW^K4)). No finite elements: the bumps'
figures are given.
"""

from __future__ import annotations

import math
from importlib import resources

import pytest

from wlcsp import life
from wlcsp.design import load_design
from wlcsp.errors import DesignError
from wlcsp.life import FATIGUE_LIBRARY, FATIGUE_SETS, LIFE_TABLES, darveaux, default_sets
from wlcsp.life_report import (
    DEFAULT_ACCURACY,
    HAND_ESTIMATE,
    PRIMARY_ORDER,
    SCREENING,
    alloy_label,
    format_lines,
    report,
)
from wlcsp.loading import named_profile

from conftest import raw_design

HAND = 1e-12
"""Closed forms evaluated twice in floating point."""

PROFILE = named_profile("jedec_g")


def design(alloy: str = "sac105", **life_table: str):
    raw = raw_design()
    raw["bumps"]["material"] = alloy
    if life_table:
        raw["life"] = life_table
    return load_design(raw)


def cycle_inputs(energy: float, strain: float) -> dict:
    """One bump's inputs as the cycle analysis gives them (energy on the 0.25 mm pad)."""
    return {"coffin_manson": {"delta_strain": strain},
            "darveaux": {"delta_energy_density": energy, "pad_diameter": 0.25},
            "syed_energy": {"delta_energy_density": energy},
            "syed_strain": {"delta_strain": 2 * strain}}


def cycle_result(d, energies=(0.02, 0.05)) -> dict:
    result = {"bumps": [{"dnp": 1.0 + i} for i in range(len(energies))],
              "critical_bump": len(energies) - 1}
    report(result, d, PROFILE, [cycle_inputs(w, 0.01) for w in energies], screening=False,
           procedures={m: f"input of {m}" for m in PRIMARY_ORDER})
    return result


def test_every_set_records_its_calibration():
    """Issue 11: alloy, test conditions and modelling procedure per set; families per alloy."""
    for table, sets in FATIGUE_SETS.items():
        for name, constants in sets.items():
            info = constants.info
            assert info is not None, f"{table}.{name}"
            assert info.family in life.ALLOY_FAMILIES
            assert info.alloy
            assert info.tests
            assert info.procedure
            assert info.accuracy is None or info.accuracy >= 1.0
    assert {a.family for a in FATIGUE_LIBRARY.values()} == {"snpb", "sac"}
    assert FATIGUE_LIBRARY["snpb63"].family == "snpb"
    assert FATIGUE_LIBRARY["sac105"].family == FATIGUE_LIBRARY["sac305"].family == "sac"
    # the only SAC life calibration is Syed's (fatigue.toml header: no other SAC set retrieved)
    sac_sets = {(t, n) for t in LIFE_TABLES for n, c in FATIGUE_SETS[t].items()
                if c.info.family == "sac"}
    assert sac_sets == {("syed", "syed_2004_sac")}


def test_library_rejects_a_set_without_its_procedure():
    text = resources.files("wlcsp").joinpath("data/fatigue.toml").read_text(encoding="utf-8")
    i = text.index("[darveaux.darveaux_2000_snpb]")
    j = text.index("procedure = ", i)
    broken = text[:j] + "# " + text[j:]
    with pytest.raises(DesignError) as err:
        life.load_fatigue_library(broken)
    assert err.value.key == "darveaux.darveaux_2000_snpb.procedure"


def test_design_names_its_sets_with_defaults_per_alloy():
    assert design("sac105").fatigue == default_sets("sac105") == {
        "coffin_manson": "solomon_1986_snpb", "engelmaier": "ipc_d279_snpb",
        "darveaux": "darveaux_2000_snpb", "syed": "syed_2004_sac"}
    assert "syed" not in design("snpb63").fatigue  # no SnPb Syed set: the model is not run
    assert design("snpb63", syed="syed_2004_sac").fatigue["syed"] == "syed_2004_sac"


@pytest.mark.parametrize(("table", "message"), [
    ({"darveau": "darveaux_2000_snpb"}, r"^life\.darveau = 'darveaux_2000_snpb': unknown key; "
                                        r"did you mean darveaux\?"),
    ({"darveaux": "darveaux_2003_sac"}, r"^life\.darveaux = 'darveaux_2003_sac': allowed: "
                                        r"darveaux_2000_snpb$"),
    ({"syed": 3}, r"^life\.syed = 3: expected str$"),
])
def test_bad_life_table(table, message):
    with pytest.raises(DesignError, match=message):
        design("sac105", **table)


def test_alloy_mismatch_is_labelled():
    sac, snpb = design("sac105"), design("snpb63", syed="syed_2004_sac")
    label = alloy_label(sac, "darveaux")
    assert label["alloy_match"] is False
    assert label["family"] == "snpb"
    assert "alloy mismatch" in label["label"]
    assert "sac105" in label["label"]
    assert alloy_label(sac, "syed_energy")["alloy_match"] is True
    assert alloy_label(snpb, "darveaux")["alloy_match"] is True
    assert alloy_label(snpb, "syed_strain")["alloy_match"] is False


def test_primary_contract_for_sac_bumps():
    """SAC bumps: Darveaux's constants are SnPb, so the primary life is Syed's energy model."""
    d = design("sac105")
    result = cycle_result(d)
    primary = result["primary"]
    assert set(primary) >= {"model", "life", "accuracy", "basis", "constants"}
    assert primary["model"] == "syed_energy"
    assert primary["constants"] == "syed_2004_sac"
    assert primary["life"] == pytest.approx(1.0 / (0.0019 * 0.05), rel=HAND)  # Syed 2004
    assert primary["accuracy"] == DEFAULT_ACCURACY  # Syed states none in the retrieved record
    assert primary["band"] == pytest.approx([primary["life"] / 2, primary["life"] * 2], rel=HAND)
    assert "sac105" in primary["basis"]
    assert "syed_2004_sac" in primary["basis"]
    assert "input of syed_energy" in primary["basis"]
    assert set(result["secondary"]) == {"coffin_manson", "darveaux", "syed_strain"}
    for model, entry in result["secondary"].items():
        assert set(entry) >= {"life", "constants", "alloy_match"}
        assert entry["alloy_match"] is (model == "syed_strain")
    assert result["life"] == result["bumps"][1]["life"]
    assert "darveaux" in result["life_note"]
    assert "alloy mismatch" in result["life_note"]
    text = "\n".join(format_lines(result))
    assert "primary life: syed_energy" in text
    assert "†" in text


def test_primary_is_darveaux_for_snpb_bumps():
    """SnPb bumps: Darveaux 2000 with the interface layer the analysis averages over."""
    d = design("snpb63")
    result = cycle_result(d)
    primary = result["primary"]
    assert primary["model"] == "darveaux"
    assert primary["constants"] == "darveaux_2000_snpb"
    assert primary["life"] == pytest.approx(
        darveaux(0.05, 0.25, FATIGUE_SETS["darveaux"]["darveaux_2000_snpb"]), rel=HAND)
    assert set(result["secondary"]) == {"coffin_manson"}  # no SnPb Syed set
    assert result["life_note"] == "every life uses constants of the bumps' alloy family"


def test_no_alloy_matched_model_gives_no_primary():
    """A SAC design whose Syed set is missing... by its inputs: no creep energy, no creep strain."""
    d = design("sac105")
    result = {"bumps": [{"dnp": 1.0}], "critical_bump": 0}
    report(result, d, PROFILE, [{"coffin_manson": {"delta_strain": 0.01},
                                 "darveaux": {"delta_energy_density": 0.05, "pad_diameter": 0.25},
                                 "syed_energy": {"delta_energy_density": 0.0},
                                 "syed_strain": {"delta_strain": 0.0}}], screening=False)
    assert result["primary"] is None
    assert "no primary life" in result["primary_note"]
    assert math.isinf(result["life"]["syed_energy"])
    assert result["secondary"]["darveaux"]["alloy_match"] is False


def test_screening_holds_no_creep_fatigue_life():
    d = design("sac105")
    result = {"bumps": [{"dnp": 0.0}, {"dnp": 4.7}], "critical_bump": 1}
    report(result, d, PROFILE, [{HAND_ESTIMATE: {"dnp": b["dnp"], "joint_height": 0.2,
                                                 "delta_cte": 12e-6}}
                                for b in result["bumps"]], screening=True)
    assert result["primary"] is None
    assert result["screening"] == SCREENING
    assert "life" not in result
    assert all("life" not in b for b in result["bumps"])
    assert math.isinf(result["bumps"][0]["hand_estimate"][HAND_ESTIMATE])  # DNP 0
    hand = result["hand_estimate"][HAND_ESTIMATE]
    assert hand["life"] == result["bumps"][1]["hand_estimate"][HAND_ESTIMATE]
    assert hand["alloy_match"] is False  # Engelmaier's constants are SnPb: labelled
    assert "hand estimate" in hand["basis"]
