"""A 3D strip whose bumps are continuous walls reproduces the 2D generalized-plane-strain section.

The section: two silicon plates (z 0-0.4 and 0.6-1.0 mm) joined by solder walls (x 1.0-1.5 and
2.5-3.0 mm) in an underfill layer, cooled from 125 °C by 165 K. Extruded over a strip y 0-0.25
mm with u_y = 0 on y = 0 and y = 0.25 held plane (u_y = a + b·z, zero net force and moment), it
is the 2D GPS model of the same section (uniform out-of-plane strain ε₀ = a/0.25, zero net
out-of-plane force) exactly when b = 0 — which the section's symmetry about its mid-plane z = 0.5
enforces. wlcsp's GPS carries ε₀ only, not the two rotations of Abaqus's CPEG elements, so an
unsymmetric section (seed stack) differs from a 3D strip by its out-of-plane bending; that case
is not asserted here. Both models are P2 on the same tensor grid (tets: 6 per brick, one brick
through y), so they differ by discretisation only: the wall averages and ε₀ agree within
GPS_TOL.
"""

import numpy as np
import pytest
import skfem

from wlcsp.fem.thermoelastic import ThermoelasticModel

from .helpers import material

GPS_TOL = 5e-3
"""Relative agreement of the 2D GPS and 3D strip figures (discretisation of the two meshes)."""

T0, T1 = 125.0, -40.0
XS = np.linspace(0.0, 4.0, 33)
ZS = np.linspace(0.0, 1.0, 21)
WALLS = ((1.0, 1.5), (2.5, 3.0))
WIDTH = 0.25


def _wall(x: np.ndarray, horizontal: int, vertical: int) -> np.ndarray:
    inside = np.zeros(x.shape[1], bool)
    for a, b in WALLS:
        inside |= (x[horizontal] > a) & (x[horizontal] < b)
    return inside & (x[vertical] > 0.4) & (x[vertical] < 0.6)


def _regions(horizontal: int, vertical: int) -> dict:
    return {
        "plates": lambda x: (x[vertical] < 0.4) | (x[vertical] > 0.6),
        "wall": lambda x: _wall(x, horizontal, vertical),
        "fill": lambda x: (x[vertical] > 0.4) & (x[vertical] < 0.6)
        & ~_wall(x, horizontal, vertical),
    }


MATERIALS = {"plates": material(130e3, 0.28, 2.6e-6, "si"),
             "wall": material(43e3, 0.40, 22e-6, "solder"),
             "fill": material(8e3, 0.30, 30e-6, "fill")}


def _averages(sol, wall_index: int, components: list[int]) -> np.ndarray:
    mask = sol.region_id == wall_index
    dV = sol.kin.dV[mask]
    return np.einsum("eqc,eq->c", sol.stress[mask][..., components], dV) / dV.sum()


def test_3d_strip_of_walls_is_the_gps_section():
    m2 = skfem.MeshTri.init_tensor(XS, ZS).with_subdomains(_regions(0, 1)).with_boundaries(
        {"axis": lambda x: np.isclose(x[0], 0.0)})
    gps = ThermoelasticModel(m2, MATERIALS, kind="generalized_plane_strain",
                             stress_free=T0).solve(T1)
    m3 = skfem.MeshTet.init_tensor(XS, np.array([0.0, WIDTH]), ZS).with_subdomains(
        _regions(0, 2)).with_boundaries({
            "x0": lambda x: np.isclose(x[0], 0.0), "y0": lambda x: np.isclose(x[1], 0.0),
            "y1": lambda x: np.isclose(x[1], WIDTH)})
    strip = ThermoelasticModel(m3, MATERIALS, kind="3d", stress_free=T0,
                               supports={"x0": "x", "y0": "y"},
                               plane_faces={"y1": "y"}).solve(T1)
    wall = list(MATERIALS).index("wall")
    # 2D [xx, yy (vertical), zz (out of plane), xy]  <->  3D [xx, zz, yy, xz]
    s2 = _averages(gps, wall, [0, 1, 2, 3])
    s3 = _averages(strip, wall, [0, 2, 1, 4])
    scale = np.abs(s2).max()
    assert np.abs(s3 - s2).max() < GPS_TOL * scale, (s2, s3)
    a, b = strip.plane_motion["y1"]
    assert a / WIDTH == pytest.approx(gps.eps_zz, rel=GPS_TOL)
    assert abs(b) * 1.0 < 1e-6 * abs(a)  # the symmetric section does not bend out of plane
