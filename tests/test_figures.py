"""Figures: one colour per material across figures and variants, legends, units on sweep axes.

Issue 12, item 4. Assertions read the matplotlib artists of the figures themselves.
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from wlcsp.design import load_design
from wlcsp.mesh import build_mesh
from wlcsp.palette import LIBRARY_COLORS, material_color
from wlcsp.plots import plot_mesh
from wlcsp.study import load_study
from wlcsp.study.figures import axis_label

from conftest import STUDIES, raw_design, with_positions


def _coarse(name: str) -> dict:
    raw = with_positions(raw_design(name), [4.2])
    raw["mesh"].update(size=0.4, bump_size=0.04)
    return raw


def _face_colours(fig) -> dict[str, tuple]:
    """Legend label -> patch colour of the figure's material legend."""
    legend = fig.axes[0].get_legend()
    return {t.get_text(): tuple(p.get_facecolor()[:3])
            for t, p in zip(legend.get_texts(), legend.get_patches(), strict=True)}


def test_library_colours_are_distinct_and_cover_the_library():
    from wlcsp.materials import LIBRARY

    assert set(LIBRARY) <= set(LIBRARY_COLORS)
    rgb = {to_rgb(c) for c in LIBRARY_COLORS.values()}
    assert len(rgb) == len(LIBRARY_COLORS)


def test_one_colour_per_material_in_every_variant():
    """Bare and elastomer variants: each shared material keeps its colour.

    Every element of a material is painted in the palette's colour and the legend names exactly
    the materials of the mesh.
    """
    legends = {}
    for name in ("seed000_bare", "seed000_elastomer"):
        pm = build_mesh(load_design(_coarse(name)))
        fig = plot_mesh(pm)
        legend = _face_colours(fig)
        assert set(legend) == {m.name for m in pm.materials.values()}
        faces = fig.axes[0].collections[0].get_facecolors()[:, :3]
        for region, mat in pm.materials.items():
            elements = pm.mesh.subdomains[region]
            assert np.allclose(faces[elements], material_color(mat.name), atol=1e-12), region
        legends[name] = legend
    shared = set(legends["seed000_bare"]) & set(legends["seed000_elastomer"])
    assert {"silicon", "copper", "sac105", "bt"} <= shared
    for m in shared:
        assert legends["seed000_bare"][m] == pytest.approx(legends["seed000_elastomer"][m])
    assert "elastomer" in legends["seed000_elastomer"]


def test_custom_material_colour_depends_on_its_name_only():
    a, b = material_color("my_resin"), material_color("my_resin_2")
    assert material_color("my_resin") == a
    assert a != b
    assert all(0.0 <= c <= 1.0 for c in a)


@pytest.mark.parametrize("path", sorted(STUDIES.glob("*_sweep.toml")), ids=lambda p: p.stem)
def test_every_bundled_sweep_axis_has_a_unit(path):
    study = load_study(path)
    for axis in study.axes:
        label = axis_label(axis.column, axis.key)
        assert label.endswith(")"), (axis.key, label)
    for key, unit in (("materials.buffer.E", "MPa"), ("layers.elastomer.thickness", "mm"),
                      ("bumps.pitch", "mm"), ("materials.x.cte_ppm", "ppm/K"),
                      ("bumps[critical_bump].delta_shear_strain", "-"), ("warpage", "mm")):
        assert axis_label(key) == f"{key} ({unit})"
