"""Study files: key paths, case generation, hashing, validation errors, the geometry analysis.

Everything here runs without dask (``load_study`` needs only the core dependencies).
"""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from wlcsp.design import load_design
from wlcsp.errors import DesignError
from wlcsp.life import DNP_FACTOR
from wlcsp.materials import LIBRARY
from wlcsp.study import keys, load_study
from wlcsp.study.analyses import geometry
from wlcsp.study.spec import case_hash

from conftest import ROOT, STUDIES, raw_design

REL = 1e-12
"""Relative tolerance of closed-form identities evaluated in floating point."""
QUADRATURE_REL = 1e-9
"""Trapezoid rule on a 0.05 K grid holding every CTE table knot: exact up to round-off."""
SEED = str(STUDIES / "seed000_elastomer.toml")


def _study(*axes: dict, **top) -> dict:
    return {"base": SEED, "sweep": {"axes": list(axes), **top.pop("sweep", {})}, **top}


def test_key_paths_parse_and_format():
    for text in ("bumps.pitch", "layers[1].thickness", "bumps[-1].mean_shear", "die.size[0]",
                 "regions.bump_3.max_von_mises", "bumps[critical_bump].life.engelmaier"):
        assert keys.format_path(keys.parse(text)) == text
    assert keys.parse("layers.elastomer.thickness") == ("layers", "elastomer", "thickness")
    result = {"critical_bump": 1, "bumps": [{"dnp": 1.2}, {"dnp": 1.7}]}
    assert keys.resolve(result, keys.parse("bumps[critical_bump].dnp")) == (1.7, ("bumps", 1,
                                                                                "dnp"))
    with pytest.raises(keys.KeyPathError, match="not an integer"):
        keys.resolve({"bumps": []}, keys.parse("bumps[critical_bump].dnp"))
    for bad in ("", "bumps..pitch", "bumps.3d", "bumps[1.5]", "bumps.pitch]", "bumps[-x]"):
        with pytest.raises(keys.KeyPathError):
            keys.parse(bad)


def test_layer_by_name_and_by_index_are_the_same_case():
    by_name = load_study(_study({"key": "layers.elastomer.thickness", "values": [0.05, 0.1]}))
    by_index = load_study(_study({"key": "layers[1].thickness", "values": [0.05, 0.1]}))
    assert [c.hash for c in by_name.cases] == [c.hash for c in by_index.cases]
    assert [c.design["layers"][1]["thickness"] for c in by_name.cases] == [0.05, 0.1]
    assert by_name.axes[0].target == "layers[1].thickness"


def test_grid_and_zip_order():
    a = {"key": "bumps.ball_diameter", "values": [0.25, 0.28, 0.3]}
    b = {"key": "loading.profile", "values": ["jedec_g", "jedec_b", "ipc_tc3"]}
    grid = load_study(_study(a, b))
    assert len(grid.cases) == 9
    assert [tuple(c.params.values()) for c in grid.cases[:4]] == [
        (0.25, "jedec_g"), (0.25, "jedec_b"), (0.25, "ipc_tc3"), (0.28, "jedec_g")]
    zipped = load_study(_study(a, b, sweep={"mode": "zip"}))
    assert [tuple(c.params.values()) for c in zipped.cases] == list(
        zip(a["values"], b["values"], strict=True))
    assert len({c.hash for c in grid.cases}) == 9


def test_hash_is_stable_and_normalized():
    """Equal designs hash equal across key order, 1 vs 1.0 and processes; any change differs."""
    raw = raw_design()
    shuffled = dict(reversed(list(copy.deepcopy(raw).items())))
    shuffled["loading"]["cycles"] = 3.0
    assert case_hash("geometry", raw) == case_hash("geometry", shuffled)
    changed = copy.deepcopy(raw)
    changed["bumps"]["pitch"] = 0.5000000001
    assert case_hash("geometry", raw) != case_hash("geometry", changed)
    assert case_hash("geometry", raw) != case_hash("elastic", raw)
    script = ("import sys; sys.path.insert(0, 'tests'); from conftest import raw_design; "
              "from wlcsp.study.spec import case_hash; print(case_hash('geometry', raw_design()))")
    other = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                           text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert other.stdout.strip() == case_hash("geometry", raw)


def test_switches_and_zero_thickness_remove():
    """Switches and zero thickness remove tables and layers; values inside an off table are moot.

    ``layers.elastomer = false`` and an elastomer thickness of 0 both give the design without the
    layer; ``underfill = true`` adds the library underfill; a fillet with the underfill off gives
    the same design as plain off.
    """
    no_layer = raw_design()
    no_layer["layers"] = [layer for layer in no_layer["layers"] if layer["name"] != "elastomer"]
    off = load_study(_study({"key": "layers.elastomer", "values": [False, True]}))
    zero = load_study(_study({"key": "layers.elastomer.thickness", "values": [0, 0.075]}))
    assert off.cases[0].hash == zero.cases[0].hash == case_hash("geometry", no_layer)
    assert off.cases[1].hash == zero.cases[1].hash == case_hash("geometry", raw_design())
    uf = load_study(_study({"key": "underfill.fillet", "values": [0.1, 0.2]},
                           {"key": "underfill", "values": [False, True]}))
    assert [c.design.get("underfill") for c in uf.cases] == [None, {"fillet": 0.1}, None,
                                                             {"fillet": 0.2}]
    assert uf.cases[0].hash == uf.cases[2].hash
    assert load_design(uf.cases[1].design).underfill.material == "underfill"


def test_set_merges_nested_tables():
    st = load_study(_study({"key": "bumps.pitch", "values": [0.5, 0.55]},
                           set={"mesh": {"size": 0.1}, "layers.elastomer.inner_gap": 0.6}))
    design = st.cases[0].design
    assert design["mesh"] == {"order": 2, "size": 0.1, "bump_size": 0.008}
    assert design["layers"][1]["inner_gap"] == 0.6


def test_study_file_with_relative_base(tmp_path):
    (tmp_path / "designs").mkdir()
    (tmp_path / "designs" / "seed.toml").write_text((STUDIES / "seed000_elastomer.toml")
                                                   .read_text(encoding="utf-8"))
    (tmp_path / "s.toml").write_text(
        'base = "designs/seed.toml"\noutputs = ["joint_height"]\n'
        '[[sweep.axes]]\nkey = "bumps.ball_diameter"\nvalues = [0.25, 0.30]\n')
    st = load_study(tmp_path / "s.toml")
    assert st.name == "s"
    assert st.outputs == ("joint_height",)
    assert [c.design["bumps"]["ball_diameter"] for c in st.cases] == [0.25, 0.30]


BAD = [
    # (study, the key the message starts with, a phrase it contains)
    (_study({"key": "bumps.pich", "values": [0.5]}), "sweep.axes[0].key = 'bumps.pich'",
     "unknown key"),
    (_study({"key": "layers.elastomr.thickness", "values": [0.1]}), "sweep.axes[0].key",
     "no entry named 'elastomr'"),
    (_study({"key": "layers[3].thickness", "values": [0.1]}), "sweep.axes[0].key",
     "out of range"),
    (_study({"key": "underfil", "values": [True]}), "sweep.axes[0].key", "unknown key"),
    (_study({"key": "bumps.pitch", "values": [0.5]}, {"key": "bumps.ball_diameter",
                                                      "values": [0.3, 0.6]}),
     "sweep.axes[1].values[1] = 0.6", "balls overlap"),
    (_study({"key": "loading.profile", "values": ["jedec_g", "jedec_z"]}),
     "sweep.axes[0].values[1] = 'jedec_z'", "unknown profile"),
    (_study({"key": "bumps.pitch", "values": [0.5, 0.5]}), "sweep.axes[0].values[1]",
     "repeats"),
    (_study({"key": "bumps.pitch", "values": []}), "sweep.axes[0].values", "non-empty"),
    (_study({"key": "bumps.pitch", "values": [0.5]}, {"key": "bumps.pitch", "values": [0.6]}),
     "sweep.axes[1].key", "same design key"),
    (_study({"key": "underfill.fillet", "values": [0.1]}), "sweep case 0", "no underfill"),
    (_study({"key": "bumps.pitch", "values": [0.5, 0.6]}, {"key": "die.thickness",
                                                           "values": [0.7]},
            sweep={"mode": "zip"}), "sweep.axes[1].values", "equal lengths"),
    (_study({"key": "bumps.pitch", "values": [0.5]}, sweep={"mode": "spiral"}), "sweep.mode",
     "allowed"),
    (_study({"key": "bumps.pitch", "values": [0.5]}, outputs=["joint_hieght"]), "outputs[0]",
     "not a number"),
    (_study({"key": "bumps.pitch", "values": [0.5]}, set={"mesh.bump_siz": 0.01}),
     'set."mesh.bump_siz"', "unknown key"),
    (_study({"key": "bumps.pitch", "values": [0.5]}, analysis="fem"), "analysis = 'fem'",
     "allowed"),
    (_study({"key": "bumps.pitch", "values": [0.5]}, base="missing.toml"), "base",
     "no such design file"),
    ({"base": SEED, "sweep": {"axis": []}}, "sweep.axis", "unknown key"),
    ({"base": SEED}, "sweep", "missing"),
    ({"base": SEED, "sweep": {"axes": [{"key": "bumps.pitch", "values": [0.5]}]}, "outputs": []},
     "outputs", "non-empty"),
]


@pytest.mark.parametrize(("study", "key", "phrase"), BAD, ids=[b[1] for b in BAD])
def test_bad_study_gives_one_line_error(study, key, phrase):
    with pytest.raises(DesignError) as info:
        load_study(study)
    message = str(info.value)
    assert message.startswith(key), message
    assert phrase in message, message
    assert "\n" not in message


def test_bad_toml_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("base = \n")
    with pytest.raises(DesignError, match=r"^study = .*not valid TOML"):
        load_study(path)


def test_geometry_against_closed_forms():
    """Geometry analysis: joint, standoff and Engelmaier's DNP strain against closed forms.

    Joint height solves the spherical-segment volume V = πh(3a1² + 3a2² + h²)/6 = πd³/6
    (CRC Standard Mathematical Tables §4.6); standoff = pad + joint + land stack; Engelmaier's
    Δγ = F·L_D·Δα·ΔT/h (IPC-D-279, literature §3.1) with Δα·ΔT = ∫(α_BT − α_Si)dT evaluated
    here by the trapezoid rule over a step from 250 °C to 25 °C that crosses the BT glass
    transition (CTE 14 -> 7 ppm/K between 200 and 220 °C, data/materials.toml).
    """
    raw = raw_design()
    raw["loading"]["profile"] = {"from": 250.0, "to": 25.0}
    g = geometry(raw)
    a1, a2, d = 0.25 / 2, 0.25 / 2, 0.30
    h = g["joint_height"]
    assert math.pi * h * (3 * a1**2 + 3 * a2**2 + h**2) / 6 == pytest.approx(
        math.pi * d**3 / 6, rel=REL)
    assert g["standoff"] == pytest.approx(0.018 + h + 0.010 + 0.003, rel=REL)
    # the corner site (3.75, 2.25) mm projected on the die diagonal (8.7, 5.7)/|.|
    corner = (8.7 * 3.75 + 5.7 * 2.25) / math.hypot(8.7, 5.7)
    assert g["dnp_max"] == pytest.approx(corner, rel=REL)
    assert g["n_bumps"] == 4
    t = np.linspace(25.0, 250.0, 4501)
    mismatch = np.trapezoid(LIBRARY["bt"].alpha(t) - LIBRARY["silicon"].alpha(t), t)
    assert g["delta_T"] == 225.0
    assert g["dnp_shear_strain"] == pytest.approx(DNP_FACTOR * corner * mismatch / h,
                                                  rel=QUADRATURE_REL)
    assert g["clearance"] == pytest.approx(0.5 - g["joint_width"], rel=REL)


@pytest.mark.parametrize("path", sorted(STUDIES.glob("*_sweep.toml")), ids=lambda p: p.stem)
def test_bundled_studies_are_valid(path):
    study = load_study(path)
    assert len(study.cases) == math.prod(len(a.values) for a in study.axes)
    assert len({c.hash for c in study.cases}) == len(study.cases)
