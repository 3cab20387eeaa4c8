"""The bump array contract: sites, depopulation, the 2D slice row and the 3D symmetry cells."""

from __future__ import annotations

import math

import pytest

from wlcsp.design import QUARTER_MAX_BUMPS, load_design
from wlcsp.errors import DesignError

from conftest import raw_design

REL = 1e-12
"""Relative tolerance of exact coordinate arithmetic."""


def _small(array, pitch=0.5, model="axisymmetric", cell=None, **bumps) -> dict:
    """A 3 x 3 mm die, no central gap, a given array."""
    raw = raw_design("seed000_bare")
    raw["model"] = model
    if cell is not None:
        raw["cell"] = cell
    raw["die"]["size"] = [3.0, 3.0]
    raw["bumps"] = {"material": "sac105", "pitch": pitch, "ball_diameter": 0.3,
                    "pad_diameter": 0.25, "array": array, **bumps}
    return raw


def test_array_sites_are_centred_on_the_die():
    d = load_design(_small([4, 5], pitch=[0.5, 0.6]))
    xs = sorted({x for x, _ in d.bumps.centers})
    ys = sorted({y for _, y in d.bumps.centers})
    assert xs == pytest.approx([-1.0, -0.5, 0.0, 0.5, 1.0], rel=REL)
    assert ys == pytest.approx([-0.9, -0.3, 0.3, 0.9], rel=REL)
    assert d.bumps.pitch == 0.5


def test_perimeter_and_depopulation_counts():
    """Perimeter and depopulation counts.

    A 5 x 5 array with 2 rings kept loses the centre site only: 24; a removed row and column of
    a full 5 x 5 leave 4 x 4 = 16, one more site 15.
    """
    assert len(load_design(_small([5, 5], perimeter=2)).bumps.centers) == 24
    d = load_design(_small([5, 5], depopulate_rows=[0], depopulate_columns=[4],
                           depopulate=[[2, 2]]))
    assert len(d.bumps.centers) == 15
    assert (0.0, 0.0) not in d.bumps.centers


def test_centre_bump_sits_on_the_axis_in_2d():
    """An odd array has a bump at DNP 0; the diagonal row runs (1, 1), (0.5, 0.5), (0, 0)."""
    d = load_design(_small([5, 5]))
    assert d.dnp == pytest.approx([0.0, 0.5 * math.sqrt(2), math.sqrt(2)], rel=REL, abs=1e-15)


def test_long_slice_holds_the_row_nearest_the_axis():
    raw = _small([4, 5])
    raw["die"]["slice"] = "long"
    raw["die"]["size"] = [3.0, 2.5]
    d = load_design(raw)
    assert d.dnp == pytest.approx([0.0, 0.5, 1.0], abs=1e-15)


def test_quarter_cell_fractions_and_order():
    """The quarter cell of a 5 x 5 array at 0.5 mm.

    It holds 9 sites; the centre is a quarter ball, the four others on the planes halves; the
    held solder is 3·3 − 4·½ − ¾ = 6.25 balls = 25/4.
    """
    d = load_design(_small([5, 5], model="3d", cell="quarter"))
    c = d.cell
    assert c.kind == "quarter"
    assert len(c.bumps) == 9
    assert sum(b.fraction for b in c.bumps) == pytest.approx(25 / 4, rel=REL)
    assert c.bumps[0].fraction == 0.25
    assert c.bumps[0].dnp == 0.0
    assert list(d.dnp) == sorted(d.dnp)
    assert d.dnp[-1] == pytest.approx(math.sqrt(2), rel=REL)
    assert c.x == (0.0, 1.5 + d.substrate.overhang)
    assert set(c.faces) == {"sym_x", "sym_y"}


def test_strip_cell_is_the_outer_row_half_a_pitch_deep():
    d = load_design(_small([4, 4], model="3d", cell="strip"))
    c = d.cell
    assert [b.center for b in c.bumps] == [(0.25, 0.75), (0.75, 0.75)]
    assert c.y[0] == pytest.approx(0.5, rel=REL)
    assert c.faces["plane_y"] == ("y", pytest.approx(0.5, rel=REL))
    assert c.plane == {"plane_y": "y"}


def test_auto_cell_picks_quarter_for_small_arrays():
    small = load_design(_small([4, 4], model="3d"))
    assert small.cell.kind == "quarter"
    assert len(small.cell.bumps) <= QUARTER_MAX_BUMPS
    seed = load_design(raw_design("seed000_underfill_3d"))
    assert seed.cell.kind == "strip"
    assert len(seed.cell.bumps) == 8
    assert seed.dnp[-1] == pytest.approx(math.hypot(3.75, 2.25), rel=REL)


def test_quarter_needs_a_symmetric_layout():
    with pytest.raises(DesignError) as err:
        load_design(_small([4, 4], model="3d", cell="quarter", depopulate=[[0, 0]]))
    assert err.value.key == "bumps.array"
    assert "symmetric" in str(err.value)


def test_3d_refuses_slice_positions():
    raw = _small([4, 4], model="3d")
    raw["bumps"].pop("array")
    raw["bumps"]["positions"] = [0.5, 1.0]
    with pytest.raises(DesignError) as err:
        load_design(raw)
    assert err.value.key == "bumps.positions"


def test_explicit_centres_give_the_same_cell_as_the_array():
    a = load_design(_small([4, 4], model="3d", cell="quarter"))
    raw = _small([4, 4], model="3d", cell="quarter")
    raw["bumps"].pop("array")
    raw["bumps"]["positions"] = [list(c) for c in a.bumps.centers]
    b = load_design(raw)
    assert b.dnp == pytest.approx(a.dnp, rel=REL)


def test_typo_is_reported_before_the_missing_key_it_causes():
    raw = raw_design()
    raw["bumps"]["ball_diamter"] = raw["bumps"].pop("ball_diameter")
    with pytest.raises(DesignError) as err:
        load_design(raw)
    assert err.value.key == "bumps.ball_diamter"
    assert "did you mean ball_diameter?" in str(err.value)
