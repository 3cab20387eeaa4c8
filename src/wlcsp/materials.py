"""Materials: temperature-dependent elastic and thermal properties, solder model constants.

Units: E in MPa, CTE in 1/K (files say ppm/K under the key ``cte_ppm``), temperatures in °C.
Every number of the built-in library lives in ``data/materials.toml`` with its source.

CTE convention: tables hold the *instantaneous* (tangent) CTE α(T). The thermal strain from the
stress-free temperature T0 is its integral, ε_th(T) = ∫_{T0}^{T} α(θ) dθ, evaluated exactly for the
piecewise-linear table; the secant CTE is ε_th / (T − T0). Using the integral keeps the strain
path-independent, so a cycle returns exactly to its start (a secant table referred to a fixed
temperature would not, once T0 differs between regions).
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from .errors import DesignError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ABSOLUTE_ZERO = -273.15
"""0 K in °C."""


@dataclass(frozen=True)
class Table:
    """A property as a piecewise-linear function of temperature (°C), constant beyond its ends."""

    temperatures: tuple[float, ...]
    values: tuple[float, ...]

    def __call__(self, T: float | np.ndarray) -> float | np.ndarray:
        """Interpolate at temperature(s) ``T`` (°C)."""
        out = np.interp(T, self.temperatures, self.values)
        return float(out) if np.ndim(out) == 0 else out

    def integral(self, T0: float | np.ndarray, T1: float | np.ndarray) -> float | np.ndarray:
        """Exact ∫_{T0}^{T1} f(θ) dθ of the piecewise-linear function (constant extrapolation)."""
        return self._antiderivative(T1) - self._antiderivative(T0)

    def _antiderivative(self, T: float | np.ndarray) -> float | np.ndarray:
        t = np.asarray(self.temperatures, dtype=float)
        v = np.asarray(self.values, dtype=float)
        # cumulative integral at the knots, measured from the first knot
        knots = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * np.diff(t))])
        x = np.asarray(T, dtype=float)
        xc = np.clip(x, t[0], t[-1])
        inside = np.zeros_like(xc)
        if len(t) > 1:
            # exact inside segment k: F = F_k + v_k (x - t_k) + slope_k (x - t_k)^2 / 2
            k = np.clip(np.searchsorted(t, xc, side="right") - 1, 0, len(t) - 2)
            dx = xc - t[k]
            slope = (v[k + 1] - v[k]) / (t[k + 1] - t[k])
            inside = knots[k] + v[k] * dx + 0.5 * slope * dx**2
        below = np.minimum(x - t[0], 0.0) * v[0]
        above = np.maximum(x - t[-1], 0.0) * v[-1]
        out = inside + below + above
        return float(out) if np.ndim(out) == 0 else out

    @property
    def is_constant(self) -> bool:
        """True when the value does not depend on temperature."""
        return len(set(self.values)) == 1


@dataclass(frozen=True)
class Anand:
    """Anand (1985) viscoplastic constants in Ansys TB,ANAND order C1..C9.

    s0 initial deformation resistance (MPa), Q_R activation energy over gas constant (K),
    A pre-exponential factor (1/s), xi stress multiplier (-), m strain-rate sensitivity (-),
    h0 hardening constant (MPa), s_hat saturation coefficient (MPa), n saturation exponent (-),
    a hardening exponent (-). Source per alloy in ``data/materials.toml``.
    """

    s0: float
    Q_R: float
    A: float
    xi: float
    m: float
    h0: float
    s_hat: float
    n: float
    a: float
    source: str = ""


@dataclass(frozen=True)
class Garofalo:
    """Hyperbolic-sine creep ε̇ = C1 sinh(C2 σ)^C3 exp(−C4/T[K]); C1 1/s, C2 1/MPa, C4 K."""

    C1: float
    C2: float
    C3: float
    C4: float
    source: str = ""


@dataclass(frozen=True)
class Material:
    """An isotropic, linear-thermoelastic material with optional solder creep constants."""

    name: str
    E: Table
    nu: Table
    cte: Table
    source: str
    description: str = ""
    Tg: float | None = None
    solidus: float | None = None
    anand: Anand | None = None
    garofalo: Garofalo | None = None
    extra: Mapping[str, object] = field(default_factory=dict)

    def youngs_modulus(self, T: float | np.ndarray) -> float | np.ndarray:
        """Young's modulus E(T) in MPa at temperature T (°C)."""
        return self.E(T)

    def poisson(self, T: float | np.ndarray) -> float | np.ndarray:
        """Poisson's ratio ν(T)."""
        return self.nu(T)

    def alpha(self, T: float | np.ndarray) -> float | np.ndarray:
        """Instantaneous CTE α(T) in 1/K."""
        return self.cte(T)

    def thermal_strain(
        self, T: float | np.ndarray, T_ref: float | np.ndarray
    ) -> float | np.ndarray:
        """Free thermal strain ∫_{T_ref}^{T} α dθ (dimensionless) from stress-free T_ref (°C)."""
        return self.cte.integral(T_ref, T)

    def secant_alpha(self, T: float, T_ref: float) -> float:
        """Secant CTE (1/K) between T_ref and T: ε_th / (T − T_ref); α(T) when they coincide."""
        if math.isclose(T, T_ref):
            return float(self.cte(T))
        return float(self.thermal_strain(T, T_ref)) / (T - T_ref)


_MATERIAL_KEYS = {
    "description", "E", "nu", "cte_ppm", "source", "Tg", "solidus", "anand", "garofalo",
}
_ANAND_KEYS = ("s0", "Q_R", "A", "xi", "m", "h0", "s_hat", "n", "a")
_GAROFALO_KEYS = ("C1", "C2", "C3", "C4")


ROLE_MODULUS: dict[str, tuple[float, float, str]] = {
    "die": (30e3, 500e3, "a die (Si 130-169 GPa, GaAs 85 GPa, glass 60-90 GPa)"),
    "metal": (10e3, 450e3, "a rerouting, land or pad metal (Al 70, Cu 110-130, Ni 200, "
                           "W 410 GPa)"),
    "solder": (5e3, 100e3, "a solder (In 11, SnPb 30, SnAgCu 40-55 GPa at 25 °C, about "
                           "18 GPa at 260 °C)"),
    "substrate": (1e3, 450e3, "a board or substrate (flex polyimide 2.5-9, FR-4 and BT "
                              "17-26, alumina 300-400 GPa)"),
    "underfill": (50.0, 30e3, "an underfill (2-12 GPa below Tg, about 0.1-1 GPa above it)"),
    "polymer": (0.5, 450e3, "a layer (silicone buffers from about 1 MPa to passivation "
                            "nitride at 150-250 GPa)"),
}
"""Plausible Young's modulus (MPa) of a material by its role in the package: lowest, highest
and what the role's materials span. The bounds are an order of magnitude around the published
ranges (literature.md §1.1 and the data sheets cited in data/materials.toml), wide enough for
any real material and narrow enough to catch a modulus written in GPa where MPa is meant (a
22 "GPa" FR-4 read as 22 MPa) or in Pa."""

CTE_1_PER_K = 0.1
"""ppm/K: a non-zero CTE below this is a CTE written in 1/K where ppm/K is meant (2.6e-6 for
silicon); the lowest real packaging CTEs are about 0.5 ppm/K (fused silica, Invar 1.2)."""


def check_role(material: Material, role: str, key: str) -> None:
    """DesignError unless ``material``'s E(T) lies in :data:`ROLE_MODULUS` of ``role``.

    ``key`` is the design key that uses the material (e.g. ``substrate.material``).
    """
    lo, hi, what = ROLE_MODULUS[role]
    values = material.E.values
    if min(values) < lo or max(values) > hi:
        bad = min(values) if min(values) < lo else max(values)
        raise DesignError(key, material.name, f"E = {bad:g} MPa is outside {lo:g}-{hi:g} MPa, "
                          f"the range of {what}; moduli are in MPa (22 GPa is 22000)")


def _table(raw: object, key: str, scale: float = 1.0) -> Table:
    """Parse a number or [[T, value], ...] into a Table, scaled by ``scale``."""
    if isinstance(raw, bool):
        raise DesignError(key, raw, "expected a number or a table [[T_degC, value], ...]")
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw):
            raise DesignError(key, raw, "must be finite")
        return Table((20.0,), (float(raw) * scale,))
    if isinstance(raw, list) and raw and all(
        isinstance(p, list) and len(p) == 2 and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in p) for p in raw
    ):
        if not all(math.isfinite(x) for p in raw for x in p):
            raise DesignError(key, raw, "every temperature and value must be finite")
        ts = [float(p[0]) for p in raw]
        if any(b <= a for a, b in itertools.pairwise(ts)):
            raise DesignError(key, raw, "table temperatures must increase strictly")
        return Table(tuple(ts), tuple(float(p[1]) * scale for p in raw))
    raise DesignError(key, raw, "expected a number or a table [[T_degC, value], ...]")


def _constants(raw: object, key: str, names: tuple[str, ...]) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise DesignError(key, raw, f"expected a table with keys {', '.join(names)}, source")
    unknown = set(raw) - set(names) - {"source"}
    if unknown:
        raise DesignError(f"{key}.{sorted(unknown)[0]}", raw[sorted(unknown)[0]],
                          f"unknown key; allowed: {', '.join(names)}, source")
    out: dict[str, float] = {}
    for n in names:
        if n not in raw:
            raise DesignError(f"{key}.{n}", None, "missing required constant")
        v = raw[n]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise DesignError(f"{key}.{n}", v, "expected a finite number")
        out[n] = float(v)
    return out


def parse_material(name: str, raw: Mapping[str, object], key: str = "") -> Material:
    """Build a Material from its TOML table; ``key`` prefixes error paths (e.g. ``materials.x``)."""
    key = key or name
    if not isinstance(raw, Mapping):
        raise DesignError(key, raw, "expected a table")
    unknown = set(raw) - _MATERIAL_KEYS
    if unknown:
        k = sorted(unknown)[0]
        allowed = ", ".join(sorted(_MATERIAL_KEYS))
        raise DesignError(f"{key}.{k}", raw[k], f"unknown key; allowed: {allowed}")
    for req in ("E", "nu", "cte_ppm"):
        if req not in raw:
            raise DesignError(f"{key}.{req}", None, "missing required property")
    E = _table(raw["E"], f"{key}.E")
    nu = _table(raw["nu"], f"{key}.nu")
    cte = _table(raw["cte_ppm"], f"{key}.cte_ppm", 1e-6)
    if min(E.values) <= 0:
        raise DesignError(f"{key}.E", raw["E"], "Young's modulus must be > 0 MPa")
    if not all(-1.0 < v < 0.5 for v in nu.values):
        raise DesignError(f"{key}.nu", raw["nu"], "Poisson's ratio must lie in (-1, 0.5)")
    if not all(-50e-6 < v < 1000e-6 for v in cte.values):
        raise DesignError(f"{key}.cte_ppm", raw["cte_ppm"], "CTE must lie in (-50, 1000) ppm/K")
    if any(cte.values) and max(abs(v) for v in cte.values) < CTE_1_PER_K * 1e-6:
        raise DesignError(f"{key}.cte_ppm", raw["cte_ppm"], "the CTE is in ppm/K: this looks "
                          "like 1/K (silicon is 2.6, not 2.6e-6)")
    source = raw.get("source", "")
    if not isinstance(source, str):
        raise DesignError(f"{key}.source", source, "expected a string")
    anand = garofalo = None
    if "anand" in raw:
        c = _constants(raw["anand"], f"{key}.anand", _ANAND_KEYS)
        anand = Anand(**c, source=str(raw["anand"].get("source", "")))  # type: ignore[union-attr]
    if "garofalo" in raw:
        c = _constants(raw["garofalo"], f"{key}.garofalo", _GAROFALO_KEYS)
        garofalo = Garofalo(**c, source=str(raw["garofalo"].get("source", "")))  # type: ignore[union-attr]
    scalars: dict[str, float | None] = {}
    for k in ("Tg", "solidus"):
        v = raw.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise DesignError(f"{key}.{k}", v, "expected a temperature in °C")
        scalars[k] = None if v is None else float(v)
    return Material(
        name=name, E=E, nu=nu, cte=cte, source=source,
        description=str(raw.get("description", "")), Tg=scalars["Tg"],
        solidus=scalars["solidus"], anand=anand, garofalo=garofalo,
    )


def load_library() -> dict[str, Material]:
    """The built-in material library (``data/materials.toml``), by name."""
    text = resources.files("wlcsp").joinpath("data/materials.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    return {name: parse_material(name, table) for name, table in raw.items()}


LIBRARY: dict[str, Material] = load_library()
"""The built-in materials, loaded once."""


def format_library(library: Mapping[str, Material] = LIBRARY) -> str:
    """A plain-text table of the library at 25 °C, for ``wlcsp materials``.

    In the units a ``[materials.X]`` table takes: E in MPa, CTE in ppm/K.
    """
    head = f"{'name':<16}{'E (MPa)':>10}{'nu':>7}{'CTE (ppm/K)':>13}  T-dep  solder model"
    head += "  description"
    lines = [head]
    for m in library.values():
        tdep = ",".join(p for p, t in (("E", m.E), ("CTE", m.cte)) if not t.is_constant) or "-"
        solder = ",".join(p for p, v in (("anand", m.anand), ("garofalo", m.garofalo)) if v) or "-"
        lines.append(
            f"{m.name:<16}{m.E(25.0):>10.6g}{m.nu(25.0):>7.3g}{m.cte(25.0) * 1e6:>13.3g}"
            f"  {tdep:<6} {solder:<13} {m.description}"
        )
    return "\n".join(lines)
