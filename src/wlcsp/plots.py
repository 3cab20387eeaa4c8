"""Matplotlib figures (Agg backend): meshes, stress maps, hysteresis loops, sweep curves."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PolyCollection

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .mesh import PackageMesh


def _material_colors(pm: PackageMesh) -> tuple[np.ndarray, dict[str, tuple]]:
    """Per-element RGBA colours, one colour per material (not per region)."""
    names = sorted({m.name for m in pm.materials.values()})
    cmap = plt.get_cmap("tab20", max(len(names), 1))
    color = {n: cmap(k) for k, n in enumerate(names)}
    faces = np.zeros((pm.mesh.nelements, 4))
    for region, mat in pm.materials.items():
        faces[pm.mesh.subdomains[region]] = color[mat.name]
    return faces, color


def plot_mesh(pm: PackageMesh, path: str | Path | None = None) -> Figure:
    """The mesh coloured by material, with a zoomed inset of the outermost bump."""
    p, t = pm.mesh.p, pm.mesh.t
    faces, color = _material_colors(pm)
    tris = np.transpose(p[:, t], (2, 1, 0))
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for a in (ax,):
        a.add_collection(PolyCollection(tris, facecolors=faces, edgecolors="k", linewidths=0.05))
    ax.set_xlim(0, pm.regions.width)
    ax.set_ylim(0, pm.regions.height)
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)" if pm.model != "axisymmetric" else "r (mm)")
    ax.set_ylabel("y (mm)")
    ax.set_title(f"{pm.model} mesh: {pm.mesh.nelements} elements, order {pm.order}", loc="left",
                 y=1.6)
    outer = pm.regions.region(f"bump_{len(pm.dnp) - 1}").shape
    w = 1.2 * outer.joint.half_width
    inset = ax.inset_axes([0.55, 1.08, 0.45, 0.9])
    inset.add_collection(PolyCollection(tris, facecolors=faces, edgecolors="k", linewidths=0.15))
    y0 = outer.y0 - 0.05
    inset.set_xlim(outer.xc - w, outer.xc + w)
    inset.set_ylim(y0, y0 + 2 * w * 0.9)
    inset.set_aspect("equal")
    inset.set_title(f"outermost bump, DNP {outer.xc:.3g} mm", fontsize=8)
    ax.indicate_inset_zoom(inset, edgecolor="0.3")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in color.values()]
    ax.legend(handles, list(color), loc="upper left", bbox_to_anchor=(0.0, 2.0), ncol=3,
              fontsize=8, frameon=False)
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig


def weibull_plot(cycles, failed=None, fit=None, path: str | Path | None = None,
                 title: str = "") -> Figure:
    """Weibull probability plot: failures at median ranks and the fitted Weibull line.

    Parameters
    ----------
    cycles : array_like
        Cycles to failure (or to suspension where ``failed`` is False).
    failed : array_like of bool, optional
        False for suspended (survived) units; default all failed.
    fit : wlcsp.life.WeibullFit, optional
        The line to draw; default the maximum-likelihood fit of the data.
    path : str or Path, optional
        Save the figure there (PNG, PDF, ... by suffix).

    The y axis is linear in ln(−ln(1 − F)) and labelled in % failed, the x axis logarithmic in
    cycles, so a two-parameter Weibull is a straight line of slope β through (η, 63.2 %).
    Positions: wlcsp.life.plotting_positions (median ranks with Johnson's adjustment).
    """
    from matplotlib.ticker import FuncFormatter

    from .life import fit_weibull, plotting_positions, weibull_life

    fit = fit or fit_weibull(cycles, failed)
    x, F = plotting_positions(cycles, failed)

    def to_y(f):
        return np.log(-np.log1p(-np.clip(f, 1e-9, 1 - 1e-9)))

    def from_y(y):
        return -np.expm1(-np.exp(y))

    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.set_xscale("log")
    ax.set_yscale("function", functions=(to_y, from_y))
    ax.plot(x, F, "o", label=f"failures ({len(x)} of {fit.n})")
    lo, hi = min(F.min(), 0.01), max(F.max(), 0.99)
    grid = np.geomspace(lo, hi, 60)
    line = weibull_life(fit.eta, fit.beta, 100 * grid)
    ax.plot(line, grid, "-", label=f"{fit.method}: η = {fit.eta:.4g}, β = {fit.beta:.3g}")
    ax.axhline(1 - np.exp(-1), color="0.6", lw=0.6, ls=":")
    pct = np.array([0.1, 1, 5, 10, 20, 30, 50, 63.2, 80, 90, 95, 99, 99.9])
    pct = pct[(pct >= 100 * lo * 0.999) & (pct <= 100 * hi * 1.001)]
    ax.set_yticks(pct / 100, [f"{p:g}" for p in pct])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(
        lambda v, _: f"{v:g}" if f"{v:e}"[0] in "25" else ""))
    ax.set_xlabel("cycles to failure")
    ax.set_ylabel("failed (%)")
    ax.set_title(title or "Weibull plot", loc="left")
    ax.grid(True, which="both", lw=0.3)
    ax.legend(loc="lower right", fontsize=8)
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig
