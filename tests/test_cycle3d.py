"""Viscoplastic time stepping of 3D models (wlcsp.fem.cycle with a "3d" CycleModel).

Oracles: the material point (:func:`wlcsp.fem.viscoplastic.update`) under the mixed conditions
of a homogeneous solder block (its own Newton on the stress-free components), the absence of
load at the stress-free temperature, the convergence order of Newton's method, and, for the
prescribed-displacement hook, an affine displacement history imposed on the whole boundary of
a block, whose exact solution is the strain-driven material point at every quadrature point.
"""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from validation.helpers import layered_mesh
from validation.test_3d_meshes import brick_mesh
from wlcsp.cycling import analyze_cycles
from wlcsp.errors import AnalysisError, DesignError
from wlcsp.fem import cycle
from wlcsp.fem import viscoplastic as vp
from wlcsp.fem.cycle import Controls, profile_history, run
from wlcsp.fem.cycle_model import CycleModel
from wlcsp.fem.thermoelastic import ThermoelasticModel
from wlcsp.loading import parse_profile
from wlcsp.materials import LIBRARY

from conftest import raw_design

SOLDER = LIBRARY["sac105"]
COPPER = LIBRARY["copper"]
T0 = 125.0
PROFILE = parse_profile({"min": -40.0, "max": 125.0, "ramp": 600.0, "dwell": 600.0})

PATCH_TOL = 1e-6
"""Patch against the material point, relative to the largest value of the history: both solve
the same backward-Euler equations at the same step ends, the patch to the Newton tolerance
:data:`PATCH_NEWTON_RTOL`, the point to :data:`POINT_TOL` (as the 2D patch test)."""
PATCH_NEWTON_RTOL = 1e-10
"""Newton tolerance of the patch runs (‖R‖/F_ref)."""
POINT_TOL = 1e-12
"""Material-point Newton tolerance on the stress-free components, relative to E α(T0)."""
QUADRATIC_ORDER = 1.8
"""Least fitted order of the global Newton iteration (2 in theory with the consistent tangent)."""
NEWTON_FLOOR = 1e-13
"""Residual, relative to the first, below which round-off blurs the order: the iterations of
these blocks end between 1e-16 and 1e-15 (measured, Garofalo), so 1e-13 is 100x above."""


def _block(faces: dict[str, str], nx: int = 2) -> ThermoelasticModel:
    """A 0.2 x 0.2 x 0.1 mm solder block of 6·nx²·1 P2 tets with supports on ``faces``."""
    mesh = brick_mesh(np.linspace(0, 0.2, nx + 1), np.linspace(0, 0.2, nx + 1),
                      np.linspace(0, 0.1, 2), {"solder": (0.0, 0.1)})
    return ThermoelasticModel(mesh, {"solder": SOLDER}, kind="3d", stress_free=T0,
                              supports=faces)


def _material_point(times, temps, law, free, fixed_strain=None, ncomp=6, t_ref=T0):
    """One point: stress zero in ``free``, strain ``fixed_strain(t)`` (default 0) in the others."""
    state = vp.initial_state(law, 1, ncomp)
    eps = np.zeros(ncomp)
    scale = SOLDER.youngs_modulus(T0) * SOLDER.alpha(T0)
    out = {"stress": [], "p": [], "w": []}
    for k in range(1, times.size):
        if fixed_strain is not None:
            eps = fixed_strain(times[k]).copy()
        dt, T = times[k] - times[k - 1], temps[k]
        for _ in range(50):
            up = vp.update(SOLDER, law, state, eps[None], T, t_ref, dt)
            r = up.stress[0, free]
            if not free or np.max(np.abs(r)) <= POINT_TOL * scale:
                break
            eps[free] -= np.linalg.solve(up.tangent[0][np.ix_(free, free)], r)
        else:
            raise AssertionError("material point did not converge")
        state = up.state
        out["stress"].append(up.stress[0])
        out["p"].append(state.p[0])
        out["w"].append(state.w[0])
    return {k: np.asarray(v) for k, v in out.items()}


@pytest.mark.parametrize(("faces", "free", "law_name"), [
    ({"x0": "x", "x1": "x", "y0": "y", "bottom": "z"}, [1, 2, 3, 4, 5], "anand"),
    ({"x0": "x", "x1": "x", "y0": "y", "y1": "y", "bottom": "z"}, [2, 3, 4, 5], "garofalo"),
])
def test_3d_patch_reproduces_the_material_point(faces, free, law_name):
    """A homogeneous solder block under a uniform thermal cycle (stress-free at 125 °C).

    x held on both x faces (ε_xx = 0), the rest free: uniaxial σ_xx relaxing by creep; with y
    held on both y faces too: equibiaxial σ_xx = σ_yy. Every point is the material point with
    the held normal strains zero and the other stresses zero; mean stresses, p and w agree at
    every step end, and the state is uniform.
    """
    model = _block(faces)
    cm = CycleModel(model, ["solder"], law_name)
    knots_t, knots_T, _ = profile_history(PROFILE, 1, T0)
    res = run(cm, knots_t, knots_T, controls=Controls(newton_rtol=PATCH_NEWTON_RTOL))
    h = res.history
    assert h.stress.shape[-1] == 6
    ref = _material_point(h.times, h.temperatures, vp.solder_law(SOLDER, law_name), free)
    fe = {"stress": h.stress[1:, 0], "p": h.accumulated_inelastic_strain[1:, 0],
          "w": h.inelastic_work[1:, 0]}
    for key, values in ref.items():
        assert np.max(np.abs(values)) > 0
        assert np.allclose(fe[key], values, rtol=0, atol=PATCH_TOL * np.max(np.abs(values)))
    p = res.final.accumulated_inelastic_strain
    assert np.ptp(p) <= PATCH_TOL * p.max()


def test_zero_temperature_change_gives_zero_inelastic_strain():
    """Solder on copper held at the stress-free temperature for 2 h: nothing flows, no stress."""
    mesh = brick_mesh(np.linspace(0, 0.2, 3), np.linspace(0, 0.2, 3), np.linspace(0, 0.2, 3),
                      {"copper": (0.0, 0.1), "solder": (0.1, 0.2)})
    model = ThermoelasticModel(mesh, {"copper": COPPER, "solder": SOLDER}, kind="3d",
                               stress_free=T0, supports={"x0": "x", "y0": "y"})
    res = run(CycleModel(model, ["solder"], "anand"), [0.0, 7200.0], [T0, T0])
    assert np.all(res.final.inelastic_strain == 0.0)
    assert np.all(res.final.accumulated_inelastic_strain == 0.0)
    assert np.max(np.abs(res.final.stress)) == 0.0


def _newton_norms(cm: CycleModel, T: float, dt: float) -> list[float]:
    """Residual norms of the global Newton iteration of one creeping step (tight CG)."""
    solver = cycle._Solver(cm)
    state = cm.initial_state()
    x = np.zeros(cm.nunknowns)
    norms = []
    with threadpool_limits(limits=cycle.BLAS_THREADS, user_api="blas"):  # as run() does
        for _ in range(8):
            r, up = solver.evaluate(x, T, dt, state, None, None)
            norms.append(float(np.linalg.norm(r)))
            if norms[-1] < 1e-15 * norms[0]:
                break
            x = x + solver.solve(T, up.tangent, r, 1e-13)
    return norms


@pytest.mark.parametrize("law_name", ["anand", "garofalo"])
def test_global_newton_converges_quadratically(law_name):
    """Solder on copper cooled from 125 to -40 °C in one long creeping step (1e5 s), from u = 0.

    The first correction removes the linear (thermal) part of the residual; the order
    log(r_{k+1}/r_k)/log(r_k/r_{k−1}) of the last three residuals above the round-off floor
    :data:`NEWTON_FLOOR` is at least :data:`QUADRATIC_ORDER` (consistent tangent, CG to 1e-13).
    """
    mesh = brick_mesh(np.linspace(0, 0.3, 4), np.linspace(0, 0.2, 3), np.linspace(0, 0.2, 3),
                      {"copper": (0.0, 0.1), "solder": (0.1, 0.2)})
    model = ThermoelasticModel(mesh, {"copper": COPPER, "solder": SOLDER}, kind="3d",
                               stress_free=T0, supports={"x0": "x", "y0": "y"})
    norms = np.array(_newton_norms(CycleModel(model, ["solder"], law_name), -40.0, 1e5))
    rel = norms / norms[0]
    r = np.log(rel[rel > NEWTON_FLOOR])
    assert r.size >= 4, norms
    order = (r[-1] - r[-2]) / (r[-2] - r[-3])
    assert order >= QUADRATIC_ORDER, (norms, order)
    assert rel[-1] < NEWTON_FLOOR


def _affine(dim: int):
    """A deviatoric strain history E(t) (engineering shears) and u = ε(t) x of the block."""
    if dim == 3:
        E = np.array([4e-3, -1e-3, -3e-3, 5e-3, -2e-3, 3e-3])  # xx yy zz γxy γxz γyz

        def grad(t):
            e = E * np.interp(t, [0.0, 600.0, 1800.0], [0.0, 1.0, -0.5])
            return np.array([[e[0], e[3] / 2, e[4] / 2], [e[3] / 2, e[1], e[5] / 2],
                             [e[4] / 2, e[5] / 2, e[2]]]), e
    else:
        E = np.array([3e-3, -2e-3, 0.0, 4e-3])  # plane strain: ε_zz = 0

        def grad(t):
            e = E * np.interp(t, [0.0, 600.0, 1800.0], [0.0, 1.0, -0.5])
            return np.array([[e[0], e[3] / 2], [e[3] / 2, e[1]]]), e
    return grad


@pytest.mark.parametrize("dim", [2, 3])
def test_prescribed_boundary_history_reproduces_the_strain_driven_point(dim):
    """An affine u = ε(t)·x on the whole boundary, tabulated at the knots, at 75 °C stress-free.

    The affine field is in the P2 space, so every point is the material point driven by the
    total strain ε(t) (deviatoric: extension, all shears, a load reversal at 600 s). Stress
    history and p agree to :data:`PATCH_TOL`, and the final field is the affine one, interior
    nodes included; 2D plane strain and 3D.
    """
    T = 75.0
    if dim == 3:
        mesh = brick_mesh(np.linspace(0, 0.2, 3), np.linspace(0, 0.2, 3), np.linspace(0, 0.1, 2),
                          {"solder": (0.0, 0.1)})
        faces = {f: "xyz" for f in ("x0", "x1", "y0", "y1", "bottom", "top")}
        kind, held = "3d", "xyz"
    else:
        mesh = layered_mesh(np.linspace(0.0, 0.2, 3), [("solder", np.linspace(0.0, 0.2, 3))])
        faces = {f: "xy" for f in ("axis", "right", "bottom", "top")}
        kind, held = "plane_strain", "xy"
    model = ThermoelasticModel(mesh, {"solder": SOLDER}, kind=kind, stress_free=T,
                               supports=faces)
    dofs = np.unique(np.concatenate([model.kin.boundary_dofs(mesh.boundaries[f], held)
                                     for f in faces]))
    grad = _affine(dim)
    X = model.kin.dof_locations[:, dofs]
    comp = dofs % dim
    knots = np.array([0.0, 600.0, 1800.0])
    values = np.stack([(grad(t)[0] @ X)[comp, np.arange(dofs.size)] for t in knots])
    cm = CycleModel(model, ["solder"], "anand", prescribed=dofs)
    res = run(cm, knots, [T, T, T], displacements=(knots, values),
              controls=Controls(newton_rtol=PATCH_NEWTON_RTOL, max_dt=60.0))
    h = res.history
    ref = _material_point(h.times, h.temperatures, vp.solder_law(SOLDER, "anand"), [],
                          fixed_strain=lambda t: grad(t)[1], ncomp=cm.ncomp, t_ref=T)
    assert np.max(ref["p"]) > 1e-3  # real creep
    scale = np.abs(ref["stress"]).max()
    assert np.max(np.abs(h.stress[1:, 0] - ref["stress"])) <= PATCH_TOL * scale
    assert np.max(np.abs(h.accumulated_inelastic_strain[1:, 0] - ref["p"])) <= \
        PATCH_TOL * ref["p"].max()
    # the final field is the affine one, interior nodes included
    X_all = model.kin.dof_locations
    exact = (grad(knots[-1])[0] @ X_all)[np.arange(X_all.shape[1]) % dim,
                                         np.arange(X_all.shape[1])]
    assert np.max(np.abs(res.final.u - exact)) <= 1e-9 * np.abs(exact).max()


def test_prescribed_dofs_must_be_held_and_values_match():
    model = _block({"x0": "x", "y0": "y", "bottom": "z"})
    free_dof = int(model.free[0])
    with pytest.raises(DesignError, match="prescribed"):
        CycleModel(model, ["solder"], "anand", prescribed=[free_dof])
    held = model.kin.boundary_dofs(model.kin.scalar.mesh.boundaries["x0"], "x")
    cm = CycleModel(model, ["solder"], "anand", prescribed=held)
    with pytest.raises(DesignError, match="displacements"):
        run(cm, [0.0, 60.0], [T0, T0], displacements=([0.0, 60.0], np.zeros((2, 3))))
    with pytest.raises(DesignError, match="displacements"):
        run(cm, [0.0, 60.0], [T0, T0], displacements=([0.0, 30.0], np.zeros((2, held.size))))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to the failure
def test_an_absurd_profile_raises_naming_time_and_temperature():
    """Heating to 1e200 °C in 1 s ends in an AnalysisError naming the time and temperature.

    The return mapping fails at every cut-back; after the last one the run raises.
    """
    model = _block({"x0": "x", "x1": "x", "y0": "y", "bottom": "z"}, nx=1)
    cm = CycleModel(model, ["solder"], "anand")
    with pytest.raises(AnalysisError, match=r"no convergence at t = \S+ s, T = \S+ °C"):
        run(cm, [0.0, 1.0], [T0, 1e200], controls=Controls(max_dT=1e300))


def test_collapsing_steps_end_in_an_error_not_a_crawl(monkeypatch):
    """Steps that converge only ever shorter end at the smallest step, with time and temperature.

    The collapse seen on the rim-refined seed joint (:data:`wlcsp.fem.cycle.MIN_STEP_FRACTION`):
    each converged step is followed by a failure of the next, longer one, so the cut-backs in
    a row stay few while the steps shrink by orders of magnitude. Imitated by letting Newton
    fail on any step longer than a limit that halves at every success. The run must raise
    once a cut-back would leave a step below ``min_dt`` (here 1e-3 of the 600 s history,
    0.6 s), within 50 Newton calls; without the floor (``min_dt`` = 1e-300) the imitation
    ends only at 1 ms steps, with eight cut-backs in a row after hundreds of calls.
    """
    model = _block({"x0": "x", "x1": "x", "y0": "y", "bottom": "z"}, nx=1)
    cm = CycleModel(model, ["solder"], "anand")
    real = cycle._newton
    limit, calls = [60.0], [0]

    def collapsing(solver, x0, T, dt, *args, **kwargs):
        calls[0] += 1
        if calls[0] > 400:
            raise RuntimeError("the steps crawl: 400 Newton calls")
        if dt > limit[0]:
            return "imitated failure"
        limit[0] /= 2.0
        return real(solver, x0, T, dt, *args, **kwargs)

    monkeypatch.setattr(cycle, "_newton", collapsing)
    with pytest.raises(AnalysisError, match=r"no convergence at t = \S+ s, T = \S+ °C .*"
                       r"below the smallest step 0\.6 s: imitated failure"):
        run(cm, [0.0, 600.0], [T0, -40.0], controls=Controls(min_dt=0.6))
    assert calls[0] < 50


def test_analyze_cycles_runs_a_3d_design_through_the_seam():
    """A 1 mm die with a 2 x 2 array as a quarter cell: 3D joint figures in the summary.

    One joint, symmetry faces x and y, coarse mesh, one short cycle: the joint's shear-strain
    range is that of its mean strain along its DNP direction (1, 1)/√2, the hysteresis loop's
    abscissa (to round-off).
    """
    raw = raw_design("seed000_bare_3d")
    raw["die"]["size"] = [1.0, 1.0]
    raw["bumps"]["array"] = [2, 2]
    raw["bumps"].pop("depopulate_rows")
    raw["cell"] = "quarter"
    raw["mesh"].update(size=0.1, bump_size=0.016)
    raw["loading"].update(solder="anand", cycles=1, profile={
        "min": -40.0, "max": 125.0, "ramp": 600.0, "dwell": 600.0})
    result = analyze_cycles(raw, figures=False)
    assert result["model"] == "3d"
    (bump,) = result["bumps"]
    assert bump["shear_direction"] == pytest.approx([2**-0.5, 2**-0.5], abs=1e-12)
    assert bump["delta_energy_density"] > 0
    assert bump["delta_inelastic_strain"] > 0
    h = result["hysteresis"]
    a, b = (int(np.argmin(np.abs(np.asarray(h["time"]) - t))) for t in h["cycle_bounds"])
    gamma = np.asarray(h["shear_strain"][a:b + 1])
    assert np.ptp(gamma) == pytest.approx(bump["delta_shear_strain"], rel=1e-12)
    assert np.ptp(gamma) > 1e-4  # a real joint shear, not a zero component
