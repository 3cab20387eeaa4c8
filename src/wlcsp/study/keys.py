"""Dotted key paths into nested dicts and lists.

Examples: ``bumps.pitch``, ``layers.elastomer.thickness``, ``layers[1].thickness``,
``bumps[-1].mean_shear``.

Grammar: names (``[A-Za-z_][A-Za-z0-9_]*``) separated by dots, each followed by any number of
``[index]`` list indices. A name applied to a list selects the entry whose ``name`` is that name
(design layers by name); an integer index selects by position (negative from the end); a name
as index (:class:`Ref`) takes the integer at that top-level key of the same tree, so
``bumps[critical_bump].delta_shear_strain`` reads the critical bump of a result. Resolution errors
are :class:`KeyPathError` with a short message that the caller prefixes with its own key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any


class Ref(str):
    """A list index given by name: the integer stored at that top-level key of the tree."""

    __slots__ = ()


Token = str | int
Path = tuple[Token, ...]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SEGMENT = re.compile(rf"({_NAME})((?:\[(?:-?\d+|{_NAME})\])*)$")
_INDEX = re.compile(rf"\[(-?\d+|{_NAME})\]")
MISSING = object()
"""Marker for a key that a path names but the tree does not (yet) hold."""


class KeyPathError(ValueError):
    """A key path that is malformed or does not resolve; the message says why."""


def parse(text: object) -> Path:
    """Split ``text`` into name and index tokens; raises :class:`KeyPathError` if malformed."""
    if not isinstance(text, str) or not text:
        raise KeyPathError("expected a dotted key path such as 'bumps.pitch'")
    tokens: list[Token] = []
    for segment in text.split("."):
        m = _SEGMENT.match(segment)
        if not m:
            raise KeyPathError(f"malformed segment {segment!r}: expected name or name[index]")
        tokens.append(m.group(1))
        tokens.extend(Ref(i) if i[0].isalpha() or i[0] == "_" else int(i)
                      for i in _INDEX.findall(m.group(2)))
    return tuple(tokens)


def format_path(tokens: Path) -> str:
    """The inverse of :func:`parse`: ``('layers', 1, 'thickness')`` -> ``layers[1].thickness``."""
    out = ""
    for tok in tokens:
        out += f"[{tok}]" if isinstance(tok, (int, Ref)) else (f".{tok}" if out else tok)
    return out


def _step(node: Any, tok: Token, done: Path) -> tuple[Any, Token]:
    """The child of ``node`` named by ``tok`` and its normalized token (list entries by index)."""
    where = format_path(done) or "the top level"
    if isinstance(node, Mapping):
        if isinstance(tok, int):
            raise KeyPathError(f"'{where}' is a table, not a list: use a name, not [{tok}]")
        return node.get(tok, MISSING), tok
    if isinstance(node, list):
        if isinstance(tok, int):
            if not -len(node) <= tok < len(node):
                raise KeyPathError(f"index [{tok}] out of range: '{where}' has {len(node)} "
                                   "entries")
            return node[tok], tok % len(node)
        names = [e.get("name") for e in node if isinstance(e, Mapping)]
        if tok not in names:
            raise KeyPathError(f"no entry named '{tok}' in '{where}'; names: "
                               f"{', '.join(map(str, names)) or 'none'}")
        return node[names.index(tok)], names.index(tok)
    raise KeyPathError(f"'{where}' is a value, not a table or list")


def _deref(tree: Any, tokens: Path) -> Path:
    """Replace every :class:`Ref` by the integer stored at that top-level key of ``tree``."""
    out: list[Token] = []
    for tok in tokens:
        if isinstance(tok, Ref):
            value = tree.get(tok) if isinstance(tree, Mapping) else None
            if isinstance(value, bool) or not isinstance(value, int):
                raise KeyPathError(f"index [{tok}]: '{tok}' is not an integer here ({value!r})")
            tok = value
        out.append(tok)
    return tuple(out)


def resolve(tree: Any, tokens: Path) -> tuple[Any, Path]:
    """The value at ``tokens`` (or :data:`MISSING` for an absent last key) and its index path."""
    tokens = _deref(tree, tokens)
    node, done = tree, ()
    for k, tok in enumerate(tokens):
        if node is MISSING:
            raise KeyPathError(f"no '{format_path(done)}' here, so nothing inside it "
                               f"(at '{format_path(tokens[k:])}')")
        node, norm = _step(node, tok, done)
        done = (*done, norm)
    return node, done


def parent(tree: Any, tokens: Path) -> tuple[MutableMapping | list, Token, Path]:
    """The container holding the last key of ``tokens``, that key normalized, and the index path."""
    if not tokens:
        raise KeyPathError("empty key path")
    tokens = _deref(tree, tokens)
    node, done = resolve(tree, tokens[:-1])
    if node is MISSING:
        raise KeyPathError(f"no '{format_path(done)}' here to set "
                           f"'{format_path(tokens[-1:])}' in")
    _, last = _step(node, tokens[-1], done)
    return node, last, (*done, last)
