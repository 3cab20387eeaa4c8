"""SAC designs and the SAC fatigue constants (issue "SAC constants", item 1).

Oracles: the calibration family each set of ``data/fatigue.toml`` records (``family``) and the rule
the alloy defaults must follow: a design of an alloy family gets, for every model, a set
calibrated on that family wherever the library holds one, and a set of another family only where
none exists, labelled as alloy mismatch (wlcsp.life_report). The SAC search of item 1 found no
further SAC constants readable from a source (fatigue.toml header), so Syed's SnAgCu set
(Syed, ECTC 2004) is the only SAC life calibration; the tests hold for any set added later.
No finite elements.
"""

from __future__ import annotations

import pytest

from wlcsp.design import load_design
from wlcsp.life import FATIGUE_LIBRARY, FATIGUE_SETS, LIFE_TABLES, MODEL_SET, default_sets
from wlcsp.life_report import alloy_label

from conftest import raw_design

SAC_ALLOYS = tuple(a for a, lib in FATIGUE_LIBRARY.items() if lib.family == "sac")
"""The library's SAC alloys (sac105, sac305)."""


def design(alloy: str):
    raw = raw_design()
    raw["bumps"]["material"] = alloy
    return load_design(raw)


def family_sets(table: str, family: str) -> set[str]:
    """Names of the sets of ``table`` calibrated on ``family``."""
    return {n for n, c in FATIGUE_SETS[table].items() if c.info.family == family}


def defaults(alloy: str) -> dict[str, str]:
    """Table -> the alloy's default set, the Norris-Landzberg table included."""
    lib = FATIGUE_LIBRARY[alloy]
    nl = next(n for n, c in FATIGUE_SETS["norris_landzberg"].items()
              if c is lib.norris_landzberg)
    return {**default_sets(alloy), "norris_landzberg": nl}


def test_library_has_sac_and_snpb_alloys():
    assert set(SAC_ALLOYS) == {"sac105", "sac305"}
    assert FATIGUE_LIBRARY["snpb63"].family == "snpb"


@pytest.mark.parametrize("alloy", sorted(FATIGUE_LIBRARY))
def test_default_is_of_the_alloy_family_wherever_one_exists(alloy):
    """SAC designs get SAC constants where the library has them; SnPb designs keep SnPb sets."""
    family = FATIGUE_LIBRARY[alloy].family
    chosen = defaults(alloy)
    matched = 0
    for table in (*LIFE_TABLES, "norris_landzberg"):
        own = family_sets(table, family)
        if not own:
            continue
        matched += 1
        assert chosen.get(table) in own, f"{alloy}: {table} default {chosen.get(table)}"
    assert matched >= 2  # SAC: syed and Norris-Landzberg; SnPb: all four SnPb tables


@pytest.mark.parametrize("alloy", SAC_ALLOYS)
def test_sac_design_uses_the_sac_syed_set(alloy):
    d = design(alloy)
    assert d.fatigue["syed"] == "syed_2004_sac"
    assert FATIGUE_SETS["syed"]["syed_2004_sac"].info.family == "sac"
    for model in ("syed_energy", "syed_strain"):
        label = alloy_label(d, model)
        assert label == {"constants": "syed_2004_sac", "family": "sac", "alloy_match": True,
                         "alloy": FATIGUE_SETS["syed"]["syed_2004_sac"].info.alloy}


@pytest.mark.parametrize("alloy", SAC_ALLOYS)
def test_sac_design_labels_every_snpb_life(alloy):
    """Each model's label says whether its constants are SAC, and names both alloys if not."""
    d = design(alloy)
    for model, table in MODEL_SET.items():
        name = d.fatigue.get(table)
        if name is None:
            continue
        label = alloy_label(d, model)
        sac = FATIGUE_SETS[table][name].info.family == "sac"
        assert label["alloy_match"] is sac, model
        if not sac:
            assert label["label"].startswith("alloy mismatch: snpb constants")
            assert label["label"].endswith(f"on {alloy} bumps")


def test_snpb_design_keeps_snpb_sets():
    d = design("snpb63")
    assert {FATIGUE_SETS[t][n].info.family for t, n in d.fatigue.items()} == {"snpb"}
    assert all(alloy_label(d, m)["alloy_match"] for m, t in MODEL_SET.items() if t in d.fatigue)
