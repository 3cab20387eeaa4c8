"""Design -> named solids of the 3D symmetry cell (shapes, materials, stress-free T, exact volumes).

Coordinates (mm) as :mod:`wlcsp.cell`: x along the die length, y along its width, both from the
die centre; z up from the substrate bottom, with the heights of :func:`wlcsp.geometry.stack`
(the 2D models' y). In the cell (x in ``cell.x``, y in ``cell.y``; the die over x ≤ L = L_die/2,
y ≤ W = W_die/2)::

    substrate   box over the whole cell, z in [0, z_s]              (overhang included)
    pad_i       disc of radius d_pad/2, z in [z_s, z_p]
    bump_i      sphere of radius R centred joint.center above the pad top, cut by the planes
                z = z_p and z = z_j, plus the neck cylinder (radius d_land/2) up to the land
    land_i_k    disc of radius d_land/2 per rerouting metal, k = 0 next to the die
    top_coat    box over the die footprint, z in [z_j, z_L], less the land openings (optional)
    layers      box over the die footprint; a layer with ``inner_gap`` is absent for
                y < inner_gap (the central bond-pad strip |y| < inner_gap)
    die         box over the die footprint
    underfill   the standoff over the die footprint, z in [z_s, z_c], plus the fillet (a
                triangular prism of width ``underfill.fillet`` along each die edge of the cell,
                mitred where the two meet at the corner: height z_c − z_s times
                1 − max(x − L, y − W)/fillet) and the central gaps of the lowest layers (as in
                2D), less every other solid there

Every solid is clipped to the cell box: a bump on a symmetry plane is half or a quarter of a
ball (``cell.bumps[i].fraction``). The volumes are exact in closed form (:meth:`Solids.volume`),
for the mesh checks.

:func:`restrict` cuts the cell further to a region of interest, the block of a submodel
(:mod:`wlcsp.submesh`): the same solids, names and priorities, each cut to the block; every shape
answers ``bounds()`` and ``contains(x, y, z)`` (points in material or in air, for the submodel's
cut faces).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .design import Design, Joint
from .errors import DesignError
from .geometry import stack

EPS = 1e-9
"""Tolerance (mm) of the box comparisons of a region of interest."""


@dataclass(frozen=True)
class Box:
    """Axis-aligned box [x0, x1] x [y0, y1] x [z0, z1] (mm)."""

    x0: float
    y0: float
    z0: float
    x1: float
    y1: float
    z1: float

    def volume(self) -> float:
        """Volume (mm³)."""
        return (self.x1 - self.x0) * (self.y1 - self.y0) * (self.z1 - self.z0)

    def bounds(self) -> Box:
        """The bounding box (itself)."""
        return self

    def contains(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Whether each point (mm) lies in the closed box."""
        return ((x >= self.x0) & (x <= self.x1) & (y >= self.y0) & (y <= self.y1)
                & (z >= self.z0) & (z <= self.z1))

    def intersection(self, other: Box) -> Box | None:
        """The common box, or None when the two share no volume."""
        lo = (max(self.x0, other.x0), max(self.y0, other.y0), max(self.z0, other.z0))
        hi = (min(self.x1, other.x1), min(self.y1, other.y1), min(self.z1, other.z1))
        if any(b <= a for a, b in zip(lo, hi, strict=True)):
            return None
        return Box(*lo, *hi)

    def encloses(self, other: Box) -> bool:
        """Whether ``other`` lies inside this box (to :data:`EPS`)."""
        return (other.x0 >= self.x0 - EPS and other.y0 >= self.y0 - EPS
                and other.z0 >= self.z0 - EPS and other.x1 <= self.x1 + EPS
                and other.y1 <= self.y1 + EPS and other.z1 <= self.z1 + EPS)


@dataclass(frozen=True)
class Disc:
    """Vertical cylinder of radius ``r`` about (xc, yc), z in [z0, z1], clipped to the cell."""

    xc: float
    yc: float
    z0: float
    z1: float
    r: float
    fraction: float = 1.0

    def volume(self) -> float:
        """Volume of the part in the cell (mm³)."""
        return math.pi * self.r**2 * (self.z1 - self.z0) * self.fraction

    def bounds(self) -> Box:
        """Bounding box of the whole disc (before clipping to the cell)."""
        return Box(self.xc - self.r, self.yc - self.r, self.z0, self.xc + self.r,
                   self.yc + self.r, self.z1)

    def contains(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Whether each point (mm) lies in the whole (unclipped) cylinder."""
        return ((x - self.xc) ** 2 + (y - self.yc) ** 2 <= self.r**2) & (z >= self.z0) & \
            (z <= self.z1)


@dataclass(frozen=True)
class JointSolid:
    """Truncated-sphere joint ``joint`` about (xc, yc) with its pad-side cap at z = ``z0``."""

    xc: float
    yc: float
    z0: float
    joint: Joint
    fraction: float = 1.0

    def volume(self, neck: bool = True) -> float:
        """Solder volume in the cell (mm³); ``neck=False`` omits the top-coat opening."""
        j = self.joint
        return (j.segment_volume() + math.pi * j.top_radius**2 * j.neck * neck) * self.fraction

    @property
    def half_width(self) -> float:
        """Largest radius of the joint (mm)."""
        return self.joint.half_width

    def bounds(self) -> Box:
        """Bounding box of the whole joint, neck included (before clipping to the cell)."""
        w, j = self.half_width, self.joint
        return Box(self.xc - w, self.yc - w, self.z0, self.xc + w, self.yc + w,
                   self.z0 + j.height + j.neck)

    def contains(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Whether each point (mm) lies in the whole joint: spherical segment or neck."""
        j = self.joint
        r2 = (x - self.xc) ** 2 + (y - self.yc) ** 2
        top = self.z0 + j.height
        segment = (z >= self.z0) & (z <= top) & (r2 + (z - self.z0 - j.center) ** 2
                                                 <= j.radius**2)
        neck = (z >= top) & (z <= top + j.neck) & (r2 <= j.top_radius**2)
        return segment | neck


@dataclass(frozen=True)
class Fillet:
    """The underfill's edge fillet, mitred at the die corner (see the module docstring).

    Along x = ``L`` (y from ``y0`` to W) and y = ``W`` (x from 0 to L), of ``width`` and height
    z1 − z0.
    """

    L: float
    W: float
    y0: float
    z0: float
    z1: float
    width: float

    def volume(self) -> float:
        """Volume (mm³): two triangular prisms plus the mitred corner, H f² / 3."""
        h, f = self.z1 - self.z0, self.width
        return h * f / 2 * ((self.W - self.y0) + self.L) + h * f * f / 3

    def bounds(self) -> Box:
        """Bounding box (x from 0: the cell's x starts at the symmetry plane)."""
        return Box(0.0, self.y0, self.z0, self.L + self.width, self.W + self.width, self.z1)

    def contains(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Whether each point (mm) lies in the fillet (the module docstring).

        Outside the die footprint, under the height (z1 − z0)(1 − max(x − L, y − W)/width).
        """
        d = np.maximum(x - self.L, y - self.W)
        h = (self.z1 - self.z0) * (1.0 - d / self.width)
        return (d >= 0) & (d <= self.width) & (y >= self.y0) & (z >= self.z0) & \
            (z <= self.z0 + h)


Shape3 = Box | Disc | JointSolid | Fillet


@dataclass(frozen=True)
class Solid:
    """One material region of the cell: a physical volume group of the mesh.

    ``parts`` are united; ``priority`` decides who owns a piece where solids overlap: the
    underfill (0) and top coat (1) yield to everything else (2), which is how the underfill
    becomes the standoff "less every other solid" and the top coat gets its openings.
    """

    name: str
    material: str
    parts: tuple[Shape3, ...]
    stress_free: float
    kind: str
    """die, layer, top_coat, land, bump, pad, substrate or underfill."""
    bump: int | None = None
    priority: int = 2


@dataclass(frozen=True)
class Interface3:
    """A flat disc interface at z = ``z`` (``bump_<i>_top`` / ``_bottom``), clipped to the cell."""

    name: str
    xc: float
    yc: float
    r: float
    z: float
    fraction: float

    def area(self) -> float:
        """Area in the cell (mm²)."""
        return math.pi * self.r**2 * self.fraction


@dataclass(frozen=True)
class Solids:
    """The whole cell: solids, named interfaces, the cell box and its named faces.

    Stands in for :class:`wlcsp.geometry.Regions` in a 3D :class:`wlcsp.mesh.PackageMesh`
    (``pm.regions``): ``region(name)``, ``volume(name)``.
    """

    solids: tuple[Solid, ...]
    interfaces: tuple[Interface3, ...]
    box: Box
    """The cell (substrate bottom to die top)."""
    faces: dict[str, tuple[str, float]]
    """Cut faces of the cell -> (normal axis, plane coordinate), as ``cell.faces``."""
    die_edge: tuple[float, float]
    """(L, W): the die edges in the cell (mm)."""
    clip: Box | None = None
    """A region of interest the solids are cut to (:func:`restrict`; ``box`` is then that
    region), None for the whole cell."""

    @property
    def regions(self) -> tuple[Solid, ...]:
        """The solids (the 2D name, for code that iterates ``pm.regions.regions``)."""
        return self.solids

    def region(self, name: str) -> Solid:
        """The solid of that name."""
        return next(s for s in self.solids if s.name == name)

    def is_cut(self, solid: Solid) -> bool:
        """Whether the region of interest cuts ``solid`` (always False for the whole cell)."""
        return self.clip is not None and not all(self.clip.encloses(p.bounds())
                                                 for p in solid.parts)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each point (3, n) in mm lies in some solid of the cell (material, not air)."""
        x, y, z = points
        inside = np.zeros(x.shape, dtype=bool)
        for s in self.solids:
            for p in s.parts:
                inside |= p.contains(x, y, z)
        return inside & self.box.contains(x, y, z)

    def volume(self, name: str) -> float:
        """Exact volume of a solid in the cell (mm³), less what the solids above it own.

        Raises ValueError for a solid cut by the region of interest (no closed form), or one that
        yields to a solid cut by it.
        """
        sol = self.region(name)
        if self.is_cut(sol) or any(self.is_cut(o) for o in self.solids
                                   if o.priority > sol.priority and sol.kind in ("underfill",
                                                                                 "top_coat")):
            raise ValueError(f"{name}: cut by the region of interest, no closed-form volume")
        value = sum(p.volume() for p in sol.parts)
        for other in self.solids:
            if other.priority > sol.priority:
                value -= sum(_overlap(sol, p) for p in other.parts)
        return value


def _overlap(sol: Solid, part: Shape3) -> float:
    """Volume of ``part`` (a solid of higher priority) inside ``sol`` (underfill or top coat).

    Lands, pads and joints are the only solids that reach into the underfill and the top coat;
    they lie in the underfill below the chip-side surface and in the top coat's openings above
    the joint's spherical segment.
    """
    if sol.kind not in ("underfill", "top_coat"):
        return 0.0
    main = sol.parts[0]
    assert isinstance(main, Box)
    if isinstance(part, JointSolid):
        if sol.kind == "underfill":
            return part.volume(neck=False)
        return part.volume() - part.volume(neck=False)
    if isinstance(part, Disc):
        lo, hi = max(part.z0, main.z0), min(part.z1, main.z1)
        if hi <= lo:
            return 0.0
        return Disc(part.xc, part.yc, lo, hi, part.r, part.fraction).volume()
    return 0.0


def build_solids(design: Design) -> Solids:
    """Lay out every solid of ``design``'s symmetry cell (see the module docstring)."""
    d, j, cell = design, design.joint, design.cell
    if cell is None:
        raise DesignError("model", design.model, "the 3D solids need model = '3d'")
    T0 = d.loading.stress_free
    h = stack(d)
    L, W = cell.die
    (cx0, cx1), (cy0, cy1) = cell.x, cell.y
    a1, a2 = d.bumps.pad_diameter / 2, d.rerouting.land_diameter / 2

    def sf(own: float | None) -> float:
        return T0 if own is None else own

    solids: list[Solid] = [Solid("die", d.die.material, (Box(cx0, cy0, h.die_bottom, L, W,
                                                             h.top),), T0, "die")]
    for layer, (z0, z1) in zip(d.layers, h.layers, strict=True):
        solids.append(Solid(layer.name, layer.material,
                            (Box(cx0, max(cy0, layer.inner_gap), z0, L, W, z1),),
                            sf(layer.stress_free), "layer"))
    if d.top_coat:
        solids.append(Solid("top_coat", d.top_coat.material,
                            (Box(cx0, cy0, h.joint, L, W, h.land_top),),
                            sf(d.top_coat.stress_free), "top_coat", priority=1))
    interfaces = []
    for i, b in enumerate(cell.bumps):
        (xc, yc), f = b.center, b.fraction
        z = h.land_top
        for k, (mat, t) in enumerate(zip(d.rerouting.materials, d.rerouting.thicknesses,
                                         strict=True)):
            solids.append(Solid(f"land_{i}_{k}", mat, (Disc(xc, yc, z - t, z, a2, f),), T0,
                                "land", i))
            z -= t
        solids.append(Solid(f"bump_{i}", d.bumps.material, (JointSolid(xc, yc, h.pad, j, f),),
                            sf(d.bumps.stress_free), "bump", i))
        solids.append(Solid(f"pad_{i}", d.bumps.pad_material,
                            (Disc(xc, yc, h.substrate, h.pad, a1, f),), T0, "pad", i))
        interfaces.append(Interface3(f"bump_{i}_top", xc, yc, a2, h.land_bottom, f))
        interfaces.append(Interface3(f"bump_{i}_bottom", xc, yc, a1, h.pad, f))
    solids.append(Solid("substrate", d.substrate.material,
                        (Box(cx0, cy0, 0.0, cx1, cy1, h.substrate),), T0, "substrate"))
    if d.underfill:
        u = d.underfill
        parts: list[Shape3] = [Box(cx0, cy0, h.substrate, L, W, h.chip_side)]
        if u.fillet > 0:
            parts.append(Fillet(L, W, cy0, h.substrate, h.chip_side, u.fillet))
        if not d.top_coat:  # fill the central gaps of the lowest layers, as in 2D
            gap = math.inf
            for layer, (z0, z1) in reversed(list(zip(d.layers, h.layers, strict=True))):
                gap = min(gap, layer.inner_gap)
                if gap <= cy0:
                    break
                parts.append(Box(cx0, cy0, z0, L, gap, z1))
        solids.append(Solid("underfill", u.material, tuple(parts), sf(u.stress_free),
                            "underfill", priority=0))
    return Solids(solids=tuple(solids), interfaces=tuple(interfaces),
                  box=Box(cx0, cy0, 0.0, cx1, cy1, h.top), faces=dict(cell.faces),
                  die_edge=(L, W))


def restrict(sol: Solids, block: Box) -> Solids:
    """The solids of ``sol`` inside ``block``: the region of interest of a submodel (mm).

    ``block`` is first cut to the cell. Box parts are cut to it here (a box again); other parts
    keep their shape and are cut by the mesher (``clip``). Solids and interfaces without volume
    or area in the block are left out, as are cell faces not on its boundary; solids keep their
    names (``bump_<i>`` of the cell's numbering), materials and priorities.
    """
    box = block.intersection(sol.box)
    if box is None:
        raise ValueError(f"the block {block} misses the cell {sol.box}")
    solids = []
    for s in sol.solids:
        parts = []
        for p in s.parts:
            cut = p.bounds().intersection(box)
            if cut is not None:
                parts.append(cut if isinstance(p, Box) else p)
        if parts:
            solids.append(dataclasses.replace(s, parts=tuple(parts)))
    kept = {s.name for s in solids}
    interfaces = tuple(
        i for i in sol.interfaces if i.name.rsplit("_", 1)[0] in kept
        and Box(i.xc - i.r, i.yc - i.r, i.z - 1, i.xc + i.r, i.yc + i.r, i.z + 1
                ).intersection(box) is not None)
    lo, hi = (box.x0, box.y0, box.z0), (box.x1, box.y1, box.z1)
    faces = {name: (axis, c) for name, (axis, c) in sol.faces.items()
             if min(abs(c - lo["xyz".index(axis)]), abs(c - hi["xyz".index(axis)])) <= EPS}
    return Solids(solids=tuple(solids), interfaces=interfaces, box=box, faces=faces,
                  die_edge=sol.die_edge, clip=box)
