"""Design -> named 2D regions of the package cross-section (shapes, materials, stress-free T).

Coordinates (mm): x (or r) from the package centre, x = 0 on the symmetry line / axis; y up from the
substrate bottom; the die on top, face down. From the bottom up::

    substrate   [0, y_s]                      y_s = substrate.thickness
    pad_i       [y_s, y_p]                    y_p = y_s + bumps.pad_thickness
    bump_i      [y_p, y_l]                    spherical segment of height h, then the neck
    land_i_k    [y_l, y_L]                    rerouting metals, k = 0 next to the die
    top_coat    [y_l - neck, y_L] with land openings (optional)
    layers      [y_L, y_d]                    last listed layer at the bottom
    die         [y_d, y_d + die.thickness]

The underfill (optional) fills x in [0, L] between the substrate and the chip-side surface, plus a
triangular fillet of width ``underfill.fillet`` outside the die edge and the central gaps of the
lowest layers, less every other region there. Shapes are exact (the joint's circular arc is kept),
so their areas are known in closed form for the mesh checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .design import Design, Joint


@dataclass(frozen=True)
class Rect:
    """Axis-aligned rectangle [x0, x1] x [y0, y1] (mm)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def area(self) -> float:
        """Area (mm²)."""
        return (self.x1 - self.x0) * (self.y1 - self.y0)

    def moment(self) -> float:
        """∫ x dA (mm³), for volumes of revolution about x = 0."""
        return (self.y1 - self.y0) * (self.x1**2 - self.x0**2) / 2


@dataclass(frozen=True)
class JointSection:
    """Section of joint ``joint`` centred at x = ``xc`` with its pad-side cap at y = ``y0``.

    A circular segment of the sphere between the two caps, plus the neck rectangle above it;
    clipped to x ≥ 0 when the joint sits on the axis (xc = 0).
    """

    xc: float
    y0: float
    joint: Joint

    @property
    def center(self) -> tuple[float, float]:
        """Centre of the sphere's circle (mm)."""
        return self.xc, self.y0 + self.joint.center

    def _chord_integral(self) -> float:
        """∫ 2 √(R² − z²) dz over the segment: the full (unclipped) circular-segment area."""
        r, zc, h = self.joint.radius, self.joint.center, self.joint.height

        def f(z: float) -> float:
            return z * math.sqrt(max(r * r - z * z, 0.0)) + r * r * math.asin(z / r)

        return f(h - zc) - f(-zc)

    def area(self, neck: bool = True) -> float:
        """Area of the section (mm²), halved when clipped at the axis; ``neck=False`` omits it."""
        full = self._chord_integral() + 2 * self.joint.top_radius * self.joint.neck * neck
        return full / 2 if self.xc == 0.0 else full

    def revolved_volume(self, neck: bool = True) -> float:
        """Volume of the section revolved about its own centre line (mm³): the solder volume."""
        return (self.joint.segment_volume()
                + math.pi * self.joint.top_radius**2 * self.joint.neck * neck)

    def moment(self, neck: bool = True) -> float:
        """∫ x dA over the clipped section (mm³); by symmetry xc·A off the axis (Pappus)."""
        if self.xc == 0.0:
            return self.revolved_volume(neck) / (2 * math.pi)
        return self.xc * self.area(neck)


@dataclass(frozen=True)
class Polygon:
    """Closed polygon (mm), counter-clockwise, possibly with regions cut out of it later."""

    points: tuple[tuple[float, float], ...]

    def area(self) -> float:
        """Shoelace area (mm²)."""
        p = self.points
        return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(p, p[1:] + p[:1],
                                                                          strict=True))

    def moment(self) -> float:
        """∫ x dA (mm³) by the polygon moment formula."""
        p = self.points
        return sum((x0 * y1 - x1 * y0) * (x0 + x1)
                   for (x0, y0), (x1, y1) in zip(p, p[1:] + p[:1], strict=True)) / 6


@dataclass(frozen=True)
class Compound:
    """Several disjoint rectangles forming one region (the top coat between land openings)."""

    parts: tuple[Rect, ...]

    def area(self) -> float:
        """Area (mm²)."""
        return sum(p.area() for p in self.parts)

    def moment(self) -> float:
        """∫ x dA (mm³)."""
        return sum(p.moment() for p in self.parts)


Shape = Rect | JointSection | Polygon | Compound


@dataclass(frozen=True)
class Region:
    """One material region: a physical group of the mesh."""

    name: str
    material: str
    shape: Shape
    stress_free: float
    """Stress-free temperature (°C)."""
    kind: str
    """die, layer, top_coat, land, bump, pad, substrate or underfill."""
    bump: int | None = None
    cut_by_others: bool = False
    """The underfill: its shape less every other region it overlaps."""


@dataclass(frozen=True)
class Interface:
    """A straight interface segment named like ``bump_3_top`` (mm)."""

    name: str
    x0: float
    x1: float
    y: float


@dataclass(frozen=True)
class Regions:
    """The whole cross-section: material regions, named interfaces and the extent."""

    regions: tuple[Region, ...]
    interfaces: tuple[Interface, ...]
    width: float
    height: float
    die_edge: float

    def region(self, name: str) -> Region:
        """The region of that name."""
        return next(r for r in self.regions if r.name == name)

    def area(self, name: str) -> float:
        """Exact area of a region (mm²), the underfill less what lies inside it."""
        return self._measure(name, "area")

    def moment(self, name: str) -> float:
        """Exact ∫ x dA of a region (mm³); 2π times it is its axisymmetric volume."""
        return self._measure(name, "moment")

    def _measure(self, name: str, what: str) -> float:
        reg = self.region(name)
        value = getattr(reg.shape, what)()
        if reg.cut_by_others:
            value -= sum(_part(r.shape, what) for r in self._inside(reg))
        return value

    def _inside(self, reg: Region) -> list[Region]:
        # regions lying inside the underfill box: joints, pads, and lands below the chip surface
        return [r for r in self.regions if r.kind in ("bump", "pad") or
                (r.kind == "land" and isinstance(r.shape, Rect) and r.shape.y0 < _top_y(reg))]


def _part(shape: Shape, what: str) -> float:
    """Area or moment of the part of a shape inside the underfill (a joint without its neck)."""
    if isinstance(shape, JointSection):
        return getattr(shape, what)(neck=False)
    return getattr(shape, what)()


def _or(own: float | None, default: float) -> float:
    """A region's own stress-free temperature, else the design's (°C)."""
    return default if own is None else own


def _top_y(reg: Region) -> float:
    assert isinstance(reg.shape, Polygon)
    return max(y for _, y in reg.shape.points) - 1e-12


@dataclass(frozen=True)
class Stack:
    """Heights of the package stack (mm from the substrate bottom), shared by 2D and 3D models.

    The 2D models' y and the 3D models' z; see the module docstring for the order.
    """

    substrate: float
    """y_s: substrate top, pad bottom."""
    pad: float
    """y_p: pad top, joint bottom (the ``bump_<i>_bottom`` interface)."""
    joint: float
    """y_j: top of the spherical segment (bottom of the neck or of the land)."""
    land_bottom: float
    """y_l: land bottom (the ``bump_<i>_top`` interface)."""
    land_top: float
    """y_L: land top, bottom of the last listed layer."""
    chip_side: float
    """y_c: the chip-side surface the underfill touches (y_j with a top coat, else y_L)."""
    layers: tuple[tuple[float, float], ...]
    """(bottom, top) of every ``design.layers`` entry, in the design's order (die side first)."""
    die_bottom: float
    """y_d: the die's active face."""
    top: float
    """Die top: the height of the model."""


def stack(design: Design) -> Stack:
    """The stacking heights of ``design`` (:class:`Stack`)."""
    d, j = design, design.joint
    y_s = d.substrate.thickness
    y_p = y_s + d.bumps.pad_thickness
    y_j = y_p + j.height
    y_l = y_j + j.neck
    y_L = y_l + d.rerouting.thickness
    y = y_L
    spans = []
    for layer in reversed(d.layers):
        spans.append((y, y + layer.thickness))
        y += layer.thickness
    return Stack(substrate=y_s, pad=y_p, joint=y_j, land_bottom=y_l, land_top=y_L,
                 chip_side=y_j if d.top_coat else y_L, layers=tuple(reversed(spans)),
                 die_bottom=y, top=y + d.die.thickness)


def build_regions(design: Design) -> Regions:
    """Lay out every region of ``design`` (see the module docstring for the stacking)."""
    d, j = design, design.joint
    T0 = d.loading.stress_free
    L = d.die.half_length
    width = L + d.substrate.overhang
    h = stack(d)
    y_s, y_p, y_j, y_l, y_L = h.substrate, h.pad, h.joint, h.land_bottom, h.land_top
    y_c = h.chip_side  # chip-side surface: what the underfill touches
    a1, a2 = d.bumps.pad_diameter / 2, d.rerouting.land_diameter / 2

    regions: list[Region] = []
    interfaces: list[Interface] = []
    layer_rects = [(layer, Rect(d.slice_gap(layer), y0, L, y1))
                   for layer, (y0, y1) in zip(reversed(d.layers), reversed(h.layers),
                                              strict=True)]
    y_d = h.die_bottom
    regions.append(Region("die", d.die.material, Rect(0.0, y_d, L, y_d + d.die.thickness), T0,
                          "die"))
    for layer, rect in reversed(layer_rects):
        sf = _or(layer.stress_free, T0)
        regions.append(Region(layer.name, layer.material, rect, sf, "layer"))
    if d.top_coat:
        # the cover between the land openings: one strip per gap between neighbouring openings
        edges = [0.0] + [e for xc in d.dnp for e in (max(xc - a2, 0.0), xc + a2)] + [L]
        parts = tuple(Rect(x0, y_j, x1, y_L) for x0, x1 in zip(edges[::2], edges[1::2],
                                                               strict=True) if x1 > x0)
        sf = _or(d.top_coat.stress_free, T0)
        regions.append(Region("top_coat", d.top_coat.material, Compound(parts), sf, "top_coat"))
    bump_sf = _or(d.bumps.stress_free, T0)
    for i, xc in enumerate(d.dnp):
        y = y_L
        for k, (mat, t) in enumerate(zip(d.rerouting.materials, d.rerouting.thicknesses,
                                         strict=True)):
            regions.append(Region(f"land_{i}_{k}", mat, Rect(max(xc - a2, 0.0), y - t, xc + a2,
                                                            y), T0, "land", i))
            y -= t
        regions.append(Region(f"bump_{i}", d.bumps.material, JointSection(xc, y_p, j), bump_sf,
                              "bump", i))
        regions.append(Region(f"pad_{i}", d.bumps.pad_material,
                              Rect(max(xc - a1, 0.0), y_s, xc + a1, y_p), T0, "pad", i))
        interfaces.append(Interface(f"bump_{i}_top", max(xc - a2, 0.0), xc + a2, y_l))
        interfaces.append(Interface(f"bump_{i}_bottom", max(xc - a1, 0.0), xc + a1, y_p))
    regions.append(Region("substrate", d.substrate.material, Rect(0.0, 0.0, width, y_s), T0,
                          "substrate"))
    if d.underfill:
        u = d.underfill
        pts = [(0.0, y_s), (L + u.fillet, y_s), (L, y_c)]
        # fill the central gaps of the lowest layers (open towards the substrate)
        gap, y = math.inf, y_c
        if not d.top_coat:
            for layer in reversed(d.layers):
                gap = min(gap, d.slice_gap(layer))
                if gap <= 0:
                    break
                pts += [(gap, y), (gap, y + layer.thickness)]
                y += layer.thickness
        pts.append((0.0, y))
        sf = _or(u.stress_free, T0)
        regions.append(Region("underfill", u.material, Polygon(tuple(pts)), sf, "underfill",
                              cut_by_others=True))
    return Regions(regions=tuple(regions), interfaces=tuple(interfaces), width=width,
                   height=y_d + d.die.thickness, die_edge=L)
