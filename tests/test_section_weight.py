"""Equivalent-width weights of a 2D section's bump level against hand calculations."""

import math

import pytest

from wlcsp.design import load_design
from wlcsp.errors import DesignError
from wlcsp.section_weight import row_step, section_weights

from conftest import raw_design

CLOSED_FORM = 1e-12
"""Relative tolerance: the weights are closed forms of the geometry (round-off only)."""

P = 0.5
"""Pitch (mm) of the square arrays below."""


def _design(model: str = "plane_strain", slice_: str = "long", array=(3, 9), *,
            underfill: bool = False, size=(4.4, 1.4), top_coat: float | None = None):
    """A small square array at P with 0.30 mm balls on 0.25 mm pads and lands (seed 000)."""
    raw = raw_design("seed000_bare")
    raw["model"] = model
    raw["die"]["size"] = list(size)
    raw["die"]["slice"] = slice_
    raw["bumps"]["array"] = list(array)
    raw["bumps"].pop("depopulate_rows")
    if underfill:
        raw["underfill"] = {"material": "underfill"}
    if top_coat is not None:
        raw["top_coat"] = {"material": "polyimide", "thickness": top_coat}
    return load_design(raw)


def _joint_by_hand(volume: float, a: float) -> tuple[float, float]:
    """Height h and section area A of the symmetric segment holding ``volume`` (caps radius a).

    V = π h (6 a² + h²)/6 (spherical segment, equal caps) solved by bisection; the section is the
    circle of radius R = √(a² + h²/4) between the chords z = ±h/2:
    A = ∫ 2√(R² − z²) dz = h a + 2 R² asin(h / 2R).
    """
    lo, hi = 0.0, 1.0
    for _ in range(200):
        h = (lo + hi) / 2
        lo, hi = (h, hi) if math.pi * h * (6 * a * a + h * h) / 6 < volume else (lo, h)
    r = math.hypot(a, h / 2)
    return h, h * a + 2 * r * r * math.asin(h / (2 * r))


@pytest.mark.parametrize("model", ["plane_strain", "generalized_plane_strain", "axisymmetric"])
def test_long_slice_weights_by_hand(model):
    """Long slice of a square array, by hand.

    Δs = p, ρ = 1/p², so off the axis (every model alike) f_bump = V/(p A),
    f_pad = f_land = π a/(2 p), and the underfill of the unit cell, gap H,
    f = (p² H − ΣV)/(p (p H − ΣA)) (module docstring of ``wlcsp.section_weight``).
    """
    d = _design(model, underfill=True)
    a, t_pad, t_land = 0.125, 0.018, 0.013
    volume = math.pi * 0.3**3 / 6
    h, area = _joint_by_hand(volume, a)
    f = section_weights(d)
    assert d.dnp[0] == pytest.approx(0.0)  # the middle column sits on the axis
    off_axis = [i for i, x in enumerate(d.dnp) if x > 0]
    assert off_axis == [1, 2, 3, 4]
    for i in off_axis:
        assert f[f"bump_{i}"] == pytest.approx(volume / (P * area), rel=1e-9)
        for name in (f"pad_{i}", f"land_{i}_0", f"land_{i}_1"):
            assert f[name] == pytest.approx(math.pi * a / (2 * P), rel=CLOSED_FORM)
    gap = t_pad + h + t_land
    solids_v = volume + math.pi * a * a * (t_pad + t_land)
    solids_a = area + 2 * a * (t_pad + t_land)
    expected = (P * P * gap - solids_v) / (P * (P * gap - solids_a))
    assert f["underfill"] == pytest.approx(expected, rel=1e-9)
    assert set(f) == {"underfill", *(f"{k}_{i}" for k in ("bump", "pad") for i in range(5)),
                      *(f"land_{i}_{k}" for i in range(5) for k in (0, 1))}


def test_top_coat_and_neck_by_hand():
    """A 20 µm top coat over the 13 µm lands: the joint is the segment plus a 7 µm neck.

    The underfill fills the gap up to the segment top (pad and segment in it, the lands above):
    f = (p² H − ΣV)/(p (p H − ΣA)) with H = t_pad + h; the joint f = V/(p (A_seg + 2 a neck));
    the top coat with one opening of radius a per site f = (1 − π a²/p²)/(1 − 2a/p).
    """
    d = _design(underfill=True, top_coat=0.020)
    a, t_pad, neck = 0.125, 0.018, 0.007
    volume = math.pi * 0.3**3 / 6
    h, area = _joint_by_hand(volume - math.pi * a * a * neck, a)
    f = section_weights(d)
    assert f["bump_2"] == pytest.approx(volume / (P * (area + 2 * a * neck)), rel=1e-9)
    gap = t_pad + h
    solids_v = volume - math.pi * a * a * neck + math.pi * a * a * t_pad
    solids_a = area + 2 * a * t_pad
    assert f["underfill"] == pytest.approx((P * P * gap - solids_v) / (P * (P * gap - solids_a)),
                                           rel=1e-9)
    assert f["top_coat"] == pytest.approx((1 - math.pi * a * a / P**2) / (1 - 2 * a / P),
                                          rel=CLOSED_FORM)


def test_axis_bump():
    """The bump on the axis.

    In plane strain a half wall for the half cell: f as off the axis. Axisymmetric, the revolved
    section is one real ball standing for the disc of radius p/2, ρ π (p/2)² = π/4 of a site:
    f = π/4 for the joint, pad and lands alike.
    """
    ps, ax = section_weights(_design("plane_strain")), section_weights(_design("axisymmetric"))
    assert ps["bump_0"] == pytest.approx(ps["bump_1"], rel=CLOSED_FORM)
    for name in ("bump_0", "pad_0", "land_0_0", "land_0_1"):
        assert ax[name] == pytest.approx(math.pi / 4, rel=CLOSED_FORM)


def test_diagonal_step_and_seed_values():
    """Diagonal slice of the 8.7 x 5.7 mm seed die.

    The row steps (p, p), projected on the half-diagonal: Δs = p (8.7 + 5.7)/√(8.7² + 5.7²)
    = 0.6922 mm, and f_bump = V Δs/(p² A).
    """
    d = load_design(raw_design("seed000_underfill"))
    ds = P * (8.7 + 5.7) / math.hypot(8.7, 5.7)
    assert row_step(d) == pytest.approx(ds, rel=CLOSED_FORM)
    assert d.dnp[1] - d.dnp[0] == pytest.approx(ds, rel=1e-9)  # the section's own spacing
    volume = math.pi * 0.3**3 / 6
    _, area = _joint_by_hand(volume, 0.125)
    f = section_weights(d)
    assert f["bump_3"] == pytest.approx(volume * ds / (P * P * area), rel=1e-9)
    assert f["bump_3"] == pytest.approx(0.652, abs=5e-4)
    assert f["pad_3"] == pytest.approx(math.pi * 0.125 * ds / (2 * P * P), rel=CLOSED_FORM)
    assert f["underfill"] == pytest.approx(1.263, abs=5e-4)


def test_weights_need_a_2d_array_design():
    raw = raw_design("seed000_bare_3d")
    with pytest.raises(DesignError, match=r"section\.weighting"):
        row_step(load_design(raw))
    raw = raw_design("seed000_bare")
    for key in ("array", "depopulate_rows"):
        raw["bumps"].pop(key)
    raw["bumps"]["positions"] = [1.0, 1.5]
    with pytest.raises(DesignError, match=r"bumps\.array"):
        section_weights(load_design(raw))
