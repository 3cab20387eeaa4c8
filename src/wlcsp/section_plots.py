"""Report figures of a 3D solution: the critical joint, its interface layers, the warpage map.

The critical joint is drawn on a vertical cut plane and over its interface layers; the warpage
map is the substrate bottom.

Fields are drawn from quadrature-point values (``sol.stress`` at ``kin.x``) triangulated in
the plane of the view (matplotlib ``tricontourf`` over a Delaunay triangulation of the points),
so no nodal smoothing hides the interface discontinuities. Colour scales are capped at the
99.5th percentile: stresses at bimaterial corners are singular (see :mod:`wlcsp.post`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.tri import Triangulation

from . import post

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .post import Solution

BAND = 0.5
"""Half-thickness of the slab of quadrature points drawn on a cut plane, in units of the
joint's mean element size (mm/mm)."""
CAP = 99.5
"""Percentile at which the colour scales are capped (singular corner peaks)."""


def _save(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
    return fig


def _mean_size(sol: Solution, mask: np.ndarray) -> float:
    """Mean element size (mm) of the elements ``mask``: the cube root of their mean volume."""
    return float(np.cbrt(sol.kin.dV[mask].sum(axis=1).mean() * 6.0))


def joint_cut(sol: Solution, bump: int, direction: tuple[float, float], center: tuple[float, float],
              margin: float = 1.6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadrature points near the vertical plane through a joint along ``direction``.

    Returns (s, z, von Mises) of the points within :data:`BAND` element sizes of the plane and
    within ``margin`` joint half-widths of the joint axis; s is the in-plane coordinate along
    ``direction`` from the joint centre (mm), z the height (mm).
    """
    kin = sol.kin
    mask = post.region_mask(sol, f"bump_{bump}")
    x = kin.x
    d = np.asarray(direction, dtype=float)
    n = np.array([-d[1], d[0]])
    rel = (x[0] - center[0], x[1] - center[1])
    s = rel[0] * d[0] + rel[1] * d[1]
    off = rel[0] * n[0] + rel[1] * n[1]
    zb = x[2][mask]
    width = float(np.abs(s[mask]).max())
    near = ((np.abs(off) <= BAND * _mean_size(sol, mask)) & (np.abs(s) <= margin * width)
            & (x[2] >= zb.min() - width) & (x[2] <= zb.max() + width))
    return s[near], x[2][near], post.von_mises(sol.stress)[near]


def plot_joint(sol: Solution, bump: int, direction: tuple[float, float],
               center: tuple[float, float], dnp: float, path: str | Path | None = None
               ) -> Figure:
    """Von Mises stress on the cut through joint ``bump`` and on its interface layers.

    The cut is the vertical plane along the bump's DNP direction; the layers are the solder's
    Darveaux layers at the land (top) and at the pad (bottom).
    """
    s, z, vm = joint_cut(sol, bump, direction, center)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), gridspec_kw={"width_ratios": [1.3, 1, 1]})
    vmax = float(np.percentile(vm, CAP)) if vm.size else 1.0
    ax = axes[0]
    if vm.size >= 3:
        art = ax.tricontourf(Triangulation(s, z), vm, levels=np.linspace(0, vmax, 21),
                             cmap="viridis", extend="max")
        fig.colorbar(art, ax=ax, label="von Mises (MPa)")
    ax.set_aspect("equal")
    ax.set_xlabel("along the DNP direction from the joint axis (mm)")
    ax.set_ylabel("z (mm)")
    ax.set_title(f"bump {bump} (DNP {dnp:.3g} mm): cut plane", fontsize=9)
    for a, side in zip(axes[1:], ("top", "bottom"), strict=True):
        name = f"bump_{bump}_{side}"
        layer = post.interface_layer_mask(sol, name, f"bump_{bump}")
        xy = sol.kin.x[:2][:, layer]
        v = post.von_mises(sol.stress)[layer]
        if v.size >= 3:
            art = a.tricontourf(Triangulation(xy[0] - center[0], xy[1] - center[1]), v,
                                levels=20, cmap="viridis")
            fig.colorbar(art, ax=a, label="von Mises (MPa)")
        a.set_aspect("equal")
        a.set_xlabel("x − x_bump (mm)")
        a.set_ylabel("y − y_bump (mm)")
        a.set_title(f"{name}: {post.DARVEAUX_LAYER * 1e3:.1f} µm interface layer, "
                    f"mean {post.volume_average(sol.kin, post.von_mises(sol.stress), layer):.1f}"
                    " MPa", fontsize=9)
    fig.suptitle(f"critical joint at {sol.T:g} °C; colour of the cut capped at the "
                 f"{CAP:g}th percentile (corner peaks are singular)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_warpage_map(sol: Solution, path: str | Path | None = None) -> Figure:
    """Vertical displacement of the substrate bottom over the cell (µm), with the die edge."""
    plane, w = post.warpage_map(sol)
    fig, ax = plt.subplots(figsize=(7, 5))
    art = ax.tricontourf(Triangulation(plane[:, 0], plane[:, 1]), 1e3 * (w - w[np.argmin(
        np.linalg.norm(plane, axis=1))]), levels=21, cmap="coolwarm")
    fig.colorbar(art, ax=ax, label="u_z − u_z(innermost node) (µm)")
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.set_title(f"warpage of the substrate bottom at {sol.T:g} °C: "
                 f"{1e3 * post.warpage(sol):.2f} µm (corner − centre)", fontsize=10)
    return _save(fig, path)
