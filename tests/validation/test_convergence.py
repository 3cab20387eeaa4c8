"""Manufactured solutions: P2 convergence rates in the plane-strain and axisymmetric models.

For a smooth exact field u the body force b = −div σ(u) is applied and u is prescribed on the
Dirichlet boundary; the P2 error must fall as h² in the energy norm √∫(ε−ε_h)·D(ε−ε_h) dV and as
h³ in L² (Ciarlet, *The Finite Element Method for Elliptic Problems*, 1978, Thm 3.2.2 and §3.2
Aubin-Nitsche; scikit-fem's tests/test_convergence.py fits the rate the same way with
np.polyfit on log-log). Equilibrium (Timoshenko & Goodier 1970, §2 and §181 for the
axisymmetric form): plane −(∂σxx/∂x + ∂σxy/∂y), −(∂σxy/∂x + ∂σyy/∂y); axisymmetric
b_r = −(∂σrr/∂r + ∂σrz/∂z + (σrr − σθθ)/r), b_z = −(∂σrz/∂r + ∂σzz/∂z + σrz/r). The
derivatives of σ are taken by complex-step differentiation (exact to round-off, Squire &
Trapp, SIAM Rev. 40:110, 1998) of the hand-written strain of u.

Axisymmetric field: u_r = r cos(ar) sin(bz), u_z = cos(ar) cos(bz), smooth on the axis (even in
r, u_r(0) = 0); the axis carries u_r = 0 and the other sides the exact u.
"""

import numpy as np
import pytest
import skfem

from wlcsp.fem.kinematics import assemble_stiffness, displacement, kinematics, strain
from wlcsp.fem.linsolve import factorize
from wlcsp.fem.thermoelastic import elastic_matrix

RATE_TOL = 0.15
"""Allowed shortfall of the fitted rate below the theoretical one (2 energy, 3 L²)."""

E, NU = 1000.0, 0.3
A_, B_ = 2.0, 3.0
N_LIST = (6, 12, 24, 48)
H = 1e-30  # complex step


def _plane(x, y):
    """Exact displacement, its gradient (du[i][j] = ∂u_i/∂x_j) and hoop strain (none)."""
    s, c = np.sin, np.cos
    u = (s(A_ * x) * s(B_ * y), c(A_ * x) * c(B_ * y))
    du = ((A_ * c(A_ * x) * s(B_ * y), B_ * s(A_ * x) * c(B_ * y)),
          (-A_ * s(A_ * x) * c(B_ * y), -B_ * c(A_ * x) * s(B_ * y)))
    return u, du, None


def _axi(r, z):
    s, c = np.sin, np.cos
    u = (r * c(A_ * r) * s(B_ * z), c(A_ * r) * c(B_ * z))
    du = ((c(A_ * r) * s(B_ * z) - A_ * r * s(A_ * r) * s(B_ * z), B_ * r * c(A_ * r) * c(B_ * z)),
          (-A_ * s(A_ * r) * c(B_ * z), -B_ * c(A_ * r) * s(B_ * z)))
    return u, du, c(A_ * r) * s(B_ * z)  # hoop strain u_r / r


def _exact_strain(field, x, y):
    _, du, hoop = field(x, y)
    zz = 0 * x if hoop is None else hoop
    return np.stack([du[0][0], du[1][1], zz, du[0][1] + du[1][0]], axis=-1)


def _body_force(field, kind, x, y):
    D = elastic_matrix(E, NU, kind)

    def sig(x, y):
        return _exact_strain(field, x, y) @ D.T

    dsx = np.imag(sig(x + 1j * H, y)) / H
    dsy = np.imag(sig(x, y + 1j * H)) / H
    bx = -(dsx[..., 0] + dsy[..., 3])
    by = -(dsx[..., 3] + dsy[..., 1])
    if kind == "axisymmetric":
        s = sig(x, y)
        bx -= (s[..., 0] - s[..., 2]) / x
        by -= s[..., 3] / x
    return bx, by


def _errors(kind, field, n):
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    kin = kinematics(mesh, kind)
    D = elastic_matrix(E, NU, kind)
    K = assemble_stiffness(kin, D)
    bx, by = _body_force(field, kind, *kin.x)
    N = np.stack([np.asarray(b[0]) for b in kin.scalar.basis], axis=-1)  # (E, Q, nb)
    fe = np.stack([np.einsum("eqa,eq->ea", N, b * kin.dV) for b in (bx, by)], axis=-1)
    f = np.bincount(kin.basis.element_dofs.T.ravel(), fe.reshape(len(fe), -1).ravel(),
                    minlength=kin.ndofs)
    xd = kin.basis.doflocs
    u = np.zeros(kin.ndofs)
    exact = field(xd[0], xd[1])[0]
    u[0::2], u[1::2] = exact[0][0::2], exact[1][1::2]
    boundary = kin.basis.get_dofs().all()
    if kind == "axisymmetric":  # the axis: u_r = 0 only (u_z natural, weight 2πr = 0)
        axis = kin.basis.get_dofs(lambda x: np.isclose(x[0], 0.0))
        boundary = np.setdiff1d(boundary, axis.all("u^2"))
    free = np.setdiff1d(np.arange(kin.ndofs), boundary)
    rhs = f[free] - K[free][:, boundary] @ u[boundary]
    u[free] = factorize(K[free][:, free]).solve(rhs)
    fine = kinematics(mesh, kind, intorder=8)
    de = _exact_strain(field, *fine.x) - strain(fine, u)
    energy = np.sqrt(np.sum(np.einsum("eqi,ij,eqj->eq", de, D, de) * fine.dV))
    ue = np.stack(field(*fine.x)[0])
    l2 = np.sqrt(np.sum(np.sum((ue - displacement(fine, u)) ** 2, axis=0) * fine.dV))
    return energy, l2


@pytest.mark.parametrize(("kind", "field"), [("plane_strain", _plane), ("axisymmetric", _axi)])
def test_p2_convergence_rates(kind, field):
    errs = np.array([_errors(kind, field, n) for n in N_LIST])
    h = 1.0 / np.asarray(N_LIST)
    rate_energy = np.polyfit(np.log(h), np.log(errs[:, 0]), 1)[0]
    rate_l2 = np.polyfit(np.log(h), np.log(errs[:, 1]), 1)[0]
    assert rate_energy > 2.0 - RATE_TOL
    assert rate_l2 > 3.0 - RATE_TOL
    assert rate_energy < 2.0 + RATE_TOL  # not super-convergent: the test would be vacuous
    assert rate_l2 < 3.0 + RATE_TOL
