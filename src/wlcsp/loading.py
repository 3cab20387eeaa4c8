"""Temperature profiles: piecewise-linear T(t) for uniform steps and thermal cycles.

A :class:`Profile` is a list of (time s, temperature °C) knots, linear in between. Cycles start at
the beginning of the hot dwell; a cyclic profile repeats with period ``times[-1] - times[0]``.

Named profiles
--------------
JEDEC JESD22-A104 conditions (``jedec_a`` ... ``jedec_n``), extremes from literature.md §3.5:
conditions A, B, C, G, H, K checked against raonsolution.com/en/content/206 [V]; I, J, L, M, N are
the A104D additions as recalled there [L]. The standard fixes the extremes and the soak, not the
ramp; we use soak mode 4 (15 min at each extreme; JESD22-A104 soak modes 1/2/3/4 = 1/5/10/15 min
[L]) and 15 min ramps, i.e. 1 cycle/h, the low end of the 1-3 cycles/h usual for solder
interconnect testing (lit §3.5 [L]). The long soak is the conservative choice for creep.

IPC-9701(A) TC1-TC5 (``ipc_tc1`` ... ``ipc_tc5``): extremes from lit §3.5 [L], 10 min dwells [L] and
10 min ramps, as in the 0/100 °C chamber profile of SMT007 Magazine, July 2019 [V]; every ramp then
stays at or below the 20 °C/min IPC-9701 limit (TC4: 180 K in 10 min = 18 °C/min). TC2 is taken as
-25/+100 °C as recalled in lit §3.5; one secondary source lists -25/+125 (lit §7 gap 5).

Design-file forms of ``loading.profile`` (:func:`parse_profile`): a name (case-insensitive), or
``{ from = 125.0, to = -40.0 }`` (one uniform step, optional ``ramp`` and ``hold`` in s),
``{ min = -40, max = 125, ramp = 600, dwell = 900 }`` (a trapezoidal cycle; ramp and dwell in s,
defaulting to the JEDEC choice above), or ``{ points = [[t_s, T_degC], ...] }``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import DesignError

TEMPERATURE_RANGE = (-196.0, 300.0)
"""Allowed profile temperatures (°C): a liquid-nitrogen bath (-196 °C) up to above the 260 °C peak
of lead-free reflow (IPC/JEDEC J-STD-020); anything outside is a typing error."""

JEDEC_DWELL = 900.0
"""Default JEDEC soak (s): JESD22-A104 soak mode 4, 15 min at each extreme (lit §3.5 [L])."""

JEDEC_RAMP = 900.0
"""Default JEDEC ramp (s): 15 min, 1 cycle/h with the 15 min soak (lit §3.5: 1-3 cycles/h)."""

IPC_DWELL = 600.0
"""IPC-9701 dwell (s): 10 min at each extreme (lit §3.5 [L])."""

IPC_RAMP = 600.0
"""IPC-9701 ramp (s): 10 min, as in the SMT007 (July 2019) 0/100 °C profile; <= 20 °C/min."""

IPC_MAX_RAMP_RATE = 20.0 / 60.0
"""IPC-9701 ramp-rate limit, 20 °C/min, in K/s (lit §3.5 [L])."""

JEDEC_CONDITIONS: dict[str, tuple[float, float]] = {
    "a": (-55.0, 85.0), "b": (-55.0, 125.0), "c": (-65.0, 150.0), "g": (-40.0, 125.0),
    "h": (-55.0, 150.0), "i": (-40.0, 115.0), "j": (0.0, 100.0), "k": (0.0, 125.0),
    "l": (-55.0, 110.0), "m": (-40.0, 150.0), "n": (-40.0, 85.0),
}
"""JESD22-A104 conditions: (Ts,min, Ts,max) in °C (lit §3.5)."""

IPC_9701_CYCLES: dict[str, tuple[float, float]] = {
    "tc1": (0.0, 100.0), "tc2": (-25.0, 100.0), "tc3": (-40.0, 125.0),
    "tc4": (-55.0, 125.0), "tc5": (-55.0, 100.0),
}
"""IPC-9701(A) thermal-cycling profiles: (T_min, T_max) in °C (lit §3.5 [L])."""


@dataclass(frozen=True)
class Profile:
    """A piecewise-linear temperature history T(t).

    Attributes
    ----------
    name : str
        ``jedec_g``, ``ipc_tc3``, ``step``, ``cycle`` or ``points``.
    times : tuple of float
        Knot times (s), non-decreasing; a repeated time is an instantaneous jump (a step).
    temperatures : tuple of float
        Knot temperatures (°C).
    cyclic : bool
        True when the history repeats with :attr:`period` (first and last temperature equal).
    source : str
        Where the profile comes from.
    """

    name: str
    times: tuple[float, ...]
    temperatures: tuple[float, ...]
    cyclic: bool
    source: str = ""

    @property
    def period(self) -> float:
        """Duration of one cycle (or of the whole history), s."""
        return self.times[-1] - self.times[0]

    @property
    def T_min(self) -> float:
        """Lowest temperature, °C."""
        return min(self.temperatures)

    @property
    def T_max(self) -> float:
        """Highest temperature, °C."""
        return max(self.temperatures)

    @property
    def delta_T(self) -> float:
        """Temperature range T_max - T_min, K."""
        return self.T_max - self.T_min

    @property
    def T_mean(self) -> float:
        """Mean cyclic temperature (T_min + T_max)/2, °C: Engelmaier's T_SJ for a chamber cycle."""
        return 0.5 * (self.T_min + self.T_max)

    @property
    def dwell_hot(self) -> float:
        """Time per cycle held at T_max, s."""
        return self._time_at(self.T_max)

    @property
    def dwell_cold(self) -> float:
        """Time per cycle held at T_min, s."""
        return self._time_at(self.T_min)

    @property
    def dwell(self) -> float:
        """Half-cycle dwell (mean of hot and cold dwell), s: Engelmaier's t_D."""
        return 0.5 * (self.dwell_hot + self.dwell_cold)

    @property
    def ramp_rate(self) -> float:
        """Largest |dT/dt| over finite-length segments, K/s (0 for a pure step)."""
        dt = np.diff(self.times)
        dT = np.abs(np.diff(self.temperatures))
        ramps = dT[dt > 0] / dt[dt > 0]
        return float(ramps.max()) if ramps.size else 0.0

    @property
    def cycles_per_day(self) -> float:
        """Cycling frequency, cycles/day (cyclic profiles only)."""
        if not self.cyclic or self.period <= 0:
            raise DesignError("loading.profile", self.name, "not a cycle: it has no frequency")
        return 86400.0 / self.period

    def temperature(self, t: float | np.ndarray) -> float | np.ndarray:
        """T(t) in °C; cyclic profiles repeat, others hold their last value."""
        t = np.asarray(t, dtype=float)
        if self.cyclic:
            t = self.times[0] + np.mod(t - self.times[0], self.period)
        out = np.interp(t, self.times, self.temperatures)
        return float(out) if out.ndim == 0 else out

    def _time_at(self, T: float) -> float:
        t, v = np.asarray(self.times), np.asarray(self.temperatures)
        flat = (v[1:] == T) & (v[:-1] == T)
        return float(np.diff(t)[flat].sum())


def trapezoid(T_min: float, T_max: float, ramp: float, dwell: float, name: str = "cycle",
              source: str = "") -> Profile:
    """A trapezoidal cycle starting at the hot dwell: hot dwell, ramp down, cold dwell, ramp up.

    Parameters
    ----------
    T_min, T_max : float
        Extremes, °C.
    ramp, dwell : float
        Ramp time per transition and dwell per extreme, s.
    """
    t = np.cumsum([0.0, dwell, ramp, dwell, ramp])
    T = (T_max, T_max, T_min, T_min, T_max)
    keep = np.concatenate([[True], np.diff(t) > 0])  # zero dwells drop duplicate knots
    temps = tuple(float(x) for x, k in zip(T, keep, strict=True) if k)
    return Profile(name, tuple(float(x) for x in t[keep]), temps, cyclic=True, source=source)


def named_profile(name: str, key: str = "loading.profile") -> Profile:
    """The JEDEC or IPC profile called ``name`` (``jedec_g``, ``IPC_TC3``; case-insensitive)."""
    low = name.strip().lower()
    if low.startswith("jedec_") and low[6:] in JEDEC_CONDITIONS:
        lo, hi = JEDEC_CONDITIONS[low[6:]]
        return trapezoid(lo, hi, JEDEC_RAMP, JEDEC_DWELL, low,
                         f"JESD22-A104 condition {low[6:].upper()}, 15 min soak, 1 cycle/h")
    if low.startswith("ipc_") and low[4:] in IPC_9701_CYCLES:
        lo, hi = IPC_9701_CYCLES[low[4:]]
        return trapezoid(lo, hi, IPC_RAMP, IPC_DWELL, low,
                         f"IPC-9701 {low[4:].upper()}, 10 min dwells, 10 min ramps")
    raise DesignError(key, name, f"unknown profile; allowed: {', '.join(profile_names())}")


def profile_names() -> list[str]:
    """All names accepted by :func:`named_profile`."""
    return [f"jedec_{c}" for c in JEDEC_CONDITIONS] + [f"ipc_{c}" for c in IPC_9701_CYCLES]


def extremes(profile: Profile) -> tuple[float, float]:
    """(T_min, T_max) in °C: the two states whose difference is the elastic-estimate range.

    For a uniform step the same pair is (to, from) sorted; the thermoelastic solve at each
    temperature, differenced, gives the strain range of one cycle.
    """
    return profile.T_min, profile.T_max


def discretize(profile: Profile, max_step: float, max_dT: float | None = None,
               cycles: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Time points for stepping through ``cycles`` repetitions of ``profile``.

    Every knot is a time point; each segment between knots is split evenly into the fewest steps
    no longer than ``max_step`` (s) and, when given, changing T by no more than ``max_dT`` (K).

    Returns
    -------
    times, temperatures : ndarray
        Increasing times (s) from ``profile.times[0]`` and T(t) there (°C).
    """
    _positive(max_step, "max_step")
    if max_dT is not None:
        _positive(max_dT, "max_dT")
    if isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 1:
        raise DesignError("loading.cycles", cycles, "expected an integer >= 1")
    if not profile.cyclic and cycles != 1:
        raise DesignError("loading.cycles", cycles, f"profile {profile.name!r} is not a cycle")
    t0, T0 = np.asarray(profile.times), np.asarray(profile.temperatures)
    if np.any(np.diff(t0) <= 0):
        raise DesignError("loading.profile", profile.name,
                          "has an instantaneous jump; give it a ramp (s) to step through time")
    t_k = np.concatenate([t0[:1]] + [t0[1:] + k * profile.period for k in range(cycles)])
    T_k = np.concatenate([T0[:1]] + [T0[1:]] * cycles)
    dt, dT = np.diff(t_k), np.abs(np.diff(T_k))
    n = np.ceil(dt / max_step - 1e-9)
    if max_dT is not None:
        n = np.maximum(n, np.ceil(dT / max_dT - 1e-9))
    n = np.maximum(n, 1).astype(int)
    times = np.concatenate([t_k[:1]] + [
        np.linspace(a, b, m + 1)[1:] for a, b, m in zip(t_k[:-1], t_k[1:], n, strict=True)])
    return times, np.interp(times, t_k, T_k)


MAX_RAMP_RATE = 20.0
"""Fastest temperature change (K/s) a profile may ask for: liquid-to-liquid thermal shock
(JESD22-A106B) moves parts through ~165 K within a transfer of ≤ 10 s and reaches the bath
temperature in minutes, i.e. below ~20 K/s; air-to-air cycling (JESD22-A104, IPC-9701) ramps at
well under 1 K/s. A faster ramp is an input error (a ramp given in minutes or hours as seconds'
reciprocal, say). An instantaneous step (ramp = 0 of a ``{from, to}`` step) is the elastic
step load and is allowed."""


def parse_profile(raw: object, key: str = "loading.profile") -> Profile:
    """Validate a design file's ``loading.profile`` and build the :class:`Profile`.

    Raises
    ------
    DesignError
        Naming ``key`` (or ``key.<field>``), the value and what is allowed; a ramp faster than
        :data:`MAX_RAMP_RATE` included.
    """
    profile = _parse_profile(raw, key)
    t, T = np.asarray(profile.times), np.asarray(profile.temperatures)
    dt, dT = np.diff(t), np.abs(np.diff(T))
    ramps = dt > 0
    if profile.cyclic and np.any(~ramps & (dT > 0)):
        raise DesignError(key, raw if not isinstance(raw, Mapping) else dict(raw),
                          "a cycle with an instantaneous temperature jump (a ramp of 0 s, or "
                          "one too short to add to the dwell): give ramps in seconds")
    if np.any(ramps) and float(np.max(dT[ramps] / dt[ramps])) > MAX_RAMP_RATE:
        rate = float(np.max(dT[ramps] / dt[ramps]))
        raise DesignError(key, raw if not isinstance(raw, Mapping) else dict(raw),
                          f"ramps at {rate:.3g} K/s: faster than thermal shock allows "
                          f"(≤ {MAX_RAMP_RATE:g} K/s, JESD22-A106); ramp times are in seconds")
    return profile


def _parse_profile(raw: object, key: str) -> Profile:
    if isinstance(raw, str):
        return named_profile(raw, key)
    if not isinstance(raw, Mapping):
        raise DesignError(key, raw, "expected a profile name or a table "
                          "{from, to} | {min, max, ramp, dwell} | {points}")
    forms = {"from": ({"from", "to"}, {"ramp", "hold"}),
             "min": ({"min", "max"}, {"ramp", "dwell"}),
             "points": ({"points"}, set())}
    chosen = [f for f in forms if f in raw]
    if len(chosen) != 1:
        raise DesignError(key, dict(raw), "give exactly one of: from/to, min/max, points")
    required, optional = forms[chosen[0]]
    for k in raw:
        if k not in required | optional:
            raise DesignError(f"{key}.{k}", raw[k], "unknown key; allowed: "
                              f"{', '.join(sorted(required | optional))}")
    for k in sorted(required):
        if k not in raw:
            raise DesignError(f"{key}.{k}", None, "missing")
    if chosen[0] == "points":
        return _points(raw["points"], f"{key}.points")
    if chosen[0] == "from":
        T_from = _temperature(raw["from"], f"{key}.from")
        T_to = _temperature(raw["to"], f"{key}.to")
        if T_from == T_to:
            raise DesignError(f"{key}.to", raw["to"], "must differ from `from`")
        ramp = _duration(raw.get("ramp", 0.0), f"{key}.ramp")
        hold = _duration(raw.get("hold", 0.0), f"{key}.hold")
        t, T = [0.0, ramp], [T_from, T_to]
        if hold > 0:
            t, T = [*t, ramp + hold], [*T, T_to]
        return Profile("step", tuple(t), tuple(T), cyclic=False, source="design file: uniform step")
    lo, hi = _temperature(raw["min"], f"{key}.min"), _temperature(raw["max"], f"{key}.max")
    if hi <= lo:
        raise DesignError(f"{key}.max", raw["max"], f"must exceed min = {lo}")
    ramp = _duration(raw.get("ramp", JEDEC_RAMP), f"{key}.ramp", strict=True)
    if (hi - lo) / ramp > MAX_RAMP_RATE:
        raise DesignError(f"{key}.ramp", raw["ramp"], f"ramps at {(hi - lo) / ramp:.3g} K/s: "
                          f"faster than thermal shock allows (≤ {MAX_RAMP_RATE:g} K/s, "
                          "JESD22-A106); ramp times are in seconds")
    dwell = _duration(raw.get("dwell", JEDEC_DWELL), f"{key}.dwell")
    return trapezoid(lo, hi, ramp, dwell, "cycle", "design file: trapezoidal cycle")


def _points(raw: object, key: str) -> Profile:
    ok = isinstance(raw, Sequence) and not isinstance(raw, str) and len(raw) >= 2 and all(
        isinstance(p, Sequence) and len(p) == 2 and all(_is_number(x) for x in p) for p in raw)
    if not ok:
        raise DesignError(key, raw, "expected at least two [t_s, T_degC] pairs")
    t = [float(p[0]) for p in raw]  # type: ignore[index,union-attr]
    T = [_temperature(p[1], f"{key}[{i}]") for i, p in enumerate(raw)]  # type: ignore[index,arg-type]
    if not all(math.isfinite(x) for x in t) or t[0] < 0:
        raise DesignError(key, raw, "times must be finite and >= 0 s")
    if any(b <= a for a, b in itertools.pairwise(t)):
        raise DesignError(key, raw, "times must increase strictly")
    if min(T) == max(T):
        raise DesignError(key, raw, "temperature never changes")
    return Profile("points", tuple(t), tuple(T), cyclic=len(T) > 2 and T[0] == T[-1],
                   source="design file: points")


def _is_number(x: object) -> bool:
    """A finite-sized int or a float (ints beyond ±1e300 would overflow float())."""
    return (isinstance(x, float) or (isinstance(x, int) and not isinstance(x, bool)
                                     and abs(x) < 10**300))


def _temperature(x: object, key: str) -> float:
    lo, hi = TEMPERATURE_RANGE
    if not _is_number(x) or not lo <= float(x) <= hi:  # type: ignore[arg-type]
        raise DesignError(key, x, f"expected a temperature in [{lo:g}, {hi:g}] °C")
    return float(x)  # type: ignore[arg-type]


def _duration(x: object, key: str, strict: bool = False) -> float:
    if not _is_number(x) or not math.isfinite(x) or x < 0 or (strict and x == 0):  # type: ignore[arg-type,operator]
        raise DesignError(key, x, "expected a time in s, " + ("> 0" if strict else ">= 0"))
    return float(x)  # type: ignore[arg-type]


def _positive(x: object, key: str) -> None:
    if not _is_number(x) or not math.isfinite(x) or x <= 0:  # type: ignore[arg-type,operator]
        raise DesignError(key, x, "expected a number > 0")
