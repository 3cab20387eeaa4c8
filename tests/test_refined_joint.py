"""The refined joint of a 3D run (``[submodel]``, ``wlcsp run --submodel``): wlcsp.refined_joint.

On a small quarter cell (1.5 mm die, 3 x 3 joints, coarse mesh) and one short -40/125 °C cycle:
the local model at the global density reproduces the global joint through the user's path
(the issue-10 (a) figure, here with the whole-field record of a critical joint), a joint named
by its index (its own cut faces recorded) gives the same numbers, the elastic screening's
refined joint likewise, and bad tables are refused with the key named.
"""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path

import pytest
import tomllib

from wlcsp.analysis import analyze
from wlcsp.cli import main
from wlcsp.design import load_design
from wlcsp.errors import DesignError
from wlcsp.refined_joint import DEFAULT_REFINE, parse_submodel
from wlcsp.submesh import RIM_SIZE

STUDIES = Path(__file__).resolve().parents[1] / "studies"


CONSISTENCY_REL = 0.02
"""The local model at the global density against the global joint: 2 % (issue 10 (a)); the
local mesh is meshed anew, so this is a discretization difference (tests/test_submodel.py
measures ≤ 0.3 % elastic, ≤ 0.2 % viscoplastic on the same cell)."""
STRAIN_REL = 0.05
"""The same for the joint's volume-average inelastic strain figures (Δε_in, Δp): measured
+2.3 % and +2.1 % against +0.25 % for the energy. The inelastic strain rate of Anand's law
grows as sinh(ξσ/s)^(1/m), m = 0.25 (sac105 in data/materials.toml: 1/m = 4) with
the stress, so the local mesh's small stress difference is multiplied in the strain, and
damped in the work σ·ε_in that the life models use; 5 % is the bound on the strains."""
CUT_REL = 0.03
"""Viscoplastic (c): moving the cut faces out from half a pitch (0.25 mm) to 0.32 mm, the
widest block that leaves the neighbouring joints out (wlcsp.submesh), changes the refined
joint's Darveaux energy by less than 3 % (issue 10 (c)). Measured +0.9 %. Cutting through the
creeping neighbours instead (0.45 mm, 0.05 mm from their axes) gives +3.3 %: there the cut
faces take the coarse cell's displacement inside creeping solder, whose field the cell resolves
worst; elastic, the same move is within 3 % (tests/test_submodel.py). Keep the cut faces in the
elastic surroundings of the joint."""
SAME_REL = 1e-9
"""A named joint against the same joint found critical: the same local mesh and the same global
displacement history recorded two ways (the joint's cut-face rows, or the whole field then
those rows), so only the order of floating-point sums differs."""
CONVERGED_REL = 0.03
"""The refined joint at the defaults against a 1.25 times finer local mesh of the same rim
family: the issue's 3 % mesh-convergence figure (issue 10 (b))."""


SMALL = """\
name = "small 3x3 quarter cell"
model = "3d"
cell = "quarter"

[die]
size = [1.5, 1.5]
thickness = 0.725
material = "silicon"

[[layers]]
name = "polyimide"
material = "polyimide"
thickness = 0.015

[rerouting]
materials = ["copper", "nickel"]
thicknesses = [0.010, 0.003]
land_diameter = 0.25

[bumps]
material = "sac105"
pitch = 0.5
ball_diameter = 0.30
pad_diameter = 0.25
array = [3, 3]

[substrate]
material = "bt"
thickness = 0.40
overhang = 0.25

[loading]
stress_free = 125.0
profile = { min = -40, max = 125, ramp = 600, dwell = 300 }
cycles = 1
solder = "anand"

[mesh]
order = 2
size = 0.08
bump_size = 0.012
"""
"""A 1.5 mm die with 3 x 3 joints of the seed's stack, its quarter cell at a coarse mesh, one
short -40/125 °C cycle (10 min ramps, 5 min dwells), Anand solder."""


def _raw(**submodel) -> dict:
    return {**tomllib.loads(SMALL), "submodel": submodel}


@cache
def _out(**submodel) -> Path:
    """The output directory of :func:`_run` (figures included)."""
    return Path(tempfile.mkdtemp(prefix="refined_joint_"))


@cache
def _run(**submodel) -> dict:
    return analyze(_raw(**submodel), _out(**submodel))


def test_refined_joint_at_global_density_reproduces_the_global_joint():
    """Viscoplastic, ``joint = "critical"``, refine 1: ΔW and the life within 2 %.

    The inelastic strain figures within :data:`STRAIN_REL`.
    """
    r = _run(refine=1.0, rim_size=0.0)
    sub = r["submodel"]
    assert sub["bump"] == r["critical_bump"]
    assert sub["selected"].startswith("critical")
    for key, change in sub["change"].items():
        print(f"{key}: refined {sub[key]:.5g}, global {sub['global'][key]:.5g}, {change:+.2%}")
        tol = CONSISTENCY_REL if key == "delta_energy_density" else STRAIN_REL
        assert abs(change) <= tol, key
    assert sub["energy_interface"] == r["bumps"][r["critical_bump"]]["energy_interface"]
    ratio = sub["primary"]["life"] / r["primary"]["life"]
    assert abs(ratio - 1.0) <= 2 * CONSISTENCY_REL  # life ∝ ΔW^(1/b), Syed b ≈ -1


def test_cut_faces_far_enough_viscoplastic():
    """Viscoplastic (c): the block's cut faces out to 0.32 mm move ΔW by less than 3 %."""
    near = _run(refine=1.0, rim_size=0.0)["submodel"]
    far = _run(refine=1.0, rim_size=0.0, half_width=0.32)["submodel"]
    assert far["half_width"] == 0.32
    assert far["bump"] == near["bump"]
    change = far["delta_energy_density"] / near["delta_energy_density"] - 1.0
    print(f"(c) viscoplastic: ΔW {near['delta_energy_density']:.5f} -> "
          f"{far['delta_energy_density']:.5f} MPa ({change:+.2%})")
    assert abs(change) <= CUT_REL


def test_3d_cycle_run_writes_its_files():
    """A 3D viscoplastic run with a refined joint writes the solid's figures and submodel.vtu.

    The figures of a solid (a cut through the critical joint, the warpage map), the hysteresis
    loop, the local model's state, and report.md linking them: each a non-empty file.
    """
    _run(refine=1.0, rim_size=0.0)
    out = _out(refine=1.0, rim_size=0.0)
    for name in ("critical_joint.png", "warpage.png", "bumps.png", "hysteresis.png",
                 "submodel.vtu", "solution.vtu", "summary.json"):
        assert (out / name).stat().st_size > 1000, name
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["submodel"]["bump"] == summary["critical_bump"]


def test_named_joint_gives_the_same_refined_joint():
    """``joint = <index>`` records only its cut faces; the numbers equal the critical path's."""
    crit = _run(refine=1.0, rim_size=0.0)
    named = _run(refine=1.0, rim_size=0.0, joint=crit["critical_bump"])["submodel"]
    assert named["selected"] == "submodel.joint"
    for key in ("delta_energy_density", "delta_inelastic_strain",
                "delta_accumulated_inelastic_strain"):
        want = crit["submodel"][key]
        assert abs(named[key] - want) <= SAME_REL * abs(want), key


def test_cli_submodel_flag_elastic(tmp_path, capsys):
    """``wlcsp run --submodel`` on an elastic screening: the defaults, converged within 3 %.

    The default local mesh (refine 2, rims at :data:`wlcsp.submesh.RIM_SIZE`) against one
    1.25 times finer (refine 2.5, same rim family): the refined joint's shear-strain range and
    Darveaux-layer elastic energy range within :data:`CONVERGED_REL` (measured 0.6 % and 0.5 %);
    summary.json, submodel.vtu and report.md carry it.
    """
    path = tmp_path / "small.toml"
    path.write_text(SMALL.replace('solder = "anand"', 'solder = "elastic"'), encoding="utf-8")
    out = tmp_path / "run"
    code = main(["run", str(path), "--submodel", "--no-figures", "-q", "--out", str(out)])
    assert code == 0
    assert "refined joint" in capsys.readouterr().out
    sub = json.loads((out / "summary.json").read_text(encoding="utf-8"))["submodel"]
    assert sub["refine"] == DEFAULT_REFINE
    assert sub["rim_size"] == RIM_SIZE
    raw = _raw(refine=2.5)
    raw["loading"]["solder"] = "elastic"
    finer = analyze(raw)["submodel"]
    for key in ("delta_shear_strain", "delta_elastic_energy_density"):
        change = sub[key] / finer[key] - 1.0
        print(f"{key}: refine 2 {sub[key]:.5g}, refine 2.5 {finer[key]:.5g} ({change:+.2%})")
        assert abs(change) <= CONVERGED_REL, key
    assert (out / "submodel.vtu").stat().st_size > 0
    assert "## Refined joint (submodel)" in (out / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("table", "key"), [
    ({"joint": 9}, "submodel.joint"),
    ({"joint": "worst"}, "submodel.joint"),
    ({"joint": True}, "submodel.joint"),
    ({"refine": 0.0}, "submodel.refine"),
    ({"refin": 2.0}, "submodel.refin"),
    ({"half_width": 0.1}, "submodel.half_width"),
    ({"rim_size": 0.03}, "submodel.rim_size"),
])
def test_bad_table_names_the_key(table, key):
    """A bad ``[submodel]`` value is refused before any solve, naming its key."""
    design = load_design(_raw(**table))
    with pytest.raises(DesignError) as err:
        parse_submodel(design)
    assert err.value.key == key


def test_2d_design_with_submodel_is_refused(tmp_path, capsys):
    """A 2D design with ``[submodel]``: exit 2 from ``wlcsp check``, naming the table."""
    text = (STUDIES / "seed000_bare.toml").read_text(encoding="utf-8") + "\n[submodel]\n"
    with pytest.raises(DesignError) as err:
        load_design(tomllib.loads(text))
    assert err.value.key == "submodel"
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["check", str(path)]) == 2
    assert "submodel" in capsys.readouterr().err


def test_compare_carries_the_refined_joint(tmp_path):
    """``wlcsp compare`` with ``[submodel]``: every variant's refined joint in compare.csv.

    Elastic screening of the small cell bare and with underfill, the joint at the cell's own
    density (refine 1, rims off): each variant's refined joint is its critical one and its
    Darveaux-layer energy lies within :data:`CONSISTENCY_REL` of the cell's.
    """
    import csv

    path = tmp_path / "small.toml"
    path.write_text(SMALL.replace('solder = "anand"', 'solder = "elastic"')
                    + "\n[underfill]\nmaterial = \"underfill\"\n\n[submodel]\nrefine = 1.0\n"
                    "rim_size = 0.0\n", encoding="utf-8")
    out = tmp_path / "cmp"
    assert main(["compare", str(path), "--no-figures", "-q", "--out", str(out)]) == 0
    with (out / "compare.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["variant"] for r in rows} == {"bare", "underfill"}
    for r in rows:
        assert r["refined_bump"] == r["critical_bump"]
        assert abs(float(r["refined_energy_change"])) <= CONSISTENCY_REL, r["variant"]
