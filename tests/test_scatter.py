"""Life scatter (wlcsp.scatter): tolerances, sampling, and the Monte Carlo against direct solves.

Oracles: the Latin-hypercube definition (McKay, Beckman & Conover 1979: one sample per
equal-probability stratum of each input); direct ``analyze`` runs of designs edited through their
TOML tables (an independent path through material parsing, meshing and assembly) for the
material samples and for the finite differences that rank the inputs; and the power-law form of
the strain-life models (ln N linear in ln Δγ: Coffin-Manson/Engelmaier, lit §3.1) for the
geometry linearization. What is sampled (the elastic screening has no creep-fatigue life, issue
11): Engelmaier's DNP hand estimate and the relative life (Δγ/Δγ_nominal)^(1/c).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from wlcsp.analysis import analyze, solve_elastic
from wlcsp.cli import main
from wlcsp.design import load_design
from wlcsp.errors import DesignError
from wlcsp.fem.thermoelastic import ThermoelasticModel
from wlcsp.life import FATIGUE_SETS, engelmaier_exponent
from wlcsp.life_report import HAND_ESTIMATE
from wlcsp.loading import parse_profile
from wlcsp.mesh import build_mesh
from wlcsp.scatter import (
    BALL_DIAMETER_TOLERANCE,
    CTE_SIGMA,
    DIE_THICKNESS_TOLERANCE,
    RELATIVE_LIFE,
    TRUNCATION,
    _materials,
    _ranges,
    _Solver,
    latin_hypercube,
    monte_carlo,
    parse_scatter,
)

from conftest import STUDIES, raw_design, with_positions

SAME_RUN_REL = 1e-8
"""Two solves of one design on one mesh (same formulation, different code path for the thermal
load) agree to round-off and the 1e-8 residual check of the direct solver."""

FD_REL = 0.03
"""MC sensitivity (least-squares slope of ln N on z) against the one-sided secant at +1σ. With
the stiffness fixed Δγ is linear in the CTEs, Δγ ∝ a + b·x, so ln N is linear in z but for the
curvature of the logarithm: the secant over [0, σ] differs from the tangent by (bσ/a)/2 ≈ 2 %
for the substrate CTE (bσ/a ≈ 3 %·α_BT/(α_BT − α_Si) ≈ 3.7 %)."""

ZERO = {"cte": 0.0, "modulus": 0.0, "thickness": 0.0, "die_thickness": 0.0,
        "substrate_thickness": 0.0, "ball_diameter": 0.0}
"""A [scatter] table with every tolerance off."""


def direct_lives(raw: dict, nominal: dict) -> dict[str, float]:
    """The sampled quantities from direct ``analyze`` runs of ``raw`` and the nominal ``nominal``.

    The hand estimate as the analysis reports it; the relative life by its definition
    (Δγ/Δγ_nominal)^(1/c), c Engelmaier's exponent at the profile's mean temperature and dwell.
    """
    design = load_design(raw)
    run, ref = analyze(design), analyze(load_design(nominal))
    profile = parse_profile(design.loading.profile)
    c = engelmaier_exponent(profile.T_mean, FATIGUE_SETS["engelmaier"][
        design.fatigue["engelmaier"]], dwell=profile.dwell)
    gamma = [r["bumps"][r["critical_bump"]]["delta_shear_strain"] for r in (run, ref)]
    return {HAND_ESTIMATE: run["hand_estimate"][HAND_ESTIMATE]["life"],
            RELATIVE_LIFE: (gamma[0] / gamma[1]) ** (1.0 / c)}


def tiny(name: str = "seed000_bare", **inputs: float) -> dict:
    """The seed stack on a coarse mesh with two bumps (~0.5 s per solve), tolerances ``inputs``."""
    raw = raw_design(name)
    raw["layers"][0]["thickness"] = 0.04
    raw["rerouting"]["thicknesses"] = [0.012, 0.012]
    raw["bumps"]["pad_thickness"] = 0.024
    raw["mesh"].update(size=0.25, bump_size=0.03, min_size=0.005)
    with_positions(raw, [3.7, 4.7])
    raw["scatter"] = {**ZERO, "inputs": inputs}
    return raw


def with_material(raw: dict, name: str, cte: float = 1.0, modulus: float = 1.0) -> dict:
    """``raw`` with the library material ``name`` redefined in [materials] with scaled tables."""
    m = load_design(raw).material(name)
    table = {"E": [[t, modulus * v] for t, v in zip(m.E.temperatures, m.E.values, strict=True)],
             "nu": m.nu.values[0],
             "cte_ppm": [[t, 1e6 * cte * v]
                         for t, v in zip(m.cte.temperatures, m.cte.values, strict=True)]}
    if m.solidus is not None:
        table["solidus"] = m.solidus
    raw = json.loads(json.dumps(raw))
    raw.setdefault("materials", {})[name] = table
    return raw


def test_defaults_and_overrides():
    design = load_design(raw_design("seed000_elastomer"))
    sig = {i.name: i.sigma for i in parse_scatter(design).inputs}
    assert sig["cte.bt"] == CTE_SIGMA
    assert sig["thickness.die"] == pytest.approx(DIE_THICKNESS_TOLERANCE / 3 / 0.725)
    assert sig["ball_diameter"] == pytest.approx(BALL_DIAMETER_TOLERANCE / 3 / 0.30)
    assert {"thickness.elastomer", "thickness.polyimide", "modulus.sac105"} <= set(sig)
    raw = raw_design("seed000_elastomer")
    raw["scatter"] = {"cte": 0.0, "inputs": {"cte.bt": 0.02}, "seed": 7}
    spec = parse_scatter(load_design(raw))
    sig = {i.name: i.sigma for i in spec.inputs}
    assert [k for k in sig if k.startswith("cte.")] == ["cte.bt"]
    assert sig["cte.bt"] == 0.02
    assert spec.seed == 7


@pytest.mark.parametrize(("table", "key"), [
    ({"cte": -0.01}, "scatter.cte"),
    ({"modulus": 0.5}, "scatter.modulus"),
    ({"cte": True}, "scatter.cte"),
    ({"colour": 0.1}, "scatter.colour"),
    ({"inputs": {"cte.unobtainium": 0.1}}, "scatter.inputs.cte.unobtainium"),
    ({"inputs": {"cte.bt": "3 %"}}, "scatter.inputs.cte.bt"),
    ({"inputs": [0.1]}, "scatter.inputs"),
    ({"seed": -1}, "scatter.seed"),
])
def test_bad_scatter_values(table, key):
    raw = raw_design("seed000_bare")
    raw["scatter"] = table
    with pytest.raises(DesignError) as err:
        parse_scatter(load_design(raw))
    assert err.value.key == key


def test_latin_hypercube_strata_and_truncation():
    """One sample per 1/n-probability stratum of each column, all within ±TRUNCATION."""
    n = 9
    z = latin_hypercube(n, 4, seed=3)
    assert np.abs(z).max() <= TRUNCATION
    u = stats.truncnorm.cdf(z, -TRUNCATION, TRUNCATION)
    for column in u.T:
        assert np.array_equal(np.sort(np.floor(column * n)), np.arange(n))


def test_zero_tolerances_give_zero_scatter():
    raw = tiny()
    result = monte_carlo(raw, 3)
    assert result["inputs"] == []
    nominal = analyze(load_design(raw))
    assert set(result["life"]) == {HAND_ESTIMATE, RELATIVE_LIFE}
    for model, lives in result["life"].items():
        assert np.ptp(lives) <= SAME_RUN_REL * np.max(lives)  # one design, one mesh: round-off
        assert lives[0] == pytest.approx(direct_lives(raw, raw)[model], rel=SAME_RUN_REL)
        assert result["weibull"][model] is None
    assert result["nominal"]["life"][RELATIVE_LIFE] == 1.0
    assert set(result["critical_bump"]) == {nominal["critical_bump"]}


def test_cte_samples_match_direct_solves_and_top_input_matches_finite_difference():
    """CTE samples equal direct solves; the top input is the largest finite difference.

    The samples run as eigenstrains on the nominal factors, the direct solves on designs whose
    materials are redefined in [materials].
    """
    sigma = {"cte.bt": 0.03, "cte.sac105": 0.03, "cte.silicon": 0.03}
    raw = tiny(**sigma)
    result = monte_carlo(raw, 6)
    names = [i["name"] for i in result["inputs"]]
    x0 = dict(zip(names, np.array(result["z"][0]) * [sigma[n] for n in names], strict=True))
    edited = raw
    for name, x in x0.items():
        edited = with_material(edited, name.removeprefix("cte."), cte=1.0 + x)
    direct = direct_lives(edited, raw)
    for model, lives in result["life"].items():
        assert lives[0] == pytest.approx(direct[model], rel=SAME_RUN_REL)

    fd = {name: math.log(direct_lives(with_material(raw, name.removeprefix("cte."),
                                                    cte=1.0 + s), raw)[RELATIVE_LIFE])
          for name, s in sigma.items()}
    top = max(fd, key=lambda k: abs(fd[k]))
    assert result["most_important"][RELATIVE_LIFE] == top
    sens = result["importance"][RELATIVE_LIFE][top]["sensitivity"]
    assert sens == pytest.approx(fd[top], rel=FD_REL)


def test_modulus_samples_match_direct_solves():
    """A toleranced modulus re-factors the stiffness: each sample equals a direct solve."""
    raw = tiny(**{"modulus.sac105": 0.1})
    result = monte_carlo(raw, 2)
    for k, (z,) in enumerate(result["z"]):
        direct = direct_lives(with_material(raw, "sac105", modulus=1.0 + 0.1 * z), raw)
        for model, lives in result["life"].items():
            assert lives[k] == pytest.approx(direct[model], rel=SAME_RUN_REL)


FAST_REL = 1e-7
"""The sample solver's per-bump ranges against a direct factorization of the same perturbed
design. CG stops at an estimated relative energy-norm error of 1e-10
(``wlcsp.fem.linsolve.PCG_RTOL``): the ranges of this coarse mesh then agree to 2e-9 (measured;
the seed mesh's to 3e-8), while stopping at 1e-7 leaves them 2.5e-7 off. The Monte Carlo
promises 1e-6."""


def test_cg_samples_match_a_direct_factorization():
    """Modulus and CTE samples solved by CG on the nominal factors equal direct solves.

    Both extremes carry load (stress-free 150 °C), two samples go through one solver so that the
    second starts from the reduced basis of the first, and the reference is a fresh model of the
    scaled materials with its own SuperLU factorization.
    """
    raw = tiny()
    raw["loading"]["stress_free"] = 150.0
    design = load_design(raw)
    pm = build_mesh(design)
    el = solve_elastic(design, pm)
    solver = _Solver(el, ["sac105", "bt", "silicon"])
    for x in ({"modulus.sac105": -0.21, "modulus.bt": 0.12, "modulus.silicon": 0.05,
               "cte.bt": 0.04, "cte.sac105": -0.03},
              {"modulus.sac105": 0.25, "modulus.bt": -0.08, "cte.silicon": 0.06}):
        materials = _materials(design, x)
        fast = solver.solve(materials, {m: 1.0 + x.get(f"modulus.{m}", 0.0)
                                        for m in solver.toleranced})
        direct = ThermoelasticModel(pm.mesh, {r: materials[m.name]
                                              for r, m in pm.materials.items()},
                                    kind=design.model, order=pm.order,
                                    stress_free=pm.stress_free, supports=pm.supports,
                                    solver="superlu")
        reference = _ranges(design, direct.solve(el.cold.T), direct.solve(el.hot.T))
        assert np.all(reference > 0)
        assert np.abs(_ranges(design, *fast) / reference - 1.0).max() <= FAST_REL
    assert [e.parts[2].k for e in solver.extremes] == [2, 2]  # both solved by CG, twice


def test_geometry_input_is_log_linear_through_a_remeshed_design():
    """A geometry input enters the lives log-linearly through a remeshed design.

    ln N_k − ln N_0 = z_k·[ln N(+σ) − ln N_0] for the power-law strain models, with N(+σ) from a
    direct run of the design with the thicker substrate.
    """
    s = 0.04
    raw = tiny(**{"thickness.substrate": s})
    result = monte_carlo(raw, 3)
    thick = json.loads(json.dumps(raw))
    thick["substrate"]["thickness"] *= 1.0 + s
    plus = direct_lives(thick, raw)
    nominal = result["nominal"]["life"]
    for model in (RELATIVE_LIFE,):
        slope = math.log(plus[model] / nominal[model])
        for (z,), life in zip(result["z"], result["life"][model], strict=True):
            assert math.log(life / nominal[model]) == pytest.approx(z * slope, rel=SAME_RUN_REL)
        assert result["importance"][model]["thickness.substrate"]["sensitivity"] == \
            pytest.approx(slope, rel=SAME_RUN_REL)


def _toml(tmp_path, scatter: str = "") -> str:
    text = (STUDIES / "seed000_bare.toml").read_text()
    text = text.replace("thickness = 0.015", "thickness = 0.04")
    text = text.replace("thicknesses = [0.010, 0.003]", "thicknesses = [0.012, 0.012]")
    text = text.replace("array = [10, 16]\ndepopulate_rows = [4, 5]",
                        "positions = [3.7, 4.7]\npad_thickness = 0.024")
    text = text.replace("size = 0.05", "size = 0.25\nmin_size = 0.005")
    text = text.replace("bump_size = 0.008", "bump_size = 0.03")
    path = tmp_path / "tiny.toml"
    path.write_text(text + "\n" + scatter)
    return str(path)


@pytest.mark.parametrize("value", ["1", "abc", "2.5", "-3", "100001"])
def test_cli_bad_sample_count_exits_2(tmp_path, capsys, value):
    assert main(["compare", _toml(tmp_path), "--out", str(tmp_path / "o"),
                 "--monte-carlo", value]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "--monte-carlo" in err
    assert not (tmp_path / "o").exists()


def test_cli_bad_scatter_table_exits_2_before_solving(tmp_path, capsys):
    path = _toml(tmp_path, "[scatter]\ncte = -0.1\n")
    assert main(["compare", path, "--out", str(tmp_path / "o"), "--monte-carlo", "4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "scatter.cte" in err
    assert not (tmp_path / "o").exists()


def test_cli_compare_with_monte_carlo(tmp_path, capsys):
    scatter = "[scatter]\ncte = 0.0\nmodulus = 0.0\nthickness = 0.0\ndie_thickness = 0.0\n" \
              "substrate_thickness = 0.0\nball_diameter = 0.0\n" \
              "[scatter.inputs]\n\"cte.bt\" = 0.03\n\"cte.sac105\" = 0.03\n"
    out = tmp_path / "o"
    assert main(["compare", _toml(tmp_path, scatter), "--out", str(out), "--no-figures",
                 "--monte-carlo", "5"]) == 0
    printed = capsys.readouterr().out
    assert "Monte Carlo, 5 samples" in printed
    saved = json.loads((out / "scatter" / "scatter.json").read_text())
    assert saved["samples"] == 5
    assert len((out / "scatter" / "samples.csv").read_text().strip().splitlines()) == 6
    assert saved["most_important"][RELATIVE_LIFE] in ("cte.bt", "cte.sac105")
    assert saved["weibull"][RELATIVE_LIFE]["beta"] > 0
