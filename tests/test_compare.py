"""wlcsp compare: the variants of a design with and without elastomer and underfill.

Oracles: the bundled seed-000 files, which are the variants of one another written by hand
(``seed000_bare`` and ``seed000_underfill`` are ``seed000_elastomer`` without its buffer layer,
without and with underfill); direct ``analyze`` runs of those files; and the ratio's definition.
The physics check: underfill, bonded to die and substrate, carries part of the CTE-mismatch shear
that the joints carry alone without it (Suryanarayana, Hsiao, Gall & McCreary, IEEE Trans. CHMT
14(1):218, 1991), so the critical joint's shear-strain range falls.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math

import pytest

from wlcsp.analysis import analyze
from wlcsp.cli import main
from wlcsp.compare import (
    BUFFER_MODULUS,
    LABELS,
    SECTION_LIMITS,
    buffer_layers,
    caveat,
    compare,
    given_label,
    table_rows,
    variants,
)
from wlcsp.design import load_design
from wlcsp.errors import DesignError
from wlcsp.life import LIFE_MODELS
from wlcsp.life_report import HAND_ESTIMATE, SCREENING
from wlcsp.plots import plot_compare

from conftest import STUDIES, raw_design

SAME_RUN_REL = 1e-10
"""One design file run twice (same mesh, same solve) agrees to round-off."""


def geometry(design):
    """The design without its name and raw input, for comparing two validated designs."""
    return dataclasses.replace(design, name="", raw={})


def tiny_toml(tmp_path, name: str) -> str:
    """A seed file on a coarse mesh with two bumps (~0.5 s per solve), written under tmp_path."""
    text = (STUDIES / f"{name}.toml").read_text()
    text = text.replace("thickness = 0.015", "thickness = 0.04")
    text = text.replace("thicknesses = [0.010, 0.003]", "thicknesses = [0.012, 0.012]")
    text = text.replace("array = [10, 16]\ndepopulate_rows = [4, 5]",
                        "positions = [3.7, 4.7]\npad_thickness = 0.024")
    text = text.replace("size = 0.05", "size = 0.25\nmin_size = 0.005")
    text = text.replace("bump_size = 0.008", "bump_size = 0.03")
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compare")
    out = tmp / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["compare", tiny_toml(tmp, "seed000_elastomer"), "--out", str(out),
                     "--no-figures"])
    assert code == 0
    with (out / "compare.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    summaries = {r["variant"]: json.loads((out / r["variant"] / "summary.json").read_text())
                 for r in rows}
    return tmp, out, printed.getvalue(), rows, summaries


def test_buffer_layers_are_the_low_modulus_ones():
    assert buffer_layers(load_design(raw_design("seed000_elastomer"))) == ("elastomer",)
    assert buffer_layers(load_design(raw_design("seed000_bare"))) == ()
    raw = raw_design("seed000_elastomer")
    raw["materials"] = {
        "stiff": {"E": 3000.0, "nu": 0.45, "cte_ppm": 236.0},
        "soft": {"E": 0.9 * BUFFER_MODULUS, "nu": 0.4, "cte_ppm": 50.0},
    }
    raw["layers"][1]["material"] = "stiff"  # named "elastomer", but 3 GPa
    raw["layers"][0]["material"] = "soft"
    assert buffer_layers(load_design(raw)) == ("polyimide",)
    raw["layers"][0]["material"] = "underfill"  # 0.5 GPa above its Tg, 8 GPa at -40 °C
    assert buffer_layers(load_design(raw)) == ()


def test_variants_are_the_hand_written_seed_files():
    design = load_design(raw_design("seed000_elastomer"))
    made = {k: load_design(v) for k, v in variants(design).items()}
    assert list(made) == list(LABELS)
    assert given_label(design) == "elastomer"
    assert made["elastomer"].raw == design.raw
    assert geometry(made["bare"]) == geometry(load_design(raw_design("seed000_bare")))
    assert geometry(made["underfill"]) == geometry(load_design(raw_design("seed000_underfill")))
    assert made["elastomer_underfill"].layers == design.layers
    assert made["elastomer_underfill"].underfill == made["underfill"].underfill
    for name, given in (("seed000_bare", "bare"), ("seed000_underfill", "underfill")):
        seed = load_design(raw_design(name))
        assert list(variants(seed)) == ["bare", "underfill"]
        assert given_label(seed) == given


def test_variant_that_cannot_be_built_names_itself_before_any_solve():
    raw = raw_design("seed000_elastomer")
    raw["substrate"]["overhang"] = 0.1  # too short for the default underfill fillet
    with pytest.raises(DesignError, match="'underfill' variant") as err:
        compare(raw)
    assert err.value.key == "underfill.fillet"


def test_cli_writes_every_variant(cli_run):
    _, out, printed, rows, _ = cli_run
    assert [r["variant"] for r in rows] == list(LABELS)
    assert [r["given"] for r in rows] == ["False", "False", "True", "False"]
    assert (out / "compare.png").stat().st_size > 10_000
    for label in LABELS:
        assert label in printed
        assert (out / label / "solution.vtu").exists()
    assert "elastomer*" in printed


def test_table_is_the_critical_bump_of_each_summary(cli_run):
    _, _, _, rows, summaries = cli_run
    bare = summaries["bare"]["bumps"][summaries["bare"]["critical_bump"]]
    for r in rows:
        s = summaries[r["variant"]]
        crit = s["bumps"][s["critical_bump"]]
        assert int(r["critical_bump"]) == s["critical_bump"]
        assert float(r["dnp_mm"]) == crit["dnp"]
        assert float(r["delta_shear_strain"]) == pytest.approx(crit["delta_shear_strain"],
                                                               rel=1e-15)
        assert float(r["delta_shear_strain_ratio_to_bare"]) == pytest.approx(
            crit["delta_shear_strain"] / bare["delta_shear_strain"], rel=1e-15)
        for model, entry in s["hand_estimate"].items():
            assert float(r[f"hand_estimate_{model}_cycles"]) == pytest.approx(entry["life"],
                                                                              rel=1e-15)
        assert r["primary_model"] == ""
        assert math.isnan(float(r["primary_life_cycles"]))
        assert r["primary_basis"] == s["screening"]
    assert float(rows[0]["delta_shear_strain_ratio_to_bare"]) == 1.0


CREEP_FATIGUE = {m for m in LIFE_MODELS if m != HAND_ESTIMATE}
"""The creep-fatigue models an elastic analysis must never report (issue 11)."""


def _keys(obj) -> set:
    """Every mapping key in a nested JSON document."""
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _keys(v)}
    return set()


def test_no_output_of_the_elastic_screening_holds_a_creep_fatigue_life(cli_run):
    """summary.json, the printed table, compare.csv and the figure: strain ranges, no FE life."""
    _, _, printed, rows, summaries = cli_run
    for label, s in summaries.items():
        # seconds.life is a phase; hand_estimate the labelled DNP hand formula, checked below
        keys = _keys({k: v for k, v in s.items() if k not in ("seconds", "hand_estimate")})
        assert "life" not in keys, label
        assert set(s["hand_estimate"]) == {HAND_ESTIMATE}
        assert not keys & CREEP_FATIGUE, label
        assert s["primary"] is None
        assert s["screening"] == SCREENING
    assert not [k for k in rows[0] if k.startswith(("life_", "ratio_"))]
    assert all(math.isnan(float(r[k])) for r in rows for k in r if k.startswith("primary_life"))
    for model in CREEP_FATIGUE:
        assert f"{model} " not in printed
        assert f"{model}=" not in printed
    assert "no life" in printed or "elastic screening" in printed
    result = {"design": "d", "table": table_rows(summaries, "elastomer")}
    axes = plot_compare(result).axes
    assert axes[1].get_yscale() == "linear"
    assert "no life" in axes[1].get_title()


def test_variant_summary_matches_a_direct_run_of_the_seed_file(cli_run):
    tmp, _, _, _, summaries = cli_run
    direct = analyze(tiny_toml(tmp, "seed000_underfill"))
    saved = summaries["underfill"]
    assert saved["critical_bump"] == direct["critical_bump"]
    for model, entry in direct["hand_estimate"].items():
        assert saved["hand_estimate"][model]["life"] == pytest.approx(entry["life"],
                                                                       rel=SAME_RUN_REL)
    for a, b in zip(saved["bumps"], direct["bumps"], strict=True):
        assert a["delta_shear_strain"] == pytest.approx(b["delta_shear_strain"],
                                                        rel=SAME_RUN_REL)


def test_underfill_lowers_the_critical_shear_strain(cli_run):
    _, _, _, rows, _ = cli_run
    gamma = {r["variant"]: float(r["delta_shear_strain"]) for r in rows}
    assert gamma["underfill"] < gamma["bare"]
    assert gamma["elastomer_underfill"] < gamma["elastomer"]


def test_table_reads_the_viscoplastic_keys():
    """The same table from summaries of a cycle analysis (inelastic strain, dissipated energy)."""
    def summary(life: float, energy: float) -> dict:
        bump = {"dnp": 4.7, "delta_inelastic_strain": 0.01, "delta_energy_density": energy}
        return {"analysis": "viscoplastic", "critical_bump": 0, "bumps": [bump],
                "primary": {"model": "syed_energy", "life": 2 * life, "accuracy": 2.0,
                            "band": [life, 4 * life], "basis": "b", "constants": "syed_2004_sac"},
                "secondary": {"darveaux": {"life": life, "constants": "darveaux_2000_snpb",
                                           "alloy_match": False, "family": "snpb"}}}

    rows = table_rows({"bare": summary(400.0, 0.5), "elastomer": summary(1000.0, 0.2)},
                      given="elastomer")
    assert rows[1]["energy_basis"] == "inelastic"
    assert rows[1]["energy_density_MPa"] == 0.2
    assert rows[1]["delta_inelastic_strain"] == 0.01
    assert "delta_shear_strain" not in rows[1]
    assert rows[1]["primary_ratio_to_bare"] == rows[1]["ratio_darveaux_to_bare"] == 1000 / 400
    assert rows[0]["primary_ratio_to_bare"] == rows[0]["ratio_darveaux_to_bare"] == 1.0
    assert math.isclose(rows[1]["primary_life_cycles"], 2000.0)
    assert (rows[1]["primary_life_low_cycles"], rows[1]["primary_life_high_cycles"]) == \
        (1000.0, 4000.0)
    assert rows[1]["primary_model"] == "syed_energy"
    assert rows[1]["primary_basis"] == "b"
    # an alloy-mismatched secondary life carries its constants' family in the column name
    assert rows[1]["life_darveaux_snpb_constants_cycles"] == 1000.0
    assert not any(k == "life_darveaux_cycles" for k in rows[1])


def test_cli_missing_design_exits_2(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_a_2d_section_says_next_to_the_number_that_it_cannot_judge_underfill(cli_run):
    """The axisymmetric seed: underfill rows carry the caveat (csv, print, figure), others not."""
    _, _, printed, rows, summaries = cli_run
    assert summaries["bare"]["model"] == "axisymmetric"
    for r in rows:
        assert bool(r["caveat"]) == ("underfill" in r["variant"]), r["variant"]
        assert r["caveat"] in ("", caveat("underfill", "axisymmetric"))
    assert "underfill†" in printed
    assert "elastomer_underfill†" in printed
    assert "bare†" not in printed
    assert "not judged by this model" in printed
    result = {"design": "d", "table": table_rows(summaries, "elastomer")}
    fig = plot_compare(result)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["bare", "underfill†", "elastomer*", "elastomer_underfill†"]
    assert any("not judged" in t.get_text() for t in fig.texts)


def test_the_3d_model_judges_every_variant():
    assert caveat("elastomer_underfill", "3d") == ""
    assert caveat("underfill", "plane_strain") == SECTION_LIMITS["underfill"]
    assert caveat("elastomer", "generalized_plane_strain") == ""
