"""A package model prepared for viscoplastic time stepping: only the solder is nonlinear.

The regions of a :class:`~wlcsp.fem.thermoelastic.ThermoelasticModel` stay linear thermoelastic
(E(T), ν(T), each region's own stress-free temperature); the solder regions follow a rate law of
:mod:`wlcsp.fem.viscoplastic` (Anand or Garofalo), backward Euler at every quadrature point. The
unknowns are those of the thermoelastic model's reduced system, u = P q + E u_D
(:meth:`~wlcsp.fem.thermoelastic.ThermoelasticModel.reduction`: the free DOFs and, in 3D, the
two motions of each plane face; its supports, symmetry faces and automatic rigid-mode holds are
taken as they are), u_D the values of the **prescribed** DOFs (zero, or a given history on held
DOFs named at construction; E scatters them). At a time t_{n+1} and uniform temperature T the
residual is

    R(q) = Pᵀ[∫_lin Bᵀ D(T) (Bu − ε_th m) dV + ∫_solder Bᵀ σ(Bu; state_n, T, Δt) dV],

m the unit isotropic strain (ones on the normals, zeros on the 1 (2D) or 3 (3D) engineering
shears), and its tangent K_t = K_lin(T) + Pᵀ ∫_solder Bᵀ D_t B dV P with the consistent tangent
D_t of the return mapping (symmetric positive definite).

The linear regions are assembled once: K_lin(T) = K_c + Σ_g [λ_g(T) K_g^λ + μ_g(T) K_g^μ], the
sum over the material groups whose moduli depend on T (D = λ m mᵀ + μ diag(2, 2, 2, 1, …) is
linear in the Lamé constants), each reduced to PᵀKP and to the coupling PᵀKE with the prescribed
DOFs, and their thermal load is Σ_g (3λ_g + 2μ_g)(T) ε_th,g(T) b_g with b_g = Pᵀ∫_g Bᵀ m dV
(D m = (3λ + 2μ) m). The solder strains are one sparse product with the strain operator of the
solder points (:func:`strain_operator`, times P and E), their nodal forces one with its
transpose. So a residual or a tangent product touches the solder only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import skfem
from scipy import sparse

from ..errors import DesignError
from ..materials import Material
from . import viscoplastic as vp
from .kinematics import Kinematics, assemble_load, assemble_stiffness, strain
from .thermoelastic import ThermoelasticModel, elastic_matrix

KINDS = ("axisymmetric", "plane_strain", "3d")
"""Models of the cycle analysis: generalized plane strain (a global unknown) and plane stress
(σ_zz = 0 at every point, a local constraint on the return mapping) are not implemented."""


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


def strain_operator(kin: Kinematics) -> sparse.csr_matrix:
    """The strains at the quadrature points of ``kin`` as a sparse map of all DOFs (CSR).

    Rows are (point, component), points element-major as in ``kin.dV``, ``kin.ncomp``
    components each; columns the DOFs of ``kin``. About 30 non-zeros per row for P2: one sparse
    product per strain evaluation or force assembly (times P or E of the module docstring for
    the unknowns), several times faster than the element kernels.
    """
    rows, cols, vals = [], [], []
    for start in range(0, kin.nelems, 4096):
        sl = slice(start, min(start + 4096, kin.nelems))
        B = kin.B(sl)  # (n, nqp, ncomp, nloc)
        n, q, c, _ = B.shape
        r = (start * q * c + np.arange(n * q * c)).reshape(n, q, c, 1)
        dofs = kin.element_dofs[sl][:, None, None, :]
        keep = B != 0.0
        rows.append(np.broadcast_to(r, B.shape)[keep])
        cols.append(np.broadcast_to(dofs, B.shape)[keep])
        vals.append(B[keep])
    shape = (kin.nelems * kin.nqp * kin.ncomp, kin.ndofs)
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                     np.concatenate(cols))), shape=shape)


def _lame(material: Material, T: float) -> tuple[float, float]:
    E, nu = float(material.youngs_modulus(T)), float(material.poisson(T))
    return E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu)), E / (2.0 * (1.0 + nu))


@dataclass(frozen=True, eq=False)
class _Group:
    """Linear elements of one material and stress-free temperature."""

    material: Material
    t_ref: float
    b: np.ndarray
    """Pᵀ ∫ Bᵀ m dV over the group (unknowns)."""
    K_lam: tuple[sparse.csr_matrix, sparse.csr_matrix] | None
    """∫ Bᵀ m mᵀ B dV reduced (PᵀKP, PᵀKE) when the moduli depend on T, else None (in K_c)."""
    K_mu: tuple[sparse.csr_matrix, sparse.csr_matrix] | None
    """∫ Bᵀ diag(2, 2, 2, 1, …) B dV, likewise."""


@dataclass(frozen=True, eq=False)
class _SolderGroup:
    """Solder points of one material, law and stress-free temperature."""

    material: Material
    law: vp.Anand | vp.Garofalo
    t_ref: float
    points: np.ndarray | slice
    b: np.ndarray
    """Pᵀ ∫ Bᵀ m dV over the group (unknowns; for the force scale)."""


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


class CycleModel:
    """The precomputed structure of one mesh for viscoplastic time stepping.

    Parameters
    ----------
    model : ThermoelasticModel
        Mesh, regions, materials, stress-free temperatures, supports (symmetry faces), plane
        faces, rigid-mode holds and solver backend; its kind must be one of :data:`KINDS`.
    solder : sequence of str
        The viscoplastic regions (e.g. every ``bump_<i>``); the others stay elastic.
    law : str
        ``anand`` or ``garofalo`` (:data:`wlcsp.fem.viscoplastic.LAWS`).
    prescribed : array of int, optional
        DOFs whose displacement the time stepping prescribes as a history
        (``run(..., displacements=...)``, e.g. a submodel's cut boundary driven by a global
        model). They must be held by the model's supports (:attr:`ThermoelasticModel.fixed`):
        declare the boundary as a support holding those components; the other held DOFs stay
        at zero. Values are given in this order.

    Attributes
    ----------
    ncomp : int
        Strain components per point (4 in 2D, 6 in 3D).
    nunknowns : int
        Unknowns q of the reduced system (free DOFs, plus two per plane face).
    """

    def __init__(self, model: ThermoelasticModel, solder: Sequence[str], law: str = "anand",
                 prescribed: np.ndarray | Sequence[int] | None = None) -> None:
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
        self.ncomp = kin.ncomp
        self.m = kin.unit_volumetric
        self.free = model.free
        self.ndofs = kin.ndofs
        self.prescribed = _prescribed(model, prescribed)
        self.P = model.reduction()
        self.Pt = self.P.T.tocsr()
        self.E = sparse.csr_matrix((np.ones(self.prescribed.size),
                                    (self.prescribed, np.arange(self.prescribed.size))),
                                   shape=(self.ndofs, self.prescribed.size))
        self.nunknowns = self.P.shape[1]
        is_solder = np.isin(np.arange(len(model.regions)),
                            [model.regions.index(r) for r in solder])[model.region_id]
        self.solder_elems = np.flatnonzero(is_solder)
        self.kin_s = restrict(kin, self.solder_elems)
        self.nqp = kin.nqp
        self.npoints = self.solder_elems.size * self.nqp
        op = strain_operator(self.kin_s)
        self.B_s = (op @ self.P).tocsr()
        self.B_sT = self.B_s.T.tocsr()
        self.B_sD = op[:, self.prescribed].tocsr()
        self.dV_s = self.kin_s.dV.ravel()
        self._linear(model, np.flatnonzero(~is_solder))
        self._solder(model, law)

    def _reduce(self, K: sparse.csr_matrix) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """(PᵀKP, PᵀKE): K on the unknowns and its coupling with the prescribed DOFs."""
        KP = K @ self.P
        return (self.Pt @ KP).tocsr(), (self.Pt @ K[:, self.prescribed]).tocsr()

    def _linear(self, model: ThermoelasticModel, elems: np.ndarray) -> None:
        """K_c, the T-dependent groups and the thermal-load vectors of the linear elements."""
        rid = model.region_id[elems]
        nc = self.ncomp
        keys: dict[tuple[str, float], list[int]] = {}
        for k, name in enumerate(model.regions):
            if np.any(rid == k):
                keys.setdefault((model.materials[name].name, model.stress_free[k]), []).append(k)
        self.groups: list[_Group] = []
        const = np.zeros(elems.size, dtype=bool)
        D_const = np.zeros((elems.size, 1, nc, nc))
        lam_mat, mu_mat = np.outer(self.m, self.m), 2.0 * np.diag(1.0 / vp.voigt(nc).engineering)
        for (_, t_ref), ks in keys.items():
            mat = model.materials[model.regions[ks[0]]]
            sel = np.isin(rid, ks)
            kin_g = restrict(model.kin, elems[sel])
            b = self.Pt @ assemble_load(kin_g, np.broadcast_to(self.m, (sel.sum(), 1, nc)))
            if mat.E.is_constant and mat.nu.is_constant:
                const |= sel
                lam, mu = _lame(mat, 20.0)
                D_const[sel] = lam * lam_mat + mu * mu_mat
                self.groups.append(_Group(mat, t_ref, b, None, None))
            else:
                self.groups.append(_Group(mat, t_ref, b,
                                          self._reduce(assemble_stiffness(kin_g, lam_mat)),
                                          self._reduce(assemble_stiffness(kin_g, mu_mat))))
        n = self.nunknowns
        self.K_c = (sparse.csr_matrix((n, n)), sparse.csr_matrix((n, self.prescribed.size)))
        if np.any(const):
            kin_c = restrict(model.kin, elems[const])
            self.K_c = self._reduce(assemble_stiffness(kin_c, D_const[const]))
        self._K_cache: tuple[tuple, tuple[sparse.csr_matrix, sparse.csr_matrix]] | None = None

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
            b = self.Pt @ assemble_load(self.kin_s, weight.reshape(-1, self.nqp, 1) * self.m)
            self.solder_groups.append(_SolderGroup(mat, vp.solder_law(mat, law), t_ref, points, b))

    # --- the linear part -----------------------------------------------------------------

    def _linear_matrices(self, T: float) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """(K_lin(T), its coupling with the prescribed DOFs); cached for the last moduli."""
        coef = tuple(_lame(g.material, T) for g in self.groups if g.K_lam is not None)
        if self._K_cache is None or self._K_cache[0] != coef:
            K, KD = self.K_c
            varying = [g for g in self.groups if g.K_lam is not None]
            for g, (lam, mu) in zip(varying, coef, strict=True):
                K = K + lam * g.K_lam[0] + mu * g.K_mu[0]
                KD = KD + lam * g.K_lam[1] + mu * g.K_mu[1]
            self._K_cache = (coef, (K.tocsr(), KD.tocsr()))
        return self._K_cache[1]

    def linear_stiffness(self, T: float) -> sparse.csr_matrix:
        """K_lin(T) on the unknowns (N/mm); cached for the last set of moduli."""
        return self._linear_matrices(T)[0]

    def linear_residual(self, T: float, x: np.ndarray, u_d: np.ndarray | None = None
                        ) -> np.ndarray:
        """The linear regions' part of R (N): K_lin x + PᵀK_lin E u_D − f_th(T)."""
        K, KD = self._linear_matrices(T)
        r = K @ x - self.linear_thermal_load(T)
        return r if u_d is None or not u_d.size else r + KD @ u_d

    def prescribed_load(self, T: float, tangent: np.ndarray, du_d: np.ndarray) -> np.ndarray:
        """Pᵀ K_t E du_D (N): the tangent's forces on the unknowns of a prescribed increment."""
        f = self._linear_matrices(T)[1] @ du_d
        return f + self.solder_force(np.einsum("pij,pj->pi", tangent,
                                               (self.B_sD @ du_d).reshape(-1, self.ncomp)))

    def linear_thermal_load(self, T: float) -> np.ndarray:
        """Σ_g (3λ_g + 2μ_g)(T) ε_th,g(T) b_g on the unknowns (N)."""
        f = np.zeros(self.nunknowns)
        for g in self.groups:
            lam, mu = _lame(g.material, T)
            f += (3.0 * lam + 2.0 * mu) * float(g.material.thermal_strain(T, g.t_ref)) * g.b
        return f

    def thermal_load_rate(self, T: float) -> np.ndarray:
        """Σ_r (3λ_r + 2μ_r) α_r b_r at T (N/K): the clamped thermal forces of 1 K, every region.

        In the solder the tangent's volumetric part is the elastic one (the flow is isochoric),
        so K_t⁻¹ of this vector is the response to 1 K whatever the inelastic state.
        """
        f = np.zeros(self.nunknowns)
        for g in (*self.groups, *self.solder_groups):
            lam, mu = _lame(g.material, T)
            f += (3.0 * lam + 2.0 * mu) * float(g.material.alpha(T)) * g.b
        return f

    # --- the solder ---------------------------------------------------------------------

    def solder_strain(self, x: np.ndarray, u_d: np.ndarray | None = None) -> np.ndarray:
        """Total strain (npoints, n) at the solder points of unknowns ``x``, prescribed ``u_d``."""
        eps = self.B_s @ x
        if u_d is not None and u_d.size:
            eps = eps + self.B_sD @ u_d
        return eps.reshape(-1, self.ncomp)

    def solder_force(self, stress: np.ndarray) -> np.ndarray:
        """Nodal forces Pᵀ ∫ Bᵀ σ dV (unknowns) of the solder stress (npoints, ncomp)."""
        return self.B_sT @ (stress * self.dV_s[:, None]).ravel()

    def update(self, state: vp.State, eps: np.ndarray, T: float, dt: float,
               dp_guess: np.ndarray | None) -> vp.Update:
        """Return mapping of every solder point (groups by material and stress-free T)."""
        if len(self.solder_groups) == 1:
            g = self.solder_groups[0]
            return vp.update(g.material, g.law, state, eps, T, g.t_ref, dt, dp_guess)
        stress = np.empty_like(eps)
        tangent = np.empty((eps.shape[0], self.ncomp, self.ncomp))
        parts = {f.name: np.empty_like(getattr(state, f.name)) for f in dataclasses.fields(state)}
        for g in self.solder_groups:
            i = g.points
            sub = vp.State(*(getattr(state, k)[i] for k in parts))
            up = vp.update(g.material, g.law, sub, eps[i], T, g.t_ref, dt,
                           None if dp_guess is None else dp_guess[i])
            stress[i], tangent[i] = up.stress, up.tangent
            for k in parts:
                parts[k][i] = getattr(up.state, k)
        return vp.Update(stress, vp.State(**parts), tangent)

    def tangent_product(self, T: float, tangent: np.ndarray, v: np.ndarray) -> np.ndarray:
        """K_t v (unknowns) with the solder tangent (npoints, n, n), matrix-free in the solder."""
        e = self.solder_strain(v)
        return self.linear_stiffness(T) @ v + self.solder_force(
            np.einsum("pij,pj->pi", tangent, e))

    def tangent_matrix(self, T: float, tangent: np.ndarray) -> sparse.csr_matrix:
        """K_t on the unknowns (CSR, N/mm) with the solder tangent (npoints, ncomp, ncomp).

        The solder part is B_sᵀ blockdiag(D_t dV) B_s, the strain operator's product with a
        block-diagonal (BSR) matrix of the point tangents: already reduced (P inside B_s).
        """
        n, nc = self.npoints, self.ncomp
        D = sparse.bsr_matrix((tangent * self.dV_s[:, None, None], np.arange(n),
                               np.arange(n + 1)), shape=(n * nc, n * nc))
        K_s = self.B_sT @ (D @ self.B_s)
        return (self.linear_stiffness(T) + K_s).tocsr()

    def initial_state(self) -> vp.State:
        """The virgin state of every solder point."""
        state = vp.initial_state(self.solder_groups[0].law, self.npoints, self.ncomp)
        for g in self.solder_groups[1:]:
            state.s[g.points] = vp.initial_state(g.law, 1).s[0]
        return state

    def full(self, x: np.ndarray, u_d: np.ndarray | None = None) -> np.ndarray:
        """The full DOF vector u = P x + E u_D (zero on the other held DOFs)."""
        u = self.P @ x
        if u_d is not None and u_d.size:
            u = u + self.E @ u_d
        return u

    def solution(self, x: np.ndarray, T: float, t: float, stress_s: np.ndarray,
                 state: vp.State, u_d: np.ndarray | None = None) -> CycleSolution:
        """The full fields at unknowns ``x``, prescribed ``u_d``, solder stress and state."""
        model = self.model
        nc = self.ncomp
        u = self.full(x, u_d)
        eps = strain(model.kin, u)
        E, nu, eth = model.region_properties(T)
        D = elastic_matrix(E, nu, self.kind)[model.region_id][:, None]
        mech = eps - eth[model.region_id][:, None, None] * self.m
        stress = np.matmul(D, mech[..., None])[..., 0]
        s = self.solder_elems
        shape = (s.size, self.nqp)
        stress[s] = stress_s.reshape(*shape, nc)
        ein = np.zeros_like(eps)
        ein[s] = state.inelastic_strain.reshape(*shape, nc)
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


def _prescribed(model: ThermoelasticModel, dofs: np.ndarray | Sequence[int] | None
                ) -> np.ndarray:
    """The prescribed DOFs as an int array; DesignError unless distinct and held."""
    if dofs is None:
        return np.zeros(0, dtype=int)
    arr = np.asarray(dofs)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise DesignError("prescribed", f"array of shape {arr.shape}, dtype {arr.dtype}",
                          "a 1-D array of DOF indices")
    arr = arr.astype(int)
    if np.unique(arr).size != arr.size:
        raise DesignError("prescribed", f"{arr.size - np.unique(arr).size} repeated DOFs",
                          "distinct DOF indices")
    loose = np.setdiff1d(arr, model.fixed)
    if loose.size:
        raise DesignError("prescribed", f"DOF {int(loose[0])} (of {loose.size} not held)",
                          "DOFs held by the model's supports: declare the boundary as a "
                          "support holding those components")
    return arr
