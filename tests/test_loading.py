"""Temperature profiles: JEDEC JESD22-A104 / IPC-9701 cycles, design-file forms, time stepping.

Expected values are the standards' extremes (literature.md §3.5) and the trapezoid arithmetic
written out in each docstring; ramps and dwells are the defaults documented in wlcsp.loading.
"""

import numpy as np
import pytest

from wlcsp.errors import DesignError
from wlcsp.loading import (
    IPC_9701_CYCLES,
    IPC_MAX_RAMP_RATE,
    JEDEC_CONDITIONS,
    discretize,
    extremes,
    named_profile,
    parse_profile,
    profile_names,
)

EXACT = 1e-12
"""Relative tolerance for arithmetic on exactly representable knots."""


def test_jedec_g_trapezoid():
    """JESD22-A104 G is -40/+125 °C; with 15 min soaks and 15 min ramps the cycle is 1 h.

    Knots (0, 125), (900, 125), (1800, -40), (2700, -40), (3600, 125): period 3600 s,
    24 cycles/day, T_mean = (125 - 40)/2 = 42.5 °C, dwell 900 s, ramp rate 165 K / 900 s.
    """
    p = parse_profile("JEDEC_G")
    assert p.times == (0.0, 900.0, 1800.0, 2700.0, 3600.0)
    assert p.temperatures == (125.0, 125.0, -40.0, -40.0, 125.0)
    assert p.cyclic
    assert p.period == pytest.approx(3600.0, rel=EXACT)
    assert p.cycles_per_day == pytest.approx(24.0, rel=EXACT)
    assert p.T_mean == pytest.approx(42.5, rel=EXACT)
    assert p.delta_T == pytest.approx(165.0, rel=EXACT)
    assert p.dwell == p.dwell_hot == p.dwell_cold == pytest.approx(900.0, rel=EXACT)
    assert p.ramp_rate == pytest.approx(165.0 / 900.0, rel=EXACT)
    assert extremes(p) == (-40.0, 125.0)


@pytest.mark.parametrize("letter", sorted(JEDEC_CONDITIONS))
def test_every_jedec_condition(letter):
    """Each JESD22-A104 condition has the extremes of literature.md §3.5 (e.g. C: -65/+150)."""
    published = {"a": (-55, 85), "b": (-55, 125), "c": (-65, 150), "g": (-40, 125),
                 "h": (-55, 150), "i": (-40, 115), "j": (0, 100), "k": (0, 125),
                 "l": (-55, 110), "m": (-40, 150), "n": (-40, 85)}
    p = named_profile(f"jedec_{letter}")
    assert extremes(p) == published[letter]
    assert p.period == pytest.approx(3600.0, rel=EXACT)


@pytest.mark.parametrize("tc", sorted(IPC_9701_CYCLES))
def test_ipc_9701_ramps_within_the_limit(tc):
    """IPC-9701: 10 min dwells, ramps of at most 20 °C/min (lit §3.5).

    TC4 (180 K in 600 s) is the steepest at 18 °C/min.
    """
    p = named_profile(f"ipc_{tc}")
    assert p.dwell == pytest.approx(600.0, rel=EXACT)
    assert p.ramp_rate <= IPC_MAX_RAMP_RATE
    assert p.ramp_rate == pytest.approx(p.delta_T / 600.0, rel=EXACT)
    assert extremes(p) == IPC_9701_CYCLES[tc]


def test_names_case_insensitive_and_listed():
    assert parse_profile("Ipc_TC3") == parse_profile("ipc_tc3")
    assert "jedec_n" in profile_names()
    assert "ipc_tc5" in profile_names()


def test_trapezoid_from_table():
    """{min, max, ramp, dwell}: period 2(ramp + dwell) = 2(600 + 300) = 1800 s.

    At mid-ramp, t = 300 + 300 s, T is the mean (125 - 40)/2 = 42.5 °C; the profile repeats.
    """
    p = parse_profile({"min": -40, "max": 125, "ramp": 600, "dwell": 300})
    assert p.period == pytest.approx(1800.0, rel=EXACT)
    assert p.temperature(600.0) == pytest.approx(42.5, rel=EXACT)
    assert p.temperature(600.0 + 3 * 1800.0) == pytest.approx(42.5, rel=EXACT)
    assert p.dwell_hot == pytest.approx(300.0, rel=EXACT)


def test_trapezoid_defaults_are_jedec():
    """Ramp and dwell left out: the JEDEC defaults, 15 min each (1 cycle/h)."""
    p = parse_profile({"min": 0, "max": 100})
    assert p.cycles_per_day == pytest.approx(24.0, rel=EXACT)


def test_zero_dwell_is_a_triangle():
    p = parse_profile({"min": 0, "max": 100, "ramp": 600, "dwell": 0})
    assert p.times == (0.0, 600.0, 1200.0)
    assert p.dwell == 0.0
    assert p.period == pytest.approx(1200.0, rel=EXACT)


def test_uniform_step():
    """{from = 125, to = -40}: one step, not a cycle; its extremes give the elastic range."""
    p = parse_profile({"from": 125.0, "to": -40.0})
    assert not p.cyclic
    assert extremes(p) == (-40.0, 125.0)
    with pytest.raises(DesignError, match="instantaneous jump"):
        discretize(p, max_step=60.0)
    with pytest.raises(DesignError, match="not a cycle"):
        _ = p.cycles_per_day


def test_step_with_ramp_and_hold_can_be_stepped():
    """Ramp 165 K over 1650 s with max_dT = 10 K: 17 steps; a 600 s hold at max_step 600: 1 more."""
    p = parse_profile({"from": 125.0, "to": -40.0, "ramp": 1650.0, "hold": 600.0})
    t, T = discretize(p, max_step=600.0, max_dT=10.0)
    assert len(t) == 1 + 17 + 1
    assert T[-1] == -40.0
    assert t[-1] == pytest.approx(2250.0, rel=EXACT)


def test_points_profile():
    p = parse_profile({"points": [[0, 25], [600, 125], [1200, 25]]})
    assert p.cyclic
    assert extremes(p) == (25.0, 125.0)
    assert p.period == pytest.approx(1200.0, rel=EXACT)
    assert p.temperature(900.0) == pytest.approx(75.0, rel=EXACT)
    q = parse_profile({"points": [[0, 25], [600, 125]]})
    assert not q.cyclic


def test_discretize_keeps_knots_and_limits():
    """JEDEC G, max_step 300 s, max_dT 20 K: 48 steps over two cycles, ending at 7200 s.

    Dwells 900/300 = 3 steps, ramps ceil(165/20) = 9 steps: 24 per cycle; every knot is a point.
    """
    p = named_profile("jedec_g")
    t, T = discretize(p, max_step=300.0, max_dT=20.0, cycles=2)
    assert len(t) == 49
    assert t[-1] == pytest.approx(7200.0, rel=EXACT)
    assert np.all(np.diff(t) <= 300.0 * (1 + EXACT))
    assert np.all(np.abs(np.diff(T)) <= 20.0 * (1 + EXACT))
    for knot in (0.0, 900.0, 1800.0, 2700.0, 3600.0, 4500.0, 5400.0, 6300.0):
        assert np.any(np.isclose(t, knot, rtol=0, atol=1e-9))
    np.testing.assert_allclose(T, p.temperature(t), rtol=EXACT, atol=1e-9)


def test_discretize_max_step_only():
    """Without max_dT each 900 s segment splits into ceil(900/400) = 3 steps: 12 per cycle."""
    t, _ = discretize(named_profile("jedec_g"), max_step=400.0)
    assert len(t) == 13


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("jedec_z", "loading.profile"),
        (42, "loading.profile"),
        ({"min": -40}, "loading.profile.max"),
        ({"min": -40, "max": 125, "soak": 5}, "loading.profile.soak"),
        ({"min": 125, "max": -40}, "loading.profile.max"),
        ({"min": -40, "max": 125, "ramp": 0}, "loading.profile.ramp"),
        ({"min": -40, "max": 125, "dwell": -1}, "loading.profile.dwell"),
        ({"min": -400, "max": 125}, "loading.profile.min"),
        ({"min": -40, "max": "hot"}, "loading.profile.max"),
        ({"from": 125, "to": 125}, "loading.profile.to"),
        ({"from": 125, "min": 0, "max": 1}, "loading.profile"),
        ({"points": [[0, 25]]}, "loading.profile.points"),
        ({"points": [[0, 25], [0, 125]]}, "loading.profile.points"),
        ({"points": [[0, 25], [10, 25]]}, "loading.profile.points"),
        ({"points": [[0, 25], [10, 900]]}, "loading.profile.points[1]"),
    ],
)
def test_bad_profiles_name_the_key(raw, key):
    with pytest.raises(DesignError) as err:
        parse_profile(raw)
    assert err.value.key == key
    assert "\n" not in str(err.value)


def test_bad_discretisation_inputs():
    p = named_profile("jedec_g")
    with pytest.raises(DesignError, match="max_step"):
        discretize(p, max_step=0.0)
    with pytest.raises(DesignError, match=r"loading\.cycles"):
        discretize(p, max_step=60.0, cycles=0)
    with pytest.raises(DesignError, match="not a cycle"):
        discretize(parse_profile({"points": [[0, 25], [60, 125]]}), max_step=10.0, cycles=2)
