"""Linear thermoelastic (CTE-mismatch) solve of a 2D package model at a uniform temperature.

Each region has an isotropic material evaluated at the current temperature T (secant-elastic
state: E(T), ν(T)) and an eigenstrain ε_th = ∫_{T0}^{T} α(θ) dθ from its own stress-free
temperature T0 (:meth:`wlcsp.materials.Material.thermal_strain`, the project's CTE convention).
Stress σ = D (ε − ε_th m), m = [1, 1, 1, 0]. Supports: u_x = 0 on the boundary ``axis``
(symmetry line or rotation axis) and u_y = 0 at the lowest node of the axis; nothing else, so
the package warps freely. The stiffness is factorized once per set of property values and
reused for any temperature at which E and ν are unchanged.

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

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import skfem

from ..errors import DesignError, MeshError
from ..materials import Material
from .kinematics import Kinematics, assemble_load, assemble_stiffness, kinematics, strain
from .linsolve import Factorization, factorize

M = np.array([1.0, 1.0, 1.0, 0.0])
"""Unit isotropic (volumetric) strain in the component order xx, yy, zz, xy."""

SUPPORTS = ("x", "y", "xy")
"""Allowed values of a support: the displacement components held at zero."""


def elastic_matrix(E: np.ndarray | float, nu: np.ndarray | float, kind: str) -> np.ndarray:
    """Isotropic material matrix D (..., 4, 4) in MPa, components xx, yy, zz, xy (engineering γ).

    3D Hooke's law σ = λ tr(ε) I + 2μ ε, with λ = Eν/((1+ν)(1−2ν)), μ = E/(2(1+ν)); for
    ``plane_stress`` the in-plane block E/(1−ν²)[[1, ν], [ν, 1]], μ on shear and zeros on the
    zz row and column (σ_zz = 0; Timoshenko & Goodier, *Theory of Elasticity*, 3rd ed., §3, 16).
    """
    E = np.asarray(E, dtype=float)[..., None, None]
    nu = np.asarray(nu, dtype=float)[..., None, None]
    mu = E / (2.0 * (1.0 + nu))
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
    """The state at one temperature; arrays at quadrature points are (nelems, nqp, 4).

    Attributes
    ----------
    kind : str
        The 2D model.
    T : float
        Temperature (°C).
    u : ndarray (ndofs,)
        Displacement (mm), interleaved x, y per node of ``kin.basis``.
    eps_zz : float
        Uniform out-of-plane strain of generalized plane strain (0 in plane strain; NaN in the
        axisymmetric and plane-stress models, where ε_zz varies).
    strain : ndarray
        Total strain ``[ε_xx, ε_yy, ε_zz|ε_θθ, γ_xy]``.
    mechanical_strain : ndarray
        Total strain minus the eigenstrain (thermal plus any given to ``solve``): the elastic
        strain.
    stress : ndarray
        ``[σ_xx, σ_yy, σ_zz|σ_θθ, σ_xy]`` in MPa.
    kin : Kinematics
        Basis, quadrature coordinates ``kin.x`` and weights ``kin.dV`` (2πr included).
    regions : tuple of str
        Region names; ``region_id`` (nelems,) indexes into it.
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
    mesh : skfem.MeshTri1 | skfem.MeshTri2
        With ``subdomains`` named like the keys of ``materials`` (they must partition the
        elements; other subdomains, e.g. union groups, are ignored) and the boundaries named in
        ``supports`` and, for the default supports, ``axis``.
    materials : Mapping[str, Material]
        Material of each region.
    kind : str
        ``axisymmetric`` (default), ``generalized_plane_strain``, ``plane_strain`` or
        ``plane_stress``; see the module docstring.
    order : int
        Displacement polynomial order, 2 by default.
    stress_free : float | Mapping[str, float]
        Stress-free temperature (°C), one for all regions or one per region (all of them).
    supports : Mapping[str, str], optional
        Boundary name → held components ``"x"``, ``"y"`` or ``"xy"``. Default ``{"axis": "x"}``.
        When no support holds y, u_y = 0 at the lowest node of ``axis`` removes the rigid
        vertical translation.
    solver : str, optional
        Backend of :func:`wlcsp.fem.linsolve.factorize`.
    intorder : int, optional
        Quadrature degree (default 2·order).

    Attributes
    ----------
    seconds : dict[str, float]
        Wall time spent so far per phase: ``kinematics``, ``assembly`` (stiffness and loads),
        ``factorization``, ``solve`` (substitution, strains and stresses).
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
    ) -> None:
        start = time.perf_counter()
        self.kin = kinematics(mesh, kind, order, intorder)
        self.kind = kind
        self.regions = tuple(materials)
        self.materials = dict(materials)
        self.region_id = region_ids(mesh, list(self.regions))
        self.stress_free = _stress_free(stress_free, self.regions)
        self.fixed = _fixed_dofs(self.kin, {"axis": "x"} if supports is None else supports)
        self.free = np.setdiff1d(np.arange(self.kin.ndofs), self.fixed)
        self.solver = solver
        self.seconds = {"kinematics": time.perf_counter() - start, "assembly": 0.0,
                        "factorization": 0.0, "solve": 0.0}
        self._cache: dict[tuple, tuple[Factorization, np.ndarray, np.ndarray, float]] = {}

    def region_properties(self, T: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """E (MPa), ν and thermal strain ε_th per region at temperature ``T`` (°C)."""
        mats = [self.materials[r] for r in self.regions]
        E = np.array([m.youngs_modulus(T) for m in mats], dtype=float)
        nu = np.array([m.poisson(T) for m in mats], dtype=float)
        pairs = zip(mats, self.stress_free, strict=True)
        eth = np.array([m.thermal_strain(T, t0) for m, t0 in pairs], dtype=float)
        return E, nu, eth

    def material_matrix(self, T: float) -> np.ndarray:
        """D per element (nelems, 1, 4, 4) at temperature ``T``, broadcastable over points."""
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
            start = time.perf_counter()
            D = elastic_matrix(E, nu, self.kind)[self.region_id][:, None]
            K = assemble_stiffness(self.kin, D)[self.free][:, self.free]
            self._tick("assembly", start)
            start = time.perf_counter()
            fac = factorize(K, self.solver)
            k_u0 = np.zeros(0)
            x_c = np.zeros(0)
            k_00 = 0.0
            if self.kind == "generalized_plane_strain":
                k_u0 = assemble_load(self.kin, D[..., :, 2])[self.free]
                x_c = fac.solve(k_u0)
                k_00 = float(np.sum(D[:, 0, 2, 2] * self.kin.dV.sum(axis=1)))
            self._tick("factorization", start)  # with the GPS coupling solve
            if len(self._cache) >= 2:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = (fac, k_u0, x_c, k_00)
        return self._cache[key]

    def solve(
        self, T: float, pressure: Mapping[str, float] | None = None,
        eigenstrain: np.ndarray | None = None,
    ) -> ThermoelasticSolution:
        """Solve at the uniform temperature ``T`` (°C).

        Parameters
        ----------
        pressure : Mapping[str, float], optional
            Boundary name → pressure (MPa, positive pushes on the body: traction −p n).
        eigenstrain : ndarray (nelems, nqp, 4), optional
            Strain added to the thermal one (e.g. the creep/plastic strain of the initial-strain
            method); the factors at ``T`` are reused, so one such solve costs a load assembly
            and a substitution. ``mechanical_strain`` is then the elastic strain.
        """
        if not np.isfinite(T):
            raise DesignError("temperature", T, "must be a finite number of °C")
        fac, k_u0, x_c, k_00 = self.factorization(T)
        start = time.perf_counter()
        E, nu, eth = self.region_properties(T)
        D = elastic_matrix(E, nu, self.kind)[self.region_id][:, None]
        eps0 = eth[self.region_id][:, None, None] * M  # (E, 1, 4)
        if eigenstrain is not None:
            if np.shape(eigenstrain) != (self.kin.nelems, self.kin.nqp, 4):
                raise ValueError(f"eigenstrain.shape = {np.shape(eigenstrain)}, but "
                                 f"({self.kin.nelems}, {self.kin.nqp}, 4) is needed")
            eps0 = eps0 + eigenstrain
        sigma0 = np.matmul(D, eps0[..., None])[..., 0]  # (E, 1, 4)
        f = assemble_load(self.kin, sigma0)
        for name, p in (pressure or {}).items():
            f += _pressure_load(self.kin, name, p)
        self._tick("assembly", start)
        start = time.perf_counter()
        u = np.zeros(self.kin.ndofs)
        x_f = fac.solve(f[self.free])
        eps_zz = 0.0
        if self.kind == "generalized_plane_strain":
            f_0 = float(np.sum(sigma0[..., 2] * self.kin.dV))
            eps_zz = (f_0 - k_u0 @ x_f) / (k_00 - k_u0 @ x_c)
            x_f = x_f - eps_zz * x_c
        u[self.free] = x_f
        eps = strain(self.kin, u, eps_zz)
        mech = eps - eps0
        stress = np.matmul(D, mech[..., None])[..., 0]
        if self.kind == "plane_stress":  # σ_zz = 0 fixes ε_zz
            nu_e = nu[self.region_id][:, None]
            mech[..., 2] = -nu_e / (1.0 - nu_e) * (mech[..., 0] + mech[..., 1])
            eps[..., 2] = mech[..., 2] + eps0[..., 2]
        if self.kind in ("plane_stress", "axisymmetric"):
            eps_zz = float("nan")
        self._tick("solve", start)
        return ThermoelasticSolution(
            kind=self.kind, T=float(T), u=u, eps_zz=float(eps_zz), strain=eps,
            mechanical_strain=mech, stress=stress, kin=self.kin, regions=self.regions,
            region_id=self.region_id,
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
        return -p * (w.n[0] * v[0] + w.n[1] * v[1]) * weight

    return traction.assemble(fb)

