"""The 6-component (3D) material point of wlcsp.fem.viscoplastic.

Oracles: the 4-component (2D) material point itself for the states both layouts hold (a 2D state
is a 3D one with zero out-of-plane shears, and by isotropy a 2D state in the xz or yz plane is
the 3D state with its axes renamed), central finite differences for the consistent tangent, and
the Anand steady-state closed form (Brown, Kim & Anand 1989; literature.md §2.1) for a
saturating deviatoric path that uses all three shears.
"""

from __future__ import annotations

import numpy as np
import pytest

from wlcsp.fem import viscoplastic as vp
from wlcsp.materials import LIBRARY

SAC = LIBRARY["sac305"]
LAWS = {"anand": vp.solder_law(SAC, "anand"), "garofalo": vp.solder_law(SAC, "garofalo")}

ROUNDOFF = 1e-12
"""3D against 2D, relative to the largest value of each array: the same arithmetic on the
same numbers plus exact zeros (the extra shears), so only summation order may differ."""
TANGENT_TOL = 1e-6
"""Consistent tangent against central differences (step 1e-9), relative to max |D| (issue 10)."""
SATURATION_TOL = 0.01
"""σ_eq at 10 % strain against the closed-form saturation stress, as in 2D (issue 5): the
backward-Euler error of 200 steps and the remaining approach to steady state."""

# 2D component k -> 3D component: the plane (a, b) with its normal c, and the shear of (a, b)
PLANES = {"xy": [0, 1, 2, 3], "xz": [0, 2, 1, 4], "yz": [1, 2, 0, 5]}


def _random_2d(rng: np.random.Generator, law, n: int) -> tuple:
    """Random traceless prior inelastic strains, s, strains, temperatures and steps."""
    e_in = rng.normal(0, 2e-3, (n, 4))
    e_in[:, :3] -= e_in[:, :3].mean(axis=1, keepdims=True)
    s = vp.initial_state(law, n).s * rng.uniform(0.8, 1.6, n)
    strain = rng.normal(0, 1, (n, 4)) * 10 ** rng.uniform(-6, -2, (n, 1))
    return e_in, s, strain, rng.uniform(-55, 150, n), 10 ** rng.uniform(-3, 4, n)


def _embed(a: np.ndarray, plane: str) -> np.ndarray:
    """The 3D array (..., 6) of a 2D one (..., 4) in ``plane``: the other shears zero."""
    out = np.zeros((*a.shape[:-1], 6))
    out[..., PLANES[plane]] = a
    return out


@pytest.mark.parametrize("plane", list(PLANES))
@pytest.mark.parametrize("law_name", list(LAWS))
def test_3d_point_equals_the_2d_point(law_name, plane):
    """Two steps of 300 random points: stress, state and tangent agree to round-off.

    The 2D state is put in the xy, xz or yz plane of the 3D layout, so each of the three
    engineering shears goes through the return mapping once.
    """
    law = LAWS[law_name]
    rng = np.random.default_rng(11)
    n = 300
    e_in, s, strain, T, dt = _random_2d(rng, law, n)
    s2 = vp.State(e_in, s, np.zeros(n), np.zeros(n))
    s3 = vp.State(_embed(e_in, plane), s.copy(), np.zeros(n), np.zeros(n))
    idx = PLANES[plane]
    for step in range(2):
        eps = strain * (step + 1)
        u2 = vp.update(SAC, law, s2, eps, T, 25.0, dt)
        u3 = vp.update(SAC, law, s3, _embed(eps, plane), T, 25.0, dt)
        assert np.count_nonzero(u2.state.p > s2.p) > n // 2  # mostly flowing points
        for a2, a3 in ((u2.stress, u3.stress), (u2.state.inelastic_strain,
                                                u3.state.inelastic_strain)):
            assert np.max(np.abs(a3[:, idx] - a2)) <= ROUNDOFF * np.abs(a2).max()
            others = np.setdiff1d(np.arange(6), idx)
            assert np.max(np.abs(a3[:, others])) <= ROUNDOFF * np.abs(a2).max()
        for key in ("s", "p", "w"):
            a2, a3 = getattr(u2.state, key), getattr(u3.state, key)
            assert np.max(np.abs(a3 - a2)) <= ROUNDOFF * np.abs(a2).max()
        D3 = u3.tangent[:, idx][:, :, idx]
        assert np.max(np.abs(D3 - u2.tangent)) <= ROUNDOFF * np.abs(u2.tangent).max()
        s2, s3 = u2.state, u3.state


@pytest.mark.parametrize("law_name", list(LAWS))
def test_3d_tangent_matches_finite_differences(law_name):
    """D = ∂σ/∂ε (6 x 6) against central differences: random 6-component states and steps.

    Strain increments over 5 decades, 1 ms to 3 h steps, -55..150 °C; symmetric.
    """
    law = LAWS[law_name]
    rng = np.random.default_rng(5)
    n, h = 300, 1e-9
    e_in = rng.normal(0, 2e-3, (n, 6))
    e_in[:, :3] -= e_in[:, :3].mean(axis=1, keepdims=True)
    s = vp.initial_state(law, n).s * rng.uniform(0.8, 1.6, n)
    state = vp.State(e_in, s, np.zeros(n), np.zeros(n))
    strain = rng.normal(0, 1, (n, 6)) * 10 ** rng.uniform(-7, -2, (n, 1))
    T, dt = rng.uniform(-55, 150, n), 10 ** rng.uniform(-3, 4, n)
    up = vp.update(SAC, law, state, strain, T, 25.0, dt)
    assert np.count_nonzero(up.state.p > 0) > n // 2  # mostly flowing points
    fd = np.stack([
        (vp.update(SAC, law, state, strain + h * e, T, 25.0, dt).stress
         - vp.update(SAC, law, state, strain - h * e, T, 25.0, dt).stress) / (2 * h)
        for e in np.eye(6)], axis=-1)
    err = np.abs(fd - up.tangent).max(axis=(1, 2)) / np.abs(up.tangent).max(axis=(1, 2))
    assert err.max() < TANGENT_TOL
    assert np.allclose(up.tangent, up.tangent.transpose(0, 2, 1), rtol=0, atol=1e-12 *
                       np.abs(up.tangent).max())


def test_3d_deviatoric_path_saturates_at_the_closed_form():
    """A strain-driven isochoric path with all six components, at constant equivalent rate.

    ε(t) = ε̇ t N with N deviatoric, (2/3) N:N = 1 in tensor components (engineering shears
    halved): at steady state σ̇ = 0, so ṗ = ε̇ and σ_eq = σ*(ε̇) = (ŝ z^n/ξ) asinh(z^m),
    z = (ε̇/A) e^{Q/RT}. Three temperatures and rates, 10 % equivalent strain in 200 steps.
    """
    law = LAWS["anand"]
    T = np.array([25.0, 75.0, 125.0])
    rate = np.array([1e-3, 1e-4, 1e-5])
    N = np.array([0.4, -0.1, -0.3, 0.5, -0.2, 0.3])  # xx, yy, zz (traceless), γxy, γxz, γyz
    tensor = N * np.array([1, 1, 1, 0.5, 0.5, 0.5])
    N = N / np.sqrt(2.0 / 3.0 * np.sum(tensor**2 * np.array([1, 1, 1, 2, 2, 2])))
    nsteps, total = 200, 0.1
    dt = total / nsteps / rate
    state = vp.initial_state(law, 3, 6)
    for k in range(1, nsteps + 1):
        u = vp.update(SAC, law, state, np.outer(np.full(3, total * k / nsteps), N), T, T, dt)
        state = u.state
    dev = u.stress.copy()
    dev[:, :3] -= dev[:, :3].mean(axis=1, keepdims=True)
    seq = np.sqrt(1.5 * (np.sum(dev[:, :3] ** 2, axis=1) + 2 * np.sum(dev[:, 3:] ** 2, axis=1)))
    assert seq == pytest.approx(vp.saturation_stress(law, T, rate), rel=SATURATION_TOL)
    # the flow follows the path: the inelastic strain is parallel to N
    cos = state.inelastic_strain @ N / np.linalg.norm(state.inelastic_strain, axis=1) \
        / np.linalg.norm(N)
    assert np.all(cos > 0.999)


def test_zero_temperature_change_gives_no_inelastic_strain():
    """At the stress-free temperature and zero strain no point flows (6 components, 1 h)."""
    for law in LAWS.values():
        state = vp.initial_state(law, 5, 6)
        u = vp.update(SAC, law, state, np.zeros((5, 6)), 125.0, 125.0, 3600.0)
        assert np.all(u.state.inelastic_strain == 0)
        assert np.all(u.state.p == 0)
        assert np.all(u.stress == 0)


def test_bad_component_count():
    with pytest.raises(ValueError, match=r"4 \(2D\) or 6 \(3D\)"):
        vp.initial_state(LAWS["anand"], 2, 5)
    with pytest.raises(ValueError, match=r"strain\.shape"):
        vp.update(SAC, LAWS["anand"], vp.initial_state(LAWS["anand"], 2, 6), np.zeros((2, 4)),
                  25.0, 25.0, 1.0)
