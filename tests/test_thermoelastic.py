"""Thermoelastic model: load cases with closed forms, factor reuse, supports and bad input."""

import dataclasses
import importlib.util

import numpy as np
import pytest
import skfem
from scipy import sparse

from validation.helpers import layered_mesh, material
from wlcsp.errors import AnalysisError, DesignError, MeshError
from wlcsp.fem.kinematics import kinematics
from wlcsp.fem.linsolve import factorize
from wlcsp.fem.thermoelastic import ThermoelasticModel
from wlcsp.materials import Table

ROUNDOFF = 1e-9
"""Relative tolerance where the discrete solution is exact (linear fields, algebra)."""

E1, E2, NU = 100e3, 20e3, 0.3
A1, A2 = 3e-6, 20e-6


def _mesh():
    return layered_mesh(np.linspace(0.0, 1.0, 6), [("a", np.linspace(0.0, 0.3, 3)),
                                                    ("b", np.linspace(0.3, 1.0, 4))])


def _mats(Ea=E1):
    return {"a": material(Ea, NU, A1), "b": material(E2, NU, A2)}


def test_gps_out_of_plane_strain_is_the_stiffness_weighted_mean():
    """GPS: zero net axial force.

    With equal ν, ∫σ_zz dA = Σ E_i A_i (ε₀ − α_i ΔT) = 0, so ε₀ = Σ E_i A_i α_i ΔT / Σ E_i A_i
    (the in-plane stresses of a free body integrate to zero: ∫σ_ij dA = ∮ t_i x_j ds = 0;
    Timoshenko & Goodier 1970, §100 generalized plane strain).
    """
    sol = ThermoelasticModel(_mesh(), _mats(), kind="generalized_plane_strain").solve(125.0)
    dT = 100.0
    expected = (E1 * 0.3 * A1 + E2 * 0.7 * A2) * dT / (E1 * 0.3 + E2 * 0.7)
    assert sol.eps_zz == pytest.approx(expected, rel=ROUNDOFF)
    assert abs(np.sum(sol.stress[..., 2] * sol.dV)) < ROUNDOFF * E1 * A1 * dT


def test_stress_free_temperature_per_region():
    """Each region's own stress-free temperature.

    Plane strain, u_x held at both ends, y free: each layer is uniform with
    σ_xx = σ_zz = −E ε_th/(1−ν) from its own T0 (σ_yy = σ_xy = 0 satisfies the interface
    conditions; literature.md §5.1).
    """
    mats = {"a": material(E1, NU, A1), "b": material(E1, NU, A1)}
    model = ThermoelasticModel(_mesh(), mats, kind="plane_strain",
                               stress_free={"a": 125.0, "b": 180.0},
                               supports={"axis": "x", "right": "x"})
    sol = model.solve(25.0)
    for name, t0 in (("a", 125.0), ("b", 180.0)):
        mask = sol.region_id == sol.regions.index(name)
        s = -E1 * A1 * (25.0 - t0) / (1 - NU)
        assert np.allclose(sol.stress[mask], [s, 0.0, s, 0.0], atol=ROUNDOFF * abs(s))


def test_secant_modulus_at_the_current_temperature_and_factor_reuse():
    """Secant-elastic state and factor cache.

    Laterally held plane strain: σ_xx = −E(T) ε_th/(1−ν) with E at the current T; the
    factors are reused while E, ν are unchanged and rebuilt when E(T) changes.
    """
    E_T = Table((-50.0, 150.0), (120e3, 80e3))
    mats = {"a": material(1.0, NU, A1), "b": material(1.0, NU, A1)}
    mats["a"] = type(mats["a"])("a", E_T, mats["a"].nu, mats["a"].cte, "test")
    mats["b"] = type(mats["b"])("b", E_T, mats["b"].nu, mats["b"].cte, "test")
    model = ThermoelasticModel(_mesh(), mats, kind="plane_strain", stress_free=125.0,
                               supports={"axis": "x", "right": "x"})
    for T in (-40.0, 50.0):
        sol = model.solve(T)
        assert np.allclose(sol.stress[..., 0], -E_T(T) * A1 * (T - 125.0) / (1 - NU),
                           rtol=ROUNDOFF)
    const = ThermoelasticModel(_mesh(), _mats(), kind="axisymmetric")
    assert const.factorization(-40.0)[0] is const.factorization(125.0)[0]
    assert model.factorization(-40.0)[0] is not model.factorization(50.0)[0]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kind": "3d"}, DesignError, "model"),
        ({"order": 3}, DesignError, "mesh.order"),
        ({"supports": {"axis": "z"}}, DesignError, "supports.axis"),
        ({"supports": {"left": "x"}}, MeshError, "boundary 'left'"),
        ({"stress_free": {"a": 125.0}}, DesignError, "missing"),
        ({"stress_free": float("nan")}, DesignError, "stress_free"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        ThermoelasticModel(_mesh(), _mats(), **kwargs)


def test_regions_must_partition_the_mesh():
    mesh = _mesh()
    with pytest.raises(MeshError, match="no elements"):
        ThermoelasticModel(mesh, {**_mats(), "c": material(E1, NU, A1)})
    with pytest.raises(MeshError, match="belong to no region"):
        ThermoelasticModel(mesh, {"a": material(E1, NU, A1)})
    overlap = mesh.with_subdomains({"a": np.arange(mesh.nelements), "b": np.array([0])})
    with pytest.raises(MeshError, match="both"):
        ThermoelasticModel(overlap, _mats())


def test_axisymmetric_mesh_must_not_cross_the_axis():
    mesh = skfem.MeshTri.init_tensor(np.linspace(-1.0, 1.0, 3), np.linspace(0.0, 1.0, 3))
    with pytest.raises(MeshError, match="r = -1"):
        kinematics(mesh, "axisymmetric")


@pytest.mark.parametrize(("kind", "supports"), [("plane_strain", {"bottom": "y"}),
                                               ("plane_stress", {"axis": "y"})])
def test_under_constrained_model_raises(kind, supports):
    """A free x translation is refused before any solve.

    K is then singular, which a self-equilibrated thermal load does not reveal through the
    residual.
    """
    with pytest.raises(DesignError, match="rigid-body"):
        ThermoelasticModel(_mesh(), _mats(), kind=kind, supports=supports)
    with pytest.raises(DesignError, match="temperature"):
        ThermoelasticModel(_mesh(), _mats()).solve(float("inf"))


def test_factorization_solves_many_right_hand_sides():
    rng = np.random.default_rng(1)
    M = sparse.random(60, 60, density=0.1, random_state=2)
    A = (M @ M.T + 60 * sparse.eye(60)).tocsr()
    b = rng.standard_normal((60, 3))
    x = factorize(A, "superlu").solve(b)
    assert np.allclose(x, np.linalg.solve(A.toarray(), b), rtol=1e-10, atol=1e-12)
    singular = sparse.diags([1.0, 1.0, 0.0]).tocsr()
    with pytest.raises(AnalysisError):
        factorize(singular, "superlu").solve(np.ones(3))
    wrong = dataclasses.replace(factorize(A, "superlu"), _solve=lambda r: r * (1 + 1e-6))
    with pytest.raises(AnalysisError, match="backward error"):
        wrong.solve(b)


def test_pardiso_is_optional():
    A = sparse.diags([2.0, 3.0, 4.0]).tocsr()
    if importlib.util.find_spec("pypardiso") is None:
        with pytest.raises(DesignError, match="pypardiso"):
            factorize(A, "pardiso")
    else:
        assert np.allclose(factorize(A, "pardiso").solve(np.ones(3)), [0.5, 1 / 3, 0.25])
    with pytest.raises(DesignError, match="solver"):
        factorize(A, "umfpack")


def test_eigenstrain_reuses_the_factors():
    """Initial-strain load (the creep/plasticity path of the viscoplastic solver).

    A uniform in-plane eigenstrain is compatible, so a free GPS body stays stress-free and
    strains by it; an isotropic eigenstrain e in a laterally held plane-strain body gives
    σ_xx = σ_zz = −E e/(1−ν), like a thermal strain (literature.md §5.1).
    """
    free = ThermoelasticModel(_mesh(), _mats(), kind="generalized_plane_strain",
                              stress_free=25.0)
    e = np.zeros((free.kin.nelems, free.kin.nqp, 4))
    e[...] = [1e-3, -2e-3, 0.0, 4e-3]
    sol = free.solve(25.0, eigenstrain=e)
    assert np.max(np.abs(sol.stress)) < ROUNDOFF * E1 * 4e-3
    assert np.allclose(sol.strain[..., [0, 1, 3]], [1e-3, -2e-3, 4e-3], rtol=ROUNDOFF)
    held = ThermoelasticModel(_mesh(), {"a": material(E1, NU, A1), "b": material(E1, NU, A1)},
                              kind="plane_strain", stress_free=25.0,
                              supports={"axis": "x", "right": "x"})
    fac = held.factorization(25.0)[0]
    sol = held.solve(25.0, eigenstrain=np.broadcast_to([2e-3, 2e-3, 2e-3, 0.0], e.shape))
    s = -E1 * 2e-3 / (1 - NU)
    assert np.allclose(sol.stress, [s, 0.0, s, 0.0], atol=ROUNDOFF * abs(s))
    assert held.factorization(25.0)[0] is fac
    with pytest.raises(ValueError, match=r"eigenstrain\.shape"):
        held.solve(25.0, eigenstrain=np.zeros((3, 4)))


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("mesh", [
    skfem.MeshTri.init_tensor(np.linspace(0, 1, 4), np.linspace(0, 1, 3)),
    skfem.MeshTri2.init_circle(1),
])
def test_dof_numbering_is_skfem_element_vector(mesh, order):
    """The solver's interleaved numbering (2k + c) is the one of skfem's ElementVector basis."""
    kin = kinematics(mesh, "plane_strain", order=order)
    assert np.array_equal(kin.element_dofs, kin.basis.element_dofs.T)
    assert np.array_equal(kin.dof_locations, kin.basis.doflocs)
    facets = mesh.boundary_facets()
    expected = np.sort(kin.basis.get_dofs(facets).all("u^2"))
    assert np.array_equal(kin.boundary_dofs(facets, "y"), expected)
