"""Viscoplastic time stepping of package models (wlcsp.fem.cycle) and the cycle analysis.

Oracles: a material point driven by :func:`wlcsp.fem.viscoplastic.update` under the same mixed
conditions as a homogeneous patch (σ_xx = σ_yy = 0, ε_zz = γ_xy = 0, solved by its own 2x2
Newton), the absence of load at the stress-free temperature, the step-halving criterion of
issue 5, hand-computed per-cycle figures of a synthetic history, and the line search of the
global Newton on a scalar equation whose undamped Newton iteration diverges.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from validation.helpers import layered_mesh
from wlcsp.analysis import analyze, format_table
from wlcsp.cycling import analyze_cycles
from wlcsp.design import load_design
from wlcsp.errors import AnalysisError, DesignError
from wlcsp.fem import cycle
from wlcsp.fem import viscoplastic as vp
from wlcsp.fem.cycle import Controls, History, profile_history, run
from wlcsp.fem.cycle_model import CycleModel
from wlcsp.fem.thermoelastic import ThermoelasticModel
from wlcsp.joint_cycles import STABILIZATION_TOL, bump_cycles, monitors, stabilization
from wlcsp.life_report import DEFAULT_ACCURACY
from wlcsp.loading import parse_profile
from wlcsp.materials import LIBRARY, Material, Table
from wlcsp.mesh import build_mesh

from conftest import raw_design, with_positions

SOLDER = LIBRARY["sac105"]
COPPER = LIBRARY["copper"]
T0 = 125.0
PROFILE = parse_profile({"min": -40.0, "max": 125.0, "ramp": 600.0, "dwell": 600.0})

PATCH_TOL = 1e-6
"""Patch against the material point, relative to the largest |σ_zz| (or p, w) of the history:
both solve the same backward-Euler equations at the same steps, the patch with its Newton
tolerance tightened to :data:`PATCH_NEWTON_RTOL`."""
PATCH_NEWTON_RTOL = 1e-10
"""Newton tolerance of the patch run (‖R‖/F_ref)."""
POINT_TOL = 1e-12
"""Material-point Newton tolerance on σ_xx, σ_yy, relative to its elastic stress scale."""
HALVING_TOL = 0.02
"""Change of the per-cycle Darveaux energy when every step is halved (issue 5)."""


def _patch(layers: list[tuple[str, np.ndarray]], kind: str = "plane_strain",
           supports: dict | None = None) -> ThermoelasticModel:
    """Layers on x ∈ [0, 0.2] mm: u_x = 0 on the axis, u_y = 0 on the bottom (by default)."""
    mats = {"solder": SOLDER, "copper": COPPER}
    mesh = layered_mesh(np.linspace(0.0, 0.2, 3), layers)
    return ThermoelasticModel(mesh, {name: mats[name] for name, _ in layers}, kind=kind,
                              stress_free=T0,
                              supports=supports or {"axis": "x", "bottom": "y"})


def _material_point(times: np.ndarray, temps: np.ndarray, law: vp.Anand | vp.Garofalo,
                    free: list[int]) -> dict[str, list]:
    """One point, stress zero in the components ``free``, strain zero in the others.

    At each step end the free strains solve σ_free = 0 by Newton on that block of the
    update's tangent (independent of the global solver).
    """
    state = vp.initial_state(law, 1)
    eps = np.zeros(4)
    fixed = [c for c in range(3) if c not in free]
    out: dict[str, list] = {"s": [], "p": [], "w": []}
    scale = SOLDER.youngs_modulus(T0) * SOLDER.alpha(T0)
    for k in range(1, times.size):
        dt, T = times[k] - times[k - 1], temps[k]
        for _ in range(50):
            up = vp.update(SOLDER, law, state, eps[None], T, T0, dt)
            r = up.stress[0, free]
            if np.max(np.abs(r)) <= POINT_TOL * scale:
                break
            eps[free] -= np.linalg.solve(up.tangent[0][np.ix_(free, free)], r)
        else:
            raise AssertionError("material point did not converge")
        state = up.state
        out["s"].append(up.stress[0, fixed[0]])
        out["p"].append(state.p[0])
        out["w"].append(state.w[0])
    return out


@pytest.mark.parametrize(("kind", "supports", "free", "law_name"), [
    ("plane_strain", None, [0, 1], "anand"),
    ("plane_strain", None, [0, 1], "garofalo"),
    ("axisymmetric", {"axis": "x", "right": "x", "bottom": "y"}, [1], "anand"),
])
def test_patch_reproduces_the_material_point(kind, supports, free, law_name):
    """A homogeneous solder patch under a uniform thermal cycle has a uniform exact solution.

    Plane strain, free in-plane: σ_xx = σ_yy = σ_xy = 0, ε_zz = 0, σ_zz relaxing by creep.
    Axisymmetric cylinder held radially at r = R (u_r = 0 everywhere): ε_rr = ε_θθ = 0,
    σ_zz = 0, equibiaxial σ_rr = σ_θθ relaxing (the hoop path). Either is a material point
    under the same mixed conditions, stepped at the patch's own step ends; mean constrained
    stress, p and w agree, and every point carries the same state.
    """
    model = _patch([("solder", np.linspace(0.0, 0.2, 3))], kind, supports)
    cm = CycleModel(model, ["solder"], law_name)
    knots_t, knots_T, _ = profile_history(PROFILE, 1, T0)
    res = run(cm, knots_t, knots_T, controls=Controls(newton_rtol=PATCH_NEWTON_RTOL))
    h = res.history
    ref = _material_point(h.times, h.temperatures, vp.solder_law(SOLDER, law_name), free)
    fixed = next(c for c in range(3) if c not in free)
    fe = {"s": h.stress[1:, 0, fixed], "p": h.accumulated_inelastic_strain[1:, 0],
          "w": h.inelastic_work[1:, 0]}
    for key, values in ref.items():
        values = np.asarray(values)
        assert np.max(np.abs(values)) > 0
        assert np.allclose(fe[key], values, rtol=0, atol=PATCH_TOL * np.max(np.abs(values)))
    p = res.final.accumulated_inelastic_strain
    assert np.ptp(p) <= PATCH_TOL * p.max()
    free_stress = res.final.stress[..., [*free, 3]]
    assert np.max(np.abs(free_stress)) <= PATCH_TOL * np.max(np.abs(ref["s"]))


ELASTIC_TOL = 1e-8
"""Instantaneous response against the thermoelastic solve (same discretization, direct solve),
relative to the largest |σ|; the cycle run's Newton tolerance is set to 1e-12."""


def test_instantaneous_response_is_the_thermoelastic_solution():
    """At Δt → 0 the solder answers elastically: the state is the thermoelastic one.

    Three layers with their own stress-free temperatures (copper-like with E(T) from a table,
    125 °C; SAC105, 150 °C; Sn37Pb, 140 °C), at 145 °C: the linear part (K_c + λ(T)K^λ +
    μ(T)K^μ, thermal loads per group) and the two solder groups together must reproduce
    :class:`~wlcsp.fem.thermoelastic.ThermoelasticModel` at 145 °C. The 1 ps step lets the
    solder creep by < 1e-12 even at the corner peaks (Anand rate ≲ 0.2/s at 20 MPa, 145 °C).
    """
    stiff = Material("stiff", Table((-50.0, 150.0), (140e3, 100e3)), Table((20.0,), (0.34,)),
                     Table((20.0,), (17e-6,)), source="test: E(T) table")
    mesh = layered_mesh(np.linspace(0.0, 0.4, 4), [("stiff", np.linspace(0.0, 0.1, 3)),
                                                    ("solder", np.linspace(0.1, 0.3, 4)),
                                                    ("snpb", np.linspace(0.3, 0.4, 3))])
    model = ThermoelasticModel(mesh, {"stiff": stiff, "solder": SOLDER,
                                      "snpb": LIBRARY["snpb63"]}, kind="axisymmetric",
                               stress_free={"stiff": 125.0, "solder": 150.0, "snpb": 140.0})
    cm = CycleModel(model, ["solder", "snpb"], "anand")
    assert len(cm.solder_groups) == 2
    res = run(cm, [0.0, 1e-12], [145.0, 145.0], controls=Controls(newton_rtol=1e-12))
    ref = model.solve(145.0)
    scale = np.max(np.abs(ref.stress))
    assert np.max(np.abs(res.final.stress - ref.stress)) <= ELASTIC_TOL * scale
    assert np.max(np.abs(res.final.u - ref.u)) <= ELASTIC_TOL * np.max(np.abs(ref.u))


def test_zero_temperature_change_gives_zero_inelastic_strain():
    """Solder on copper held at the common stress-free temperature for a cycle's duration.

    No thermal strain, no load: σ = 0 and the rate laws give ε̇_in = 0 exactly.
    """
    model = _patch([("copper", np.linspace(0.0, 0.1, 2)), ("solder", np.linspace(0.1, 0.2, 3))])
    cm = CycleModel(model, ["solder"], "anand")
    res = run(cm, [0.0, 1800.0, 3600.0], [T0, T0, T0])
    assert np.all(res.final.accumulated_inelastic_strain == 0.0)
    assert np.all(res.final.inelastic_strain == 0.0)
    assert np.all(res.history.inelastic_work == 0.0)


def test_a_step_that_cannot_converge_raises_naming_time_and_temperature():
    """An unreachable Newton tolerance: cut-backs, then AnalysisError with t and T."""
    model = _patch([("solder", np.linspace(0.0, 0.2, 3))])
    cm = CycleModel(model, ["solder"], "anand")
    with pytest.raises(AnalysisError, match=r"t = .* s, T = .* °C"):
        run(cm, [0.0, 600.0], [T0, -40.0], controls=Controls(newton_rtol=1e-300))


class _Arctan:
    """The global Newton's solver interface for R(x) = arctan(x), tangent 1/(1 + x²).

    R is the gradient of the convex potential x arctan x − ln(1 + x²)/2, and the undamped
    Newton iteration from |x₀| > 1.39 diverges (x₀ = 10: −138.6, 2.99e4, ...; Dennis &
    Schnabel, *Numerical Methods for Unconstrained Optimization*, 1996, §6.1).
    """

    def __init__(self) -> None:
        self.counts = {"evaluations": 0, "line_searches": 0}
        self.last_cg = 0

    def evaluate(self, x, T, dt, state, guess, u_d):
        self.counts["evaluations"] += 1
        return np.arctan(x), vp.Update(np.zeros((1, 4)), SimpleNamespace(p=np.zeros(1)),
                                       1.0 / (1.0 + x**2))

    def solve(self, T, tangent, r, eta):
        return -r / tangent


def test_the_line_search_finds_the_root_where_the_full_newton_step_diverges(monkeypatch):
    """From x₀ = 10 the damped Newton reaches |R| ≤ 1e-12 within NEWTON_MAXITER iterations.

    The regula-falsi line search on s(λ) = du·R(x + λ du) (:func:`wlcsp.fem.cycle._line_search`)
    brings the iterate into the quadratic range; without trials (``LINE_SEARCHES`` = 0) the
    first full step increases the potential's slope and the step fails.
    """
    state = SimpleNamespace(p=np.zeros(1))
    solver = _Arctan()
    step = cycle._newton(solver, np.array([10.0]), 0.0, 1.0, state, None, 1e-12)
    assert not isinstance(step, str), step
    assert abs(step.x[0]) <= 1e-12
    assert step.iterations <= cycle.NEWTON_MAXITER
    assert solver.counts["line_searches"] >= 1
    monkeypatch.setattr(cycle, "LINE_SEARCHES", 0)
    failed = cycle._newton(_Arctan(), np.array([10.0]), 0.0, 1.0, state, None, 1e-12)
    assert isinstance(failed, str)
    assert "no descent" in failed


def test_bad_input():
    model = _patch([("solder", np.linspace(0.0, 0.2, 3))])
    with pytest.raises(DesignError, match="solder"):
        CycleModel(model, ["bump_9"], "anand")
    with pytest.raises(DesignError, match=r"loading\.solder"):
        CycleModel(model, ["solder"], "elastic")
    cm = CycleModel(model, ["solder"], "anand")
    with pytest.raises(DesignError, match="history"):
        run(cm, [0.0, 0.0], [T0, 20.0])
    with pytest.raises(DesignError, match=r"controls\.max_dT"):
        Controls(max_dT=0.0)
    gps = ThermoelasticModel(model.kin.scalar.mesh, {"solder": SOLDER},
                             kind="generalized_plane_strain", supports={"axis": "x"})
    with pytest.raises(DesignError, match="model"):
        CycleModel(gps, ["solder"], "anand")
    raw = raw_design()
    raw["loading"]["solder"] = "elastic"
    with pytest.raises(DesignError, match=r"loading\.solder"):
        analyze_cycles(raw)


def _history(times, temps, ein, p, w):
    """A one-bump History: monitors bump_0 (ε_in, p), its top and bottom layers (w)."""
    n = len(times)
    zeros = np.zeros((n, 3, 4))
    ein3 = zeros.copy()
    ein3[:, 0] = ein
    return History(times=np.asarray(times, float), temperatures=np.asarray(temps, float),
                   monitors=("bump_0", "bump_0_top", "bump_0_bottom"), stress=zeros,
                   strain=zeros.copy(), inelastic_strain=ein3,
                   accumulated_inelastic_strain=np.column_stack([p, p, p]),
                   inelastic_work=np.asarray(w, float), newton=np.ones(n - 1, int),
                   cg=np.zeros(n - 1, int))


def test_per_cycle_figures_of_a_synthetic_history():
    """Pure shear loop γ_in: 0 → 0.01 → −0.01 → 0 per cycle.

    Range (loop width) Δγ_in = 0.02, i.e. Δε_eq = 0.02/√3 (von Mises of pure shear); the
    accumulated p grows by 4·0.01/√3 per cycle; ΔW per cycle is the larger layer's increment.
    """
    g = [0.0, 0.01, -0.01, 0.0, 0.01, -0.01, 0.0]
    ein = np.zeros((7, 4))
    ein[:, 3] = g
    p = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(g)))]) / np.sqrt(3.0)
    w = np.column_stack([np.zeros(7), np.linspace(0, 0.6, 7), np.linspace(0, 0.9, 7)])
    h = _history(np.arange(7.0), np.zeros(7), ein, p, w)
    (bump,) = bump_cycles(h, np.array([0.0, 3.0, 6.0]), [0], np.zeros(7))
    assert bump["delta_inelastic_strain"] == pytest.approx(0.02 / np.sqrt(3.0), rel=1e-12)
    assert bump["delta_accumulated_inelastic_strain"] == pytest.approx(0.04 / np.sqrt(3.0),
                                                                       rel=1e-12)
    assert bump["per_cycle"]["accumulated_inelastic_strain"] == pytest.approx(
        [0.04 / np.sqrt(3.0), 0.08 / np.sqrt(3.0)], rel=1e-12)
    assert bump["delta_energy_density"] == pytest.approx(0.45, rel=1e-12)
    assert bump["energy_interface"] == "bottom"


def test_stabilization_check():
    """Relative change of the last two per-cycle energies against STABILIZATION_TOL (5 %)."""
    assert stabilization([1.0, 1.04])["stabilized"] is True
    with pytest.warns(RuntimeWarning, match="more loading.cycles"):
        out = stabilization([1.0, 1.2])
    assert out["energy_change"] == pytest.approx(0.2 / 1.2, rel=1e-12)
    assert out["energy_change"] > STABILIZATION_TOL
    assert stabilization([1.0])["stabilized"] is None


def _small_design(solder: str = "anand") -> dict:
    """The seed design cut to one bump at its outer DNP and a coarse mesh (fast tests)."""
    raw = raw_design()
    with_positions(raw, [4.2])
    raw["mesh"].update(size=0.4, bump_size=0.03)
    raw["loading"].update(solder=solder, cycles=1)
    return raw


def test_halving_the_steps_changes_the_energy_by_less_than_2_percent():
    """Issue 5: every step of the automatic stepping halved, per-cycle Darveaux energy < 2 %."""
    design = load_design(_small_design())
    pm = build_mesh(design)
    model = ThermoelasticModel(pm.mesh, pm.materials, kind=design.model, order=pm.order,
                               stress_free=pm.stress_free)
    cm = CycleModel(model, ["bump_0"], "anand")
    mons = monitors(model, 1, 0.0254)
    knots_t, knots_T, bounds = profile_history(parse_profile("jedec_g"), 1, T0)
    energies = []
    times = None
    for _ in range(2):
        res = run(cm, knots_t, knots_T, monitors=mons, times=times)
        h = res.history
        thermal = np.asarray(SOLDER.thermal_strain(h.temperatures, T0))
        energies.append(bump_cycles(h, bounds, [0], thermal)[0]["delta_energy_density"])
        times = np.sort(np.concatenate([h.times, 0.5 * (h.times[1:] + h.times[:-1])]))
    assert energies[0] > 0
    assert abs(energies[1] / energies[0] - 1) < HALVING_TOL


def test_wlcsp_run_dispatches_to_the_cycle_analysis(tmp_path):
    """analyze() with loading.solder = "garofalo": the summary contract and the files."""
    result = analyze(_small_design("garofalo"), tmp_path)
    assert result["analysis"] == "viscoplastic (garofalo)"
    (bump,) = result["bumps"]
    for key in ("delta_inelastic_strain", "delta_energy_density",
                "delta_accumulated_inelastic_strain", "accumulated_inelastic_strain"):
        assert bump[key] > 0
        assert len(bump["per_cycle"][key]) == 1
    assert result["critical_bump"] == 0
    assert set(result["life"]) == {"coffin_manson", "darveaux", "syed_energy", "syed_strain"}
    assert result["life"]["syed_energy"] == pytest.approx(
        1.0 / (0.0019 * bump["delta_energy_density"]), rel=1e-12)
    # issue 11: one primary life (SAC105 bumps: Syed's SnAgCu energy model), the rest secondary
    primary = result["primary"]
    assert primary["model"] == "syed_energy"
    assert primary["constants"] == "syed_2004_sac"
    assert primary["life"] == result["life"]["syed_energy"]
    assert primary["accuracy"] == DEFAULT_ACCURACY
    assert "25.4 um interface layer" in primary["basis"]
    assert "sac105" in primary["basis"]
    assert set(result["secondary"]) == {"coffin_manson", "darveaux", "syed_strain"}
    assert result["secondary"]["darveaux"]["alloy_match"] is False
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["primary"]["life"] == pytest.approx(primary["life"], rel=1e-15)
    assert "alloy mismatch" in saved["secondary"]["darveaux"]["label"]
    table = format_table(result)
    assert "darveaux†=" in table
    assert "primary life: syed_energy" in table
    for name in ("summary.json", "solution.vtu", "hysteresis.png"):
        assert (tmp_path / name).is_file()
    # issue 10: the crack-initiation site, on the critical joint's worse interface layer
    peak = saved["energy_peak"]
    assert peak["bump"] == 0
    assert peak["interface"] == bump["energy_interface"]
    assert 0.0 < peak["radius_fraction"] <= 1.0 + 1e-9
    assert peak["azimuth_deg"] in (0.0, 180.0)  # 2D: outboard or inboard edge
    from wlcsp.report import write_run_report

    text = write_run_report(result, tmp_path).read_text(encoding="utf-8")
    assert f"{abs(peak['azimuth_deg']):.4g}° from the outward DNP direction" in text


MESH_TOL = 0.03
"""Change of the per-cycle Darveaux energy between the two finest of three meshes (issue 5)."""

CRITICAL_DNP = 4.7
"""DNP (mm) of the seed design's critical bump: the outermost, in all three seed variants with
Anand solder (benchmarks/cycle_seed.py; bump 7 has the largest Darveaux energy)."""


def test_darveaux_energy_converges_with_the_mesh():
    """The seed design cut to its critical bump, cycle 1 of JEDEC G, on three meshes.

    ``MeshSpec.refined`` by 1/2, 1/√2 and 1 of the seed's own ``[mesh]`` (element sizes 16,
    11 and 8 µm in the joint against the 25 µm Darveaux layer): the per-cycle energy of the
    two finest differs by less than MESH_TOL. About 12 s on the 2-core development machine.
    """
    base = load_design(raw_design()).mesh
    energies = []
    for factor in (0.5, 0.5 * np.sqrt(2.0), 1.0):
        raw = raw_design()
        with_positions(raw, [CRITICAL_DNP])
        raw["mesh"] = base.refined(factor)
        raw["loading"].update(solder="anand", cycles=1)
        energies.append(analyze_cycles(raw, figures=False)["bumps"][0]["delta_energy_density"])
    assert min(energies) > 0
    assert abs(energies[2] / energies[1] - 1) < MESH_TOL


def test_history_ramps_from_the_stress_free_temperature():
    """A lead-in ramp from the solder's stress-free temperature at the profile's ramp rate.

    Stress-free at 150 °C, JEDEC G (15 min ramps of 165 K): 25 K at 165/900 K/s = 136.36 s,
    then the cycles from the hot dwell.
    """
    t, T, bounds = profile_history(parse_profile("jedec_g"), 2, 150.0)
    lead = 25.0 / (165.0 / 900.0)
    assert t[:3] == pytest.approx([0.0, lead, lead + 900.0], rel=1e-12)
    assert T[:4].tolist() == [150.0, 125.0, 125.0, -40.0]
    assert bounds == pytest.approx([lead, lead + 3600.0, lead + 7200.0], rel=1e-12)
    assert t[-1] == pytest.approx(bounds[-1], rel=1e-12)
    t, T, bounds = profile_history(parse_profile("jedec_g"), 1, 125.0)
    assert t[0] == 0.0
    assert T[0] == 125.0
    assert bounds.tolist() == [0.0, 3600.0]
