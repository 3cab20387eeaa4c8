"""Fatigue models, acceleration factors and Weibull statistics against worked cases and hand values.

Sources of the oracles: shared/reference/literature.md §3 (Engelmaier worked values, Weibull N50),
the closed forms written out in each docstring (computed by hand on a different code path), and
scipy for the Weibull distribution itself.
"""

import dataclasses
import math

import numpy as np
import pytest
from scipy import optimize, stats

from wlcsp import life
from wlcsp.errors import DesignError
from wlcsp.life import (
    FATIGUE_LIBRARY,
    NORRIS_LANDZBERG,
    acceleration_factor,
    characteristic_life,
    coffin_manson,
    cycle_life,
    darveaux,
    dnp_shear_strain,
    engelmaier,
    engelmaier_exponent,
    fit_weibull,
    norris_landzberg,
    plotting_positions,
    syed_energy,
    syed_strain,
    weibull_life,
)
from wlcsp.loading import named_profile, parse_profile

ENGELMAIER_C_ABS = 1e-7
"""lit §3.1 prints c(55 °C, 15 min) = -0.4189916 (7 decimals)."""

PRINTED_2DP = 0.005
"""Absolute tolerance on a value printed to two decimals (N50 = 121.80)."""

PRINTED_INT = 0.5
"""Absolute tolerance on a value printed as an integer (909 cycles)."""

HAND = 1e-9
"""Relative tolerance between two code paths of the same closed form."""

WEIBULL_N50_ABS = 5e-5
"""lit §3.4 prints N50 = 442.4985 (4 decimals)."""

MLE_REL = 1e-5
"""scipy's optimiser against the root of the Weibull likelihood equations."""

BERNARD_ABS = 3e-3
"""Bernard's approximation (j − 0.3)/(n + 0.4) of the median rank is good to a few 1e-3."""

SNPB = FATIGUE_LIBRARY["snpb63"]
SAC = FATIGUE_LIBRARY["sac105"]


# --- Engelmaier ------------------------------------------------------------------------------

def test_engelmaier_exponent_worked_case():
    """Engelmaier: c = -0.442 - 6e-4·55 + 1.74e-2·ln(1 + 360/15) = -0.4189916 (lit §3.1)."""
    c = engelmaier_exponent(55.0, SNPB.engelmaier, dwell=15 * 60.0)
    assert c == pytest.approx(-0.4189916, abs=ENGELMAIER_C_ABS)


def test_engelmaier_exponent_frequency_form():
    """IPC-SM-785 form, T_SJ = 25 °C, f = 24/day: c = -0.442 - 0.015 + 0.0174·ln 25 = -0.4009916."""
    c = engelmaier_exponent(25.0, SNPB.engelmaier, cycles_per_day=24.0)
    assert c == pytest.approx(-0.442 - 0.015 + 0.0174 * math.log(25.0), rel=HAND)
    assert c == pytest.approx(-0.4009916, abs=ENGELMAIER_C_ABS)


def test_engelmaier_n50_worked_case():
    """N50 = ½·(0.065/0.65)^(1/c) = 121.80 cycles at 55 °C, 15 min dwell (lit §3.1)."""
    n = engelmaier(0.065, 55.0, SNPB.engelmaier, dwell=900.0)
    assert n == pytest.approx(121.80, abs=PRINTED_2DP)


def test_dnp_strain_and_life_worked_case():
    """Δγ = 10 mm · 14e-6/K · 100 K / 0.5 mm = 0.028, N50 = 909 cycles (lit §3.1)."""
    g = dnp_shear_strain(10.0, abs(17e-6 - 3e-6), 100.0, 0.5)
    assert g == pytest.approx(0.028, rel=HAND)
    assert engelmaier(g, 55.0, SNPB.engelmaier, dwell=900.0) == pytest.approx(909, abs=PRINTED_INT)


def test_cycle_life_reproduces_the_dnp_worked_case():
    """The same worked case through the report path: 909 cycles.

    A 5/105 °C cycle (T_mean 55 °C, ΔT 100 K) with 15 min dwells, DNP 10 mm, Δα 14 ppm/K, h 0.5 mm.
    """
    p = parse_profile({"min": 5.0, "max": 105.0, "ramp": 600.0, "dwell": 900.0})
    out = cycle_life("snpb63", p, dnp=10.0, joint_height=0.5, delta_cte=14e-6)
    assert out == {"engelmaier_dnp": pytest.approx(909, abs=PRINTED_INT)}


# --- Coffin-Manson, Darveaux, Syed ------------------------------------------------------------

def test_coffin_manson_matches_solomons_form():
    """Solomon (1986): N^0.51·Δγ = 1.14, so N = (0.02/1.14)^(-1/0.51) = 2772.63 at Δγ = 0.02.

    The library stores it as Δγ/2 = ε_f'(2N)^c (c = -α, ε_f' = θ·2^(α-1)); both must agree.
    """
    cm = SNPB.coffin_manson
    n = coffin_manson(0.02, cm.ductility_coefficient, cm.ductility_exponent)
    assert n == pytest.approx((0.02 / 1.14) ** (-1 / 0.51), rel=HAND)
    assert n == pytest.approx(2772.63, abs=PRINTED_2DP)


def test_darveaux_against_the_psi_inch_form():
    """Darveaux (2000) in its own units: ΔW = 0.1 MPa = 14.5038 psi, a = 0.25 mm = 0.009843 in.

    N0 = 22400·14.5038^-1.52 = 384.41; da/dN = 5.86e-7·14.5038^0.98 = 8.0565e-6 in/cycle;
    N = 384.41 + 0.009843/8.0565e-6 = 1606.09 cycles.
    """
    w_psi = 0.1 / 6.894757293168361e-3
    a_in = 0.25 / 25.4
    by_hand = 22400.0 * w_psi**-1.52 + a_in / (5.86e-7 * w_psi**0.98)
    assert darveaux(0.1, 0.25, SNPB.darveaux) == pytest.approx(by_hand, rel=HAND)
    assert by_hand == pytest.approx(1606.09, abs=PRINTED_2DP)
    assert SNPB.darveaux.interface_layer == pytest.approx(0.0254, rel=HAND)


def test_syed_forms():
    """Syed (2004): N = 1/(0.0019·0.5) = 1052.63; N = 1/(0.0468·0.01) = 2136.75."""
    assert syed_energy(0.5, SAC.syed) == pytest.approx(1052.63, abs=PRINTED_2DP)
    assert syed_strain(0.01, SAC.syed) == pytest.approx(2136.75, abs=PRINTED_2DP)


def test_models_take_arrays():
    w = np.array([0.05, 0.1, 0.2])
    n = darveaux(w, 0.25, SNPB.darveaux)
    assert n.shape == (3,)
    assert n[1] == pytest.approx(darveaux(0.1, 0.25, SNPB.darveaux), rel=HAND)


# --- monotonic sanity and sensitivity ----------------------------------------------------------

def test_life_falls_as_dnp_delta_t_and_cte_mismatch_grow():
    """Δγ = L_D·Δα·ΔT/h grows with each, so Engelmaier's N50 must fall (c < 0)."""
    def n(dnp=2.0, cte=12e-6, prof="jedec_k"):
        return cycle_life("sac105", named_profile(prof), dnp=dnp, joint_height=0.2,
                          delta_cte=cte)["engelmaier_dnp"]
    assert n(dnp=1.0) > n(dnp=2.0) > n(dnp=4.0)
    assert n(cte=6e-6) > n(cte=12e-6) > n(cte=18e-6)
    # K (0/125), B (-55/125) and C (-65/150): ΔT = 125, 180, 215 K
    assert n(prof="jedec_k") > n(prof="jedec_b") > n(prof="jedec_c")


@pytest.mark.parametrize("model", ["coffin_manson", "engelmaier", "syed_strain"])
def test_strain_models_fall_with_strain(model):
    p = named_profile("jedec_g")
    lives = [cycle_life("sac105", p, delta_strain=e, models=[model])[model]
             for e in (0.005, 0.01, 0.02)]
    assert lives[0] > lives[1] > lives[2]


@pytest.mark.parametrize("model", ["darveaux", "syed_energy"])
def test_energy_models_fall_with_energy(model):
    p = named_profile("jedec_g")
    lives = [cycle_life("sac105", p, delta_energy_density=w, pad_diameter=0.25,
                        models=[model])[model] for w in (0.05, 0.1, 0.2)]
    assert lives[0] > lives[1] > lives[2]


SENSITIVITY = [
    (coffin_manson, {"delta_strain": 0.02, "ductility_coefficient": 0.8,
                     "ductility_exponent": -0.5}, ()),
    (engelmaier_exponent, {"mean_temperature": 50.0, "dwell": 900.0,
                           "constants": SNPB.engelmaier}, ("ductility_coefficient",)),
    (engelmaier_exponent, {"mean_temperature": 50.0, "cycles_per_day": 24.0,
                           "constants": SNPB.engelmaier}, ("ductility_coefficient",)),
    (engelmaier, {"delta_gamma": 0.03, "mean_temperature": 50.0, "dwell": 900.0,
                  "constants": SNPB.engelmaier}, ()),
    (dnp_shear_strain, {"dnp": 2.0, "delta_cte": 1e-5, "delta_T": 165.0, "joint_height": 0.2,
                        "factor": 1.0}, ()),
    (darveaux, {"delta_energy_density": 0.1, "crack_length": 0.25, "constants": SNPB.darveaux},
     ("interface_layer",)),
    (syed_energy, {"delta_energy_density": 0.1, "constants": SAC.syed}, ("C_prime",)),
    (syed_strain, {"delta_creep_strain": 0.01, "constants": SAC.syed}, ("W_prime",)),
    (norris_landzberg, {"delta_T_test": 165.0, "delta_T_field": 60.0, "rate_test": 24.0,
                        "rate_field": 2.0, "T_max_test": 125.0, "T_max_field": 70.0,
                        "constants": NORRIS_LANDZBERG["sac305_2012"]}, ()),
    (weibull_life, {"eta": 500.0, "beta": 3.0, "percent_failed": 10.0}, ()),
]
"""(model, inputs, constant fields that belong to a sibling model of the same set)."""


def _perturbations(kwargs, skip):
    """Every numeric input, and every numeric field of a constant set, scaled by 1.1."""
    for k, v in kwargs.items():
        if isinstance(v, float):
            yield k, {**kwargs, k: v * 1.1}
        elif dataclasses.is_dataclass(v):
            for f in dataclasses.fields(v):
                x = getattr(v, f.name)
                if isinstance(x, float) and f.name not in skip:
                    new = dataclasses.replace(v, **{f.name: x * 1.1})
                    yield f"{k}.{f.name}", {**kwargs, k: new}


@pytest.mark.parametrize(("func", "kwargs", "skip"), SENSITIVITY,
                         ids=lambda x: getattr(x, "__name__", ""))
def test_every_parameter_changes_the_result(func, kwargs, skip):
    """A 10 % change of any input or constant moves the result by more than 1e-6 (relative).

    Skipped fields are used by the sibling function (ε_f' by engelmaier, not by its exponent; C'
    by syed_strain, W' by syed_energy) or by the post-processing (the Darveaux layer thickness).
    """
    base = func(**kwargs)
    for name, changed in _perturbations(kwargs, skip):
        assert abs(func(**changed) / base - 1) > 1e-6, name


# --- Norris-Landzberg --------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(NORRIS_LANDZBERG))
def test_acceleration_factor_is_one_for_identical_conditions(name):
    p = named_profile("ipc_tc3")
    assert acceleration_factor(p, p, NORRIS_LANDZBERG[name]) == pytest.approx(1.0, rel=HAND)


def test_norris_landzberg_snpb_hand_value():
    """SnPb, test -55/125 °C at 24/day, field 0/60 °C at 1/day: AF = 5.5897.

    AF = (180/60)^1.9 · (1/24)^(1/3) · exp[1414·(1/333.15 − 1/398.15)]
       = 8.0636 · 0.34668 · 1.99951 = 5.5897.
    """
    test = parse_profile({"min": -55, "max": 125, "ramp": 900, "dwell": 900})  # 1 h: 24/day
    field = parse_profile({"points": [[0, 60], [43200, 0], [86400, 60]]})     # 1/day
    af = acceleration_factor(test, field, NORRIS_LANDZBERG["snpb_1969"])
    assert af == pytest.approx(5.5897, abs=5e-5)


def test_dwell_set_longer_field_dwell_lowers_af():
    """Pan (2005) set, rate = dwell: (t_test/t_field)^0.136.

    A 4x longer field dwell gives 4^-0.136 = 0.8282 of the AF at equal dwell.
    """
    test = parse_profile({"min": -40, "max": 125, "ramp": 600, "dwell": 900})
    same = parse_profile({"min": 0, "max": 100, "ramp": 600, "dwell": 900})
    long = parse_profile({"min": 0, "max": 100, "ramp": 600, "dwell": 3600})
    pan = NORRIS_LANDZBERG["sac_pan2005"]
    ratio = acceleration_factor(test, long, pan) / acceleration_factor(test, same, pan)
    assert ratio == pytest.approx(4.0**-0.136, rel=HAND)


# --- Weibull ---------------------------------------------------------------------------------

def test_weibull_n50_worked_case():
    """η = 500, β = 3: N50 = 500·(ln 2)^(1/3) = 442.4985 (lit §3.4), and scipy agrees."""
    assert weibull_life(500.0, 3.0, 50.0) == pytest.approx(442.4985, abs=WEIBULL_N50_ABS)
    for pct in (1.0, 10.0, 63.2, 99.0):
        assert weibull_life(500.0, 3.0, pct) == pytest.approx(
            stats.weibull_min.ppf(pct / 100, 3.0, scale=500.0), rel=HAND)


def test_ipc_percentile_scaling():
    """IPC-D-279 percentile scaling N(x %) = N50·[ln(1 − x)/ln 0.5]^(1/β) (lit §3.4).

    With N50 = 909 and β = 4 the 1 % life is 909·(ln 0.99/ln 0.5)^(1/4), here reached through
    η = characteristic_life(N50, β).
    """
    eta = characteristic_life(909.0, 4.0)
    ipc = 909.0 * (math.log(0.99) / math.log(0.5)) ** 0.25
    assert weibull_life(eta, 4.0, 1.0) == pytest.approx(ipc, rel=HAND)


def _weibull_mle_by_hand(t, failed):
    """Root of the right-censored Weibull likelihood equations.

    Σt^β ln t/Σt^β − 1/β − mean(ln t_failed) = 0, η = (Σt^β/r)^(1/β), sums over all units,
    r failures (Lawless, Statistical Models and Methods for Lifetime Data, 2nd ed., §5.2).
    """
    lt, r = np.log(t), failed.sum()

    def g(b):
        w = t**b
        return (w * lt).sum() / w.sum() - 1 / b - lt[failed].mean()

    b = optimize.brentq(g, 0.05, 50.0, xtol=1e-14)
    return ((t**b).sum() / r) ** (1 / b), b


@pytest.mark.parametrize("censor_at", [None, 550.0])
def test_fit_weibull_mle_solves_the_likelihood_equations(censor_at):
    t = stats.weibull_min.rvs(3.0, scale=500.0, size=40, random_state=np.random.default_rng(7))
    failed = np.ones(t.size, bool) if censor_at is None else t < censor_at
    t = np.where(failed, t, censor_at or 0.0)  # suspended units are taken off at censor_at
    fit = fit_weibull(t, failed)
    eta, beta = _weibull_mle_by_hand(t, failed)
    assert fit.eta == pytest.approx(eta, rel=MLE_REL)
    assert fit.beta == pytest.approx(beta, rel=MLE_REL)
    assert (fit.n, fit.failures) == (40, int(failed.sum()))


def test_median_rank_regression_recovers_an_exact_line():
    """Lives placed exactly at the median ranks of η = 800, β = 2.5 fit back to η, β."""
    n = 12
    _, F = plotting_positions(np.arange(1.0, n + 1))
    t = 800.0 * (-np.log1p(-F)) ** (1 / 2.5)
    fit = fit_weibull(t, method="median_ranks")
    assert fit.eta == pytest.approx(800.0, rel=HAND)
    assert fit.beta == pytest.approx(2.5, rel=HAND)


def test_plotting_positions_with_suspensions():
    """Johnson's adjustment, n = 5, units F S F F S (by time).

    Order numbers 1, 1 + 5/4 = 2.25, 2.25 + 3.75/3 = 3.5. The first median rank is exactly
    1 − 0.5^(1/5); the rest are close to Bernard's (j − 0.3)/(n + 0.4).
    """
    t = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    x, F = plotting_positions(t, [True, False, True, True, False])
    np.testing.assert_array_equal(x, [10.0, 30.0, 40.0])
    assert F[0] == pytest.approx(1 - 0.5**0.2, rel=HAND)
    np.testing.assert_allclose(F, (np.array([1.0, 2.25, 3.5]) - 0.3) / 5.4, atol=BERNARD_ABS)


def test_weibull_plot(tmp_path):
    """The fitted line passes through (η, 63.2 %), and the figure is written when asked."""
    from wlcsp.plots import weibull_plot

    t = stats.weibull_min.rvs(3.0, scale=500.0, size=15, random_state=np.random.default_rng(3))
    fit = fit_weibull(t)
    fig = weibull_plot(t, fit=fit, path=tmp_path / "w.png")
    x, y = fig.axes[0].lines[1].get_data()
    assert np.interp(np.log(fit.eta), np.log(x), np.log(-np.log1p(-y))) == pytest.approx(
        0.0, abs=1e-3)
    assert (tmp_path / "w.png").stat().st_size > 0


# --- cycle_life and the library ----------------------------------------------------------------

def test_cycle_life_models_and_alloys():
    p = named_profile("jedec_g")
    full = {"delta_strain": 0.01, "delta_energy_density": 0.1, "dnp": 2.0, "joint_height": 0.2,
            "delta_cte": 12e-6, "pad_diameter": 0.25}
    assert set(cycle_life("sac105", p, **full)) == set(life.LIFE_MODELS)
    assert "syed_energy" not in cycle_life("snpb63", p, **full)
    assert set(cycle_life("sac105", p, delta_strain=0.01)) == {
        "coffin_manson", "engelmaier", "syed_strain"}
    tri = parse_profile({"min": -40, "max": 125, "ramp": 900, "dwell": 0})  # frequency form
    by_f = engelmaier(math.sqrt(3) * 0.01, 42.5, SAC.engelmaier, cycles_per_day=48.0)
    assert cycle_life("sac105", tri, delta_strain=0.01, models=["engelmaier"])[
        "engelmaier"] == pytest.approx(by_f, rel=HAND)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"alloy": "sac999"}, "bumps.material"),
        ({"models": ["miner"]}, "life.models"),
        ({"models": ["darveaux"]}, "life.models"),
        ({"alloy": "snpb63", "models": ["syed_strain"], "delta_strain": 0.01}, "life.models"),
        ({"delta_strain": -0.01}, "delta_strain"),
        ({"delta_strain": 0.5}, "delta_strain"),
    ],
)
def test_cycle_life_bad_input(kwargs, key):
    kwargs = {"alloy": "sac105", "profile": named_profile("jedec_g"), **kwargs}
    with pytest.raises(DesignError) as err:
        cycle_life(**kwargs)
    assert err.value.key == key
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("call", "key"),
    [
        (lambda: engelmaier_exponent(55.0, SNPB.engelmaier), "dwell"),
        (lambda: engelmaier_exponent(55.0, SNPB.engelmaier, dwell=0.0), "dwell"),
        (lambda: engelmaier_exponent(55.0, SNPB.engelmaier, cycles_per_day=2000.0),
         "cycles_per_day"),
        (lambda: engelmaier(0.7, 55.0, SNPB.engelmaier, dwell=900.0), "delta_strain"),
        (lambda: darveaux(0.0, 0.25, SNPB.darveaux), "delta_energy_density"),
        (lambda: darveaux(0.1, np.nan, SNPB.darveaux), "crack_length"),
        (lambda: dnp_shear_strain(2.0, 1e-5, 165.0, -0.2), "joint_height"),
        (lambda: weibull_life(500.0, 3.0, 100.0), "percent_failed"),
        (lambda: fit_weibull([100.0, 200.0, 300.0], [True, False, False]), "failed"),
        (lambda: fit_weibull([100.0, 200.0], method="lsq"), "method"),
        (lambda: fit_weibull([100.0, -200.0]), "cycles"),
        (lambda: fit_weibull([100.0, 100.0, 100.0]), "cycles"),
    ],
)
def test_model_bad_input(call, key):
    with pytest.raises(DesignError) as err:
        call()
    assert err.value.key == key


def test_every_constant_set_has_a_source():
    _, sets = life.load_fatigue_library()
    for model, table in sets.items():
        for name, constants in table.items():
            assert constants.source, f"{model}.{name}"
    for alloy in FATIGUE_LIBRARY.values():
        assert alloy.note


def test_library_rejects_a_set_without_source():
    from importlib import resources

    text = resources.files("wlcsp").joinpath("data/fatigue.toml").read_text(encoding="utf-8")
    broken = text.replace('source = "A. Syed', 'origin = "A. Syed')
    with pytest.raises(DesignError) as err:
        life.load_fatigue_library(broken)
    assert err.value.key == "syed.syed_2004_sac.source"


def test_cycle_life_takes_a_profile_as_a_design_gives_it():
    """The Python API validates as the CLI does (issue 12, item 5).

    A profile name or table is parsed; a bad one or a non-finite input is a DesignError naming
    the argument.
    """
    by_name = cycle_life("sac305", "jedec_g", delta_strain=0.01)
    assert by_name == cycle_life("sac305", parse_profile("jedec_g"), delta_strain=0.01)
    with pytest.raises(DesignError, match="profile = 'jedec_x': unknown profile"):
        cycle_life("sac305", "jedec_x", delta_strain=0.01)
    with pytest.raises(DesignError, match="delta_strain = nan: a finite number"):
        cycle_life("sac305", "jedec_g", delta_strain=float("nan"))
    with pytest.raises(DesignError, match="delta_energy_density = -1"):
        cycle_life("sac305", "jedec_g", delta_energy_density=-1.0, pad_diameter=0.25)
