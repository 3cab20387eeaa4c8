"""Meshes, materials and a classical laminate solver shared by the validation tests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import skfem

from wlcsp.materials import Material, Table


def material(E: float, nu: float, alpha: float | Table, name: str = "m") -> Material:
    """A constant-property material (E MPa, α 1/K or a CTE table)."""
    cte = alpha if isinstance(alpha, Table) else Table((20.0,), (alpha,))
    return Material(name, Table((20.0,), (E,)), Table((20.0,), (nu,)), cte, source="test")


def layered_mesh(
    xs: np.ndarray, layers: Sequence[tuple[str, np.ndarray]]
) -> skfem.MeshTri1:
    """Structured triangles over x ``xs`` and stacked layers, each (name, its y grid).

    Boundaries: ``axis`` (x = xs[0]), ``right``, ``bottom``, ``top``, and ``<a>_<b>`` between
    consecutive layers a and b.
    """
    ys = np.unique(np.concatenate([y for _, y in layers]))
    mesh = skfem.MeshTri.init_tensor(np.asarray(xs, float), ys)
    tops = [y[-1] for _, y in layers]
    bottoms = [y[0] for _, y in layers]
    sub = {}
    for (name, y), lo, hi in zip(layers, bottoms, tops, strict=True):
        sub[name] = lambda x, lo=lo, hi=hi, y=y: (x[1] > lo) & (x[1] < hi)
    x0, x1, y0, y1 = xs[0], xs[-1], ys[0], ys[-1]
    bnd = {
        "axis": lambda x: np.isclose(x[0], x0),
        "right": lambda x: np.isclose(x[0], x1),
        "bottom": lambda x: np.isclose(x[1], y0),
        "top": lambda x: np.isclose(x[1], y1),
    }
    for (a, ya), (b, _) in itertools.pairwise(layers):
        bnd[f"{a}_{b}"] = lambda x, yi=ya[-1]: np.isclose(x[1], yi)
    return mesh.with_subdomains(sub).with_boundaries(bnd, boundaries_only=False)


def laminate(
    moduli: Sequence[float], alphas: Sequence[float], interfaces: Sequence[float], dT: float
) -> tuple[float, float]:
    """Classical laminate (beam/plate) theory of a free multilayer under a uniform ΔT.

    Strain ε(y) = ε₀ + κ y in every layer, stress σ_i = E'_i (ε₀ + κ y − α'_i ΔT); zero net
    force ∫σ dy = 0 and moment ∫σ y dy = 0 give ε₀ and κ (Timoshenko, J. Opt. Soc. Am.
    11:233, 1925; Freund & Suresh, Thin Film Materials, 2003, §2.3). E' = E/(1−ν²),
    α' = (1+ν)α for a plane-strain strip; E' = E/(1−ν), α' = α for an equibiaxial plate.
    ``interfaces`` are the n+1 layer bounds (mm). Positive κ: ε grows with y.
    """
    A = np.zeros((2, 2))
    b = np.zeros(2)
    for E, a, y0, y1 in zip(moduli, alphas, interfaces[:-1], interfaces[1:], strict=True):
        m0, m1, m2 = y1 - y0, (y1**2 - y0**2) / 2, (y1**3 - y0**3) / 3
        A += E * np.array([[m0, m1], [m1, m2]])
        b += E * a * dT * np.array([m0, m1])
    eps0, kappa = np.linalg.solve(A, b)
    return float(eps0), float(kappa)


def timoshenko_curvature(E1: float, E2: float, h1: float, h2: float, dalpha_dT: float) -> float:
    """1/ρ = 6 Δα ΔT (1+m)² / (h [3(1+m)² + (1+mn)(m² + 1/(mn))]), m = h1/h2, n = E1/E2.

    Timoshenko, "Analysis of bi-metal thermostats", J. Opt. Soc. Am. 11:233 (1925), eq. (4).
    """
    m, n, h = h1 / h2, E1 / E2, h1 + h2
    denominator = h * (3 * (1 + m) ** 2 + (1 + m * n) * (m**2 + 1 / (m * n)))
    return 6 * dalpha_dT * (1 + m) ** 2 / denominator
