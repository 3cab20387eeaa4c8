"""Matplotlib figures (Agg backend): meshes, stress maps, hysteresis loops, sweep curves."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PolyCollection

from .palette import material_color

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .mesh import PackageMesh


def _finish(fig: Figure, path: str | Path | None, *, close: bool) -> Figure:
    """Save ``fig`` to ``path`` (PNG, 110 dpi) when given; ``close`` frees it (batch runs)."""
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    if close:
        plt.close(fig)
    return fig


def _material_colors(pm: PackageMesh) -> tuple[np.ndarray, dict[str, tuple]]:
    """Per-element RGB colours and the legend (material -> colour) of :mod:`wlcsp.palette`."""
    names = sorted({m.name for m in pm.materials.values()})
    color = {n: material_color(n) for n in names}
    faces = np.zeros((pm.mesh.nelements, 3))
    for region, mat in pm.materials.items():
        faces[pm.mesh.subdomains[region]] = color[mat.name]
    return faces, color


def material_legend(ax, color: dict[str, tuple], **kwargs) -> None:
    """A legend of the materials (one patch per material, :mod:`wlcsp.palette` colours)."""
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in color.values()]
    ax.legend(handles, list(color), **({"fontsize": 8, "frameon": False} | kwargs))


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
    material_legend(ax, color, loc="upper left", bbox_to_anchor=(0.0, 2.0), ncol=3)
    return _finish(fig, path, close=False)


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
    return _finish(fig, path, close=False)


def _zoom_box(pm: PackageMesh, bump: int) -> tuple[float, float, float, float]:
    shape = pm.regions.region(f"bump_{bump}").shape
    w = 1.3 * shape.joint.half_width
    y0 = shape.y0 - 0.04
    return shape.xc - w, shape.xc + w, y0, y0 + 1.6 * w


def plot_von_mises(sol, pm: PackageMesh, critical: int, path: str | Path | None = None
                   ) -> Figure:
    """Element-mean von Mises stress over the section, with a zoom on the critical bump."""
    from .post import element_means, von_mises

    vm = element_means(sol, von_mises(sol.stress))
    p, t = pm.mesh.p, pm.mesh.t[:3]
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(13, 4), gridspec_kw={"width_ratios": [3, 1]})
    vmax = float(np.percentile(vm, 99.5))
    for a in (ax, zoom):
        art = a.tripcolor(p[0], p[1], t.T, facecolors=vm, cmap="viridis", vmin=0, vmax=vmax)
        a.set_aspect("equal")
    x0, x1, y0, y1 = _zoom_box(pm, critical)
    zoom.set_xlim(x0, x1)
    zoom.set_ylim(y0, y1)
    zoom.set_title(f"critical bump {critical}, DNP {pm.dnp[critical]:.3g} mm", fontsize=9)
    ax.set_title(f"von Mises stress (MPa) at {sol.T:g} °C ({sol.kind})\ncolour capped at the "
                 "99.5th percentile: corner peaks are singular", fontsize=9, loc="left")
    for a in (ax, zoom):
        a.set_xlabel("x (mm)" if pm.model != "axisymmetric" else "r (mm)")
    ax.set_ylabel("y (mm)")
    fig.colorbar(art, ax=[ax, zoom], shrink=0.8, label="von Mises (MPa)")
    return _finish(fig, path, close=True)


def plot_deformed(sol, pm: PackageMesh, path: str | Path | None = None) -> Figure:
    """Deformed section, displacements exaggerated so the largest one reads as 5 % of the width."""
    nv = pm.mesh.nvertices
    u = sol.u[sol.kin.basis.nodal_dofs[:, :nv]]
    scale = 0.05 * pm.regions.width / max(float(np.abs(u).max()), 1e-30)
    p = pm.mesh.p[:, :nv] + scale * u
    faces, color = _material_colors(pm)
    tris = np.transpose(p[:, pm.mesh.t[:3]], (2, 1, 0))
    fig, ax = plt.subplots(figsize=(11, 3.5))
    ax.add_collection(PolyCollection(tris, facecolors=faces, edgecolors="none"))
    ax.autoscale()
    ax.set_aspect("equal")
    ax.set_title(f"deformed shape at {sol.T:g} °C, displacements x {scale:.0f}", loc="left")
    ax.set_xlabel("x (mm)" if pm.model != "axisymmetric" else "r (mm)")
    ax.set_ylabel("y (mm)")
    material_legend(ax, color, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _finish(fig, path, close=True)


def plot_bumps(result: dict, path: str | Path | None = None) -> Figure:
    """Per-bump bar chart: mean von Mises and mean shear stress, and the shear-strain range."""
    bumps = result["bumps"]
    dnp = [b["dnp"] for b in bumps]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.5))
    k = np.arange(len(bumps))
    a1.bar(k - 0.2, [b["mean_von_mises"] for b in bumps], 0.4, label="mean von Mises")
    a1.bar(k + 0.2, [b["mean_shear"] for b in bumps], 0.4, label="mean shear (signed)")
    a1.set_ylabel("MPa")
    a1.legend(fontsize=8)
    if "delta_shear_strain" in bumps[0]:
        a2.bar(k, [100 * b["delta_shear_strain"] for b in bumps], color="C3")
        a2.set_ylabel("shear-strain range Δγ (%)")
    for a in (a1, a2):
        a.set_xticks(k, [f"{i}\n{d:.2f}" for i, d in zip(k, dnp, strict=True)], fontsize=8)
        a.set_xlabel("bump / DNP (mm)")
    fig.suptitle(f"{result['design']} ({result['model']})", fontsize=10)
    return _finish(fig, path, close=True)


def plot_compare(result: dict, path: str | Path | None = None) -> Figure:
    """``wlcsp compare`` bars: the critical bump's strain range, and the primary life or ratio.

    ``result`` is :func:`wlcsp.compare.compare`'s dict. Right panel: with a viscoplastic analysis
    the primary life (log axis) with its band as error bars, its model and constants in the
    legend; with the elastic screening (no life, :mod:`wlcsp.life_report`) the shear-strain range
    relative to ``bare``. The design as given is marked with * in the variant names; a variant
    the model cannot judge (its ``caveat``, e.g. underfill in a 2D section) with †, hatched bars
    and the reason under the panels.
    """
    rows = result["table"]
    names = [r["variant"] + ("*" if r["given"] else "") + ("†" if r.get("caveat") else "")
             for r in rows]
    hatch = ["//" if r.get("caveat") else "" for r in rows]
    k = np.arange(len(rows))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    strain = "delta_inelastic_strain" if "delta_inelastic_strain" in rows[0] \
        else "delta_shear_strain"
    a1.bar(k, [100 * r.get(strain, np.nan) for r in rows], color="C3", hatch=hatch)
    a1.set_ylabel(f"{strain.replace('_', ' ')}\nof the critical bump (%)")
    if any(r["primary_model"] for r in rows):
        life = np.array([r["primary_life_cycles"] for r in rows], dtype=float)
        band = np.array([[life[i] - r["primary_life_low_cycles"],
                          r["primary_life_high_cycles"] - life[i]] for i, r in enumerate(rows)])
        label = ", ".join(sorted({f"{r['primary_model']} ({r['primary_constants']})"
                                  for r in rows if r["primary_model"]}))
        a2.bar(k, life, 0.6, yerr=band.T, capsize=4, label=f"primary: {label}", hatch=hatch)
        a2.set_yscale("log")
        a2.set_ylabel("primary life (cycles)\nband: stated accuracy")
        a2.legend(fontsize=8)
    else:
        a2.bar(k, [r["delta_shear_strain_ratio_to_bare"] for r in rows], color="C0",
               hatch=hatch)
        a2.axhline(1.0, color="k", lw=0.8)
        a2.set_ylabel("Δγ / Δγ(bare)")
        a2.set_title("elastic screening: strain-range ratio, no life", fontsize=9)
    for a in (a1, a2):
        a.set_xticks(k, names, fontsize=8)
    fig.suptitle(f"{result['design']}: {rows[0]['analysis']} (* as given)", fontsize=10)
    fig.subplots_adjust(wspace=0.3)
    why = next((r["caveat"] for r in rows if r.get("caveat")), "")
    if why:
        fig.text(0.01, 0.005, textwrap.fill(f"† not judged by this model: {why}", 150),
                 fontsize=7, va="bottom")
        fig.subplots_adjust(bottom=0.22)
    return _finish(fig, path, close=True)


def plot_importance(result: dict, path: str | Path | None = None) -> Figure:
    """Input importance of a Monte Carlo (:func:`wlcsp.scatter.monte_carlo`), one panel per model.

    Bars: the sensitivity ∂ln N/∂z (relative life change per σ of the input) where the run has
    it, else Spearman's rank correlation of the input with the life; largest on top.
    """
    models = list(result["importance"])
    fig, axes = plt.subplots(1, len(models), figsize=(4.6 * len(models), 0.3 * len(
        result["inputs"]) + 1.5), squeeze=False, layout="constrained")
    for ax, m in zip(axes[0], models, strict=True):
        imp = result["importance"][m]
        key = "sensitivity" if all(v["sensitivity"] is not None for v in imp.values()) \
            else "rank_correlation"
        names = sorted(imp, key=lambda k: abs(imp[k][key]))
        ax.barh(np.arange(len(names)), [imp[k][key] for k in names],
                color=["C3" if imp[k][key] < 0 else "C0" for k in names])
        ax.set_yticks(np.arange(len(names)), names, fontsize=7)
        ax.axvline(0.0, color="k", lw=0.5)
        ax.set_xlabel("∂ln N/∂z (per σ)" if key == "sensitivity" else "rank correlation ρ")
        ax.set_title(m, fontsize=9)
    fig.suptitle(f"{result['design']}: input importance, {result['samples']} samples",
                 fontsize=10)
    return _finish(fig, path, close=True)


def plot_hysteresis(result: dict, path: str | Path | None = None) -> Figure:
    """Shear stress-strain hysteresis loops of the critical bump, one colour per cycle.

    Volume averages over the bump of σ_xy (σ_rz) and γ_xy (γ_rz) at every step end of a
    viscoplastic cycle analysis (``result["hysteresis"]`` of :func:`wlcsp.cycling.analyze_cycles`);
    the ramp from the stress-free state to the first cycle in grey.
    """
    h = result["hysteresis"]
    t = np.asarray(h["time"])
    gamma = 100.0 * np.asarray(h["shear_strain"])
    tau = np.asarray(h["shear_stress"])
    bounds = h["cycle_bounds"]
    rz = result["model"] == "axisymmetric"
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    lead = t <= bounds[0]
    if lead.sum() > 1:
        ax.plot(gamma[lead], tau[lead], color="0.6", lw=1, label="from stress-free")
    for c in range(len(bounds) - 1):
        sel = (t >= bounds[c]) & (t <= bounds[c + 1])
        ax.plot(gamma[sel], tau[sel], marker=".", ms=3, lw=1, label=f"cycle {c + 1}")
    bump = result["bumps"][h["bump"]]
    ax.set_xlabel(f"mean shear strain {'γ_rz' if rz else 'γ_xy'} (%)")
    ax.set_ylabel(f"mean shear stress {'σ_rz' if rz else 'σ_xy'} (MPa)")
    ax.set_title(f"bump {h['bump']} (DNP {bump['dnp']:.3g} mm): ΔW = "
                 f"{bump['delta_energy_density']:.3g} MPa per cycle ({bump['energy_interface']} "
                 f"layer)\n{result['design']}", fontsize=9)
    ax.axhline(0.0, color="0.8", lw=0.5)
    ax.axvline(0.0, color="0.8", lw=0.5)
    ax.legend(fontsize=8)
    return _finish(fig, path, close=True)
