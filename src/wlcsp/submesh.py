"""The local model of one joint for a global-local (submodel) analysis: its block and mesh.

The block is an axis-aligned box about the joint's centre (x, y), ``half_width`` to each side
(default: half the array pitch along x and along y, the joint's own unit cell, cut at the
mid-planes between joints), from ``substrate_fraction`` of the substrate thickness below the
substrate top up to ``die_fraction`` of the die thickness above the die bottom (default: the
whole height, so the package's top and bottom faces stay free). It is cut to the cell, so a
block reaching a symmetry plane keeps that symmetry face.

The block's solids are the cell's (:func:`wlcsp.geometry3d.restrict`), meshed by
:func:`wlcsp.mesh3d.build_mesh3d` with the same region, boundary and interface names as the
global mesh and element sizes ``refine`` times finer than the design's. Neighbouring joints that
reach into a wider block are cut by it and keep their cell numbering (``bump_<j>``).

Cut faces
---------
``cut`` (a named boundary of the local mesh) holds the facets on the block's planes that lie
inside the global model: those with material on the far side (:meth:`Solids.contains` a hair
beyond the facet), so a die edge or a fillet toe that happens to lie on a block plane stays a
free surface. A submodel prescribes all displacement components there (:data:`LocalMesh.driven`),
and on the part of a plane face of the cell (the strip's ``plane_y``) inside the block its
normal component; the symmetry faces inside the block keep their supports.

Rim refinement
--------------
The joint meets its land and its pad at two bimaterial edges (the rim circles of the
``bump_<i>_top`` / ``_bottom`` interfaces), where the stress is singular (Bogy 1968, 1971; see
:mod:`wlcsp.post`) and the solder creeps fastest: the outer 15 µm of the 25.4 µm Darveaux
layer carries 35-41 % of the layer's per-cycle work. ``SubmodelSpec.rim_size`` sizes the
elements on those circles and grades them to the joint size (:func:`rim_sizing`); with it the
local meshes of one ``rim_size`` under ``refine`` are one family, and the layer energy
converges within 3 % over three meshes (:data:`RIM_SIZE`). Without it the element size at the
rims is the joint's (48 µm / refine in the seed designs, 29 µm under the land's Ni layer), and
the layer energy does not converge within 3 % (``benchmarks/submodel.py``).

Keep the block planes clear of neighbouring joints, or cut them near their middle: a plane that
clips a sliver off a neighbour (within a few element sizes of its edge) forces tiny elements.
With the seed's 0.5 mm pitch and 0.3 mm balls, half-widths from 0.25 mm (half a pitch) to about
0.32 mm leave the neighbours out, and 0.5 mm (one pitch) cuts them through their centres.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .design import Design, MeshSpec
from .errors import DesignError, MeshError
from .geometry import stack
from .geometry3d import EPS, Box, build_solids
from .mesh import PackageMesh
from .mesh3d import GRADING_3D, build_mesh3d, sizes
from .post import DARVEAUX_LAYER

CUT = "cut"
"""Name of the boundary of the cut faces."""

MAX_REFINE = 8.0
"""Largest mesh refinement of a local model (sizes divided by it): beyond, 3D P2 meshes of one
joint reach millions of unknowns."""

RIM_SIZE = DARVEAUX_LAYER / 4
"""Element size (mm, at ``refine`` 1) on the joint's land and pad rims of the local-mesh family
whose per-cycle Darveaux energy converges (``SubmodelSpec.rim_size``): a quarter of the
Darveaux layer, 6.35 µm. Measured (``benchmarks/submodel.py --designs
studies/seed000_bare_3d.toml --refine 1 1.5 2 2.5 --rim-size 0.00635 --cycles 1``, critical
joint, Anand, creep driving; land / pad side): 0.3138 / 0.2483, 0.3172 / 0.2509, 0.3254 /
0.2579, 0.3323 / 0.2592 MPa at 54k, 109k, 186k, 292k DOFs, changes ≤ 2.7 % (without it 0.8 %,
4.9 % land side and 6.4 %, 3.3 % pad side over refine 1.5, 2, 2.5, and 14 % / 21 % lower at
refine 1.5). Refine 2.75 (363k DOFs) gives 0.3321 / 0.2583: over refine 2, 2.5, 2.75 the
changes are 2.1 % then 0.06 % (land), 0.5 % then 0.35 % (pad). At refine 1.5 half a layer
(12.7 µm) gives 4 % less, a sixth (4.23 µm) 1-2 % more. The scatter between meshes of nearly
one density is 2-3 % at refine 1.5 (1.45, 1.5, 1.55) and below 1 % at refine 2 (1.95, 2,
2.05)."""
FAR_SIDE = 1e-6
"""Distance (mm) beyond a block-plane facet at which the material of the global model is
sought (:func:`cut_facets`): far above round-off, far below any feature."""


@dataclass(frozen=True)
class SubmodelSpec:
    """The block and mesh of a local model (module docstring).

    Attributes
    ----------
    half_width : float or None
        Half-width of the block about the joint centre (mm), the same along x and y; None: half
        the array pitch along each.
    die_fraction, substrate_fraction : float
        Fractions (0, 1] of the die and substrate thickness inside the block.
    refine : float
        The design's element sizes are divided by it, in (0, :data:`MAX_REFINE`].
    rim_size : float or None
        Element size (mm, at ``refine`` 1; divided by ``refine`` like the design's sizes) on
        the rim circles of the joint's land and pad interfaces, in (0, :data:`DARVEAUX_LAYER`],
        growing linearly to the joint size over a fixed distance (:func:`rim_sizing`);
        :data:`RIM_SIZE` gives the converged family (module docstring). None (default): no rim
        refinement, the design's sizes divided by ``refine``, so ``refine`` 1 is the global
        mesh's density and reproduces the global joint (the consistency checks of
        tests/test_submodel.py). With the rim zone, ``refine`` 1 differs from the global
        joint by what the global mesh leaves unresolved (seed000_bare_3d, :data:`RIM_SIZE`:
        creep-driven layer energy +5.5 % / +24 % land / pad side, elastic −2.5 % / −4.5 %).
    """

    half_width: float | None = None
    die_fraction: float = 1.0
    substrate_fraction: float = 1.0
    refine: float = 1.0
    rim_size: float | None = None

    def __post_init__(self) -> None:
        """Validate the values (DesignError naming ``submodel.<key>``)."""
        hw = self.half_width
        if hw is not None and (isinstance(hw, bool) or not isinstance(hw, (int, float))
                               or not math.isfinite(hw) or hw <= 0):
            raise DesignError("submodel.half_width", hw, "a length > 0 mm, or None for half "
                              "the pitch")
        for key in ("die_fraction", "substrate_fraction"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
                raise DesignError(f"submodel.{key}", v, "a fraction in (0, 1]")
        r = self.refine
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 < r <= MAX_REFINE:
            raise DesignError("submodel.refine", r, f"a factor in (0, {MAX_REFINE:g}]")
        h = self.rim_size
        if h is not None and (isinstance(h, bool) or not isinstance(h, (int, float))
                              or not 0 < h <= DARVEAUX_LAYER):
            raise DesignError("submodel.rim_size", h, f"a size in (0, {DARVEAUX_LAYER:g}] mm "
                              "(at most the Darveaux layer), or None")


@dataclass(frozen=True)
class LocalMesh:
    """The mesh of a local model and how it is driven.

    Attributes
    ----------
    mesh : PackageMesh
        3D mesh of the block (``regions`` the restricted solids; boundaries those of the cell
        in the block plus :data:`CUT`; ``supports`` the symmetry faces in the block).
    bump : int
        The joint's index in the cell.
    block : Box
        The block, cut to the cell (mm).
    driven : dict[str, str]
        Boundary -> displacement components prescribed from the global model.
    spec : SubmodelSpec
        What built it.
    """

    mesh: PackageMesh
    bump: int
    block: Box
    driven: dict[str, str]
    spec: SubmodelSpec


def block(design: Design, bump: int, spec: SubmodelSpec | None = None) -> Box:
    """The block of the local model of joint ``bump`` of ``design``'s cell (mm), uncut."""
    spec = spec or SubmodelSpec()
    cell = design.cell
    if cell is None:
        raise DesignError("model", design.model, "a submodel needs model = '3d'")
    if isinstance(bump, bool) or not isinstance(bump, (int, np.integer)) or \
            not 0 <= bump < len(cell.bumps):
        raise DesignError("submodel.bump", bump, f"a bump index of the cell, 0 to "
                          f"{len(cell.bumps) - 1}")
    px, py = design.bumps.pitch_xy
    hx, hy = (px / 2, py / 2) if spec.half_width is None else (spec.half_width,) * 2
    reach = max(design.joint.half_width, design.bumps.pad_diameter / 2,
                design.rerouting.land_diameter / 2)
    if min(hx, hy) <= reach:
        raise DesignError("submodel.half_width", spec.half_width if spec.half_width is not None
                          else min(hx, hy), f"must exceed the joint's half-width {reach:.4g} mm")
    h = stack(design)
    (xc, yc) = cell.bumps[bump].center
    z0 = h.substrate * (1.0 - spec.substrate_fraction)
    z1 = h.die_bottom + spec.die_fraction * design.die.thickness
    return Box(xc - hx, yc - hy, z0, xc + hx, yc + hy, z1)


def local_design(design: Design, refine: float) -> Design:
    """``design`` with its element sizes divided by ``refine``."""
    if refine == 1.0:
        return design
    return dataclasses.replace(design, mesh=MeshSpec(**design.mesh.refined(refine)))


def rim_sizing(design: Design, bump: int, spec: SubmodelSpec
               ) -> dict[str, tuple[float, float]]:
    """The rim refinement of joint ``bump``: interface -> (size, reach) (mm), for ``build_mesh3d``.

    Size ``spec.rim_size / spec.refine`` on the rim; it reaches the joint size at the distance
    where the refine-1 mesh reaches it growing by :data:`wlcsp.mesh3d.GRADING_3D` per unit
    distance. That distance does not change with ``refine``, so every size of the rim zone is
    divided by ``refine``: the meshes of one ``rim_size`` are one family. Empty when
    ``spec.rim_size`` is None.
    """
    if spec.rim_size is None:
        return {}
    joint = sizes(design)[1]
    if spec.rim_size >= joint:
        raise DesignError("submodel.rim_size", spec.rim_size, f"must be below the joint's "
                          f"element size {joint:g} mm")
    reach = (joint - spec.rim_size) / GRADING_3D
    h = spec.rim_size / spec.refine
    return {f"bump_{bump}_{side}": (h, reach) for side in ("top", "bottom")}


def cut_facets(pm: PackageMesh, design: Design) -> np.ndarray:
    """Boundary facets of the local mesh ``pm`` that are interior to ``design``'s cell.

    On a plane of the block (``pm.regions.box``) that is not a plane of the cell, with material
    of the cell :data:`FAR_SIDE` beyond the facet's centroid (module docstring).
    """
    cell = build_solids(design)
    box, whole = pm.regions.box, cell.box
    mesh = pm.mesh
    facets = mesh.boundary_facets()
    corners = mesh.p[:, mesh.facets[:, facets]]  # (3, 3, nf)
    centroid = corners.mean(axis=1)
    found = []
    lo = (box.x0, box.y0, box.z0)
    hi = (box.x1, box.y1, box.z1)
    cell_lo = (whole.x0, whole.y0, whole.z0)
    cell_hi = (whole.x1, whole.y1, whole.z1)
    for axis in range(3):
        for c, sign, ends in ((lo[axis], -1.0, cell_lo[axis]), (hi[axis], 1.0, cell_hi[axis])):
            if abs(c - ends) <= EPS:
                continue  # a plane of the cell: symmetry, plane face or free surface
            on = np.all(np.abs(corners[axis] - c) <= EPS, axis=0)
            beyond = centroid[:, on].copy()
            beyond[axis] += sign * FAR_SIDE
            found.append(facets[on][cell.contains(beyond)])
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def build_local_mesh(design: Design, bump: int, spec: SubmodelSpec | None = None
                     ) -> LocalMesh:
    """Mesh the block of joint ``bump`` of ``design``'s cell (module docstring)."""
    spec = spec or SubmodelSpec()
    roi = block(design, bump, spec)
    pm = build_mesh3d(local_design(design, spec.refine), roi=roi,
                      rims=rim_sizing(design, bump, spec))
    cut = cut_facets(pm, design)
    if cut.size == 0:
        raise MeshError(f"the block {roi} of bump {bump} has no face inside the cell: "
                        "it is the whole cell, which needs no submodel")
    mesh = pm.mesh.with_boundaries({**pm.mesh.boundaries, CUT: cut})
    pm = dataclasses.replace(pm, mesh=mesh)
    driven = {CUT: "xyz", **{face: comp for face, comp in design.cell.plane.items()
                             if face in pm.regions.faces}}
    return LocalMesh(mesh=pm, bump=bump, block=pm.regions.box, driven=driven, spec=spec)
