"""Homogeneous bodies under a uniform temperature change: free and constrained.

Closed forms (Timoshenko & Goodier, *Theory of Elasticity*, 3rd ed., 1970, §150-152; Boley &
Weiner, *Theory of Thermal Stresses*, 1960, §9.2; literature.md §5.1), with ε_th = ∫α dT the
free thermal strain and ΔT-free E, ν:

* free body, any model: σ = 0 and u = ε_th x, except plane strain where ε_zz = 0 gives
  u_x = (1+ν) ε_th x and σ_zz = −E ε_th;
* plane strain, u_x held at x = 0 and x = L, y free: σ_xx = σ_zz = −E ε_th/(1−ν), σ_yy = 0;
* generalized plane strain with the same supports: σ_xx = −E ε_th, σ_zz = 0 (uniaxial);
* plane strain (or axisymmetric) with every boundary held: σ_xx = σ_yy = σ_zz = −E ε_th/(1−2ν);
* axisymmetric disc, u_r held at r = R, z free: σ_rr = σ_θθ = −E ε_th/(1−ν) (equibiaxial).

All these fields are linear, so P2 (and P1) reproduce them to round-off: the tolerance is a
round-off bound. The CTE table exercises the project's convention ε_th = ∫_{T0}^{T} α dθ.
"""

import itertools

import numpy as np
import pytest

from wlcsp.fem.kinematics import KINDS
from wlcsp.fem.thermoelastic import ThermoelasticModel
from wlcsp.materials import Table

from .helpers import layered_mesh, material

ROUNDOFF = 1e-9
"""Relative tolerance for fields the elements represent exactly (round-off only)."""

E, NU = 130e3, 0.3
CTE = Table((-50.0, 50.0, 150.0), (10e-6, 14e-6, 22e-6))
"""A temperature-dependent instantaneous CTE, 1/K."""
T0, T1 = 125.0, -40.0


def _eps_th() -> float:
    # exact integral of the piecewise-linear table from T0 down to T1 (trapezoids per segment)
    knots = [(-40.0, 10.4e-6), (50.0, 14e-6), (125.0, 20e-6)]
    return -sum(0.5 * (a[1] + b[1]) * (b[0] - a[0]) for a, b in itertools.pairwise(knots))


def _mesh():
    return layered_mesh(np.linspace(0.0, 2.0, 9), [("a", np.linspace(0.0, 0.5, 3)),
                                                    ("b", np.linspace(0.5, 1.0, 3))])


def _model(kind, supports=None, order=2):
    mats = {"a": material(E, NU, CTE), "b": material(E, NU, CTE)}
    return ThermoelasticModel(_mesh(), mats, kind=kind, order=order, stress_free=T0,
                              supports=supports)


def test_table_integral_is_the_thermal_strain():
    assert material(E, NU, CTE).thermal_strain(T1, T0) == pytest.approx(_eps_th(), rel=1e-12)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_free_expansion(kind, order):
    model = _model(kind, order=order)
    sol = model.solve(T1)
    eth = _eps_th()
    scale = E * abs(eth)
    stress = sol.stress.copy()
    grow = eth
    if kind == "plane_strain":
        assert np.allclose(stress[..., 2], -E * eth, rtol=ROUNDOFF)
        stress[..., 2] = 0.0
        grow = (1 + NU) * eth
    assert np.max(np.abs(stress)) < ROUNDOFF * scale
    x = model.kin.basis.doflocs
    assert np.allclose(sol.u[0::2], grow * x[0, 0::2], atol=ROUNDOFF * abs(grow) * 2.0)
    if kind == "generalized_plane_strain":
        assert sol.eps_zz == pytest.approx(eth, rel=ROUNDOFF)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("plane_strain", [-1 / (1 - NU), 0.0, -1 / (1 - NU), 0.0]),
        ("generalized_plane_strain", [-1.0, 0.0, 0.0, 0.0]),
        ("plane_stress", [-1.0, 0.0, 0.0, 0.0]),
        ("axisymmetric", [-1 / (1 - NU), 0.0, -1 / (1 - NU), 0.0]),
    ],
)
def test_laterally_constrained(kind, expected):
    sol = _model(kind, {"axis": "x", "right": "x"}).solve(T1)
    target = E * _eps_th() * np.array(expected)
    assert np.allclose(sol.stress, target, atol=ROUNDOFF * E * abs(_eps_th()))


@pytest.mark.parametrize("kind", ["plane_strain", "axisymmetric"])
def test_fully_constrained(kind):
    held = {b: "xy" for b in ("axis", "right", "bottom", "top")}
    sol = _model(kind, held).solve(T1)
    hydro = -E * _eps_th() / (1 - 2 * NU)
    assert np.allclose(sol.stress, [hydro, hydro, hydro, 0.0], atol=ROUNDOFF * abs(hydro))
