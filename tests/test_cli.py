"""The command line's conventions (issue 12, item 5) and progress on stderr (item 1).

Every assertion reads the streams or the files the command wrote: progress lines present when
progress shows (a terminal, or ``WLCSP_PROGRESS=1``) and absent with ``--quiet``; ``--version``
equal to the installed metadata; the one-line message for a study file given to ``check`` and a
design file given to ``sweep``; ``--out`` defaulting to ``runs/<stem>``; ``report.md`` with its
sections.
"""

from __future__ import annotations

import io
import json
import pathlib
from importlib.metadata import version

import pytest

from wlcsp import progress
from wlcsp.cli import main
from wlcsp.errors import DesignError
from wlcsp.units import numeric_fields

from conftest import STUDIES


def _small_toml(tmp_path, name: str = "small") -> str:
    """The bare seed design on a coarse mesh with two bumps: about 3 s per elastic run."""
    text = (STUDIES / "seed000_bare.toml").read_text(encoding="utf-8")
    for old, new in (("size = 0.05", "size = 0.15"), ("bump_size = 0.008", "bump_size = 0.025"),
                     ("thicknesses = [0.010, 0.003]", "thicknesses = [0.010, 0.006]"),
                     ("array = [10, 16]\ndepopulate_rows = [4, 5]", "positions = [3.7, 4.7]")):
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(autouse=True)
def _automatic_progress():
    """Each test starts from the automatic rule (the CLI's ``--quiet`` sets it for the process)."""
    progress.configure(None)
    yield
    progress.configure(None)


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"wlcsp {version('wlcsp')}"


def test_progress_on_a_terminal_and_none_with_quiet(tmp_path, capsys, monkeypatch):
    """``WLCSP_PROGRESS=1`` stands for a terminal; the phase lines go to stderr, never stdout."""
    design = _small_toml(tmp_path)
    monkeypatch.setenv(progress.ENV, "1")
    assert main(["mesh", design, "-o", str(tmp_path / "a.msh")]) == 0
    shown = capsys.readouterr()
    assert f"{progress.PREFIX}mesh ..." in shown.err
    assert progress.PREFIX not in shown.out
    assert main(["mesh", design, "-o", str(tmp_path / "b.msh"), "--quiet"]) == 0
    quiet = capsys.readouterr()
    assert progress.PREFIX not in quiet.err
    assert quiet.out.splitlines()[0].split(":")[0] == str(tmp_path / "b.msh")


def test_progress_follows_the_stream_and_the_environment(monkeypatch):
    """Convention of tqdm: a bar for a terminal, none for a pipe or a log; the variable decides."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv(progress.ENV, raising=False)
    assert progress.enabled(Terminal()) is True
    assert progress.enabled(io.StringIO()) is False
    monkeypatch.setenv(progress.ENV, "0")
    assert progress.enabled(Terminal()) is False
    monkeypatch.setenv(progress.ENV, "yes")
    with pytest.raises(DesignError, match=f"{progress.ENV} = 'yes': 1 .* or 0"):
        progress.enabled(Terminal())
    monkeypatch.delenv(progress.ENV)
    stream = Terminal()
    with progress.bar(3, "samples", unit="sample", file=stream) as bar:
        for _ in range(3):
            bar.update()
    assert "samples" in stream.getvalue()
    assert "3/3" in stream.getvalue()
    progress.configure(False)
    stream = Terminal()
    with progress.bar(3, "samples", file=stream) as bar:
        bar.update(3)
    assert stream.getvalue() == ""


def test_study_file_given_to_check_and_design_file_to_sweep(tmp_path, capsys):
    study = STUDIES / "elastomer_sweep.toml"
    assert main(["check", str(study)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "this is a study file, not a design file: give it to wlcsp sweep" in err
    assert main(["sweep", str(STUDIES / "seed000_bare.toml"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "this is a design file, not a study file: give it to wlcsp check, run or compare" \
        in err


def test_out_defaults_to_runs_and_the_stem_and_a_report_is_written(tmp_path, capsys, monkeypatch):
    design = _small_toml(tmp_path, "tiny_bare")
    monkeypatch.chdir(tmp_path)
    assert main(["run", design, "--no-figures", "--quiet"]) == 0
    out = tmp_path / "runs" / "tiny_bare"
    assert (out / "summary.json").is_file()
    assert f"results in {out.relative_to(tmp_path)}/" in capsys.readouterr().out
    report = (out / "report.md").read_text(encoding="utf-8")
    sections = [line for line in report.splitlines() if line.startswith("## ")]
    for name in ("## Design", "## Result", "## Bumps", "## Regions", "## Warpage",
                 "## Caveats", "## Model and solver", "## Files"):
        assert name in sections, (name, sections)
    assert "`bumps.positions`" in report  # the design as given, key by key
    assert "No life: elastic screening" in report  # no elastic-FE creep-fatigue life
    _assert_every_number_has_its_unit(out / "summary.json")


def _assert_every_number_has_its_unit(path) -> None:
    """The ``units`` block names the unit of every numeric field of ``summary.json``."""
    summary = json.loads(path.read_text(encoding="utf-8"))
    fields = numeric_fields({k: v for k, v in summary.items() if k != "units"})
    assert len(fields) > 20
    assert set(fields) == set(summary["units"]), set(fields) ^ set(summary["units"])
    assert summary["units"]["bumps[].mean_shear"] == "MPa"
    assert summary["units"]["bumps[].dnp"] == "mm"
    assert summary["units"]["warpage"] == "mm"


def test_cycle_summary_carries_its_units(tmp_path):
    """The viscoplastic summary too: energies, strains, lives, times, temperatures."""
    text = pathlib.Path(_small_toml(tmp_path, "creep")).read_text(encoding="utf-8")
    text = text.replace("[loading]", '[loading]\nsolder = "anand"').replace(
        "cycles = 3", "cycles = 1").replace("positions = [3.7, 4.7]", "positions = [4.7]")
    design = tmp_path / "creep.toml"
    design.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(design), "--out", str(out), "--no-figures", "--quiet"]) == 0
    _assert_every_number_has_its_unit(out / "summary.json")
    units = json.loads((out / "summary.json").read_text(encoding="utf-8"))["units"]
    assert units["bumps[].delta_energy_density"] == "MPa"
    assert units["primary.life"] == "cycles"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"Primary life: **{summary['primary']['life']:.4g} cycles**" in report
    _assert_the_series_reads_in_paraview(out, summary)


def _assert_the_series_reads_in_paraview(out, summary) -> None:
    """``solution.pvd`` lists one VTU per knot of the last cycle, in time order.

    The last one is the final state of ``solution.vtu`` (same displacement to round-off).
    """
    import xml.etree.ElementTree as ET

    import meshio
    import numpy as np

    sets = ET.parse(out / "solution.pvd").getroot().find("Collection").findall("DataSet")
    times = [float(d.get("timestep")) for d in sets]
    start, end = summary["hysteresis"]["cycle_bounds"][-2:]
    assert times[0] == pytest.approx(start)
    assert times[-1] == pytest.approx(end)
    assert times == sorted(times)
    assert len(times) >= 5  # start, and the ends of two ramps and two dwells
    last = meshio.read(out / sets[-1].get("file"))
    final = meshio.read(out / "solution.vtu")
    assert np.allclose(last.point_data["displacement"], final.point_data["displacement"],
                       rtol=0, atol=1e-12)
    assert "accumulated_inelastic_strain" in last.cell_data


@pytest.mark.parametrize(("entry", "message"), [
    ("ball_diamter = 0.02", "scatter.inputs.ball_diamter = 0.02: unknown input; did you mean "
                            "ball_diameter?"),
    ("ball_diameter = -0.02", "scatter.inputs.ball_diameter = -0.02: a relative standard "
                              "deviation in [0, 0.25]"),
])
def test_check_validates_the_scatter_table(tmp_path, capsys, entry, message):
    """A typo or a negative deviation in [scatter] fails at ``wlcsp check``.

    Not only at ``compare --monte-carlo``, which reads the table.
    """
    path = tmp_path / "s.toml"
    text = (STUDIES / "seed000_bare.toml").read_text(encoding="utf-8")
    path.write_text(f"{text}\n[scatter]\nseed = 1\n[scatter.inputs]\n{entry}\n", encoding="utf-8")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"wlcsp: error: {message}")


def test_solder_option_overrides_the_design(tmp_path, capsys):
    """``--solder anand`` runs the cycle analysis on an elastic design; a bad name exits 2."""
    text = pathlib.Path(_small_toml(tmp_path, "one")).read_text(encoding="utf-8")
    design = tmp_path / "one.toml"
    design.write_text(text.replace("positions = [3.7, 4.7]", "positions = [4.7]").replace(
        "cycles = 3", "cycles = 1"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(design), "--out", str(out), "--no-figures", "--quiet",
                 "--solder", "anand"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["primary"]["life"] > 0
    assert "anand" in summary["primary"]["basis"]
    assert "`loading.solder` | \"anand\"" in (out / "report.md").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(design), "--solder", "visco"]) == 2
    assert "invalid choice: 'visco'" in capsys.readouterr().err


def test_cycles_and_refine_options_override_the_design(tmp_path, capsys):
    """``--cycles`` sets loading.cycles, ``--refine F`` the design's mesh F times finer."""
    import argparse

    from wlcsp.cli import _design_input
    from wlcsp.design import load_design

    path = _small_toml(tmp_path, "one")
    given = load_design(path)
    args = argparse.Namespace(design=path, solder="anand", cycles=2, refine=0.5)
    changed = load_design(_design_input(args))
    assert changed.loading.cycles == 2
    assert changed.loading.solder == "anand"
    assert changed.mesh.size == pytest.approx(2.0 * given.mesh.size, rel=1e-12)
    assert changed.mesh.bump_size == pytest.approx(2.0 * given.mesh.bump_size, rel=1e-12)
    assert changed.bumps == given.bumps
    for bad in ("0", "nan", "50"):
        assert main(["run", path, "--refine", bad, "--quiet"]) == 2
        assert "--refine" in capsys.readouterr().err
    assert main(["run", path, "--cycles", "0", "--solder", "anand", "--quiet"]) == 2
    assert "loading.cycles" in capsys.readouterr().err
