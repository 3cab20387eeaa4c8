"""Post-processing kernels against independent calculations and closed forms."""

import dataclasses

import meshio
import numpy as np
import pytest

from validation.helpers import laminate, layered_mesh, material
from wlcsp import post
from wlcsp.errors import DesignError, MeshError
from wlcsp.fem.thermoelastic import ThermoelasticModel

ROUNDOFF = 1e-10
"""Relative tolerance for exact algebra and exactly integrated polynomials."""

WARPAGE_TOL = 0.005
"""Strip warpage against beam theory: the free-end disturbance (decaying within about one
thickness, Timoshenko & Goodier 1970, §20 Saint-Venant) changes the end deflection of a strip 10
thicknesses long by far less than this."""


def _tensor3(s):
    """The 3x3 stress tensor of a [xx, yy, zz, xy] row."""
    return np.array([[s[0], s[3], 0.0], [s[3], s[1], 0.0], [0.0, 0.0, s[2]]])


def test_von_mises_and_principal_against_the_3d_tensor():
    """σ_vM = √(3/2 s:s) with s the deviator; principal stresses = eigenvalues (numpy)."""
    rng = np.random.default_rng(0)
    stress = rng.normal(scale=50.0, size=(20, 4))
    for row, vm, p in zip(stress, post.von_mises(stress), post.principal_stresses(stress),
                          strict=True):
        t = _tensor3(row)
        dev = t - np.trace(t) / 3 * np.eye(3)
        assert vm == pytest.approx(np.sqrt(1.5 * np.sum(dev * dev)), rel=ROUNDOFF)
        assert p == pytest.approx(np.linalg.eigvalsh(t)[::-1], rel=ROUNDOFF, abs=ROUNDOFF)
    assert post.von_mises(np.array([0.0, 0.0, 0.0, 10.0])) == pytest.approx(np.sqrt(3) * 10)


def test_von_mises_principal_and_equivalent_strain_in_3d():
    """6 components [xx, yy, zz, xy, xz, yz]: the same identities on the full tensor.

    The equivalent strain of engineering shears is √(2/3 e:e) with e_ij = γ_ij / 2 off the
    diagonal.
    """
    rng = np.random.default_rng(1)
    stress = rng.normal(scale=50.0, size=(20, 6))
    for row, vm, p, eq in zip(stress, post.von_mises(stress), post.principal_stresses(stress),
                              post.equivalent_strain(stress), strict=True):
        xx, yy, zz, xy, xz, yz = row
        t = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
        dev = t - np.trace(t) / 3 * np.eye(3)
        assert vm == pytest.approx(np.sqrt(1.5 * np.sum(dev * dev)), rel=ROUNDOFF)
        assert p == pytest.approx(np.linalg.eigvalsh(t)[::-1], rel=ROUNDOFF, abs=ROUNDOFF)
        e = np.array([[xx, xy / 2, xz / 2], [xy / 2, yy, yz / 2], [xz / 2, yz / 2, zz]])
        de = e - np.trace(e) / 3 * np.eye(3)
        assert eq == pytest.approx(np.sqrt(2 / 3 * np.sum(de * de)), rel=ROUNDOFF)


def _solution(kind="plane_strain", T=-40.0, **kw):
    mesh = layered_mesh(np.linspace(0.0, 1.0, 11), [("bump_0", np.linspace(0.0, 0.5, 3)),
                                                     ("bump_1", np.linspace(0.5, 1.0, 3))])
    mesh = mesh.with_boundaries({"right_1": lambda x: np.isclose(x[0], 1.0) & (x[1] > 0.5)})
    mats = {"bump_0": material(40e3, 0.35, 20e-6), "bump_1": material(130e3, 0.3, 3e-6)}
    return ThermoelasticModel(mesh, mats, kind=kind, stress_free=125.0, **kw).solve(T)


@pytest.mark.parametrize(("kind", "mean_x"), [("plane_strain", 0.5),
                                              ("axisymmetric", 2.0 / 3.0)])
def test_volume_average_weights_by_2_pi_r(kind, mean_x):
    """⟨x⟩ over 0 ≤ x ≤ 1: 1/2 in a plane model, ∫r·2πr dr / ∫2πr dr = 2/3 axisymmetric."""
    sol = _solution(kind)
    assert post.volume_average(sol.kin, sol.kin.x[0]) == pytest.approx(mean_x, rel=ROUNDOFF)


def test_bump_and_region_summaries_of_a_prescribed_field():
    """σ_xy = c·x: mean shear c⟨x⟩, mean von Mises √3 c⟨x⟩ (x ≥ 0), per layer.

    Layers are stacked in y here, so ⟨x⟩ = 1/2; the axisymmetric ⟨x⟩ is 2/3.
    """
    c = 7.0
    for kind, mean_x in (("plane_strain", 0.5), ("axisymmetric", 2.0 / 3.0)):
        sol = _solution(kind)
        stress = np.zeros_like(sol.stress)
        stress[..., 3] = c * sol.kin.x[0]
        sol = dataclasses.replace(sol, stress=stress)
        bumps = post.bump_summary(sol, dnp=[0.5, 0.5])
        assert [b["mean_shear"] for b in bumps] == pytest.approx([c * mean_x] * 2, rel=ROUNDOFF)
        regions = post.region_summary(sol)
        assert regions["bump_1"]["mean_von_mises"] == pytest.approx(np.sqrt(3) * c * mean_x,
                                                                    rel=ROUNDOFF)
    with pytest.raises(DesignError, match="dnp"):
        post.bump_summary(sol, dnp=[1.0])


def test_interface_stress_rotates_a_uniform_field():
    """Traction components of a uniform σ (Cauchy: t = σn).

    σ_n = σ_yy and τ = σ_xy on a horizontal facet from either side; σ_n = σ_xx and τ = −σ_xy
    on the vertical right edge (outward normal +x, t = (0, −1)).
    """
    sol = _solution()
    s = np.array([3.0, -5.0, 1.0, 2.0])
    sol = dataclasses.replace(sol, stress=np.broadcast_to(s, sol.stress.shape))
    for region in ("bump_0", "bump_1"):
        it = post.interface_stress(sol, "bump_0_bump_1", region)
        assert np.all(np.diff(it.x) >= 0)
        assert np.allclose(it.sigma_n, s[1])
        assert np.allclose(it.tau, s[3])
    edge = post.interface_stress(sol, "right_1", "bump_1")
    assert np.allclose(edge.normal, [1.0, 0.0])
    assert np.allclose(edge.sigma_n, s[0])
    assert np.allclose(edge.tau, -s[3])
    with pytest.raises(MeshError, match="does not border"):
        post.interface_stress(sol, "right", "bump_1")


@pytest.mark.parametrize(("kind", "volume"), [("plane_strain", 1.0 * post.DARVEAUX_LAYER),
                                              ("axisymmetric", np.pi * post.DARVEAUX_LAYER)])
def test_darveaux_layer_volume(kind, volume):
    """Volume of the 1 mil (0.0254 mm) layer under the interface y = 0.5 of a unit-wide section.

    w·t in a plane model (per mm of depth), π R² t axisymmetric (R = 1); the mesh has a line at
    the layer's edge.
    """
    t = post.DARVEAUX_LAYER
    mesh = layered_mesh(np.linspace(0.0, 1.0, 11),
                        [("bump_0", np.array([0.0, 0.25, 0.5 - t, 0.5])),
                         ("pad_0", np.linspace(0.5, 1.0, 3))])
    mats = {"bump_0": material(40e3, 0.35, 20e-6), "pad_0": material(130e3, 0.3, 17e-6)}
    sol = ThermoelasticModel(mesh, mats, kind=kind).solve(-40.0)
    mask = post.interface_layer_mask(sol, "bump_0_pad_0", "bump_0")
    assert np.sum(sol.dV * mask) == pytest.approx(volume, rel=ROUNDOFF)
    field = np.where(mask, 2.0, 100.0)
    assert post.interface_layer_average(sol, field, "bump_0_pad_0", "bump_0") == 2.0
    with pytest.raises(DesignError, match="darveaux_layer"):
        post.interface_layer_mask(sol, "bump_0_pad_0", "bump_0", thickness=0.0)


def test_warpage_of_a_bimetal_strip():
    """Warpage of a free plane-strain strip of half-length L.

    u_y(L) − u_y(0) = −κL²/2 (beam theory, κ from the laminate force/moment balance,
    Timoshenko 1925); cooling a strip with the high-CTE layer on top makes it smile (edges up,
    warpage > 0).
    """
    L, h1, h2 = 10.0, 0.4, 0.6
    mesh = layered_mesh(np.linspace(0.0, L, 101), [("a", np.linspace(0.0, h1, 5)),
                                                    ("b", np.linspace(h1, h1 + h2, 7))])
    (E1, n1, a1), (E2, n2, a2) = (130e3, 0.28, 2.6e-6), (43e3, 0.4, 22e-6)
    mats = {"a": material(E1, n1, a1), "b": material(E2, n2, a2)}
    sol = ThermoelasticModel(mesh, mats, kind="plane_strain", stress_free=125.0).solve(-40.0)
    _, kappa = laminate([E1 / (1 - n1**2), E2 / (1 - n2**2)],
                        [(1 + n1) * a1, (1 + n2) * a2], [0.0, h1, h1 + h2], -165.0)
    w = post.warpage(sol)
    assert w > 0
    assert w == pytest.approx(-kappa * L**2 / 2, rel=WARPAGE_TOL)


def test_vtu_round_trip(tmp_path):
    sol = _solution("axisymmetric")
    post.write_vtu(tmp_path / "s.vtu", sol)
    back = meshio.read(tmp_path / "s.vtu")
    nv = sol.mesh.nvertices
    assert np.allclose(back.point_data["displacement"][:, 0], sol.u[0 : 2 * nv : 2])
    assert np.array_equal(back.cell_data["material_id"][0], sol.region_id)
    vm = post.element_means(sol, post.von_mises(sol.stress))
    assert np.allclose(back.cell_data["von_mises"][0], vm)
    assert back.cell_data["stress"][0].shape == (sol.mesh.nelements, 4)


PEAK_POSITION_TOL = 0.06
"""mm: the peak element's layer centroid lies within about one element (1/8 mm) of the point
where the field peaks; 0.06 mm holds the 1/8 mm tensor mesh's centroids (measured 0.03-0.05)."""


@pytest.mark.parametrize(("direction", "azimuth"), [((1.0, 0.0), 0.0), ((0.0, 1.0), -90.0),
                                                    ((-1.0, 0.0), 180.0)])
def test_peak_site_finds_where_a_field_peaks_on_the_layer(direction, azimuth):
    """A field peaking at the joint's +x edge on its bottom layer: position and azimuth."""
    import skfem

    from wlcsp.fem.kinematics import kinematics

    g = np.linspace(0.0, 1.0, 9)
    kin = kinematics(skfem.MeshTet.init_tensor(g, g, g), "3d", order=1)
    peak = np.array([1.0, 0.5, 0.0])  # joint axis at x = y = 0.5, radius 0.5
    field = -np.linalg.norm(kin.x - peak[:, None, None], axis=0)
    layer = kin.x[2] < 0.25
    joint = np.ones(kin.dV.shape[0], dtype=bool)
    site = post.peak_site(kin, field, layer, joint, direction, radius=0.5)
    assert np.linalg.norm(np.array(site["position_mm"]) - peak) < 3 * PEAK_POSITION_TOL
    assert abs(site["position_mm"][1] - 0.5) < PEAK_POSITION_TOL
    # the angle of the centroid's offset from the axis, by hand
    v = np.array(site["position_mm"][:2]) - 0.5
    d = np.asarray(direction)
    expected = np.degrees(np.arctan2(d[0] * v[1] - d[1] * v[0], d @ v))
    assert site["azimuth_deg"] == pytest.approx(expected, abs=1e-9)
    assert abs((site["azimuth_deg"] - azimuth + 180.0) % 360.0 - 180.0) < 8.0  # atan(0.06/0.4)
    assert site["radius_fraction"] == pytest.approx(np.linalg.norm(v) / 0.5, rel=1e-12)
    assert 0.7 < site["radius_fraction"] <= 1.0


def test_peak_site_of_an_empty_layer_names_it():
    import skfem

    from wlcsp.fem.kinematics import kinematics

    kin = kinematics(skfem.MeshTet.init_tensor(*[np.linspace(0, 1, 3)] * 3), "3d", order=1)
    with pytest.raises(DesignError, match="interface layer"):
        post.peak_site(kin, kin.x[0], np.zeros(kin.dV.shape, bool),
                       np.ones(kin.dV.shape[0], bool), (1.0, 0.0), 0.5)
