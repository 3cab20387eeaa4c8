"""Regions -> gmsh model (OCC, conforming by fragment, graded sizes) -> scikit-fem mesh.

The mesh is read from the live gmsh model through its API, not from a file: scikit-fem's meshio
reader drops the line3 boundary tags of second-order meshes and renumbers high-order nodes
(``shared/reference/skfem_notes.md``), so nodes, elements and physical groups are mapped here and
the result is checked: every material region and named boundary present and non-empty, every
element in exactly one material region.

Element sizes (mm), each a gmsh Box field combined by Min: ``mesh.size`` far from the joints;
``mesh.bump_size`` in and around each joint, land and pad; at least
``mesh.layer_elements`` (at least two) elements through every layer, land metal and pad; sizes
grow away from each refined box by :data:`GRADING` (mm of size per mm of distance).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import gmsh
import meshio
import numpy as np
import skfem

from .design import Design
from .errors import MeshError
from .geometry import Compound, Polygon, Rect, Region, Regions, Shape, build_regions
from .mesh3d import build_mesh3d, min_dihedral_angle, write_vtu3d
from .package_mesh import PackageMesh, gmsh_session

__all__ = ["PackageMesh", "build_mesh", "min_angle", "to_meshio", "write_vtu"]

GRADING = 0.4
"""Growth of the element size per unit distance from a refined feature (mm/mm)."""
_EPS = 1e-5
"""Tolerance (mm) of bounding-box queries; OCC pads its boxes, features are ≥ 1 µm."""
_TRI = {1: 2, 2: 9}  # gmsh element type of a triangle of that order
_LINE = {1: 1, 2: 8}


def _surface(shape: Shape) -> list[tuple[int, int]]:
    occ = gmsh.model.occ
    if isinstance(shape, Compound):
        return [dt for part in shape.parts for dt in _surface(part)]
    if isinstance(shape, Rect):
        return [(2, occ.addRectangle(shape.x0, shape.y0, 0, shape.x1 - shape.x0,
                                     shape.y1 - shape.y0))]
    if isinstance(shape, Polygon):
        pts = [occ.addPoint(x, y, 0) for x, y in shape.points]
        lines = [occ.addLine(a, b) for a, b in zip(pts, pts[1:] + pts[:1], strict=True)]
        return [(2, occ.addPlaneSurface([occ.addCurveLoop(lines)]))]
    j = shape.joint
    xc, yc = shape.center
    r = j.radius
    disk = occ.addDisk(xc, yc, 0, r, r)
    box = occ.addRectangle(xc - 2 * r, shape.y0, 0, 4 * r, j.height)
    out, _ = occ.intersect([(2, disk)], [(2, box)])
    if j.neck > 0:
        neck = occ.addRectangle(xc - j.top_radius, shape.y0 + j.height, 0, 2 * j.top_radius,
                                j.neck)
        out, _ = occ.fuse(out, [(2, neck)])
    if xc == 0.0:
        half = occ.addRectangle(0, shape.y0 - r, 0, 2 * r, j.height + j.neck + 2 * r)
        out, _ = occ.intersect(out, [(2, half)])
    return out


def _feature_size(reg: Region, design: Design) -> float | None:
    """Target size inside a refined region, None for the coarse ones (die, substrate)."""
    spec = design.mesh
    if reg.kind in ("die", "substrate", "underfill"):
        return None
    if reg.kind == "bump":
        return spec.bump_size
    shape = reg.shape
    if isinstance(shape, Rect):
        thickness = shape.y1 - shape.y0
    else:  # the top coat between its openings
        thickness = design.top_coat.thickness if design.top_coat else spec.size
    base = spec.size if reg.kind == "layer" else spec.bump_size
    return max(min(base, thickness / spec.layer_elements), spec.min_size)


def _bbox(shape: Shape) -> tuple[float, float, float, float]:
    if isinstance(shape, Compound):
        boxes = [_bbox(p) for p in shape.parts]
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes))
    if isinstance(shape, Rect):
        return shape.x0, shape.y0, shape.x1, shape.y1
    if isinstance(shape, Polygon):
        xs, ys = zip(*shape.points, strict=True)
        return min(xs), min(ys), max(xs), max(ys)
    j = shape.joint
    w = j.half_width
    return max(shape.xc - w, 0.0), shape.y0, shape.xc + w, shape.y0 + j.height + j.neck


def _size_fields(regions: Regions, design: Design) -> None:
    field_ = gmsh.model.mesh.field
    coarse = design.mesh.size
    ids = []
    for reg in regions.regions:
        h = _feature_size(reg, design)
        if h is None or h >= coarse:
            continue
        x0, y0, x1, y1 = _bbox(reg.shape)
        f = field_.add("Box")
        for key, value in (("VIn", h), ("VOut", coarse), ("XMin", x0), ("XMax", x1),
                           ("YMin", y0), ("YMax", y1), ("ZMin", -1), ("ZMax", 1),
                           ("Thickness", (coarse - h) / GRADING)):
            field_.setNumber(f, key, value)
        ids.append(f)
    if ids:
        fmin = field_.add("Min")
        field_.setNumbers(fmin, "FieldsList", ids)
        field_.setAsBackgroundMesh(fmin)
    for key, value in (("Mesh.MeshSizeExtendFromBoundary", 0), ("Mesh.MeshSizeFromPoints", 0),
                       ("Mesh.MeshSizeFromCurvature", 0), ("Mesh.MeshSizeMax", coarse),
                       ("Mesh.MeshSizeMin", design.mesh.min_size), ("Mesh.Algorithm", 6),
                       ("Mesh.ElementOrder", 1)):
        gmsh.option.setNumber(key, value)


def _curves_in(x0: float, y0: float, x1: float, y1: float) -> list[int]:
    tags = gmsh.model.getEntitiesInBoundingBox(x0 - _EPS, y0 - _EPS, -_EPS, x1 + _EPS,
                                               y1 + _EPS, _EPS, dim=1)
    return [t for _, t in tags]


def _build_model(regions: Regions, design: Design) -> tuple[dict[str, list[int]],
                                                           dict[str, list[int]]]:
    """Create the OCC geometry and physical groups; return region->surfaces, name->curves."""
    occ = gmsh.model.occ
    inputs = [_surface(reg.shape) for reg in regions.regions]
    for k, reg in enumerate(regions.regions):
        if reg.cut_by_others:
            tools = [dt for reg2, dts in zip(regions.regions, inputs, strict=True)
                     if reg2.kind in ("bump", "pad", "land") for dt in dts]
            inputs[k], _ = occ.cut(inputs[k], tools, removeObject=True, removeTool=False)
    flat = [dt for dts in inputs for dt in dts]
    _, out_map = occ.fragment(flat[:1], flat[1:])
    occ.synchronize()
    surfaces: dict[str, list[int]] = {}
    k = 0
    for reg, dts in zip(regions.regions, inputs, strict=True):
        surfaces[reg.name] = sorted({t for m in out_map[k:k + len(dts)] for _, t in m})
        k += len(dts)
    owners: dict[int, str] = {}
    for name, tags in surfaces.items():
        for t in tags:
            if t in owners:
                raise MeshError(f"regions {owners[t]} and {name} overlap")
            owners[t] = name
    curves: dict[str, list[int]] = {
        "axis": _curves_in(0, 0, 0, regions.height),
        "bottom": _curves_in(0, 0, regions.width, 0),
    }
    for itf in regions.interfaces:
        bump = set(surfaces[itf.name.rsplit("_", 1)[0]])
        curves[itf.name] = [c for c in _curves_in(itf.x0, itf.y, itf.x1, itf.y)
                            if bump & set(gmsh.model.getAdjacencies(1, c)[0])]
    return surfaces, curves


def _extract(order: int, surfaces: dict[str, list[int]], curves: dict[str, list[int]]
             ) -> tuple[skfem.Mesh, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Build the skfem mesh (vertices numbered first) with subdomains and boundaries."""
    tags, coords, _ = gmsh.model.mesh.getNodes()
    xy = coords.reshape(-1, 3)[:, :2]
    index = np.zeros(int(tags.max()) + 1, dtype=np.int64)
    index[tags.astype(np.int64)] = np.arange(len(tags))
    blocks, owners = [], {}
    count = 0
    for name, stags in surfaces.items():
        conn = []
        for s in stags:
            types, _, nodes = gmsh.model.mesh.getElements(2, s)
            for typ, nd in zip(types, nodes, strict=True):
                if typ != _TRI[order]:
                    raise MeshError(f"region {name}: unexpected gmsh element type {typ}")
                conn.append(index[nd.astype(np.int64)].reshape(-1, 3 * order))
        t = np.vstack(conn) if conn else np.zeros((0, 3 * order), dtype=np.int64)
        blocks.append(t)
        owners[name] = np.arange(count, count + len(t))
        count += len(t)
    t_all = np.vstack(blocks).T
    # vertices first, then the mid-side nodes: the numbering skfem expects
    verts = np.unique(t_all[:3])
    rest = np.setdiff1d(np.unique(t_all), verts)
    renum = np.full(len(xy), -1, dtype=np.int64)
    renum[verts] = np.arange(len(verts))
    renum[rest] = len(verts) + np.arange(len(rest))
    used = np.concatenate([verts, rest])
    t_new = renum[t_all]
    points = xy[used].T
    cls = skfem.MeshTri2 if order == 2 else skfem.MeshTri1
    mesh = cls(points, t_new)
    # boundary facets: match the end vertices of gmsh line elements to skfem facets
    nv = mesh.nvertices
    facet_keys = mesh.facets.min(axis=0).astype(np.int64) * nv + mesh.facets.max(axis=0)
    order_ = np.argsort(facet_keys)
    bnd = {}
    for name, ctags in curves.items():
        keys = []
        for c in ctags:
            types, _, nodes = gmsh.model.mesh.getElements(1, c)
            for nd in nodes:
                ends = renum[index[nd.astype(np.int64)].reshape(-1, order + 1)[:, :2]]
                keys.append(ends.min(axis=1) * nv + ends.max(axis=1))
        keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
        pos = np.searchsorted(facet_keys, keys, sorter=order_)
        found = order_[np.minimum(pos, len(order_) - 1)]
        if len(keys) and not np.all(facet_keys[found] == keys):
            raise MeshError(f"boundary {name}: line elements do not match mesh facets")
        bnd[name] = np.sort(found)
    return mesh, owners, bnd


def build_mesh(design: Design, msh: str | Path | None = None) -> PackageMesh:
    """Mesh ``design``; write the gmsh ``.msh`` (MSH 4.1) too when ``msh`` is given.

    A 3D design (``model = "3d"``) meshes its symmetry cell: :func:`wlcsp.mesh3d.build_mesh3d`.
    """
    if design.model == "3d":
        return build_mesh3d(design, msh)
    start = time.perf_counter()
    regions = build_regions(design)
    order = design.mesh.order
    with gmsh_session():
        surfaces, curves = _build_model(regions, design)
        for name, tags in surfaces.items():
            gmsh.model.addPhysicalGroup(2, tags, name=name)
        groups = {f"land_{i}": [r.name for r in regions.regions if r.kind == "land"
                                and r.bump == i] for i in range(len(design.dnp))}
        for name, members in groups.items():
            gmsh.model.addPhysicalGroup(2, [t for m in members for t in surfaces[m]], name=name)
        for name, tags in curves.items():
            gmsh.model.addPhysicalGroup(1, tags, name=name)
        _size_fields(regions, design)
        gmsh.model.mesh.generate(2)
        if order == 2:
            gmsh.model.mesh.setOrder(2)
        mesh, owners, bnd = _extract(order, surfaces, curves)
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
    mesh = mesh.with_subdomains(owners).with_boundaries(bnd)
    return PackageMesh(
        mesh=mesh, materials={r.name: design.material(r.material) for r in regions.regions},
        stress_free={r.name: r.stress_free for r in regions.regions}, model=design.model,
        order=order, regions=regions, dnp=design.dnp, seconds=time.perf_counter() - start,
        groups=groups)


def to_meshio(pm: PackageMesh) -> meshio.Mesh:
    """The mesh as meshio triangles (triangle6 when quadratic) with region ids as cell data."""
    m = pm.mesh
    if pm.order == 2:
        cells = [("triangle6", m.dofs.element_dofs[:6].T)]
        points = m.doflocs.T
    else:
        cells = [("triangle", m.t.T)]
        points = m.p.T
    points = np.column_stack([points, np.zeros(len(points))])
    return meshio.Mesh(points, cells, cell_data={"material_id": [pm.material_ids]})


def write_vtu(pm: PackageMesh, path: str | Path) -> None:
    """Write the mesh with its material ids to a ``.vtu`` file (ParaView)."""
    if pm.dim == 3:
        write_vtu3d(pm, path)
        return
    to_meshio(pm).write(str(path))


def min_angle(pm: PackageMesh) -> float:
    """Smallest interior angle (degrees) of the straight-sided triangles of the mesh.

    3D meshes: the smallest dihedral angle of the straight-sided tetrahedra
    (:func:`wlcsp.mesh3d.min_dihedral_angle`).
    """
    if pm.dim == 3:
        return min_dihedral_angle(pm)
    p, t = pm.mesh.p, pm.mesh.t
    worst = math.pi
    for k in range(3):
        a, b, c = p[:, t[k]], p[:, t[(k + 1) % 3]], p[:, t[(k + 2) % 3]]
        u, v = b - a, c - a
        cos = np.einsum("ij,ij->j", u, v) / (np.linalg.norm(u, axis=0) * np.linalg.norm(v, axis=0))
        worst = min(worst, float(np.arccos(np.clip(cos, -1.0, 1.0)).min()))
    return math.degrees(worst)
