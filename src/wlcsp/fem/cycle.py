"""Viscoplastic solder in a package model: global Newton time stepping through a T history.

The problem
-----------
The regions of a :class:`~wlcsp.fem.thermoelastic.ThermoelasticModel` stay linear thermoelastic
(E(T), ν(T), each region's own stress-free temperature); the solder regions follow a rate law of
:mod:`wlcsp.fem.viscoplastic` (Anand or Garofalo), integrated by backward Euler at every quadrature
point. At each time t_{n+1} of the history, at the uniform temperature T_{n+1}, the displacement
solves

    R(u) = ∫_lin Bᵀ D(T) (Bu − ε_th m) dV + ∫_solder Bᵀ σ(Bu; state_n, T, Δt) dV = 0,

m = [1, 1, 1, 0], with the supports of the thermoelastic model (the package is otherwise free).
The history starts from the virgin solder state with an instantaneous (Δt = 0, elastic) solve at
its first temperature.

Structure: only the solder is nonlinear
---------------------------------------
The linear regions are assembled once. Their stiffness is K_lin(T) = K_c + Σ_g [λ_g(T) K_g^λ +
μ_g(T) K_g^μ], the sum running over the material groups whose moduli depend on temperature
(D = λ m mᵀ + μ diag(2, 2, 2, 1) is linear in the Lamé constants), and their thermal load is
Σ_g (3λ_g + 2μ_g)(T) ε_th,g(T) b_g with b_g = ∫_g Bᵀ m dV (D m = (3λ + 2μ) m). A Newton
iteration therefore touches the solder only: strain, return mapping, nodal forces.

The Newton system K_t du = −R, K_t = K_lin(T) + ∫_solder Bᵀ D_t B dV with the consistent tangent
D_t of the return mapping (symmetric positive definite), is solved by conjugate gradients, the
solder part applied matrix-free and preconditioned by a sparse factorization of the tangent at an
earlier state. When CG needs more than :data:`REFACTOR_ITERATIONS` iterations the preconditioner
is refactored at the current tangent, so the factorization (seconds at 1e5 DOFs) is paid a few
times per run rather than per iteration. The CG tolerance is the forcing term of an inexact
Newton method (Eisenstat & Walker, *SIAM J. Sci. Comput.* 17:16, 1996): well below the Newton
tolerance once close, so the quadratic convergence of the consistent tangent is kept.

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
(no convergence in :data:`NEWTON_MAXITER`, a growing residual, a failed return mapping) is
repeated with a quarter of its length; after :data:`MAX_CUTBACKS` cut-backs in a row the run
raises :class:`~wlcsp.errors.AnalysisError` naming the time and temperature. Nothing unconverged
is ever returned.

Convergence: ‖R_free‖₂ ≤ ``newton_rtol``·F_ref, F_ref = ‖Σ_r (3λ_r + 2μ_r) α_r b_r‖·ΔT_hist, the
nodal forces of the history's temperature range ΔT_hist (at least 1 K) with every region clamped:
a fixed force scale of the problem.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import skfem
from scipy import sparse
from scipy.sparse.linalg import LinearOperator, cg
from threadpoolctl import threadpool_limits

from ..errors import AnalysisError, DesignError
from ..loading import Profile, discretize
from ..materials import Material
from . import viscoplastic as vp
from .kinematics import NCOMP, Kinematics, assemble_load, assemble_stiffness, strain
from .linsolve import Factorization, factorize
from .thermoelastic import M, ThermoelasticModel, elastic_matrix

KINDS = ("axisymmetric", "plane_strain")
"""2D models of the cycle analysis: generalized plane strain (a global unknown) and plane stress
(σ_zz = 0 at every point, a local constraint on the return mapping) are not implemented."""

NEWTON_RTOL = 1e-4
"""Default Newton tolerance on ‖R‖/F_ref (module docstring). Measured on the seed design: the
per-cycle Darveaux energy changes by < 1e-4 (relative) when it is tightened to 1e-8."""

NEWTON_MAXITER = 10
"""Newton iterations before a step counts as failed and is cut back."""

CG_MAXITER = 60
"""CG iterations before the preconditioner is refactored at the current tangent."""

REFACTOR_ITERATIONS = 15
"""CG iterations of one Newton correction beyond which the next correction refactors the
preconditioner at the tangent of that iterate (a factorization costs about as much as 30 CG
iterations at the seed design's 2.4e5 DOFs: ``benchmarks/cycle_seed.py``)."""

ETA_FACTOR = 0.1
"""CG forcing term η = ETA_FACTOR·tol/‖R‖: the linear residual left by a correction is a tenth of
the Newton tolerance, so a correction in the quadratic range meets the tolerance."""

LINE_SEARCH_HALVINGS = 2
"""Halvings of a Newton correction that raised the residual, before the step is cut back
(backtracking line search; Dennis & Schnabel, *Numerical Methods for Unconstrained
Optimization and Nonlinear Equations*, 1996, §6.3)."""

ETA_MAX = 0.1
"""Largest CG forcing term (relative linear residual) of the inexact Newton."""

ETA_MIN = 1e-6
"""Smallest CG forcing term."""

MAX_DT_K = 20.0
"""Default largest temperature change per step (K). The backward-Euler energy per cycle of a
material point in the seed's shear history changes by 0.3 % from 16.5 to 8 K steps."""

CREEP_RTOL = 0.2
"""Default relative tolerance of the inelastic-strain error estimate (module docstring)."""

CREEP_ATOL = 1e-4
"""Default absolute tolerance of the inelastic-strain error estimate (equivalent strain)."""

REJECT_RATIO = 2.0
"""A converged step is repeated when its error estimate exceeds this multiple of the tolerance."""

GROWTH_MAX = 4.0
"""Largest growth of the step from one step to the next."""

SHRINK_MIN = 0.25
"""Smallest step factor after an error-estimate rejection, and the factor of a Newton cut-back."""

MAX_REJECTS = 4
"""Error-estimate rejections of one step in a row, after which the step is accepted: below
the Newton tolerance the estimate is noise, and shrinking further would not end."""

MAX_CUTBACKS = 8
"""Newton cut-backs in a row (a step 4⁸ = 65536 times shorter) before the run raises."""

BLAS_THREADS = 1
"""BLAS threads during the time stepping. Its work is many small BLAS calls (4x4 products per
point, triangular solves, vector updates), where a second thread mostly waits: one cycle of the
seed design took 17.4 s with one thread against 30.9 s with OpenBLAS's default two on the 2-core
development machine under a load of ~2.5 (``benchmarks/cycle_seed.py``)."""

FIRST_DT = 10.0
"""Default first step (s) where the temperature does not limit it (a dwell)."""


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
    newton_rtol : float
        Newton tolerance on ‖R‖/F_ref.
    """

    max_dT: float = MAX_DT_K
    max_dt: float = math.inf
    first_dt: float = FIRST_DT
    creep_rtol: float | None = CREEP_RTOL
    creep_atol: float = CREEP_ATOL
    newton_rtol: float = NEWTON_RTOL

    def __post_init__(self) -> None:
        """Validate the settings (DesignError naming the field)."""
        for name in ("max_dT", "max_dt", "first_dt", "creep_atol", "newton_rtol"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0):
                raise DesignError(f"controls.{name}", v, "a number > 0")
        if self.creep_rtol is not None and not self.creep_rtol > 0:
            raise DesignError("controls.creep_rtol", self.creep_rtol, "a number > 0 or None")


def restrict(kin: Kinematics, elems: np.ndarray) -> Kinematics:
    """The strain operator of the elements ``elems`` only, in the global DOF numbering.

    :func:`~wlcsp.fem.kinematics.strain`, :func:`~wlcsp.fem.kinematics.assemble_load` and
    :func:`~wlcsp.fem.kinematics.assemble_stiffness` then work on that subset at its cost.
    """
    elems = np.asarray(elems)
    scalar = skfem.Basis(kin.scalar.mesh, kin.scalar.elem, quadrature=kin.scalar.quadrature,
                         elements=elems, dofs=kin.scalar.dofs)
    return dataclasses.replace(
        kin, scalar=scalar, grad=kin.grad[elems],
        hoop=None if kin.hoop is None else kin.hoop[elems], dV=kin.dV[elems], x=kin.x[:, elems])


def _strain_operator(kin: Kinematics, free: np.ndarray
                     ) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """The strains at the quadrature points of ``kin`` as a sparse map of the free DOFs.

    Rows are (point, component), points element-major as in ``kin.dV``; returns the matrix and
    its transpose, both CSR. About 30 non-zeros per point for P2: one sparse product per
    strain evaluation or force assembly, several times faster than the element kernels.
    """
    col = np.full(kin.ndofs, -1)
    col[free] = np.arange(free.size)
    rows, cols, vals = [], [], []
    for start in range(0, kin.nelems, 4096):
        sl = slice(start, min(start + 4096, kin.nelems))
        B = kin.B(sl)  # (n, nqp, 4, nloc)
        n, q, c, _ = B.shape
        r = (start * q * c + np.arange(n * q * c)).reshape(n, q, c, 1)
        dofs = col[kin.element_dofs[sl]][:, None, None, :]
        keep = (B != 0.0) & (dofs >= 0)
        rows.append(np.broadcast_to(r, B.shape)[keep])
        cols.append(np.broadcast_to(dofs, B.shape)[keep])
        vals.append(B[keep])
    shape = (kin.nelems * kin.nqp * NCOMP, free.size)
    op = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=shape)
    return op, op.T.tocsr()


def _lame(material: Material, T: float) -> tuple[float, float]:
    E, nu = float(material.youngs_modulus(T)), float(material.poisson(T))
    return E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu)), E / (2.0 * (1.0 + nu))


@dataclass(frozen=True, eq=False)
class _Group:
    """Linear elements of one material and stress-free temperature."""

    material: Material
    t_ref: float
    b: np.ndarray
    """∫ Bᵀ m dV over the group, free DOFs."""
    K_lam: sparse.csr_matrix | None
    """∫ Bᵀ m mᵀ B dV (free DOFs) when the moduli depend on T, else None (in K_c)."""
    K_mu: sparse.csr_matrix | None
    """∫ Bᵀ diag(2, 2, 2, 1) B dV (free DOFs), likewise."""


@dataclass(frozen=True, eq=False)
class _SolderGroup:
    """Solder points of one material, law and stress-free temperature."""

    material: Material
    law: vp.Anand | vp.Garofalo
    t_ref: float
    points: np.ndarray | slice
    b: np.ndarray
    """∫ Bᵀ m dV over the group, free DOFs (for the force scale)."""


@dataclass(frozen=True, eq=False)
class CycleSolution:
    """The package state at one time (the :class:`wlcsp.post.Solution` protocol and more).

    Arrays at quadrature points are (nelems, nqp, ...); outside the solder the inelastic fields
    are zero. ``mechanical_strain`` is total minus thermal strain (elastic plus inelastic).
    """

    kind: str
    T: float
    t: float
    u: np.ndarray
    strain: np.ndarray
    mechanical_strain: np.ndarray
    stress: np.ndarray
    inelastic_strain: np.ndarray
    accumulated_inelastic_strain: np.ndarray
    inelastic_work: np.ndarray
    kin: Kinematics
    regions: tuple[str, ...]
    region_id: np.ndarray


@dataclass(frozen=True)
class History:
    """Monitored averages and solver statistics at every accepted step (row 0: the start).

    Attributes
    ----------
    times, temperatures : ndarray (nsteps + 1,)
        s and °C.
    monitors : tuple of str
        Names of the averages, in the order of the second axis below.
    stress, strain, inelastic_strain : ndarray (nsteps + 1, nmon, 4)
        Averages of σ (MPa), total strain and ε_in (engineering shear), xx, yy, zz|θθ, xy.
    accumulated_inelastic_strain, inelastic_work : ndarray (nsteps + 1, nmon)
        Averages of p (-) and of the inelastic work density w (MPa = mJ/mm³).
    newton, cg : ndarray (nsteps,) of int
        Newton iterations (= constitutive evaluations) and CG iterations of each accepted step.
    stats : dict
        Totals: evaluations, cg iterations, factorizations, Newton cut-backs (and why, in
        ``cutback_reasons``), rejected steps, and seconds per phase (``seconds``: constitutive,
        solder kinematics, linear part, cg, factorization, predictor).
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


@dataclass(frozen=True)
class CycleResult:
    """:func:`run`'s answer: the monitored history, the final state, and the solder states.

    ``states`` holds the :class:`wlcsp.fem.viscoplastic.State` of the solder points at the
    knots asked for.
    """

    history: History
    final: CycleSolution
    solder_elems: np.ndarray
    """Elements of the solder points, in the order of the states' arrays (nqp points each)."""
    states: dict[float, vp.State] = field(default_factory=dict)


class CycleModel:
    """The precomputed structure of one mesh for viscoplastic time stepping.

    Parameters
    ----------
    model : ThermoelasticModel
        Mesh, regions, materials, stress-free temperatures, supports and solver backend; its
        kind must be one of :data:`KINDS`.
    solder : sequence of str
        The viscoplastic regions (e.g. every ``bump_<i>``); the others stay elastic.
    law : str
        ``anand`` or ``garofalo`` (:data:`wlcsp.fem.viscoplastic.LAWS`).
    """

    def __init__(self, model: ThermoelasticModel, solder: Sequence[str], law: str = "anand"
                 ) -> None:
        if model.kind not in KINDS:
            raise DesignError("model", model.kind, "the viscoplastic cycle analysis supports "
                              f"{', '.join(KINDS)}")
        unknown = [r for r in solder if r not in model.regions]
        if unknown or not solder:
            raise DesignError("solder", list(solder), f"a non-empty list of regions of the model "
                              f"({', '.join(model.regions)})")
        self.model = model
        self.kind = model.kind
        kin = model.kin
        self.free = model.free
        self.ndofs = kin.ndofs
        is_solder = np.isin(np.arange(len(model.regions)),
                            [model.regions.index(r) for r in solder])[model.region_id]
        self.solder_elems = np.flatnonzero(is_solder)
        self.kin_s = restrict(kin, self.solder_elems)
        self.nqp = kin.nqp
        self.npoints = self.solder_elems.size * self.nqp
        self.B_s, self.B_sT = _strain_operator(self.kin_s, self.free)
        self.dV_s = self.kin_s.dV.ravel()
        self._linear(model, np.flatnonzero(~is_solder))
        self._solder(model, law)

    def _linear(self, model: ThermoelasticModel, elems: np.ndarray) -> None:
        """K_c, the T-dependent groups and the thermal-load vectors of the linear elements."""
        free = self.free
        rid = model.region_id[elems]
        keys: dict[tuple[str, float], list[int]] = {}
        for k, name in enumerate(model.regions):
            if np.any(rid == k):
                keys.setdefault((model.materials[name].name, model.stress_free[k]), []).append(k)
        self.groups: list[_Group] = []
        const = np.zeros(elems.size, dtype=bool)
        D_const = np.zeros((elems.size, 1, NCOMP, NCOMP))
        lam_mat, mu_mat = np.outer(M, M), np.diag([2.0, 2.0, 2.0, 1.0])
        for (_, t_ref), ks in keys.items():
            mat = model.materials[model.regions[ks[0]]]
            sel = np.isin(rid, ks)
            kin_g = restrict(model.kin, elems[sel])
            b = assemble_load(kin_g, np.broadcast_to(M, (sel.sum(), 1, NCOMP)))[free]
            if mat.E.is_constant and mat.nu.is_constant:
                const |= sel
                lam, mu = _lame(mat, 20.0)
                D_const[sel] = lam * lam_mat + mu * mu_mat
                self.groups.append(_Group(mat, t_ref, b, None, None))
            else:
                K_lam = assemble_stiffness(kin_g, lam_mat)[free][:, free]
                K_mu = assemble_stiffness(kin_g, mu_mat)[free][:, free]
                self.groups.append(_Group(mat, t_ref, b, K_lam.tocsr(), K_mu.tocsr()))
        self.K_c = sparse.csr_matrix((free.size, free.size))
        if np.any(const):
            kin_c = restrict(model.kin, elems[const])
            self.K_c = assemble_stiffness(kin_c, D_const[const])[free][:, free].tocsr()
        self._K_cache: tuple[tuple, sparse.csr_matrix] | None = None

    def _solder(self, model: ThermoelasticModel, law: str) -> None:
        """Groups of solder points by material, law and stress-free temperature."""
        rid = np.repeat(model.region_id[self.solder_elems], self.nqp)
        keys: dict[tuple[str, float], list[int]] = {}
        for k in np.unique(rid):
            name = model.regions[k]
            keys.setdefault((model.materials[name].name, model.stress_free[k]), []).append(k)
        self.solder_groups: list[_SolderGroup] = []
        for (_, t_ref), ks in keys.items():
            mat = model.materials[model.regions[ks[0]]]
            points = slice(None) if len(keys) == 1 else np.flatnonzero(np.isin(rid, ks))
            weight = np.zeros(self.npoints)
            weight[points] = 1.0
            b = assemble_load(self.kin_s, weight.reshape(-1, self.nqp, 1) * M)[self.free]
            self.solder_groups.append(_SolderGroup(mat, vp.solder_law(mat, law), t_ref, points, b))

    # --- the linear part -----------------------------------------------------------------

    def linear_stiffness(self, T: float) -> sparse.csr_matrix:
        """K_lin(T) on the free DOFs (N/mm); cached for the last set of moduli."""
        coef = tuple(_lame(g.material, T) for g in self.groups if g.K_lam is not None)
        if self._K_cache is None or self._K_cache[0] != coef:
            K = self.K_c.copy()
            varying = [g for g in self.groups if g.K_lam is not None]
            for g, (lam, mu) in zip(varying, coef, strict=True):
                K = K + lam * g.K_lam + mu * g.K_mu
            self._K_cache = (coef, K.tocsr())
        return self._K_cache[1]

    def linear_thermal_load(self, T: float) -> np.ndarray:
        """Σ_g (3λ_g + 2μ_g)(T) ε_th,g(T) b_g on the free DOFs (N)."""
        f = np.zeros(self.free.size)
        for g in self.groups:
            lam, mu = _lame(g.material, T)
            f += (3.0 * lam + 2.0 * mu) * float(g.material.thermal_strain(T, g.t_ref)) * g.b
        return f

    def thermal_load_rate(self, T: float) -> np.ndarray:
        """Σ_r (3λ_r + 2μ_r) α_r b_r at T (N/K): the clamped thermal forces of 1 K, every region.

        In the solder the tangent's volumetric part is the elastic one (the flow is isochoric),
        so K_t⁻¹ of this vector is the response to 1 K whatever the inelastic state.
        """
        f = np.zeros(self.free.size)
        for g in (*self.groups, *self.solder_groups):
            lam, mu = _lame(g.material, T)
            f += (3.0 * lam + 2.0 * mu) * float(g.material.alpha(T)) * g.b
        return f

    # --- the solder ---------------------------------------------------------------------

    def solder_strain(self, x: np.ndarray) -> np.ndarray:
        """Total strain (npoints, 4) at the solder points of the free-DOF vector ``x``."""
        return (self.B_s @ x).reshape(-1, NCOMP)

    def solder_force(self, stress: np.ndarray) -> np.ndarray:
        """Nodal forces ∫ Bᵀ σ dV (free DOFs) of the solder stress (npoints, 4)."""
        return self.B_sT @ (stress * self.dV_s[:, None]).ravel()

    def update(self, state: vp.State, eps: np.ndarray, T: float, dt: float,
               dp_guess: np.ndarray | None) -> vp.Update:
        """Return mapping of every solder point (groups by material and stress-free T)."""
        if len(self.solder_groups) == 1:
            g = self.solder_groups[0]
            return vp.update(g.material, g.law, state, eps, T, g.t_ref, dt, dp_guess)
        stress = np.empty_like(eps)
        tangent = np.empty((eps.shape[0], NCOMP, NCOMP))
        parts = {k: np.empty_like(v) for k, v in dataclasses.asdict(state).items()}
        for g in self.solder_groups:
            i = g.points
            sub = vp.State(*(getattr(state, k)[i] for k in parts))
            up = vp.update(g.material, g.law, sub, eps[i], T, g.t_ref, dt,
                           None if dp_guess is None else dp_guess[i])
            stress[i], tangent[i] = up.stress, up.tangent
            for k in parts:
                parts[k][i] = getattr(up.state, k)
        return vp.Update(stress, vp.State(**parts), tangent)

    def initial_state(self) -> vp.State:
        """The virgin state of every solder point."""
        return vp.initial_state(self.solder_groups[0].law, self.npoints) \
            if len(self.solder_groups) == 1 else self._initial_mixed()

    def _initial_mixed(self) -> vp.State:
        state = vp.initial_state(self.solder_groups[0].law, self.npoints)
        for g in self.solder_groups[1:]:
            state.s[g.points] = vp.initial_state(g.law, 1).s[0]
        return state

    def full(self, x: np.ndarray) -> np.ndarray:
        """The full DOF vector of the free-DOF vector ``x`` (zero on the supports)."""
        u = np.zeros(self.ndofs)
        u[self.free] = x
        return u

    def solution(self, x: np.ndarray, T: float, t: float, stress_s: np.ndarray,
                 state: vp.State) -> CycleSolution:
        """The full fields at the state (free displacement ``x``, solder stress and state)."""
        model = self.model
        u = self.full(x)
        eps = strain(model.kin, u)
        E, nu, eth = model.region_properties(T)
        D = elastic_matrix(E, nu, self.kind)[model.region_id][:, None]
        mech = eps - eth[model.region_id][:, None, None] * M
        stress = np.matmul(D, mech[..., None])[..., 0]
        s = self.solder_elems
        shape = (s.size, self.nqp)
        stress[s] = stress_s.reshape(*shape, NCOMP)
        ein = np.zeros_like(eps)
        ein[s] = state.inelastic_strain.reshape(*shape, NCOMP)
        p = np.zeros(eps.shape[:2])
        w = np.zeros(eps.shape[:2])
        p[s], w[s] = state.p.reshape(shape), state.w.reshape(shape)
        return CycleSolution(kind=self.kind, T=float(T), t=float(t), u=u, strain=eps,
                             mechanical_strain=mech, stress=stress, inelastic_strain=ein,
                             accumulated_inelastic_strain=p, inelastic_work=w, kin=model.kin,
                             regions=model.regions, region_id=model.region_id)

    def monitor_matrix(self, monitors: Mapping[str, np.ndarray]) -> sparse.csr_matrix:
        """Rows of averaging weights over the solder points, one per monitor.

        Each monitor is a weight (nelems, nqp) or (nelems,) (boolean masks work), zero outside
        the solder;
        row i is w dV / Σ w dV, so ``W @ field`` gives the averages.
        """
        s = self.solder_elems
        rows = []
        for name, weight in monitors.items():
            w = np.asarray(weight, dtype=float)
            w = np.broadcast_to(w[:, None] if w.ndim == 1 else w, self.model.kin.dV.shape)
            outside = np.ones(w.shape[0], dtype=bool)
            outside[s] = False
            if np.any(w[outside] != 0):
                raise DesignError(f"monitors.{name}", "weights outside the solder",
                                  "monitors average over solder points only")
            row = (w[s] * self.kin_s.dV).ravel()
            if not row.sum() > 0:
                raise DesignError(f"monitors.{name}", "empty", "a monitor needs volume > 0")
            rows.append(row / row.sum())
        return sparse.csr_matrix(np.vstack(rows))


# --- the Newton step ---------------------------------------------------------------------------


@dataclass
class _Solver:
    """Mutable run-time state of :func:`run`: the preconditioner and the timers."""

    cm: CycleModel
    fac: Factorization | None = None
    refactor: bool = True
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("constitutive", "solder_kinematics", "linear", "cg", "factorization", "predictor"), 0.0))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("evaluations", "cg_iterations", "factorizations", "cutbacks", "rejected"), 0))

    def tick(self, key: str, t0: float) -> float:
        now = time.perf_counter()
        self.seconds[key] += now - t0
        return now

    def evaluate(self, x: np.ndarray, T: float, dt: float, state: vp.State,
                 dp_guess: np.ndarray | None) -> tuple[np.ndarray, vp.Update]:
        """Residual (free DOFs) and solder update at the displacement ``x``."""
        cm = self.cm
        t0 = time.perf_counter()
        eps = cm.solder_strain(x)
        t0 = self.tick("solder_kinematics", t0)
        up = cm.update(state, eps, T, dt, dp_guess)
        self.counts["evaluations"] += 1
        t0 = self.tick("constitutive", t0)
        r = cm.solder_force(up.stress)
        t0 = self.tick("solder_kinematics", t0)
        r += cm.linear_stiffness(T) @ x - cm.linear_thermal_load(T)
        self.tick("linear", t0)
        return r, up

    def factor(self, T: float, tangent: np.ndarray) -> None:
        """Factorize K_t at the tangent (npoints, 4, 4) as the CG preconditioner."""
        cm = self.cm
        t0 = time.perf_counter()
        self.fac = None  # free the old factors first
        K_s = assemble_stiffness(cm.kin_s, tangent.reshape(-1, cm.nqp, NCOMP, NCOMP))
        K = cm.linear_stiffness(T) + K_s[cm.free][:, cm.free]
        self.fac = factorize(K, cm.model.solver)
        self.counts["factorizations"] += 1
        self.refactor = False
        self.tick("factorization", t0)

    def precondition(self, r: np.ndarray) -> np.ndarray:
        """Apply the preconditioner (the factor of an earlier tangent) to ``r``."""
        assert self.fac is not None
        return self.fac.solve(r)

    def solve(self, T: float, tangent: np.ndarray, r: np.ndarray, eta: float) -> np.ndarray:
        """Newton correction: K_t du = −r to the relative residual ``eta`` (CG)."""
        cm = self.cm
        if self.fac is None or self.refactor:
            self.factor(T, tangent)
        K_lin = cm.linear_stiffness(T)

        def matvec(v: np.ndarray) -> np.ndarray:
            e = cm.solder_strain(v)
            return K_lin @ v + cm.solder_force(np.einsum("pij,pj->pi", tangent, e))

        n = r.size
        A = LinearOperator((n, n), matvec=matvec, dtype=float)
        Mop = LinearOperator((n, n), matvec=self.precondition, dtype=float)
        its = [0]

        def count(_: np.ndarray) -> None:
            its[0] += 1

        t0 = time.perf_counter()
        du, info = cg(A, -r, rtol=eta, maxiter=CG_MAXITER, M=Mop, callback=count)
        self.tick("cg", t0)
        self.counts["cg_iterations"] += its[0]
        if info != 0:  # the preconditioner has drifted too far: refactor here and solve again
            self.factor(T, tangent)
            t0 = time.perf_counter()
            du, info = cg(A, -r, rtol=eta, maxiter=CG_MAXITER, M=Mop, callback=count)
            self.tick("cg", t0)
            if info != 0:
                raise AnalysisError(f"CG did not reach {eta:.1e} with the tangent's own factors")
        elif its[0] > REFACTOR_ITERATIONS:
            self.refactor = True
        self.last_cg = its[0]
        return du


@dataclass(frozen=True)
class _Step:
    x: np.ndarray
    update: vp.Update
    iterations: int
    cg: int


def _newton(solver: _Solver, x0: np.ndarray, T: float, dt: float, state: vp.State,
            dp_guess: np.ndarray | None, tol: float) -> _Step | str:
    """Newton iterations of one step; the converged step, or the reason it failed.

    A correction that raises the residual (or breaks the return mapping) is halved, up to
    :data:`LINE_SEARCH_HALVINGS` times, before the step counts as failed.
    """
    x = base = x0.copy()
    du = np.zeros_like(x)
    r_base = math.inf
    halvings = cg_total = 0
    for k in range(1, NEWTON_MAXITER + 1):
        try:
            r, up = solver.evaluate(x, T, dt, state, dp_guess)
            norm = float(np.linalg.norm(r))
            reason = "residual not finite" if not math.isfinite(norm) else \
                f"residual grew from {r_base:.3g} to {norm:.3g} N"
        except AnalysisError as err:
            norm, reason = math.nan, f"return mapping failed ({err})"
        if norm <= tol:
            return _Step(x, up, k, cg_total)
        if not norm <= r_base:  # grown, not finite, or the return mapping failed
            if k > 1 and halvings < LINE_SEARCH_HALVINGS:
                halvings += 1
                du *= 0.5
                x = base + du
                continue
            return reason
        halvings = 0
        base, r_base = x, norm
        eta = min(ETA_MAX, max(ETA_MIN, ETA_FACTOR * tol / norm))
        try:
            du = solver.solve(T, up.tangent, r, eta)
        except AnalysisError as err:
            return f"linear solve failed ({err})"
        x = base + du
        cg_total += solver.last_cg
        dp_guess = up.state.p - state.p
    return f"no convergence in {NEWTON_MAXITER} iterations (residual {r_base:.3g} N, " \
        f"tolerance {tol:.3g} N)"


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
        Start of the profile and end of each cycle (s).
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
    bounds = lead + profile.period * np.arange(cycles + 1)
    return times, temps, bounds


def _eq(x: np.ndarray) -> np.ndarray:
    """Von Mises equivalent (..., ) of engineering-shear strains (..., 4)."""
    d = x[..., :3] - x[..., :3].mean(axis=-1, keepdims=True)
    return np.sqrt(2.0 / 3.0 * (np.sum(d**2, axis=-1) + 0.5 * x[..., 3] ** 2))


def run(cm: CycleModel, knot_times: Sequence[float], knot_temperatures: Sequence[float], *,
        monitors: Mapping[str, np.ndarray] | None = None, controls: Controls | None = None,
        times: Sequence[float] | None = None, keep: Sequence[float] = ()) -> CycleResult:
    """Step the package through the piecewise-linear history T(t) given by its knots.

    Parameters
    ----------
    cm : CycleModel
        The model.
    knot_times, knot_temperatures : sequence of float
        Knots (s, °C), times increasing; every knot is a step end.
    monitors : Mapping[str, ndarray], optional
        Averaging weights (nelems, nqp) over solder points (:meth:`CycleModel.monitor_matrix`);
        default one per solder region. They are recorded at every step and drive the error
        control.
    controls : Controls, optional
        Step and tolerance settings.
    times : sequence of float, optional
        Step ends to use instead of the automatic steps (including every knot); a step that
        fails is still cut back.
    keep : sequence of float
        Knot times at which to keep the solder state (``CycleResult.states``).

    Raises
    ------
    AnalysisError
        When a step cannot converge (naming time and temperature).

    Notes
    -----
    BLAS runs on one thread here (:data:`BLAS_THREADS`).
    """
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        return _run(cm, knot_times, knot_temperatures, monitors=monitors, controls=controls,
                    times=times, keep=keep)


def _run(cm: CycleModel, knot_times: Sequence[float], knot_temperatures: Sequence[float], *,
         monitors: Mapping[str, np.ndarray] | None = None, controls: Controls | None = None,
         times: Sequence[float] | None = None, keep: Sequence[float] = ()) -> CycleResult:
    """:func:`run` without the thread limit."""
    ctl = controls or Controls()
    kt = np.asarray(knot_times, dtype=float)
    kT = np.asarray(knot_temperatures, dtype=float)
    if kt.ndim != 1 or kt.size < 2 or kt.size != kT.size or np.any(np.diff(kt) <= 0):
        raise DesignError("history", {"times": kt.tolist()}, "at least two knots, times "
                          "increasing, one temperature per time")
    if times is not None:
        targets = np.asarray(times, dtype=float)
        if targets[0] != kt[0] or targets[-1] != kt[-1] or np.any(np.diff(targets) <= 0) or \
                not np.all(np.isin(kt, targets)):
            raise DesignError("times", "step ends", "increasing, from the first to the last "
                              "knot, every knot included")
    else:
        targets = kt
    if monitors is None:
        s_rid = cm.model.region_id
        monitors = {name: (s_rid == k)[:, None] * np.ones(cm.nqp)
                    for k, name in enumerate(cm.model.regions)
                    if np.any(s_rid[cm.solder_elems] == k)}
    W = cm.monitor_matrix(monitors)
    if not np.all(np.isin(keep, kt)):
        raise DesignError("keep", list(keep), "knot times of the history")
    kept: dict[float, vp.State] = {}
    tol = ctl.newton_rtol * float(np.linalg.norm(cm.thermal_load_rate(float(kT[0])))) * max(
        float(np.ptp(kT)), 1.0)
    solver = _Solver(cm)

    def temperature(t: float) -> float:
        return float(np.interp(t, kt, kT))

    rows: list[np.ndarray] = []
    step_stats: list[tuple[int, int]] = []

    def record(up: vp.Update, x: np.ndarray) -> np.ndarray:
        eps = cm.solder_strain(x)
        st = up.state
        fields = np.column_stack([up.stress, eps, st.inelastic_strain, st.p, st.w])
        means = W @ fields  # (nmon, 14)
        rows.append(means)
        return means[:, 8:12]  # ε̄_in

    state = cm.initial_state()
    x = np.zeros(cm.free.size)
    t = float(kt[0])
    first = _newton(solver, x, temperature(t), 0.0, state, None, tol)
    if isinstance(first, str):
        raise AnalysisError(f"the initial elastic state at t = {t:g} s, T = "
                            f"{temperature(t):g} °C did not converge: {first}")
    x, state = first.x, first.update.state
    stress_s, tangent_s = first.update.stress, first.update.tangent
    ein_prev = record(first.update, x)
    if t in keep:
        kept[t] = state
    out_t, out_T = [t], [temperature(t)]
    x_prev: np.ndarray | None = None
    d_ein_prev: np.ndarray | None = None
    dt_prev = 0.0
    dp_prev: np.ndarray | None = None
    dt_next = ctl.first_dt
    cutbacks = rejects = 0
    failures: list[str] = []
    k_target = 1
    while t < kt[-1] - 1e-9 * max(1.0, abs(kt[-1])):
        while targets[k_target] <= t + 1e-12 * max(1.0, abs(t)):
            k_target += 1
        t_end = float(targets[k_target])
        if times is not None:
            dt = t_end - t if cutbacks == 0 else min(dt_next, t_end - t)
        else:
            dt = _step_length(t, t_end, dt_next, ctl, kt, kT)
        t_new = t + dt if t + dt < t_end - 1e-9 * dt else t_end
        dt = t_new - t
        T_new = temperature(t_new)
        t0 = time.perf_counter()
        q = dt / dt_prev if dt_prev > 0 else 0.0
        x0 = x if x_prev is None else x + q * (x - x_prev)
        # the extrapolation assumes the last temperature rate: add the response to the rest
        dT = (T_new - out_T[-1]) - (q * (out_T[-1] - out_T[-2]) if len(out_T) > 1 else 0.0)
        if abs(dT) > 1e-9:
            if solver.fac is None:
                solver.factor(out_T[-1], tangent_s)
            x0 = x0 + dT * solver.precondition(cm.thermal_load_rate(out_T[-1]))
        guess = None if dp_prev is None else dp_prev * q
        solver.tick("predictor", t0)
        res = _newton(solver, x0, T_new, dt, state, guess, tol)
        if isinstance(res, str):
            cutbacks += 1
            solver.counts["cutbacks"] += 1
            failures.append(f"t = {t_new:.6g} s, T = {T_new:.4g} °C, step {dt:.3g} s: {res}")
            if cutbacks > MAX_CUTBACKS:
                raise AnalysisError(
                    f"no convergence at t = {t_new:.6g} s, T = {T_new:.4g} °C (step from "
                    f"t = {t:.6g} s, T = {temperature(t):.4g} °C) after {MAX_CUTBACKS} "
                    f"cut-backs: {res}")
            dt_next = SHRINK_MIN * dt
            continue
        d_ein = W @ res.update.state.inelastic_strain - ein_prev
        accept, dt_next = _error_control(ctl, dt, dt_prev, d_ein, d_ein_prev, times is None)
        if not accept and rejects < MAX_REJECTS:
            rejects += 1
            solver.counts["rejected"] += 1
            continue
        rejects = 0
        cutbacks = 0
        x_prev, x = x, res.x
        dp_prev = res.update.state.p - state.p
        state, stress_s, tangent_s = res.update.state, res.update.stress, res.update.tangent
        dt_prev, t = dt, t_new
        ein_prev = record(res.update, x)
        d_ein_prev = d_ein
        out_t.append(t)
        out_T.append(T_new)
        if t in keep:
            kept[t] = state
        step_stats.append((res.iterations, res.cg))
    means = np.stack(rows)  # (nsteps + 1, nmon, 14)
    stats = dict(solver.counts)
    stats["seconds"] = dict(solver.seconds)
    stats["steps"] = len(step_stats)
    stats["cutback_reasons"] = failures
    hist = History(
        times=np.asarray(out_t), temperatures=np.asarray(out_T), monitors=tuple(monitors),
        stress=means[..., 0:4], strain=means[..., 4:8], inelastic_strain=means[..., 8:12],
        accumulated_inelastic_strain=means[..., 12], inelastic_work=means[..., 13],
        newton=np.array([s[0] for s in step_stats], dtype=int),
        cg=np.array([s[1] for s in step_stats], dtype=int), stats=stats)
    return CycleResult(hist, cm.solution(x, out_T[-1], t, stress_s, state), cm.solder_elems,
                       kept)


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
