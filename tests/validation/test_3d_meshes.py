"""Small 3D test meshes: gmsh OCC solids as 10-node tetrahedra (MeshTet2) and structured bricks.

gmsh's 10-node tetrahedron and scikit-fem's ``MeshTet2`` order their edge nodes differently
(skfem_notes.md, "3D"), so :func:`gmsh_tet2` never relies on a table: it asks gmsh for the
reference coordinates of the element's nodes, finds the vertex pair of each edge node from them,
and puts every gmsh edge node on the skfem edge with those two vertices. The test here checks the
result with an exact quadratic field (interpolation of a quadratic is exact on straight-sided
P2 elements, so the strains at the quadrature points must be exact to round-off) and with the
bump volume of a curved solid (P2 geometry: a sphere's volume to ~1e-4, against ~1e-2 with
straight tets at the same size).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import gmsh
import numpy as np
import pytest
import skfem

from wlcsp.fem.kinematics import kinematics, strain

ROUNDOFF = 1e-9
"""Relative tolerance where the discrete field is exact."""

CURVED_VOLUME_TOL = 1e-3
"""Relative volume error of a P2 (curved) sphere octant at element size R/4 (measured 4e-5)."""


def gmsh_tet2(
    build: Callable[[], None], size: float,
    volumes: Callable[[tuple[float, ...]], str | None],
    surfaces: Callable[[tuple[float, ...]], str | None],
) -> skfem.MeshTet2:
    """Mesh the OCC solids made by ``build`` with 10-node tetrahedra of size ``size``.

    ``volumes`` and ``surfaces`` name each volume/surface entity from its bounding box
    (xmin, ymin, zmin, xmax, ymax, zmax), or return None to leave it out.
    """
    gmsh.initialize(readConfigFiles=False, interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("t")
        build()
        gmsh.model.occ.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMin", size)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.model.mesh.generate(3)
        gmsh.model.mesh.setOrder(2)
        tags, coords, _ = gmsh.model.mesh.getNodes()
        xyz = coords.reshape(-1, 3).T
        index = np.zeros(int(tags.max()) + 1, dtype=np.int64)
        index[tags.astype(np.int64)] = np.arange(tags.size)
        _, _, _, nn, local, _ = gmsh.model.mesh.getElementProperties(11)
        local = np.asarray(local).reshape(nn, 3)
        pairs = []
        for k in range(4, 10):  # the vertex pair whose midpoint is edge node k
            mid = [(a, b) for a in range(4) for b in range(a + 1, 4)
                   if np.allclose((local[a] + local[b]) / 2, local[k])]
            pairs.append(mid[0])
        elems, regions = [], {}
        for ent in gmsh.model.getEntities(3):
            name = volumes(gmsh.model.getBoundingBox(*ent))
            etags, enodes = gmsh.model.mesh.getElementsByType(11, ent[1])
            start = sum(len(e) for e in elems)
            elems.append(index[enodes.astype(np.int64)].reshape(-1, 10))
            if name is not None:
                regions.setdefault(name, []).append(np.arange(start, start + len(etags)))
        t10 = np.concatenate(elems).T  # (10, nelems), gmsh node numbers
        faces = {}
        for ent in gmsh.model.getEntities(2):
            name = surfaces(gmsh.model.getBoundingBox(*ent))
            if name is not None:
                _, fnodes = gmsh.model.mesh.getElementsByType(9, ent[1])
                faces.setdefault(name, []).append(index[fnodes.astype(np.int64)]
                                                  .reshape(-1, 6)[:, :3])
    finally:
        gmsh.finalize()
    verts, t = np.unique(t10[:4], return_inverse=True)
    t = t.reshape(4, -1)
    m1 = skfem.MeshTet1(xyz[:, verts], t)
    m2 = skfem.MeshTet2.from_mesh(m1)
    doflocs = m2.doflocs.copy()
    edge_of = {tuple(e): i for i, e in enumerate(m1.edges.T)}
    vert_index = np.full(xyz.shape[1], -1)
    vert_index[verts] = np.arange(verts.size)
    for k, (a, b) in enumerate(pairs):
        va, vb = vert_index[t10[a]], vert_index[t10[b]]
        e = np.array([edge_of[(min(p, q), max(p, q))] for p, q in zip(va, vb, strict=True)])
        doflocs[:, m1.nvertices + e] = xyz[:, t10[4 + k]]
    mesh = replace(m2, doflocs=doflocs)
    facet_of = {tuple(f): i for i, f in enumerate(mesh.facets.T)}
    boundaries = {}
    for name, tris in faces.items():
        v = np.sort(vert_index[np.concatenate(tris)], axis=1)
        boundaries[name] = np.array([facet_of[tuple(f)] for f in v])
    subdomains = {k: np.concatenate(v) for k, v in regions.items()}
    return mesh.with_subdomains(subdomains).with_boundaries(boundaries)


def brick_mesh(xs, ys, zs, layers: dict[str, tuple[float, float]]) -> skfem.MeshTet1:
    """Structured tetrahedra (6 per brick) with layer subdomains by z.

    The six faces are named ``x0``, ``x1``, ``y0``, ``y1``, ``bottom`` and ``top``.
    """
    mesh = skfem.MeshTet.init_tensor(np.asarray(xs, float), np.asarray(ys, float),
                                     np.asarray(zs, float))
    sub = {n: (lambda x, a=a, b=b: (x[2] > a) & (x[2] < b)) for n, (a, b) in layers.items()}
    lo, hi = mesh.p.min(axis=1), mesh.p.max(axis=1)
    return mesh.with_subdomains(sub).with_boundaries({
        "x0": lambda x: np.isclose(x[0], lo[0]), "x1": lambda x: np.isclose(x[0], hi[0]),
        "y0": lambda x: np.isclose(x[1], lo[1]), "y1": lambda x: np.isclose(x[1], hi[1]),
        "bottom": lambda x: np.isclose(x[2], lo[2]), "top": lambda x: np.isclose(x[2], hi[2])})


def box_by_planes(bbox, names):
    """Name a surface by the coordinate plane it lies in: ``names[(axis, value)]``."""
    lo, hi = np.asarray(bbox[:3]), np.asarray(bbox[3:])
    for (axis, value), name in names.items():
        if abs(lo[axis] - value) < 1e-6 and abs(hi[axis] - value) < 1e-6:
            return name
    return None


def _quadratic(x, y, z):
    """Field u = (xy + z², yz − x², xz + y²/2) and its engineering strain (Abaqus order)."""
    u = (x * y + z**2, y * z - x**2, x * z + 0.5 * y**2)
    eps = np.stack([y, z, x, x - 2 * x, 2 * z + z, y + y], axis=-1)
    return u, eps


def sphere_octant(radius: float, size: float) -> skfem.MeshTet2:
    def build():
        s = gmsh.model.occ.addSphere(0, 0, 0, radius)
        b = gmsh.model.occ.addBox(0, 0, 0, radius, radius, radius)
        gmsh.model.occ.intersect([(3, s)], [(3, b)])

    return gmsh_tet2(build, size, lambda bb: "ball",
                     lambda bb: box_by_planes(bb, {(0, 0.0): "sym_x", (1, 0.0): "sym_y",
                                                   (2, 0.0): "bottom"}))


@pytest.mark.parametrize("curved", [False, True])
def test_gmsh_tet10_node_mapping_is_exact_for_a_quadratic_field(curved):
    """A quadratic u is reproduced exactly by P2 on straight tets.

    The strain at every quadrature point is exact iff every vertex and edge node is mapped to
    its own place; on the curved octant the P2 geometry gives the sphere's volume.
    """
    if curved:
        mesh = sphere_octant(1.0, 0.25)
        # edge nodes on the curved surface lie on the sphere, not at the chord midpoints
        kin = kinematics(mesh, "3d", intorder=4)
        nodes = kin.boundary_dofs(mesh.boundaries["sym_x"], "x") // 3
        assert np.allclose(kin.scalar.doflocs[0, nodes], 0.0, atol=1e-12)
        r = np.linalg.norm(kin.scalar.doflocs, axis=0)
        assert np.count_nonzero(np.isclose(r, 1.0, atol=1e-9)) > mesh.nvertices // 4
        volume = kin.dV.sum()
        assert volume == pytest.approx(np.pi / 6, rel=CURVED_VOLUME_TOL)
        return

    def build():
        gmsh.model.occ.addBox(0, 0, 0, 1.0, 0.7, 0.5)

    mesh = gmsh_tet2(build, 0.2, lambda bb: "box", lambda bb: box_by_planes(bb, {(0, 0.0): "x0"}))
    kin = kinematics(mesh, "3d")
    x, y, z = kin.scalar.doflocs
    u_nodes = np.stack(_quadratic(x, y, z)[0], axis=1).ravel()  # interleaved 3k + c
    eps = strain(kin, u_nodes)
    exact = _quadratic(*kin.x)[1]
    assert np.max(np.abs(eps - exact)) < ROUNDOFF
    nodes = kin.boundary_dofs(mesh.boundaries["x0"], "x") // 3
    assert np.allclose(kin.scalar.doflocs[0, nodes], 0.0, atol=1e-12)
