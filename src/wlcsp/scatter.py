"""Life scatter: Monte Carlo of the elastic estimate over input tolerances (``--monte-carlo N``).

Inputs
------
Every input is a relative deviation x = σ·z of a nominal value, z a standard normal deviate
truncated at ±:data:`TRUNCATION`, sampled by Latin hypercube (McKay, Beckman & Conover,
Technometrics 21:239, 1979; ``scipy.stats.qmc.LatinHypercube``). Names and default σ:

``cte.<material>``, ``modulus.<material>``
    CTE table and Young's modulus table of every material in the model, scaled by 1 + x
    (Poisson's ratio is kept): :data:`CTE_SIGMA`, :data:`MODULUS_SIGMA`.
``thickness.<layer>``, ``thickness.die``, ``thickness.substrate``
    :data:`LAYER_THICKNESS_SIGMA`; the die and substrate from :data:`DIE_THICKNESS_TOLERANCE`
    and :data:`SUBSTRATE_THICKNESS_TOLERANCE`.
``ball_diameter``
    The solder volume, hence the joint height and shape (``design.joint_shape``), from
    :data:`BALL_DIAMETER_TOLERANCE`.

A tolerance ±t (or a range of published values) is read as ±3σ, the process-capability
convention Cp = 1 (Montgomery, *Introduction to Statistical Quality Control*, process capability
chapter), so samples truncated at ±3σ stay inside it. The design file overrides the defaults::

    [scatter]
    seed = 0                 # of the Latin hypercube
    cte = 0.03               # relative σ of every CTE; likewise modulus, thickness (the
    modulus = 0.10           # [[layers]]), die_thickness, substrate_thickness, ball_diameter
    [scatter.inputs]         # one input: its relative σ (0 drops it)
    "cte.bt" = 0.02
    "thickness.elastomer" = 0.05

Method
------
1. The nominal design is meshed once and solved at the two profile extremes.
2. Material inputs keep the mesh and are solved sample by sample, to the accuracy of a direct
   solve (bump ranges within 1e-6; ``tests/test_scatter.py``). A CTE enters the thermal load
   only: with the nominal moduli a sample is one load assembly and one substitution on the
   nominal factors per extreme. A modulus scaled by s scales its material's part of the
   stiffness, K(s) = Σ_g s_g K_g (the nominal stiffness split once per toleranced material),
   and K(s) is solved by conjugate gradients preconditioned with the nominal factors
   (:func:`wlcsp.fem.linsolve.preconditioned_cg`: the spectrum of K⁻¹K(s) lies in
   [min s, max s]), started from the Galerkin projection on the earlier samples' solutions
   (:class:`_Basis`): 5-9 substitutions instead of a factorization. An extreme at the stress-free
   temperature carries no load in any sample and is not solved.
3. Geometry inputs change the mesh. Each is remeshed and solved once, at +1σ, and enters every
   sample log-linearly: ln q_b(z) = ln q_b(z_materials) + Σ_g [ln q_b(+σ_g) − ln q_b(0)]·z_g for
   every bump b and range q (a secant over 1σ: first order in the geometry, exact in the
   materials). The DNP hand formula uses each sample's exact joint height and CTE mismatch.
4. What is sampled: the elastic estimate is a screening analysis without a creep-fatigue life
   (:mod:`wlcsp.life_report`), so each sample's critical bump (largest Δγ) gets (a) Engelmaier's
   DNP hand estimate ``engelmaier_dnp`` (cycles; it sees the CTEs and the joint height, not the
   stiffnesses or layers), the ``hand_estimate`` of :func:`wlcsp.analysis.analyze`, and (b)
   ``relative_life`` = N/N_nominal = (Δγ/Δγ_nominal)^(1/c), the life ratio that the sample's FE
   shear-strain range implies through Engelmaier's strain-life exponent c at the profile's mean
   temperature and dwell (:data:`RELATIVE_LIFE`; a ratio, not a life).
5. Per model: the distribution, its Weibull fit (:func:`wlcsp.life.fit_weibull`, MLE) and the
   importance of each input: Spearman's rank correlation with the life, and the normalized
   sensitivity ∂ln N/∂z (relative change of life per σ of the input), the least-squares slope
   of ln N on all z together (needs N ≥ d + 2 samples for d inputs).

The Weibull fit describes the spread that the toleranced inputs cause in the model's life; the
intrinsic fatigue scatter of nominally identical joints (Weibull β of a test population) is not in
it. Viscoplastic analyses are not sampled here: ``loading.solder`` must be ``elastic``.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import difflib
import functools
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import linalg, sparse, stats
from scipy.stats import qmc
from threadpoolctl import threadpool_limits

from . import life_report, progress
from .analysis import Elastic, bump_ranges, delta_cte, solve_elastic
from .design import Design, joint_shape, load_design
from .errors import AnalysisError, DesignError
from .fem.linsolve import Factorization, preconditioned_cg
from .fem.thermoelastic import ThermoelasticModel, ThermoelasticSolution
from .geometry import build_regions
from .life import SHEAR_PER_EQUIVALENT, cycle_life, fit_weibull, weibull_life
from .loading import Profile, parse_profile
from .materials import Material, Table
from .mesh import build_mesh

TRUNCATION = 3.0
"""Samples are standard normal deviates truncated at ±3σ: the tolerance band (module docstring)."""

MAX_SIGMA = 0.25
"""Largest relative σ accepted: at −3σ every scaled property and length stays ≥ 25 % of nominal."""

MAX_SAMPLES = 10_000
"""Most samples per run: the rank correlations are then known to ±1/√N ≈ 1 %; more buys nothing."""

CTE_SIGMA = 0.03
"""Relative σ of every CTE. The ranges quoted for the library's data are ±7 % about their middle
for BT (13-15 ppm/K) and SAC (20-23 ppm/K) (``data/materials.toml``, lit §1.1), i.e. σ = 2.4 % at
±3σ; rounded up to 3 %."""

MODULUS_SIGMA = 0.10
"""Relative σ of every Young's modulus: underfill 6-10 GPa (±25 %) and polyimide 2-4 GPa (±33 %)
in ``data/materials.toml`` give σ = 8-11 % at ±3σ."""

LAYER_THICKNESS_SIGMA = 0.033
"""Relative σ of each spin-coated ``[[layers]]`` thickness: ±10 % taken as the tolerance of a
cured 10-100 µm polymer film (an assumption: no film-thickness specification was retrieved; spin
coating plus 30-50 % cure shrinkage make ±10 % a plausible process window), ±3σ."""

DIE_THICKNESS_TOLERANCE = 0.025
"""Die thickness tolerance (mm): ±25 µm, the SEMI M1 tolerance of 725 µm polished 200 mm wafers
(from memory, not retrieved); σ = tolerance/3."""

SUBSTRATE_THICKNESS_TOLERANCE = 0.125
"""Relative substrate thickness tolerance: ±0.050 mm on a 0.4 mm laminate, IPC-4101 thickness
class B as quoted by a laminate maker (eleceltek.com, PIC copper-clad laminate data);
σ = 1/3 of it."""

BALL_DIAMETER_TOLERANCE = 0.010
"""Solder-sphere diameter tolerance (mm): ±10 µm for 0.15-0.50 mm BGA spheres before reflow
(topline.tv, "BGA Solder Ball" tolerance table); σ = tolerance/3."""

NO_SPREAD = 1e-9
"""Relative spread of the sampled lives below which they count as equal (no Weibull fit): two
solves of one design on one mesh differ by up to ~1e-11 relative (the threaded direct solver is
not bitwise reproducible; measured on the tests' coarse seed mesh), far below any toleranced
input's effect (≥ 1e-4 for σ ≥ 0.1 %)."""

RELATIVE_LIFE = "relative_life"
"""N/N_nominal of the sample's critical-bump shear-strain range by Engelmaier's exponent (method,
step 4): Engelmaier's N50 ∝ Δγ^(1/c) (lit §3.1), so the ratio holds neither ε_f' nor the
elastic-FE strain's absolute level."""

RANGES = ("delta_shear_strain", "delta_equivalent_strain", "delta_elastic_energy_density")
"""Per-bump ranges carried through the samples (:func:`wlcsp.analysis.bump_ranges`)."""

_KINDS = ("cte", "modulus", "thickness", "die_thickness", "substrate_thickness", "ball_diameter")


@dataclass(frozen=True)
class Input:
    """One toleranced input: its name (module docstring) and relative standard deviation."""

    name: str
    sigma: float

    @property
    def geometric(self) -> bool:
        """True when the input changes the mesh (a thickness or the ball diameter)."""
        return not self.name.startswith(("cte.", "modulus."))


@dataclass(frozen=True)
class ScatterSpec:
    """The toleranced inputs (σ > 0) and the seed of the sampling."""

    inputs: tuple[Input, ...]
    seed: int


def model_materials(design: Design) -> tuple[str, ...]:
    """Names of the materials of the design's regions, in region order."""
    return tuple(dict.fromkeys(r.material for r in build_regions(design).regions))


def default_sigmas(design: Design) -> dict[str, float]:
    """Input name -> default relative σ (module docstring), every input of the design."""
    mats = model_materials(design)
    out = {f"cte.{m}": CTE_SIGMA for m in mats} | {f"modulus.{m}": MODULUS_SIGMA for m in mats}
    out["thickness.die"] = DIE_THICKNESS_TOLERANCE / TRUNCATION / design.die.thickness
    out |= {f"thickness.{layer.name}": LAYER_THICKNESS_SIGMA for layer in design.layers}
    out["thickness.substrate"] = SUBSTRATE_THICKNESS_TOLERANCE / TRUNCATION
    out["ball_diameter"] = BALL_DIAMETER_TOLERANCE / TRUNCATION / design.bumps.ball_diameter
    return out


def _kind(name: str) -> str:
    head = name.split(".")[0]
    if head != "thickness":
        return head
    return {"thickness.die": "die_thickness",
            "thickness.substrate": "substrate_thickness"}.get(name, "thickness")


def _sigma(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0.0 <= value <= MAX_SIGMA:
        raise DesignError(key, value, f"a relative standard deviation in [0, {MAX_SIGMA:g}]")
    return float(value)


def parse_scatter(design: Design) -> ScatterSpec:
    """The design's ``[scatter]`` table over the defaults, validated (module docstring)."""
    raw = design.raw.get("scatter", {})
    sigmas = default_sigmas(design)
    unknown = sorted(set(raw) - {*_KINDS, "seed", "inputs"})
    if unknown:
        raise DesignError(f"scatter.{unknown[0]}", raw[unknown[0]], "unknown key (typo?); "
                          f"allowed: seed, inputs, {', '.join(_KINDS)}")
    for kind in _KINDS:
        if kind in raw:
            value = _sigma(raw[kind], f"scatter.{kind}")
            sigmas = {k: value if _kind(k) == kind else v for k, v in sigmas.items()}
    inputs = raw.get("inputs", {})
    if not isinstance(inputs, Mapping):
        raise DesignError("scatter.inputs", inputs, "a table: input name -> relative σ")
    for name, value in inputs.items():
        if name not in sigmas:
            close = difflib.get_close_matches(name, list(sigmas), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise DesignError(f"scatter.inputs.{name}", value,
                              f"unknown input; {hint}known: {', '.join(sigmas)}")
        sigmas[name] = _sigma(value, f"scatter.inputs.{name}")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DesignError("scatter.seed", seed, "an integer ≥ 0")
    return ScatterSpec(tuple(Input(k, v) for k, v in sigmas.items() if v > 0), seed)


def check_design(design: Design) -> ScatterSpec:
    """Raise DesignError unless the Monte Carlo can run on ``design``; its parsed ``[scatter]``."""
    if design.loading.solder != "elastic":
        raise DesignError("loading.solder", design.loading.solder,
                          "the Monte Carlo re-solves the elastic estimate: use elastic")
    if not parse_profile(design.loading.profile).cyclic:
        raise DesignError("loading.profile", design.loading.profile,
                          "the Monte Carlo needs a cyclic profile (lives)")
    return parse_scatter(design)


def sample_count(value: object) -> int:
    """Validate a number of Monte-Carlo samples (an integer in [2, MAX_SAMPLES], or its text)."""
    try:
        n = int(value) if isinstance(value, str) else value
    except ValueError:
        n = None
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= MAX_SAMPLES:
        raise DesignError("--monte-carlo", value, f"an integer number of samples in "
                          f"[2, {MAX_SAMPLES}]")
    return n


def latin_hypercube(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Latin hypercube of (n, d) standard normal deviates truncated at ±TRUNCATION.

    Each column has one sample in each of its n equal-probability strata.
    """
    if d == 0:
        return np.zeros((n, 0))
    u = qmc.LatinHypercube(d, rng=seed).random(n)
    return stats.truncnorm.ppf(u, -TRUNCATION, TRUNCATION)


def scaled_material(material: Material, cte: float = 1.0, modulus: float = 1.0) -> Material:
    """``material`` with its CTE and Young's-modulus tables multiplied by the factors given."""
    def scale(table: Table, f: float) -> Table:
        return Table(table.temperatures, tuple(f * v for v in table.values))

    return dataclasses.replace(material, cte=scale(material.cte, cte),
                               E=scale(material.E, modulus))


def _materials(design: Design, x: Mapping[str, float]) -> dict[str, Material]:
    """Material name -> perturbed material for relative deviations ``x`` (input name -> x)."""
    return {m: scaled_material(design.material(m), 1.0 + x.get(f"cte.{m}", 0.0),
                               1.0 + x.get(f"modulus.{m}", 0.0))
            for m in model_materials(design)}


SAMPLE_BLAS_THREADS = 1
"""BLAS threads in the sample loop: its CG works on vectors (dot products, matrix-vector
products with the reduced basis), where OpenBLAS's second thread mostly waits: a dot product of
1.5e5 doubles took 15.6 ms with the default two threads against 0.25 ms with one, and a CG
iteration's vector work 62 ms against 1.7 ms, on the 2-core development machine under a load of
~4.5 (other jobs)."""

BASIS_SIZE = 120
"""Most vectors of the reduced basis of earlier solutions kept per profile extreme
(:class:`_Basis`): 120 x 1.5e5 unknowns take 0.15 GB."""


class _Basis:
    """Galerkin initial iterates for CG from the solutions of earlier samples (a reduced basis).

    The perturbed stiffness is K(s) = Σ_g s_g K_g over the modulus groups g, so a basis V of
    earlier solutions gives the Galerkin guess x0 = V (Σ_g s_g Vᵀ K_g V)⁻¹ Vᵀ b (the best
    approximation from span V in the K(s) energy norm) from the small matrices Vᵀ K_g V, kept
    up to date as V grows (the reduced-basis method of parametrized elliptic problems: Quarteroni,
    Manzoni & Negri, *Reduced Basis Methods for PDEs*, Springer 2016, §3.4-3.5). Each solve adds
    its correction x − x0, K-orthonormalized against V (K = Σ_g K_g, the nominal stiffness).
    """

    def __init__(self, pieces: list[sparse.csr_matrix], size: int = BASIS_SIZE) -> None:
        self.pieces = pieces
        self.size = size
        self.k = 0
        self.V = np.empty((0, 0))
        self.A = np.empty((len(pieces), size, size))

    def guess(self, s: np.ndarray, b: np.ndarray) -> np.ndarray:
        """x0 for the factors ``s`` (one per group) and right-hand side ``b``."""
        if not self.k:
            return np.zeros_like(b)
        V = self.V[:self.k]
        A = np.tensordot(s, self.A[:, :self.k, :self.k], axes=1)
        return V.T @ linalg.solve(A, V @ b, assume_a="pos")

    def add(self, x0: np.ndarray, x: np.ndarray) -> None:
        """Add the new direction of the solution ``x`` reached from the guess ``x0``."""
        k = self.k
        if k >= self.size:
            return
        if not k:
            self.V = np.empty((self.size, x.size))
        V = self.V[:k]
        v = x - x0
        v -= V.T @ (V @ sum(K @ v for K in self.pieces))
        W = np.stack([K @ v for K in self.pieces], axis=1)
        norm2 = float(v @ W.sum(axis=1))
        if not norm2 > 0.0:
            return
        self.V[k] = v / math.sqrt(norm2)
        col = (self.V[:k + 1] @ W).T / math.sqrt(norm2)  # (groups, k + 1): Vᵀ K_g v
        self.A[:, :k + 1, k] = col
        self.A[:, k, :k + 1] = col
        self.k = k + 1


class _Extreme:
    """Solvers of the perturbed stiffness at one profile extreme (method, step 2).

    The nominal stiffness at ``T`` is split into one part per modulus group (a toleranced
    material, and one for all the others), all on the nominal sparsity pattern, so that a
    sample's stiffness K(s) = Σ_g s_g K_g is one weighted sum. It is solved by CG preconditioned
    with the nominal factors (:func:`wlcsp.fem.linsolve.preconditioned_cg`; the spectrum of
    K⁻¹K(s) lies in [min s, max s], within [0.25, 1.75] for σ ≤ :data:`MAX_SIGMA`), from the
    Galerkin guess of the earlier samples (:class:`_Basis`).
    """

    def __init__(self, nominal: ThermoelasticModel, T: float, weights: list[np.ndarray]) -> None:
        self.nominal = nominal
        self.T = T
        self.weights = weights

    @functools.cached_property
    def factors(self) -> Factorization:
        """The nominal factors at ``T``."""
        return self.nominal.factorization(self.T)[0]

    @functools.cached_property
    def parts(self) -> tuple[sparse.csr_matrix, list[np.ndarray], _Basis]:
        """The nominal pattern, each group's positions in its data, and the reduced basis."""
        K = self.factors.A.copy()
        K.sort_indices()
        keys = _keys(K)
        pieces, positions = [], []
        for weights in self.weights:
            piece = self.nominal.reduced_stiffness(self.T, weights)
            piece.eliminate_zeros()
            piece.sort_indices()
            pos = np.searchsorted(keys, _keys(piece))
            if np.any(pos >= keys.size) or not np.array_equal(keys[np.minimum(
                    pos, keys.size - 1)], _keys(piece)):
                raise AnalysisError("a material's stiffness has entries outside the nominal "
                                    "pattern")
            pieces.append(piece)
            positions.append(pos)
        return K, positions, _Basis(pieces)

    def factorization(self, s: np.ndarray) -> Factorization:
        """A solver of K(s) (nominal factors when every factor is 1)."""
        if np.all(s == 1.0):
            return self.factors
        K, positions, basis = self.parts
        data = np.zeros(K.nnz)
        for f, pos, piece in zip(s, positions, basis.pieces, strict=True):
            data[pos] += f * piece.data
        Ks = sparse.csr_matrix((data, K.indices, K.indptr), shape=K.shape)
        return preconditioned_cg(Ks, self.factors, guess=lambda b: basis.guess(s, b),
                                 record=basis.add)


def _keys(K: sparse.csr_matrix) -> np.ndarray:
    """Row-major linear index of each stored entry of the canonical CSR matrix ``K``."""
    rows = np.repeat(np.arange(K.shape[0], dtype=np.int64), np.diff(K.indptr))
    return rows * K.shape[1] + K.indices


class _Solver:
    """The cold and hot states of every sample on the nominal mesh (method, step 2)."""

    def __init__(self, el: Elastic, toleranced: list[str]) -> None:
        nominal = el.model
        self.nominal = nominal
        self.states = (el.cold, el.hot)
        self.toleranced = toleranced
        names = [nominal.materials[r].name for r in nominal.regions]
        rest = [m for m in dict.fromkeys(names) if m not in toleranced]
        groups = [*([m] for m in toleranced), *([rest] if rest else [])]
        self.weights = [np.array([n in g for n in names], dtype=float) for g in groups]
        self.extremes = [_Extreme(nominal, s.T, self.weights) for s in self.states]

    def solve(self, materials: Mapping[str, Material], scale: Mapping[str, float]
              ) -> tuple[ThermoelasticSolution, ThermoelasticSolution]:
        """Cold and hot states with ``materials`` (by name), moduli scaled by ``scale``.

        An extreme at which no region has a thermal strain (the stress-free temperature) carries
        no load whatever the CTEs and moduli: its state is the nominal one.
        """
        model = self.nominal.with_materials(
            {r: materials[m.name] for r, m in self.nominal.materials.items()})
        s = np.ones(len(self.weights))
        s[:len(self.toleranced)] = [scale[m] for m in self.toleranced]
        out = []
        for state, extreme in zip(self.states, self.extremes, strict=True):
            if not np.any(model.region_properties(state.T)[2]):
                out.append(state)
                continue
            model.use_factorization(state.T, extreme.factorization(s))
            out.append(model.solve(state.T))
        return out[0], out[1]


def _ranges(design: Design, cold: ThermoelasticSolution, hot: ThermoelasticSolution
            ) -> np.ndarray:
    """(bumps, len(RANGES)) array of the per-bump ranges."""
    return np.array([[r[k] for k in RANGES] for r in bump_ranges(design, cold, hot)])


def perturbed_raw(design: Design, name: str, factor: float) -> dict[str, Any]:
    """The raw design with the geometric input ``name`` multiplied by ``factor``.

    The bumps are pinned at the nominal DNPs so that every variant has the same bumps.
    """
    raw = copy.deepcopy(dict(design.raw))
    for key in ("array", "depopulate", "depopulate_rows", "depopulate_columns", "perimeter"):
        raw["bumps"].pop(key, None)
    raw["bumps"]["positions"] = list(design.dnp)
    if name == "ball_diameter":
        raw["bumps"]["ball_diameter"] = design.bumps.ball_diameter * factor
    elif name == "thickness.die":
        raw["die"]["thickness"] = design.die.thickness * factor
    elif name == "thickness.substrate":
        raw["substrate"]["thickness"] = design.substrate.thickness * factor
    else:
        layer = name.removeprefix("thickness.")
        entry = next(e for e in raw["layers"] if e["name"] == layer)
        entry["thickness"] *= factor
    return raw


def _geometry_effect(design: Design, item: Input, base: np.ndarray, bar: progress.Bar
                     ) -> np.ndarray:
    """The log change ln q(+1σ) − ln q(0) per bump and range (method, step 3); ``bar`` counts."""
    bar.set_postfix_str(item.name)
    try:
        varied = load_design(perturbed_raw(design, item.name, 1.0 + item.sigma))
    except DesignError as exc:
        raise DesignError(f"scatter.inputs.{item.name}", item.sigma, "the design at +1σ is "
                          f"invalid: {exc}") from None
    el = solve_elastic(varied)
    bar.update()
    return np.log(_ranges(varied, el.cold, el.hot)) - np.log(base)


def monte_carlo(design: Design | str | Path | Mapping[str, Any], samples: int, *,
                out: str | Path | None = None, figures: bool = True) -> dict[str, Any]:
    """Life distribution of the critical bump over the design's input tolerances.

    Parameters
    ----------
    design : Design, path or raw dict
        With a cyclic profile and ``loading.solder = "elastic"``; ``[scatter]`` sets the
        tolerances (module docstring).
    samples : int
        Number of samples N (2 to :data:`MAX_SAMPLES`).
    out : str or Path, optional
        Directory for ``scatter.json``, ``samples.csv`` and the figures (``weibull_<model>.png``,
        ``importance.png``).

    Returns
    -------
    dict
        ``inputs`` (name, sigma), ``samples``, ``seed``, ``nominal`` (critical bump, its Δγ and
        lives), ``z`` (N x d deviates), per sample ``critical_bump`` and ``delta_shear_strain``,
        ``life`` (model -> N lives), ``statistics``, ``weibull`` (model -> η, β, N1, N10, N50,
        or None without spread), ``importance`` (model -> input -> rank_correlation,
        sensitivity), ``most_important`` (model -> input), ``seconds``.
    """
    if not isinstance(design, Design):
        design = load_design(design)
    samples = sample_count(samples)
    spec = check_design(design)
    names = [i.name for i in spec.inputs]
    sigma = np.array([i.sigma for i in spec.inputs])
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    with progress.phase("Monte Carlo: nominal mesh and solve"):
        pm = build_mesh(design)
        el = solve_elastic(design, pm)
        base = _ranges(design, el.cold, el.hot)
        solver = _Solver(el, [n.removeprefix("modulus.") for n in names
                              if n.startswith("modulus.")])
        nominal = _sample(design, solver, {}, np.zeros(0), np.zeros(0))
    seconds["nominal"] = time.perf_counter() - t
    t = time.perf_counter()
    geometric = [k for k, i in enumerate(spec.inputs) if i.geometric]
    with progress.bar(len(geometric), "Monte Carlo: geometry inputs (remesh, solve)",
                      unit="input") as bar:
        effects = np.array([_geometry_effect(design, spec.inputs[k], base, bar)
                            for k in geometric])
    seconds["geometry"] = time.perf_counter() - t
    t = time.perf_counter()
    z = latin_hypercube(samples, len(names), spec.seed)
    with progress.bar(samples, "Monte Carlo: samples", unit="sample") as bar, \
            threadpool_limits(limits=SAMPLE_BLAS_THREADS, user_api="blas"):
        rows = []
        for zk in z:
            rows.append(_sample(design, solver, dict(zip(names, sigma * zk, strict=True)),
                                effects, zk[geometric]))
            bar.update()
    seconds["samples"] = time.perf_counter() - t
    lives = {m: np.array([r["life"][m] for r in rows]) for m in nominal["life"]}
    profile = parse_profile(design.loading.profile)
    lives[RELATIVE_LIFE] = np.array([relative_life(
        design, profile, r["delta_shear_strain"], nominal["delta_shear_strain"]) for r in rows])
    result = {
        "design": design.name,
        "analysis": "elastic estimate",
        "inputs": [{"name": i.name, "sigma": i.sigma} for i in spec.inputs],
        "samples": samples, "seed": spec.seed, "truncation": TRUNCATION,
        "nominal": {**nominal, "life": {**nominal["life"], RELATIVE_LIFE: 1.0}},
        "z": z.tolist(),
        "critical_bump": [r["critical_bump"] for r in rows],
        "delta_shear_strain": [r["delta_shear_strain"] for r in rows],
        "life": {m: v.tolist() for m, v in lives.items()},
        "statistics": {m: _statistics(v) for m, v in lives.items()},
        "weibull": {m: _weibull(v) for m, v in lives.items()},
        "importance": {m: importance(z, v, names) for m, v in lives.items()},
        "seconds": seconds,
    }
    result["most_important"] = {m: most_important(imp)
                                for m, imp in result["importance"].items()}
    if out is not None:
        write_outputs(result, Path(out), figures=figures)
    return result


def _sample(design: Design, solver: _Solver, x: Mapping[str, float], effects: np.ndarray,
            z_geometric: np.ndarray) -> dict[str, Any]:
    """Critical bump, its Δγ and its lives at relative deviations ``x`` (input name -> x)."""
    materials = _materials(design, x)
    cold, hot = solver.solve(materials, {m: 1.0 + x.get(f"modulus.{m}", 0.0)
                                         for m in solver.toleranced})
    q = _ranges(design, cold, hot)
    if len(z_geometric):
        q = q * np.exp(np.tensordot(z_geometric, effects, axes=1))
    crit = int(np.argmax(q[:, 0]))
    ball = design.bumps.ball_diameter * (1.0 + x.get("ball_diameter", 0.0))
    joint = joint_shape(math.pi * ball**3 / 6, design.bumps.pad_diameter,
                        design.rerouting.land_diameter, design.joint.neck)
    varied = dataclasses.replace(design, materials={**design.materials, **materials})
    profile = parse_profile(design.loading.profile)
    life = life_report.bump_lives(varied, profile, {life_report.HAND_ESTIMATE: {
        "dnp": design.dnp[crit], "joint_height": joint.height,
        "delta_cte": delta_cte(varied, profile)}})
    return {"critical_bump": crit, "delta_shear_strain": float(q[crit, 0]),
            "life": {m: float(v) for m, v in life.items()}}


def relative_life(design: Design, profile: Profile, delta_gamma: float, nominal: float
                  ) -> float:
    """N/N_nominal = (Δγ/Δγ_nominal)^(1/c): the ratio of Engelmaier lives at the two ranges.

    Both through :func:`wlcsp.life.cycle_life` (the design's Engelmaier set, the profile's c);
    ``delta_gamma`` and ``nominal`` are shear-strain ranges (-).
    """
    def n(gamma: float) -> float:
        return cycle_life(design.bumps.material, profile,
                          delta_strain=gamma / SHEAR_PER_EQUIVALENT, models=["engelmaier"],
                          sets=design.fatigue)["engelmaier"]

    return n(delta_gamma) / n(nominal)


def _statistics(lives: np.ndarray) -> dict[str, float]:
    ln = np.log(lives)
    return {"median": float(np.median(lives)), "min": float(lives.min()),
            "max": float(lives.max()), "std_ln": float(ln.std(ddof=1))}


def _weibull(lives: np.ndarray) -> dict[str, float] | None:
    """MLE Weibull fit and its N1, N10, N50; None when the lives are equal (:data:`NO_SPREAD`)."""
    if np.ptp(lives) <= NO_SPREAD * lives.max():
        return None
    fit = fit_weibull(lives)
    return {"eta": fit.eta, "beta": fit.beta,
            **{f"N{p}": float(weibull_life(fit.eta, fit.beta, p)) for p in (1, 10, 50)}}


def importance(z: np.ndarray, lives: np.ndarray, names: list[str]
               ) -> dict[str, dict[str, float | None]]:
    """Input -> Spearman rank correlation with the life and sensitivity ∂ln N/∂z (per σ).

    The sensitivities are the least-squares slopes of ln N on all z together (None when there
    are fewer than d + 2 samples); an input whose life has no spread gets zeros.
    """
    ln = np.log(lives)
    n, d = z.shape
    if np.ptp(ln) == 0.0:
        return {k: {"rank_correlation": 0.0, "sensitivity": 0.0} for k in names}
    slopes = [None] * d
    if n >= d + 2:
        coef = np.linalg.lstsq(np.column_stack([np.ones(n), z]), ln, rcond=None)[0]
        slopes = [float(c) for c in coef[1:]]
    return {k: {"rank_correlation": float(stats.spearmanr(z[:, i], ln).statistic),
                "sensitivity": slopes[i]} for i, k in enumerate(names)}


def most_important(imp: Mapping[str, Mapping[str, float | None]]) -> str | None:
    """The input with the largest |sensitivity| (or |rank correlation| without sensitivities)."""
    if not imp:
        return None
    key = "sensitivity" if all(v["sensitivity"] is not None for v in imp.values()) \
        else "rank_correlation"
    return max(imp, key=lambda k: abs(imp[k][key]))


def write_outputs(result: Mapping[str, Any], out: Path, *, figures: bool = True) -> None:
    """``scatter.json``, ``samples.csv`` and (with ``figures``) the Weibull and importance plots."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "scatter.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    names = [i["name"] for i in result["inputs"]]
    models = list(result["life"])
    with (out / "samples.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["sample", *(f"z_{n}" for n in names), "critical_bump",
                    "delta_shear_strain", *(f"life_{m}" for m in models)])
        for k, zk in enumerate(result["z"]):
            w.writerow([k, *zk, result["critical_bump"][k], result["delta_shear_strain"][k],
                        *(result["life"][m][k] for m in models)])
    if figures:
        from .life import WeibullFit
        from .plots import plot_importance, weibull_plot

        for m, fit in result["weibull"].items():
            if fit is not None:
                weibull_plot(result["life"][m], fit=WeibullFit(
                    fit["eta"], fit["beta"], "mle", result["samples"], result["samples"]),
                    path=out / f"weibull_{m}.png",
                    title=f"{m}: life scatter from the input tolerances (N = "
                          f"{result['samples']})")
        if names:
            plot_importance(result, out / "importance.png")


def format_scatter(result: Mapping[str, Any]) -> str:
    """The summary ``wlcsp compare --monte-carlo`` prints."""
    lines = [f"Monte Carlo, {result['samples']} samples (Latin hypercube, seed "
             f"{result['seed']}), {len(result['inputs'])} toleranced inputs; "
             f"{result['design']}"]
    lines.append(f"{'model':<16} {'nominal':>10} {'median':>10} {'min':>10} {'max':>10} "
                 f"{'η':>10} {'β':>7} {'N1%':>10}  most important input (∂lnN/∂z, ρ)")
    for m, st in result["statistics"].items():
        wb = result["weibull"][m]
        top = result["most_important"][m]
        imp = result["importance"][m].get(top, {}) if top else {}
        s = imp.get("sensitivity")
        top_txt = f"{top} ({'—' if s is None else f'{s:+.3f}'}, " \
                  f"{imp.get('rank_correlation', 0.0):+.2f})" if top else "none"
        lines.append(
            f"{m:<16} {result['nominal']['life'][m]:>10.4g} {st['median']:>10.4g} "
            f"{st['min']:>10.4g} {st['max']:>10.4g} "
            + (f"{wb['eta']:>10.4g} {wb['beta']:>7.3g} {wb['N1']:>10.4g}" if wb
               else f"{'no spread':>29}") + f"  {top_txt}")
    lines.append("Spread from the toleranced inputs only (not the intrinsic fatigue scatter); "
                 "∂lnN/∂z = relative life change per σ of the input.")
    return "\n".join(lines)
