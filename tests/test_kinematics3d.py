"""3D kinematics: DOF numbering, assembly against scikit-fem, component conventions, bad input."""

import numpy as np
import pytest
import skfem
from skfem.models.elasticity import lame_parameters, linear_elasticity

from validation.helpers import material
from validation.test_3d_meshes import brick_mesh
from wlcsp.errors import DesignError
from wlcsp.fem.kinematics import assemble_load, assemble_stiffness, kinematics, strain
from wlcsp.fem.thermoelastic import ThermoelasticModel, elastic_matrix

ROUNDOFF = 1e-9
"""Relative tolerance where the two computations are the same algebra."""

E, NU = 1000.0, 0.3


def _mesh():
    return skfem.MeshTet.init_tensor(np.linspace(0, 1, 3), np.linspace(0, 0.5, 2),
                                     np.linspace(0, 0.7, 3))


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("curved", [False, True])
def test_dof_numbering_is_skfem_element_vector(order, curved):
    """Interleaved 3k + c, the numbering of skfem's ElementVector basis."""
    mesh = skfem.MeshTet2.init_ball(1) if curved else _mesh()
    kin = kinematics(mesh, "3d", order=order)
    assert (kin.dim, kin.ncomp, kin.vertical) == (3, 6, 2)
    assert kin.components == ("xx", "yy", "zz", "xy", "xz", "yz")
    assert np.array_equal(kin.element_dofs, kin.basis.element_dofs.T)
    assert np.array_equal(kin.dof_locations, kin.basis.doflocs)
    facets = mesh.boundary_facets()
    expected = np.sort(kin.basis.get_dofs(facets).all("u^3"))
    assert np.array_equal(kin.boundary_dofs(facets, "z"), expected)


@pytest.mark.parametrize("order", [1, 2])
def test_stiffness_equals_skfem_linear_elasticity(order):
    """K = ∫ Bᵀ D B dV equals scikit-fem's generic form ∫ σ(u):ε(v) dV (Lamé λ, μ)."""
    mesh = _mesh()
    kin = kinematics(mesh, "3d", order=order)
    K = assemble_stiffness(kin, elastic_matrix(E, NU, "3d"))
    elem = skfem.ElementTetP2() if order == 2 else skfem.ElementTetP1()
    basis = skfem.Basis(mesh, skfem.ElementVector(elem), quadrature=kin.scalar.quadrature)
    K_ref = linear_elasticity(*lame_parameters(E, NU)).assemble(basis)
    assert abs(K - K_ref).max() < ROUNDOFF * abs(K_ref).max()


def test_load_is_the_transpose_of_the_strain():
    """assemble_load(σ)·u = ∫ σ·ε(u) dV for any σ and u (the same B, Abaqus order)."""
    kin = kinematics(_mesh(), "3d")
    rng = np.random.default_rng(0)
    u = rng.standard_normal(kin.ndofs)
    sigma = rng.standard_normal((kin.nelems, kin.nqp, 6))
    lhs = assemble_load(kin, sigma) @ u
    rhs = np.sum(np.einsum("eqc,eqc->eq", sigma, strain(kin, u)) * kin.dV)
    assert lhs == pytest.approx(rhs, rel=ROUNDOFF)
    B = kin.B(slice(0, 3))
    ue = u[kin.element_dofs[:3]]
    assert np.allclose(np.einsum("eqcl,el->eqc", B, ue), strain(kin, u)[:3], rtol=ROUNDOFF)


def test_shear_along_and_components():
    kin3 = kinematics(_mesh(), "3d")
    kin2 = kinematics(skfem.MeshTri.init_tensor(np.linspace(0, 1, 3), np.linspace(0, 1, 2)),
                      "plane_strain")
    s = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert kin3.shear_along(s, (1.0, 0.0)) == 5.0
    assert kin3.shear_along(s, (0.0, 2.0)) == 6.0
    assert kin3.shear_along(s, (1.0, 1.0)) == pytest.approx((5.0 + 6.0) / np.sqrt(2))
    assert kin2.shear_along(s[:4], (0.0, 1.0)) == 4.0
    assert (kin2.dim, kin2.ncomp, kin2.vertical) == (2, 4, 1)
    assert kin2.shear_components == (3,)
    assert kin3.shear_components == (3, 4, 5)
    assert kin2.normal_components == kin3.normal_components == (0, 1, 2)


def test_material_point_equals_plane_strain():
    """The 3D material point reproduces 2D plane strain.

    A plane-strain state in the x–z plane (ε_yy = γ_xy = γ_yz = 0) gives in 3D the stresses of
    the 2D plane-strain matrix with its y as z (Timoshenko & Goodier 1970, §16).
    """
    rng = np.random.default_rng(1)
    e2 = rng.standard_normal((5, 4)) * 1e-3
    e2[:, 2] = 0.0  # ε_zz = 0 of 2D plane strain
    e3 = np.zeros((5, 6))
    e3[:, [0, 2, 1, 4]] = e2  # 2D (xx, yy, zz, xy) -> 3D (xx, zz, yy, xz)
    s2 = e2 @ elastic_matrix(E, NU, "plane_strain").T
    s3 = e3 @ elastic_matrix(E, NU, "3d").T
    assert np.allclose(s3[:, [0, 2, 1, 4]], s2, rtol=ROUNDOFF, atol=0)
    assert np.allclose(s3[:, [3, 5]], 0.0)


def test_amg_matches_the_direct_solve():
    """AMG-CG (rigid modes as near-nullspace) against PARDISO/SuperLU on a thermal bilayer.

    AMG_RTOL and the backward-error check make the stresses agree to 1e-8 of their peak
    (benchmarks/solver3d.py --accuracy measured 7e-10).
    """
    mesh = brick_mesh(np.linspace(0, 2, 9), np.linspace(0, 1, 5), np.linspace(0, 0.5, 5),
                      {"a": (0.0, 0.25), "b": (0.25, 0.5)})
    mats = {"a": material(130e3, 0.28, 2.6e-6), "b": material(40e3, 0.4, 22e-6)}
    kw = {"kind": "3d", "stress_free": 125.0, "supports": {"x0": "x"},
          "plane_faces": {"y1": "y"}}
    direct = ThermoelasticModel(mesh, mats, solver="superlu", **kw).solve(-40.0)
    model = ThermoelasticModel(mesh, mats, solver="amg", **kw)
    amg = model.solve(-40.0)
    fac = model.factorization(-40.0)[0]
    assert fac.backend == "amg"
    assert 0 < fac.iterations[0] < 200
    scale = np.abs(direct.stress).max()
    assert np.max(np.abs(amg.stress - direct.stress)) < 1e-8 * scale


def test_3d_bad_input():
    tri = skfem.MeshTri.init_tensor(np.linspace(0, 1, 3), np.linspace(0, 1, 3))
    with pytest.raises(DesignError, match="tetrahedral"):
        kinematics(tri, "3d")
    mesh = brick_mesh([0, 1], [0, 1], [0, 1], {"a": (0.0, 1.0)})
    mats = {"a": material(E, NU, 1e-5)}
    with pytest.raises(DesignError, match=r"supports\.x0"):
        ThermoelasticModel(mesh, mats, kind="3d", supports={"x0": "w"})
    with pytest.raises(DesignError, match=r"plane_faces\.x1"):
        ThermoelasticModel(mesh, mats, kind="3d", plane_faces={"x1": "xy"})
    with pytest.raises(DesignError, match=r"plane_faces\.x0"):
        ThermoelasticModel(mesh, mats, kind="3d", supports={"x0": "x"}, plane_faces={"x0": "x"})
    with pytest.raises(ValueError, match=r"eigenstrain\.shape"):
        ThermoelasticModel(mesh, mats, kind="3d").solve(25.0, eigenstrain=np.zeros((1, 1, 4)))
