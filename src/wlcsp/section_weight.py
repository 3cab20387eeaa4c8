"""Equivalent-width weights of the bump level of a 2D section: the real array's volume in it.

A 2D section makes every joint a wall (plane strain, generalized plane strain) or a ring
(axisymmetric) of the joint's section, and every pad and land likewise; the underfill (and a top
coat) fills what they leave. The real array holds discrete balls and discs, so the section holds
the wrong amount of each bump-level material. The equivalent-width weight of a region is

    f = (real volume of its material in the part of the package the region stands for)
        / (volume of the region in the model),

and a model whose region stiffness is multiplied by f holds the array's own amount of it: in an
elastic analysis, multiplying a region's stiffness and its thermal stress by f is scaling its
Young's modulus by f (strains are those of the weighted section; its stresses and energy
densities are f times the physical ones). The layers, die and substrate are continuous sheets
(f = 1).

Measured on the four seed 000 variants (``benchmarks/section_weighting.py``,
``docs/2d_vs_3d.md``): the weighting brings the critical shear-strain range of the bare and
underfill variants closer to the 3D cell and that of the elastomer variants farther from it, and
every equivalent-strain range farther; it is therefore not a design option. The weights say how
much of each bump-level material a section holds (1/f times the real amount).

Derivation
----------
The array has ρ = 1/(p_x p_y) sites per mm² (pitches p_x, p_y). The section's row of bumps
steps by Δs along the slice: the row's site step projected on the slice direction u,
Δs = p_x |u_x| + p_y |u_y| (the diagonal row of site steps (p_x, p_y); p_x or p_y for a slice
along a die axis, :func:`row_step`). Bump i at section coordinate x_i stands for the array in
its cell x ∈ [x₋, x₊] = [max(x_i − Δs/2, 0), x_i + Δs/2]: a slab of depth w in the planar
models, the annulus of radius x₋..x₊ when axisymmetric. The cell's plan measure is
c = (x₊ − x₋) w or π (x₊² − x₋²) and holds ρ c sites, each with a solid of volume V; the
model's region has volume S = A w (section area A) or 2π ∫ x dA (Pappus). So

    f = ρ V c / S,      off the axis (x_i ≥ Δs/2), in every model:  f = ρ V Δs / A,

since 2π x_i Δs / (2π x_i A) = Δs / A when the section is symmetric about x_i (Pappus). The
solids: the joint holds the ball's volume V_b = π d_ball³/6 (segment plus neck), the pad and each
land metal are discs, V = π a² t with section A = 2 a t, so f_pad = ρ π a_1 Δs / 2 and
f_land = ρ π a_2 Δs / 2. The underfill of the unit cell fills the gap height H (substrate top to
the chip-side surface) less the solids in it (joint segment, pad, the lands when there is no top
coat):

    f_underfill = (Δs H − ρ Δs Σ V_k) / (Δs H − Σ A_k) = (1 − ρ Σ V_k / H) / (1 − Σ A_k / (Δs H)),

and a top coat of thickness t with a land opening of radius a_2 per site
f_top_coat = (1 − ρ π a_2²) / (1 − 2 a_2 / Δs). The underfill and top coat are one region each,
so the unit-cell weight applies to all of it, also to the parts outside the array (the central
strip, the fillet), whose real weight is 1.

Seed 000 (0.30 mm balls on 0.25 mm pads and lands, 0.5 mm pitch, diagonal slice:
Δs = 0.692 mm): f = 0.652 for the solder, 0.544 for pads and lands, 1.26 for the underfill
(``tests/test_section_weight.py`` has the hand calculation).
"""

from __future__ import annotations

import math

from .bump_array import slice_direction
from .design import Design
from .errors import DesignError
from .geometry import JointSection, Rect, Regions, build_regions, stack

WEIGHTED_KINDS = ("bump", "pad", "land", "underfill", "top_coat")
"""Region kinds (:class:`wlcsp.geometry.Region`) of the bump level: the ones that get a weight."""


def row_step(design: Design) -> float:
    """Δs (mm): the step of the section's row of bumps along the slice (module docstring)."""
    if design.cell is not None:
        raise DesignError("section.weighting", "equivalent_width",
                          "applies to the 2D section models, not to model = '3d'")
    if design.bumps.array is None:
        raise DesignError("section.weighting", "equivalent_width",
                          "needs the array's site density: give bumps.array = [rows, columns]")
    ux, uy = slice_direction(design.die.size, design.die.slice)
    px, py = design.bumps.pitch_xy
    return px * abs(ux) + py * abs(uy)


def site_density(design: Design) -> float:
    """ρ = 1/(p_x p_y): array sites per mm² of the package plan."""
    px, py = design.bumps.pitch_xy
    return 1.0 / (px * py)


def section_weights(design: Design, regions: Regions | None = None) -> dict[str, float]:
    """Region name -> equivalent-width weight f of every bump-level region of a 2D section.

    Joints, pads and land metals by f = ρ V c / S of their own cell, the underfill and top coat
    by their unit-cell value (module docstring); regions left out (die, layers, substrate) have
    f = 1. ``regions`` defaults to :func:`wlcsp.geometry.build_regions` of ``design``.
    """
    ds = row_step(design)
    rho = site_density(design)
    regions = regions or build_regions(design)
    a1, a2 = design.bumps.pad_diameter / 2, design.rerouting.land_diameter / 2
    out: dict[str, float] = {}
    for reg in regions.regions:
        if reg.kind in ("bump", "pad", "land"):
            if isinstance(reg.shape, JointSection):
                volume = design.bumps.ball_volume
            else:
                assert isinstance(reg.shape, Rect)
                a = a1 if reg.kind == "pad" else a2
                volume = math.pi * a**2 * (reg.shape.y1 - reg.shape.y0)
            x = design.dnp[reg.bump]
            lo, hi = max(x - ds / 2, 0.0), x + ds / 2
            if design.model == "axisymmetric":
                cell, model_volume = math.pi * (hi**2 - lo**2), 2 * math.pi * regions.moment(
                    reg.name)
            else:
                cell, model_volume = hi - lo, regions.area(reg.name)
            out[reg.name] = rho * volume * cell / model_volume
        elif reg.kind == "underfill":
            out[reg.name] = underfill_weight(design, ds)
        elif reg.kind == "top_coat":
            out[reg.name] = (1.0 - rho * math.pi * a2**2) / (1.0 - 2 * a2 / ds)
    return out


def underfill_weight(design: Design, ds: float) -> float:
    """Weight f of the underfill in the unit cell of step ``ds`` (mm) along the slice.

    Solids in the gap of height H: the joint's spherical segment, the pad and, without a top
    coat, the land stack; volumes V_k in the array, section areas A_k in the model.
    """
    j, b, rer = design.joint, design.bumps, design.rerouting
    a1, a2 = b.pad_diameter / 2, rer.land_diameter / 2
    h = stack(design)
    gap = h.chip_side - h.substrate
    joint = JointSection(ds / 2, h.pad, j)  # any centre off the axis
    volumes = [j.segment_volume(), math.pi * a1**2 * b.pad_thickness]
    areas = [joint.area(neck=False), 2 * a1 * b.pad_thickness]
    if design.top_coat is None:
        volumes.append(math.pi * a2**2 * rer.thickness)
        areas.append(2 * a2 * rer.thickness)
    return (1.0 - site_density(design) * sum(volumes) / gap) / (1.0 - sum(areas) / (ds * gap))
