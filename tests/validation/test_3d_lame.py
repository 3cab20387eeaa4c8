"""Lamé thick sphere under internal pressure, 3D model on one octant (three symmetry faces).

Sphere a ≤ r ≤ b, internal pressure p: σ_rr = −p (b³/r³ − 1)/(b³/a³ − 1),
σ_θθ = σ_φφ = p (b³/(2r³) + 1)/(b³/a³ − 1), u_r = p a³ r/(E(b³ − a³)) [(1−2ν) + (1+ν) b³/(2r³)]
(Timoshenko & Goodier, *Theory of Elasticity*, 3rd ed., 1970, §137). Checks the curved
10-node tetrahedra (gmsh → MeshTet2), the 3D pressure load on curved facets and the symmetry
supports together. Stresses are compared as volume means over radial shells of the radial
and the (mean) hoop stress, the displacement pointwise at the inner surface nodes.
"""

import gmsh
import numpy as np

from wlcsp.fem.thermoelastic import ThermoelasticModel

from .helpers import material
from .test_3d_meshes import box_by_planes, gmsh_tet2

LAME_TOL = 0.005
"""Relative tolerance (0.5 %), on the displacement and on the stresses scaled by max σ_θθ."""

A_IN, B_OUT, P, E, NU = 1.0, 2.0, 10.0, 200e3, 0.3
N_SHELLS = 5
"""Radial shells over which the stresses are averaged: at element size 0.15 (7 across the wall)
the P2 stresses at single quadrature points are up to 7 % off the steep 1/r³ gradient (linear
stress per element), while their shell means and the displacement converge faster (measured:
shell means 0.08 %, u_r 0.24 %)."""


def _mesh():
    def build():
        occ = gmsh.model.occ
        shell = occ.cut([(3, occ.addSphere(0, 0, 0, B_OUT))], [(3, occ.addSphere(0, 0, 0, A_IN))])
        occ.intersect(shell[0], [(3, occ.addBox(0, 0, 0, B_OUT, B_OUT, B_OUT))])

    def surfaces(bb):
        named = box_by_planes(bb, {(0, 0.0): "sym_x", (1, 0.0): "sym_y", (2, 0.0): "sym_z"})
        if named is None and max(bb[3:]) < A_IN + 1e-6:
            return "inner"
        return named

    return gmsh_tet2(build, 0.15, lambda bb: "steel", surfaces)


def test_lame_sphere():
    model = ThermoelasticModel(_mesh(), {"steel": material(E, NU, 1e-5)}, kind="3d",
                               stress_free=25.0,
                               supports={"sym_x": "x", "sym_y": "y", "sym_z": "z"})
    assert model.holds.size == 0
    sol = model.solve(25.0, pressure={"inner": P})
    X = sol.kin.x
    r = np.linalg.norm(X, axis=0)
    c = B_OUT**3 / A_IN**3 - 1
    n = np.moveaxis(X / r, 0, -1)
    S = np.empty((*r.shape, 3, 3))
    for k, (i, j) in enumerate(((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))):
        S[..., i, j] = S[..., j, i] = sol.stress[..., k]
    s_rr = np.einsum("...i,...ij,...j", n, S, n)
    s_tt = (np.trace(S, axis1=-2, axis2=-1) - s_rr) / 2  # mean of the two hoop stresses
    exact_rr = -P * (B_OUT**3 / r**3 - 1) / c
    exact_tt = P * (B_OUT**3 / (2 * r**3) + 1) / c
    scale = P * (B_OUT**3 / (2 * A_IN**3) + 1) / c
    shell = np.digitize(r, np.linspace(A_IN, B_OUT, N_SHELLS + 1)[1:-1])
    dV = sol.dV
    for k in range(N_SHELLS):
        m = shell == k
        for fe, exact in ((s_rr, exact_rr), (s_tt, exact_tt)):
            err = np.sum((fe - exact)[m] * dV[m]) / np.sum(dV[m])
            assert abs(err) < LAME_TOL * scale
    kin = sol.kin
    dofs = kin.boundary_dofs(sol.mesh.boundaries["inner"])
    node = dofs[dofs % 3 == 0] // 3
    xyz = kin.scalar.doflocs[:, node]
    u = sol.u.reshape(-1, 3)[node].T
    u_r = np.sum(u * xyz, axis=0) / np.linalg.norm(xyz, axis=0)
    u_exact = P * A_IN**3 * A_IN / (E * (B_OUT**3 - A_IN**3)) * (
        (1 - 2 * NU) + (1 + NU) * B_OUT**3 / (2 * A_IN**3))
    assert np.max(np.abs(u_r - u_exact)) < LAME_TOL * u_exact
