"""Global Newton time stepping of a package model through a temperature history (issue 5).

The model is a :class:`~wlcsp.fem.cycle_model.CycleModel`, 2D (4 strain components) or 3D
(6; its symmetry faces, plane faces and rigid-mode holds those of the thermoelastic model):
linear regions assembled once, viscoplastic solder (:mod:`wlcsp.fem.viscoplastic`). The
history is piecewise linear in time (knots, e.g. from :func:`profile_history`); it starts from
the virgin solder state with an instantaneous (Δt = 0, elastic) solve at its first temperature.

Prescribed displacements
------------------------
Besides the temperature, the DOFs named by ``CycleModel(..., prescribed=dofs)`` (held by the
model's supports) follow a given history u_D(t) (:data:`Displacements`: a function of time or
values at times, linearly interpolated; :func:`run`'s ``displacements``), e.g. the cut boundary
of a submodel driven by the displacements of a global model. u = P q + E u_D(t) at every step
end (:mod:`wlcsp.fem.cycle_model`); the predictor and the force scale below include them.

Newton
------
Each step solves R(u) = 0 by Newton's method with the consistent tangent. The linear systems
K_t du = −R are solved by conjugate gradients (K_t is symmetric positive definite), the solder
part of K_t applied matrix-free and the preconditioner a sparse factorization of the tangent at
an earlier state: the elastic one at the first loaded step, refactored at the current tangent
only when CG needs more than :data:`REFACTOR_ITERATIONS` iterations, so the factorization
(seconds at 1e5 DOFs) is paid once or a few times per run rather than per iteration. The CG
tolerance is the forcing term of an inexact Newton method (Eisenstat & Walker, *SIAM J. Sci.
Comput.* 17:16, 1996), :data:`ETA_FACTOR` of the Newton tolerance, so the quadratic convergence
of the consistent tangent is kept. Each correction is damped where it overshoots by a line
search on the step's incremental potential (:func:`_line_search`). Convergence: ‖R‖₂ ≤
``newton_rtol``·F_ref, F_ref = ‖Σ_r (3λ_r + 2μ_r) α_r b_r‖·ΔT_hist, the nodal forces of the
history's temperature range (at least 1 K) with every region clamped, plus ‖K E ΔU‖ of the
range ΔU of the prescribed displacements: a fixed force scale of the problem.

The predictor extrapolates the displacement linearly from the last two steps and adds, where
the temperature rate changes (at the knots), the response of the preconditioner to the rest of
the temperature step (K⁻¹ of the clamped thermal forces; the solder's volumetric tangent is
elastic). Most steps then converge in two evaluations of the solder.

Steps
-----
Every knot of the history is a step end. Within a segment the step is the largest allowed by
``max_dT`` (K per step), ``max_dt`` (s), and an estimate of the backward-Euler error of the
inelastic strain: Abaqus's CETOL measure (*Abaqus Analysis User's Guide* 2016, §6.2.4: the
difference between the creep strain increments computed from the rates at the start and at the
end of the increment), err = eq[Δε̄_in,n+1 − (Δt_{n+1}/Δt_n) Δε̄_in,n], here taken for the
monitored averages ε̄_in (each bump, each Darveaux layer) rather than point by point, where
singular corners would rule. A step is accepted when err ≤ ``creep_rtol``·eq(Δε̄_in,n+1) +
``creep_atol`` (up to a factor :data:`REJECT_RATIO`), and the next step scales by
0.9·(tolerance/err)^½ (local error ∝ Δt², Hairer, Nørsett & Wanner, *Solving ODEs I*, 1993,
§II.4), within [:data:`SHRINK_MIN`, :data:`GROWTH_MAX`]. A step whose Newton iteration fails
(no convergence in :data:`NEWTON_MAXITER`, a residual above :data:`DIVERGENCE` times its
smallest, a line search without descent, a failed return mapping) is repeated with a quarter
of its length; after :data:`MAX_CUTBACKS` cut-backs in a row, or when a cut-back would take the
step below ``min_dt`` (default :data:`MIN_STEP_FRACTION` of the history's length), the run
raises :class:`~wlcsp.errors.AnalysisError` naming the time and temperature. Nothing unconverged is
ever returned, and a run whose steps collapse (converging only at ever shorter steps, each
success followed by a failure of the next, longer one) ends instead of crawling.

Accuracy of the default controls, measured with the per-cycle Darveaux energy of one bump
(DNP 4.2 mm, coarse mesh, cycle 2 of JEDEC G) against a reference run with 2.5 K steps,
``creep_rtol`` 0.02, ``creep_atol`` 1e-6 and ``newton_rtol`` 1e-7: −0.2 % (seed000_elastomer),
−0.7 % (seed000_bare), −1.9 % (seed000_underfill); halving every step changes it by 0.0, 0.4
and 1.1 %.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.sparse.linalg import LinearOperator, cg
from threadpoolctl import threadpool_limits

from .. import progress
from ..errors import AnalysisError, DesignError
from ..loading import Profile, discretize
from . import viscoplastic as vp
from .cycle_model import CycleModel, CycleSolution
from .linsolve import Factorization, factorize, load_backend

NEWTON_RTOL = 1e-4
"""Default Newton tolerance on ‖R‖/F_ref (module docstring). Measured (one bump of the seed
design, coarse mesh, cycle 2): the per-cycle Darveaux energy moves by 0.1 % from 1e-4 to 1e-6
and not in its fourth digit from 1e-6 to 1e-8; at 1e-3 the step error estimate turns into noise
and the steps collapse."""

NEWTON_RTOL_3D = 1e-6
"""Default Newton tolerance of the 3D models. Measured (``benchmarks/cycle3d.py``,
seed000_bare_3d at refine 0.5, 1.1e5 DOFs, 3 JEDEC G cycles): with 1e-4 the step error estimate
turned into noise at 95 °C on the second cooling ramp and the steps collapsed (ten accepted
steps advanced 0.04 s, the run did not finish in 25 min); with 1e-6 it ran through (a 2D
model's monitors average over rings or slices of many more points, which smooths the noise)."""

NEWTON_MAXITER = 10
"""Newton iterations before a step counts as failed and is cut back."""

CG_MAXITER = 60
"""CG iterations before the preconditioner is refactored at the current tangent."""

REFACTOR_ITERATIONS = 15
"""CG iterations of one Newton correction beyond which the next correction refactors the
preconditioner at the tangent of that iterate (a factorization costs about as much as 30 CG
iterations at the seed design's 2.4e5 DOFs: ``benchmarks/cycle_seed.py``). In 3D (P2 tets,
PARDISO, ``benchmarks/cycle3d.py``: seed000_bare_3d at 1.1e5 DOFs) a factorization costs
6.7 s against 0.63 s for a substitution and 0.05 s for a tangent product, about 10 CG
iterations; the factors of the first loaded step served all 3 JEDEC G cycles (1
factorization, 792 CG iterations for 271 Newton evaluations, ~3 per correction), so
refactoring at every step (109 steps, ~730 s) would cost three times the whole CG time
(240 s)."""

ETA_FACTOR = 0.5
"""CG forcing term η = ETA_FACTOR·tol/‖R‖: a correction leaves a linear residual of half the
Newton tolerance, so one in the quadratic range meets it. Against 0.1, one cycle of the seed
design took 23 % fewer CG iterations (seed000_bare: 44 % fewer) with no more Newton iterations
and the same per-cycle energy to 1e-4 (``benchmarks/cycle_seed.py``)."""

LINE_SEARCH_BETA = 0.8
"""Slack of the line search: λ is accepted when |s(λ)| ≤ β|s(0)| (:func:`_line_search`;
Crisfield 1991, §9.3.1, suggests 0.8, the search being cheap only when seldom needed)."""

LINE_SEARCHES = 5
"""Trials of λ after the full step, per Newton correction, before the best is taken."""

DIVERGENCE = 10.0
"""A step fails (and is cut back) when its residual exceeds this multiple of its smallest."""

ETA_MAX = 0.1
"""Largest CG forcing term (relative linear residual) of the inexact Newton."""

ETA_MIN = 1e-6
"""Smallest CG forcing term."""

MAX_DT_K = 20.0
"""Default largest temperature change per step (K): 9 steps per JEDEC ramp. 30 K moved the
per-cycle energy of the accuracy study (module docstring) by +2.7 %, 20 K by -0.2 %."""

CREEP_RTOL = 0.2
"""Default relative tolerance of the inelastic-strain error estimate (module docstring)."""

CREEP_ATOL = 1e-4
"""Default absolute tolerance of the inelastic-strain error estimate (equivalent strain),
about a tenth of the per-cycle inelastic strain range of the seed's bumps. With 1e-5 the study
of the module docstring took 60 % more steps for +1.0 % (the error near the load reversal,
where Δε̄_in passes through zero, is what the absolute part bounds); 3e-4 gave -2.1 %."""

REJECT_RATIO = 2.0
"""A converged step is repeated when its error estimate exceeds this multiple of the tolerance:
a repeat costs two or more solder evaluations, so a step only somewhat over the tolerance is
kept and the next one shortened instead."""

GROWTH_MAX = 4.0
"""Largest growth of the step from one step to the next (fac_max; Hairer, Nørsett & Wanner
1993, §II.4, advise 1.5 to 5)."""

SHRINK_MIN = 0.25
"""Smallest step factor after an error-estimate rejection (fac_min, ibid.), and the factor of a
Newton cut-back."""

MAX_REJECTS = 4
"""Error-estimate rejections of one step in a row, after which the step is accepted: below
the Newton tolerance the estimate is noise, and shrinking further would not end."""

MAX_CUTBACKS = 8
"""Newton cut-backs in a row (a step 4⁸ = 65536 times shorter) before the run raises."""

MIN_STEP_FRACTION = 1e-5
"""Smallest step a Newton cut-back may leave, as a fraction of the history's length: Abaqus's
default minimum time increment, 1e-5 of the step's time period (*Abaqus Keywords Reference
Guide* 2016, *STATIC). Below it the run raises rather than crawl: measured on the rim-refined
local model of the seed's critical joint (186k DOFs, ``wlcsp.refined_joint`` with
``rim_size = 0.00635``) under the residual-norm halvings that preceded :func:`_line_search`:
from T ≈ 8 °C in a cooling ramp every step that converged was followed by a failure of the
next, four times longer one, and the steps fell to 1e-12 s without a cut-back counter ever
reaching :data:`MAX_CUTBACKS` (for JEDEC G, 3 cycles, the floor is 0.108 s)."""

BLAS_THREADS = 1
"""BLAS threads during the time stepping. Its work is many small BLAS calls (4x4 products per
point, triangular solves, vector updates), where a second thread mostly waits: one cycle of the
seed design's time stepping (as in ``benchmarks/cycle_seed.py``) took 17.4 s with one thread
against 30.9 s with OpenBLAS's default two on the 2-core development machine under a load of
~2.5."""

FIRST_DT = 10.0
"""Default first step (s) where the temperature does not limit it (a dwell): 1 % of a JEDEC
soak, grown by the error control from there."""


@dataclass(frozen=True)
class Controls:
    """Step and tolerance settings of :func:`run` (defaults: the module constants).

    Attributes
    ----------
    max_dT : float
        Largest temperature change per step, K.
    max_dt : float
        Largest step, s.
    first_dt : float
        First step where the temperature rate does not limit it, s.
    creep_rtol, creep_atol : float or None
        Error-estimate tolerances; ``creep_rtol = None`` switches the error control off.
    newton_rtol : float or None
        Newton tolerance on ‖R‖/F_ref; None (default): :data:`NEWTON_RTOL` in 2D,
        :data:`NEWTON_RTOL_3D` in 3D.
    min_dt : float or None
        Smallest step a Newton cut-back may leave, s; None (default): :data:`MIN_STEP_FRACTION`
        of the history's length.
    """

    max_dT: float = MAX_DT_K
    max_dt: float = math.inf
    first_dt: float = FIRST_DT
    creep_rtol: float | None = CREEP_RTOL
    creep_atol: float = CREEP_ATOL
    newton_rtol: float | None = None
    min_dt: float | None = None

    def __post_init__(self) -> None:
        """Validate the settings (DesignError naming the field)."""
        for name in ("max_dT", "max_dt", "first_dt", "creep_atol", "newton_rtol", "min_dt"):
            v = getattr(self, name)
            if name in ("newton_rtol", "min_dt") and v is None:
                continue
            if not (isinstance(v, (int, float)) and v > 0):
                raise DesignError(f"controls.{name}", v, "a number > 0")
        if self.creep_rtol is not None and not self.creep_rtol > 0:
            raise DesignError("controls.creep_rtol", self.creep_rtol, "a number > 0 or None")


@dataclass(frozen=True)
class History:
    """Monitored averages and solver statistics at every accepted step (row 0: the start).

    Attributes
    ----------
    times, temperatures : ndarray (nsteps + 1,)
        s and °C.
    monitors : tuple of str
        Names of the averages, in the order of the second axis below.
    stress, strain, inelastic_strain : ndarray (nsteps + 1, nmon, n)
        Averages of σ (MPa), total strain and ε_in (engineering shears) in the model's
        components (n = 4: xx, yy, zz|θθ, xy; n = 6: xx, yy, zz, xy, xz, yz).
    accumulated_inelastic_strain, inelastic_work : ndarray (nsteps + 1, nmon)
        Averages of p (-) and of the inelastic work density w (MPa = mJ/mm³).
    newton, cg : ndarray (nsteps,) of int
        Newton iterations (= constitutive evaluations) and CG iterations of each accepted step.
    stats : dict
        Totals: evaluations, cg iterations, factorizations, Newton cut-backs (and why, in
        ``cutback_reasons``), rejected steps, and seconds per phase (``seconds``: constitutive,
        solder kinematics, linear part, cg, factorization, predictor).
    recorded : ndarray (nsteps + 1, nrec) or None
        ``record @ u`` of the full displacement u (mm) at every accepted step (:func:`run`'s
        ``record``), e.g. a global model's displacement at a submodel's cut-face nodes.
    """

    times: np.ndarray
    temperatures: np.ndarray
    monitors: tuple[str, ...]
    stress: np.ndarray
    strain: np.ndarray
    inelastic_strain: np.ndarray
    accumulated_inelastic_strain: np.ndarray
    inelastic_work: np.ndarray
    newton: np.ndarray
    cg: np.ndarray
    stats: dict = field(default_factory=dict)
    recorded: np.ndarray | None = None


@dataclass(frozen=True)
class CycleResult:
    """:func:`run`'s answer: the monitored history, the final state, and the solder states.

    ``states`` holds the :class:`wlcsp.fem.viscoplastic.State` of the solder points and
    ``solutions`` the full fields at the knots asked for (``keep``).
    """

    history: History
    final: CycleSolution
    solder_elems: np.ndarray
    """Elements of the solder points, in the order of the states' arrays (nqp points each)."""
    states: dict[float, vp.State] = field(default_factory=dict)
    solutions: dict[float, CycleSolution] = field(default_factory=dict)


# --- the Newton step ---------------------------------------------------------------------------


@dataclass
class _Solver:
    """Mutable run-time state of :func:`run`: the preconditioner, counters and timers."""

    cm: CycleModel
    fac: Factorization | None = None
    refactor: bool = False
    last_cg: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("constitutive", "solder_kinematics", "linear", "cg", "factorization", "predictor"), 0.0))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("evaluations", "cg_iterations", "factorizations", "cutbacks", "rejected",
         "line_searches"), 0))

    def tick(self, key: str, t0: float) -> float:
        """Add the time since ``t0`` to phase ``key``; the time now."""
        now = time.perf_counter()
        self.seconds[key] += now - t0
        return now

    def evaluate(self, x: np.ndarray, T: float, dt: float, state: vp.State,
                 dp_guess: np.ndarray | None, u_d: np.ndarray | None
                 ) -> tuple[np.ndarray, vp.Update]:
        """Residual (unknowns) and solder update at the unknowns ``x``, prescribed ``u_d``."""
        cm = self.cm
        t0 = time.perf_counter()
        eps = cm.solder_strain(x, u_d)
        t0 = self.tick("solder_kinematics", t0)
        up = cm.update(state, eps, T, dt, dp_guess)
        self.counts["evaluations"] += 1
        t0 = self.tick("constitutive", t0)
        r = cm.solder_force(up.stress)
        t0 = self.tick("solder_kinematics", t0)
        r += cm.linear_residual(T, x, u_d)
        self.tick("linear", t0)
        return r, up

    def factor(self, T: float, tangent: np.ndarray) -> None:
        """Factorize K_t at the solder tangent (npoints, n, n): the CG preconditioner."""
        t0 = time.perf_counter()
        self.fac = None  # free the old factors first
        self.fac = factorize(self.cm.tangent_matrix(T, tangent), self.cm.model.solver)
        self.counts["factorizations"] += 1
        self.refactor = False
        self.tick("factorization", t0)

    def precondition(self, r: np.ndarray) -> np.ndarray:
        """Apply the preconditioner (the factors of an earlier tangent) to ``r``."""
        if self.fac is None:
            raise AnalysisError("no factorization to precondition with")
        return self.fac.solve(r)

    def solve(self, T: float, tangent: np.ndarray, r: np.ndarray, eta: float) -> np.ndarray:
        """Newton correction: K_t du = −r to the relative residual ``eta`` (CG)."""
        if self.fac is None or self.refactor:
            self.factor(T, tangent)
        n = r.size
        A = LinearOperator((n, n), dtype=float,
                           matvec=lambda v: self.cm.tangent_product(T, tangent, v))
        Mop = LinearOperator((n, n), matvec=self.precondition, dtype=float)
        its = [0]

        def count(_: np.ndarray) -> None:
            its[0] += 1

        t0 = time.perf_counter()
        du, info = cg(A, -r, rtol=eta, maxiter=CG_MAXITER, M=Mop, callback=count)
        self.tick("cg", t0)
        if info != 0:  # the preconditioner has drifted too far: refactor here and solve again
            self.factor(T, tangent)
            t0 = time.perf_counter()
            du, info = cg(A, -r, rtol=eta, maxiter=CG_MAXITER, M=Mop, callback=count)
            self.tick("cg", t0)
            if info != 0:
                raise AnalysisError(f"CG did not reach {eta:.1e} with the tangent's own factors")
        elif its[0] > REFACTOR_ITERATIONS:
            self.refactor = True
        self.counts["cg_iterations"] += its[0]
        self.last_cg = its[0]
        return du


@dataclass(frozen=True)
class _Step:
    x: np.ndarray
    update: vp.Update
    iterations: int
    cg: int


def _newton(solver: _Solver, x0: np.ndarray, T: float, dt: float, state: vp.State,
            dp_guess: np.ndarray | None, tol: float, u_d: np.ndarray | None = None
            ) -> _Step | str:
    """Newton iterations of one step; the converged step, or the reason it failed.

    Every correction goes through :func:`_line_search`. The step fails when the residual grows
    beyond :data:`DIVERGENCE` times its smallest value in the step, when no trial of a line
    search can be evaluated (a failed return mapping, a residual that is not finite) or none
    descends, or after :data:`NEWTON_MAXITER` iterations.
    """

    def at(x: np.ndarray, guess: np.ndarray | None) -> tuple[np.ndarray, vp.Update] | str:
        try:
            r, up = solver.evaluate(x, T, dt, state, guess, u_d)
        except AnalysisError as err:
            return f"return mapping failed ({err})"
        return (r, up) if np.all(np.isfinite(r)) else "residual not finite"

    x = x0.copy()
    first = at(x, dp_guess)
    if isinstance(first, str):
        return first
    r, up = first
    smallest, cg_total = math.inf, 0
    for k in range(1, NEWTON_MAXITER + 1):
        norm = float(np.linalg.norm(r))
        if norm <= tol:
            return _Step(x, up, k, cg_total)
        if norm > DIVERGENCE * smallest:
            return f"residual grew from {smallest:.3g} to {norm:.3g} N"
        smallest = min(smallest, norm)
        eta = min(ETA_MAX, max(ETA_MIN, ETA_FACTOR * tol / norm))
        try:
            du = solver.solve(T, up.tangent, r, eta)
        except AnalysisError as err:
            return f"linear solve failed ({err})"
        cg_total += solver.last_cg
        found = _line_search(solver, at, x, du, r, up.state.p - state.p)
        if isinstance(found, str):
            return found
        x, r, up = found
    return f"no convergence in {NEWTON_MAXITER} iterations (residual {smallest:.3g} N, " \
        f"tolerance {tol:.3g} N)"


def _line_search(solver: _Solver,
                 at: Callable[[np.ndarray, np.ndarray | None], tuple[np.ndarray, vp.Update] | str],
                 x: np.ndarray, du: np.ndarray, r0: np.ndarray, guess: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, vp.Update] | str:
    """The damped correction x + λ du, with s(λ) = du·R(x + λ du) small: (x, R, update).

    The search of Crisfield (*Non-linear Finite Element Analysis of Solids and Structures*,
    vol. 1, 1991, §9.3; Matthies & Strang, *Int. J. Numer. Methods Eng.* 14:1613, 1979):
    s(λ) is the derivative of the step's incremental potential along du, s(0) < 0 for the
    Newton direction of the symmetric positive definite tangent, and λ = 1 is taken when
    |s(1)| ≤ :data:`LINE_SEARCH_BETA`·|s(0)| or s(1) < 0 (the quadratic range: no extra
    evaluation, the residual of the trial is the next iteration's). An overshoot (s(1) > 0,
    or a trial that cannot be evaluated) is bracketed and λ found by regula falsi, kept
    inside the middle 80 % of the bracket, in up to :data:`LINE_SEARCHES` trials; the trial
    with the smallest |s| is taken if that is below |s(0)|, else the step fails. Unlike a
    residual-norm (merit) search, it lets the residual rise on the way down the potential:
    needed where a few solder points flow at the rate-insensitive limit (the singular land
    and pad rims of a refined joint), whose soft isochoric modes make the full Newton
    correction overshoot (:data:`MIN_STEP_FRACTION`).
    """
    s0 = float(du @ r0)
    lo, s_lo, hi, s_hi = 0.0, s0, 1.0, math.inf
    lam, best, best_s, why = 1.0, None, math.inf, ""
    for trial in range(LINE_SEARCHES + 1):
        x_lam = x + lam * du
        got = at(x_lam, guess)
        if isinstance(got, str):
            why, s = got, math.inf
        else:
            s = float(du @ got[0])
            if abs(s) <= LINE_SEARCH_BETA * abs(s0) or (trial == 0 and s < 0) or s0 >= 0:
                return (x_lam, *got)
            if abs(s) < best_s:
                best, best_s = (x_lam, *got), abs(s)
        if trial:
            solver.counts["line_searches"] += 1
        if s < 0:
            lo, s_lo = lam, s
        else:
            hi, s_hi = lam, s
        step = lo - s_lo * (hi - lo) / (s_hi - s_lo) if math.isfinite(s_hi) else 0.5 * (lo + hi)
        lam = min(max(step, lo + 0.1 * (hi - lo)), hi - 0.1 * (hi - lo))
    if best is None:
        return why
    if best_s >= abs(s0):
        return f"line search found no descent in {LINE_SEARCHES} trials"
    return best


# --- the history ---------------------------------------------------------------------------------


def profile_history(profile: Profile, cycles: int, start: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Knots of the load history and the times that bound the cycles.

    From ``start`` (°C, the solder's stress-free temperature) the package ramps at the profile's
    largest ramp rate to the profile's first temperature, then runs ``cycles`` repetitions of
    the profile (a non-cyclic profile once).

    Returns
    -------
    times, temperatures : ndarray
        Knots (s, °C) of the piecewise-linear history, starting at t = 0.
    bounds : ndarray (cycles + 1,)
        Start of the profile and end of each cycle (s), knots of ``times``.
    """
    t_p, T_p = discretize(profile, max_step=max(profile.period, 1.0), cycles=cycles)
    lead = 0.0
    if T_p[0] != start:
        if profile.ramp_rate <= 0:
            raise DesignError("loading.profile", profile.name, "a ramp rate > 0 is needed to go "
                              f"from the stress-free {start:g} °C to the first {T_p[0]:g} °C")
        lead = abs(T_p[0] - start) / profile.ramp_rate
    times = np.concatenate([[0.0], lead + t_p - t_p[0]]) if lead > 0 else t_p - t_p[0]
    temps = np.concatenate([[start], T_p]) if lead > 0 else T_p
    per_cycle = len(profile.times) - 1  # every segment is one knot-to-knot span here
    bounds = times[int(lead > 0) + per_cycle * np.arange(cycles + 1)]
    return times, temps, bounds


def _eq(x: np.ndarray) -> np.ndarray:
    """Von Mises equivalent (...,) of engineering-shear strains (..., n), n = 4 or 6."""
    d = x[..., :3] - x[..., :3].mean(axis=-1, keepdims=True)
    return np.sqrt(2.0 / 3.0 * (np.sum(d**2, axis=-1) + 0.5 * np.sum(x[..., 3:] ** 2, axis=-1)))


Displacements = Callable[[float], ArrayLike] | tuple[Sequence[float], ArrayLike]
"""A prescribed-displacement history: u_D(t) as a function of time (s → mm, one value per
prescribed DOF of the model), or ``(times, values)`` with values (ntimes, nprescribed) at the
times, linearly interpolated (the times must span the history)."""


def prescribed_history(cm: CycleModel, displacements: Displacements | None,
                       span: tuple[float, float]) -> Callable[[float], np.ndarray]:
    """u_D(t) (mm, one per ``cm.prescribed`` DOF) of :data:`Displacements`; zeros if None.

    ``span``: the first and last time (s) of the history, which tabulated values must cover.

    DesignError when the values do not match the model's prescribed DOFs.
    """
    n = cm.prescribed.size
    if displacements is None:
        return lambda t: np.zeros(n)
    if callable(displacements):
        def value(t: float) -> np.ndarray:
            u = np.asarray(displacements(t), dtype=float)
            if u.shape != (n,) or not np.all(np.isfinite(u)):
                raise DesignError("displacements", f"shape {u.shape} at t = {t:g} s",
                                  f"{n} finite values (mm), one per prescribed DOF")
            return u
        return value
    times, values = (np.asarray(a, dtype=float) for a in displacements)
    if times.ndim != 1 or times.size < 2 or np.any(np.diff(times) <= 0) or \
            values.shape != (times.size, n) or not np.all(np.isfinite(values)):
        raise DesignError("displacements", f"times {times.shape}, values {values.shape}",
                          f"increasing times (s) and values (ntimes, {n}) in mm")
    if times[0] > span[0] or times[-1] < span[1]:
        raise DesignError("displacements", f"times {times[0]:g} to {times[-1]:g} s",
                          f"times spanning the history, {span[0]:g} to {span[1]:g} s")
    return lambda t: _interp_rows(t, times, values)


def _interp_rows(t: float, times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Linear interpolation of the rows of ``values`` (ntimes, n) at ``t`` within ``times``."""
    j = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, times.size - 2))
    w = float(np.clip((t - times[j]) / (times[j + 1] - times[j]), 0.0, 1.0))
    return (1.0 - w) * values[j] + w * values[j + 1]


def run(cm: CycleModel, knot_times: Sequence[float], knot_temperatures: Sequence[float], *,
        monitors: Mapping[str, np.ndarray] | None = None, controls: Controls | None = None,
        times: Sequence[float] | None = None, keep: Sequence[float] = (),
        displacements: Displacements | None = None,
        record: sparse.spmatrix | np.ndarray | None = None) -> CycleResult:
    """Step the package through the piecewise-linear history T(t) given by its knots.

    Parameters
    ----------
    cm : CycleModel
        The model.
    knot_times, knot_temperatures : sequence of float
        Knots (s, °C), times increasing; every knot is a step end.
    monitors : Mapping[str, ndarray], optional
        Averaging weights (nelems, nqp) or (nelems,) over solder points
        (:meth:`CycleModel.monitor_matrix`); default one per solder region. They are recorded
        at every step and drive the error control.
    controls : Controls, optional
        Step and tolerance settings.
    times : sequence of float, optional
        Step ends to use instead of the automatic steps (every knot included); a step that
        fails is still cut back.
    keep : sequence of float
        Knot times at which to keep the solder state and the full fields
        (``CycleResult.states``, ``CycleResult.solutions``).
    displacements : callable or (times, values), optional
        The history of the model's prescribed DOFs (``CycleModel(..., prescribed=dofs)``),
        :data:`Displacements`: u_D(t) in mm, one value per prescribed DOF in their order, as a
        function of t (s) or tabulated and linearly interpolated. Default: zero (the prescribed
        DOFs then act as the other supports). Every step end takes u_D at its time; the
        temperature knots stay the only forced step ends, so put the knots of a tabulated
        history among ``knot_times`` (or ``times``) when it has kinks between them.
    record : sparse matrix or ndarray (nrec, ndofs), optional
        A linear map of the full displacement vector recorded at every accepted step
        (``History.recorded``): the displacement history of a creeping global model at the
        nodes that drive a submodel (:func:`wlcsp.submodel.recorder`).

    Raises
    ------
    AnalysisError
        When a step cannot converge (naming time and temperature).
    """
    ctl = controls or Controls()
    kt = np.asarray(knot_times, dtype=float)
    kT = np.asarray(knot_temperatures, dtype=float)
    if kt.ndim != 1 or kt.size < 2 or kt.size != kT.size or np.any(np.diff(kt) <= 0):
        raise DesignError("history", {"times": kt.tolist()}, "at least two knots, times "
                          "increasing, one temperature per time")
    targets = kt if times is None else np.asarray(times, dtype=float)
    if targets[0] != kt[0] or targets[-1] != kt[-1] or np.any(np.diff(targets) <= 0) or \
            not np.all(np.isin(kt, targets)):
        raise DesignError("times", "step ends", "increasing, from the first to the last knot, "
                          "every knot included")
    if not np.all(np.isin(keep, kt)):
        raise DesignError("keep", list(keep), "knot times of the history")
    if monitors is None:
        rid = cm.model.region_id
        monitors = {name: rid == k for k, name in enumerate(cm.model.regions)
                    if np.any(rid[cm.solder_elems] == k)}
    load_backend(cm.model.solver)  # before the limits, so that they hold its threads too
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        u_d = prescribed_history(cm, displacements, (float(kt[0]), float(kt[-1])))
        return _Run(cm, ctl, kt, kT, monitors, u_d, record).go(targets, times is not None,
                                                               keep)


class _Run:
    """The time loop of :func:`run` and the accepted states it records."""

    def __init__(self, cm: CycleModel, ctl: Controls, kt: np.ndarray, kT: np.ndarray,
                 monitors: Mapping[str, np.ndarray], u_d: Callable[[float], np.ndarray],
                 record: sparse.spmatrix | np.ndarray | None = None) -> None:
        self.cm, self.ctl, self.kt, self.kT, self.u_d = cm, ctl, kt, kT, u_d
        self.record = record
        self.recorded: list[np.ndarray] = []  # record @ u per accepted state
        self.nc = cm.ncomp
        self.names = tuple(monitors)
        self.W = cm.monitor_matrix(monitors)
        rtol = ctl.newton_rtol
        if rtol is None:
            rtol = NEWTON_RTOL if cm.model.kin.dim == 2 else NEWTON_RTOL_3D
        self.tol = rtol * _force_scale(cm, kt, kT, u_d)
        self.solver = _Solver(cm)
        self.rows: list[np.ndarray] = []  # monitored means per accepted state (nmon, 3n + 2)
        self.t: list[float] = []
        self.T: list[float] = []
        self.U: list[np.ndarray] = []  # prescribed values per accepted state
        self.steps: list[tuple[int, int]] = []
        self.failures: list[str] = []
        self.x: np.ndarray | None = None
        self.x_prev: np.ndarray | None = None
        self.up: vp.Update | None = None
        self.dp_prev: np.ndarray | None = None
        self.d_ein: np.ndarray | None = None

    def temperature(self, t: float) -> float:
        """T(t) of the history, °C."""
        return float(np.interp(t, self.kt, self.kT))

    def accept(self, t: float, step: _Step, state: vp.State | None) -> None:
        """Record the converged ``step`` ending at ``t`` (``state``: the one it started from)."""
        up = step.update
        self.x_prev = self.x
        self.dp_prev = None if state is None else up.state.p - state.p
        self.x, self.up = step.x, up
        u_d = self.u_d(t)
        eps = self.cm.solder_strain(step.x, u_d)
        st = up.state
        self.rows.append(self.W @ np.column_stack([up.stress, eps, st.inelastic_strain, st.p,
                                                   st.w]))
        self.t.append(t)
        self.T.append(self.temperature(t))
        self.U.append(u_d)
        if self.record is not None:
            self.recorded.append(self.record @ self.cm.full(step.x, u_d))

    def predictor(self, dt: float, T_new: float, u_new: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray | None]:
        """Start of the Newton iteration and of the return mapping (module docstring).

        The prescribed values get the same treatment as the temperature: the part of their
        step the linear extrapolation misses, du_D, adds −K⁻¹ K_t,qD du_D (the preconditioner's
        response to the forces of that increment).
        """
        t0 = time.perf_counter()
        dt_prev = self.t[-1] - self.t[-2] if len(self.t) > 1 else 0.0
        q = dt / dt_prev if dt_prev > 0 else 0.0
        x0 = self.x if self.x_prev is None else self.x + q * (self.x - self.x_prev)
        dT = T_new - self.T[-1] - (q * (self.T[-1] - self.T[-2]) if len(self.T) > 1 else 0.0)
        du = u_new - self.U[-1] - (q * (self.U[-1] - self.U[-2]) if len(self.U) > 1 else 0.0)
        moved = bool(du.size) and bool(np.any(du != 0.0))
        if abs(dT) > 1e-9 or moved:  # the part of the load step the extrapolation misses
            if self.solver.fac is None:
                self.solver.factor(self.T[-1], self.up.tangent)
                t0 = time.perf_counter()
            f = dT * self.cm.thermal_load_rate(self.T[-1])
            if moved:
                f = f - self.cm.prescribed_load(self.T[-1], self.up.tangent, du)
            x0 = x0 + self.solver.precondition(f)
        self.solver.tick("predictor", t0)
        return x0, None if self.dp_prev is None else q * self.dp_prev

    def go(self, targets: np.ndarray, given: bool, keep: Sequence[float]) -> CycleResult:
        """Step from the first to the last knot; ``given``: the targets are the step ends."""
        cm, ctl, solver = self.cm, self.ctl, self.solver
        t = float(self.kt[0])
        first = _newton(solver, np.zeros(cm.nunknowns), self.temperature(t), 0.0,
                        cm.initial_state(), None, self.tol, self.u_d(t))
        if isinstance(first, str):
            raise AnalysisError(f"the initial elastic state at t = {t:g} s, T = "
                                f"{self.temperature(t):g} °C did not converge: {first}")
        self.accept(t, first, None)
        kept, fields = {}, {}
        if t in keep:
            kept[t], fields[t] = first.update.state, self.solution(t)
        dt_next, cutbacks, rejects, k = ctl.first_dt, 0, 0, 1
        min_dt = ctl.min_dt if ctl.min_dt is not None else \
            MIN_STEP_FRACTION * float(targets[-1] - targets[0])
        # simulated seconds; closed at the end (or by the garbage collector after an error)
        bar = progress.bar(float(targets[-1] - t), "viscoplastic steps", unit="s")
        while k < targets.size:
            t_end = float(targets[k])
            if given:
                dt = t_end - t if cutbacks == 0 else min(dt_next, t_end - t)
            else:
                dt = _step_length(t, t_end, dt_next, ctl, self.kt, self.kT)
            t_new = t_end if t + dt >= t_end - 1e-9 * dt else t + dt
            dt, T_new = t_new - t, self.temperature(t_new)
            state = self.up.state
            u_new = self.u_d(t_new)
            x0, guess = self.predictor(dt, T_new, u_new)
            res = _newton(solver, x0, T_new, dt, state, guess, self.tol, u_new)
            if isinstance(res, str):
                cutbacks += 1
                solver.counts["cutbacks"] += 1
                self.failures.append(f"t = {t_new:.6g} s, T = {T_new:.4g} °C, step {dt:.3g} s: "
                                     f"{res}")
                if cutbacks > MAX_CUTBACKS or SHRINK_MIN * dt < min_dt:
                    why = f"after {MAX_CUTBACKS} cut-backs" if cutbacks > MAX_CUTBACKS else \
                        f"with the step cut below the smallest step {min_dt:.3g} s"
                    raise AnalysisError(
                        f"no convergence at t = {t_new:.6g} s, T = {T_new:.4g} °C (step from "
                        f"t = {t:.6g} s, T = {self.T[-1]:.4g} °C) {why}: {res}")
                dt_next = SHRINK_MIN * dt
                continue
            d_ein = self.W @ res.update.state.inelastic_strain - \
                self.rows[-1][:, 2 * self.nc:3 * self.nc]
            dt_prev = t - self.t[-2] if len(self.t) > 1 else 0.0
            ok, dt_next = _error_control(ctl, dt, dt_prev, d_ein, self.d_ein, not given)
            if not ok and rejects < MAX_REJECTS:
                rejects += 1
                solver.counts["rejected"] += 1
                continue
            cutbacks = rejects = 0
            self.d_ein = d_ein
            t = t_new
            self.accept(t, res, state)
            self.steps.append((res.iterations, res.cg))
            bar.update(dt)
            bar.set_postfix_str(f"step {len(self.steps)}, t = {t:.0f} s, T = {T_new:.1f} °C",
                                refresh=False)
            if t in keep:
                kept[t], fields[t] = res.update.state, self.solution(t)
            if t >= t_end:
                k += 1
        bar.close()
        return CycleResult(self.history(), self.solution(t), cm.solder_elems, kept, fields)

    def solution(self, t: float) -> CycleSolution:
        """The full fields of the last accepted state (time ``t``)."""
        return self.cm.solution(self.x, self.T[-1], t, self.up.stress, self.up.state, self.U[-1])

    def history(self) -> History:
        """The recorded averages and the solver statistics."""
        means = np.stack(self.rows)  # (nsteps + 1, nmon, 3n + 2)
        n = self.nc
        stats: dict = dict(self.solver.counts)
        stats["seconds"] = dict(self.solver.seconds)
        stats["steps"] = len(self.steps)
        stats["cutback_reasons"] = self.failures
        steps = np.array(self.steps, dtype=int).reshape(-1, 2)
        return History(
            times=np.asarray(self.t), temperatures=np.asarray(self.T), monitors=self.names,
            stress=means[..., 0:n], strain=means[..., n:2 * n],
            inelastic_strain=means[..., 2 * n:3 * n],
            accumulated_inelastic_strain=means[..., 3 * n], inelastic_work=means[..., 3 * n + 1],
            newton=steps[:, 0], cg=steps[:, 1], stats=stats,
            recorded=None if self.record is None else np.stack(self.recorded))


def _force_scale(cm: CycleModel, kt: np.ndarray, kT: np.ndarray,
                 u_d: Callable[[float], np.ndarray]) -> float:
    """F_ref (N) of the Newton tolerance (module docstring).

    The clamped thermal forces of the history's temperature range (at least 1 K) plus, with
    prescribed DOFs, the linear forces ‖PᵀK E ΔU‖ of their range ΔU (largest minus smallest
    value of each over the knots).
    """
    f = max(float(np.ptp(kT)), 1.0) * float(np.linalg.norm(cm.thermal_load_rate(float(kT[0]))))
    if cm.prescribed.size:
        U = np.stack([u_d(float(t)) for t in kt])
        f += float(np.linalg.norm(cm.prescribed_load(float(kT[0]), _elastic_tangent(cm, kT[0]),
                                                     np.ptp(U, axis=0))))
    return f


def _elastic_tangent(cm: CycleModel, T: float) -> np.ndarray:
    """The solder's elastic tangent (npoints, n, n) at ``T``: a zero-length step's."""
    state = cm.initial_state()
    return cm.update(state, np.zeros_like(state.inelastic_strain), T, 0.0, None).tangent


def _error_control(ctl: Controls, dt: float, dt_prev: float, d_ein: np.ndarray,
                   d_ein_prev: np.ndarray | None, active: bool) -> tuple[bool, float]:
    """Accept the step or not, and the next step length (module docstring, Steps).

    ``d_ein`` and ``d_ein_prev``: the increments of the monitored mean inelastic strains
    (nmon, 4) over this step and the previous one. A step that changed nothing lets the next
    one grow without bound (up to the segment's limits).
    """
    if not np.any(d_ein):
        return True, math.inf
    if not active or ctl.creep_rtol is None or d_ein_prev is None or dt_prev == 0:
        return True, GROWTH_MAX * dt
    err = _eq(d_ein - (dt / dt_prev) * d_ein_prev)
    ratio = float(np.max(err / (ctl.creep_rtol * _eq(d_ein) + ctl.creep_atol)))
    factor = 0.9 / math.sqrt(max(ratio, 1e-12))
    if ratio > REJECT_RATIO:
        return False, max(SHRINK_MIN, min(factor, 0.9)) * dt
    return True, min(GROWTH_MAX, max(SHRINK_MIN, factor)) * dt


def _step_length(t: float, t_end: float, proposal: float, ctl: Controls, kt: np.ndarray,
                 kT: np.ndarray) -> float:
    """The next step from ``t`` towards ``t_end`` (a knot or a given step end), s.

    The proposal (error control, growth), ``max_dt`` and ``max_dT`` over the current segment's
    temperature rate bound it; the remaining span to ``t_end`` is then divided evenly.
    """
    j = min(int(np.searchsorted(kt, t, side="right")) - 1, kt.size - 2)
    rate = abs(kT[j + 1] - kT[j]) / (kt[j + 1] - kt[j])
    dt = min(proposal, ctl.max_dt)
    if rate > 0:
        dt = min(dt, ctl.max_dT / rate)
    remaining = t_end - t
    return remaining / max(1, math.ceil(remaining / dt - 1e-9))
