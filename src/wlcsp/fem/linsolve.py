"""Solution of the symmetric positive-definite stiffness systems: two direct backends and AMG-CG.

2D backends chosen with numbers (``benchmarks/solve_scaling.py``; P2 plane strain, 2 cores);
3D with ``benchmarks/solver3d.py`` (table below):

``superlu`` (pure scipy; the 2D default up to :data:`SUPERLU_UP_TO_2D` unknowns)
    ``scipy.sparse.linalg.splu`` with the minimum-degree ordering of AᵀA + A
    (``permc_spec="MMD_AT_PLUS_A"``), ``SymmetricMode`` and no row pivoting
    (``diag_pivot_thresh=0``): an SPD matrix needs no pivoting (Golub & Van Loan, *Matrix
    Computations*, 4th ed., §4.2), and keeping the diagonal lets the symmetric ordering
    stand. That is 1.4x faster than the same ordering with partial pivoting and far faster
    than scipy's default COLAMD (SuperLU user's guide, Li et al. 1999/2011, §2.5 options).
``pardiso`` (a dependency since the 3D model; the 3D default, and the 2D default above
    :data:`SUPERLU_UP_TO_2D` unknowns)
    Intel MKL PARDISO, real SPD (``mtype=2``, upper triangle), through ``pypardiso``: about
    3x faster than SuperLU at 5e5 2D DOFs and 16x at 5e4 3D P2 DOFs; the MKL wheels weigh
    ~700 MB.

Factorization seconds of the same reduced P2 plane-strain matrices on 2 cores (a quiet machine;
scratch comparison behind ``benchmarks/solve_scaling.py``):

==========  ==================  ================  ========  =======  =======
DOFs        SuperLU (this one)  SuperLU pivoting  cholespy  qdldl    PARDISO
==========  ==================  ================  ========  =======  =======
1e5         0.61                0.88              0.91      0.85     0.52
5e5         9.8                 --                14.7      11.8     3.4
1e6         29 (7.5 GB peak)    --                --        --       ~11
==========  ==================  ================  ========  =======  =======

CHOLMOD (scikit-sparse) needs SuiteSparse from the system packages and does not count as
installable from the registry; the self-contained ``cholespy`` wheel (CHOLMOD without BLAS) and
``qdldl`` are slower than SuperLU and are not offered.

``amg`` (pyamg)
    Smoothed-aggregation AMG (``pyamg.smoothed_aggregation_solver``, symmetric strength,
    θ = 0) with the rigid-body modes of the unknowns as near-nullspace (3 in 2D, 6 in 3D;
    :meth:`ThermoelasticModel.near_nullspace`), one V-cycle as preconditioner of scipy's CG
    (Vaněk, Mandel & Brezina, Computing 56:179, 1996). CG stops at ‖b − Ax‖₂ ≤ :data:`AMG_RTOL`
    ‖b‖₂ and is continued (tolerance ×0.01, at most twice) until the backward error passes the
    same :data:`BACKWARD_ERROR_TOL` as the direct solves. With AMG_RTOL = 1e-10 the stresses
    of the 5e4-DOF case below agree with PARDISO's to 6.7e-10 of their peak (u to 4e-11);
    1e-6 and 1e-8 end in the same place only because the backward-error check then
    continues CG (5e-8 of the peak) — 1e-10 reaches the direct solution's accuracy at once.

3D P2 (``benchmarks/solver3d.py``): a quarter package stack, 4 x 4 mm, BT 0.4 / elastomer
0.05 (E ≈ 1/300 of its neighbours) / silicon 0.7 mm, cooled 125 → −40 °C, symmetry faces and
one automatic hold, structured P2 tets; each case in its own process, peak = VmHWM (GB),
medians of 2 interleaved repeats (2 cores, shared with other jobs; OPENBLAS_CORETYPE unset;
SuperLU at the smallest size only):

=========  ========  =========  ==============  ================  ===========  =========
DOFs       backend   assembly   factor/set-up   solve (one rhs)   CG its       peak GB
=========  ========  =========  ==============  ================  ===========  =========
5.1e4      PARDISO   0.47       2.35            0.09              --           0.69
5.1e4      AMG-CG    0.53       1.01            4.29              85           0.50
5.1e4      SuperLU   0.51       38.2            0.25              --           1.46
1.9e5      PARDISO   3.29       26.2            0.82              --           2.90
1.9e5      AMG-CG    1.95       4.06            21.3              78           1.48
5.0e5      PARDISO   7.68       138.5           1.76              --           9.68
5.0e5      AMG-CG    4.64       9.63            113.4             104          3.96
=========  ========  =========  ==============  ================  ===========  =========

(assembly = kinematics + Bᵀ D B + reduction; peak after assembly alone: 0.50, 1.48, 3.77 GB.)
MUMPS (``python-mumps``) has no wheel: its sdist needs the MUMPS libraries, so it is out.

Default: ``pardiso`` in 3D up to :data:`AMG_ABOVE_3D` DOFs, ``amg`` above. For one right-hand
side the two are within 10 % at 2e5–5e5 DOFs and PARDISO is twice as fast at 5e4, but every
further solve with the same stiffness (other temperatures with the same E, creep increments,
GPS/plane-face columns) costs PARDISO 0.1–1.8 s against AMG's 4–113 s; AMG wins on memory
(2.4x less at 5e5 DOFs), and PARDISO's fill (≈ n^1.3) would pass ~25 GB near 1e6 DOFs, so
larger models switch to AMG. SuperLU is 16x slower than PARDISO at 5e4 DOFs in 3D. The 2D
default is unchanged (the first of :func:`available_backends`).

:func:`factorize` returns a :class:`Factorization` whose :meth:`~Factorization.solve` reuses the
factors for any number of right-hand sides (load steps, creep increments, variants on the same
mesh with the same stiffness). Every solve checks its backward error and raises
:class:`~wlcsp.errors.AnalysisError` instead of returning an inaccurate answer.
"""

from __future__ import annotations

import importlib.util
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu

from ..errors import AnalysisError, DesignError

DEFAULT_3D = "pardiso"
"""Default backend of the 3D model where installed, up to :data:`AMG_ABOVE_3D` DOFs."""

SUPERLU_UP_TO_2D = 300_000
"""2D systems up to this many unknowns default to ``superlu`` where PARDISO is installed too:
on the seed mesh (152 683 unknowns, 2 cores, two interleaved runs each) the factorizations took
the same time within the noise (SuperLU 3.7/4.4 s, PARDISO 4.4/2.7 s) but a substitution 0.099/
0.095 s against 0.40/0.37 s (pypardiso hashes the whole matrix on every solve), and the
viscoplastic time stepping and the Monte Carlo substitute hundreds of times per factorization.
Above it PARDISO's factorization wins (3x at 5e5, table above)."""

AMG_ABOVE_3D = 800_000
"""3D systems with more unknowns default to ``amg``: PARDISO's 3D P2 factors took 9.7 GB at
5e5 DOFs and grow faster than n (module docstring)."""

BACKENDS = ("superlu", "pardiso", "amg")
"""Backends :func:`factorize` knows."""

AMG_RTOL = 1e-10
"""CG stopping tolerance on the relative residual ‖b − Ax‖₂/‖b‖₂ of the ``amg`` backend; see
the module docstring for the measurement behind it."""

AMG_MAXITER = 2000
"""Most CG iterations of one ``amg`` solve before it raises (41–100 are typical)."""

BACKWARD_ERROR_TOL = 1e-10
"""Largest accepted normwise backward error ‖Ax − b‖∞ / (‖A‖∞‖x‖∞ + ‖b‖∞) of a solve (Rigal &
Gaches, J. ACM 14:543, 1967; Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
2002, Thm 7.1). A backward-stable direct solve gives a small multiple of the unit round-off
1.1e-16 whatever the conditioning (unlike the relative residual, which grows with the condition
number of the fine, high-contrast package meshes); 1e-10 leaves room for the growth factor."""


def available_backends() -> tuple[str, ...]:
    """The direct backends that can run here, fastest first, then ``amg`` if pyamg is here."""
    has_pardiso = importlib.util.find_spec("pypardiso") is not None
    direct = ("pardiso", "superlu") if has_pardiso else ("superlu",)
    return (*direct, "amg") if importlib.util.find_spec("pyamg") is not None else direct


def default_backend(dim: int = 2, n: int | None = None) -> str:
    """The default backend of a model of dimension ``dim`` (2 or 3) with ``n`` unknowns.

    2D: SuperLU up to :data:`SUPERLU_UP_TO_2D` unknowns, else the first of
    :func:`available_backends`. 3D: PARDISO, or AMG-CG above :data:`AMG_ABOVE_3D` unknowns (or
    when PARDISO is missing); see the module docstring.
    """
    backends = available_backends()
    if dim == 2 and (n is None or n <= SUPERLU_UP_TO_2D):
        return "superlu"
    if dim == 3:
        if n is not None and n > AMG_ABOVE_3D and "amg" in backends:
            return "amg"
        if DEFAULT_3D in backends:
            return DEFAULT_3D
        if "amg" in backends:
            return "amg"
    return backends[0]


@dataclass(frozen=True, eq=False)
class Factorization:
    """Factors of an SPD matrix ``A``; :meth:`solve` can be called any number of times."""

    A: sparse.csr_matrix
    backend: str
    _solve: Callable[[np.ndarray], np.ndarray]
    norm: float
    """‖A‖∞ (largest absolute row sum)."""
    iterations: list[int] = field(default_factory=list)
    """``amg``, ``pcg``: CG iterations of each solve so far (empty for the direct backends)."""

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Solve A x = b for ``b`` of shape (n,) or (n, k); checks the backward error."""
        b = np.asarray(b, dtype=float)
        if b.shape[0] != self.A.shape[0]:
            raise ValueError(f"len(b) = {b.shape[0]}, but A has {self.A.shape[0]} rows")
        x = self._solve(b)
        if not np.all(np.isfinite(x)):
            raise AnalysisError(f"{self.backend} solve gave non-finite values (singular matrix)")
        res = np.abs(self.A @ x - b).max(axis=0)
        scale = self.norm * np.abs(x).max(axis=0) + np.abs(b).max(axis=0)
        eta = float(np.max(res / np.where(scale > 0, scale, 1.0)))
        if eta > BACKWARD_ERROR_TOL:
            raise AnalysisError(f"{self.backend} solve inaccurate: backward error {eta:.3g} > "
                                f"{BACKWARD_ERROR_TOL:g}")
        return x


def factorize(
    A: sparse.spmatrix, backend: str | None = None, near_nullspace: np.ndarray | None = None
) -> Factorization:
    """Factorize the symmetric positive-definite matrix ``A``.

    Parameters
    ----------
    A : scipy sparse matrix (n, n)
        Symmetric positive definite (a stiffness matrix with its supports removed).
    backend : {"superlu", "pardiso", "amg"}, optional
        Default: the first of :func:`available_backends` (:func:`default_backend` of 2D).
    near_nullspace : ndarray (n, k), optional
        ``amg`` only: the rigid-body modes of the unsupported problem restricted to the
        unknowns (3 in 2D, 6 in 3D), smoothed aggregation's near-nullspace; default ones.

    Raises
    ------
    AnalysisError
        When the matrix is singular (e.g. a rigid-body mode left free).
    """
    backend = backend or available_backends()[0]
    if backend not in BACKENDS:
        raise DesignError("solver", backend, f"one of {', '.join(BACKENDS)}")
    if backend not in available_backends():
        package = "pyamg" if backend == "amg" else "pypardiso"
        raise DesignError("solver", backend, f"{package} is not installed")
    A = sparse.csr_matrix(A)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A.shape = {A.shape}, but a square matrix is needed")
    if backend == "pardiso":
        return _pardiso(A)
    if backend == "amg":
        return _amg(A, near_nullspace)
    try:
        lu = splu(
            A.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
    except RuntimeError as err:  # "Factor is exactly singular"
        raise AnalysisError(f"superlu factorization failed: {err}") from err
    return Factorization(A, "superlu", lu.solve, _norm(A))


PARDISO_POOL_SIZE = 4
"""Freed PARDISO solver objects kept for reuse. Creating one searches the environment for the
MKL library (``pypardiso.PyPardisoSolver.__init__`` globs ``sys.prefix``): 0.35-1.4 s measured
on the development machine, paid at every refactorization of a time-stepping run otherwise."""

_PARDISO_POOL: list = []


def load_backend(backend: str) -> None:
    """Load ``backend``'s native library now (PARDISO: MKL; a no-op for the others).

    threadpoolctl's limits apply only to libraries loaded when they are set: call this before
    ``threadpool_limits`` so that they also hold MKL's threads (the viscoplastic time stepping
    runs single-threaded; PARDISO's substitutions at 1.4e4 3D DOFs took 0.23 s per solve
    with MKL's two default threads on a loaded 2-core machine against 0.06 s with one).
    """
    if backend == "pardiso" and not _PARDISO_POOL:
        _PARDISO_POOL.append(_pardiso_solver())


def _pardiso_solver():
    """A PARDISO solver for SPD matrices (``mtype=2``), from the pool if one is free."""
    if _PARDISO_POOL:
        solver = _PARDISO_POOL.pop()
        solver.pt[:] = 0  # a fresh handle (its memory was released by phase -1)
        solver.iparm[:] = 0
        return solver
    import pypardiso

    return pypardiso.PyPardisoSolver(mtype=2)


def _release(solver) -> None:
    """Free the solver's factors and keep it for reuse (:data:`PARDISO_POOL_SIZE`)."""
    solver.free_memory(True)
    if len(_PARDISO_POOL) < PARDISO_POOL_SIZE:
        _PARDISO_POOL.append(solver)


def _pardiso(A: sparse.csr_matrix) -> Factorization:
    import pypardiso

    upper = sparse.triu(A, format="csr")
    upper.sort_indices()
    solver = _pardiso_solver()
    try:
        solver.factorize(upper)
    except pypardiso.pardiso_wrapper.PyPardisoError as err:
        _release(solver)
        raise AnalysisError(f"pardiso factorization failed: {err}") from err

    def solve(b: np.ndarray) -> np.ndarray:
        return solver.solve(upper, b)

    f = Factorization(A, "pardiso", solve, _norm(A))
    weakref.finalize(f, _release, solver)
    return f


def _amg(A: sparse.csr_matrix, B: np.ndarray | None) -> Factorization:
    import pyamg
    from scipy.sparse.linalg import cg

    A = A.copy()
    A.sort_indices()
    B = np.ones((A.shape[0], 1)) if B is None else np.ascontiguousarray(B, dtype=float)
    ml = pyamg.smoothed_aggregation_solver(A, B=B, symmetry="hermitian",
                                           strength=("symmetric", {"theta": 0.0}),
                                           max_coarse=1000)
    M = ml.aspreconditioner(cycle="V")
    norm = _norm(A)
    iterations: list[int] = []

    def solve_one(b: np.ndarray) -> np.ndarray:
        count = [0]

        def tick(_: np.ndarray) -> None:
            count[0] += 1

        x = np.zeros_like(b)
        rtol = AMG_RTOL
        for _ in range(3):  # tighten until the backward error passes (rarely needed)
            x, info = cg(A, b, x0=x, rtol=rtol, maxiter=AMG_MAXITER, M=M, callback=tick)
            if info != 0:
                raise AnalysisError(f"amg: CG did not converge in {AMG_MAXITER} iterations")
            eta = np.abs(A @ x - b).max() / (norm * np.abs(x).max() + np.abs(b).max() or 1.0)
            if eta <= BACKWARD_ERROR_TOL:
                break
            rtol *= 0.01
        iterations.append(count[0])
        return x

    def solve(b: np.ndarray) -> np.ndarray:
        if b.ndim == 1:
            return solve_one(b)
        return np.stack([solve_one(b[:, k]) for k in range(b.shape[1])], axis=1)

    return Factorization(A, "amg", solve, norm, iterations)


PCG_RTOL = 1e-10
"""Stopping tolerance of :func:`preconditioned_cg` on the estimated relative energy-norm error
sqrt(rᵀ M⁻¹ r / xᵀ b). On the seed design's modulus samples (bump-averaged ranges against a
direct solve; ``tests/test_scatter.py``) an estimate of 5e-10 left the bump shear-strain ranges
within 2.5e-7 of their converged values and 1e-9 within 3e-8 (the direct solve itself is off by
up to 5e-9); 1e-10 keeps the ranges ≤ 1e-6 with a margin of ~40."""

PCG_MAXITER = 200
"""Most iterations of one :func:`preconditioned_cg` solve before it raises (5-10 are typical)."""


def preconditioned_cg(
    A: sparse.spmatrix, preconditioner: Factorization, rtol: float = PCG_RTOL,
    guess: Callable[[np.ndarray], np.ndarray] | None = None,
    record: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> Factorization:
    """A solver of A x = b by conjugate gradients preconditioned with the factors of a nearby B.

    ``preconditioner`` holds the factors of an SPD matrix B spectrally close to A,
    λ_min B ≤ A ≤ λ_max B (e.g. a stiffness whose material moduli were scaled by factors
    s ∈ [λ_min, λ_max]): CG then converges at the rate (√κ − 1)/(√κ + 1) with κ = λ_max/λ_min
    whatever the conditioning of A (Saad, *Iterative Methods for Sparse Linear Systems*, 2nd ed.,
    2003, §9.2, Thm 6.29). It stops when sqrt(rᵀ B⁻¹ r / xᵀ b) ≤ ``rtol``: rᵀ B⁻¹ r bounds
    λ_min ‖x − x*‖²_A and xᵀ b → ‖x*‖²_A, so that is the relative energy-norm error within a
    factor λ_min^(-1/2).

    ``guess(b)`` gives the initial iterate (default zero); ``record(x0, x)`` is told the initial
    iterate and the solution of every solve. The Factorization's ``iterations`` lists the CG
    iterations of each solve; its :meth:`~Factorization.solve` checks the backward error like
    the direct solves.
    """
    A = sparse.csr_matrix(A)
    iterations: list[int] = []

    def solve_one(b: np.ndarray) -> np.ndarray:
        x = np.zeros_like(b) if guess is None else np.array(guess(b), dtype=float)
        x0 = x.copy()
        if not b.any() and not x.any():
            iterations.append(0)
            return x
        r = b - A @ x
        z = preconditioner._solve(r)
        p = z.copy()
        rz = float(r @ z)
        for it in range(PCG_MAXITER + 1):
            xb = float(x @ b)
            if (xb > 0.0 and rz <= rtol**2 * xb) or rz == 0.0:
                break
            if it == PCG_MAXITER:
                raise AnalysisError(f"pcg: no convergence in {PCG_MAXITER} iterations "
                                    f"(error estimate {math.sqrt(abs(rz / xb)):.3g})")
            q = A @ p
            alpha = rz / float(p @ q)
            x += alpha * p
            r -= alpha * q
            z = preconditioner._solve(r)
            rz, rz_old = float(r @ z), rz
            p = z + (rz / rz_old) * p
        iterations.append(it)
        if record is not None:
            record(x0, x)
        return x

    def solve(b: np.ndarray) -> np.ndarray:
        if b.ndim == 1:
            return solve_one(b)
        return np.stack([solve_one(b[:, k]) for k in range(b.shape[1])], axis=1)

    return Factorization(A, "pcg", solve, _norm(A), iterations)


def _norm(A: sparse.csr_matrix) -> float:
    return float(abs(A).sum(axis=1).max()) if A.nnz else 0.0
