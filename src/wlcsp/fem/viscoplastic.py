"""Viscoplastic solder at the material point: Anand and Garofalo laws, implicit return mapping.

Small strain, isotropic elasticity with E(T), ν(T) of the material, additive split of the total
strain and J2 (von Mises) flow:

    σ = C(T) : (ε − ε_th(T) 1 − ε_in),    ε̇_in = (3/2) ṗ s / σ_eq,    σ_eq = √(3/2 s:s)

(s the stress deviator, ε_th = ∫ α dT from the stress-free temperature), with the equivalent
inelastic strain rate ṗ (1/s) of

* **Anand** (Anand 1985, *Int. J. Plast.* 1:213; Brown, Kim & Anand 1989, *Int. J. Plast.* 5:95;
  literature.md §2.1)::

      ṗ = A exp(−Q/RT) sinh(ξ σ_eq / s)^(1/m)
      ṡ = h0 |1 − s/s*|^a sign(1 − s/s*) ṗ,     s* = ŝ [ṗ exp(Q/RT) / A]^n

  with the deformation resistance s (MPa) as internal variable, s(0) = s0;
* **Garofalo** hyperbolic-sine creep (literature.md §2.2)::

      ṗ = C1 sinh(C2 σ_eq)^C3 exp(−C4 / T).

T is absolute (K) in the rate laws; the API takes °C. The constants come from the material
(:class:`wlcsp.materials.Anand`, :class:`wlcsp.materials.Garofalo`), never from this module.

Layout (that of :mod:`wlcsp.fem.kinematics`): n components per point, the normals first, then
the shears. 2D: 4 components ``[xx, yy, zz, xy]``, zz being the out-of-plane strain of plane
strain or the hoop strain θθ when axisymmetric; 3D: 6 components ``[xx, yy, zz, xy, xz, yz]``.
The count is read from the arrays (:func:`voigt`), so one return mapping serves both. Strain-like
arrays (total and inelastic strain) hold the **engineering** shears γ_ij = 2 ε_ij; stress arrays
hold σ_ij. Then σ·Δε is the work density and the tangent D = ∂σ/∂ε maps engineering strain
increments to stress (D = G on the shear diagonal when elastic).

Integration (Simo & Hughes, *Computational Inelasticity*, 1998, §3.3 and §3.6): backward Euler
over a step of length Δt, every temperature-dependent quantity (E, ν, ε_th, rate constants) at the
end-of-step temperature. The elastic trial deviator s_tr with equivalent stress σ_tr is scaled
back radially, σ_eq = σ_tr − 3G Δp. Inverting the flow rule, the scalar equation in q = ln Δp is

    F(q) = σ_tr − 3G e^q − c asinh(exp(m (q − q0))) = 0,

with c = s/ξ, m = m, q0 = ln(A Δt) − Q/RT (Anand) or c = 1/C2, m = 1/C3, q0 = ln(C1 Δt) − C4/T
(Garofalo). F decreases in q, F(q → −∞) = σ_tr > 0 and F(ln(σ_tr/3G)) < 0, so a bracketed
Newton iteration always finds the root; in q the power-law and exponential regimes are both
nearly linear, so it takes a few steps from any trial stress. For Anand, s at each trial q solves
the backward-Euler hardening equation s − s_n = h0 Δp |1 − s/s*|^a sign(1 − s/s*), whose root
lies between s_n and s*(Δp) (a nested, bracketed scalar Newton). The consistent tangent follows
from the converged equations (implicit function theorem, total derivative through s).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from ..errors import AnalysisError, DesignError
from ..materials import ABSOLUTE_ZERO, Anand, Garofalo, Material

LAWS = ("anand", "garofalo")
"""Solder laws by name, as a design names them."""

NCOMP = 4
"""Components per point of the 2D models: xx, yy, zz (θθ), xy (3D: 6, see :func:`voigt`)."""

RTOL = 1e-12
"""Convergence of the return mapping: |F| ≤ RTOL·σ_tr (F in MPa); s to RTOL·s relative."""

MAXITER = 100
"""Iterations of the bracketed Newton solves before the update raises AnalysisError."""

SIGMA_FLOOR = 1e-9
"""Trial equivalent stress (MPa) below which a point is elastic: Δp < (ξσ/s)^(1/m) A Δt, far
below rounding of any strain (e.g. 1e-48 for SAC305 over an hour at 125 °C)."""

NORMALS = 3
"""Normal components (xx, yy, zz|θθ) ahead of the shears in every layout."""


@dataclass(frozen=True)
class Voigt:
    """Vectors and projector of the n-component layout (3 normals, then n − 3 shears).

    Attributes
    ----------
    engineering : ndarray (n,)
        Tensor to engineering components of a strain-like vector (2 on the shears, γ = 2ε).
    one : ndarray (n,)
        Unit isotropic strain m (ones on the normals).
    deviator : ndarray (n, n)
        Maps engineering strain to the tensor components of its deviator:
        diag(1, 1, 1, ½, …) − m mᵀ/3.
    """

    engineering: np.ndarray
    one: np.ndarray
    deviator: np.ndarray


@functools.cache
def voigt(ncomp: int) -> Voigt:
    """The :class:`Voigt` arrays of ``ncomp`` components (4 in 2D, 6 in 3D)."""
    if ncomp not in (4, 6):
        raise ValueError(f"{ncomp} strain components: 4 (2D) or 6 (3D) expected")
    shears = ncomp - NORMALS
    one = np.array([1.0] * NORMALS + [0.0] * shears)
    eng = np.array([1.0] * NORMALS + [2.0] * shears)
    dev = np.diag(1.0 / eng) - np.outer(one, one) / 3.0
    for a in (one, eng, dev):
        a.setflags(write=False)
    return Voigt(eng, one, dev)


@dataclass(frozen=True)
class State:
    """Internal state of npoints material points (arrays over points, plain data).

    Attributes
    ----------
    inelastic_strain : ndarray (npoints, n)
        ε_in in the layout of the module docstring (n = 4 or 6), engineering shears;
        traceless (isochoric flow).
    s : ndarray (npoints,)
        Anand deformation resistance (MPa); 0 and unused for Garofalo.
    p : ndarray (npoints,)
        Accumulated equivalent inelastic strain ∫ ṗ dt (-).
    w : ndarray (npoints,)
        Accumulated inelastic work density ∫ σ : dε_in (MPa = mJ/mm³), backward Euler σ_eq Δp.
    """

    inelastic_strain: np.ndarray
    s: np.ndarray
    p: np.ndarray
    w: np.ndarray


@dataclass(frozen=True)
class Update:
    """Result of one step: end-of-step stress, state and consistent tangent.

    Attributes
    ----------
    stress : ndarray (npoints, n)
        ``[σxx, σyy, σzz, σxy]`` in 2D, ``[σxx, σyy, σzz, σxy, σxz, σyz]`` in 3D (MPa).
    state : State
        The updated internal state.
    tangent : ndarray (npoints, n, n)
        Algorithmic tangent ∂σ/∂ε (MPa) for engineering strain increments; symmetric.
    """

    stress: np.ndarray
    state: State
    tangent: np.ndarray


def solder_law(material: Material, law: str = "anand") -> Anand | Garofalo:
    """The constants of ``law`` (one of :data:`LAWS`) of ``material``; DesignError if missing."""
    if law not in LAWS:
        raise DesignError("loading.solder", law, f"expected one of {', '.join(LAWS)}")
    constants = material.anand if law == "anand" else material.garofalo
    if constants is None:
        raise DesignError(f"materials.{material.name}.{law}", None,
                          f"material {material.name!r} has no {law} constants")
    return constants


def initial_state(law: Anand | Garofalo, npoints: int, ncomp: int = NCOMP) -> State:
    """The virgin state of ``npoints`` points: no inelastic strain, s = s0 (Anand).

    ``ncomp``: strain components per point, 4 (2D) or 6 (3D).
    """
    voigt(ncomp)  # validates the count
    s0 = law.s0 if isinstance(law, Anand) else 0.0
    return State(np.zeros((npoints, ncomp)), np.full(npoints, s0), np.zeros(npoints),
                 np.zeros(npoints))


def saturation_stress(law: Anand, temperature: float | np.ndarray,
                      strain_rate: float | np.ndarray) -> float | np.ndarray:
    """Anand steady-state flow stress σ* (MPa) at constant inelastic strain rate.

    σ* = (ŝ z^n / ξ) asinh(z^m), z = (ε̇/A) exp(Q/RT) (Brown, Kim & Anand 1989, eq. 21;
    literature.md §2.1). ``temperature`` in °C, ``strain_rate`` in 1/s.
    """
    z = strain_rate / law.A * np.exp(law.Q_R / (np.asarray(temperature) - ABSOLUTE_ZERO))
    return law.s_hat * z**law.n / law.xi * np.arcsinh(z**law.m)


def update(material: Material, law: Anand | Garofalo, state: State, strain: np.ndarray,
           temperature: float | np.ndarray, t_ref: float | np.ndarray,
           dt: float | np.ndarray, dp_guess: np.ndarray | None = None) -> Update:
    """One backward-Euler step of the points from ``state`` to the end-of-step ``strain``.

    Parameters
    ----------
    material : Material
        Elastic E(T) (MPa), ν(T) and CTE of the solder.
    law : Anand or Garofalo
        Constants of the rate law (see :func:`solder_law`).
    state : State
        State at the start of the step (not modified).
    strain : ndarray (npoints, n)
        Total strain at the end of the step, engineering shears; n = 4 (2D) or 6 (3D), the
        layout of ``state.inelastic_strain``.
    temperature : float or ndarray (npoints,)
        End-of-step temperature (°C).
    t_ref : float or ndarray (npoints,)
        Stress-free temperature (°C) of the thermal strain.
    dt : float or ndarray (npoints,)
        Step length (s) ≥ 0; 0 gives the instantaneous, elastic response.
    dp_guess : ndarray (npoints,), optional
        Estimate of the equivalent inelastic increment Δp, e.g. ``new.p − state.p`` of the
        previous global Newton iteration of the same step; a start for the return mapping (the
        result does not depend on it, the iteration count does).

    Raises
    ------
    AnalysisError
        If the return mapping does not converge (never returns an unconverged state).
    """
    strain = np.asarray(strain, dtype=float)
    ncomp = state.inelastic_strain.shape[1]
    if strain.ndim != 2 or strain.shape != state.inelastic_strain.shape:
        raise ValueError(f"strain.shape = {strain.shape}, expected ({state.p.size}, {ncomp})")
    v = voigt(ncomp)
    npts = strain.shape[0]
    dt = np.broadcast_to(np.asarray(dt, dtype=float), (npts,))
    if np.any(dt < 0) or not np.all(np.isfinite(dt)):
        raise DesignError("dt", float(np.min(dt)), "time step must be finite and ≥ 0 s")
    T = np.asarray(temperature, dtype=float)  # material data once when T is uniform
    E, nu = material.youngs_modulus(T), material.poisson(T)
    G = np.broadcast_to(E / (2.0 * (1.0 + nu)), (npts,))
    K = np.broadcast_to(E / (3.0 * (1.0 - 2.0 * nu)), (npts,))
    el = strain - state.inelastic_strain - np.multiply.outer(
        np.broadcast_to(material.thermal_strain(T, t_ref), (npts,)), v.one)
    T = np.broadcast_to(T, (npts,))
    dev = el @ v.deviator.T  # tensor deviator of the elastic trial strain
    s_tr = 2.0 * G[:, None] * dev
    sig_tr = np.sqrt(1.5 * np.einsum("ij,ij,j->i", s_tr, s_tr, v.engineering))
    mean = K * (el @ v.one)  # mean stress σ_m = K tr ε_el (ε_in is traceless)

    dp = np.zeros(npts)
    theta = np.ones(npts)  # σ_eq / σ_tr
    dtheta = np.ones(npts)  # dσ_eq / dσ_tr
    s_new = state.s.copy()
    a = (sig_tr > SIGMA_FLOOR) & (dt > 0)
    if np.any(a):
        guess = None if dp_guess is None else np.asarray(dp_guess, dtype=float)[a]
        dp[a], sig_eq, s_new[a], dtheta[a] = _radial_return(
            law, sig_tr[a], 3.0 * G[a], T[a] - ABSOLUTE_ZERO, dt[a], state.s[a], guess)
        theta[a] = sig_eq / sig_tr[a]
    n = np.zeros_like(s_tr)
    n[a] = s_tr[a] / sig_tr[a, None]  # unit flow direction, (3/2) n:n = 1

    stress = mean[:, None] * v.one + theta[:, None] * s_tr
    d_in = 1.5 * dp[:, None] * n * v.engineering
    tangent = (K[:, None, None] * np.outer(v.one, v.one)
               + (2.0 * G * theta)[:, None, None] * v.deviator
               + (3.0 * G * (dtheta - theta))[:, None, None] * np.einsum("pi,pj->pij", n, n))
    new = State(state.inelastic_strain + d_in, s_new, state.p + dp,
                state.w + theta * sig_tr * dp)
    return Update(stress, new, tangent)


def _radial_return(law: Anand | Garofalo, sig_tr: np.ndarray, g3: np.ndarray, TK: np.ndarray,
                   dt: np.ndarray, s_n: np.ndarray, dp_guess: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Solve F(q) = 0 (module docstring) at points with σ_tr > 0, Δt > 0.

    The iteration starts from ``dp_guess`` where it is positive, else from the elastic estimate
    (the q where the flow stress alone, with s = s_n, equals σ_tr). Returns Δp, σ_eq (MPa),
    s (MPa; s_n for Garofalo) and dσ_eq/dσ_tr.
    """
    if isinstance(law, Anand):
        m, q0 = law.m, np.log(law.A * dt) - law.Q_R / TK
        y_last = np.full(sig_tr.size, np.inf)  # inner solution of the last outer iterate

        def flow(q: np.ndarray, i: slice | np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Flow-stress coefficient c = s/ξ, dc/dq (through s) and s, at q for points i."""
            s, ds, y_last[i] = _anand_resistance(law, q, q0[i], s_n[i], y_last[i])
            return s / law.xi, ds / law.xi, s

        # S(q) ≤ max(s_n, s*(q_hi)) for q ≤ q_hi bounds the flow stress from above
        c_max = np.maximum(s_n, law.s_hat * np.exp(law.n * (np.log(sig_tr / g3) - q0))) / law.xi
        c_start = s_n / law.xi
    else:
        m, q0 = 1.0 / law.C3, np.log(law.C1 * dt) - law.C4 / TK
        c_const = np.full(sig_tr.size, 1.0 / law.C2)

        def flow(q: np.ndarray, i: slice | np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Constant coefficient c = 1/C2 (no internal variable)."""
            return c_const[i], np.zeros(q.size), s_n[i]

        c_max = c_start = c_const

    def evaluate(q: np.ndarray, i: slice | np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """F, dF/dq and s at q for the points i."""
        c, dc, s = flow(q, i)
        t = m * (q - q0[i])
        ash = _asinh_exp(t)
        e = g3[i] * np.exp(q)
        return sig_tr[i] - e - c * ash, -e - c * m * np.sqrt(expit(2.0 * t)) - dc * ash, s

    def residual(q: np.ndarray, i: slice | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        F, dF, _ = evaluate(q, i)
        return F, dF

    q_hi = np.log(sig_tr / g3)  # Δp = σ_tr/3G: F = −c asinh(...) < 0
    # flow stress ≤ σ_tr/2 and 3GΔp ≤ σ_tr/2 there: F ≥ 0
    q_lo = np.minimum(q_hi - np.log(2.0), q0 + _log_sinh(0.5 * sig_tr / c_max) / m)
    q_start = q0 + _log_sinh(sig_tr / c_start) / m
    if dp_guess is not None:
        q_start = np.where(dp_guess > 0, np.log(np.maximum(dp_guess, 1e-300)), q_start)
    q_start = np.clip(q_start, q_lo, q_hi)
    q = _bracketed_newton(residual, q_start, q_lo, q_hi, 1.0, RTOL * sig_tr, "equivalent stress")
    _, dF, s = evaluate(q, slice(None))
    dp = np.exp(q)
    return dp, sig_tr - g3 * dp, s, 1.0 + g3 * dp / dF


def _anand_resistance(law: Anand, q: np.ndarray, q0: np.ndarray, s_n: np.ndarray,
                      y_start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward-Euler deformation resistance s(q), ds/dq and y = ln|w| for Δp = e^q.

    s − s_n = h0 Δp φ(w), w = 1 − s/s*, φ(w) = |w|^a sign(w), s* = ŝ e^{n(q − q0)}. With
    K = h0 Δp/s* and d = 1 − s_n/s*, w has the sign of d and |w| + K |w|^a = |d|; in y = ln|w|,
    H(y) = ln(e^y + K e^{ay}) − ln|d| increases and is convex, and Newton from
    y = max(ln|d|, (ln|d| − ln K)/a) (where H ≥ 0) converges monotonically.
    """
    s_star = law.s_hat * np.exp(law.n * (q - q0))
    h = law.h0 * np.exp(q)
    d = 1.0 - s_n / s_star
    log_d = np.log(np.maximum(np.abs(d), 1e-300))  # d = 0: w = e^{-300}-small, s = s*
    log_k = np.log(law.h0) + q - np.log(s_star)

    def residual(y: np.ndarray, i: slice | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = log_k[i] + law.a * y
        weight = expit(z - y)  # share of the K|w|^a term
        return np.logaddexp(y, z) - log_d[i], 1.0 + (law.a - 1.0) * weight

    y_k = (log_d - log_k) / law.a
    y_lo = np.minimum(log_d, y_k) - np.log(2.0) / min(1.0, law.a)  # both terms ≤ |d|/2: H ≤ 0
    y_hi = np.maximum(log_d, y_k)
    y_0 = np.where(np.isfinite(y_start), np.clip(y_start, y_lo, y_hi), y_hi)
    y = _bracketed_newton(residual, y_0, y_lo, y_hi, -1.0, np.full(q.size, RTOL),
                          "deformation resistance")
    w_abs = np.exp(y)
    w = np.sign(d) * w_abs
    dphi = law.a * np.exp((law.a - 1.0) * y)  # φ'(w)
    ds = h * (np.sign(d) * w_abs**law.a + law.n * (1.0 - w) * dphi) / (1.0 + h * dphi / s_star)
    return s_star * (1.0 - w), ds, y  # ds/dq = −R_q/R_s of R = s − s_n − h0 Δp φ(w)


def _bracketed_newton(fun: Callable[[np.ndarray, slice | np.ndarray],
                                    tuple[np.ndarray, np.ndarray]],
                      x: np.ndarray, lo: np.ndarray, hi: np.ndarray, sign_lo: float,
                      ftol: np.ndarray, what: str) -> np.ndarray:
    """Roots of the scalar functions ``fun(x, i)`` (value, derivative) of the points i in [lo, hi].

    ``fun`` has the sign ``sign_lo`` at ``lo`` and the opposite one at ``hi``. Newton steps,
    bisection when a step leaves the bracket, which shrinks with the sign of each residual. Only
    the unconverged points are evaluated. Converged where |f| ≤ ftol or the bracket has collapsed
    to rounding. Raises AnalysisError after MAXITER iterations.
    """
    out = x.copy()
    i: slice | np.ndarray = slice(None)  # the unconverged points; all at first
    for _ in range(MAXITER):
        f, df = fun(x, i)
        done = (np.abs(f) <= ftol) | (hi - lo <= 4e-16 * np.abs(x))
        below = f * sign_lo > 0  # the sign at lo: the root lies above x
        lo = np.where(below, x, lo)
        hi = np.where(below, hi, x)
        step = x - f / df
        step = np.where((step > lo) & (step < hi), step, 0.5 * (lo + hi))
        if np.any(done):
            ids = np.arange(out.size)[i]
            out[ids[done]] = x[done]
            keep = ~done
            if not np.any(keep):
                return out
            i, step, lo, hi, ftol = ids[keep], step[keep], lo[keep], hi[keep], ftol[keep]
        x = step
    raise AnalysisError(
        f"viscoplastic return mapping ({what}) did not converge in {MAXITER} iterations at "
        f"{x.size} of {out.size} points")


def _asinh_exp(t: np.ndarray) -> np.ndarray:
    """asinh(exp(t)) without overflow: t + ln(1 + √(1 + e^{−2t})) for t > 0."""
    tp = np.maximum(t, 0.0)
    return np.where(t > 0, tp + np.log1p(np.sqrt(1.0 + np.exp(-2.0 * tp))),
                    np.arcsinh(np.exp(np.minimum(t, 0.0))))


def _log_sinh(y: np.ndarray) -> np.ndarray:
    """Return ln sinh(y), y > 0, without overflow or cancellation: y + ln(−expm1(−2y)) − ln 2."""
    return y + np.log(-np.expm1(-2.0 * y)) - np.log(2.0)
