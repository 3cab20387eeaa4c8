"""Design files: load and validate one WL-CSP design (TOML) into frozen dataclasses.

The contract is ``shared/DESIGN.md``; units are mm, MPa, °C. Every bad value raises
:class:`~wlcsp.errors.DesignError` naming its key path (``bumps.pitch``), the value and what is
allowed, before any geometry is built.

Derived geometry
----------------
The solder joint is a spherical segment (a sphere truncated by two parallel flat caps, the wetted
pad of diameter ``d1`` below and the land of diameter ``d2`` above) holding the volume of the ball,
``V = π d_ball³ / 6``. Its volume with height ``h`` is (spherical segment; CRC Standard Mathematical
Tables, 31st ed., §4.6; Weisstein, MathWorld "Spherical Segment")::

    V = π h (3 a1² + 3 a2² + h²) / 6,      a1 = d1/2, a2 = d2/2,

a depressed cubic ``h³ + p h − q = 0`` with ``p = 3 (a1² + a2²) > 0`` and ``q = 6V/π`` with the one
real root (Cardano) ``h = ∛(q/2 + √D) + ∛(q/2 − √D)``, ``D = q²/4 + p³/27``. The sphere centre lies
``z_c = (a2² − a1² + h²) / (2h)`` above the pad and its radius is ``R = √(a1² + z_c²)``. This is the
shape that surface tension gives a joint whose weight is negligible (Bond number ≪ 1 for
sub-millimetre joints), as used by Engelmaier-type hand models and by Surface Evolver checks.

When a top coat (solder-mask-defined opening) is thicker than the land stack, the opening below the
land is a solder-filled cylinder (the neck); its volume is taken from the ball first.

Bump array
----------
The array is given once and every model derives its bumps from it: ``bumps.array = [rows,
columns]`` at ``bumps.pitch`` (one pitch, or ``[pitch_x, pitch_y]``), centred on the die; rows
run along x (the die length ``die.size[0]``), row 0 at the most negative y, column 0 at the most
negative x. ``bumps.depopulate_rows``, ``bumps.depopulate_columns`` and ``bumps.depopulate =
[[row, column], ...]`` remove bumps; ``bumps.perimeter = k`` keeps only the outer k rings.
Instead of an array, ``bumps.positions = [[x, y], ...]`` gives the centres (mm from the die
centre). :attr:`Bumps.centers` holds every centre, :attr:`Design.dnp` the distances to the
neutral point (DNP) of the bumps the model holds, innermost first.

2D slice
--------
The 2D models run along the die's half-diagonal by default (``die.slice = "diagonal"``): the
corner bumps are the farthest from the neutral point and fail first (Engelmaier's DNP argument,
IPC-D-279). The section holds the diagonal row of bumps through the corner bump of the first
quadrant (array index (r − k, c − k) for k = 0, 1, ... while x, y ≥ 0; with explicit positions,
the bumps within a joint half-width of the half-diagonal); ``"long"`` or ``"short"`` slice along
the half long or short axis and hold the row (column) of bumps nearest it. A bump's coordinate
in the section is its centre projected on the slice direction (for the diagonal row of a
square-pitch array within 0.2 % of its DNP). For 2D models only, ``bumps.positions`` may also be a
plain list of coordinates along the slice (mm).

Layers with a central gap (``layers[i].inner_gap``): the gap is the strip along the die's long
axis left bare over the central bond-pad rows, ``inner_gap`` its half-width across (in y). A 2D
slice meets the strip edge at ``inner_gap / sin θ`` from the centre (θ the slice's angle from the
long axis; :meth:`Design.slice_gap`).

3D models
---------
``model = "3d"`` selects a symmetry cell of the package (:mod:`wlcsp.cell`): ``cell =
"quarter"`` (x, y ≥ 0 of an array symmetric about both die axes), ``"strip"`` (the row nearest
the long die edge, half a pitch deep, with a cut face that stays plane) or ``"auto"`` (default):
the quarter when it holds at most :data:`QUARTER_MAX_BUMPS` joints, else the strip. A
``[submodel]`` table adds the refined analysis of one joint (the critical one by default) after
the cell's; its keys are validated by :func:`wlcsp.refined_joint.parse_submodel`.

Fatigue constants
-----------------
``[life]`` names the constant set of ``data/fatigue.toml`` each fatigue model uses (keys
``engelmaier``, ``coffin_manson``, ``darveaux``, ``syed``, e.g. ``darveaux =
"darveaux_2000_snpb"``); a model left out uses the bump alloy's default (``[alloys]`` there).
:attr:`Design.fatigue` holds the result.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bump_array import (
    array_index,
    closest_pair,
    is_symmetric,
    site_center,
    slice_coordinates,
    slice_direction,
    slice_row_of_array,
    slice_row_of_positions,
)
from .cell import CELLS, Cell, make_cell
from .errors import DesignError
from .life import FATIGUE_SETS, LIFE_TABLES, default_sets
from .loading import parse_profile
from .materials import LIBRARY, Material, check_role, parse_material

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MODELS = ("axisymmetric", "plane_strain", "generalized_plane_strain", "plane_stress", "3d")
CELL_CHOICES = ("auto", *CELLS)
QUARTER_MAX_BUMPS = 16
"""``cell = "auto"`` takes the quarter cell up to this many joints in it, else the strip: the
quarter of a larger array costs more than the 60 s budget of an elastic 3D run at joint-converged
mesh sizes (issue 9)."""
SLICES = ("diagonal", "long", "short")
SOLDER_MODELS = ("elastic", "anand", "garofalo")
RESERVED = re.compile(r"^(die|substrate|underfill|top_coat|(bump|land|pad)_\d+.*)$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MIN_FEATURE_ELEMENTS = 2
"""Fewest elements through the thickness of every layer (issue 2: at least two); the default of
``mesh.layer_elements``."""

_REQUIRED = object()

MAX_LENGTH = 10.0
"""Largest thickness, pitch or diameter (mm) of any part of a WL-CSP and its board."""
MAX_DIE = 50.0
"""Largest die edge (mm): the lithographic reticle field is 26 x 33 mm; a WL-CSP die is far
smaller (seed 000: 8.7 mm)."""
MAX_INT = 10**9
"""Largest integer accepted anywhere (counts, indices)."""
MAX_ELEMENTS = 3_000_000
"""Refuse a mesh estimated to exceed this many elements (a typo in [mesh], not a model)."""
MAX_CYCLES = 50
"""Most cycles an analysis may step through: hysteresis stabilizes within 3-5 cycles
(Darveaux 2000 takes the stabilized loop; IPC-9701 life comes from the model, not the count)."""
MAX_LAND = 0.2
"""Thickest land metal (mm): plated Cu posts reach ~100 µm, rerouting films are 1-15 µm."""
MIN_BALL = 0.01
"""Smallest solder ball (mm): 10 µm, below the smallest micro-bumps (~20 µm)."""


class _Table:
    """Typed access to one TOML table that remembers which keys were read (to catch typos)."""

    def __init__(self, raw: object, path: str) -> None:
        if not isinstance(raw, Mapping):
            raise DesignError(path, raw, "expected a table")
        self.raw, self.path, self.seen = raw, path, set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = _REQUIRED) -> Any:
        self.seen.add(name)
        if name not in self.raw:
            if default is _REQUIRED:
                typo = difflib.get_close_matches(name, [k for k in self.raw if k not in
                                                        self.seen], n=1, cutoff=0.6)
                if typo:  # the typo first: it is the cause of the missing key
                    raise DesignError(self.key(typo[0]), self.raw[typo[0]],
                                      f"unknown key; did you mean {name}?")
                raise DesignError(self.key(name), None, "missing required key")
            return default
        value = self.raw[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise DesignError(self.key(name), value, f"out of range (|value| ≤ {MAX_INT:g})")
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise DesignError(self.key(name), value, "must be a finite number")
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise DesignError(self.key(name), value, f"expected {names}")
        return value

    def length(self, name: str, default: Any = _REQUIRED, *, zero: bool = False,
               lo: float = 0.0, hi: float = MAX_LENGTH) -> float:
        """A finite length in mm, in (lo, hi] (or [0, hi] with ``zero``)."""
        value = self.get(name, float, default)
        if value is None:
            return value
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero) or value > hi \
                or (value > 0 and value < lo):
            low = "0" if zero else f"{lo:g}" if lo > 0 else "0 (excluded)"
            raise DesignError(self.key(name), value, f"must be a length in mm from {low} to "
                              f"{hi:g}")
        return value

    def temperature(self, name: str, default: Any = _REQUIRED) -> float | None:
        value = self.get(name, float, default)
        if value is not None and not -273.15 < value < 400.0:
            raise DesignError(self.key(name), value, "must be a temperature in (-273.15, 400) °C")
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: Any = _REQUIRED) -> str:
        value = self.get(name, str, default)
        if value not in allowed:
            raise DesignError(self.key(name), value, f"allowed: {', '.join(allowed)}")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.seen)
        if unknown:
            allowed = ", ".join(sorted(self.seen))
            close = difflib.get_close_matches(unknown[0], sorted(self.seen), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}? " if close else ""
            raise DesignError(self.key(unknown[0]), self.raw[unknown[0]],
                              f"unknown key; {hint}allowed here: {allowed}")


@dataclass(frozen=True)
class Die:
    """The silicon die, face down; ``half_length`` is the modelled slice from centre to edge."""

    size: tuple[float, float]
    thickness: float
    material: str
    slice: str

    @property
    def half_length(self) -> float:
        """Length of the modelled slice from the centre to the die edge (mm)."""
        a, b = self.size
        return {"diagonal": math.hypot(a, b), "long": max(a, b), "short": min(a, b)}[self.slice] / 2


@dataclass(frozen=True)
class Layer:
    """A blanket layer on the die's active face (listed from the die outward)."""

    name: str
    material: str
    thickness: float
    inner_gap: float = 0.0
    stress_free: float | None = None


@dataclass(frozen=True)
class Rerouting:
    """The bump land under every bump: metals from the die outward (e.g. Cu then Ni)."""

    materials: tuple[str, ...]
    thicknesses: tuple[float, ...]
    land_diameter: float

    @property
    def thickness(self) -> float:
        """Total land stack thickness (mm)."""
        return sum(self.thicknesses)


@dataclass(frozen=True)
class TopCoat:
    """Cover layer (uppermost protection layer) with solder-mask-defined land openings."""

    material: str
    thickness: float
    stress_free: float | None = None


@dataclass(frozen=True)
class Bumps:
    """Solder joints and the substrate pads they sit on."""

    material: str
    pitch: float
    ball_diameter: float
    pad_diameter: float
    pad_thickness: float
    pad_material: str
    positions: tuple[float, ...]
    """Coordinates of the model's bumps along the 2D slice (mm); empty in 3D (see the cell)."""
    stress_free: float | None = None
    pitch_xy: tuple[float, float] = (0.0, 0.0)
    """Array pitch along x and y (mm); ``pitch`` is the smaller."""
    centers: tuple[tuple[float, float], ...] = ()
    """Every bump centre of the package (x, y) in mm from the die centre (empty when the design
    gives positions along a 2D slice only)."""
    array: tuple[int, int] | None = None
    """(rows, columns) of the array, None for explicit positions."""

    @property
    def ball_volume(self) -> float:
        """Solder volume, as a ball before reflow (mm³)."""
        return math.pi * self.ball_diameter**3 / 6


@dataclass(frozen=True)
class Substrate:
    """The board or package substrate (BT, FR-4) under the die."""

    material: str
    thickness: float
    overhang: float


@dataclass(frozen=True)
class Underfill:
    """Underfill filling the gap between chip and substrate, with a 2D triangular edge fillet."""

    material: str
    fillet: float
    stress_free: float | None = None


@dataclass(frozen=True)
class Loading:
    """Thermal load: stress-free temperature, profile (parsed by wlcsp.loading), cycles."""

    stress_free: float
    profile: Any
    cycles: int
    solder: str


@dataclass(frozen=True)
class MeshSpec:
    """Target element sizes (mm) and polynomial order."""

    order: int
    size: float
    bump_size: float
    min_size: float
    layer_elements: int = MIN_FEATURE_ELEMENTS
    """Elements through the thickness of every layer, land metal and pad."""

    def refined(self, factor: float) -> dict[str, float | int]:
        """The ``[mesh]`` table of a mesh ``factor`` times finer (for convergence studies)."""
        return {"order": self.order, "size": self.size / factor,
                "bump_size": self.bump_size / factor, "min_size": self.min_size / factor,
                "layer_elements": max(MIN_FEATURE_ELEMENTS,
                                      round(self.layer_elements * factor))}


@dataclass(frozen=True)
class Joint:
    """Derived solder-joint shape (mm): a spherical segment plus an optional neck above it."""

    height: float
    """Height of the spherical segment, pad top to land (or top-coat opening) bottom."""
    radius: float
    """Sphere radius."""
    center: float
    """Height of the sphere centre above the pad top."""
    neck: float
    """Height of the solder-filled top-coat opening between segment and land."""
    bottom_radius: float
    top_radius: float

    @property
    def half_width(self) -> float:
        """Largest half-width of the joint (the equator if it lies inside the segment)."""
        if 0.0 < self.center < self.height:
            return self.radius
        return max(self.bottom_radius, self.top_radius)

    def segment_volume(self) -> float:
        """Volume of the spherical segment (mm³), the closed form of the module docstring."""
        a1, a2, h = self.bottom_radius, self.top_radius, self.height
        return math.pi * h * (3 * a1**2 + 3 * a2**2 + h**2) / 6


@dataclass(frozen=True)
class Design:
    """One validated WL-CSP design; ``raw`` is the normalized input dict (for variants)."""

    name: str
    model: str
    die: Die
    layers: tuple[Layer, ...]
    rerouting: Rerouting
    top_coat: TopCoat | None
    bumps: Bumps
    substrate: Substrate
    underfill: Underfill | None
    loading: Loading
    mesh: MeshSpec
    materials: Mapping[str, Material]
    joint: Joint
    raw: Mapping[str, Any] = field(repr=False)
    cell: Cell | None = None
    """The 3D symmetry cell (``model = "3d"``), None for the 2D models."""
    fatigue: Mapping[str, str] = field(default_factory=dict)
    """Fatigue constant table (``engelmaier``, ``coffin_manson``, ``darveaux``, ``syed``) -> set
    name in ``data/fatigue.toml``: the design's ``[life]`` choices over the bump alloy's defaults
    (:func:`wlcsp.life.default_sets`); a table without a set is absent."""

    @property
    def standoff(self) -> float:
        """Gap between the substrate top and the chip-side surface (mm): the underfill height."""
        return self.bumps.pad_thickness + self.joint.height + self.land_recess

    @property
    def land_recess(self) -> float:
        """Height from the chip-side surface up to the last layer: the top coat or the land."""
        return self.top_coat.thickness if self.top_coat else self.rerouting.thickness

    @property
    def dnp(self) -> tuple[float, ...]:
        """DNP of every bump the model holds (mm), innermost first.

        The coordinate along the 2D slice, or the distance from the die centre of each bump of
        the 3D cell.
        """
        return self.cell.dnp if self.cell is not None else self.bumps.positions

    @property
    def bump_directions(self) -> tuple[tuple[float, float], ...]:
        """In-plane unit vector from the neutral point to each bump the model holds.

        The joint shear is taken along it (:func:`wlcsp.post.shear`); (1, 0), the section's own
        x axis, in 2D and for a bump at the centre.
        """
        if self.cell is None:
            return ((1.0, 0.0),) * len(self.dnp)
        return tuple((b.center[0] / b.dnp, b.center[1] / b.dnp) if b.dnp > 0 else (1.0, 0.0)
                     for b in self.cell.bumps)

    @property
    def bump_centers(self) -> tuple[tuple[float, float], ...]:
        """Centre (x, y) in mm of each bump the model holds.

        The cell's bump centres, or (coordinate along the slice, 0) in 2D.
        """
        if self.cell is None:
            return tuple((d, 0.0) for d in self.dnp)
        return tuple(b.center for b in self.cell.bumps)

    def slice_gap(self, layer: Layer) -> float:
        """Where the 2D slice meets the edge of ``layer``'s central gap (mm), :func:`slice_gap`."""
        return slice_gap(self.die, layer)

    def material(self, name: str) -> Material:
        """The Material of that name (design-defined first, then the library)."""
        return self.materials[name]


def joint_shape(volume: float, bottom_diameter: float, top_diameter: float,
                neck: float = 0.0) -> Joint:
    """Spherical-segment joint holding ``volume`` (mm³) between two caps; see module docstring."""
    a1, a2 = bottom_diameter / 2, top_diameter / 2
    v = volume - math.pi * a2**2 * neck
    p, q = 3 * (a1**2 + a2**2), 6 * v / math.pi
    d = math.sqrt(q**2 / 4 + p**3 / 27)
    h = math.cbrt(q / 2 + d) + math.cbrt(q / 2 - d)
    if h <= 0.0:  # Cardano cancels when q ≪ p^(3/2): start from the small-h root q/p
        h = q / p
    for _ in range(3):  # Newton on the convex, increasing h³ + p h − q
        h -= (h**3 + p * h - q) / (3 * h**2 + p)
    zc = (a2**2 - a1**2 + h**2) / (2 * h)
    return Joint(height=h, radius=math.hypot(a1, zc), center=zc, neck=neck,
                 bottom_radius=a1, top_radius=a2)


def load_design(source: str | Path | Mapping[str, Any]) -> Design:
    """Load and validate a design from a TOML file path or an already-parsed dict."""
    raw = copy.deepcopy(dict(source)) if isinstance(source, Mapping) else read_toml(source)
    return _build(raw)


def read_toml(path: str | Path, key: str = "design") -> dict[str, Any]:
    """Parse a TOML file; a missing file or bad TOML is a DesignError naming ``key``."""
    path = Path(path)
    if not path.is_file():
        raise DesignError(key, str(path), "no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DesignError(key, str(path), f"not a UTF-8 text file ({exc.reason} at byte "
                          f"{exc.start})") from None
    except OSError as exc:
        raise DesignError(key, str(path), f"cannot be read: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DesignError(key, str(path), f"not valid TOML: {exc}") from None
    except RecursionError:
        raise DesignError(key, str(path), "not valid TOML: nested too deeply") from None


def _materials(top: _Table) -> dict[str, Material]:
    custom = top.get("materials", dict, {})
    out = dict(LIBRARY)
    for name, table in custom.items():
        if not NAME.match(name):
            raise DesignError(f"materials.{name}", name, "material names are lower_snake_case")
        out[name] = parse_material(name, table, f"materials.{name}")
    return out


def _material(t: _Table, name: str, materials: Mapping[str, Material], default: Any = _REQUIRED,
              *, role: str) -> str:
    """The material named by ``t[name]``, known and plausible for its ``role``.

    Roles are those of :data:`wlcsp.materials.ROLE_MODULUS`; a ``solder`` must have a solidus.
    """
    value = t.get(name, str, default)
    if value not in materials:
        raise DesignError(t.key(name), value, f"unknown material; known: {', '.join(materials)}")
    if role == "solder" and materials[value].solidus is None:
        solders = [m for m, v in materials.items() if v.solidus is not None]
        raise DesignError(t.key(name), value, f"not a solder; solders: {', '.join(solders)}")
    check_role(materials[value], role, t.key(name))
    return value


def _pitch(t: _Table) -> tuple[float, float]:
    """``bumps.pitch``: one pitch or [pitch_x, pitch_y] (mm), each finite and > 0."""
    value = t.get("pitch", (float, list))
    values = value if isinstance(value, list) else [value, value]
    if len(values) != 2 or not all(_is_number(v) and math.isfinite(v) and v > 0 for v in values):
        raise DesignError("bumps.pitch", value, "a pitch > 0 mm or [pitch_x, pitch_y] in mm")
    return float(values[0]), float(values[1])


def _is_number(v: object) -> bool:
    return (isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool)
                                     and abs(v) <= MAX_INT))


def _index_list(t: _Table, name: str, n: int) -> list[int]:
    values = t.get(name, list, [])
    for j, v in enumerate(values):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < n:
            raise DesignError(f"{t.key(name)}[{j}]", v, f"an index in 0..{n - 1}")
    return values


def _layout(t: _Table, pitch: tuple[float, float]) -> dict[str, Any]:
    """The ``bumps.array`` (with depopulation) or ``bumps.positions`` of the design."""
    array = t.get("array", list, None)
    positions = t.get("positions", list, None)
    if (array is None) == (positions is None):
        raise DesignError("bumps.array", array, "give either bumps.array = [rows, columns] or "
                          "bumps.positions = [[x, y], ...] (mm from the die centre), not both"
                          if array is not None else "missing: give bumps.array = [rows, columns] "
                          "or bumps.positions = [[x, y], ...] (mm from the die centre)")
    if positions is not None:
        for name in ("depopulate", "depopulate_rows", "depopulate_columns", "perimeter"):
            if name in t.raw:
                raise DesignError(t.key(name), t.raw[name], "applies to bumps.array only")
        if not positions:
            raise DesignError("bumps.positions", positions, "expected a non-empty list")
        if all(_is_number(p) for p in positions):
            for j, p in enumerate(positions):
                if not math.isfinite(p) or p < 0:
                    raise DesignError(f"bumps.positions[{j}]", p, "a finite coordinate ≥ 0 mm "
                                      "along the slice")
            return {"slice": [float(p) for p in positions]}
        for j, p in enumerate(positions):
            if not (isinstance(p, list) and len(p) == 2 and all(_is_number(v) and math.isfinite(v)
                                                                for v in p)):
                raise DesignError(f"bumps.positions[{j}]", p, "expected [x, y] in mm")
        return {"centers": [(float(x), float(y)) for x, y in positions]}
    if len(array) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) and
                                  1 <= n <= 1000 for n in array):
        raise DesignError("bumps.array", array, "expected [rows, columns], integers in 1..1000")
    rows, cols = array
    gone = t.get("depopulate", list, [])
    for j, rc in enumerate(gone):
        if not (isinstance(rc, list) and len(rc) == 2 and all(isinstance(v, int) for v in rc)
                and 0 <= rc[0] < rows and 0 <= rc[1] < cols):
            raise DesignError(f"bumps.depopulate[{j}]", rc, f"[row, column] with row in "
                              f"0..{rows - 1}, column in 0..{cols - 1}")
    perimeter = t.get("perimeter", int, None)
    if perimeter is not None and not 1 <= perimeter:
        raise DesignError("bumps.perimeter", perimeter, "a number of rings ≥ 1")
    index = array_index(rows, cols, [tuple(rc) for rc in gone],
                        _index_list(t, "depopulate_rows", rows),
                        _index_list(t, "depopulate_columns", cols), perimeter)
    if not index:
        raise DesignError("bumps.depopulate", gone, "removes every bump of the array")
    return {"array": (rows, cols), "index": index, "pitch": pitch,
            "centers": [site_center(r, c, rows, cols, pitch) for r, c in index]}


def _bump_positions(layout: dict[str, Any], die: Die, model: str, half_w: float,
                    land: float, layers: list[Layer]
                    ) -> tuple[list[tuple[float, float]], list[float]]:
    """Every bump centre and the 2D section's bump coordinates (empty in 3D)."""
    key = "bumps.array" if "array" in layout else "bumps.positions"
    centers = layout.get("centers", [])
    hx, hy = die.size[0] / 2, die.size[1] / 2
    for j, (x, y) in enumerate(centers):
        name, value = ((key, list(layout["array"])) if "array" in layout
                       else (f"{key}[{j}]", [x, y]))
        if abs(x) + half_w > hx + 1e-12 or abs(y) + half_w > hy + 1e-12:
            raise DesignError(name, value,
                              f"the bump at ({x:g}, {y:g}) mm is beyond the die edge: |x|, |y| "
                              f"+ joint half-width "
                              f"{half_w:.4g} mm must be ≤ {hx:g}, {hy:g} mm")
        for layer in layers:
            if layer.inner_gap > 0 and abs(y) - land / 2 < layer.inner_gap:
                raise DesignError(name, value, f"the land of the bump at ({x:g}, {y:g}) mm "
                                  f"reaches into the central gap of layer '{layer.name}' "
                                  f"(|y| < inner_gap = {layer.inner_gap:g} mm): depopulate it")
    if "centers" in layout and len(centers) > 1 and "array" not in layout:
        i, j, d = closest_pair(centers)
        if d < 2 * half_w:
            raise DesignError(f"{key}[{max(i, j)}]", list(centers[max(i, j)]),
                              f"joints overlap: centres {d:.4g} mm apart, the joint is "
                              f"{2 * half_w:.4g} mm wide")
    if model == "3d":
        if "slice" in layout:
            raise DesignError(key, layout["slice"], "a 3D model needs the array or [x, y] "
                              "centres, not positions along a 2D slice")
        return centers, []
    if "slice" in layout:
        positions = sorted(layout["slice"])
    else:
        if "array" in layout:
            rows, cols = layout["array"]
            row = slice_row_of_array(layout["index"], rows, cols, layout["pitch"], die.size,
                                     die.slice)
        else:
            row = slice_row_of_positions(centers, die.size, die.slice, half_w)
        if not row:
            raise DesignError(key, None, f"no bump lies on the 2D slice along the die "
                              f"{die.slice} (first quadrant)")
        positions = slice_coordinates(row, die.size, die.slice)
    for j, (a, b) in enumerate(itertools.pairwise(positions)):
        if b - a < 2 * half_w:
            raise DesignError(f"{key}[{j + 1}]" if "slice" in layout else key, b,
                              f"joints overlap along the slice: {b:g} mm must be ≥ "
                              f"{a + 2 * half_w:.4g} mm (previous bump at {a:g} mm)")
    half = die.half_length
    if positions[-1] + half_w > half + 1e-12:
        raise DesignError(f"{key}[{len(positions) - 1}]" if "slice" in layout else key,
                          positions[-1], f"bump beyond the die edge: slice coordinate + "
                          f"half-width must be ≤ {half:.4g} mm")
    if positions[0] != 0.0 and positions[0] < half_w:
        raise DesignError(key, positions[0], f"a bump must sit on the axis (0) or clear it "
                          f"by its half-width {half_w:.4g} mm")
    if "slice" in layout:
        for layer in layers:
            gap = slice_gap(die, layer)
            for j, p in enumerate(positions):
                if layer.inner_gap > 0 and p - land / 2 < gap:
                    raise DesignError(f"{key}[{j}]", p, f"bump {j} land reaches into the "
                                      f"central gap of layer '{layer.name}' (at {gap:.4g} mm "
                                      f"along the slice)")
    return centers, positions


def slice_gap(die: Die, layer: Layer) -> float:
    """Where a 2D slice meets the edge of the layer's central gap (mm from the centre).

    The gap is the strip |y| < ``inner_gap`` along the die's long axis; a slice at angle θ from
    that axis meets its edge at ``inner_gap / sin θ``. A slice along the long axis runs inside it.
    """
    if layer.inner_gap == 0:
        return 0.0
    ux, uy = slice_direction(die.size, die.slice)
    across = uy if die.size[0] >= die.size[1] else ux
    if across < 1e-12:
        raise DesignError("die.slice", die.slice, f"the slice runs inside the central gap of "
                          f"layer '{layer.name}': choose 'diagonal' or 'short'")
    return layer.inner_gap / across


def _build(raw: dict[str, Any]) -> Design:
    top = _Table(raw, "")
    name = top.get("name", str)
    model = top.choice("model", MODELS, "axisymmetric")
    materials = _materials(top)

    t = _Table(top.get("die", dict), "die")
    size = t.get("size", list)
    if len(size) != 2 or not all(_is_number(s) and math.isfinite(s) and 0 < s <= MAX_DIE
                                 for s in size):
        raise DesignError("die.size", size, f"expected [length, width] in mm, both in "
                          f"(0, {MAX_DIE:g}]")
    die = Die(size=(float(size[0]), float(size[1])), thickness=t.length("thickness"),
              material=_material(t, "material", materials, "silicon", role="die"),
              slice=t.choice("slice", SLICES, "diagonal"))
    t.done()

    t_mesh = _Table(top.get("mesh", dict, {}), "mesh")
    order = t_mesh.get("order", int, 2)
    if order not in (1, 2):
        raise DesignError("mesh.order", order, "allowed: 1, 2")
    spec = MeshSpec(order=order, size=t_mesh.length("size", 0.05, lo=0.001, hi=5.0),
                    bump_size=t_mesh.length("bump_size", 0.008, lo=0.0005, hi=5.0),
                    min_size=t_mesh.length("min_size", 0.0005, lo=0.0001, hi=5.0),
                    layer_elements=t_mesh.get("layer_elements", int, MIN_FEATURE_ELEMENTS))
    t_mesh.done()
    if spec.bump_size > spec.size:
        raise DesignError("mesh.bump_size", spec.bump_size,
                          f"must not exceed mesh.size = {spec.size} mm")
    if spec.layer_elements < MIN_FEATURE_ELEMENTS:
        raise DesignError("mesh.layer_elements", spec.layer_elements,
                          f"must be ≥ {MIN_FEATURE_ELEMENTS}")
    if spec.min_size > spec.bump_size:
        raise DesignError("mesh.min_size", spec.min_size,
                          f"must not exceed mesh.bump_size = {spec.bump_size} mm")

    def resolvable(key: str, thickness: float) -> None:
        n = spec.layer_elements
        if thickness / n < spec.min_size * (1 - 1e-9):
            raise DesignError(key, thickness, f"thinner than the mesh can resolve: {n} elements "
                              f"through it need ≥ {n * spec.min_size:g} mm (mesh.min_size = "
                              f"{spec.min_size:g} mm, mesh.layer_elements = {n})")

    raw_layers = top.get("layers", list, [])
    layers: list[Layer] = []
    for i, entry in enumerate(raw_layers):
        t = _Table(entry, f"layers[{i}]")
        lname = t.get("name", str)
        if not NAME.match(lname) or RESERVED.match(lname):
            raise DesignError(t.key("name"), lname, "a lower_snake_case name that is not a "
                              "reserved region name (die, substrate, underfill, top_coat, "
                              "bump_<i>, land_<i>, pad_<i>)")
        if lname in {layer.name for layer in layers}:
            raise DesignError(t.key("name"), lname, "layer names must be unique")
        layer = Layer(name=lname, material=_material(t, "material", materials, role="polymer"),
                      thickness=t.length("thickness"), inner_gap=t.length("inner_gap", 0.0,
                                                                          zero=True),
                      stress_free=t.temperature("stress_free", None))
        t.done()
        resolvable(t.key("thickness"), layer.thickness)
        if layer.inner_gap >= min(die.size) / 2:
            raise DesignError(t.key("inner_gap"), layer.inner_gap, f"the half-width of the "
                              f"central strip must be smaller than the die half-width "
                              f"{min(die.size) / 2:g} mm")
        layers.append(layer)

    t = _Table(top.get("rerouting", dict), "rerouting")
    mats = t.get("materials", list)
    thick = t.get("thicknesses", list)
    if not mats or len(mats) != len(thick):
        raise DesignError("rerouting.thicknesses", thick,
                          f"one thickness per material ({len(mats)} materials), at least one")
    for j, m in enumerate(mats):
        if not isinstance(m, str) or m not in materials:
            raise DesignError(f"rerouting.materials[{j}]", m, "unknown material")
        check_role(materials[m], "metal", f"rerouting.materials[{j}]")
    for j, h in enumerate(thick):
        if not _is_number(h) or not 0 < h <= MAX_LAND:
            raise DesignError(f"rerouting.thicknesses[{j}]", h,
                              f"must be a length in (0, {MAX_LAND:g}] mm")
        resolvable(f"rerouting.thicknesses[{j}]", h)
    rer = Rerouting(materials=tuple(mats), thicknesses=tuple(float(h) for h in thick),
                    land_diameter=t.length("land_diameter"))
    t.done()

    top_coat = None
    if "top_coat" in raw:
        t = _Table(top.get("top_coat", dict), "top_coat")
        top_coat = TopCoat(material=_material(t, "material", materials, "polyimide",
                                                     role="polymer"),
                           thickness=t.length("thickness"),
                           stress_free=t.temperature("stress_free", None))
        t.done()
        if top_coat.thickness < rer.thickness:
            raise DesignError("top_coat.thickness", top_coat.thickness,
                              f"must be ≥ the land stack thickness {rer.thickness:g} mm "
                              "(the land sits in the top-coat opening)")

    t = _Table(top.get("bumps", dict), "bumps")
    bmat = _material(t, "material", materials, "sac105", role="solder")
    pitch_xy = _pitch(t)
    pitch = min(pitch_xy)
    ball = t.length("ball_diameter", lo=MIN_BALL, hi=2.0)
    pad = t.length("pad_diameter")
    pad_t = t.length("pad_thickness", 0.018)
    pad_mat = _material(t, "pad_material", materials, "copper", role="metal")
    if "first" in t.raw:
        raise DesignError("bumps.first", t.raw["first"], "replaced by the bump array: give "
                          "bumps.array = [rows, columns] (at bumps.pitch, centred on the die) or "
                          "bumps.positions = [[x, y], ...] in mm from the die centre")
    layout = _layout(t, pitch_xy)
    bump_sf = t.temperature("stress_free", None)
    t.done()
    resolvable("bumps.pad_thickness", pad_t)
    if ball >= pitch:
        raise DesignError("bumps.ball_diameter", ball, f"balls overlap: must be < bumps.pitch = "
                          f"{pitch:g} mm")
    if pad >= pitch:
        raise DesignError("bumps.pad_diameter", pad, f"must be < bumps.pitch = {pitch:g} mm")
    if rer.land_diameter >= pitch:
        raise DesignError("rerouting.land_diameter", rer.land_diameter,
                          f"must be < bumps.pitch = {pitch:g} mm")
    neck = top_coat.thickness - rer.thickness if top_coat else 0.0
    if math.pi * (rer.land_diameter / 2) ** 2 * neck >= math.pi * ball**3 / 6:
        raise DesignError("top_coat.thickness", top_coat.thickness if top_coat else None,
                          "the top-coat opening alone holds more solder than the ball")
    joint = joint_shape(math.pi * ball**3 / 6, pad, rer.land_diameter, neck)
    if joint.height < spec.layer_elements * spec.min_size:
        raise DesignError("bumps.ball_diameter", ball, f"the joint would be "
                          f"{joint.height * 1e3:.3g} um high between its pad and land: thinner "
                          f"than the mesh can resolve (≥ {spec.layer_elements * spec.min_size:g}"
                          " mm); a larger ball or smaller pads")
    half_w = max(joint.half_width, pad / 2, rer.land_diameter / 2)
    if 2 * half_w >= pitch:
        raise DesignError("bumps.pitch", pitch, f"neighbouring joints touch: the joint is "
                          f"{2 * half_w:.4g} mm wide")
    centers, positions = _bump_positions(layout, die, model, half_w, rer.land_diameter, layers)
    bumps = Bumps(material=bmat, pitch=pitch, ball_diameter=ball, pad_diameter=pad,
                  pad_thickness=pad_t, pad_material=pad_mat, positions=tuple(positions),
                  stress_free=bump_sf, pitch_xy=pitch_xy, centers=tuple(centers),
                  array=layout.get("array"))

    t = _Table(top.get("substrate", dict), "substrate")
    sub = Substrate(material=_material(t, "material", materials, "bt", role="substrate"),
                    thickness=t.length("thickness"),
                    overhang=t.length("overhang", 0.5, zero=True))
    t.done()

    underfill = None
    gap = pad_t + joint.height + (top_coat.thickness if top_coat else rer.thickness)
    if "underfill" in raw:
        t = _Table(top.get("underfill", dict), "underfill")
        underfill = Underfill(material=_material(t, "material", materials, "underfill",
                                                        role="underfill"),
                              fillet=t.length("fillet", gap, zero=True),
                              stress_free=t.temperature("stress_free", None))
        t.done()
        if underfill.fillet > sub.overhang:
            raise DesignError("underfill.fillet", underfill.fillet,
                              f"must not exceed substrate.overhang = {sub.overhang:g} mm")

    t = _Table(top.get("loading", dict, {}), "loading")
    loading = Loading(stress_free=t.temperature("stress_free", 125.0),
                      profile=t.get("profile", (str, dict), "jedec_g"),
                      cycles=t.get("cycles", int, 3), solder=t.choice("solder", SOLDER_MODELS,
                                                                     "elastic"))
    t.done()
    parse_profile(loading.profile, "loading.profile")
    if not 1 <= loading.cycles <= MAX_CYCLES:
        raise DesignError("loading.cycles", loading.cycles, f"must be in 1..{MAX_CYCLES} (the "
                          "creep response stabilizes within a few cycles)")
    if loading.solder != "elastic" and getattr(materials[bmat], loading.solder) is None:
        raise DesignError("loading.solder", loading.solder,
                          f"material '{bmat}' has no {loading.solder} constants")
    fatigue = _fatigue_sets(top, bmat)
    top.get("scatter", dict, {})  # Monte-Carlo tolerances, validated by wlcsp.scatter
    top.get("submodel", dict, {})  # the refined joint, validated by wlcsp.refined_joint
    for key in ("cell", "submodel"):
        if model != "3d" and key in raw:
            raise DesignError(key, raw[key], "applies to model = '3d' only")
    cell = _cell(top, model, die, sub, bumps) if model == "3d" else None
    top.done()
    if cell is None:
        _check_mesh_size(spec, die, sub, joint, len(positions), half_w)
    return Design(name=name, model=model, die=die, layers=tuple(layers), rerouting=rer,
                  top_coat=top_coat, bumps=bumps, substrate=sub, underfill=underfill,
                  loading=loading, mesh=spec, materials=materials, joint=joint, raw=raw,
                  cell=cell, fatigue=fatigue)


def _fatigue_sets(top: _Table, alloy: str) -> dict[str, str]:
    """The ``[life]`` table: one constant set per fatigue model over the alloy's defaults.

    ``[life] darveaux = "darveaux_2000_snpb"`` picks a set of ``data/fatigue.toml`` by name; a set
    calibrated for another alloy family is allowed, and its lives are labelled as such
    (:mod:`wlcsp.life_report`).
    """
    t = _Table(top.get("life", dict, {}), "life")
    out = default_sets(alloy)
    for table in LIFE_TABLES:
        name = t.choice(table, tuple(FATIGUE_SETS[table]), None) if table in t.raw else None
        t.seen.add(table)
        if name is not None:
            out[table] = name
    t.done()
    return out


def _check_mesh_size(spec: MeshSpec, die: Die, sub: Substrate, joint: Joint, nbumps: int,
                     half_w: float) -> None:
    """Refuse a 2D mesh estimated above :data:`MAX_ELEMENTS` triangles (it would not finish).

    Estimate: 2 A / h² triangles of size h over the coarse section area and over a box of twice
    the joint's width and height around each joint at ``mesh.bump_size`` (within 2x of gmsh's
    counts on the bundled designs).
    """
    area = (die.half_length + sub.overhang) * (sub.thickness + die.thickness + joint.height)
    coarse = 2 * area / spec.size**2
    fine = nbumps * 2 * (4 * half_w * 2 * joint.height) / spec.bump_size**2
    if coarse + fine > MAX_ELEMENTS:
        key, value = ("mesh.size", spec.size) if coarse > fine else ("mesh.bump_size",
                                                                    spec.bump_size)
        raise DesignError(key, value, f"the mesh would have about {coarse + fine:.3g} elements "
                          f"(more than {MAX_ELEMENTS:g}): coarser sizes")


def _cell(top: _Table, model: str, die: Die, sub: Substrate, bumps: Bumps) -> Cell:
    """The 3D symmetry cell: ``cell`` (auto, quarter, strip); the array must be symmetric."""
    kind = top.choice("cell", CELL_CHOICES, "auto")
    centers = list(bumps.centers)
    key = "bumps.array" if bumps.array else "bumps.positions"

    def make(k: str) -> Cell:
        return make_cell(k, die.size, sub.overhang, bumps.centers, bumps.pitch_xy[1])

    if kind == "auto":
        quarter = make("quarter")
        symmetric = is_symmetric(centers, "x") and is_symmetric(centers, "y")
        kind = "quarter" if symmetric and len(quarter.bumps) <= QUARTER_MAX_BUMPS else "strip"
    for axis in ("x", "y") if kind == "quarter" else ("x",):
        if not is_symmetric(centers, axis):
            raise DesignError(key, None, f"the {kind} cell needs a bump layout symmetric about "
                              f"the die axis {axis} = 0 (check the depopulation)")
    if kind == "strip":
        y_row = max(y for _, y in centers)
        if bumps.pitch_xy[1] / 2 >= y_row + 1e-12 and len({y for _, y in centers}) > 1:
            raise DesignError("cell", kind, "the strip's cut face half a row pitch inside the "
                              "outer row falls beyond the die centre")
    return make(kind)


def describe(design: Design) -> str:
    """Human-readable derived geometry, printed by ``wlcsp check``."""
    j, b = design.joint, design.bumps
    if design.cell is not None:
        c = design.cell
        where = (f"3d, {c.kind} cell x {c.x[0]:g}..{c.x[1]:g} mm, y {c.y[0]:g}..{c.y[1]:g} mm "
                 f"(faces: {', '.join(c.faces)})")
    else:
        where = (f"{design.model}, slice along the die {design.die.slice} "
                 f"(half-length {design.die.half_length:.4f} mm)")
    if b.array:
        layout = (f"{b.array[0]} x {b.array[1]} array at {b.pitch_xy[0]:g} x {b.pitch_xy[1]:g} mm,"
                  f" {len(b.centers)} bumps")
    elif b.centers:
        layout = f"{len(b.centers)} bumps at given centres"
    else:
        layout = "positions along the slice"
    lines = [
        f"design      {design.name}",
        f"model       {where}",
        f"joint       height {j.height * 1e3:.1f} um, sphere radius {j.radius * 1e3:.1f} um, "
        f"widest {2 * j.half_width * 1e3:.1f} um" + (f", neck {j.neck * 1e3:.1f} um"
                                                     if j.neck else ""),
        f"standoff    {design.standoff * 1e3:.1f} um (substrate top to chip-side surface)",
        f"underfill   {design.underfill.material if design.underfill else 'none'}",
        f"array       {layout}",
        f"bumps       {len(design.dnp)} x {b.material} in the model, DNP (mm): "
        + ", ".join(f"{d:.3f}" for d in design.dnp),
    ]
    return "\n".join(lines)
