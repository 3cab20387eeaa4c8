"""3D meshes of the symmetry cell: volumes, interface areas, names, faces, node order, output."""

from __future__ import annotations

import math
from functools import cache

import meshio
import numpy as np
import pytest
import skfem

from wlcsp.cli import main
from wlcsp.design import load_design
from wlcsp.errors import DesignError, MeshError
from wlcsp.geometry import stack
from wlcsp.geometry3d import build_solids
from wlcsp.mesh import build_mesh, min_angle, write_vtu
from wlcsp.mesh3d import GMSH_TET10_TO_SKFEM

from conftest import STUDIES, raw_design

VOLUME_REL = 0.01
"""Joint volume from the mesh against the solder volume × fraction (1 %; measured ≤ 1.4e-4)."""
REGION_REL = 0.005
"""Every solid's mesh volume against its exact volume (0.5 %; measured ≤ 1.4e-4)."""
AREA_REL = 0.01
"""Interface area against π a² × fraction (1 %)."""
MIN_DIHEDRAL_DEG = 2.0
"""Smallest dihedral angle allowed (Netgen-optimized gmsh tetrahedra measure about 4°)."""
COARSE = {"size": 0.08, "bump_size": 0.012}
"""A coarser [mesh] for fast tests (3D sizes 0.48 / 0.072 mm)."""


def _quarter(n: int = 3, gap: float = 0.0, underfill: bool = True) -> dict:
    """A 2 mm die with an n x n array: a quarter cell (n odd: bumps cut by the symmetry planes)."""
    raw = raw_design("seed000_elastomer_3d")
    raw["die"]["size"] = [2.0, 2.0]
    raw["bumps"]["array"] = [n, n]
    raw["bumps"].pop("depopulate_rows")
    raw["layers"][1]["inner_gap"] = gap
    raw["cell"] = "quarter"
    if underfill:
        raw["underfill"] = {"material": "underfill"}
    return raw


def _quarter_toml(path) -> None:
    """_quarter() as a design file (the seed file, edited as text)."""
    text = (STUDIES / "seed000_elastomer_3d.toml").read_text(encoding="utf-8")
    for old, new in (("size = [8.7, 5.7]", "size = [2.0, 2.0]"), ("array = [10, 16]",
                     "array = [3, 3]"), ("depopulate_rows = [4, 5]", ""),
                     ("inner_gap = 0.5", "inner_gap = 0.0"), ('cell = "auto"', 'cell = "quarter"'),
                     ("size = 0.05", f"size = {COARSE['size']}"),
                     ("bump_size = 0.008", f"bump_size = {COARSE['bump_size']}")):
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def _seed001_3d() -> dict:
    raw = raw_design("seed001")
    raw["model"] = "3d"
    return raw


CASES = {
    "strip_bare": lambda: raw_design("seed000_bare_3d"),
    "strip_underfill": lambda: raw_design("seed000_underfill_3d"),
    "strip_elastomer": lambda: raw_design("seed000_elastomer_3d"),
    "quarter_cut": _quarter,
    "quarter_gap": lambda: _quarter(4, 0.1),
    "strip_top_coat": _seed001_3d,
}


@cache
def _mesh(name: str, order: int = 2):
    raw = CASES[name]()
    raw["mesh"] = {**raw.get("mesh", {}), **COARSE, "order": order}
    design = load_design(raw)
    return design, build_mesh(design)


def _volume(pm, region: str) -> float:
    elem = skfem.ElementTetP2() if pm.order == 2 else skfem.ElementTetP1()
    basis = skfem.Basis(pm.mesh, elem, elements=pm.mesh.subdomains[region], intorder=4)
    return skfem.Functional(lambda w: 1.0 + 0 * w.x[0]).assemble(basis)


def _area(pm, boundary: str) -> float:
    basis = skfem.FacetBasis(pm.mesh, skfem.ElementTetP2(), facets=pm.mesh.boundaries[boundary],
                             intorder=4)
    return skfem.Functional(lambda w: 1.0 + 0 * w.x[0]).assemble(basis)


@pytest.mark.parametrize("name", ["strip_bare", "quarter_cut", "strip_top_coat"])
def test_every_joint_holds_the_solder_volume_times_its_fraction(name):
    design, pm = _mesh(name)
    j = design.joint
    solder = j.segment_volume() + math.pi * j.top_radius**2 * j.neck
    fractions = [b.fraction for b in design.cell.bumps]
    if name == "quarter_cut":
        assert sorted(fractions) == [0.25, 0.5, 0.5, 1.0]
    for i, f in enumerate(fractions):
        assert _volume(pm, f"bump_{i}") == pytest.approx(solder * f, rel=VOLUME_REL), i


@pytest.mark.parametrize("name", list(CASES))
def test_region_volumes_match_exact_geometry(name):
    """Every solid's mesh volume is its closed-form volume.

    Boxes, discs, a layer with its gap, the top coat with openings, underfill = box + fillet
    (+ gap) − solids.
    """
    _, pm = _mesh(name)
    for region in pm.materials:
        exact = pm.regions.volume(region)
        assert exact > 0, region
        assert _volume(pm, region) == pytest.approx(exact, rel=REGION_REL), region


def test_exact_volumes_by_hand():
    """The closed forms themselves: the underfill of the quarter and the layer with its gap."""
    design = load_design(_quarter(4, 0.1))
    sol = build_solids(design)
    h = stack(design)
    L, W = design.cell.die
    elastomer = next(layer for layer in design.layers if layer.name == "elastomer")
    z0, z1 = h.layers[[la.name for la in design.layers].index("elastomer")]
    assert sol.volume("elastomer") == pytest.approx(L * (W - 0.1) * (z1 - z0), rel=1e-12)
    assert elastomer.inner_gap == 0.1
    H, f = h.chip_side - h.substrate, design.underfill.fillet
    a1, a2 = design.bumps.pad_diameter / 2, design.rerouting.land_diameter / 2
    n = len(design.cell.bumps)
    box = L * W * H
    fillet = H * f / 2 * (L + W) + H * f * f / 3
    gap_fill = L * 0.1 * (z1 - z0)
    inside = n * (design.joint.segment_volume() + math.pi * a1**2 * design.bumps.pad_thickness
                  + math.pi * a2**2 * design.rerouting.thickness)
    assert sol.volume("underfill") == pytest.approx(box + fillet + gap_fill - inside, rel=1e-12)


@pytest.mark.parametrize("name", ["strip_underfill", "quarter_cut", "strip_top_coat"])
def test_names_of_the_2d_contract(name):
    design, pm = _mesh(name)
    n = len(design.cell.bumps)
    nk = len(design.rerouting.materials)
    expected = {"die", "substrate", *(layer.name for layer in design.layers)}
    expected |= {f"{k}_{i}" for k in ("bump", "pad", "land") for i in range(n)}
    expected |= {f"land_{i}_{k}" for i in range(n) for k in range(nk)}
    if design.underfill:
        expected.add("underfill")
    if design.top_coat:
        expected.add("top_coat")
    assert set(pm.mesh.subdomains) == expected
    names = {"bottom", *design.cell.faces}
    names |= {f"bump_{i}_{s}" for i in range(n) for s in ("top", "bottom")}
    assert set(pm.mesh.boundaries) == names
    assert all(len(v) > 0 for v in {**pm.mesh.subdomains, **pm.mesh.boundaries}.values())
    counts = np.zeros(pm.mesh.nelements, dtype=int)
    for region in pm.materials:
        counts[pm.mesh.subdomains[region]] += 1
    assert np.all(counts == 1)
    assert pm.dim == 3
    assert pm.dnp == design.dnp
    assert pm.supports == dict(design.cell.symmetry)
    assert pm.plane_faces == dict(design.cell.plane)
    assert pm.groups["land_0"] == [f"land_0_{k}" for k in range(nk)]
    assert isinstance(pm.mesh, skfem.MeshTet2)


@pytest.mark.parametrize("name", ["strip_elastomer", "quarter_cut"])
def test_faces_and_interfaces_lie_on_their_planes(name):
    design, pm = _mesh(name)
    m, h = pm.mesh, stack(design)

    def coords(boundary):
        return m.p[:, m.facets[:, m.boundaries[boundary]]]  # (3, 3 vertices, facets)

    for face, (axis, c) in design.cell.faces.items():
        assert np.allclose(coords(face)["xyz".index(axis)], c, atol=1e-9), face
    assert np.allclose(coords("bottom")[2], 0.0, atol=1e-9)
    # the cut faces and the bottom are covered: their areas are the cell's cross-sections
    (x0, x1), (y0, y1) = design.cell.x, design.cell.y
    assert _area(pm, "bottom") == pytest.approx((x1 - x0) * (y1 - y0), rel=1e-9)
    a1, a2 = design.bumps.pad_diameter / 2, design.rerouting.land_diameter / 2
    for i, b in enumerate(design.cell.bumps):
        xc, yc = b.center
        for side, z, a in (("top", h.land_bottom, a2), ("bottom", h.pad, a1)):
            p = coords(f"bump_{i}_{side}")
            assert np.allclose(p[2], z, atol=1e-9), (i, side)
            assert np.all(np.hypot(p[0] - xc, p[1] - yc) <= a + 1e-9), (i, side)
            area = _area(pm, f"bump_{i}_{side}")
            assert area == pytest.approx(math.pi * a * a * b.fraction, rel=AREA_REL), (i, side)


def test_edge_nodes_match_skfem_and_an_exact_quadratic():
    """The gmsh -> skfem tet10 node map is right.

    gmsh numbers the edge nodes (01)(12)(20)(30)(32)(31), skfem (01)(12)(02)(03)(13)(23): on the
    straight die elements every edge DOF sits at its edge midpoint, and a quadratic field
    interpolated from its nodal values is exact at the quadrature points.
    """
    _, pm = _mesh("quarter_cut")
    m = pm.mesh
    die = m.subdomains["die"]
    edges = skfem.refdom.RefTet.edges
    for k, (a, b) in enumerate(edges):
        mid = 0.5 * (m.p[:, m.t[a, die]] + m.p[:, m.t[b, die]])
        assert np.allclose(m.doflocs[:, m.dofs.element_dofs[4 + k, die]], mid, atol=1e-12), k
    assert list(GMSH_TET10_TO_SKFEM) == [0, 1, 2, 3, 4, 5, 6, 7, 9, 8]

    def f(x):
        return x[0] ** 2 + 3 * x[1] * x[2] - 2 * x[2] ** 2 + x[0] - 0.5

    basis = skfem.Basis(m, skfem.ElementTetP2(), elements=die, intorder=4)
    u = f(basis.doflocs)
    vals = basis.interpolate(u)
    assert np.allclose(vals, f(basis.global_coordinates().value), atol=1e-10)


def test_vtu_tetra10_order_and_region_names(tmp_path):
    _, pm = _mesh("quarter_cut")
    path = tmp_path / "m.vtu"
    write_vtu(pm, path)
    m = meshio.read(path)
    assert m.cells[0].type == "tetra10"
    t, p = m.cells[0].data, m.points
    ids = m.cell_data["material_id"][0]
    die = np.flatnonzero(ids == list(pm.materials).index("die"))
    vtk_edges = [(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)]  # VTK_QUADRATIC_TETRA
    for k, (a, b) in enumerate(vtk_edges):
        mid = 0.5 * (p[t[die, a]] + p[t[die, b]])
        assert np.allclose(p[t[die, 4 + k]], mid, atol=1e-12), k
    assert {name: int(v[0]) for name, v in m.field_data.items()} == {
        name: k for k, name in enumerate(pm.materials)}


def test_quality_and_first_order():
    _, pm = _mesh("strip_underfill")
    assert min_angle(pm) > MIN_DIHEDRAL_DEG
    _, pm1 = _mesh("quarter_cut", order=1)
    assert isinstance(pm1.mesh, skfem.MeshTet1)
    for region in ("die", "substrate", "polyimide", "underfill"):
        # straight-sided: flat solids exact, the underfill within the polygonal ball error
        rel = 1e-9 if region != "underfill" else 0.01
        assert _volume(pm1, region) == pytest.approx(pm1.regions.volume(region), rel=rel)


def test_cli_mesh_3d_writes_msh_and_vtu(tmp_path, capsys):
    design = tmp_path / "q.toml"
    _quarter_toml(design)
    out = tmp_path / "q.msh"
    assert main(["mesh", str(design), "-o", str(out), "--plot"]) == 0
    for suffix in (".msh", ".vtu", ".png"):
        assert out.with_suffix(suffix).stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "elements" in printed
    assert "a cut through the critical joint" in printed


@pytest.mark.parametrize(("old", "new", "key"), [
    ('cell = "quarter"', 'cell = "octant"', "cell"),
    ("array = [3, 3]", "array = [3, 3]\ndepopulate = [[0, 0]]", "bumps.array"),
])
def test_bad_3d_input_one_line_error(tmp_path, capsys, old, new, key):
    path = tmp_path / "bad.toml"
    _quarter_toml(path)
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(DesignError, match=key.replace(".", r"\.")):
        load_design(path)
    assert main(["mesh", str(path), "-o", str(tmp_path / "bad.msh")]) == 2
    err = capsys.readouterr().err.strip()
    assert key in err
    assert len(err.splitlines()) == 1


def test_2d_design_is_not_a_3d_cell():
    with pytest.raises(DesignError, match="model"):
        build_solids(load_design(raw_design("seed000_bare")))


def test_mesh_error_names_the_empty_group(monkeypatch):
    """A boundary the mesher cannot find is a one-line MeshError naming it."""
    import wlcsp.mesh3d as m3

    real = m3._build_model

    def lose_face(sol):
        volumes, surfaces = real(sol)
        surfaces["sym_x"] = []
        return volumes, surfaces

    monkeypatch.setattr(m3, "_build_model", lose_face)
    raw = _quarter(underfill=False)
    raw["mesh"] = {**raw["mesh"], **COARSE}
    with pytest.raises(MeshError, match="sym_x"):
        build_mesh(load_design(raw))


def test_plot_mesh3d_and_section(tmp_path):
    from wlcsp.plots3d import plot_mesh3d, section

    design, pm = _mesh("quarter_cut")
    out = tmp_path / "m.png"
    plot_mesh3d(pm, out)
    assert out.stat().st_size > 10_000
    # the section through the outermost joint's centre: its solder area is the joint's
    # cross-section (the truncated circle through the centre plane) up to the chords of the
    # straight-sided cut (measured -2.0 % at the coarse test sizes, 0.072 mm on R = 0.16 mm)
    b = design.cell.bumps[-1]
    polys, elems = section(pm, 1, b.center[1] + 1e-7)
    solder = np.isin(elems, pm.mesh.subdomains[f"bump_{len(design.cell.bumps) - 1}"])

    def area(q):
        x, y = q[:, 0], q[:, 1]
        return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))

    got = sum(area(q) for q, s in zip(polys, solder, strict=True) if s)
    j = design.joint
    zs = np.linspace(-j.center, j.height - j.center, 4001)
    chord = 2 * np.sqrt(np.maximum(j.radius**2 - zs**2, 0))
    exact = float(np.sum((chord[1:] + chord[:-1]) / 2 * np.diff(zs)))
    assert got == pytest.approx(exact * (0.5 if b.center[0] == 0 else 1.0), rel=0.04)
