"""3D homogeneous states, plane faces and the automatic rigid-mode holds.

Closed forms (Timoshenko & Goodier, *Theory of Elasticity*, 3rd ed., 1970, §§ 6, 154;
literature.md §5.1): a free body under a uniform ΔT strains by αΔT in every normal component and
carries no stress, u = αΔT x about any fixed point; a fully held block carries
σ_xx = σ_yy = σ_zz = −EαΔT/(1−2ν) and no shear. A face held plane (u_n = a + b z) does not
disturb a free expansion (the exact field satisfies the constraint with zero reaction). The
automatic holds are rigid-motion constraints, so two different choices of held nodes give the
same stresses (to round-off) and zero reactions.
"""

import numpy as np
import pytest

from wlcsp.fem.kinematics import assemble_stiffness
from wlcsp.fem.thermoelastic import ThermoelasticModel, elastic_matrix

from .helpers import material
from .test_3d_meshes import brick_mesh

ROUNDOFF = 1e-9
"""Relative tolerance where the discrete solution is exact (linear fields)."""

E, NU, ALPHA, DT = 100e3, 0.3, 1e-5, 100.0


def _block(bimaterial=False):
    layers = {"a": (0.0, 0.5), "b": (0.5, 1.0)} if bimaterial else {"a": (0.0, 1.0)}
    mesh = brick_mesh(np.linspace(0, 2, 5), np.linspace(0, 1, 3), np.linspace(0, 1, 5), layers)
    mats = {"a": material(E, NU, ALPHA), "b": material(E / 5, 0.35, 4 * ALPHA)}
    return mesh, {k: mats[k] for k in layers}


def test_free_expansion_is_stress_free_and_exact():
    mesh, mats = _block()
    model = ThermoelasticModel(mesh, mats, kind="3d", stress_free=25.0,
                               supports={"x0": "x", "y0": "y", "bottom": "z"})
    assert model.holds.size == 0  # the three symmetry planes stop every rigid motion
    sol = model.solve(25.0 + DT)
    assert np.max(np.abs(sol.stress)) < ROUNDOFF * E * ALPHA * DT
    dofs = np.arange(model.kin.ndofs)
    exact = ALPHA * DT * model.kin.dof_locations[dofs % 3, dofs]  # u_c = αΔT x_c
    assert np.max(np.abs(sol.u - exact)) < ROUNDOFF * ALPHA * DT
    free = ThermoelasticModel(mesh, mats, kind="3d", stress_free=25.0)
    assert free.holds.size == 6  # nothing held: all six rigid modes
    sol = free.solve(25.0 + DT)
    assert np.max(np.abs(sol.stress)) < ROUNDOFF * E * ALPHA * DT
    assert np.allclose(sol.strain, [ALPHA * DT] * 3 + [0.0] * 3, atol=ROUNDOFF * ALPHA * DT)


def test_fully_constrained_block():
    mesh, mats = _block()
    model = ThermoelasticModel(mesh, mats, kind="3d", stress_free=25.0, supports={
        f: "xyz"[i // 2] for i, f in enumerate(("x0", "x1", "y0", "y1", "bottom", "top"))})
    sol = model.solve(25.0 + DT)
    s = -E * ALPHA * DT / (1 - 2 * NU)
    assert np.allclose(sol.stress, [s, s, s, 0, 0, 0], rtol=0, atol=ROUNDOFF * abs(s))


def test_plane_face_of_a_free_expansion_stays_stress_free():
    mesh, mats = _block()
    model = ThermoelasticModel(mesh, mats, kind="3d", stress_free=25.0,
                               supports={"x0": "x"}, plane_faces={"x1": "x", "y1": "y"})
    assert model.holds.size == 3  # left free: y and z translations, rotation about x
    sol = model.solve(25.0 + DT)
    assert np.max(np.abs(sol.stress)) < ROUNDOFF * E * ALPHA * DT
    a, b = sol.plane_motion["x1"]
    assert a == pytest.approx(2.0 * ALPHA * DT, rel=ROUNDOFF)
    assert abs(b) < ROUNDOFF * ALPHA * DT


def test_rigid_holds_add_no_stress():
    """Same stresses and zero reactions whichever nodes the automatic holds pick."""
    mesh, mats = _block(bimaterial=True)
    flipped = mesh.with_boundaries({"bottom": mesh.boundaries["top"]})
    sols, holds = [], []
    for m in (mesh, flipped):
        model = ThermoelasticModel(m, mats, kind="3d", stress_free=125.0)
        sol = model.solve(-40.0)
        E_, nu, _ = model.region_properties(-40.0)
        K = assemble_stiffness(model.kin, elastic_matrix(E_, nu, "3d")[model.region_id][:, None])
        reaction = K @ sol.u - _load(model, -40.0)
        scale = np.abs(_load(model, -40.0)).max()
        assert np.max(np.abs(reaction[model.holds])) < ROUNDOFF * scale
        sols.append(sol)
        holds.append(model.holds)
    assert not np.intersect1d(holds[0], holds[1]).size  # truly different holds
    scale = np.abs(sols[0].stress).max()
    assert scale > 1.0  # a real thermal mismatch stress
    assert np.max(np.abs(sols[0].stress - sols[1].stress)) < ROUNDOFF * scale


def _load(model, T):
    from wlcsp.fem.kinematics import assemble_load

    E_, nu, eth = model.region_properties(T)
    D = elastic_matrix(E_, nu, "3d")[model.region_id][:, None]
    eps0 = eth[model.region_id][:, None, None] * model.kin.unit_volumetric
    return assemble_load(model.kin, np.matmul(D, eps0[..., None])[..., 0])
