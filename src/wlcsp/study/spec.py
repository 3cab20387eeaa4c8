"""Study files: a base design, sweep axes over dotted design keys, and the outputs to tabulate.

A study file (TOML) reads::

    name = "elastomer thickness with and without underfill"
    analysis = "geometry"                 # or "elastic", "anand", "garofalo" (sets loading.solder)
    base = "seed000_elastomer.toml"       # relative to the study file, or an inline [base] table
    outputs = ["joint_height", "dnp_shear_strain"]   # dotted paths into each case's result
    set = { "mesh.size" = 0.1 }           # overrides applied to every case (optional)

    [sweep]
    mode = "grid"                         # cartesian product of the axes, or "zip" (lists in step)

    [[sweep.axes]]
    key = "layers.elastomer.thickness"    # a layer by name, or layers[1].thickness
    values = [0.0, 0.025, 0.05, 0.075, 0.1, 0.15]
    name = "elastomer"                    # column name (optional; the key by default)

    [[sweep.axes]]
    key = "underfill"
    values = [false, true]

Overrides are dotted key paths (:mod:`wlcsp.study.keys`) set in the base design's dict, in order
(``set`` first, then the axes). Two values mean more than a plain assignment:

* ``true`` / ``false`` on a table (``underfill``, ``top_coat``, a layer such as
  ``layers.elastomer``) keeps or removes it; ``true`` adds an optional table the base lacks with
  its defaults (``underfill`` -> ``{}``, i.e. the library underfill).
* a layer thickness of ``0`` removes that layer (a zero-thickness layer is no layer), so an
  elastomer thickness axis can start at 0.

Removals happen after all overrides of a case. Every case's design is validated with
:func:`wlcsp.design.load_design` (and its thermal profile with :func:`wlcsp.loading.parse_profile`)
before any case runs, and each bad key or value raises a one-line
:class:`~wlcsp.errors.DesignError` naming the study key (``sweep.axes[0].key``).

Each case is identified by the SHA-256 of the canonical JSON (sorted keys, integers written as
floats) of its analysis name and its complete design dict; the first :data:`HASH_LENGTH` hex digits
name its result file. Reformatting or commenting a file, or reaching the same design through
different axes, gives the same hash (the psweep convention, see shared/STYLE.md).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..design import SOLDER_MODELS, load_design, read_toml
from ..errors import DesignError
from ..loading import parse_profile
from . import keys
from .analyses import ANALYSES, GEOMETRY_FIELDS, fe_available, geometry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MODES = ("grid", "zip")
OPTIONAL_TABLES = ("underfill", "top_coat")
"""Top-level design tables that may be absent (shared/DESIGN.md): ``true`` adds them as ``{}``."""
HASH_LENGTH = 16
"""Hex digits of the SHA-256 kept in case file names (64 bits: collisions are negligible)."""
_TOP_KEYS = ("name", "analysis", "base", "outputs", "set", "sweep")


@dataclass(frozen=True)
class Axis:
    """One swept design key: ``column`` names it in the results table."""

    key: str
    """The key path as written (``layers.elastomer.thickness``)."""
    path: keys.Path
    values: tuple[Any, ...]
    column: str
    target: str
    """The key path in the base design with list entries by index (``layers[1].thickness``)."""


@dataclass(frozen=True)
class Override:
    """One value set in every case (``set`` and ``analysis``); ``label`` names it in errors."""

    label: str
    path: keys.Path
    value: Any


@dataclass(frozen=True)
class Case:
    """One design of the study: its parameters (column -> value), design dict and hash."""

    index: int
    params: Mapping[str, Any]
    design: Mapping[str, Any] = field(repr=False)
    hash: str = ""


@dataclass(frozen=True)
class Study:
    """A validated study: ``cases`` in study order (grid: last axis fastest)."""

    name: str
    analysis: str
    mode: str
    base: Mapping[str, Any] = field(repr=False)
    axes: tuple[Axis, ...]
    outputs: tuple[str, ...]
    cases: tuple[Case, ...] = field(repr=False)
    source: Path | None = None


def canonical(obj: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, integers as floats (``1`` and ``1.0`` agree)."""

    def normal(x: Any) -> Any:
        if isinstance(x, Mapping):
            return {str(k): normal(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [normal(v) for v in x]
        if isinstance(x, int) and not isinstance(x, bool):
            return float(x)
        return x

    return json.dumps(normal(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def case_hash(analysis: str, design: Mapping[str, Any]) -> str:
    """Stable identity of a case: SHA-256 of the canonical JSON of analysis and design dict."""
    text = canonical({"analysis": analysis, "design": design})
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:HASH_LENGTH]


def load_study(source: str | Path | Mapping[str, Any], base_dir: str | Path | None = None
               ) -> Study:
    """Load and validate a study from a TOML file or a dict; every case design is validated.

    Parameters
    ----------
    source
        Path of the study file, or its parsed dict.
    base_dir
        Where a relative ``base`` path is looked up: the study file's folder by default (the
        current directory for a dict).

    Raises
    ------
    DesignError
        One line naming the study key (``sweep.axes[1].values[2]``), the value and the problem.
    """
    path = None
    if isinstance(source, Mapping):
        raw = copy.deepcopy(dict(source))
    else:
        path = Path(source)
        raw = read_toml(path, "study")
    root = Path(base_dir) if base_dir is not None else (path.parent if path else Path.cwd())
    _unknown(raw, _TOP_KEYS, "")
    name = _get(raw, "name", str, path.stem if path else "study")
    analysis = _get(raw, "analysis", str, "geometry")
    if analysis not in ANALYSES:
        raise DesignError("analysis", analysis, f"allowed: {', '.join(ANALYSES)}")
    if analysis != "geometry" and not fe_available():
        raise DesignError("analysis", analysis, "the finite-element analysis (wlcsp.analysis) "
                          "is not in this installation; use analysis = 'geometry'")
    base = _base(raw.get("base"), root)

    fixed = _fixed(_get(raw, "set", dict, {}), _skeleton(base))
    if analysis in SOLDER_MODELS:
        base.setdefault("loading", {})
        fixed.append(Override("analysis", ("loading", "solder"), analysis))
    sweep = _get(raw, "sweep", dict, None)
    if sweep is None:
        raise DesignError("sweep", None, "missing required table [sweep] with [[sweep.axes]]")
    _unknown(sweep, ("mode", "axes"), "sweep")
    mode = _get(sweep, "mode", str, "grid", "sweep.")
    if mode not in MODES:
        raise DesignError("sweep.mode", mode, f"allowed: {', '.join(MODES)}")
    reference = copy.deepcopy(base)  # the base with `set` applied: what axes may name
    try:
        _apply(reference, [(o.path, o.value) for o in fixed])
    except keys.KeyPathError as exc:
        raise DesignError("set", _get(raw, "set", dict, {}), str(exc)) from None
    axes = _axes(_get(sweep, "axes", list, None, "sweep."), _skeleton(reference), analysis)
    outputs = _outputs(raw, analysis)

    if mode == "zip":
        n = len(axes[0].values)
        for i, ax in enumerate(axes):
            if len(ax.values) != n:
                raise DesignError(f"sweep.axes[{i}].values", list(ax.values),
                                  f"zip mode needs equal lengths: {len(ax.values)} values, "
                                  f"sweep.axes[0] has {n}")
        picks = [(j,) * len(axes) for j in range(n)]
    else:
        picks = list(itertools.product(*(range(len(ax.values)) for ax in axes)))
    cases = tuple(_case(k, pick, axes, fixed, base, analysis) for k, pick in enumerate(picks))
    if analysis == "geometry":
        result = geometry(cases[0].design)
        for i, out in enumerate(outputs):
            try:
                value, _ = keys.resolve(result, keys.parse(out))
            except keys.KeyPathError as exc:
                value = exc
            if not isinstance(value, (int, float, str)):
                raise DesignError(f"outputs[{i}]", out, f"not a number in the geometry result; "
                                  f"it gives: {', '.join(GEOMETRY_FIELDS)}") from None
    return Study(name=name, analysis=analysis, mode=mode, base=base, axes=axes,
                 outputs=outputs, cases=cases, source=path)


def _get(table: Mapping[str, Any], key: str, kind: type, default: Any, prefix: str = "") -> Any:
    value = table.get(key, default)
    if key in table and (not isinstance(value, kind)
                         or (isinstance(value, bool) and kind is not bool)):
        raise DesignError(prefix + key, value, f"expected {kind.__name__}")
    return value


def _unknown(table: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            full = f"{where}.{key}" if where else key
            raise DesignError(full, table[key], f"unknown key (typo?); allowed here: "
                              f"{', '.join(allowed)}")


def _base(value: Any, root: Path) -> dict[str, Any]:
    """The base design dict, validated: an inline table or a TOML file relative to ``root``."""
    if isinstance(value, Mapping):
        base = copy.deepcopy(dict(value))
    elif isinstance(value, str):
        file = root / value
        if not file.is_file():
            raise DesignError("base", value, f"no such design file (looked for {file})")
        try:
            base = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise DesignError("base", value, f"not valid TOML: {exc}") from None
    else:
        raise DesignError("base", value, "expected a design file path or an inline [base] table")
    try:
        load_design(base)
    except DesignError as exc:
        raise DesignError("base", value if isinstance(value, str) else "{...}",
                          f"invalid design: {exc}") from None
    return base


def _fixed(table: Mapping[str, Any], base: Mapping[str, Any], prefix: str = ""
           ) -> list[Override]:
    """``set`` overrides; nested tables over base tables merge key by key."""
    out: list[Override] = []
    for key, value in table.items():
        text = f"{prefix}{key}"
        try:
            path = keys.parse(text)
            target, _ = keys.resolve(base, path)
        except keys.KeyPathError as exc:
            raise DesignError(f'set."{text}"', value, str(exc)) from None
        if isinstance(value, Mapping) and isinstance(target, Mapping):
            out.extend(_fixed(value, base, f"{text}."))
        else:
            out.append(Override(f'set."{text}"', path, value))
    return out


def _axes(raw: Any, base: Mapping[str, Any], analysis: str) -> tuple[Axis, ...]:
    if not raw:
        raise DesignError("sweep.axes", raw, "at least one [[sweep.axes]] table with key and "
                          "values")
    axes: list[Axis] = []
    seen: dict[keys.Path, int] = {}
    for i, entry in enumerate(raw):
        where = f"sweep.axes[{i}]"
        if not isinstance(entry, Mapping):
            raise DesignError(where, entry, "expected a table with key and values")
        _unknown(entry, ("key", "values", "name"), where)
        text = _get(entry, "key", str, None, f"{where}.")
        if text is None:
            raise DesignError(f"{where}.key", None, "missing required key")
        try:
            path = keys.parse(text)
            norm = keys.parent(base, path)[2]
        except keys.KeyPathError as exc:
            raise DesignError(f"{where}.key", text, str(exc)) from None
        if norm in seen:
            raise DesignError(f"{where}.key", text, f"sweeps the same design key as "
                              f"sweep.axes[{seen[norm]}]")
        if analysis in SOLDER_MODELS and norm == ("loading", "solder"):
            raise DesignError(f"{where}.key", text, f"analysis = '{analysis}' sets the solder "
                              "model; run one study per analysis")
        seen[norm] = i
        values = _get(entry, "values", list, None, f"{where}.")
        if not values:
            raise DesignError(f"{where}.values", values, "expected a non-empty list")
        texts = [canonical(v) for v in values]
        for j, t in enumerate(texts):
            if t in texts[:j]:
                raise DesignError(f"{where}.values[{j}]", values[j], "repeats an earlier value")
        column = _get(entry, "name", str, text, f"{where}.")
        if column.startswith("_") or column in {a.column for a in axes}:
            raise DesignError(f"{where}.name", column, "column names must be unique and not "
                              "start with '_' (bookkeeping columns do)")
        axes.append(Axis(key=text, path=path, values=tuple(values), column=column,
                         target=keys.format_path(norm)))
    return tuple(axes)


def _outputs(raw: Mapping[str, Any], analysis: str) -> tuple[str, ...]:
    outputs = _get(raw, "outputs", list, None)
    if outputs is None:
        if analysis != "geometry":
            raise DesignError("outputs", None, "list the result paths to tabulate, e.g. "
                              "['primary.life', 'critical_bump']")
        outputs = [k for k in GEOMETRY_FIELDS if k != "bumps"]
    if not outputs:
        raise DesignError("outputs", outputs, "expected a non-empty list of result paths")
    for i, out in enumerate(outputs):
        try:
            keys.parse(out)
        except keys.KeyPathError as exc:
            raise DesignError(f"outputs[{i}]", out, str(exc)) from None
        if out in outputs[:i]:
            raise DesignError(f"outputs[{i}]", out, "listed twice")
    return tuple(outputs)


def _skeleton(base: Mapping[str, Any]) -> dict[str, Any]:
    """The base design with every optional table present: what key paths may name."""
    return {**{name: {} for name in OPTIONAL_TABLES}, **base}


def _toggle(design: Mapping[str, Any], path: keys.Path, value: Any) -> bool:
    """Whether ``value`` switches a table on or off (a bool aimed at a table)."""
    if not isinstance(value, bool):
        return False
    if len(path) == 1 and path[0] in OPTIONAL_TABLES:
        return True
    try:
        target, _ = keys.resolve(design, path)
    except keys.KeyPathError:
        return False
    return isinstance(target, Mapping)


def _apply(design: dict[str, Any], overrides: Sequence[tuple[keys.Path, Any]]) -> None:
    """Set the overrides in ``design`` in place.

    Table switches go first (so order between axes does not matter), then values; values inside
    an optional table switched off in this case are moot and skipped; removals (``false``, zero
    layer thickness) go last so that by-name and by-index keys keep their meaning.
    """
    removals: dict[int, tuple[Any, set[keys.Token]]] = {}
    off: set[str] = set()

    def remove(container: Any, key: keys.Token) -> None:
        removals.setdefault(id(container), (container, set()))[1].add(key)

    switches = {k for k, o in enumerate(overrides) if _toggle(design, *o)}
    for path, value in (overrides[k] for k in sorted(switches)):
        container, last, _ = keys.parent(design, path)
        if not value:
            remove(container, last)
            off.update(path[:1] if path[0] in OPTIONAL_TABLES and len(path) == 1 else ())
        elif isinstance(container, Mapping) and last not in container:
            container[last] = {}
    for k, (path, value) in enumerate(overrides):
        if k in switches or (path[0] in off and len(path) > 1):
            continue
        if path[0] in OPTIONAL_TABLES and path[0] not in design:
            raise keys.KeyPathError(f"'{keys.format_path(path)}': the design has no "
                                    f"{path[0]} in this case; add it with "
                                    f"key = '{path[0]}', values = [true]")
        container, last, norm = keys.parent(design, path)
        if (len(norm) == 3 and norm[0] == "layers" and norm[2] == "thickness"
                and _number(value) and value == 0):
            remove(design["layers"], norm[1])
        else:
            container[last] = copy.deepcopy(value)
    for container, gone in removals.values():
        if isinstance(container, list):
            for index in sorted(gone, reverse=True):
                container.pop(index)
        else:
            for key in gone:
                container.pop(key, None)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _case(index: int, pick: tuple[int, ...], axes: Sequence[Axis], fixed: Sequence[Override],
          base: Mapping[str, Any], analysis: str) -> Case:
    """Build and validate one case; errors name the axis value (or ``set`` key) at fault."""
    values = [ax.values[j] for ax, j in zip(axes, pick, strict=True)]
    params = {ax.column: v for ax, v in zip(axes, values, strict=True)}
    overrides = (*((o.path, o.value) for o in fixed), *((ax.path, v) for ax, v in
                                                         zip(axes, values, strict=True)))
    design = copy.deepcopy(dict(base))
    context = ", ".join(f"{c}={canonical(v)}" for c, v in params.items())
    try:
        _apply(design, overrides)
    except keys.KeyPathError as exc:
        raise DesignError(f"sweep case {index}", context, str(exc)) from None
    try:
        parse_profile(load_design(design).loading.profile)
    except DesignError as exc:
        bad = exc.key

        def names(target: str) -> bool:
            return bad == target or bad.startswith((f"{target}.", f"{target}["))

        for i, (ax, j) in enumerate(zip(axes, pick, strict=True)):
            if names(ax.target):
                if exc.allowed.startswith("unknown key"):
                    raise DesignError(f"sweep.axes[{i}].key", ax.key, exc.allowed) from None
                raise DesignError(f"sweep.axes[{i}].values[{j}]", ax.values[j],
                                  f"{exc} (case {index}: {context})") from None
        for o in fixed:
            if names(keys.format_path(keys.parent(_skeleton(base), o.path)[2])):
                raise DesignError(o.label, o.value, str(exc)) from None
        raise DesignError(f"sweep case {index}", context, str(exc)) from None
    return Case(index=index, params=params, design=design, hash=case_hash(analysis, design))


def column_value(axis: Axis, value: Any) -> Any:
    """A parameter as a table cell: numbers as float, bools, strings, anything else as JSON.

    One type per column: an axis mixing types (``[false, "underfill"]``) is all JSON text.
    """
    kinds = {"bool" if isinstance(v, bool) else "number" if isinstance(v, (int, float))
             else "str" if isinstance(v, str) else "json" for v in axis.values}
    kind = kinds.pop() if len(kinds) == 1 else "json"
    return {"number": float, "bool": bool, "str": str}.get(kind, canonical)(value)
