"""3D bilayers under a uniform ΔT against the laminate closed forms of the 2D tests.

Away from free edges a layered body under ΔT has ε = ε₀ + κ z in each layer (Timoshenko,
"Analysis of bi-metal thermostats", J. Opt. Soc. Am. 11:233, 1925; Freund & Suresh, *Thin Film
Materials*, 2003, §2.3; ``helpers.laminate``): a slab held at u_y = 0 on both y faces is in plane
strain (E' = E/(1−ν²), α' = (1+ν)α, Timoshenko's bimetal curvature); a disc, or a strip whose
cut face stays plane with free translation and rotation (u_y = a + b z, zero net force and
moment), is an equibiaxial plate (E' = E/(1−ν), α' = α, the axisymmetric result). Curvature:
u_z = c − κ r²/2 on the bottom, κ > 0 when strain grows upwards.
"""

import gmsh
import numpy as np
import pytest

from wlcsp.fem.thermoelastic import ThermoelasticModel

from .helpers import laminate, material, timoshenko_curvature
from .test_3d_meshes import box_by_planes, brick_mesh, gmsh_tet2

LAMINATE_TOL = 0.005
"""Relative tolerance on curvature (issue: 0.5 %), as the 2D laminate tests."""

DT = -165.0
SI = (130e3, 0.28, 2.6e-6)
SOLDER = (43e3, 0.40, 22e-6)
H1, H2 = 0.4, 0.6


def _mats():
    return {"bottom_layer": material(*SI), "top_layer": material(*SOLDER)}


def _layers():
    return {"bottom_layer": (0.0, H1), "top_layer": (H1, H1 + H2)}


def _curvature(sol, r, upto):
    """κ from u_z = c − κ r²/2 fitted on the bottom nodes with r ≤ upto."""
    kin = sol.kin
    dofs = kin.boundary_dofs(sol.mesh.boundaries["bottom"], "z")
    rr = r(kin.dof_locations[:, dofs])
    keep = rr <= upto
    return -2.0 * np.polyfit(rr[keep] ** 2, sol.u[dofs][keep], 1)[0]


def _zs():
    return np.concatenate([np.linspace(0, H1, 5), np.linspace(H1, H1 + H2, 7)[1:]])


def test_plane_strain_slab_reproduces_timoshenko():
    mesh = brick_mesh(np.linspace(0, 10.0, 101), [0.0, 0.25], _zs(), _layers())
    model = ThermoelasticModel(mesh, _mats(), kind="3d", stress_free=125.0,
                               supports={"x0": "x", "y0": "y", "y1": "y"})
    sol = model.solve(125.0 + DT)
    (E1, n1, a1), (E2, n2, a2) = SI, SOLDER
    kappa = timoshenko_curvature(E1 / (1 - n1**2), E2 / (1 - n2**2), H1, H2,
                                 ((1 + n2) * a2 - (1 + n1) * a1) * DT)
    fe = _curvature(sol, lambda x: x[0], upto=3.0)
    assert fe == pytest.approx(kappa, rel=LAMINATE_TOL)


def _plate_kappa():
    moduli = [E / (1 - nu) for E, nu, _ in (SI, SOLDER)]
    return laminate(moduli, [SI[2], SOLDER[2]], [0.0, H1, H1 + H2], DT)[1]


def test_quarter_disc_reproduces_the_axisymmetric_plate():
    radius = 4.0

    def build():
        occ = gmsh.model.occ
        c1 = occ.addCylinder(0, 0, 0, 0, 0, H1, radius)
        c2 = occ.addCylinder(0, 0, H1, 0, 0, H2, radius)
        b = occ.addBox(0, 0, 0, radius, radius, H1 + H2)
        b2 = occ.addBox(0, 0, 0, radius, radius, H1 + H2)
        occ.intersect([(3, c1)], [(3, b)])
        occ.intersect([(3, c2)], [(3, b2)])
        occ.removeAllDuplicates()

    mesh = gmsh_tet2(build, 0.2, lambda bb: "bottom_layer" if bb[5] < H1 + 1e-6 else "top_layer",
                     lambda bb: box_by_planes(bb, {(0, 0.0): "sym_x", (1, 0.0): "sym_y",
                                                   (2, 0.0): "bottom"}))
    model = ThermoelasticModel(mesh, _mats(), kind="3d", stress_free=125.0,
                               supports={"sym_x": "x", "sym_y": "y"})
    assert model.holds.size == 1  # only the vertical translation is left
    sol = model.solve(125.0 + DT)
    fe = _curvature(sol, lambda x: np.hypot(x[0], x[1]), upto=1.5)
    assert fe == pytest.approx(_plate_kappa(), rel=LAMINATE_TOL)


def test_strip_with_plane_face_bends_as_the_wide_plate():
    """A strip with a plane cut face bends as the wide slab and the equibiaxial plate.

    The strip is 0.25 wide with its cut face y = 0.25 plane; the same slab 4 mm wide has a free
    edge; both against the equibiaxial plate. The plane face rotates: b = κ·W.
    """
    xs = np.linspace(0, 4.0, 17)
    strip = ThermoelasticModel(brick_mesh(xs, [0.0, 0.25], _zs(), _layers()), _mats(),
                               kind="3d", stress_free=125.0,
                               supports={"x0": "x", "y0": "y"}, plane_faces={"y1": "y"})
    s = strip.solve(125.0 + DT)
    wide = ThermoelasticModel(brick_mesh(xs, xs, _zs(), _layers()), _mats(), kind="3d",
                              stress_free=125.0, supports={"x0": "x", "y0": "y"})
    w = wide.solve(125.0 + DT)
    on_axis = lambda x: np.where(x[1] < 1e-9, x[0], np.inf)  # noqa: E731
    k_strip = _curvature(s, lambda x: x[0], upto=1.0)
    k_wide = _curvature(w, on_axis, upto=1.0)
    _, b = s.plane_motion["y1"]
    assert k_strip == pytest.approx(k_wide, rel=LAMINATE_TOL)
    assert k_strip == pytest.approx(_plate_kappa(), rel=LAMINATE_TOL)
    assert b / 0.25 == pytest.approx(_plate_kappa(), rel=LAMINATE_TOL)


def test_warpage_along_the_row_is_blind_to_the_strip_cells_free_tilt():
    """Warpage of a strip cell: the wide slab's value, whatever rigid tilt about x it carries.

    The strip's plane face leaves the rotation about x to a rigid hold; :func:`post.warpage`
    reads u_z along x on the innermost line y = y_min, so adding a rigid rotation θ about x
    (u_y −= θz, u_z += θy) must leave it unchanged to round-off, and it must equal the wide
    slab's warpage along its axis (same curvature, same free edge at x = 4; LAMINATE_TOL).
    """
    import dataclasses

    from wlcsp import post

    xs = np.linspace(0, 4.0, 17)
    strip = ThermoelasticModel(brick_mesh(xs, [2.0, 2.25], _zs(), _layers()), _mats(),
                               kind="3d", stress_free=125.0, supports={"x0": "x"},
                               plane_faces={"y0": "y"})
    s = strip.solve(125.0 + DT)
    wide = ThermoelasticModel(brick_mesh(xs, xs, _zs(), _layers()), _mats(), kind="3d",
                              stress_free=125.0, supports={"x0": "x", "y0": "y"})
    w = wide.solve(125.0 + DT)
    theta = 1e-3
    loc = s.kin.dof_locations
    tilt = np.zeros_like(s.u)
    ydofs, zdofs = s.kin.basis.nodal_dofs[1], s.kin.basis.nodal_dofs[2]
    tilt[ydofs] = -theta * loc[2, ydofs]
    tilt[zdofs] = theta * loc[1, zdofs]
    tilted = dataclasses.replace(s, u=s.u + tilt)
    assert post.warpage(tilted) == pytest.approx(post.warpage(s), rel=1e-9)
    assert post.warpage(s) == pytest.approx(post.warpage(w), rel=LAMINATE_TOL)
    assert post.warpage(s) > 0  # cooled, the solder on top shrinks more: the edges rise
