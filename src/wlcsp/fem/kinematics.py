"""Strain-displacement operators of the 2D and 3D models: the one place for the model dimension.

The 2D models use four strain components, ordered ``[xx, yy, zz, xy]``:

=============================  ==========================================================
``plane_strain``               ε_zz = 0
``generalized_plane_strain``   ε_zz = ε₀, one uniform unknown added by the solver
``plane_stress``               ε_zz follows from σ_zz = 0 (the solver's elastic matrix)
``axisymmetric``               x is r, y is z; the third component is the hoop strain
                               ε_θθ = u_r / r, and every integral carries the weight 2πr
=============================  ==========================================================

The fourth component is the engineering shear γ_xy = ∂u_x/∂y + ∂u_y/∂x (γ_rz), so that the
work is σ·ε with σ = ``[σ_xx, σ_yy, σ_zz, σ_xy]``. Plane models integrate over a slice 1 mm thick
(forces in N per mm of depth); the axisymmetric model over the full revolution (2πr dr dz).

The ``3d`` model (tetrahedra, ``MeshTet1``/``MeshTet2``, P1 or P2 displacement) has six
components in the Abaqus order ``[xx, yy, zz, xy, xz, yz]`` with engineering shears
γ_ij = ∂u_i/∂x_j + ∂u_j/∂x_i (Abaqus Analysis User's Guide, §1.2.2 "Conventions"); z is up.
Code downstream asks the :class:`Kinematics` for ``dim``, ``ncomp``, ``components``,
``vertical`` (the up displacement component), the normal/shear component indices and
:meth:`Kinematics.shear_along` (the joint shear in a vertical plane) instead of asking which
model it got.

The weak form is ∫ B(v)ᵀ σ(u) dV = ∫ B(v)ᵀ D ε₀ dV + boundary terms (Zienkiewicz & Taylor, *The
Finite Element Method*, vol. 1, 7th ed., 2013, §6 plane, §9 axisymmetric, §8 3D). Quadrature
points lie inside the triangles, so r > 0 wherever the hoop term N/r is evaluated; a mesh that
reaches r < 0 is rejected. The strain operator is stored as scalar shape-function gradients and
values per element and quadrature point and expanded to the (ncomp × dim·nb) B matrix in element
chunks, which keeps memory at about a third of a stored B and lets the same arrays serve the
viscoplastic solver (strains at quadrature points, initial-strain loads, tangent assembly).

Stiffness assembly is Bᵀ D B in element chunks with batched matmul; for the 3D P2 elasticity
matrix of 1.9e5 DOFs (43k tets, 4 points) kinematics + assembly + reduction take 2–3 s on 2
cores and 4.6–7.7 s at 5e5 DOFs (``benchmarks/solver3d.py``), against 110 s for scikit-fem's
generic ``linear_elasticity`` form on a 147k-DOF strip (skfem_notes.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import skfem
from scipy import sparse

from ..errors import DesignError, MeshError

KINDS = ("plane_strain", "generalized_plane_strain", "plane_stress", "axisymmetric")
"""The 2D models (the name stays what it was: callers parametrize 2D meshes over it)."""

KINDS_2D = KINDS
"""The 2D models; see the module docstring."""

ALL_KINDS = (*KINDS_2D, "3d")
"""Every model, 2D and 3D; see the module docstring."""

NCOMP = 4
"""Strain/stress components per point of the 2D models: xx, yy, zz (θθ), xy (rz)."""

NCOMP_3D = 6
"""Strain/stress components per point of the 3D model: xx, yy, zz, xy, xz, yz."""

COMPONENTS_2D = ("xx", "yy", "zz", "xy")
COMPONENTS_3D = ("xx", "yy", "zz", "xy", "xz", "yz")

_PAIRS = {
    2: (((0, 0),), ((1, 1),), (), ((0, 1), (1, 0))),
    3: (((0, 0),), ((1, 1),), ((2, 2),), ((0, 1), (1, 0)), ((0, 2), (2, 0)), ((1, 2), (2, 1))),
}
"""Per strain component, the (displacement component j, derivative i) pairs ∂u_j/∂x_i summed
into it (the 2D zz component is the hoop term or the solver's ε_zz)."""

CHUNK = 8192
"""Elements per block in the vectorised kernels: bounds the temporaries to a few tens of MB."""


@dataclass(frozen=True, eq=False)
class Kinematics:
    """Strain operator of one mesh and model, at the quadrature points of ``scalar``.

    Displacement DOFs are interleaved: DOF dim·k + c is component c (0 = x/r, 1 = y/z in 2D;
    0, 1, 2 = x, y, z in 3D) at the scalar basis' node k, the numbering of skfem's
    ``ElementVector`` (see :attr:`basis`).

    Attributes
    ----------
    kind : str
        One of :data:`ALL_KINDS`.
    scalar : skfem.CellBasis
        The scalar basis (P1 or P2) on the quadrature of ``grad`` and ``dV``.
    grad : ndarray (nelems, nqp, nb, dim)
        Gradients of the nb scalar shape functions at the quadrature points (1/mm).
    hoop : ndarray (nelems, nqp, nb) or None
        N/r of the scalar shape functions (1/mm), axisymmetric only.
    dV : ndarray (nelems, nqp)
        Quadrature weight times the Jacobian, times 2πr when axisymmetric (mm³).
    x : ndarray (dim, nelems, nqp)
        Coordinates of the quadrature points (mm).
    """

    kind: str
    scalar: skfem.CellBasis
    grad: np.ndarray
    hoop: np.ndarray | None
    dV: np.ndarray
    x: np.ndarray

    @property
    def dim(self) -> int:
        """Space dimension: 2 or 3 (displacement components per node)."""
        return self.grad.shape[3]

    @property
    def ncomp(self) -> int:
        """Strain/stress components per point: 4 in 2D, 6 in 3D."""
        return NCOMP if self.dim == 2 else NCOMP_3D

    @property
    def components(self) -> tuple[str, ...]:
        """Names of the strain/stress components, in storage order."""
        return COMPONENTS_2D if self.dim == 2 else COMPONENTS_3D

    @property
    def vertical(self) -> int:
        """Index of the up displacement component: 1 (y) in 2D, 2 (z) in 3D."""
        return self.dim - 1

    @property
    def normal_components(self) -> tuple[int, ...]:
        """Indices of the normal components (xx, yy, zz; θθ as zz when axisymmetric)."""
        return (0, 1, 2)

    @property
    def shear_components(self) -> tuple[int, ...]:
        """Indices of the (engineering) shear components."""
        return (3,) if self.dim == 2 else (3, 4, 5)

    @property
    def unit_volumetric(self) -> np.ndarray:
        """Unit isotropic strain m (ncomp,): ones on the normal components, zero shears."""
        return unit_volumetric(self.dim)

    def shear_along(self, field: np.ndarray, direction: np.ndarray | None = None) -> np.ndarray:
        """Signed transverse (joint) shear of ``field`` (..., ncomp) in a vertical plane.

        The plane is the vertical one containing the in-plane ``direction`` (dx, dy), normalised
        here: in 3D dx·σ_xz + dy·σ_yz, the shear on horizontal planes in that direction; in 2D
        σ_xy (σ_rz), ``direction`` ignored.
        """
        field = np.asarray(field)
        if self.dim == 2:
            return field[..., 3]
        d = np.asarray(direction, dtype=float).ravel()[:2]
        d = d / np.linalg.norm(d)
        return d[0] * field[..., 4] + d[1] * field[..., 5]

    @property
    def nelems(self) -> int:
        """Number of elements."""
        return self.grad.shape[0]

    @property
    def nqp(self) -> int:
        """Quadrature points per element."""
        return self.grad.shape[1]

    @property
    def ndofs(self) -> int:
        """Displacement DOFs (without the generalized-plane-strain unknown)."""
        return self.dim * self.scalar.N

    @cached_property
    def element_dofs(self) -> np.ndarray:
        """Global DOFs (nelems, dim·nb) of each element, local order x0, y0, [z0,] x1, ..."""
        s = self.scalar.element_dofs.T
        d = self.dim
        return (d * s[:, :, None] + np.arange(d)).reshape(s.shape[0], -1)

    @cached_property
    def dof_locations(self) -> np.ndarray:
        """Coordinates (dim, ndofs) of the node of each DOF (mm)."""
        return np.repeat(self.scalar.doflocs, self.dim, axis=1)

    @cached_property
    def basis(self) -> skfem.CellBasis:
        """The vector basis (skfem ``ElementVector``, same DOF numbering), built on first use.

        It carries a one-point quadrature only: it is for DOF look-ups and facet bases; building
        it costs about as much as the stiffness kernel, so the solver itself does not use it.
        """
        return skfem.Basis(self.scalar.mesh, skfem.ElementVector(self.scalar.elem), intorder=0)

    def boundary_dofs(self, facets: np.ndarray, components: str | None = None) -> np.ndarray:
        """Sorted DOFs of ``components`` (letters of "xy" in 2D, "xyz" in 3D; default all).

        Parameters
        ----------
        facets : ndarray
            Facet indices (e.g. ``mesh.boundaries[name]``).
        components : str, optional
            E.g. "x", "xz", "xyz".
        """
        names = "xyz"[: self.dim]
        components = names if components is None else components
        bad = set(components) - set(names)
        if bad:
            raise ValueError(f"components {components!r}: only letters of {names!r} allowed")
        nodes = self.scalar.get_dofs(np.asarray(facets)).all()
        comps = [c for c, name in enumerate(names) if name in components]
        return np.sort(np.concatenate([self.dim * nodes + c for c in comps]))

    def B(self, elems: slice = slice(None)) -> np.ndarray:
        """The strain-displacement matrices (n, nqp, ncomp, dim·nb) of the elements ``elems``."""
        g = self.grad[elems]
        n, q, nb, d = g.shape
        B = np.zeros((n, q, self.ncomp, d * nb))
        for c, pairs in enumerate(_PAIRS[d]):
            for j, i in pairs:
                B[:, :, c, j::d] = g[..., i]
        if self.hoop is not None:
            B[:, :, 2, 0::2] = self.hoop[elems]
        return B


def unit_volumetric(dim: int) -> np.ndarray:
    """Unit isotropic strain (ones on xx, yy, zz, zero engineering shears) of ``dim`` (2 or 3)."""
    return np.array([1.0, 1.0, 1.0, 0.0] if dim == 2 else [1.0, 1.0, 1.0, 0.0, 0.0, 0.0])


def kinematics(
    mesh: skfem.Mesh, kind: str = "axisymmetric", order: int = 2, intorder: int | None = None
) -> Kinematics:
    """Build the strain operator of ``mesh`` for the model ``kind``.

    Parameters
    ----------
    mesh : skfem.MeshTri1 | skfem.MeshTri2 | skfem.MeshTet1 | skfem.MeshTet2
        Coordinates in mm; triangles for the 2D models (x (r) ≥ 0 when axisymmetric),
        tetrahedra for ``3d``.
    kind : str
        One of :data:`ALL_KINDS`.
    order : int
        Polynomial order of the displacement (1 or 2; 2 by default).
    intorder : int, optional
        Quadrature degree. 2D default 2·order (skfem's default: 6 points for P2), exact for the
        P2 stiffness on straight triangles in the plane models. 3D default 2·(order − 1) (4
        points for P2, as Abaqus C3D10 and ANSYS SOLID187; 1 point for P1), exact for the
        stiffness on straight-sided tetrahedra.
    """
    if kind not in ALL_KINDS:
        raise DesignError("model", kind, f"one of {', '.join(ALL_KINDS)}")
    if order not in (1, 2):
        raise DesignError("mesh.order", order, "1 or 2")
    if kind == "3d":
        if not isinstance(mesh, (skfem.MeshTet1, skfem.MeshTet2)):
            raise DesignError("model", kind, f"a tetrahedral mesh (MeshTet1/MeshTet2), not a "
                              f"{type(mesh).__name__}")
        scalar = skfem.ElementTetP2() if order == 2 else skfem.ElementTetP1()
        intorder = max(2 * (order - 1), 1) if intorder is None else intorder
    else:
        if not isinstance(mesh, (skfem.MeshTri1, skfem.MeshTri2)):
            raise MeshError(f"expected a triangle mesh (MeshTri1/MeshTri2), got "
                            f"{type(mesh).__name__}")
        scalar = skfem.ElementTriP2() if order == 2 else skfem.ElementTriP1()
        intorder = 2 * order if intorder is None else intorder
    sbasis = skfem.Basis(mesh, scalar, intorder=intorder)
    x = np.asarray(sbasis.global_coordinates())
    grad = np.stack([b[0].grad for b in sbasis.basis], axis=-1)  # (dim, E, Q, nb)
    grad = np.ascontiguousarray(np.moveaxis(grad, 0, -1))  # (E, Q, nb, dim)
    dV = sbasis.dx.copy()
    hoop = None
    if kind == "axisymmetric":
        rmin = float(mesh.p[0].min())
        if rmin < -1e-9 * float(np.ptp(mesh.p[0]) or 1.0):
            raise MeshError(f"axisymmetric mesh reaches r = {rmin:g} mm < 0")
        r = x[0]
        values = np.stack([np.asarray(b[0]) for b in sbasis.basis], axis=-1)  # (E, Q, nb)
        hoop = values / r[..., None]
        dV *= 2.0 * np.pi * r
    return Kinematics(kind=kind, scalar=sbasis, grad=grad, hoop=hoop, dV=dV, x=x)


def displacement(kin: Kinematics, u: np.ndarray) -> np.ndarray:
    """Displacement (dim, nelems, nqp) in mm of the DOF vector ``u`` at the quadrature points."""
    d = kin.dim
    return np.stack([np.asarray(kin.scalar.interpolate(u[c::d])) for c in range(d)])


def strain(kin: Kinematics, u: np.ndarray, eps_zz: float = 0.0) -> np.ndarray:
    """Total strain (nelems, nqp, ncomp) of the displacement ``u``, engineering shears.

    2D ``[ε_xx, ε_yy, ε_zz|ε_θθ, γ_xy]``; 3D ``[ε_xx, ε_yy, ε_zz, γ_xy, γ_xz, γ_yz]``.
    ``eps_zz`` is the uniform out-of-plane strain of generalized plane strain (0 otherwise;
    plane stress fills its ε_zz from σ_zz = 0 in the solver; unused in 3D).
    """
    d = kin.dim
    ue = u[kin.element_dofs].reshape(kin.nelems, -1, d)  # (E, nb, d)
    du = np.einsum("eqai,eaj->eqji", kin.grad, ue)  # du[..., j, i] = ∂u_j/∂x_i
    eps = np.empty((kin.nelems, kin.nqp, kin.ncomp))
    for c, pairs in enumerate(_PAIRS[d]):
        if pairs:
            eps[..., c] = sum(du[..., j, i] for j, i in pairs)
    if d == 2:
        if kin.hoop is not None:
            eps[..., 2] = np.einsum("eqa,ea->eq", kin.hoop, ue[..., 0])
        else:
            eps[..., 2] = eps_zz
    return eps


def assemble_stiffness(kin: Kinematics, D: np.ndarray) -> sparse.csr_matrix:
    """K = ∫ Bᵀ D B dV, symmetric CSR (N/mm).

    Parameters
    ----------
    D : ndarray broadcastable to (nelems, nqp, ncomp, ncomp)
        The material matrix (MPa) per element and quadrature point, e.g. (nelems, 1, n, n) for
        per-element constants or a consistent tangent at each point.
    """
    nc = kin.ncomp
    D = np.broadcast_to(D, (kin.nelems, kin.nqp, nc, nc))
    nloc = kin.element_dofs.shape[1]
    Ke = np.empty((kin.nelems, nloc, nloc))
    for s in _chunks(kin.nelems, nloc):
        B = kin.B(s)
        DB = np.matmul(D[s], B) * kin.dV[s, :, None, None]
        n = B.shape[0]
        Bt = B.transpose(0, 3, 1, 2).reshape(n, nloc, -1)  # (n, nloc, Q*ncomp)
        Ke[s] = np.matmul(Bt, DB.reshape(n, -1, nloc))
    return _scatter(kin, Ke)


def assemble_load(kin: Kinematics, sigma: np.ndarray) -> np.ndarray:
    """The nodal forces ∫ Bᵀ σ dV (N) of a stress field ``sigma`` (nelems, nqp, ncomp) in MPa.

    With σ = D ε₀ this is the load of an initial (thermal, inelastic) strain ε₀; with the
    current stress it is the internal force vector.
    """
    d = kin.dim
    sigma = np.broadcast_to(sigma, (kin.nelems, kin.nqp, kin.ncomp))
    s = sigma * kin.dV[..., None]
    fe = np.zeros((kin.nelems, kin.grad.shape[2], d))
    for c, pairs in enumerate(_PAIRS[d]):
        for j, i in pairs:
            fe[..., j] += np.einsum("eqa,eq->ea", kin.grad[..., i], s[..., c])
    if kin.hoop is not None:
        fe[..., 0] += np.einsum("eqa,eq->ea", kin.hoop, s[..., 2])
    return np.bincount(kin.element_dofs.ravel(), weights=fe.reshape(kin.nelems, -1).ravel(),
                       minlength=kin.ndofs)


def integrate(kin: Kinematics, f: np.ndarray) -> np.ndarray:
    """∫ f dV per element (nelems, ...) of a field ``f`` (nelems, nqp, ...)."""
    return np.einsum("eq...,eq->e...", f, kin.dV)


def _chunks(n: int, nloc: int = 12) -> list[slice]:
    size = max(256, CHUNK * 144 // (nloc * nloc))  # same temporaries whatever the element
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def _scatter(kin: Kinematics, Ke: np.ndarray) -> sparse.csr_matrix:
    # 32-bit indices and broadcast (not repeat/tile): 5x faster COO -> CSR at 1e6 DOFs
    dofs = kin.element_dofs.astype(np.int32 if kin.ndofs < 2**31 else np.int64)
    n, nloc = dofs.shape
    rows = np.broadcast_to(dofs[:, :, None], (n, nloc, nloc)).ravel()
    cols = np.broadcast_to(dofs[:, None, :], (n, nloc, nloc)).ravel()
    K = sparse.coo_matrix((Ke.ravel(), (rows, cols)), shape=(kin.ndofs, kin.ndofs)).tocsr()
    K.sum_duplicates()
    return K
