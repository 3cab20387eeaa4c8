"""Design validation: bad input names its key; derived joint geometry against closed forms."""

from __future__ import annotations

import math

import pytest

from wlcsp.cli import main
from wlcsp.design import joint_shape, load_design
from wlcsp.errors import DesignError

from conftest import STUDIES, raw_design

REL = 1e-12
"""Relative tolerance of closed-form identities evaluated in floating point."""


def _set(path: str, value):
    def mutate(raw: dict) -> None:
        *parents, last = path.split(".")
        node = raw
        for p in parents:
            node = node[int(p)] if p.isdigit() else node.setdefault(p, {})
        node[last] = value
    return mutate


def _delete(path: str):
    def mutate(raw: dict) -> None:
        *parents, last = path.split(".")
        node = raw
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        del node[last]
    return mutate


BAD = [
    ("die.thickness", _set("die.thickness", -0.7)),
    ("die.thickness", _set("die.thickness", 0.0)),
    ("die.size", _set("die.size", [8.7])),
    ("die.size", _set("die.size", [8.7, -1.0])),
    ("die.material", _set("die.material", "unobtainium")),
    ("die.slice", _set("die.slice", "sideways")),
    ("die.thicknes", _set("die.thicknes", 0.7)),
    ("model", _set("model", "4d")),
    ("cell", _set("cell", "quarter")),
    ("name", _delete("name")),
    ("name", _set("name", 42)),
    ("layers[1].thickness", _set("layers.1.thickness", "75um")),
    ("layers[0].thickness", _set("layers.0.thickness", 0.0002)),
    ("layers[1].material", _set("layers.1.material", "rubber")),
    ("layers[1].inner_gap", _set("layers.1.inner_gap", 6.0)),
    ("layers[1].name", _set("layers.1.name", "polyimide")),
    ("layers[1].name", _set("layers.1.name", "bump_3")),
    ("bumps.ball_diameter", _set("bumps.ball_diameter", 0.55)),
    ("bumps.pad_diameter", _set("bumps.pad_diameter", 0.6)),
    ("rerouting.land_diameter", _set("rerouting.land_diameter", 0.5)),
    ("bumps.pitch", _set("bumps.pitch", 0.31)),
    ("bumps.pitch", _set("bumps.pitch", -0.5)),
    ("bumps.first", _set("bumps.first", 1.2)),
    ("bumps.array", _set("bumps.array", [10, 26])),
    ("bumps.array", _set("bumps.array", [10.5, 16])),
    ("bumps.array", lambda r: r["bumps"].update(positions=[[0.0, 0.0]])),
    ("bumps.array", lambda r: r["bumps"].pop("array")),
    ("bumps.array", _set("bumps.depopulate_rows", [])),
    ("bumps.depopulate_rows[0]", _set("bumps.depopulate_rows", [10])),
    ("bumps.depopulate[0]", _set("bumps.depopulate", [[0, 16]])),
    ("bumps.depopulate", _set("bumps.depopulate_columns", list(range(16)))),
    ("bumps.positions[1]", lambda r: (r["bumps"].pop("array"), r["bumps"].pop("depopulate_rows"),
                                       r["bumps"].update(positions=[2.3, 2.4]))),
    ("bumps.positions[1]", lambda r: (r["bumps"].pop("array"), r["bumps"].pop("depopulate_rows"),
                                       r["bumps"].update(positions=[1.2, 5.1]))),
    ("bumps.positions[1]", lambda r: (r["bumps"].pop("array"), r["bumps"].pop("depopulate_rows"),
                                       r["bumps"].update(positions=[[2.0, 2.0], [2.1, 2.0]]))),
    ("bumps.positions[0]", lambda r: (r["bumps"].pop("array"), r["bumps"].pop("depopulate_rows"),
                                       r["bumps"].update(positions=[[2.0, float("nan")]]))),
    ("bumps.perimeter", lambda r: (r["bumps"].pop("array"), r["bumps"].pop("depopulate_rows"),
                                    r["bumps"].update(positions=[[2.0, 2.0]], perimeter=2))),
    ("bumps.material", _set("bumps.material", "copper")),
    ("bumps.pich", _set("bumps.pich", 0.5)),
    ("rerouting.thicknesses", _set("rerouting.thicknesses", [0.01])),
    ("rerouting.thicknesses[1]", _set("rerouting.thicknesses", [0.01, 0.0004])),
    ("rerouting.materials[0]", _set("rerouting.materials", ["kopper", "nickel"])),
    ("substrate.thickness", _delete("substrate.thickness")),
    ("substrate.overhang", _set("substrate.overhang", -0.1)),
    ("loading.stress_free", _set("loading.stress_free", 900.0)),
    ("loading.cycles", _set("loading.cycles", 0)),
    ("loading.solder", _set("loading.solder", "magic")),
    ("mesh.order", _set("mesh.order", 3)),
    ("mesh.bump_size", _set("mesh.bump_size", 0.2)),
    ("materials.soft.nu", _set("materials.soft", {"E": 10.0, "nu": 0.5, "cte_ppm": 50.0})),
    ("materials.soft.E", _set("materials.soft", {"E": -10.0, "nu": 0.3, "cte_ppm": 50.0})),
    ("top_coat.thickness", _set("top_coat", {"material": "polyimide", "thickness": 0.005})),
    ("underfill.fillet", _set("underfill", {"fillet": 0.9})),
    ("colour", _set("colour", "blue")),
]


@pytest.mark.parametrize(("key", "mutate"), BAD, ids=[f"{k}-{i}" for i, (k, _) in
                                                       enumerate(BAD)])
def test_bad_design_names_its_key(seed_raw, key, mutate):
    mutate(seed_raw)
    with pytest.raises(DesignError) as err:
        load_design(seed_raw)
    assert err.value.key == key
    assert str(err.value).startswith(f"{key} = ")


def test_at_least_twenty_distinct_bad_designs():
    assert len({k for k, _ in BAD}) >= 20


def test_cli_bad_design_exits_2_with_one_line(tmp_path, capsys):
    raw = (STUDIES / "seed000_elastomer.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(raw.replace("pitch = 0.5", "pitch = 0.2").replace("[10, 16]", "[20, 30]"))
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "bumps.ball_diameter" in err
    assert "Traceback" not in err


def test_cli_missing_file_and_bad_toml(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.toml")]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed")
    assert main(["check", str(bad)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert all("design" in line for line in lines)


def test_joint_height_closed_form():
    """Spherical segment V = π h (3 a1² + 3 a2² + h²)/6 (CRC tables): a root of the cubic."""
    j = joint_shape(math.pi * 0.3**3 / 6, 0.25, 0.25)
    a = 0.125
    v = math.pi * j.height * (6 * a * a + j.height**2) / 6
    assert v == pytest.approx(math.pi * 0.3**3 / 6, rel=REL)
    # equal caps: the centre is at mid-height and R² = a² + (h/2)²
    assert j.center == pytest.approx(j.height / 2, rel=REL)
    assert j.radius == pytest.approx(math.hypot(a, j.height / 2), rel=REL)


def test_joint_of_a_free_ball_is_the_ball():
    """Caps of vanishing size leave the whole sphere: h → d_ball, R → d_ball/2."""
    j = joint_shape(math.pi * 0.3**3 / 6, 1e-6, 1e-6)
    assert j.height == pytest.approx(0.3, rel=1e-6)
    assert j.radius == pytest.approx(0.15, rel=1e-6)


def test_unequal_caps_sphere_through_both_rims():
    j = joint_shape(0.01, 0.30, 0.20)
    assert j.radius**2 == pytest.approx(0.15**2 + j.center**2, rel=REL)
    assert j.radius**2 == pytest.approx(0.10**2 + (j.height - j.center) ** 2, rel=REL)
    assert j.segment_volume() == pytest.approx(0.01, rel=REL)


def test_slice_bumps_are_the_diagonal_row_through_the_corner_bump():
    """The seed's 2D slice holds the diagonal row of its array.

    The 10 x 16 array at 0.5 mm, rows 4 and 5 left out: the diagonal row from the corner
    site (9, 15) at (3.75, 2.25) steps (-0.5, -0.5) to (2.25, 0.75); (1.75, 0.25) is
    depopulated and (1.25, -0.25) leaves the quadrant. Coordinates along the die diagonal
    (8.7, 5.7)/|.|: (8.7 x + 5.7 y)/10.4010.
    """
    d = load_design(raw_design())
    half_diag = math.hypot(8.7, 5.7) / 2
    assert d.die.half_length == pytest.approx(half_diag, rel=REL)
    n = math.hypot(8.7, 5.7)
    expected = [(8.7 * x + 5.7 * y) / n for x, y in ((2.25, 0.75), (2.75, 1.25), (3.25, 1.75),
                                                     (3.75, 2.25))]
    assert list(d.dnp) == pytest.approx(expected, rel=REL)
    assert len(d.bumps.centers) == 16 * 8
    # the slice coordinate of the corner bump is within 0.2 % of its DNP
    assert d.dnp[-1] == pytest.approx(math.hypot(3.75, 2.25), rel=2e-3)


def test_standoff_adds_pad_joint_and_land():
    d = load_design(raw_design())
    assert d.standoff == pytest.approx(0.018 + d.joint.height + 0.013, rel=REL)


def test_custom_material_in_design(seed_raw):
    seed_raw["materials"] = {"soft_pai": {"E": 50.0, "nu": 0.45, "cte_ppm": 60.0,
                                          "source": "test"}}
    seed_raw["layers"][1]["material"] = "soft_pai"
    d = load_design(seed_raw)
    assert d.material("soft_pai").E(25.0) == 50.0
    assert d.material("soft_pai").cte(25.0) == pytest.approx(60e-6, rel=REL)


@pytest.mark.parametrize("path", sorted(STUDIES.glob("seed*.toml")), ids=lambda p: p.stem)
def test_bundled_designs_are_valid(path):
    d = load_design(path)
    assert d.joint.segment_volume() + math.pi * d.joint.top_radius**2 * d.joint.neck == \
        pytest.approx(d.bumps.ball_volume, rel=REL)


@pytest.mark.parametrize(("role_key", "table", "match"), [
    # a 22 "GPa" FR-4 typed as 22 MPa, issue 12 item 2
    ("substrate", {"E": 22.0, "nu": 0.28, "cte_ppm": 16.0},
     r"substrate.material = 'mine': E = 22 MPa is outside 1000-450000 MPa, the range of a "
     r"board .*moduli are in MPa \(22 GPa is 22000\)"),
    ("underfill", {"E": 8.0, "nu": 0.3, "cte_ppm": 30.0}, r"underfill.material = 'mine': E = 8"),
    ("die", {"E": 130.0, "nu": 0.28, "cte_ppm": 2.6}, r"die.material = 'mine': E = 130 MPa"),
    ("die", {"E": 130e9, "nu": 0.28, "cte_ppm": 2.6}, r"die.material = 'mine': E = 1.3e\+11"),
    # CTE written in 1/K where ppm/K is meant
    ("die", {"E": 130e3, "nu": 0.28, "cte_ppm": 2.6e-6},
     r"materials.mine.cte_ppm = 2.6e-06: the CTE is in ppm/K: this looks like 1/K"),
    # NaN or inf inside a temperature table
    ("substrate", {"E": [[-65.0, 23e3], [25.0, math.nan]], "nu": 0.28, "cte_ppm": 14.0},
     r"materials.mine.E = .*every temperature and value must be finite"),
    ("substrate", {"E": 23e3, "nu": 0.28, "cte_ppm": [[-65.0, 14.0], [math.inf, 7.0]]},
     r"materials.mine.cte_ppm = .*every temperature and value must be finite"),
])
def test_material_values_outside_their_role_or_unit_are_refused(role_key, table, match):
    raw = raw_design("seed000_underfill")
    raw["materials"] = {"mine": {**table, "source": "test"}}
    raw[role_key]["material"] = "mine"
    with pytest.raises(DesignError, match=match):
        load_design(raw)


def test_materials_command_shows_the_units_the_tables_take(capsys):
    """``wlcsp materials`` prints E in MPa, the unit of ``[materials.X]`` (issue 12, item 2)."""
    from wlcsp.materials import LIBRARY

    assert main(["materials"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "E (MPa)" in lines[0]
    row = next(line for line in lines if line.startswith("fr4 "))
    assert float(row.split()[1]) == pytest.approx(LIBRARY["fr4"].E(25.0), rel=1e-5)
