"""Global-local (submodel) analysis of one joint: exactness, consistency, convergence, cut.

The global model is a small quarter cell (1.5 mm die, 3 x 3 array at 0.5 mm pitch, underfill,
coarse test mesh); the joint is the outermost (DNP 0.71 mm), whose default block (half a pitch
about it) reaches the die edge on two sides and cuts through substrate, underfill and fillet.
To keep the file fast the elastic states are one solve at the cold extreme (−40 °C) from the
stress-free 125 °C: the Darveaux-layer energy is then ½ σ:ε of that state
(:func:`wlcsp.post.joint_ranges` from the stress-free state). The seed-scale figures (strip
cells, cold and hot extremes) are in ``benchmarks/submodel.py``.
"""

from __future__ import annotations

import dataclasses
import itertools
from functools import cache

import numpy as np
import pytest

from wlcsp.cycling import monitors as cell_monitors
from wlcsp.design import load_design
from wlcsp.errors import DesignError, MeshError
from wlcsp.fem import cycle
from wlcsp.fem.cycle_model import CycleModel
from wlcsp.fem.thermoelastic import ThermoelasticModel
from wlcsp.geometry import stack
from wlcsp.mesh import build_mesh
from wlcsp.mesh3d import build_mesh3d
from wlcsp.post import DARVEAUX_LAYER, interface_layer_mask, volume_average, von_mises
from wlcsp.submesh import CUT, SubmodelSpec, block, build_local_mesh, rim_sizing
from wlcsp.submodel import (
    Driving,
    Submodel,
    compare,
    interpolation_matrix,
    joint_result,
    recorded_drivings,
    recorder,
    run_cycles,
)

from conftest import raw_design

COARSE = {"size": 0.08, "bump_size": 0.012}
"""The test mesh (3D sizes 0.48 / 0.072 mm: about four P2 elements across the joint)."""
COLD = -40.0
"""Temperature of the elastic state (°C), from the stress-free 125 °C."""
CONSISTENCY_REL = 0.02
"""(a) local against global on the same mesh density: 2 % (the issue's figure). The two meshes
differ (the local one is meshed anew), so this is a discretization difference; measured ≤ 0.3 %
(volume averages) and ≤ 0.2 % (Darveaux layers)."""
CONVERGENCE_REL = 0.03
"""(b) change of the joint figures between successive local meshes (sizes / 1, 1.5, 2),
relative to the finest: 3 % (the issue's figure), and the second change smaller than the first.
Measured: 2.1 % then 0.8 % (the die-side Darveaux layer; volume averages ≤ 1.3 %). The figures
are the volume averages and the critical interface's Darveaux energy (the larger side, the one
the life models use): the pad-side layer, a third of it here, changes by 1.2, 2.9 and 2.2 %
over sizes / 1, 1.5, 2, 2.5 on these coarse meshes (25 µm layer, 36-72 µm elements)."""
CUT_REL = 0.03
"""(c) change of the joint figures when the cut faces move out from half a pitch to 0.45 mm
(through the neighbouring joints): 3 % (the issue's figure)."""
RIM = 0.0127
"""Rim size of the rim-refinement tests (mm at refine 1): half the Darveaux layer, a fifth of
the test mesh's joint size (0.072 mm), so the rim zone shows against the joint's elements."""
RIM_EDGE = 2.0
"""Median longest edge of the tetrahedra whose centroids lie within the rim size of a rim
circle, over the rim size: at most 2 (gmsh's size is a target edge length; a tetrahedron's
longest edge exceeds it). Measured 1.33-1.62 at refine 1, 1.5, 2; without rim refinement
2.3-5.8."""
RIM_REFINES = (1.0, 1.25, 1.5)
"""The rim family's meshes of the viscoplastic test (refine 2 with the rim zone costs 112k DOFs,
40 s of the cooling ramp alone on 2 cores; 1, 1.25, 1.5: 36k, 50k, 67k DOFs, 9, 14, 19 s)."""
ROUND_OFF = 1e-9
"""Homogeneous free expansion: displacement error relative to the largest displacement (the
linear field is in the P2 space, so only round-off of the solves remains)."""
FIGURES = ("mean_von_mises", "mean_shear", "mean_stress", "darveaux_top", "darveaux_bottom")
"""The joint figures compared: volume averages of the joint and its Darveaux layers."""
CONVERGED = ("mean_von_mises", "mean_shear", "mean_stress", "delta_elastic_energy_density")
"""The figures of the convergence study (see :data:`CONVERGENCE_REL`)."""
REFINES = (1.0, 1.5, 2.0)
"""The local meshes of the convergence studies (design sizes divided by these)."""
RAMP = ((0.0, 900.0, 1800.0), (125.0, COLD, COLD))
"""History of the viscoplastic tests (s, °C): the JEDEC G cooling ramp from the stress-free
125 °C (11 K/min) and its 15-min cold soak."""
VP_CONSISTENCY_REL = 0.02
"""Viscoplastic (a): the local model at the global density, driven by the recorded global
viscoplastic history, against the global joint's Darveaux-layer inelastic work: 2 % (the
issue's figure). Measured: land side +0.15 %, pad side +0.07 % (0.134 and 0.030 MPa)."""
VP_CONVERGENCE_REL = 0.03
"""Viscoplastic (b): change of the critical (larger) Darveaux-layer inelastic work between
successive local meshes, relative to the finest: 3 % (the issue's figure). Measured: 0.02 %
then 0.21 % (land side, 0.134 MPa). With rim refinement (:data:`RIM` at :data:`RIM_REFINES`,
through the cooling ramp, where 86 % of the work of :data:`RAMP` is done): 0.1159, 0.1154,
0.1153 MPa (land side), changes 0.5 % and 0.03 %. The seed-scale study (strip cell without
underfill, finer meshes, where the rims decide the layer energy) is in
``benchmarks/submodel.py``."""


def _raw(mesh: dict = COARSE) -> dict:
    raw = raw_design("seed000_underfill_3d")
    raw["die"]["size"] = [1.5, 1.5]
    raw["bumps"]["array"] = [3, 3]
    raw["bumps"].pop("depopulate_rows")
    raw["substrate"]["overhang"] = 0.25
    raw["cell"] = "quarter"
    raw["mesh"] = {**raw["mesh"], **mesh}
    return raw


@cache
def _global():
    design = load_design(_raw())
    pm = build_mesh(design)
    model = ThermoelasticModel(pm.mesh, pm.materials, kind="3d", stress_free=pm.stress_free,
                               supports=pm.supports, plane_faces=pm.plane_faces)
    return design, model, model.solve(COLD)


def _bump(design) -> int:
    return len(design.cell.bumps) - 1


@cache
def _local(half_width: float | None = None, refine: float = 1.0,
           rim_size: float | None = None):
    design, model, cold = _global()
    i = _bump(design)
    spec = SubmodelSpec(half_width, refine=refine, rim_size=rim_size)
    sm = Submodel(model, build_local_mesh(design, i, spec))
    return sm, joint_result(sm.solve(cold), None, i, design.bump_directions[i])


FAMILIES = tuple((f, None) for f in REFINES) + tuple((f, RIM) for f in RIM_REFINES)
"""The (refine, rim_size) of the local models whose cut faces the global viscoplastic run
records."""


def _recorded() -> list[Submodel]:
    """The local models of :data:`FAMILIES`, in the order of the global run's record."""
    return [_local(None, f, h)[0] for f, h in FAMILIES]


@cache
def _global_result():
    design, _, cold = _global()
    i = _bump(design)
    return joint_result(cold, None, i, design.bump_directions[i])


def _worst(a: dict, b: dict) -> float:
    return max(abs(v) for k, v in compare(a, b).items() if k in FIGURES)


def _step(a: dict, b: dict, ref: dict) -> float:
    """Largest change a -> b of the :data:`CONVERGED` figures, relative to ``ref``."""
    out = []
    for k in CONVERGED:
        va, vb, vr = (np.atleast_1d(np.asarray(r[k], dtype=float)) for r in (a, b, ref))
        out.append(float(np.abs(vb - va).max() / np.abs(vr).max()))
    return max(out)


def test_homogeneous_uniform_temperature_is_exact():
    """One material, uniform cooling: the local model reproduces the exact field to round-off.

    The global field is then the free thermal contraction (linear, in the P2 space).
    """
    design = load_design(_raw({"size": 0.12, "bump_size": 0.03}))
    pm = build_mesh(design)
    mat = design.material("copper")
    same = dict.fromkeys(pm.materials, mat)
    model = ThermoelasticModel(pm.mesh, same, kind="3d", stress_free=125.0,
                               supports=pm.supports)
    cold = model.solve(COLD)
    local = build_local_mesh(design, _bump(design))
    names = list(local.mesh.materials)
    local = dataclasses.replace(local, mesh=dataclasses.replace(
        local.mesh, materials=dict.fromkeys(names, mat), stress_free=dict.fromkeys(names, 125.0)))
    sm = Submodel(model, local)
    loc = sm.solve(cold)
    nodes = sm.model.kin.scalar.doflocs
    u_glob = (interpolation_matrix(model.kin.scalar, nodes) @ cold.u.reshape(-1, 3)).ravel()
    scale = np.abs(cold.u).max()
    assert np.abs(loc.u - u_glob).max() <= ROUND_OFF * scale
    sigma = float(mat.youngs_modulus(COLD)) * abs(float(mat.thermal_strain(COLD, 125.0)))
    assert von_mises(loc.stress).max() <= 1e-6 * sigma


def test_same_density_reproduces_global_joint():
    """(a) On the same mesh density the local model gives the global joint within 2 %.

    Driven by the global model's own field: volume averages and Darveaux-layer averages.
    """
    worst = _worst(_global_result(), _local()[1])
    print(f"(a) worst relative difference {worst:.4f}")
    assert worst <= CONSISTENCY_REL


def test_mesh_convergence_of_the_joint():
    """(b) Three local meshes (sizes / 1, 1.5, 2): each refinement changes the joint < 3 %.

    Relative to the finest mesh's figures, and by less at the second refinement.
    """
    results = [_local(None, f)[1] for f in (1.0, 1.5, 2.0)]
    steps = [_step(a, b, results[-1]) for a, b in itertools.pairwise(results)]
    print(f"(b) changes {steps}")
    assert max(steps) <= CONVERGENCE_REL
    assert steps[1] < steps[0]


def test_cut_boundary_far_enough():
    """(c) Moving the cut faces out changes the joint figures by less than 3 %.

    From half a pitch (0.25 mm) to 0.45 mm from the joint centre, through the neighbouring joints.
    """
    worst = _worst(_local()[1], _local(0.45)[1])
    print(f"(c) worst relative change {worst:.4f}")
    assert worst <= CUT_REL


def test_rim_refinement_sizes_the_rims():
    """``rim_size``: the elements at the joint's land and pad rims have it, divided by refine.

    The median longest edge of the tetrahedra near each rim circle is within :data:`RIM_EDGE`
    of the rim size at refine 1 and 2 (the rim zone is one family under ``refine``).
    """
    design = _global()[0]
    i = _bump(design)
    for refine in (1.0, 2.0):
        pm = build_local_mesh(design, i, SubmodelSpec(refine=refine, rim_size=RIM)).mesh
        mesh = pm.mesh
        corners = mesh.p[:, mesh.t[:4]]
        centroid = corners.mean(axis=1)
        longest = np.max([np.linalg.norm(corners[:, a] - corners[:, b], axis=0)
                          for a, b in itertools.combinations(range(4), 2)], axis=0)
        h = RIM / refine
        for itf in pm.regions.interfaces:
            dist = np.hypot(np.hypot(centroid[0] - itf.xc, centroid[1] - itf.yc) - itf.r,
                            centroid[2] - itf.z)
            ratio = float(np.median(longest[dist <= h])) / h
            print(f"refine {refine:g}, {itf.name}: median longest edge / rim size {ratio:.2f}")
            assert ratio <= RIM_EDGE


def test_cut_faces_leave_free_surfaces_free():
    """The die's side faces on the block's planes stay free; substrate and underfill are cut.

    The block of the outer joint ends at the die edges (x, y = 0.75 mm): the die's side faces
    there are free surfaces of the global model, not cut faces.
    """
    design = _global()[0]
    sm = _local()[0]
    mesh = sm.local.mesh.mesh
    h = stack(design)
    corners = mesh.p[:, mesh.facets[:, mesh.boundaries[CUT]]]
    z = corners[2].mean(axis=0)
    on_edge = np.any(np.all(np.abs(corners[:2] - 0.75) < 1e-9, axis=1), axis=0)
    assert on_edge.any()
    assert not np.any(z[on_edge] > h.chip_side + 1e-9)  # nothing of the die stack is cut
    assert np.any(z[on_edge] < h.substrate)  # the substrate is
    assert sm.local.driven == {CUT: "xyz"}


def test_local_solids_keep_exact_volumes():
    """The joint and its pad lie whole in the block: their mesh volumes match the closed form."""
    sm = _local()[0]
    pm = sm.local.mesh
    i = _bump(_global()[0])
    dV = sm.model.kin.dV
    for name in (f"bump_{i}", f"pad_{i}"):
        vol = float(dV[pm.mesh.subdomains[name]].sum())
        assert vol == pytest.approx(pm.regions.volume(name), rel=0.01)


def test_driving_is_linear_in_time():
    """The viscoplastic driving: the global field at the knots, linear between them."""
    sm = _local()[0]
    cold = _global()[2]
    drive = sm.driving([0.0, 10.0], [np.zeros_like(cold.u), cold.u])
    assert isinstance(drive, Driving)
    end = sm.prescribed(cold.u)
    np.testing.assert_allclose(drive.full(10.0), end)
    np.testing.assert_allclose(drive(2.5), 0.25 * end[sm.driven_dofs])
    with pytest.raises(DesignError, match="time"):
        drive(11.0)


@cache
def _global_creep():
    """The global cell viscoplastic (Anand) through :data:`RAMP`, recording the cut faces.

    One run records the displacement at the driven DOFs of the local models of every
    :data:`FAMILIES`; keeps the final full fields.
    """
    design, model, _ = _global()
    nb = len(design.dnp)
    cm = CycleModel(model, [f"bump_{k}" for k in range(nb)], "anand")
    return cycle.run(cm, *RAMP, monitors=cell_monitors(model, nb, DARVEAUX_LAYER),
                     record=recorder(_recorded()), keep=[RAMP[0][-1]])


@cache
def _local_creep(refine: float, rim_size: float | None = None, knots: int = len(RAMP[0])
                 ) -> dict[str, float]:
    """Darveaux-layer inelastic work (MPa), local model at ``refine`` (and ``rim_size``).

    At the end of the first ``knots`` knots of :data:`RAMP`, driven by the recorded global
    viscoplastic history.
    """
    design, _, cold = _global()
    i = _bump(design)
    k = FAMILIES.index((refine, rim_size))
    sm = _recorded()[k]
    drive = recorded_drivings(_recorded(), _global_creep().history)[k]
    ref = sm.solve(cold)
    sides = ("top", "bottom")
    mons = {s: interface_layer_mask(ref, f"bump_{i}_{s}", f"bump_{i}") for s in sides}
    h = run_cycles(sm, RAMP[0][:knots], RAMP[1][:knots], drive, monitors=mons).history
    return {s: float(h.inelastic_work[-1, k]) for k, s in enumerate(sides)}


def test_global_run_records_the_cut_face_history():
    """The recorded history is the global displacement at the driven DOFs at every step end.

    At the last step: the recorder applied to the kept full field (round-off), and each local
    model's driving takes its own columns in order.
    """
    res = _global_creep()
    sms = _recorded()
    u = res.solutions[RAMP[0][-1]].u
    rec = res.history.recorded
    assert rec.shape == (res.history.times.size, sum(sm.driven_dofs.size for sm in sms))
    for sm, drive in zip(sms, recorded_drivings(sms, res.history), strict=True):
        want = sm.boundary_values(u)
        assert np.abs(drive(RAMP[0][-1]) - want).max() <= ROUND_OFF * np.abs(want).max()


def test_viscoplastic_same_density_reproduces_global_joint():
    """Viscoplastic (a): the local model at the global density gives the global joint's work.

    Driven by the recorded global history: the Darveaux-layer inelastic work of both layers
    within 2 %.
    """
    design = _global()[0]
    i = _bump(design)
    h = _global_creep().history
    names = list(h.monitors)
    local = _local_creep(1.0)
    for side in ("top", "bottom"):
        glob = h.inelastic_work[-1, names.index(f"bump_{i}_{side}")]
        print(f"(a) viscoplastic {side}: global {glob:.5f}, local {local[side]:.5f} MPa")
        assert abs(local[side] - glob) <= VP_CONSISTENCY_REL * glob


def test_viscoplastic_mesh_convergence_of_the_joint():
    """Viscoplastic (b): three local meshes, creep-driven: the critical layer converges.

    Its inelastic work changes by less than 3 % (relative to the finest) at each refinement.
    """
    works = [_local_creep(f) for f in REFINES]
    side = max(works[-1], key=works[-1].get)
    values = [w[side] for w in works]
    steps = [abs(b - a) / values[-1] for a, b in itertools.pairwise(values)]
    print(f"(b) viscoplastic, {side} layer: {values} MPa, changes {steps}")
    assert max(steps) <= VP_CONVERGENCE_REL


def test_viscoplastic_mesh_convergence_with_rim_refinement():
    """Viscoplastic (b) with rim refinement: three meshes of the rim family converge.

    ``rim_size`` :data:`RIM` at :data:`RIM_REFINES`, creep-driven through the cooling ramp:
    the critical layer's inelastic work changes by less than 3 % at each refinement.
    """
    works = [_local_creep(f, RIM, knots=2) for f in RIM_REFINES]
    side = max(works[-1], key=works[-1].get)
    values = [w[side] for w in works]
    steps = [abs(b - a) / values[-1] for a, b in itertools.pairwise(values)]
    print(f"(b) viscoplastic, rim {RIM} mm, {side} layer: {values} MPa, changes {steps}")
    assert max(steps) <= VP_CONVERGENCE_REL


def test_viscoplastic_local_model_takes_the_driving():
    """The viscoplastic local model driven by the global field starts from the elastic state.

    Its instantaneous (Δt = 0) joint average equals the elastic solve's to round-off: the
    prescribed DOFs, their order and their values reach the time stepping.
    """
    design, _, cold = _global()
    sm = _local()[0]
    i = _bump(design)
    el = sm.solve(cold)
    res = run_cycles(sm, [0.0, 1e-6], [COLD, COLD],
                     sm.driving([0.0, 1e-6], [cold.u, cold.u]))
    h = res.history
    mask = el.region_id == el.regions.index(f"bump_{i}")
    ref = np.array([volume_average(el.kin, el.stress[..., c], mask) for c in range(6)])
    start = h.stress[0, h.monitors.index(f"bump_{i}")]
    assert np.abs(start - ref).max() <= ROUND_OFF * np.abs(ref).max()  # measured 4e-13
    assert not np.any(h.inelastic_strain[0])


@pytest.mark.parametrize(("kwargs", "key"), [
    ({"half_width": -0.1}, "submodel.half_width"),
    ({"half_width": 0.1}, "submodel.half_width"),
    ({"die_fraction": 0.0}, "submodel.die_fraction"),
    ({"refine": 100.0}, "submodel.refine"),
    ({"rim_size": 0.0}, "submodel.rim_size"),
    ({"rim_size": 0.03}, "submodel.rim_size"),
])
def test_bad_spec_names_the_key(kwargs, key):
    design = _global()[0]
    with pytest.raises(DesignError, match=key):
        block(design, 0, SubmodelSpec(**kwargs))


def test_rim_size_below_the_joint_size_and_known_interfaces():
    """A rim size not below the joint's element size, and a rim of no interface, are refused."""
    design = load_design(_raw({"size": 0.02, "bump_size": 0.004}))  # 3D joint size 0.024 mm
    with pytest.raises(DesignError, match=r"submodel\.rim_size"):
        rim_sizing(design, 0, SubmodelSpec(rim_size=0.025))
    assert set(rim_sizing(design, 0, SubmodelSpec(rim_size=0.01))) == {"bump_0_top",
                                                                       "bump_0_bottom"}
    with pytest.raises(MeshError, match="bump_9_top"):
        build_mesh3d(_global()[0], roi=block(_global()[0], 0), rims={"bump_9_top": (0.01, 0.05)})


def test_bad_bump_and_2d_design():
    design = _global()[0]
    with pytest.raises(DesignError, match=r"submodel\.bump"):
        block(design, 99)
    with pytest.raises(DesignError, match="model"):
        block(load_design(raw_design("seed000_underfill")), 0)
