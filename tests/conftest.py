"""Shared fixtures: the bundled designs as raw dicts, and small meshes for fast tests."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "studies"


def raw_design(name: str = "seed000_elastomer") -> dict:
    """A bundled design file as a fresh dict."""
    return copy.deepcopy(tomllib.loads((STUDIES / f"{name}.toml").read_text(encoding="utf-8")))


def with_positions(raw: dict, positions: list[float]) -> dict:
    """``raw`` with its bump array replaced by explicit 2D slice positions (mm from the centre)."""
    for key in ("array", "depopulate_rows", "depopulate_columns", "depopulate", "perimeter"):
        raw["bumps"].pop(key, None)
    raw["bumps"]["positions"] = list(positions)
    return raw


@pytest.fixture
def seed_raw() -> dict:
    return raw_design()
