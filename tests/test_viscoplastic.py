"""Anand and Garofalo solder models at the material point (wlcsp.fem.viscoplastic).

Oracles: the Anand steady-state closed form (Brown, Kim & Anand 1989; literature.md §2.1), the
Garofalo creep law itself (literature.md §2.2), an independent scipy ``solve_ivp`` (Radau)
integration of the same ODEs, central finite differences of the stress for the tangent, and the
backward-Euler equations themselves.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from wlcsp.errors import DesignError
from wlcsp.fem import viscoplastic as vp
from wlcsp.materials import ABSOLUTE_ZERO, LIBRARY, Material

SAC = LIBRARY["sac305"]
ANAND = vp.solder_law(SAC, "anand")
GAROFALO = vp.solder_law(SAC, "garofalo")

TABLE_ROUNDING = 0.003
"""The closed-form σ* of literature.md §2.1 is printed to 0.1 MPa: ≤ 0.05/22.8 = 0.22 %."""
SATURATION_TOL = 0.01
"""Integrated uniaxial response against the closed-form saturation stress (issue 5)."""
IVP_TOL = 0.01
"""Backward Euler against solve_ivp, as a fraction of the largest |stress| of the history."""
IVP_RTOL = 1e-9
"""Relative tolerance of the reference solve_ivp (Radau) integration."""
TANGENT_TOL = 1e-6
"""Consistent tangent against central differences (step 1e-9), relative to max |D|."""
QUADRATIC_ORDER = 1.8
"""Least observed convergence order of the strain-driven Newton iteration (2 in theory)."""
RESIDUAL_FLOOR = 1e-10
"""Stress residual (MPa) below which rounding and the return-mapping tolerance (RTOL·σ_tr,
σ_tr ~ 500 MPa here, met with quadratic overshoot) blur the convergence order."""
STEP_HALVING_TOL = 0.02
"""Change in the per-cycle inelastic energy when the time step is halved (issue 5)."""
CREEP_RATE_TOL = 1e-9
"""Garofalo: backward Euler is exact at constant stress, up to the solver tolerance."""
BE_RESIDUAL_TOL = 1e-6
"""Backward-Euler equations at the returned state (relative). σ_eq recomputed from the stress
loses digits to the pressure (up to 1e4 MPa against σ_eq ~ 30 MPa in these random steps), and
the rate amplifies a relative stress error by ξσ/(m s) ~ 20."""


def _isotropic(material: Material, T: float) -> tuple[float, float]:
    """Lamé λ and shear modulus μ (MPa) at T (°C)."""
    E, nu = material.youngs_modulus(T), material.poisson(T)
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))


def _anand_rhs(strain_of_t, temp_of_t, t_ref: float):
    """Right-hand side of the Anand ODEs in y = (ε_in (4, engineering shear), s).

    Written from literature.md §2.1 independently of the model code: σ = C(T)(ε − ε_th − ε_in),
    ε̇_in = (3/2) ṗ dev σ / σ_eq, ṗ = A e^{−Q/RT} sinh(ξσ_eq/s)^{1/m},
    ṡ = h0 |1 − s/s*|^a sign(1 − s/s*) ṗ, s* = ŝ (ṗ e^{Q/RT}/A)^n.
    """
    c = ANAND

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        T = temp_of_t(t)
        lam, mu = _isotropic(SAC, T)
        el = strain_of_t(t) - y[:4]
        el[:3] -= SAC.thermal_strain(T, t_ref)
        tr = el[:3].sum()
        sig = np.array([lam * tr + 2 * mu * el[0], lam * tr + 2 * mu * el[1],
                        lam * tr + 2 * mu * el[2], mu * el[3]])
        dev = sig - np.array([1, 1, 1, 0]) * tr * (lam + 2 * mu / 3)
        seq = np.sqrt(1.5 * (dev[0] ** 2 + dev[1] ** 2 + dev[2] ** 2 + 2 * dev[3] ** 2))
        if seq == 0.0:
            return np.zeros(5)
        TK = T - ABSOLUTE_ZERO
        pdot = c.A * np.exp(-c.Q_R / TK) * np.sinh(c.xi * seq / y[4]) ** (1 / c.m)
        s_star = c.s_hat * (pdot / c.A * np.exp(c.Q_R / TK)) ** c.n
        u = 1 - y[4] / s_star
        out = np.empty(5)
        out[:4] = 1.5 * pdot * dev / seq * np.array([1, 1, 1, 2])
        out[4] = c.h0 * abs(u) ** c.a * np.sign(u) * pdot
        return out

    return rhs


def _march(law, strain_of_t, temp_of_t, times: np.ndarray, t_ref: float) -> tuple:
    """Backward-Euler stress history of one strain-driven point on the time grid ``times``."""
    state = vp.initial_state(law, 1)
    stress = [np.zeros(4)]
    for t0, t1 in itertools.pairwise(times):
        u = vp.update(SAC, law, state, strain_of_t(t1)[None, :], temp_of_t(t1), t_ref, t1 - t0)
        state = u.state
        stress.append(u.stress[0])
    return np.array(stress), state


def _ivp_stress(strain_of_t, temp_of_t, times: np.ndarray, t_ref: float) -> np.ndarray:
    """Reference stress history from solve_ivp (Radau) of the Anand ODEs, at ``times``."""
    rhs = _anand_rhs(strain_of_t, temp_of_t, t_ref)
    sol = solve_ivp(rhs, (times[0], times[-1]), np.r_[np.zeros(4), ANAND.s0], method="Radau",
                    t_eval=times, rtol=IVP_RTOL, atol=1e-14)
    assert sol.success, sol.message
    out = []
    for t, y in zip(sol.t, sol.y.T, strict=True):
        T = temp_of_t(t)
        lam, mu = _isotropic(SAC, T)
        el = strain_of_t(t) - y[:4]
        el[:3] -= SAC.thermal_strain(T, t_ref)
        tr = el[:3].sum()
        out.append([lam * tr + 2 * mu * el[0], lam * tr + 2 * mu * el[1],
                    lam * tr + 2 * mu * el[2], mu * el[3]])
    return np.array(out)


def _deviator(stress: np.ndarray) -> np.ndarray:
    """Deviatoric part of stresses (n, 4)."""
    out = stress.copy()
    out[:, :3] -= out[:, :3].mean(axis=1, keepdims=True)
    return out


def _stress_control(law, state, strain, free, target, T, t_ref, dt, dp_guess=None):
    """Newton on the ``free`` strain components until stress[free] = target[free].

    Uses the consistent tangent; returns the update, the converged strain and the residual
    norms (MPa) of every iteration.
    """
    strain = strain.copy()
    norms = []
    for _ in range(30):
        u = vp.update(SAC, law, state, strain, T, t_ref, dt, dp_guess)
        r = u.stress[:, free] - target[:, free]
        norms.append(float(np.abs(r).max()))
        if norms[-1] < 1e-10:
            return u, strain, norms
        D = u.tangent[:, free][:, :, free]
        strain[:, free] -= np.linalg.solve(D, r[..., None])[..., 0]
        dp_guess = u.state.p - state.p
    raise AssertionError(f"stress control did not converge: {norms}")


def test_saturation_closed_form_matches_literature_table():
    """σ* = (ŝ z^n/ξ) asinh(z^m), z = (ε̇/A) e^{Q/RT}: the [D] values of literature.md §2.1.

    SAC305 (Motalab 2012), closed form [D] / published (Motalab 2013 Fig. 3.10 via CoupFE-EDA):
    25 °C 1e-3/s 42.1 / 40.5; 50 °C 35.8 / 33.5; 100 °C 26.4 / 24.0; 125 °C 22.8 / 21.5;
    25 °C 1e-4/s 36.1 / 35.5; 25 °C 1e-5/s 30.4 / 29.5 MPa. The closed form runs 1-2.5 MPa above
    the digitized curves (figure-reading error ±1-2 MPa). 62Sn36Pb2Ag (Cheng 2000) at 1e-3/s:
    63.1 (25 °C), 28.3 (75 °C), 12.6 (125 °C).
    """
    T = np.array([25.0, 50.0, 100.0, 125.0, 25.0, 25.0])
    rate = np.array([1e-3, 1e-3, 1e-3, 1e-3, 1e-4, 1e-5])
    table = np.array([42.1, 35.8, 26.4, 22.8, 36.1, 30.4])
    assert vp.saturation_stress(ANAND, T, rate) == pytest.approx(table, rel=TABLE_ROUNDING)
    snpb = vp.solder_law(LIBRARY["snpb63"])
    got = vp.saturation_stress(snpb, np.array([25.0, 75.0, 125.0]), 1e-3)
    assert got == pytest.approx([63.1, 28.3, 12.6], rel=TABLE_ROUNDING)


def test_uniaxial_constant_rate_reaches_saturation_stress():
    """Uniaxial stress at constant strain rate saturates at σ* (Brown, Kim & Anand 1989).

    At steady state σ̇ = 0, so ṗ = ε̇ and s = s*(ε̇): σ = (ŝ z^n/ξ) asinh(z^m), z = (ε̇/A)e^{Q/RT}.
    Six (T, ε̇) points of literature.md §2.1, one vectorised run to 10 % strain (stress control
    of σyy = σzz = σxy = 0 by Newton on the lateral strains).
    """
    T = np.array([25.0, 50.0, 100.0, 125.0, 25.0, 25.0])
    rate = np.array([1e-3, 1e-3, 1e-3, 1e-3, 1e-4, 1e-5])
    nsteps, total = 200, 0.1
    dt = total / nsteps / rate
    state = vp.initial_state(ANAND, 6)
    strain = np.zeros((6, 4))
    free, zero = [1, 2, 3], np.zeros((6, 4))
    for k in range(1, nsteps + 1):
        strain[:, 0] = total * k / nsteps
        u, strain, _ = _stress_control(ANAND, state, strain, free, zero, T, T, dt)
        state = u.state
    expected = vp.saturation_stress(ANAND, T, rate)
    assert u.stress[:, 0] == pytest.approx(expected, rel=SATURATION_TOL)


@pytest.mark.parametrize(
    ("name", "strain_of_t", "temp_of_t", "times"),
    [
        pytest.param("shear 1e-3/s at 75 °C", lambda t: np.array([0, 0, 0, 1e-3 * t]),
                     lambda t: 75.0, np.linspace(0, 30, 601), id="constant-rate"),
        pytest.param("shear to 1 %, then relax at 25 °C",
                     lambda t: np.array([0, 0, 0, 1e-3 * min(t, 10.0)]), lambda t: 25.0,
                     np.r_[np.linspace(0, 10, 201), 10 + np.geomspace(1e-3, 2000, 400)],
                     id="relaxation"),
        pytest.param("xx held, shear 3e-5/s, cooling 125 -> -40 °C",
                     lambda t: np.r_[0.0, [SAC.thermal_strain(125.0 - 0.33 * t, 125.0)] * 2,
                                     3e-5 * t],
                     lambda t: 125.0 - 0.33 * t, np.linspace(0, 500, 501), id="cooling"),
    ],
)
def test_anand_point_matches_solve_ivp(name, strain_of_t, temp_of_t, times):
    """Backward Euler against solve_ivp (Radau, rtol 1e-9) of the same Anand ODEs.

    Strain-driven histories: pure shear (the 4-component state holds it exactly), relaxation
    after a ramp, and cooling with xx held (yy, zz free to contract) under shear, where E(T) and
    the thermal strain change within every step (stress-free at 125 °C). Agreement within 1 % of
    the peak |σ| for the stress, and of the peak σ_eq for the deviator (the held strain adds a
    large, purely elastic pressure).
    """
    t_ref = temp_of_t(0.0)
    be, _ = _march(ANAND, strain_of_t, temp_of_t, times, t_ref)
    ref = _ivp_stress(strain_of_t, temp_of_t, times, t_ref)
    assert np.abs(be - ref).max() <= IVP_TOL * np.abs(ref).max(), name
    dev_be, dev_ref = _deviator(be), _deviator(ref)
    seq = np.sqrt(1.5 * ((dev_ref[:, :3] ** 2).sum(axis=1) + 2 * dev_ref[:, 3] ** 2))
    assert np.abs(dev_be - dev_ref).max() <= IVP_TOL * seq.max(), name


def test_tangent_matches_finite_differences():
    """D = ∂σ/∂ε against central differences, Anand and Garofalo, plastic and elastic points.

    Random prior states, strain increments over 5 decades, 1 ms to 3 h steps, -55..150 °C.
    """
    rng = np.random.default_rng(5)
    n, h = 400, 1e-9
    for law in (ANAND, GAROFALO):
        e_in = rng.normal(0, 2e-3, (n, 4))
        e_in[:, :3] -= e_in[:, :3].mean(axis=1, keepdims=True)
        s = vp.initial_state(law, n).s * rng.uniform(0.8, 1.6, n)
        state = vp.State(e_in, s, np.zeros(n), np.zeros(n))
        strain = rng.normal(0, 1, (n, 4)) * 10 ** rng.uniform(-7, -2, (n, 1))
        T, dt = rng.uniform(-55, 150, n), 10 ** rng.uniform(-3, 4, n)
        tangent = vp.update(SAC, law, state, strain, T, 25.0, dt).tangent
        fd = np.stack([
            (vp.update(SAC, law, state, strain + h * e, T, 25.0, dt).stress
             - vp.update(SAC, law, state, strain - h * e, T, 25.0, dt).stress) / (2 * h)
            for e in np.eye(4)], axis=-1)
        err = np.abs(fd - tangent).max(axis=(1, 2)) / np.abs(tangent).max(axis=(1, 2))
        assert err.max() < TANGENT_TOL
        assert np.allclose(tangent, tangent.transpose(0, 2, 1))


def test_strain_driven_newton_converges_quadratically():
    """Newton with the consistent tangent: order ≥ 1.8 in the stress residual.

    One 1 %-strain uniaxial step of 10 s at 100 °C (strongly inelastic), σyy = σzz = σxy = 0
    enforced by Newton on the lateral strains; order p = ln(r_{k+1}/r_k) / ln(r_k/r_{k-1}).
    """
    for law in (ANAND, GAROFALO):
        state = vp.initial_state(law, 1)
        strain = np.array([[1e-2, 0, 0, 0]])
        u, _, norms = _stress_control(law, state, strain, [1, 2, 3], np.zeros((1, 4)),
                                      100.0, 100.0, 10.0)
        assert u.state.p[0] > 1e-3  # the step is strongly inelastic
        assert len(norms) <= 5  # converged to 1e-10 MPa within 4 iterations
        r = np.array([x for x in norms if x > RESIDUAL_FLOOR])
        orders = np.log(r[2:] / r[1:-1]) / np.log(r[1:-1] / r[:-2])
        assert orders.size >= 1
        assert orders[-1] >= QUADRATIC_ORDER, norms


def test_no_load_no_inelastic_strain():
    """No mechanical strain, no inelastic strain.

    Zero strain at T = T_ref, or free thermal expansion through a ±100 K cycle, gives σ = 0 and
    ε_in = 0 exactly: the flow rate sinh(0) = 0 (both laws).
    """
    times = np.linspace(0, 3600, 121)
    temp = lambda t: 25.0 + 100.0 * np.sin(2 * np.pi * t / 3600)  # noqa: E731
    free = lambda t: np.array([1, 1, 1, 0]) * SAC.thermal_strain(temp(t), 25.0)  # noqa: E731
    for law in (ANAND, GAROFALO):
        stress, state = _march(law, lambda t: np.zeros(4), lambda t: 25.0, times, 25.0)
        assert np.all(stress == 0)
        assert np.all(state.inelastic_strain == 0)
        stress, state = _march(law, free, temp, times, 25.0)
        assert np.abs(stress).max() < 1e-9
        assert np.all(state.inelastic_strain == 0)
        assert state.p[0] == 0


def _cycle_energy(law, steps_per_ramp: int) -> float:
    """Inelastic work density (MPa) of the 2nd cycle of a solder point sheared by CTE mismatch.

    JEDEC JESD22-A104 condition G (-40/125 °C), 15 min ramps and dwells; γ = 4e-4/K (T − 125),
    the other components expand freely; stress-free at 125 °C.
    """
    ramp, dwell = 900.0, 900.0
    knots_t = np.cumsum([0, ramp, dwell, ramp, dwell, ramp, dwell, ramp, dwell])
    knots_T = [125, -40, -40, 125, 125, -40, -40, 125, 125]
    grid = [np.linspace(a, b, steps_per_ramp + 1)[1:] for a, b in itertools.pairwise(knots_t)]
    times = np.r_[0.0, np.concatenate(grid)]
    temp = lambda t: float(np.interp(t, knots_t, knots_T))  # noqa: E731

    def strain(t: float) -> np.ndarray:
        T = temp(t)
        eth = SAC.thermal_strain(T, 125.0)
        return np.array([eth, eth, eth, 4e-4 * (T - 125.0)])

    state = vp.initial_state(law, 1)
    w_half = 0.0
    for k, (t0, t1) in enumerate(itertools.pairwise(times)):
        state = vp.update(SAC, law, state, strain(t1)[None, :], temp(t1), 125.0, t1 - t0).state
        if k + 1 == len(times) // 2:
            w_half = state.w[0]
    return state.w[0] - w_half


@pytest.mark.parametrize("law", [ANAND, GAROFALO], ids=["anand", "garofalo"])
def test_time_step_halving_changes_cycle_energy_little(law):
    """Halving the time step changes the per-cycle energy by < 2 %.

    10 against 20 steps per ramp/dwell (90 s, 45 s), and both within 2 % of a run with 160 steps
    per segment (5.6 s).

    (The error of the per-cycle difference changes sign as dt falls, so no clean first-order
    ratio is asserted.)
    """
    coarse, half, fine = (_cycle_energy(law, n) for n in (10, 20, 160))
    assert fine > 0.1  # a real hysteresis loop, MPa
    assert abs(half - coarse) < STEP_HALVING_TOL * half
    assert abs(coarse - fine) < STEP_HALVING_TOL * fine
    assert abs(half - fine) < STEP_HALVING_TOL * fine


def test_garofalo_steady_creep_rate():
    """Constant uniaxial stress: ε̇ = C1 sinh(C2σ)^C3 exp(−C4/T) (literature.md §2.2, Lau 2003).

    Stress control σxx = σ0, others 0, over several steps; at constant stress backward Euler
    integrates the rate exactly, so ε_in,xx / t equals the closed form.
    """
    sig = np.array([5.0, 10.0, 20.0, 40.0, 20.0])
    T = np.array([25.0, 25.0, 75.0, 125.0, -40.0])
    c = GAROFALO
    expected = c.C1 * np.sinh(c.C2 * sig) ** c.C3 * np.exp(-c.C4 / (T - ABSOLUTE_ZERO))
    dt = 1e-3 / expected  # 0.1 % creep strain per step
    state = vp.initial_state(c, sig.size)
    strain = np.zeros((sig.size, 4))
    target = np.zeros((sig.size, 4))
    target[:, 0] = sig
    for _ in range(3):
        u, strain, _ = _stress_control(c, state, strain, [0, 1, 2, 3], target, T, 25.0, dt)
        state = u.state
    rate = state.inelastic_strain[:, 0] / (3 * dt)
    assert rate == pytest.approx(expected, rel=CREEP_RATE_TOL)
    assert state.inelastic_strain[:, 1] == pytest.approx(-0.5 * state.inelastic_strain[:, 0])


def test_backward_euler_equations_hold_for_large_steps():
    """Robustness: random steps over 14 decades of Δt and 8 of strain all converge.

    The returned state satisfies the Anand backward-Euler equations (module docstring):
    Δp = Δt A e^{−Q/RT} sinh(ξσ_eq/s)^{1/m} and s − s_n = h0 Δp |1 − s/s*|^a sign(1 − s/s*).
    """
    rng = np.random.default_rng(11)
    n = 20000
    state = vp.initial_state(ANAND, n)
    strain = rng.normal(0, 1, (n, 4)) * 10 ** rng.uniform(-8, 0, (n, 1))
    T, dt = rng.uniform(-65, 200, n), 10 ** rng.uniform(-6, 8, n)
    u = vp.update(SAC, ANAND, state, strain, T, 25.0, dt)
    dev = _deviator(u.stress)
    seq = np.sqrt(1.5 * (dev[:, :3] ** 2).sum(axis=1) + 3 * dev[:, 3] ** 2)
    c, TK, dp, s = ANAND, T - ABSOLUTE_ZERO, u.state.p, u.state.s
    ok = dp > 1e-12  # points where the rate is resolved relative to the elastic strain
    rate = c.A * np.exp(-c.Q_R / TK) * np.sinh(c.xi * seq / s) ** (1 / c.m)
    assert dt[ok] * rate[ok] == pytest.approx(dp[ok], rel=BE_RESIDUAL_TOL)
    s_star = c.s_hat * (dp / dt / c.A * np.exp(c.Q_R / TK)) ** c.n
    w = 1 - s / s_star
    hard = c.h0 * dp * np.abs(w) ** c.a * np.sign(w)
    assert (s - c.s0)[ok] == pytest.approx(hard[ok], rel=BE_RESIDUAL_TOL, abs=1e-9 * c.s0)


def test_bad_input_raises_clear_errors():
    """Unknown law, material without constants, negative step, wrong strain shape."""
    with pytest.raises(DesignError, match=r"loading\.solder"):
        vp.solder_law(SAC, "norton")
    with pytest.raises(DesignError, match=r"materials\.silicon\.anand"):
        vp.solder_law(LIBRARY["silicon"], "anand")
    state = vp.initial_state(ANAND, 2)
    with pytest.raises(DesignError, match="dt"):
        vp.update(SAC, ANAND, state, np.zeros((2, 4)), 25.0, 25.0, -1.0)
    with pytest.raises(ValueError, match=r"strain.shape = \(2, 3\)"):
        vp.update(SAC, ANAND, state, np.zeros((2, 3)), 25.0, 25.0, 1.0)
