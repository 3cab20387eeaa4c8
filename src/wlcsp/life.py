"""Solder-joint fatigue life: Coffin-Manson, Engelmaier, Darveaux, Syed; Norris-Landzberg; Weibull.

Each model is a pure function of ranges (``delta_`` prefix: peak-to-peak per cycle) and a constant
set; the sets and their sources live in ``data/fatigue.toml`` and load into :data:`FATIGUE_LIBRARY`.
:func:`cycle_life` maps one bump's figures to ``{model: cycles}`` for the report.

Units: mm, MPa (energy density MPa = mJ/mm³ per cycle), s, °C; strains dimensionless; CTE 1/K.
Each model returns its own statistic: Engelmaier N50 (50 % failed), Darveaux the characteristic
life (63.2 %), Coffin-Manson and Syed the failure criterion of their calibration tests.
Formulas and worked values: shared/reference/literature.md §3.

Every set carries a :class:`SetInfo` (alloy family and composition, test conditions, modelling
procedure, stated accuracy). Defaults (fatigue.toml ``[alloys]``): no SAC constants for Engelmaier,
Coffin-Manson or Darveaux were retrieved (fatigue.toml header), so SAC105 and SAC305 default to
the SnPb sets, whose lives :mod:`wlcsp.life_report` labels as alloy mismatch; Syed's SnAgCu set is
the only SAC calibration. :func:`cycle_life` takes other sets by name (``sets``).

Norris-Landzberg defaults: Norris & Landzberg 1969 for SnPb, and for SAC the SAC305
set of J. Electron. Packag. 134(3) 2012 (n 2.3, m 0.3, 4562 K): it keeps the frequency form, and its
constants are quoted consistently, unlike the Pan 2005 set (2185 K vs 0.4 eV, dwell-term direction
unverified), which stays available in :data:`NORRIS_LANDZBERG`.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
from scipy import special, stats

from .errors import AnalysisError, DesignError
from .loading import TEMPERATURE_RANGE, Profile, parse_profile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PSI = 6.894757293168361e-3
"""1 psi in MPa (1 lbf = 4.4482216152605 N exactly, 1 in = 25.4 mm exactly)."""

INCH = 25.4
"""1 in in mm."""

KELVIN = 273.15
"""0 °C in K."""

ENGELMAIER_FREQUENCY_RANGE = (1.0, 1000.0)
"""Validity of the IPC-SM-785 frequency form of Engelmaier's exponent, cycles/day (lit §3.1)."""

SHEAR_PER_EQUIVALENT = math.sqrt(3.0)
"""Δγ = √3·Δε_eq: von Mises equivalent strain of pure shear is γ/√3; the strain-based sets are
shear calibrations (fatigue.toml header)."""

DNP_FACTOR = 1.0
"""Engelmaier's non-ideal factor F for the DNP hand check: 1 for the ideal joint, as in Sci. World
J. 2014:807693 Table 1 (range 0.5-1.5 there; 0.7-1.2 for leadless parts in IPC-D-279, lit §3.1)."""


ALLOY_FAMILIES = ("snpb", "sac")
"""Alloy systems a constant set is calibrated for (fatigue.toml ``family``)."""

MODEL_SET = {"coffin_manson": "coffin_manson", "engelmaier": "engelmaier",
             "engelmaier_dnp": "engelmaier", "darveaux": "darveaux", "syed_energy": "syed",
             "syed_strain": "syed"}
"""Life model (:data:`LIFE_MODELS`) -> the constant-set table of fatigue.toml it reads."""

LIFE_TABLES = tuple(dict.fromkeys(MODEL_SET.values()))
"""The constant-set tables of the life models (a design's ``[life]`` keys)."""


@dataclass(frozen=True)
class SetInfo:
    """What a constant set was calibrated on (fatigue.toml, issue 11).

    ``accuracy`` is the source's stated factor (the measured life within life/accuracy ..
    life·accuracy), None where the source states none; ``accuracy_note`` says which.
    """

    family: str
    alloy: str
    tests: str
    procedure: str
    accuracy: float | None
    accuracy_note: str


@dataclass(frozen=True)
class EngelmaierConstants:
    """ε_f' and the exponent c = c0 + c_temperature·T_SJ[°C] + c_rate·ln(1 + rate)."""

    ductility_coefficient: float
    c0: float
    c_temperature: float
    c_rate: float
    source: str = ""
    info: SetInfo | None = None


@dataclass(frozen=True)
class CoffinMansonConstants:
    """Δγ/2 = ε_f'·(2N)^c: ductility coefficient ε_f' (-) and exponent c < 0 (shear strain)."""

    ductility_coefficient: float
    ductility_exponent: float
    source: str = ""
    info: SetInfo | None = None


@dataclass(frozen=True)
class DarveauxConstants:
    """N0 = K1 ΔW^K2 (cycles, ΔW in MPa), da/dN = K3 ΔW^K4 (mm/cycle); the averaging layer (mm)."""

    K1: float
    K2: float
    K3: float
    K4: float
    interface_layer: float
    source: str = ""
    info: SetInfo | None = None


@dataclass(frozen=True)
class SyedConstants:
    """N = 1/(W' ΔW_acc) with W' in 1/MPa; N = 1/(C' Δε_acc)."""

    W_prime: float
    C_prime: float
    source: str = ""
    info: SetInfo | None = None


@dataclass(frozen=True)
class NorrisLandzbergConstants:
    """ΔT exponent n, rate exponent m, activation θ = Ea/k (K); rate 'frequency' or 'dwell'."""

    n: float
    m: float
    activation: float
    rate: str
    source: str = ""
    info: SetInfo | None = None


@dataclass(frozen=True)
class AlloyFatigue:
    """The constant set of every model for one solder alloy (None: no set for this alloy)."""

    name: str
    family: str
    engelmaier: EngelmaierConstants
    coffin_manson: CoffinMansonConstants
    darveaux: DarveauxConstants
    syed: SyedConstants | None
    norris_landzberg: NorrisLandzbergConstants
    note: str = ""


# --- the models --------------------------------------------------------------------------------

def coffin_manson(delta_strain, ductility_coefficient: float, ductility_exponent: float):
    """Cycles to failure from Δε/2 = ε_f'·(2N)^c, i.e. N = ½·[Δε/(2ε_f')]^(1/c).

    Parameters
    ----------
    delta_strain : float or ndarray
        Strain range per cycle (inelastic; total in the elastic estimate), same measure as the
        constants (shear for the bundled sets), in (0, 2ε_f').
    ductility_coefficient : float
        ε_f' (> 0).
    ductility_exponent : float
        c (< 0).

    Source: Manson, NACA TN 2933 (1953); Coffin, Trans. ASME 76:931 (1954); form as lit §3.1.
    """
    _check(ductility_coefficient, "ductility_coefficient", 0.0, math.inf)
    _check(ductility_exponent, "ductility_exponent", -math.inf, 0.0)
    _check(delta_strain, "delta_strain", 0.0, 2.0 * ductility_coefficient,
           "below 2 ε_f' (beyond it the joint fails within half a cycle)")
    return _out(0.5 * (np.asarray(delta_strain) / (2.0 * ductility_coefficient))
                ** (1.0 / ductility_exponent))


def engelmaier_exponent(mean_temperature, constants: EngelmaierConstants, *, dwell=None,
                        cycles_per_day=None):
    """Engelmaier's fatigue ductility exponent c (IPC-D-279 / IPC-SM-785).

    c = c0 + c_T·T_SJ + c_f·ln(1 + 360/t_D) with the half-cycle dwell t_D in minutes, or, given
    ``cycles_per_day`` f instead (1 <= f <= 1000), c = c0 + c_T·T_SJ + c_f·ln(1 + f).

    Parameters
    ----------
    mean_temperature : float
        Mean cyclic solder-joint temperature T_SJ, °C.
    dwell : float, optional
        Half-cycle dwell t_D, s (> 0).
    cycles_per_day : float, optional
        Cycling frequency f.

    Source: Engelmaier (1983), Solder Joints in Electronics Eqs. 3-5 (lit §3.1); worked value
    c(55 °C, 15 min) = -0.4189916.
    """
    _check(mean_temperature, "mean_temperature", *TEMPERATURE_RANGE)
    if (dwell is None) == (cycles_per_day is None):
        raise DesignError("dwell", dwell, "give exactly one of dwell (s) or cycles_per_day")
    if dwell is not None:
        _check(dwell, "dwell", 0.0, math.inf)
        rate = 360.0 / (np.asarray(dwell, dtype=float) / 60.0)
    else:
        lo, hi = ENGELMAIER_FREQUENCY_RANGE
        _check(cycles_per_day, "cycles_per_day", lo, hi, closed=True)
        rate = np.asarray(cycles_per_day, dtype=float)
    c = constants.c0 + constants.c_temperature * np.asarray(mean_temperature) \
        + constants.c_rate * np.log1p(rate)
    _check(c, "engelmaier_exponent", -math.inf, 0.0,
           "negative (the inputs leave the model's range)")
    return _out(c)


def engelmaier(delta_gamma, mean_temperature, constants: EngelmaierConstants, *, dwell=None,
               cycles_per_day=None):
    """Engelmaier N_f(50 %) = ½·[Δγ/(2ε_f')]^(1/c), c from :func:`engelmaier_exponent`.

    Parameters
    ----------
    delta_gamma : float or ndarray
        Cyclic shear strain range Δγ (-).
    mean_temperature, dwell, cycles_per_day
        As :func:`engelmaier_exponent` (°C, s, cycles/day).

    Source: Engelmaier (1983); IPC-D-279 (lit §3.1). Worked values: N50(0.065) = 121.80 and
    N50(0.028) = 909 at T_SJ = 55 °C, t_D = 15 min.
    """
    c = engelmaier_exponent(mean_temperature, constants, dwell=dwell,
                            cycles_per_day=cycles_per_day)
    return coffin_manson(delta_gamma, constants.ductility_coefficient, c)


def dnp_shear_strain(dnp, delta_cte, delta_T, joint_height, factor: float = DNP_FACTOR):
    """Closed-form DNP shear strain range Δγ = F·L_D·Δα·ΔT/h (rigid-plate shear lag limit).

    Parameters
    ----------
    dnp : float or ndarray
        Distance to the neutral point L_D, mm.
    delta_cte : float or ndarray
        CTE mismatch |α_substrate − α_component|, 1/K.
    delta_T : float or ndarray
        Cyclic temperature range, K.
    joint_height : float or ndarray
        Solder joint height h, mm.
    factor : float
        Engelmaier's non-ideal factor F (:data:`DNP_FACTOR`).

    Source: Engelmaier / IPC-D-279 (lit §3.1); = Chen & Nelson's rigid-plate limit (lit §5.5).
    Worked value: 10 mm, 14 ppm/K, 100 K, 0.5 mm -> 0.028.
    """
    for x, k in ((dnp, "dnp"), (delta_cte, "delta_cte"), (delta_T, "delta_T"),
                 (joint_height, "joint_height"), (factor, "factor")):
        _check(x, k, 0.0, math.inf)
    return _out(factor * np.asarray(dnp) * np.asarray(delta_cte) * np.asarray(delta_T)
                / np.asarray(joint_height))


def darveaux(delta_energy_density, crack_length, constants: DarveauxConstants):
    """Darveaux characteristic life N = K1·ΔW^K2 + a/(K3·ΔW^K4), cycles (63.2 % failed).

    Parameters
    ----------
    delta_energy_density : float or ndarray
        ΔW_ave, inelastic energy density per cycle volume-averaged over the interface layer of
        ``constants.interface_layer`` thickness, MPa (= mJ/mm³).
    crack_length : float or ndarray
        Crack path a: the pad (or land) diameter at the cracking interface, mm.

    Source: Darveaux, ECTC 2000 (lit §3.2).
    """
    _check(delta_energy_density, "delta_energy_density", 0.0, math.inf)
    _check(crack_length, "crack_length", 0.0, math.inf)
    w = np.asarray(delta_energy_density, dtype=float)
    initiation = constants.K1 * w ** constants.K2
    growth_rate = constants.K3 * w ** constants.K4
    return _out(initiation + np.asarray(crack_length) / growth_rate)


def syed_energy(delta_energy_density, constants: SyedConstants):
    """Syed energy model N = (W'·ΔW_acc)^-1, ΔW_acc the creep energy density per cycle (MPa).

    Source: Syed, ECTC 2004, W' = 0.0019 1/MPa for SnAgCu (lit §3.2).
    """
    _check(delta_energy_density, "delta_energy_density", 0.0, math.inf)
    return _out(1.0 / (constants.W_prime * np.asarray(delta_energy_density, dtype=float)))


def syed_strain(delta_creep_strain, constants: SyedConstants):
    """Syed strain model N = (C'·Δε_acc)^-1; Δε_acc accumulated equivalent creep strain per cycle.

    Source: Syed, ECTC 2004, C' = 0.0468 for SnAgCu (lit §3.2).
    """
    _check(delta_creep_strain, "delta_creep_strain", 0.0, 1.0)
    return _out(1.0 / (constants.C_prime * np.asarray(delta_creep_strain, dtype=float)))


def norris_landzberg(*, delta_T_test, delta_T_field, rate_test, rate_field, T_max_test,
                     T_max_field, constants: NorrisLandzbergConstants):
    """Acceleration factor AF = N_field/N_test (Norris & Landzberg 1969 form).

    AF = (ΔT_test/ΔT_field)^n · (r_field/r_test)^m · exp[θ·(1/T_max,field − 1/T_max,test)], T in K.

    Parameters
    ----------
    delta_T_test, delta_T_field : float
        Temperature ranges, K.
    rate_test, rate_field : float
        Cycling frequency (any one unit, e.g. cycles/day) or, for dwell-based sets, 1/dwell at
        T_max (1/s): see :func:`acceleration_factor`.
    T_max_test, T_max_field : float
        Peak temperatures, °C.

    Source: Norris & Landzberg, IBM J. Res. Dev. 13(3):266 (1969); constant sets in fatigue.toml.
    """
    for x, k in ((delta_T_test, "delta_T_test"), (delta_T_field, "delta_T_field"),
                 (rate_test, "rate_test"), (rate_field, "rate_field")):
        _check(x, k, 0.0, math.inf)
    _check(T_max_test, "T_max_test", *TEMPERATURE_RANGE)
    _check(T_max_field, "T_max_field", *TEMPERATURE_RANGE)
    arrhenius = constants.activation * (1.0 / (np.asarray(T_max_field) + KELVIN)
                                        - 1.0 / (np.asarray(T_max_test) + KELVIN))
    return _out((np.asarray(delta_T_test) / delta_T_field) ** constants.n
                * (np.asarray(rate_field) / rate_test) ** constants.m * np.exp(arrhenius))


def acceleration_factor(test: Profile, field: Profile, constants: NorrisLandzbergConstants):
    """AF = N_field/N_test between two cyclic profiles (:func:`norris_landzberg`).

    The rate term uses cycles/day (``rate = "frequency"``) or 1/(hot dwell) (``rate = "dwell"``,
    so (t_test/t_field)^m: a longer field dwell, like a lower field frequency, lowers AF).
    """
    if constants.rate == "frequency":
        r_test, r_field = test.cycles_per_day, field.cycles_per_day
    else:
        for p, k in ((test, "test"), (field, "field")):
            if p.dwell_hot <= 0:
                raise DesignError(f"{k}.dwell", p.dwell_hot,
                                  "a dwell-based set needs a hot dwell > 0 s")
        r_test, r_field = 1.0 / test.dwell_hot, 1.0 / field.dwell_hot
    return norris_landzberg(delta_T_test=test.delta_T, delta_T_field=field.delta_T,
                            rate_test=r_test, rate_field=r_field, T_max_test=test.T_max,
                            T_max_field=field.T_max, constants=constants)


# --- per-bump life ---------------------------------------------------------------------------

LIFE_MODELS: dict[str, str] = {
    "coffin_manson": "Coffin-Manson on Δγ = √3·delta_strain (Solomon's failure criterion)",
    "engelmaier": "Engelmaier N50 on Δγ = √3·delta_strain, c from the profile's T_mean and dwell",
    "engelmaier_dnp": "Engelmaier N50 on the closed-form DNP strain F·L_D·Δα·ΔT/h (hand check)",
    "darveaux": "Darveaux characteristic life (63.2 %) from delta_energy_density and pad_diameter",
    "syed_energy": "Syed energy model on delta_energy_density",
    "syed_strain": "Syed strain model on delta_strain",
}
"""The models :func:`cycle_life` knows, with their inputs and statistic."""


def cycle_life(alloy: str, profile: Profile | str | Mapping, *,
               delta_strain: float | None = None,
               delta_energy_density: float | None = None, dnp: float | None = None,
               joint_height: float | None = None, delta_cte: float | None = None,
               pad_diameter: float | None = None, models: list[str] | None = None,
               sets: Mapping[str, str] | None = None) -> dict[str, float]:
    """Cycles to failure of one bump, ``{model: cycles}``.

    Parameters
    ----------
    alloy : str
        Solder alloy in :data:`FATIGUE_LIBRARY` (``sac105``, ``sac305``, ``snpb63``).
    profile : Profile, str or mapping
        The cycle (T_mean, dwell or frequency, ΔT): a :class:`wlcsp.loading.Profile`, or a
        profile as a design's ``loading.profile`` gives it (a name such as ``"jedec_g"`` or a
        table), validated by :func:`wlcsp.loading.parse_profile`.
    delta_strain : float, optional
        Von Mises equivalent strain range per cycle (inelastic; total in the elastic estimate).
    delta_energy_density : float, optional
        Inelastic energy density per cycle over the Darveaux interface layer, MPa.
    dnp, joint_height, pad_diameter : float, optional
        Distance to the neutral point, joint height, pad diameter (mm).
    delta_cte : float, optional
        CTE mismatch across the joint, 1/K.
    models : list of str, optional
        Names from :data:`LIFE_MODELS`; default every model whose inputs and constants exist.
    sets : mapping, optional
        Constant-set table (``engelmaier``, ``coffin_manson``, ``darveaux``, ``syed``) -> set name
        in :data:`FATIGUE_SETS`, in place of the alloy's default (e.g. a design's ``[life]``).
    """
    if not isinstance(profile, Profile):
        profile = parse_profile(profile, "profile")
    inputs = {"delta_strain": delta_strain, "delta_energy_density": delta_energy_density,
              "dnp": dnp, "joint_height": joint_height, "delta_cte": delta_cte,
              "pad_diameter": pad_diameter}
    for name, value in inputs.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value) or value < 0):
            raise DesignError(name, value, "a finite number ≥ 0")
    lib = _with_sets(_alloy(alloy), sets or {})
    need = {
        "coffin_manson": {"delta_strain": delta_strain},
        "engelmaier": {"delta_strain": delta_strain},
        "engelmaier_dnp": {"dnp": dnp, "joint_height": joint_height, "delta_cte": delta_cte},
        "darveaux": {"delta_energy_density": delta_energy_density, "pad_diameter": pad_diameter},
        "syed_energy": {"delta_energy_density": delta_energy_density},
        "syed_strain": {"delta_strain": delta_strain},
    }
    if models is None:
        chosen = [m for m, ins in need.items() if all(v is not None for v in ins.values())
                  and (lib.syed is not None or not m.startswith("syed"))]
    else:
        chosen = list(models)
        for m in chosen:
            if m not in need:
                raise DesignError("life.models", m, f"unknown model; allowed: {', '.join(need)}")
            missing = [k for k, v in need[m].items() if v is None]
            if missing:
                raise DesignError("life.models", m, f"needs {', '.join(missing)}")
            if m.startswith("syed") and lib.syed is None:
                raise DesignError("life.models", m, f"no Syed constants for {alloy}")
    gamma = None if delta_strain is None else SHEAR_PER_EQUIVALENT * delta_strain
    out: dict[str, float] = {}
    for m in chosen:
        if m == "coffin_manson":
            cm = lib.coffin_manson
            out[m] = coffin_manson(gamma, cm.ductility_coefficient, cm.ductility_exponent)
        elif m in ("engelmaier", "engelmaier_dnp"):
            g = gamma if m == "engelmaier" else dnp_shear_strain(
                dnp, delta_cte, profile.delta_T, joint_height)
            if profile.dwell > 0:
                out[m] = engelmaier(g, profile.T_mean, lib.engelmaier, dwell=profile.dwell)
            else:
                out[m] = engelmaier(g, profile.T_mean, lib.engelmaier,
                                    cycles_per_day=profile.cycles_per_day)
        elif m == "darveaux":
            out[m] = darveaux(delta_energy_density, pad_diameter, lib.darveaux)
        elif m == "syed_energy":
            out[m] = syed_energy(delta_energy_density, lib.syed)  # type: ignore[arg-type]
        else:
            out[m] = syed_strain(delta_strain, lib.syed)  # type: ignore[arg-type]
    return out


# --- Weibull ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class WeibullFit:
    """Two-parameter Weibull F(N) = 1 − exp[−(N/η)^β]: η (cycles, 63.2 % failed), β (-)."""

    eta: float
    beta: float
    method: str
    n: int
    failures: int


def weibull_life(eta, beta, percent_failed):
    """Cycles by which ``percent_failed`` % have failed: N_x = η·[−ln(1 − x)]^(1/β).

    Source: lit §3.4; η = 500, β = 3 gives N50 = 442.4985.
    """
    _check(eta, "eta", 0.0, math.inf)
    _check(beta, "beta", 0.0, math.inf)
    _check(percent_failed, "percent_failed", 0.0, 100.0)
    x = np.asarray(percent_failed, dtype=float) / 100.0
    return _out(np.asarray(eta) * (-np.log1p(-x)) ** (1.0 / np.asarray(beta)))


def characteristic_life(cycles, beta, percent_failed=50.0):
    """η from the life at a given percentile (e.g. Engelmaier's N50): η = N_x/[−ln(1 − x)]^(1/β)."""
    return _out(np.asarray(cycles) / weibull_life(1.0, beta, percent_failed))


def plotting_positions(cycles, failed=None) -> tuple[np.ndarray, np.ndarray]:
    """Failure times (sorted) and their median-rank unreliability F for a Weibull plot or fit.

    Order numbers follow Johnson's rank adjustment for suspensions, j_i = j_(i−1) +
    (n + 1 − j_(i−1))/(1 + k_i), k_i the number of units at or beyond unit i; the median rank
    is the exact median of the order statistic, F = I⁻¹_0.5(j, n − j + 1) (Johnson, "The
    Statistical Treatment of Fatigue Experiments", 1964; Abernethy, The New Weibull Handbook).
    """
    t, f = _sample(cycles, failed)
    order = np.argsort(t, kind="stable")
    t, f, n = t[order], f[order], len(t)
    j, ranks = 0.0, []
    for i, fail in enumerate(f):
        if fail:
            j += (n + 1 - j) / (1 + n - i)
            ranks.append(j)
    r = np.asarray(ranks)
    return t[f], special.betaincinv(r, n - r + 1.0, 0.5)


def fit_weibull(cycles, failed=None, method: str = "mle") -> WeibullFit:
    """Fit η and β to cycles-to-failure; ``failed`` False marks a suspended (survived) unit.

    method ``"mle"``: maximum likelihood with right censoring (scipy.stats.weibull_min.fit on
    CensoredData, location fixed at 0). ``"median_ranks"``: least squares of ln N on
    ln(−ln(1 − F)) at :func:`plotting_positions` (rank regression on X, Abernethy's choice).
    """
    t, f = _sample(cycles, failed)
    if np.ptp(t[f]) == 0:
        raise DesignError("cycles", float(t[f][0]), "all failures equal: no spread to fit")
    if method == "mle":
        data = stats.CensoredData.right_censored(t, ~f) if not f.all() else t
        beta, _, eta = stats.weibull_min.fit(data, floc=0.0)
    elif method == "median_ranks":
        x, F = plotting_positions(t, f)
        res = stats.linregress(np.log(-np.log1p(-F)), np.log(x))
        beta, eta = 1.0 / res.slope, math.exp(res.intercept)
    else:
        raise DesignError("method", method, "allowed: mle, median_ranks")
    if not (math.isfinite(beta) and math.isfinite(eta) and beta > 0 and eta > 0):
        raise AnalysisError(f"Weibull {method} fit of {t.size} lives failed: "
                            f"eta = {eta}, beta = {beta}")
    return WeibullFit(float(eta), float(beta), method, len(t), int(f.sum()))


# --- the fatigue library ---------------------------------------------------------------------

def load_fatigue_library(text: str | None = None) -> tuple[dict[str, AlloyFatigue], dict]:
    """Read ``data/fatigue.toml`` (or the TOML ``text`` given).

    Returns
    -------
    alloys : dict
        :class:`AlloyFatigue` per alloy name.
    sets : dict
        Every constant set, by model then set name (``sets["norris_landzberg"]["snpb_1969"]``).
    """
    if text is None:
        text = resources.files("wlcsp").joinpath("data/fatigue.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    parsers = {
        "engelmaier": lambda v, k: EngelmaierConstants(**_numbers(v, k, (
            "ductility_coefficient", "c0", "c_temperature", "c_rate"))),
        "coffin_manson": _solomon,
        "darveaux": _darveaux,
        "syed": lambda v, k: SyedConstants(**_numbers(v, k, ("W_prime", "C_prime"))),
        "norris_landzberg": _norris_landzberg,
    }
    sets = {model: {name: dataclasses.replace(parse(v, f"{model}.{name}"),
                                              info=_info(v, f"{model}.{name}"))
                    for name, v in raw[model].items()}
            for model, parse in parsers.items()}
    alloys = {}
    for alloy, picks in raw["alloys"].items():
        chosen: dict[str, object] = {}
        for model, table in sets.items():
            name = picks.get(model)
            if name is None and model == "syed":
                chosen[model] = None
            elif name in table:
                chosen[model] = table[name]
            else:
                raise DesignError(f"alloys.{alloy}.{model}", name, f"allowed: {', '.join(table)}")
        family = picks.get("family")
        if family not in ALLOY_FAMILIES:
            raise DesignError(f"alloys.{alloy}.family", family,
                              f"allowed: {', '.join(ALLOY_FAMILIES)}")
        alloys[alloy] = AlloyFatigue(name=alloy, family=family, note=picks.get("note", ""),
                                     **chosen)  # type: ignore[arg-type]
    return alloys, sets


def _info(raw: Mapping[str, object], key: str) -> SetInfo:
    """The calibration record of one set; DesignError naming the key of a missing or bad field."""
    text = {}
    for name in ("alloy", "tests", "procedure"):
        v = raw.get(name)
        if not isinstance(v, str) or not v:
            raise DesignError(f"{key}.{name}", v, "every constant set needs it (a text)")
        text[name] = v
    if raw.get("family") not in ALLOY_FAMILIES:
        raise DesignError(f"{key}.family", raw.get("family"),
                          f"allowed: {', '.join(ALLOY_FAMILIES)}")
    accuracy = raw.get("accuracy")
    if accuracy is not None and (isinstance(accuracy, bool) or not isinstance(
            accuracy, (int, float)) or not 1.0 <= accuracy < math.inf):
        raise DesignError(f"{key}.accuracy", accuracy, "a factor >= 1 (or leave it out)")
    return SetInfo(family=str(raw["family"]), accuracy=None if accuracy is None
                   else float(accuracy), accuracy_note=str(raw.get("accuracy_note", "")), **text)


def _numbers(raw: Mapping[str, object], key: str, names: tuple[str, ...]) -> dict:
    out: dict[str, object] = {"source": raw.get("source", "")}
    if not out["source"]:
        raise DesignError(f"{key}.source", None, "every constant set needs its source")
    for n in names:
        v = raw.get(n)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise DesignError(f"{key}.{n}", v, "expected a finite number")
        out[n] = float(v)
    return out


def _solomon(raw: Mapping[str, object], key: str) -> CoffinMansonConstants:
    """Solomon's N^α·Δγ = θ as Δγ/2 = ε_f'(2N)^c: c = −α, ε_f' = θ·2^(α−1)."""
    v = _numbers(raw, key, ("theta", "alpha"))
    return CoffinMansonConstants(v["theta"] * 2.0 ** (v["alpha"] - 1.0), -v["alpha"], v["source"])


def _darveaux(raw: Mapping[str, object], key: str) -> DarveauxConstants:
    """Convert a psi/inch Darveaux set once: K1·PSI^−K2 (cycles/MPa^K2), K3·INCH·PSI^−K4 (mm)."""
    v = _numbers(raw, key, ("K1", "K2", "K3", "K4", "interface_layer"))
    if raw.get("units") != "psi_inch":
        raise DesignError(f"{key}.units", raw.get("units"), "allowed: psi_inch")
    return DarveauxConstants(v["K1"] * PSI ** -v["K2"], v["K2"], v["K3"] * INCH * PSI ** -v["K4"],
                             v["K4"], v["interface_layer"], v["source"])


def _norris_landzberg(raw: Mapping[str, object], key: str) -> NorrisLandzbergConstants:
    v = _numbers(raw, key, ("n", "m", "activation"))
    if raw.get("rate") not in ("frequency", "dwell"):
        raise DesignError(f"{key}.rate", raw.get("rate"), "allowed: frequency, dwell")
    return NorrisLandzbergConstants(rate=str(raw["rate"]), **v)


def default_sets(alloy: str) -> dict[str, str]:
    """Constant table -> name of the alloy's default set (fatigue.toml ``[alloys]``); {} if unknown.

    The life-model tables only (``engelmaier``, ``coffin_manson``, ``darveaux``, ``syed``), and
    ``syed`` only where the alloy has a set.
    """
    lib = FATIGUE_LIBRARY.get(alloy)
    if lib is None:
        return {}
    return {table: next(n for n, v in FATIGUE_SETS[table].items() if v is getattr(lib, table))
            for table in LIFE_TABLES if getattr(lib, table) is not None}


def _with_sets(lib: AlloyFatigue, sets: Mapping[str, str]) -> AlloyFatigue:
    """``lib`` with the named sets of ``sets`` (table -> set name) in place of its defaults."""
    chosen = {}
    for table, name in sets.items():
        if table not in FATIGUE_SETS or table == "norris_landzberg":
            raise DesignError(f"life.{table}", name, "unknown constant table; allowed: "
                              + ", ".join(sorted(set(MODEL_SET.values()))))
        if name not in FATIGUE_SETS[table]:
            raise DesignError(f"life.{table}", name,
                              f"unknown set; allowed: {', '.join(FATIGUE_SETS[table])}")
        chosen[table] = FATIGUE_SETS[table][name]
    return dataclasses.replace(lib, **chosen) if chosen else lib


def _alloy(alloy: str) -> AlloyFatigue:
    if alloy not in FATIGUE_LIBRARY:
        raise DesignError("bumps.material", alloy,
                          f"no fatigue constants; allowed: {', '.join(FATIGUE_LIBRARY)}")
    return FATIGUE_LIBRARY[alloy]


def _sample(cycles, failed) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(cycles, dtype=float).ravel()
    f = np.ones(t.shape, bool) if failed is None else np.asarray(failed, dtype=bool).ravel()
    if f.shape != t.shape:
        raise DesignError("failed", f"{f.size} flags", f"one per life; {t.size} lives given")
    _check(t, "cycles", 0.0, math.inf)
    if f.sum() < 2:
        raise DesignError("failed", int(f.sum()), "a Weibull fit needs at least 2 failures")
    return t, f


def _check(x, key: str, lo: float, hi: float, allowed: str = "", closed: bool = False) -> None:
    """Raise DesignError(key, first bad value, range) unless every x is finite within (lo, hi)."""
    a = np.asarray(x, dtype=float)
    ok = np.isfinite(a) & ((a >= lo) & (a <= hi) if closed else (a > lo) & (a < hi))
    if not ok.all():
        bad = a.ravel()[~ok.ravel()][0]
        br = "[]" if closed else "()"
        raise DesignError(key, float(bad),
                          allowed or f"expected a value in {br[0]}{lo:g}, {hi:g}{br[1]}")


def _out(a):
    a = np.asarray(a, dtype=float)
    return float(a) if a.ndim == 0 else a


FATIGUE_LIBRARY, FATIGUE_SETS = load_fatigue_library()
"""Fatigue constants per alloy (by material-library name); every constant set by model, name."""

NORRIS_LANDZBERG: dict[str, NorrisLandzbergConstants] = FATIGUE_SETS["norris_landzberg"]
"""Every Norris-Landzberg set by name (``snpb_1969``, ``sac305_2012``, ``sac_pan2005``)."""
