"""Strain-displacement operators of the 2D models: the one place for the 2πr weight and hoop strain.

Every model uses the same four strain components, ordered ``[xx, yy, zz, xy]``:

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

The weak form is ∫ B(v)ᵀ σ(u) dV = ∫ B(v)ᵀ D ε₀ dV + boundary terms (Zienkiewicz & Taylor, *The
Finite Element Method*, vol. 1, 7th ed., 2013, §6 plane and §9 axisymmetric). Quadrature points
lie inside the triangles, so r > 0 wherever the hoop term N/r is evaluated; a mesh that reaches
r < 0 is rejected. The strain operator is stored as scalar shape-function gradients and values
per element and quadrature point and expanded to the (4 × 2·nb) B matrix in element chunks,
which keeps memory at about a third of a stored B and lets the same arrays serve the viscoplastic
solver (strains at quadrature points, initial-strain loads, tangent assembly).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import skfem
from scipy import sparse

from ..errors import DesignError, MeshError

KINDS = ("plane_strain", "generalized_plane_strain", "plane_stress", "axisymmetric")
"""The 2D models; see the module docstring."""

NCOMP = 4
"""Strain/stress components per point: xx, yy, zz (θθ), xy (rz)."""

CHUNK = 8192
"""Elements per block in the vectorised kernels: bounds the temporaries to a few tens of MB."""


@dataclass(frozen=True, eq=False)
class Kinematics:
    """Strain operator of one mesh and model, at the quadrature points of ``scalar``.

    Displacement DOFs are interleaved: DOF 2k + c is component c (0 = x/r, 1 = y/z) at the
    scalar basis' node k, the numbering of skfem's ``ElementVector`` (see :attr:`basis`).

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    scalar : skfem.CellBasis
        The scalar basis (P1 or P2) on the quadrature of ``grad`` and ``dV``.
    grad : ndarray (nelems, nqp, nb, 2)
        Gradients of the nb scalar shape functions at the quadrature points (1/mm).
    hoop : ndarray (nelems, nqp, nb) or None
        N/r of the scalar shape functions (1/mm), axisymmetric only.
    dV : ndarray (nelems, nqp)
        Quadrature weight times the Jacobian, times 2πr when axisymmetric (mm³).
    x : ndarray (2, nelems, nqp)
        Coordinates of the quadrature points (mm).
    """

    kind: str
    scalar: skfem.CellBasis
    grad: np.ndarray
    hoop: np.ndarray | None
    dV: np.ndarray
    x: np.ndarray

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
        return 2 * self.scalar.N

    @cached_property
    def element_dofs(self) -> np.ndarray:
        """Global DOFs (nelems, 2·nb) of each element, local order x0, y0, x1, y1, ..."""
        s = self.scalar.element_dofs.T
        return (2 * s[:, :, None] + np.arange(2)).reshape(s.shape[0], -1)

    @cached_property
    def dof_locations(self) -> np.ndarray:
        """Coordinates (2, ndofs) of the node of each DOF (mm)."""
        return np.repeat(self.scalar.doflocs, 2, axis=1)

    @cached_property
    def basis(self) -> skfem.CellBasis:
        """The vector basis (skfem ``ElementVector``, same DOF numbering), built on first use.

        It carries a one-point quadrature only: it is for DOF look-ups and facet bases; building
        it costs about as much as the stiffness kernel, so the solver itself does not use it.
        """
        return skfem.Basis(self.scalar.mesh, skfem.ElementVector(self.scalar.elem), intorder=0)

    def boundary_dofs(self, facets: np.ndarray, components: str = "xy") -> np.ndarray:
        """Sorted DOFs of ``components`` ("x", "y" or "xy") on the facets ``facets``."""
        nodes = self.scalar.get_dofs(np.asarray(facets)).all()
        comps = [c for c, name in enumerate("xy") if name in components]
        return np.sort(np.concatenate([2 * nodes + c for c in comps]))

    def B(self, elems: slice = slice(None)) -> np.ndarray:
        """The strain-displacement matrices (n, nqp, 4, 2·nb) of the elements ``elems``."""
        g = self.grad[elems]
        n, q, nb, _ = g.shape
        B = np.zeros((n, q, NCOMP, 2 * nb))
        B[:, :, 0, 0::2] = g[..., 0]
        B[:, :, 1, 1::2] = g[..., 1]
        B[:, :, 3, 0::2] = g[..., 1]
        B[:, :, 3, 1::2] = g[..., 0]
        if self.hoop is not None:
            B[:, :, 2, 0::2] = self.hoop[elems]
        return B


def kinematics(
    mesh: skfem.Mesh, kind: str = "axisymmetric", order: int = 2, intorder: int | None = None
) -> Kinematics:
    """Build the strain operator of ``mesh`` for the model ``kind``.

    Parameters
    ----------
    mesh : skfem.MeshTri1 or skfem.MeshTri2
        Coordinates in mm; x (r) ≥ 0 when axisymmetric.
    kind : str
        One of :data:`KINDS`.
    order : int
        Polynomial order of the displacement (1 or 2; 2 by default).
    intorder : int, optional
        Quadrature degree; default 2·order (skfem's default: 6 points for P2), exact for the
        P2 stiffness on straight triangles in the plane models.
    """
    if kind not in KINDS:
        raise DesignError("model", kind, f"one of {', '.join(KINDS)}")
    if order not in (1, 2):
        raise DesignError("mesh.order", order, "1 or 2")
    if not isinstance(mesh, (skfem.MeshTri1, skfem.MeshTri2)):
        raise MeshError(f"expected a triangle mesh (MeshTri1/MeshTri2), got {type(mesh).__name__}")
    scalar = skfem.ElementTriP2() if order == 2 else skfem.ElementTriP1()
    intorder = 2 * order if intorder is None else intorder
    sbasis = skfem.Basis(mesh, scalar, intorder=intorder)
    x = np.asarray(sbasis.global_coordinates())
    grad = np.stack([b[0].grad for b in sbasis.basis], axis=-1)  # (2, E, Q, nb)
    grad = np.ascontiguousarray(np.moveaxis(grad, 0, -1))  # (E, Q, nb, 2)
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
    """Displacement (2, nelems, nqp) in mm of the DOF vector ``u`` at the quadrature points."""
    return np.stack([np.asarray(kin.scalar.interpolate(u[c::2])) for c in (0, 1)])


def strain(kin: Kinematics, u: np.ndarray, eps_zz: float = 0.0) -> np.ndarray:
    """Total strain ``[ε_xx, ε_yy, ε_zz|ε_θθ, γ_xy]`` (nelems, nqp, 4) of the displacement ``u``.

    ``eps_zz`` is the uniform out-of-plane strain of generalized plane strain (0 otherwise;
    plane stress fills its ε_zz from σ_zz = 0 in the solver).
    """
    ue = u[kin.element_dofs].reshape(kin.nelems, -1, 2)  # (E, nb, 2)
    du = np.einsum("eqai,eaj->eqji", kin.grad, ue)  # du[..., j, i] = ∂u_j/∂x_i
    eps = np.empty((kin.nelems, kin.nqp, NCOMP))
    eps[..., 0] = du[..., 0, 0]
    eps[..., 1] = du[..., 1, 1]
    eps[..., 3] = du[..., 0, 1] + du[..., 1, 0]
    if kin.hoop is not None:
        eps[..., 2] = np.einsum("eqa,ea->eq", kin.hoop, ue[..., 0])
    else:
        eps[..., 2] = eps_zz
    return eps


def assemble_stiffness(kin: Kinematics, D: np.ndarray) -> sparse.csr_matrix:
    """K = ∫ Bᵀ D B dV, symmetric CSR (N/mm).

    Parameters
    ----------
    D : ndarray broadcastable to (nelems, nqp, 4, 4)
        The material matrix (MPa) per element and quadrature point, e.g. (nelems, 1, 4, 4) for
        per-element constants or a consistent tangent at each point.
    """
    D = np.broadcast_to(D, (kin.nelems, kin.nqp, NCOMP, NCOMP))
    nloc = kin.element_dofs.shape[1]
    Ke = np.empty((kin.nelems, nloc, nloc))
    for s in _chunks(kin.nelems):
        B = kin.B(s)
        DB = np.matmul(D[s], B) * kin.dV[s, :, None, None]
        n = B.shape[0]
        Bt = B.transpose(0, 3, 1, 2).reshape(n, nloc, -1)  # (n, nloc, Q*4)
        Ke[s] = np.matmul(Bt, DB.reshape(n, -1, nloc))
    return _scatter(kin, Ke)


def assemble_load(kin: Kinematics, sigma: np.ndarray) -> np.ndarray:
    """The nodal forces ∫ Bᵀ σ dV (N) of a stress field ``sigma`` (nelems, nqp, 4) in MPa.

    With σ = D ε₀ this is the load of an initial (thermal, inelastic) strain ε₀; with the
    current stress it is the internal force vector.
    """
    sigma = np.broadcast_to(sigma, (kin.nelems, kin.nqp, NCOMP))
    s = sigma * kin.dV[..., None]
    fe = np.empty((kin.nelems, kin.grad.shape[2], 2))
    fe[..., 0] = np.einsum("eqa,eq->ea", kin.grad[..., 0], s[..., 0])
    fe[..., 0] += np.einsum("eqa,eq->ea", kin.grad[..., 1], s[..., 3])
    fe[..., 1] = np.einsum("eqa,eq->ea", kin.grad[..., 1], s[..., 1])
    fe[..., 1] += np.einsum("eqa,eq->ea", kin.grad[..., 0], s[..., 3])
    if kin.hoop is not None:
        fe[..., 0] += np.einsum("eqa,eq->ea", kin.hoop, s[..., 2])
    return np.bincount(kin.element_dofs.ravel(), weights=fe.reshape(kin.nelems, -1).ravel(),
                       minlength=kin.ndofs)


def integrate(kin: Kinematics, f: np.ndarray) -> np.ndarray:
    """∫ f dV per element (nelems, ...) of a field ``f`` (nelems, nqp, ...)."""
    return np.einsum("eq...,eq->e...", f, kin.dV)


def _chunks(n: int) -> list[slice]:
    return [slice(i, min(i + CHUNK, n)) for i in range(0, n, CHUNK)]


def _scatter(kin: Kinematics, Ke: np.ndarray) -> sparse.csr_matrix:
    # 32-bit indices and broadcast (not repeat/tile): 5x faster COO -> CSR at 1e6 DOFs
    dofs = kin.element_dofs.astype(np.int32 if kin.ndofs < 2**31 else np.int64)
    n, nloc = dofs.shape
    rows = np.broadcast_to(dofs[:, :, None], (n, nloc, nloc)).ravel()
    cols = np.broadcast_to(dofs[:, None, :], (n, nloc, nloc)).ravel()
    K = sparse.coo_matrix((Ke.ravel(), (rows, cols)), shape=(kin.ndofs, kin.ndofs)).tocsr()
    K.sum_duplicates()
    return K
