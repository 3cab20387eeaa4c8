"""Solids of the 3D cell -> gmsh model (OCC, conforming by fragment, graded) -> MeshTet2.

The 3D counterpart of :mod:`wlcsp.mesh`; :func:`wlcsp.mesh.build_mesh`, ``write_vtu`` and
``min_angle`` dispatch here when ``design.model == "3d"``. Region, boundary and bump names are
the 2D ones (``die``, layer names, ``land_<i>``, ``land_<i>_<k>``, ``bump_<i>``, ``pad_<i>``,
``substrate``, ``underfill``, ``top_coat``; boundaries ``bottom``, ``bump_<i>_top``,
``bump_<i>_bottom``) plus one facet set per cut face of the cell (``sym_x``, ``sym_y``,
``plane_y``: ``cell.faces``). The mesh is read from the live gmsh model (nodes, elements,
physical groups), as in 2D, and checked: every region and named boundary non-empty, every
element in exactly one material region.

Geometry
--------
Every solid of :func:`wlcsp.geometry3d.build_solids` is built as an OCC volume (joints: a sphere
intersected with the slab between the pad and land planes, fused with the neck cylinder, clipped
to the cell), then all are fragmented together so that every interface is conforming. A fragment
piece claimed by several solids goes to the one of highest ``priority``: the underfill box and
the top-coat box thereby lose the joints, pads and lands inside them.

Element sizes (3D)
------------------
The 2D sizes would give millions of tetrahedra, so a 3D model meshes at
:data:`SIZE_FACTOR_3D` times the design's ``mesh.size`` and ``mesh.bump_size`` (the refinement
semantics of :meth:`wlcsp.design.MeshSpec.refined` are kept: halve them and the 3D mesh halves
too). With the default ``size = 0.05``, ``bump_size = 0.008``: 0.3 mm in die and substrate far
from the joints and 0.048 mm (about 6 P2 elements across a 0.3 mm joint) in a box around each
joint, its pad and its land (reaching :data:`JOINT_MARGIN` of the joint width beyond it),
growing away from it by :data:`GRADING_3D` mm per mm. Seed 000 strip (8 joints): about 30-45k
tetrahedra, 150-190k DOFs, 2 s of meshing (``benchmarks/mesh3d_time.py``), sized for an elastic
3D run under 60 s on 2 cores. A local model can add graded refinement about the rim circles of
its joint's interfaces (``rims`` of :func:`build_mesh3d`, :mod:`wlcsp.submesh`).

Thin layers (the 3D alternative to ``mesh.layer_elements``)
-----------------------------------------------------------
Two elements through every 3-15 µm layer would need 1.5-7.5 µm tetrahedra all over the die
footprint. Instead each thin layer (land metals, pads, polyimide, top coat) gets at least ONE
quadratic tetrahedron through its thickness, with an in-plane size of at most
:data:`THIN_ASPECT` times its thickness where a layer is thinner than the local size would be
(a flat but well-shaped element: P2 represents the linear-through-thickness strain of a
membrane layer in one element). The land-side stack the tetrahedra then see is 3 µm Ni at
30 µm, 10 µm Cu and 18 µm pad at the joint size, 15 µm polyimide at 150 µm.

Measured accuracy (``benchmarks/mesh3d_time.py --thin-check``: a one-joint quarter coupon,
uniform cooling 125 -> -40 °C, elastic P2), volume-averaged von Mises stress of the default mesh
(2,016 tetrahedra) against a reference with near-isotropic elements in the thin layers
(``THIN_ASPECT`` = 2.5) and the joint sizes halved (10,530 tetrahedra): joint +2.4 %, Cu land
+3.1 %, Ni land −1.4 %, pad −1.3 %, polyimide +0.9 % (die +7 %, substrate +8 %, both at under
3 MPa and coarse by design). The reference with ``THIN_ASPECT`` = 2.5 alone costs 3.8x the
elements for 0.5-2 % changes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path

import gmsh
import meshio
import numpy as np
import skfem

from .design import Design
from .errors import MeshError
from .geometry3d import (
    Box,
    Disc,
    Fillet,
    JointSolid,
    Shape3,
    Solid,
    Solids,
    build_solids,
    restrict,
)
from .package_mesh import PackageMesh, gmsh_session

SIZE_FACTOR_3D = 6.0
"""3D target sizes are this times ``mesh.size`` and ``mesh.bump_size`` (module docstring)."""
GRADING_3D = 1.0
"""Growth of the element size per unit distance from a joint (mm/mm)."""
THIN_ASPECT = 10.0
"""Largest in-plane size of an element through a thin layer, in layer thicknesses."""
JOINT_MARGIN = 0.15
"""The fine box around a joint reaches this fraction of the joint width beyond it."""
GMSH_TET10_TO_SKFEM = np.array([0, 1, 2, 3, 4, 5, 6, 7, 9, 8])
"""Node k of a skfem MeshTet2 / VTK tetra10 element is node GMSH_TET10_TO_SKFEM[k] of the gmsh
10-node tetrahedron: gmsh numbers the edge nodes (01)(12)(20)(30)(32)(31), skfem's ``RefTet.edges``
and VTK (01)(12)(02)(03)(13)(23); checked by tests/test_mesh3d.py with an exact quadratic."""
OPTIMIZE_NETGEN = True
"""Run gmsh's Netgen optimizer after the Delaunay mesh: the smallest dihedral angle of the seed
meshes rises from 0.1-2 degrees (slivers at thin layers) to about 4 degrees, for about three
times the meshing time (measured: seed 000 underfill strip 2.1 s -> 6.2 s, 45k -> 53k
tetrahedra; seed 001 in 3D 4.2 s -> 11.8 s). gmsh's HXT algorithm gave 3.2 degrees at 7-20x
the time."""
_EPS = 1e-6
"""Tolerance (mm) of bounding-box queries."""
_TET = {1: 4, 2: 11}  # gmsh element type of a tetrahedron of that order
_TRI = {1: 2, 2: 9}


def sizes(design: Design) -> tuple[float, float]:
    """(coarse, joint) target element sizes of the 3D mesh of ``design`` (mm)."""
    return (SIZE_FACTOR_3D * design.mesh.size, SIZE_FACTOR_3D * design.mesh.bump_size)


def _cell_clip(x0: float, y0: float, z0: float, x1: float, y1: float, z1: float,
               box: Box) -> int:
    """An OCC box of the given extent intersected with the cell box (as a new box)."""
    a = (max(x0, box.x0), max(y0, box.y0), z0)
    b = (min(x1, box.x1), min(y1, box.y1), z1)
    return gmsh.model.occ.addBox(*a, b[0] - a[0], b[1] - a[1], b[2] - a[2])


def _prism(points: list[tuple[float, float, float]], d: tuple[float, float, float]) -> int:
    occ = gmsh.model.occ
    pts = [occ.addPoint(*p) for p in points]
    lines = [occ.addLine(a, b) for a, b in zip(pts, pts[1:] + pts[:1], strict=True)]
    surf = occ.addPlaneSurface([occ.addCurveLoop(lines)])
    out = occ.extrude([(2, surf)], *d)
    return next(t for dim, t in out if dim == 3)


def _volumes(shape: Shape3, box: Box) -> list[tuple[int, int]]:
    """OCC volumes of one shape, clipped to the cell box."""
    occ = gmsh.model.occ
    if isinstance(shape, Box):
        return [(3, occ.addBox(shape.x0, shape.y0, shape.z0, shape.x1 - shape.x0,
                               shape.y1 - shape.y0, shape.z1 - shape.z0))]
    if isinstance(shape, Disc):
        out = [(3, occ.addCylinder(shape.xc, shape.yc, shape.z0, 0, 0, shape.z1 - shape.z0,
                                   shape.r))]
        if shape.fraction < 1:
            r = shape.r
            clip = _cell_clip(shape.xc - 2 * r, shape.yc - 2 * r, shape.z0 - 1,
                              shape.xc + 2 * r, shape.yc + 2 * r, shape.z1 + 1, box)
            out, _ = occ.intersect(out, [(3, clip)])
        return out
    if isinstance(shape, JointSolid):
        j = shape.joint
        r = j.radius
        sphere = occ.addSphere(shape.xc, shape.yc, shape.z0 + j.center, r)
        clip = _cell_clip(shape.xc - 2 * r, shape.yc - 2 * r, shape.z0, shape.xc + 2 * r,
                          shape.yc + 2 * r, shape.z0 + j.height, box)
        out, _ = occ.intersect([(3, sphere)], [(3, clip)])
        if j.neck > 0:
            neck = occ.addCylinder(shape.xc, shape.yc, shape.z0 + j.height, 0, 0, j.neck,
                                   j.top_radius)
            clip = _cell_clip(shape.xc - 2 * r, shape.yc - 2 * r, shape.z0, shape.xc + 2 * r,
                              shape.yc + 2 * r, shape.z0 + j.height + j.neck, box)
            neck_in, _ = occ.intersect([(3, neck)], [(3, clip)])
            out, _ = occ.fuse(out, neck_in)
        return out
    assert isinstance(shape, Fillet)
    f, L, W, z0, z1 = shape.width, shape.L, shape.W, shape.z0, shape.z1
    # prism A along the edge x = L (triangle in x-z, extruded in y), B along y = W
    a = _prism([(L, shape.y0, z0), (L + f, shape.y0, z0), (L, shape.y0, z1)],
               (0, W + f - shape.y0, 0))
    b = _prism([(box.x0, W, z0), (box.x0, W + f, z0), (box.x0, W, z1)], (L + f - box.x0, 0, 0))
    corner, _ = occ.intersect([(3, a)], [(3, b)], removeObject=False, removeTool=False)
    a_in, _ = occ.intersect([(3, a)], [(3, occ.addBox(L - 1, shape.y0, z0 - 1, f + 2,
                                                      W - shape.y0, z1 - z0 + 2))])
    b_in, _ = occ.intersect([(3, b)], [(3, occ.addBox(box.x0, W - 1, z0 - 1, L - box.x0,
                                                      f + 2, z1 - z0 + 2))])
    return a_in + b_in + corner


def _clipped(shape: Shape3, sol: Solids) -> list[tuple[int, int]]:
    """OCC volumes of one shape, cut to the region of interest ``sol.clip`` where it has one."""
    out = _volumes(shape, sol.box)
    c = sol.clip
    if c is not None and out and not c.encloses(shape.bounds()):
        block = gmsh.model.occ.addBox(c.x0, c.y0, c.z0, c.x1 - c.x0, c.y1 - c.y0, c.z1 - c.z0)
        out, _ = gmsh.model.occ.intersect(out, [(3, block)])
    return out


def _surfaces_in(x0: float, y0: float, z0: float, x1: float, y1: float, z1: float) -> list[int]:
    tags = gmsh.model.getEntitiesInBoundingBox(x0 - _EPS, y0 - _EPS, z0 - _EPS, x1 + _EPS,
                                               y1 + _EPS, z1 + _EPS, dim=2)
    return [t for _, t in tags]


def _build_model(sol: Solids) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Create the OCC geometry; return solid -> volumes and boundary name -> surfaces."""
    occ = gmsh.model.occ
    inputs = [[dt for part in s.parts for dt in _clipped(part, sol)] for s in sol.solids]
    flat = [dt for dts in inputs for dt in dts]
    _, out_map = occ.fragment(flat[:1], flat[1:])
    occ.synchronize()
    claims: dict[int, list[Solid]] = {}
    k = 0
    for s, dts in zip(sol.solids, inputs, strict=True):
        for t in {t for m in out_map[k:k + len(dts)] for _, t in m}:
            claims.setdefault(t, []).append(s)
        k += len(dts)
    volumes: dict[str, list[int]] = {s.name: [] for s in sol.solids}
    for t, owners in sorted(claims.items()):
        top = max(o.priority for o in owners)
        best = [o for o in owners if o.priority == top]
        if len(best) > 1:
            raise MeshError(f"solids {best[0].name} and {best[1].name} overlap")
        volumes[best[0].name].append(t)
    b = sol.box
    surfaces: dict[str, list[int]] = {}
    if b.z0 <= _EPS:  # a region of interest above the substrate bottom has no "bottom"
        surfaces["bottom"] = _surfaces_in(b.x0, b.y0, 0, b.x1, b.y1, 0)
    for name, (axis, c) in sol.faces.items():
        lo = [b.x0, b.y0, b.z0]
        hi = [b.x1, b.y1, b.z1]
        i = "xyz".index(axis)
        lo[i] = hi[i] = c
        surfaces[name] = _surfaces_in(*lo, *hi)
    for itf in sol.interfaces:
        bump = set(volumes[itf.name.rsplit("_", 1)[0]])
        r = itf.r
        surfaces[itf.name] = [s for s in _surfaces_in(itf.xc - r, itf.yc - r, itf.z,
                                                      itf.xc + r, itf.yc + r, itf.z)
                              if bump & set(gmsh.model.getAdjacencies(2, s)[0])]
    return volumes, surfaces


def _size_fields(sol: Solids, design: Design,
                 rims: Mapping[str, tuple[float, float]] | None = None) -> None:
    field_ = gmsh.model.mesh.field
    coarse, fine = sizes(design)
    ids = []

    def box(h: float, x0: float, y0: float, z0: float, x1: float, y1: float, z1: float,
            grading: float = GRADING_3D) -> None:
        if h >= coarse:
            return
        f = field_.add("Box")
        for key, value in (("VIn", h), ("VOut", coarse), ("XMin", x0), ("XMax", x1),
                           ("YMin", y0), ("YMax", y1), ("ZMin", z0), ("ZMax", z1),
                           ("Thickness", (coarse - h) / grading)):
            field_.setNumber(f, key, value)
        ids.append(f)

    for s in sol.solids:
        part = s.parts[0]
        if s.kind == "bump":
            assert isinstance(part, JointSolid)
            w = part.half_width * (1 + JOINT_MARGIN)
            zs = sol.region("substrate").parts[0]
            assert isinstance(zs, Box)
            z_top = max(p.parts[0].z1 for p in sol.solids if p.kind == "land")
            box(fine, part.xc - w, part.yc - w, zs.z1 - w * JOINT_MARGIN, part.xc + w,
                part.yc + w, z_top + w * JOINT_MARGIN)
        elif s.kind in ("layer", "top_coat", "land", "pad"):
            assert isinstance(part, (Box, Disc))
            t = part.z1 - part.z0
            h = max(THIN_ASPECT * t, design.mesh.min_size)
            if h < coarse:  # flat elements in the thin layer, growing quickly above/below
                if isinstance(part, Box):
                    box(h, part.x0, part.y0, part.z0, part.x1, part.y1, part.z1,
                        grading=1.0)
                else:
                    box(h, part.xc - part.r, part.yc - part.r, part.z0, part.xc + part.r,
                        part.yc + part.r, part.z1, grading=1.0)
    for name, (h, reach) in (rims or {}).items():
        itf = next((i for i in sol.interfaces if i.name == name), None)
        if itf is None:
            raise MeshError(f"rim refinement of {name!r}: no such interface in the mesh")
        # exact distance to the rim circle (a torus' tube radius), size h on it growing
        # linearly to the joint size at ``reach``, no constraint beyond
        dist = field_.add("MathEval")
        field_.setString(dist, "F", f"Sqrt((Sqrt((x-{itf.xc!r})^2+(y-{itf.yc!r})^2)"
                                    f"-{itf.r!r})^2+(z-{itf.z!r})^2)")
        f = field_.add("Threshold")
        for key, value in (("InField", dist), ("SizeMin", h), ("SizeMax", max(h, fine)),
                           ("DistMin", 0.0), ("DistMax", reach), ("StopAtDistMax", 1)):
            field_.setNumber(f, key, value)
        ids.append(f)
    if ids:
        fmin = field_.add("Min")
        field_.setNumbers(fmin, "FieldsList", ids)
        field_.setAsBackgroundMesh(fmin)
    for key, value in (("Mesh.MeshSizeExtendFromBoundary", 0), ("Mesh.MeshSizeFromPoints", 0),
                       ("Mesh.MeshSizeFromCurvature", 0), ("Mesh.MeshSizeMax", coarse),
                       ("Mesh.MeshSizeMin", design.mesh.min_size), ("Mesh.Algorithm", 6),
                       ("Mesh.Algorithm3D", 1), ("Mesh.ElementOrder", 1),
                       ("Mesh.Optimize", 1), ("Mesh.OptimizeNetgen", int(OPTIMIZE_NETGEN))):
        gmsh.option.setNumber(key, value)


def _extract(order: int, volumes: dict[str, list[int]], surfaces: dict[str, list[int]]
             ) -> tuple[skfem.Mesh, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Build the skfem tetrahedral mesh with subdomains (per solid) and boundaries."""
    tags, coords, _ = gmsh.model.mesh.getNodes()
    xyz = coords.reshape(-1, 3)
    index = np.zeros(int(tags.max()) + 1, dtype=np.int64)
    index[tags.astype(np.int64)] = np.arange(len(tags))
    npe = 4 if order == 1 else 10
    blocks, owners, count = [], {}, 0
    for name, vtags in volumes.items():
        conn = []
        for v in vtags:
            types, _, nodes = gmsh.model.mesh.getElements(3, v)
            for typ, nd in zip(types, nodes, strict=True):
                if typ != _TET[order]:
                    raise MeshError(f"region {name}: unexpected gmsh element type {typ}")
                conn.append(index[nd.astype(np.int64)].reshape(-1, npe))
        t = np.vstack(conn) if conn else np.zeros((0, npe), dtype=np.int64)
        blocks.append(t)
        owners[name] = np.arange(count, count + len(t))
        count += len(t)
    t_all = np.vstack(blocks)
    if order == 2:
        t_all = t_all[:, GMSH_TET10_TO_SKFEM]
    t_all = t_all.T
    verts = np.unique(t_all[:4])
    rest = np.setdiff1d(np.unique(t_all), verts)
    renum = np.full(len(xyz), -1, dtype=np.int64)
    renum[verts] = np.arange(len(verts))
    renum[rest] = len(verts) + np.arange(len(rest))
    used = np.concatenate([verts, rest])
    points = np.ascontiguousarray(xyz[used].T)
    cls = skfem.MeshTet2 if order == 2 else skfem.MeshTet1
    mesh = cls(points, renum[t_all])
    # skfem renumbers the vertices of a quadratic mesh (sorted unique of t[:4]); we numbered
    # them 0..nv-1 in that order already, so renum still maps gmsh nodes to skfem vertices
    nv = mesh.nvertices
    if nv >= 2_000_000:
        raise MeshError(f"{nv} vertices: too many for the facet keys")
    fac = np.sort(mesh.facets, axis=0).astype(np.int64)
    facet_keys = (fac[0] * nv + fac[1]) * nv + fac[2]
    order_ = np.argsort(facet_keys)
    bnd = {}
    for name, stags in surfaces.items():
        keys = []
        for s in stags:
            _, _, nodes = gmsh.model.mesh.getElements(2, s)
            for nd in nodes:
                tri = np.sort(renum[index[nd.astype(np.int64)].reshape(-1, 3 * order)[:, :3]],
                              axis=1)
                keys.append((tri[:, 0] * nv + tri[:, 1]) * nv + tri[:, 2])
        keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
        pos = np.searchsorted(facet_keys, keys, sorter=order_)
        found = order_[np.minimum(pos, len(order_) - 1)]
        if len(keys) and not np.all(facet_keys[found] == keys):
            raise MeshError(f"boundary {name}: triangles do not match mesh facets")
        bnd[name] = np.sort(found)
    return mesh, owners, bnd


def build_mesh3d(design: Design, msh: str | Path | None = None, roi: Box | None = None,
                 rims: Mapping[str, tuple[float, float]] | None = None):
    """Mesh the 3D cell of ``design``; write the gmsh ``.msh`` (MSH 4.1) when ``msh`` is given.

    Returns a :class:`wlcsp.mesh.PackageMesh` with ``dim = 3``, ``regions`` the
    :class:`wlcsp.geometry3d.Solids` (exact volumes), ``supports`` the cell's symmetry faces and
    ``plane_faces`` its plane-remaining faces.

    ``roi`` (mm) meshes only that block of the cell (:func:`wlcsp.geometry3d.restrict`): the
    solids, bumps (by their cell index, ``dnp`` theirs), interfaces and cell faces in it, with
    the symmetry faces it touches as ``supports``; the plane faces it touches are named
    boundaries but not ``plane_faces`` (a part of a plane face is not plane with zero net force:
    a submodel prescribes it, :mod:`wlcsp.submesh`).

    ``rims`` maps interface names (``bump_<i>_top``, ``bump_<i>_bottom``) to (size, reach) in
    mm: the element size on the interface's rim circle (the bimaterial edge where the joint
    meets its land or pad, singular in stress), growing linearly with the distance from the
    circle to the joint size at ``reach`` (a graded refinement that the size fields above
    cannot give: they are boxes; :class:`wlcsp.submesh.SubmodelSpec` ``rim_size``).
    """
    start = time.perf_counter()
    sol = build_solids(design)
    if roi is not None:
        sol = restrict(sol, roi)
    bumps = sorted({s.bump for s in sol.solids if s.kind == "bump"})
    order = design.mesh.order
    with gmsh_session():
        volumes, surfaces = _build_model(sol)
        for name, tags in volumes.items():
            gmsh.model.addPhysicalGroup(3, tags, name=name)
        groups = {f"land_{i}": [s.name for s in sol.solids if s.kind == "land" and s.bump == i]
                  for i in bumps}
        groups = {name: members for name, members in groups.items() if members}
        for name, members in groups.items():
            gmsh.model.addPhysicalGroup(3, [t for m in members for t in volumes[m]], name=name)
        for name, tags in surfaces.items():
            gmsh.model.addPhysicalGroup(2, tags, name=name)
        _size_fields(sol, design, rims)
        gmsh.model.mesh.generate(3)
        if order == 2:
            gmsh.model.mesh.setOrder(2)
        mesh, owners, bnd = _extract(order, volumes, surfaces)
        if msh is not None:
            Path(msh).parent.mkdir(parents=True, exist_ok=True)
            gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
            gmsh.option.setNumber("Mesh.Binary", 1)
            gmsh.write(str(msh))
    for name, members in groups.items():
        owners[name] = np.sort(np.concatenate([owners[m] for m in members]))
    empty = [k for k, v in {**owners, **bnd}.items() if len(v) == 0]
    if empty:
        raise MeshError(f"empty region or boundary after meshing: {', '.join(empty)} "
                        f"(refine mesh.bump_size or check the geometry)")
    counts = np.zeros(mesh.nelements, dtype=np.int64)
    for s in sol.solids:
        counts[owners[s.name]] += 1
    if not np.all(counts == 1):
        raise MeshError("material regions do not partition the elements")
    mesh = mesh.with_subdomains(owners).with_boundaries(bnd)
    cell = design.cell
    plane = {} if roi is not None else dict(cell.plane)
    return PackageMesh(
        mesh=mesh, materials={s.name: design.material(s.material) for s in sol.solids},
        stress_free={s.name: s.stress_free for s in sol.solids}, model=design.model,
        order=order, regions=sol, dnp=tuple(cell.bumps[i].dnp for i in bumps),
        seconds=time.perf_counter() - start, groups=groups,
        supports={k: v for k, v in cell.symmetry.items() if k in sol.faces},
        plane_faces={k: v for k, v in plane.items() if k in sol.faces}, dim=3)


def to_meshio3d(pm) -> meshio.Mesh:
    """The mesh as meshio tetra10 (tetra when linear) cells with material ids as cell data."""
    m = pm.mesh
    if pm.order == 2:
        cells = [("tetra10", m.dofs.element_dofs[:10].T)]  # skfem order = VTK order
        points = m.doflocs.T
    else:
        cells = [("tetra", m.t.T)]
        points = m.p.T
    return meshio.Mesh(points, cells, cell_data={"material_id": [pm.material_ids]})


def write_vtu3d(pm, path: str | Path) -> None:
    """Write the mesh to a ``.vtu``: tetra10 cells, ``material_id`` per cell, region names.

    The names travel as VTU field data: one Int32 array per material region, named like it,
    holding its ``material_id`` (ParaView: Information panel; Threshold on ``material_id``).
    meshio's VTU writer drops field data, so the block is inserted into the XML it wrote.
    """
    path = Path(path)
    to_meshio3d(pm).write(str(path))
    arrays = "".join(f'<DataArray type="Int32" Name="{name}" NumberOfTuples="1" '
                     f'format="ascii">{k}</DataArray>' for k, name in enumerate(pm.materials))
    text = path.read_text(encoding="utf-8")
    tag = "<UnstructuredGrid>"
    if tag not in text:
        raise MeshError(f"{path}: unexpected VTU layout from meshio (no {tag})")
    path.write_text(text.replace(tag, f"{tag}<FieldData>{arrays}</FieldData>", 1),
                    encoding="utf-8")


def min_dihedral_angle(pm) -> float:
    """Smallest dihedral angle (degrees) of the straight-sided tetrahedra of the mesh."""
    p, t = pm.mesh.p, pm.mesh.t
    faces = ((1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2))
    normals = []
    for a, b, c in faces:
        n = np.cross((p[:, t[b]] - p[:, t[a]]).T, (p[:, t[c]] - p[:, t[a]]).T)
        opposite = ({0, 1, 2, 3} - {a, b, c}).pop()
        side = np.einsum("ij,ji->i", n, p[:, t[opposite]] - p[:, t[a]])
        n *= -np.sign(side)[:, None]  # outward
        normals.append(n / np.linalg.norm(n, axis=1, keepdims=True))
    worst = math.pi
    for i in range(4):
        for k in range(i + 1, 4):
            cos = -np.einsum("ij,ij->i", normals[i], normals[k])
            worst = min(worst, float(np.arccos(np.clip(cos, -1.0, 1.0)).min()))
    return math.degrees(worst)
