"""Linear thermoelastic (CTE-mismatch) solve of a 2D package model at a uniform temperature.

Each region has an isotropic material evaluated at the current temperature T (secant-elastic
state: E(T), ν(T)) and an eigenstrain ε_th = ∫_{T0}^{T} α(θ) dθ from its own stress-free
temperature T0 (:meth:`wlcsp.materials.Material.thermal_strain`, the project's CTE convention).
Stress σ = D (ε − ε_th m), m = [1, 1, 1, 0]. Supports: u_x = 0 on the boundary ``axis``
(symmetry line or rotation axis) and u_y = 0 at the lowest node of the axis; nothing else, so
the package warps freely. The stiffness is factorized once per set of property values and
reused for any temperature at which E and ν are unchanged; a solve without load (every
region at its stress-free temperature, no pressure, no held displacement) is zero and factorizes
nothing.

Which 2D model for what
-----------------------
``axisymmetric``
    A round slice around the package centre: the in-plane state of a die corner region is
    biaxial, as in the real 3D package, and every bump is a solid of revolution (a ring of
    solder at its DNP). Use it for warpage, die/layer stresses and bump stress ranking; it
    overstates the hoop constraint of a single bump (a ring is stiffer than a ball).
``generalized_plane_strain``
    A slice along the die diagonal with a uniform out-of-plane strain ε₀ and zero net
    out-of-plane force: the stack shrinks out of plane as a whole, so the bumps carry only
    the out-of-plane misfit of their own CTE against the stack's mean, not the full
    −EαΔT of plane strain. Use it for slices (rows of bumps) when the 3D package is not round.
``plane_strain``
    Out-of-plane strain zero: σ_zz = ν(σ_xx + σ_yy) − EαΔT puts roughly −EαΔT (≈ −150 MPa for
    solder over 165 K) into σ_zz of every bump and inflates their von Mises stress. Kept for
    comparison with the literature and for validation (Timoshenko strip); do not rank bumps with it.
``plane_stress``
    σ_zz = 0: thin free sheets only; not a model of a package cross-section.

Measured on the seed design (studies/seed000_elastomer.toml, default P2 mesh, 240k DOFs, stress
free 125 °C, cooled to −40 °C), mean von Mises of the 8 bumps from DNP 1.2 to 4.7 mm:
axisymmetric 50 → 78 MPa (rises with DNP; mean σ_rz −1.4 → +3.9 MPa; warpage −8.5 µm),
generalized plane strain 145 MPa for every bump (ε₀ = −7.8e-4; warpage −17 µm), plane strain
184 MPa for every bump (warpage −17 µm). In both slice models the out-of-plane term swamps the
DNP-driven shear, so the bumps cannot be ranked with them; the axisymmetric model keeps the
DNP trend that drives fatigue.

The GPS unknown is eliminated by a Schur complement on the plane-strain factorization
(K ε-column solved as a second right-hand side), so GPS costs the same factorization.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import skfem
from scipy import linalg, sparse

from ..errors import DesignError, MeshError
from ..materials import Material
from .kinematics import (
    Kinematics,
    assemble_load,
    assemble_stiffness,
    kinematics,
    strain,
    unit_volumetric,
)
from .linsolve import Factorization, default_backend, factorize

M = np.array([1.0, 1.0, 1.0, 0.0])
"""Unit isotropic (volumetric) strain of the 2D models, component order xx, yy, zz, xy."""

M3D = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
"""Unit isotropic (volumetric) strain of the 3D model, component order xx, yy, zz, xy, xz, yz."""

SUPPORTS = ("x", "y", "xy")
"""Allowed values of a support in 2D: the displacement components held at zero."""

SUPPORTS_3D = ("x", "y", "z", "xy", "xz", "yz", "xyz")
"""Allowed values of a support in 3D (letter order free: "zx" is "xz")."""

RIGID_RANK_TOL = 1e-9
"""Relative singular-value threshold below which a rigid-body mode counts as left free by the
supports and plane faces (the modes are scaled to O(1) on the model: a held mode moves some held
DOF by O(1) or bends some plane face by O(size))."""


def unit_strain(kind: str) -> np.ndarray:
    """Unit isotropic strain m of the model ``kind``: :data:`M` in 2D, :data:`M3D` in 3D."""
    return unit_volumetric(3 if kind == "3d" else 2)


def elastic_matrix(E: np.ndarray | float, nu: np.ndarray | float, kind: str) -> np.ndarray:
    """Isotropic material matrix D (..., n, n) in MPa with engineering shears γ.

    n = 4 in 2D (xx, yy, zz, xy), n = 6 for ``3d`` (xx, yy, zz, xy, xz, yz). 3D Hooke's law
    σ = λ tr(ε) I + 2μ ε, with λ = Eν/((1+ν)(1−2ν)), μ = E/(2(1+ν)); for ``plane_stress``
    the in-plane block E/(1−ν²)[[1, ν], [ν, 1]], μ on shear and zeros on the zz row and column
    (σ_zz = 0; Timoshenko & Goodier, *Theory of Elasticity*, 3rd ed., §3, 16).
    """
    E = np.asarray(E, dtype=float)[..., None, None]
    nu = np.asarray(nu, dtype=float)[..., None, None]
    mu = E / (2.0 * (1.0 + nu))
    if kind == "3d":
        lam = E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))
        return lam * np.outer(M3D, M3D) + mu * np.diag([2.0, 2.0, 2.0, 1.0, 1.0, 1.0])
    if kind == "plane_stress":
        lam = E * nu / (1.0 - nu**2)  # λ* = 2μλ/(λ + 2μ)
        m = np.array([1.0, 1.0, 0.0, 0.0])
        diag = np.diag([2.0, 2.0, 0.0, 1.0])
    else:
        lam = E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))
        m = M
        diag = np.diag([2.0, 2.0, 2.0, 1.0])
    return lam * np.outer(m, m) + mu * diag


def region_ids(mesh: skfem.Mesh, names: list[str]) -> np.ndarray:
    """Index into ``names`` of the region of each element; the regions must partition the mesh."""
    subdomains = mesh.subdomains or {}
    missing = [n for n in names if n not in subdomains]
    if missing:
        raise MeshError(f"regions {missing} have materials but no elements in the mesh "
                        f"(subdomains: {sorted(subdomains)})")
    ids = np.full(mesh.nelements, -1)
    for k, name in enumerate(names):
        elems = np.asarray(subdomains[name])
        if elems.size == 0:
            raise MeshError(f"region {name!r} is empty")
        clash = elems[ids[elems] >= 0]
        if clash.size:
            raise MeshError(f"element {clash[0]} is in both {names[ids[clash[0]]]!r} and {name!r}")
        ids[elems] = k
    if np.any(ids < 0):
        raise MeshError(f"{np.count_nonzero(ids < 0)} elements belong to no region with a "
                        f"material (regions: {names})")
    return ids


@dataclass(frozen=True, eq=False)
class ThermoelasticSolution:
    """The state at one temperature; arrays at quadrature points are (nelems, nqp, ncomp).

    Attributes
    ----------
    kind : str
        The model.
    T : float
        Temperature (°C).
    u : ndarray (ndofs,)
        Displacement (mm), interleaved x, y[, z] per node of ``kin.basis``.
    eps_zz : float
        Uniform out-of-plane strain of generalized plane strain (0 in plane strain; NaN in the
        axisymmetric, plane-stress and 3D models, where ε_zz varies).
    strain : ndarray
        Total strain, components ``kin.components`` (2D ``[ε_xx, ε_yy, ε_zz|ε_θθ, γ_xy]``,
        3D ``[ε_xx, ε_yy, ε_zz, γ_xy, γ_xz, γ_yz]``).
    mechanical_strain : ndarray
        Total strain minus the eigenstrain (thermal plus any given to ``solve``): the elastic
        strain.
    stress : ndarray
        Stress in MPa, same components (``[σ_xx, σ_yy, σ_zz|σ_θθ, σ_xy]`` in 2D).
    kin : Kinematics
        Basis, quadrature coordinates ``kin.x`` and weights ``kin.dV`` (2πr included).
    regions : tuple of str
        Region names; ``region_id`` (nelems,) indexes into it.
    plane_motion : dict[str, tuple[float, float]]
        Per plane face, (a, b) of its normal displacement u_n = a + b·(z − z̄) (mm, 1).
    """

    kind: str
    T: float
    u: np.ndarray
    eps_zz: float
    strain: np.ndarray
    mechanical_strain: np.ndarray
    stress: np.ndarray
    kin: Kinematics
    regions: tuple[str, ...]
    region_id: np.ndarray
    plane_motion: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def basis(self) -> skfem.CellBasis:
        """The vector displacement basis."""
        return self.kin.basis

    @property
    def dV(self) -> np.ndarray:
        """Quadrature weights (nelems, nqp) in mm³, 2πr included when axisymmetric."""
        return self.kin.dV

    @property
    def mesh(self) -> skfem.Mesh:
        """The mesh."""
        return self.kin.scalar.mesh


class ThermoelasticModel:
    """Assemble and solve the thermoelastic problem of one mesh; factors are cached.

    Parameters
    ----------
    mesh : skfem.MeshTri1 | skfem.MeshTri2 | skfem.MeshTet1 | skfem.MeshTet2
        With ``subdomains`` named like the keys of ``materials`` (they must partition the
        elements; other subdomains, e.g. union groups, are ignored) and the boundaries named in
        ``supports``, ``plane_faces`` and, for the default 2D supports, ``axis``.
    materials : Mapping[str, Material]
        Material of each region.
    kind : str
        ``axisymmetric`` (default), ``generalized_plane_strain``, ``plane_strain``,
        ``plane_stress`` or ``3d``; see the module docstring.
    order : int
        Displacement polynomial order, 2 by default.
    stress_free : float | Mapping[str, float]
        Stress-free temperature (°C), one for all regions or one per region (all of them).
    supports : Mapping[str, str], optional
        Boundary name → held components. 2D: ``"x"``, ``"y"`` or ``"xy"``, default
        ``{"axis": "x"}``; when no support holds y, u_y = 0 at the lowest node of ``axis``
        removes the rigid vertical translation. 3D: letters of ``"xyz"`` (symmetry faces:
        ``{"sym_x": "x", "sym_y": "y"}``), default none; the rigid-body modes the supports and
        plane faces leave free are removed automatically (:meth:`rigid_holds`).
    plane_faces : Mapping[str, str], optional
        3D only. Boundary name → its normal component (``"x"``, ``"y"`` or ``"z"``): the face
        stays plane, u_n = a + b·(v − v̄) with v the vertical coordinate (z), v̄ its mean on the
        face, and a, b two extra unknowns carrying zero net force and moment (the cut face of a
        strip: generalized plane strain with free bending).
    solver : str, optional
        Backend of :func:`wlcsp.fem.linsolve.factorize`; default
        :func:`wlcsp.fem.linsolve.default_backend` of the model's dimension and size (3D:
        PARDISO, AMG-CG above 8e5 unknowns).
    intorder : int, optional
        Quadrature degree (default: see :func:`wlcsp.fem.kinematics.kinematics`).

    Attributes
    ----------
    seconds : dict[str, float]
        Wall time spent so far per phase: ``kinematics``, ``assembly`` (stiffness and loads),
        ``factorization``, ``solve`` (substitution, strains and stresses).
    fixed : ndarray
        Held DOFs (zero displacement), supports and automatic rigid-mode holds together.
    free : ndarray
        DOFs that are unknowns of their own (neither held nor on a plane face).
    holds : ndarray
        3D: the DOFs held by the automatic rigid-mode removal (a subset of ``fixed``).
    transform : scipy.sparse.csr_matrix or None
        u = T q with q = (u[free], a₁, b₁, a₂, b₂, ...) when there are plane faces, else None.
    """

    def __init__(
        self,
        mesh: skfem.Mesh,
        materials: Mapping[str, Material],
        kind: str = "axisymmetric",
        order: int = 2,
        stress_free: float | Mapping[str, float] = 25.0,
        supports: Mapping[str, str] | None = None,
        solver: str | None = None,
        intorder: int | None = None,
        plane_faces: Mapping[str, str] | None = None,
    ) -> None:
        start = time.perf_counter()
        self.kin = kinematics(mesh, kind, order, intorder)
        self.kind = kind
        self.regions = tuple(materials)
        self.materials = dict(materials)
        self.region_id = region_ids(mesh, list(self.regions))
        self.stress_free = _stress_free(stress_free, self.regions)
        self.plane_faces = dict(plane_faces or {})
        self.holds = np.zeros(0, dtype=int)
        self.transform: sparse.csr_matrix | None = None
        self._faces: list[tuple[str, np.ndarray, np.ndarray]] = []
        if self.kin.dim == 2:
            if self.plane_faces:
                raise DesignError("plane_faces", self.plane_faces, "only with model = '3d'")
            self.fixed = _fixed_dofs(self.kin, {"axis": "x"} if supports is None else supports)
            self.free = np.setdiff1d(np.arange(self.kin.ndofs), self.fixed)
        else:
            self._setup_3d(dict(supports or {}))
        self.solver = solver or default_backend(self.kin.dim, self.free.size)
        self.seconds = {"kinematics": time.perf_counter() - start, "assembly": 0.0,
                        "factorization": 0.0, "solve": 0.0}
        self._cache: dict[tuple, tuple[Factorization, np.ndarray, np.ndarray, float]] = {}

    # -- 3D constraints -------------------------------------------------------------------------

    def _setup_3d(self, supports: dict[str, str]) -> None:
        kin = self.kin
        held = [np.zeros(0, dtype=int)]
        for name, comps in supports.items():
            if not isinstance(comps, str) or not comps or set(comps) - set("xyz") \
                    or len(set(comps)) != len(comps):
                raise DesignError(f"supports.{name}", comps, "letters of 'xyz', e.g. 'x', 'xz'")
            held.append(kin.boundary_dofs(_boundary(kin, name), comps))
        held = np.unique(np.concatenate(held))
        slaves = np.zeros(kin.ndofs, dtype=bool)
        for name, comp in self.plane_faces.items():
            if comp not in ("x", "y", "z"):
                raise DesignError(f"plane_faces.{name}", comp, "one of 'x', 'y', 'z'")
            dofs = kin.boundary_dofs(_boundary(kin, name), comp)
            if np.any(slaves[dofs]) or np.intersect1d(dofs, held).size:
                raise DesignError(f"plane_faces.{name}", comp, "a face whose normal DOFs are "
                                  "neither held by a support nor on another plane face")
            slaves[dofs] = True
            v = kin.dof_locations[kin.vertical, dofs]
            self._faces.append((name, dofs, v - v.mean()))
        self.holds = self._rigid_holds(held, slaves)
        self.fixed = np.union1d(held, self.holds)
        is_free = np.ones(kin.ndofs, dtype=bool)
        is_free[self.fixed] = False
        is_free &= ~slaves
        self.free = np.flatnonzero(is_free)
        if self._faces:
            rows = [self.free]
            cols = [np.arange(self.free.size)]
            vals = [np.ones(self.free.size)]
            for k, (_, dofs, dv) in enumerate(self._faces):
                a = self.free.size + 2 * k
                rows += [dofs, dofs]
                cols += [np.full(dofs.size, a), np.full(dofs.size, a + 1)]
                vals += [np.ones(dofs.size), dv]
            self.transform = sparse.csr_matrix(
                (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                shape=(kin.ndofs, self.free.size + 2 * len(self._faces)))

    def rigid_modes(self) -> np.ndarray:
        """The six rigid-body modes (ndofs, 6) of the 3D model.

        Translations x, y, z, then rotations about x, y, z through the mesh centroid, scaled by
        the model size (so all are O(1)).
        """
        kin = self.kin
        X = kin.scalar.doflocs
        c = X.mean(axis=1, keepdims=True)
        size = float(np.ptp(X, axis=1).max()) or 1.0
        x, y, z = (X - c) / size
        n = X.shape[1]
        R = np.zeros((n, 3, 6))
        for i in range(3):
            R[:, i, i] = 1.0
        zero = np.zeros(n)
        R[:, :, 3] = np.stack([zero, -z, y], axis=1)
        R[:, :, 4] = np.stack([z, zero, -x], axis=1)
        R[:, :, 5] = np.stack([-y, x, zero], axis=1)
        return R.reshape(3 * n, 6)

    def _rigid_holds(self, held: np.ndarray, slaves: np.ndarray) -> np.ndarray:
        """DOFs to hold so that no rigid motion is left, as few as the free modes.

        A rigid mode r = R c is allowed by the constraints when r = 0 on the held DOFs and r is
        of the form a + b·(z − z̄) on every plane face; those c span the null space of C below.
        Holding k DOFs on which the k free modes are linearly independent (pivoted QR on the
        ``bottom`` boundary's DOFs, else all DOFs) stops exactly those modes: the holds are
        rigid-motion constraints, which a self-equilibrated load never loads, so they change no
        stress (a statically determinate support; Zienkiewicz & Taylor 2013, §1.4).
        """
        R = self.rigid_modes()
        blocks = [R[held]]
        for _, dofs, dv in self._faces:
            Q, _ = np.linalg.qr(np.stack([np.ones(dofs.size), dv], axis=1))
            Rf = R[dofs]
            blocks.append(Rf - Q @ (Q.T @ Rf))
        C = np.concatenate(blocks, axis=0)
        s, Vt = (np.zeros(0), np.eye(6)) if C.shape[0] == 0 else linalg.svd(C)[1:]
        free_rank = 6 - int(np.count_nonzero(s > RIGID_RANK_TOL * max(1.0, s[0] if s.size
                                                                      else 1.0)))
        if free_rank == 0:
            return np.zeros(0, dtype=int)
        N = Vt[6 - free_rank:].T  # (6, k): the free modes
        boundaries = self.kin.scalar.mesh.boundaries or {}
        if "bottom" in boundaries:
            cand = self.kin.boundary_dofs(boundaries["bottom"])
        else:
            cand = np.arange(self.kin.ndofs)
        cand = cand[~slaves[cand]]
        cand = np.setdiff1d(cand, held)
        modes = R[cand] @ N  # (ncand, k)
        _, r, piv = linalg.qr(modes.T, mode="economic", pivoting=True)
        rank = int(np.count_nonzero(np.abs(np.diag(r)) > RIGID_RANK_TOL * max(abs(r[0, 0]), 1.0)))
        if rank < free_rank:
            raise DesignError("supports", {}, "the supports and plane faces must leave the "
                              "nodes of 'bottom' (or the model) able to stop rigid-body motion")
        return np.sort(cand[piv[:free_rank]])

    # -- reduced system -------------------------------------------------------------------------

    def reduction(self) -> sparse.csr_matrix:
        """P (ndofs, nq) with u = P q: the DOFs of the unknowns q of the reduced system.

        q = (u[free], a₁, b₁, ...): :attr:`transform` with plane faces, else the selection of
        the free DOFs. Reduced matrices and loads are Pᵀ K P and Pᵀ f; the held DOFs
        (:attr:`fixed`) are outside its range.
        """
        if self.transform is not None:
            return self.transform
        n = self.free.size
        return sparse.csr_matrix((np.ones(n), (self.free, np.arange(n))),
                                 shape=(self.kin.ndofs, n))

    def _reduce_matrix(self, K: sparse.csr_matrix) -> sparse.csr_matrix:
        if self.transform is None:
            return K[self.free][:, self.free]
        T = self.transform
        return (T.T @ K @ T).tocsr()

    def _reduce(self, f: np.ndarray) -> np.ndarray:
        return f[self.free] if self.transform is None else self.transform.T @ f

    def _expand(self, q: np.ndarray) -> np.ndarray:
        if self.transform is None:
            u = np.zeros(self.kin.ndofs)
            u[self.free] = q
            return u
        return self.transform @ q

    def near_nullspace(self) -> np.ndarray:
        """Rigid-body modes of the reduced system (nq, 3 or 6): AMG's near-nullspace."""
        if self.kin.dim == 2:
            x, y = self.kin.dof_locations
            comp = np.arange(self.kin.ndofs) % 2
            R = np.stack([comp == 0, comp == 1, np.where(comp == 0, -y, x)], axis=1)
            R = R.astype(float)
        else:
            R = self.rigid_modes()
        if self.transform is None:
            return np.ascontiguousarray(R[self.free])
        ab = []
        for _, dofs, dv in self._faces:  # least-squares a, b of each mode on the face
            A = np.stack([np.ones(dofs.size), dv], axis=1)
            ab.append(np.linalg.lstsq(A, R[dofs], rcond=None)[0])
        return np.concatenate([R[self.free], *ab], axis=0)

    # -- properties and solves ------------------------------------------------------------------

    def region_properties(self, T: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """E (MPa), ν and thermal strain ε_th per region at temperature ``T`` (°C)."""
        mats = [self.materials[r] for r in self.regions]
        E = np.array([m.youngs_modulus(T) for m in mats], dtype=float)
        nu = np.array([m.poisson(T) for m in mats], dtype=float)
        pairs = zip(mats, self.stress_free, strict=True)
        eth = np.array([m.thermal_strain(T, t0) for m, t0 in pairs], dtype=float)
        return E, nu, eth

    def material_matrix(self, T: float) -> np.ndarray:
        """D per element (nelems, 1, ncomp, ncomp) at ``T``, broadcastable over points."""
        E, nu, _ = self.region_properties(T)
        return elastic_matrix(E, nu, self.kind)[self.region_id][:, None]

    def factorization(self, T: float) -> tuple[Factorization, np.ndarray, np.ndarray, float]:
        """Factors of the reduced stiffness at ``T`` and, for GPS, the ε₀ coupling terms.

        Returns (factors, k_u0 reduced, K⁻¹ k_u0, k_00); the last three are empty/0 unless the
        model is generalized plane strain. Cached on the region property values.
        """
        E, nu, _ = self.region_properties(T)
        key = (tuple(E), tuple(nu))
        if key not in self._cache:
            K = self.reduced_stiffness(T)
            start = time.perf_counter()
            nullspace = self.near_nullspace() if self.solver == "amg" else None
            self._store(T, factorize(K, self.solver, near_nullspace=nullspace))
            self._tick("factorization", start)  # with the GPS coupling solve
        return self._cache[key]

    def reduced_stiffness(self, T: float, weights: np.ndarray | None = None) -> sparse.csr_matrix:
        """The reduced stiffness Pᵀ K P at ``T`` (N/mm, :meth:`reduction`).

        ``weights`` (one per region, default ones) multiply each region's material matrix: the
        stiffness is linear in them, so a region's modulus scaled by s scales its part by s.
        """
        start = time.perf_counter()
        E, nu, _ = self.region_properties(T)
        w = np.ones(len(self.regions)) if weights is None else np.asarray(weights, dtype=float)
        D = elastic_matrix(E * w, nu, self.kind)[self.region_id][:, None]
        K = self._reduce_matrix(assemble_stiffness(self.kin, D))
        self._tick("assembly", start)
        return K

    def use_factorization(self, T: float, fac: Factorization) -> None:
        """Solve at ``T`` with ``fac`` instead of assembling and factorizing the stiffness.

        ``fac`` solves the reduced stiffness at ``T`` (:meth:`reduced_stiffness`): its factors,
        or an iterative solver of it (:func:`wlcsp.fem.linsolve.preconditioned_cg`).
        """
        start = time.perf_counter()
        self._store(T, fac)
        self._tick("factorization", start)

    def _store(self, T: float, fac: Factorization) -> None:
        """Cache ``fac`` for the property values at ``T``, with the GPS coupling terms."""
        E, nu, _ = self.region_properties(T)
        k_u0 = np.zeros(0)
        x_c = np.zeros(0)
        k_00 = 0.0
        if self.kind == "generalized_plane_strain":
            D = elastic_matrix(E, nu, self.kind)[self.region_id][:, None]
            k_u0 = assemble_load(self.kin, D[..., :, 2])[self.free]
            x_c = fac.solve(k_u0)
            k_00 = float(np.sum(D[:, 0, 2, 2] * self.kin.dV.sum(axis=1)))
        if len(self._cache) >= 2:
            self._cache.pop(next(iter(self._cache)))
        self._cache[(tuple(E), tuple(nu))] = (fac, k_u0, x_c, k_00)

    def with_materials(self, materials: Mapping[str, Material]) -> ThermoelasticModel:
        """The same model (mesh, kinematics, supports, solver shared) with other region materials.

        Nothing is assembled: the copy has no factors yet (:meth:`use_factorization`).
        """
        if set(materials) != set(self.regions):
            raise ValueError(f"materials for regions {sorted(materials)}, but the model has "
                             f"{sorted(self.regions)}")
        new = copy.copy(self)
        new.materials = {r: materials[r] for r in self.regions}
        new.seconds = dict.fromkeys(self.seconds, 0.0)
        new._cache = {}
        return new

    def solve(
        self, T: float, pressure: Mapping[str, float] | None = None,
        eigenstrain: np.ndarray | None = None, displacement: np.ndarray | None = None,
    ) -> ThermoelasticSolution:
        """Solve at the uniform temperature ``T`` (°C).

        Parameters
        ----------
        pressure : Mapping[str, float], optional
            Boundary name → pressure (MPa, positive pushes on the body: traction −p n).
        eigenstrain : ndarray (nelems, nqp, ncomp), optional
            Strain added to the thermal one (e.g. the creep/plastic strain of the initial-strain
            method); the factors at ``T`` are reused, so one such solve costs a load assembly
            and a substitution. ``mechanical_strain`` is then the elastic strain.
        displacement : ndarray (ndofs,), optional
            Values (mm) imposed on the held DOFs ``fixed`` (non-homogeneous Dirichlet
            conditions: a submodel's cut boundary); entries on other DOFs are ignored. The held
            values enter as the load −K u_D, assembled as the initial stress of the strain of
            u_D (non-zero only next to the held DOFs), so the factors are reused.
        """
        if not np.isfinite(T):
            raise DesignError("temperature", T, "must be a finite number of °C")
        start = time.perf_counter()
        kin = self.kin
        E, nu, eth = self.region_properties(T)
        D = elastic_matrix(E, nu, self.kind)[self.region_id][:, None]
        eps0 = eth[self.region_id][:, None, None] * kin.unit_volumetric  # (E, 1, ncomp)
        if eigenstrain is not None:
            if np.shape(eigenstrain) != (kin.nelems, kin.nqp, kin.ncomp):
                raise ValueError(f"eigenstrain.shape = {np.shape(eigenstrain)}, but "
                                 f"({kin.nelems}, {kin.nqp}, {kin.ncomp}) is needed")
            eps0 = eps0 + eigenstrain
        u_held = np.zeros(kin.ndofs)
        if displacement is not None:
            if self.kind == "generalized_plane_strain":
                raise ValueError("held displacements are not coupled to the ε₀ unknown of "
                                 "generalized plane strain")
            if np.shape(displacement) != (kin.ndofs,):
                raise ValueError(f"displacement.shape = {np.shape(displacement)}, but "
                                 f"({kin.ndofs},) is needed")
            u_held[self.fixed] = np.asarray(displacement, dtype=float)[self.fixed]
        sigma0 = np.matmul(D, eps0[..., None])[..., 0]  # (E, 1, ncomp)
        f = assemble_load(kin, sigma0)
        if displacement is not None:  # K u_D = ∫ Bᵀ D ε(u_D) dV
            f -= assemble_load(kin, np.matmul(D, strain(kin, u_held)[..., None])[..., 0])
        for name, p in (pressure or {}).items():
            f += _pressure_load(kin, name, p)
        self._tick("assembly", start)
        f = self._reduce(f)
        x_f = np.zeros_like(f)
        eps_zz = 0.0
        if f.any() or sigma0.any():  # unloaded (at the stress-free temperature): no factors
            fac, k_u0, x_c, k_00 = self.factorization(T)
            start = time.perf_counter()
            x_f = fac.solve(f)
            if self.kind == "generalized_plane_strain":
                f_0 = float(np.sum(sigma0[..., 2] * kin.dV))
                eps_zz = (f_0 - k_u0 @ x_f) / (k_00 - k_u0 @ x_c)
                x_f = x_f - eps_zz * x_c
        else:
            start = time.perf_counter()
        u = self._expand(x_f) + u_held
        eps = strain(kin, u, eps_zz)
        mech = eps - eps0
        stress = np.matmul(D, mech[..., None])[..., 0]
        if self.kind == "plane_stress":  # σ_zz = 0 fixes ε_zz
            nu_e = nu[self.region_id][:, None]
            mech[..., 2] = -nu_e / (1.0 - nu_e) * (mech[..., 0] + mech[..., 1])
            eps[..., 2] = mech[..., 2] + eps0[..., 2]
        if self.kind in ("plane_stress", "axisymmetric", "3d"):
            eps_zz = float("nan")
        motion = {}
        for k, (name, _, _) in enumerate(self._faces):
            a = self.free.size + 2 * k
            motion[name] = (float(x_f[a]), float(x_f[a + 1]))
        self._tick("solve", start)
        return ThermoelasticSolution(
            kind=self.kind, T=float(T), u=u, eps_zz=float(eps_zz), strain=eps,
            mechanical_strain=mech, stress=stress, kin=kin, regions=self.regions,
            region_id=self.region_id, plane_motion=motion,
        )

    def _tick(self, phase: str, start: float) -> None:
        self.seconds[phase] += time.perf_counter() - start


def _stress_free(value: float | Mapping[str, float], regions: tuple[str, ...]) -> list[float]:
    if isinstance(value, Mapping):
        missing = [r for r in regions if r not in value]
        if missing:
            raise DesignError("loading.stress_free", dict(value),
                              f"a temperature (°C) for every region; missing {missing}")
        temps = [value[r] for r in regions]
    else:
        temps = [value] * len(regions)
    for t in temps:
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not np.isfinite(t):
            raise DesignError("loading.stress_free", t, "a finite temperature in °C")
    return [float(t) for t in temps]


def _boundary(kin: Kinematics, name: str) -> np.ndarray:
    boundaries = kin.scalar.mesh.boundaries or {}
    if name not in boundaries:
        raise MeshError(f"boundary {name!r} not in the mesh (boundaries: {sorted(boundaries)})")
    return boundaries[name]


def _fixed_dofs(kin: Kinematics, supports: Mapping[str, str]) -> np.ndarray:
    fixed = []
    holds_y = False
    for name, comps in supports.items():
        if comps not in SUPPORTS:
            raise DesignError(f"supports.{name}", comps, "one of 'x', 'y', 'xy'")
        fixed.append(kin.boundary_dofs(_boundary(kin, name), comps))
        holds_y |= "y" in comps
    if not holds_y:
        ydofs = kin.boundary_dofs(_boundary(kin, "axis"), "y")
        fixed.append(ydofs[[np.argmin(kin.dof_locations[1, ydofs])]])
    fixed = np.unique(np.concatenate(fixed))
    _check_rigid_modes(kin, fixed, supports)
    return fixed


def _check_rigid_modes(kin: Kinematics, fixed: np.ndarray, supports: Mapping[str, str]) -> None:
    """Raise unless the supports stop every rigid-body motion.

    A singular K is not always detected by the factorization: a self-equilibrated thermal load
    leaves a small residual.

    Rigid modes: translations in x and y and the rotation (−y, x) in the plane models; the
    axial translation only when axisymmetric (a radial shift strains the hoop). A mode is
    stopped when it moves some held DOF; all are stopped when the modes restricted to the held
    DOFs are linearly independent.
    """
    x, y = kin.dof_locations[:, fixed]
    is_x = (fixed % 2 == 0).astype(float)
    modes = [1.0 - is_x] if kin.kind == "axisymmetric" else [is_x, 1.0 - is_x,
                                                             np.where(is_x > 0, -y, x)]
    R = np.stack(modes, axis=1)
    if np.linalg.matrix_rank(R, tol=1e-9 * max(1.0, float(np.abs(R).max()))) < len(modes):
        raise DesignError("supports", dict(supports),
                          "the supports must prevent rigid-body motion of the model")


def _pressure_load(kin: Kinematics, name: str, p: float) -> np.ndarray:
    """Nodal forces of a pressure p (MPa) on a boundary: ∫ −p n·v dA (2πr dA when axisymmetric)."""
    facets = _boundary(kin, name)
    fb = skfem.FacetBasis(kin.scalar.mesh, skfem.ElementVector(kin.scalar.elem), facets=facets)
    axisymmetric = kin.kind == "axisymmetric"

    @skfem.LinearForm
    def traction(v: skfem.DiscreteField, w: skfem.DiscreteField) -> np.ndarray:
        weight = 2.0 * np.pi * w.x[0] if axisymmetric else 1.0
        return -p * sum(w.n[i] * v[i] for i in range(kin.dim)) * weight

    return traction.assemble(fb)

