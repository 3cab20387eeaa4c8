"""One colour per material, the same in every figure and every variant (issue 12, item 4).

A library material has a fixed colour chosen to read as the material (silicon grey, copper
orange, solder blue-grey, boards green, polymers warm yellows and pinks); any other material gets
a colour derived from its name alone (a hash into the Tableau-20 cycle), so a custom
``[materials.X]`` keeps its colour between variants, runs and machines. Colours are RGB tuples in
0..1, matplotlib's convention.
"""

from __future__ import annotations

import hashlib

from matplotlib import colormaps
from matplotlib.colors import to_rgb

LIBRARY_COLORS: dict[str, str] = {
    "silicon": "#8c8c8c",
    "silicon_nitride": "#5e6e82",
    "polyimide": "#e0a526",
    "elastomer": "#e377c2",
    "copper": "#d2691e",
    "nickel": "#9467bd",
    "aluminum": "#c7c7c7",
    "gold": "#ffd700",
    "sac305": "#4f7fbf",
    "sac105": "#1f5a96",
    "snpb63": "#2b3f5c",
    "bt": "#2ca02c",
    "fr4": "#7ab55c",
    "underfill": "#c49c6b",
}
"""Fixed colours of the materials in ``data/materials.toml`` (hex, distinct from each other)."""


def material_color(name: str) -> tuple[float, float, float]:
    """The RGB colour of material ``name``: :data:`LIBRARY_COLORS` or a stable hash colour."""
    if name in LIBRARY_COLORS:
        return to_rgb(LIBRARY_COLORS[name])
    digest = int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16)
    return tuple(colormaps["tab20"](digest % 20)[:3])
