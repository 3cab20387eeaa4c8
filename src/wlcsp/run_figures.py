"""The state figures of one run, the same for the elastic screening and the cycle analysis.

A section (2D) gets the von Mises map zoomed on the critical bump and the deformed section; a
solid (3D) a cut through the critical joint along its DNP direction and the warpage map of the
cell (:mod:`wlcsp.section_plots`); both the per-bump bars (:func:`wlcsp.plots.plot_bumps`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .package_mesh import PackageMesh

STATE_FIGURES = {
    "von_mises.png": "von Mises stress at the reported temperature (colour capped at the 99.5th "
                     "percentile), zoom on the critical bump",
    "deformed.png": "deformed section (displacements exaggerated), coloured by material",
    "critical_joint.png": "3D: von Mises stress on a cut through the critical joint along its "
                          "DNP direction",
    "warpage.png": "3D: out-of-plane displacement of the cell's substrate bottom",
    "bumps.png": "per-bump mean stresses and shear-strain range",
}
"""Figures :func:`state_figures` may write, with their captions."""


def state_figures(result: Mapping[str, Any], pm: PackageMesh, final: Any, out: Path) -> None:
    """Write the figures of the reported state ``final`` of a run into ``out``."""
    from .plots import plot_bumps

    crit = result["critical_bump"]
    if pm.dim == 3:
        from .section_plots import plot_joint, plot_warpage_map

        b = result["bumps"][crit]
        plot_joint(final, crit, b["shear_direction"], b["center"], b["dnp"],
                   out / "critical_joint.png")
        plot_warpage_map(final, out / "warpage.png")
    else:
        from .plots import plot_deformed, plot_von_mises

        plot_von_mises(final, pm, crit, out / "von_mises.png")
        plot_deformed(final, pm, out / "deformed.png")
    plot_bumps(result, out / "bumps.png")
