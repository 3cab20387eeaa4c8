"""Global-local (submodel) analysis of one joint: the local model driven by the global one.

The local model (:mod:`wlcsp.submesh`: the joint, its lands and pad, the polymer layers and a
block of die, substrate and underfill around it, meshed finely) takes from the global model of
the cell the displacement on its cut faces, interpolated with the global P2 basis at the local
P2 nodes (:func:`interpolation_matrix`) and prescribed as Dirichlet values, and the global
temperature (uniform, as in the global model). This is the displacement-driven ("cut-boundary
displacement") submodel of the field (Abaqus Analysis User's Guide 2016, §10.2.1 "Node-based
submodeling"; Cook, Malkus, Plesha & Witt, *Concepts and Applications of Finite Element
Analysis*, 4th ed., 2002, §9.8; for solder joints e.g. Lau, Pan & Chang, *J. Electron. Packag.*
124:212, 2002). It is valid where the local refinement does not change the stiffness the
joint's surroundings see: the cut faces must lie far enough from the joint (tests/
test_submodel.py measures it). On the symmetry faces inside the block the symmetry supports
stay; on the part of a strip's plane face inside the block the normal displacement is
prescribed from the global one (the global field is plane there).

Elastic
    :meth:`Submodel.solve` of a global state gives the local state at its temperature directly:
    one factorization of the local stiffness per temperature and a substitution.
Viscoplastic
    The local model steps through the same temperature history with its cut-face displacement
    prescribed as a function of time, linear between the global states at given times
    (:class:`Driving`, built by :meth:`Submodel.driving`), the prescribed-displacement history
    of :func:`wlcsp.fem.cycle.run`; :func:`cycle_model` makes every joint in the block creep
    and prescribes ``Submodel.driven_dofs``, :func:`run_cycles` runs it. The global history
    is that of a global viscoplastic run (all joints of the cell creeping) recorded at the cut
    faces at every step end (``cycle.run(..., record=recorder(submodels))``,
    :func:`recorded_drivings`), the field's practice; :meth:`Submodel.driving` of global
    elastic states (no creep in the global model) remains for comparison. Measured
    (``benchmarks/submodel.py``, seed000_bare_3d, critical joint, one JEDEC G cycle): the
    elastic driving gives the joint's per-cycle Darveaux energy 37 % (land side) and 43 % (pad
    side) below the creep-driven local model, which reproduces the global viscoplastic joint
    within 0.2 % and 0.7 % on the same mesh density: when every joint creeps, the cell's
    die-substrate mismatch is taken up by the joints rather than by the substrate's stretch,
    which an elastic global model cannot show.

Joint figures (:func:`joint_result`) are the same for a global and a local state: per-bump
volume averages of the stress (components, von Mises, joint shear along the DNP direction) and
the Darveaux interface-layer averages of the elastic energy density range
(:func:`wlcsp.post.joint_ranges`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import skfem
from scipy import sparse
from scipy.spatial import cKDTree

from . import post
from .design import Design
from .errors import DesignError, MeshError
from .fem import cycle
from .fem.cycle import CycleResult
from .fem.cycle_model import CycleModel
from .fem.thermoelastic import ThermoelasticModel, ThermoelasticSolution
from .submesh import LocalMesh

CANDIDATES = 24
"""Global elements (nearest by centroid) searched for each point, first pass."""

CANDIDATES_WIDE = 400
"""Elements searched for the points the first pass leaves outside every candidate."""

INSIDE_TOL = 1e-9
"""Barycentric coordinate below zero still counted as inside an element."""

OUTSIDE_TOL = 0.25
"""Largest barycentric coordinate below zero accepted for a point in no element: a node of the
local mesh on a curved surface facing air (a pad or land rim, a joint without underfill) lies
just outside the global mesh's coarser P2 approximation of that surface, and the global field is
extrapolated there. Measured: at most 0.087, at a pad rim on a cut through a neighbouring joint
(2 mm quarter cell, coarse test mesh)."""

REFINED = 4
"""Candidates per point (best by their affine coordinates) refined on a curved mesh."""

NEWTON_STEPS = 8
"""Newton steps of the inverse isoparametric map of a curved P2 element (from the affine
guess; quadratic convergence from an O(h²) start)."""


def interpolation_matrix(basis: skfem.CellBasis, points: np.ndarray) -> sparse.csr_matrix:
    """Values of ``basis``'s functions at ``points`` (dim, n): the (n, basis.N) matrix P.

    P @ u is the finite-element field u at the points (mm), as scikit-fem's ``basis.probes``,
    but with a locator that finds points on element faces and on curved boundaries reliably:
    the elements nearest by centroid are tried with the affine map of their vertices; on a
    curved (isoparametric) mesh the :data:`REFINED` best of them are refined by Newton's method
    on the element's own map, unclipped (skfem's ``invF`` clips to the unit cube, which stalls
    for points just outside), and the element with the largest least barycentric coordinate is
    taken. Raises MeshError for a point farther than :data:`OUTSIDE_TOL` outside every element.
    """
    mesh = basis.mesh
    dim = mesh.p.shape[0]
    vert = mesh.p[:, mesh.t[:dim + 1]]  # (dim, dim + 1, nelems)
    A = np.moveaxis(vert[:, 1:] - vert[:, :1], 2, 0)  # (nelems, dim, dim): columns v_k − v_0
    geometry = (cKDTree(vert.mean(axis=1).T), np.linalg.inv(A), vert[:, 0].T)
    x = np.asarray(points, dtype=float)
    cells, X = _locate(basis, geometry, x, CANDIDATES)
    worst = _outside(X)
    again = np.flatnonzero(worst > INSIDE_TOL)
    if again.size:
        c2, X2 = _locate(basis, geometry, x[:, again], min(CANDIDATES_WIDE, mesh.nelements))
        better = _outside(X2) < worst[again]
        cells[again[better]], X[:, again[better]] = c2[better], X2[:, better]
    bad = np.flatnonzero(_outside(X) > OUTSIDE_TOL)
    if bad.size:
        p = x[:, bad[0]]
        raise MeshError(f"{bad.size} points of the local model lie outside the global mesh, "
                        f"e.g. ({', '.join(f'{c:.6g}' for c in p)}) mm")
    phis = np.array([basis.elem.lbasis(X, k)[0] for k in range(basis.Nbfun)])  # (nb, n)
    rows = np.tile(np.arange(x.shape[1]), basis.Nbfun)
    cols = basis.element_dofs[:, cells].ravel()
    return sparse.csr_matrix((phis.ravel(), (rows, cols)), shape=(x.shape[1], basis.N))


def _locate(basis: skfem.CellBasis, geometry: tuple[cKDTree, np.ndarray, np.ndarray],
            x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best of the k nearest elements of each point (dim, n), and its reference coordinates.

    ``geometry``: the centroid tree, the inverse affine maps and the first vertices.
    """
    tree, Ainv, v0 = geometry
    n = x.shape[1]
    _, cand = tree.query(x.T, k=k)
    cand = cand.reshape(n, -1)
    X = np.einsum("nkij,nkj->nki", Ainv[cand], x.T[:, None, :] - v0[cand])  # (n, k, dim)
    score = -_outside(np.moveaxis(X, 2, 0).reshape(x.shape[0], -1)).reshape(n, -1)
    rows = np.arange(n)
    if isinstance(basis.mapping, skfem.MappingAffine):
        best = np.argmax(score, axis=1)
        return cand[rows, best], X[rows, best].T
    top = np.argsort(-score, axis=1)[:, :REFINED]
    best_cells, best_X = cand[rows, top[:, 0]], X[rows, top[:, 0]].T
    best_score = np.full(n, -np.inf)
    for j in range(top.shape[1]):
        cells = cand[rows, top[:, j]]
        Xr = X[rows, top[:, j]].T[:, :, None]
        with np.errstate(all="ignore"):
            for _ in range(NEWTON_STEPS):
                Xr = Xr + np.einsum("ijkl,jkl->ikl", basis.mapping.invDF(Xr, cells),
                                    x[:, :, None] - basis.mapping.F(Xr, cells))
        s = -_outside(Xr[:, :, 0])
        s[~np.all(np.isfinite(Xr[:, :, 0]), axis=0)] = -np.inf
        take = s > best_score
        best_score[take], best_cells[take], best_X[:, take] = s[take], cells[take], \
            Xr[:, take, 0]
    return best_cells, best_X


def _outside(X: np.ndarray) -> np.ndarray:
    """How far (in barycentric coordinate) reference points (dim, n) lie outside the simplex."""
    bary = np.vstack([1.0 - X.sum(axis=0), X])
    return np.maximum(0.0, -bary.min(axis=0))


@dataclass(frozen=True)
class Driving:
    """Cut-face displacements of the local model, linear in time between the global states.

    ``driving(t)`` gives the values (mm) at time t (s) of the prescribed DOFs ``dofs``, in their
    order: the callable form of the time stepping's prescribed-displacement history
    (``CycleModel(..., prescribed=driving.dofs)``, ``run(..., displacements=driving)``);
    ``(times, values)`` is its tabulated form. :meth:`full` is the whole local DOF vector.
    Outside [times[0], times[-1]] it raises.
    """

    times: np.ndarray
    """Times of the global states (s), increasing."""
    values: np.ndarray
    """(ntimes, n_driven) prescribed values at ``dofs`` (mm)."""
    dofs: np.ndarray
    """Local DOFs prescribed from the global model."""
    ndofs: int

    def __call__(self, t: float) -> np.ndarray:
        """The prescribed values (mm) at time ``t`` (s), one per DOF of ``dofs``."""
        if not self.times[0] - 1e-9 <= t <= self.times[-1] + 1e-9:
            raise DesignError("time", t, f"within the driving history [{self.times[0]:g}, "
                              f"{self.times[-1]:g}] s")
        if self.times.size == 1:
            return self.values[0].copy()
        j = int(np.clip(np.searchsorted(self.times, t, side="right") - 1, 0,
                        self.times.size - 2))
        w = (t - self.times[j]) / (self.times[j + 1] - self.times[j])
        return (1.0 - w) * self.values[j] + w * self.values[j + 1]

    def full(self, t: float) -> np.ndarray:
        """The local DOF vector at time ``t`` (s): the prescribed values, zero elsewhere."""
        u = np.zeros(self.ndofs)
        u[self.dofs] = self(t)
        return u


class Submodel:
    """The local model of one joint, driven by a global model of the same design's cell.

    Parameters
    ----------
    global_model : ThermoelasticModel
        The global 3D model (its mesh and P2 basis interpolate the displacement).
    local : LocalMesh
        The local mesh (:func:`wlcsp.submesh.build_local_mesh`).
    solver : str, optional
        Backend of the local factorization (default: as the model chooses).

    Attributes
    ----------
    model : ThermoelasticModel
        The local model: symmetry supports of the block, and the driven boundaries held (their
        values come with each solve).
    driven_dofs : ndarray
        Local DOFs prescribed from the global model (symmetry-held components excluded: those
        stay zero).
    """

    def __init__(self, global_model: ThermoelasticModel, local: LocalMesh,
                 solver: str | None = None) -> None:
        if global_model.kin.dim != 3:
            raise DesignError("model", global_model.kind, "a submodel needs a 3D global model")
        pm = local.mesh
        self.local = local
        self.global_model = global_model
        supports = dict(pm.supports)
        for name, comps in local.driven.items():
            supports[name] = "".join(sorted(set(supports.get(name, "")) | set(comps)))
        self.model = ThermoelasticModel(pm.mesh, pm.materials, kind="3d", order=pm.order,
                                        stress_free=pm.stress_free, supports=supports,
                                        solver=solver)
        kin = self.model.kin
        boundaries = pm.mesh.boundaries
        driven = np.unique(np.concatenate([kin.boundary_dofs(boundaries[name], comps)
                                           for name, comps in local.driven.items()]))
        symmetric = [kin.boundary_dofs(boundaries[name], comps)
                     for name, comps in pm.supports.items()]
        self.driven_dofs = np.setdiff1d(driven, np.concatenate(symmetric)) if symmetric \
            else driven
        nodes, comp = np.divmod(self.driven_dofs, 3)
        unique, inverse = np.unique(nodes, return_inverse=True)
        self.interpolation = interpolation_matrix(global_model.kin.scalar,
                                                  kin.scalar.doflocs[:, unique])
        """(n_nodes, global scalar N): the global field at the driven local nodes."""
        rows = self.interpolation[inverse].tocoo()  # one row per driven DOF
        self.recorder = sparse.csr_matrix(
            (rows.data, (rows.row, 3 * rows.col + comp[rows.row])),
            shape=(self.driven_dofs.size, global_model.kin.ndofs))
        """(n_driven, global ndofs): ``recorder @ u_global`` is the global displacement at the
        driven local DOFs (the ``record`` of a global :func:`wlcsp.fem.cycle.run`)."""

    def boundary_values(self, u_global: np.ndarray) -> np.ndarray:
        """The global displacement ``u_global`` (mm) at the driven local DOFs."""
        return self.recorder @ np.asarray(u_global)

    def prescribed(self, u_global: np.ndarray) -> np.ndarray:
        """The full local DOF vector carrying :meth:`boundary_values` on the driven DOFs."""
        u = np.zeros(self.model.kin.ndofs)
        u[self.driven_dofs] = self.boundary_values(u_global)
        return u

    def solve(self, global_state: ThermoelasticSolution) -> ThermoelasticSolution:
        """The elastic local state driven by ``global_state`` (at its temperature)."""
        return self.model.solve(global_state.T, displacement=self.prescribed(global_state.u))

    def driving(self, times: Sequence[float], global_u: Sequence[np.ndarray]) -> Driving:
        """Cut-face displacements from the global displacements ``global_u`` at ``times`` (s).

        Linear in time between them (:class:`Driving`).
        """
        t = np.asarray(times, dtype=float)
        if t.ndim != 1 or t.size != len(global_u) or t.size == 0 or np.any(np.diff(t) <= 0):
            raise DesignError("times", t.tolist(), "increasing times, one per global state")
        values = np.stack([self.boundary_values(u) for u in global_u])
        return Driving(t, values, self.driven_dofs, self.model.kin.ndofs)


def recorder(submodels: Sequence[Submodel]) -> sparse.csr_matrix:
    """The ``record`` of one global viscoplastic run that drives ``submodels`` (same global model).

    Their :attr:`Submodel.recorder` rows stacked in order: ``cycle.run(global_cm, ...,
    record=recorder(submodels))`` records the global displacement at every local model's
    driven DOFs at every step end; :func:`recorded_drivings` splits the history.
    """
    return sparse.vstack([sm.recorder for sm in submodels]).tocsr()


def recorded_drivings(submodels: Sequence[Submodel], history: cycle.History) -> list[Driving]:
    """The cut-face histories of ``submodels`` recorded by a global viscoplastic run.

    ``history``: that run's :class:`~wlcsp.fem.cycle.History`, recorded with
    :func:`recorder` of the same ``submodels``; each local model's driven DOFs follow the
    global displacement at the global step ends, linear in time between them.
    """
    rec = history.recorded
    sizes = [sm.driven_dofs.size for sm in submodels]
    if rec is None or rec.shape != (history.times.size, sum(sizes)):
        raise DesignError("history", "no recorded cut-face displacements of these submodels",
                          "a global run with record=recorder(submodels)")
    ends = np.cumsum(sizes)
    return [Driving(np.asarray(history.times, dtype=float), rec[:, end - n:end],
                    sm.driven_dofs, sm.model.kin.ndofs)
            for sm, n, end in zip(submodels, sizes, ends, strict=True)]


def cycle_model(sm: Submodel, law: str = "anand") -> CycleModel:
    """The local model prepared for viscoplastic time stepping.

    Every joint in the block creeps by ``law``; the cut faces are the prescribed DOFs
    (``sm.driven_dofs``, in that order).
    """
    solder = [s.name for s in sm.local.mesh.regions.solids if s.kind == "bump"]
    return CycleModel(sm.model, solder, law, prescribed=sm.driven_dofs)


def run_cycles(sm: Submodel, knot_times: Sequence[float], knot_temperatures: Sequence[float],
               driving: Driving, *, law: str = "anand", **kwargs) -> CycleResult:
    """Step the local model through the temperature history given by its knots (s, °C).

    Its cut faces follow ``driving`` (:meth:`Submodel.driving` of global states,
    :func:`recorded_drivings` of a global viscoplastic run); ``kwargs`` go to
    :func:`wlcsp.fem.cycle.run` (monitors, controls...).
    """
    return cycle.run(cycle_model(sm, law), knot_times, knot_temperatures,
                     displacements=driving, **kwargs)


def joint_result(cold: post.Solution, hot: post.Solution | None, bump: int,
                 direction: tuple[float, float] = (1.0, 0.0)) -> dict[str, float]:
    """The figures of joint ``bump`` compared between global and local models.

    At the ``cold`` state: ``mean_von_mises``, ``mean_shear`` (along ``direction``) and
    ``mean_stress`` (the volume-average stress components, ``kin.components``), MPa; between
    the states (``hot = None``: from the stress-free state): :func:`wlcsp.post.joint_ranges`.
    """
    name = f"bump_{bump}"
    mask = post.region_mask(cold, name)
    kin = cold.kin
    return {
        "mean_von_mises": post.volume_average(kin, post.von_mises(cold.stress), mask),
        "mean_shear": post.volume_average(kin, post.shear(kin, cold.stress, direction), mask),
        "mean_stress": [post.volume_average(kin, cold.stress[..., c], mask)
                        for c in range(kin.ncomp)],
        **post.joint_ranges(hot, cold, bump, direction),
    }


def critical_bump(design: Design, cold: post.Solution, hot: post.Solution) -> int:
    """The joint with the largest Darveaux-layer elastic energy range of a global model."""
    energies = [post.joint_ranges(hot, cold, i, d)["delta_elastic_energy_density"]
                for i, d in enumerate(design.bump_directions)]
    return int(np.argmax(energies))


def compare(a: Mapping[str, object], b: Mapping[str, object]) -> dict[str, float]:
    """Relative differences of the joint figures ``b`` against ``a`` (:func:`joint_result`).

    Scalars: (b − a)/|a|; ``mean_stress``: the largest component difference over the largest
    |component| of ``a`` (components near zero would make a per-component ratio meaningless).
    """
    out = {}
    for key, va in a.items():
        vb = b[key]
        if isinstance(va, list):
            va, vb = np.asarray(va), np.asarray(vb)
            out[key] = float(np.abs(vb - va).max() / np.abs(va).max())
        else:
            out[key] = float((vb - va) / abs(va))
    return out
