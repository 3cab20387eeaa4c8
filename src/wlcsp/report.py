"""A self-contained ``report.md`` for ``wlcsp run`` and ``wlcsp compare`` (issue 12, item 4).

What a colleague is handed: the design as given, the primary life and its basis, the tables, the
figures (relative links to the PNGs beside the report, so the folder can be zipped or opened in
any Markdown viewer) and the caveats. Everything is read from the result dicts that
``summary.json`` and ``compare.csv`` hold (:func:`wlcsp.analysis.analyze`,
:func:`wlcsp.cycling.analyze_cycles`, :func:`wlcsp.compare.compare`,
:func:`wlcsp.scatter.monte_carlo`); nothing is recomputed, so the report cannot disagree with
them. Units: mm, MPa, °C, cycles; strains in %.

Sections of a run report: design, result (primary life and basis), bumps, regions, warpage,
figures, caveats, model and solver, files. A compare report: design, variants (table and
figure), life scatter (with ``--monte-carlo``), caveats, variant reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .joint_cycles import SITES
from .run_figures import STATE_FIGURES

REPORT = "report.md"
"""File name of the report in the output directory."""

RUN_FIGURES = {
    **STATE_FIGURES,
    "hysteresis.png": "shear stress-strain hysteresis loops of the critical bump",
}
"""Figures a run may write, with their captions, in report order."""

CAVEAT_KEYS = ("singular_peaks", "caveats", "warnings", "note")
"""Result keys whose text is a caveat (string or list of strings)."""


def _num(value: Any, fmt: str = ".4g") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return format(value, fmt)
    return str(value)


def _pct(value: Any) -> str:
    return "—" if not isinstance(value, (int, float)) else _num(100.0 * value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A Markdown table (cells formatted with :func:`_num` unless already strings)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c if isinstance(c, str) else _num(c) for c in row) + " |"
              for row in rows]
    return [*lines, ""]


def _value(v: Any) -> str:
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return _num(v) if not isinstance(v, str) else f'"{v}"'


def design_section(raw: Mapping[str, Any] | None, source: str | None) -> list[str]:
    """The design file as given: one row per key of each table (the file's own units)."""
    lines = ["## Design", ""]
    if source:
        lines += [f"Design file: `{source}`. Units of the file: mm, MPa, °C, s "
                  "(CTE in ppm/K where the key says `_ppm`).", ""]
    if not raw:
        return [*lines, "(design file not available)", ""]
    rows = []
    for key, v in raw.items():
        if isinstance(v, Mapping):
            rows += [(f"`{key}.{k}`", _value(x)) for k, x in v.items()]
        elif isinstance(v, list) and v and all(isinstance(e, Mapping) for e in v):
            rows += [(f"`{key}[{i}]`", _value(e)) for i, e in enumerate(v)]
        else:
            rows.append((f"`{key}`", _value(v)))
    return [*lines, *table(("key", "value"), rows)]


def _life_section(result: Mapping[str, Any]) -> list[str]:
    """Critical bump, the primary life with its band and basis, the secondary lives."""
    lines = ["## Result", ""]
    crit = result.get("critical_bump")
    bumps = result.get("bumps", [])
    if crit is not None and bumps:
        lines.append(f"Critical bump: **{crit}** at DNP {_num(bumps[crit]['dnp'])} mm "
                     f"({_basis(bumps)}).")
    peak = result.get("energy_peak")
    if peak:
        lines += ["", f"Crack-initiation site: the {SITES[peak['interface']]} interface layer, "
                      f"where the last cycle's inelastic work peaks: "
                      f"{_num(abs(peak['azimuth_deg']))}° from the outward DNP direction, at "
                      f"{_num(peak['radius_fraction'])} of the interface radius "
                      f"(x, y{', z' if len(peak['position_mm']) == 3 else ''} = "
                      f"{', '.join(_num(c) for c in peak['position_mm'])} mm)."]
    primary = result.get("primary")
    if primary:
        lo, hi = primary["band"]
        lines += ["", f"Primary life: **{_num(primary['life'])} cycles** ({primary['model']}, "
                  f"constants `{primary['constants']}`), band {_num(lo)} – {_num(hi)} cycles "
                  f"(×/÷ {_num(primary['accuracy'])}).", "", f"Basis: {primary['basis']}.", ""]
        secondary = result.get("secondary") or {}
        rows = [(m, v["life"], f"`{v['constants']}`", v.get("label", "alloy matches"))
                for m, v in secondary.items()]
        if rows:
            lines += ["Secondary lives (for comparison, not the answer):", "",
                      *table(("model", "life (cycles)", "constants", "alloy"), rows)]
    elif result.get("screening"):
        lines += ["", f"No life: {result['screening']}.", ""]
        hand = result.get("hand_estimate") or {}
        rows = [(m, v["life"], f"`{v['constants']}`", v.get("label", "alloy matches"))
                for m, v in hand.items()]
        if rows:
            lines += ["Hand estimates:", "",
                      *table(("estimate", "cycles", "constants", "alloy"), rows)]
    else:
        lines += ["", "No life: the profile is not cyclic.", ""]
    return lines


def submodel_section(result: Mapping[str, Any]) -> list[str]:
    """The refined joint of a 3D run (``result["submodel"]``, :mod:`wlcsp.refined_joint`).

    Its figures beside the global model's with the change (%), and its primary life.
    """
    sub = result.get("submodel")
    if not sub:
        return []
    lines = ["## Refined joint (submodel)", "",
             f"Joint **{sub['bump']}** at DNP {_num(sub['dnp'])} mm ({sub['selected']}), in a "
             f"local model {_num(sub['refine'])} times finer than the cell's "
             f"({sub['dofs']} DOFs, {sub['elements']} elements, block "
             f"{', '.join(_num(c) for c in sub['block_mm'])} mm), driven by the "
             f"{sub['driving']}.", ""]
    rows = [(k.replace("_", " "), sub[k], sub["global"][k], _pct(sub["change"][k]) + " %")
            for k in sub["change"]]
    lines += table(("figure", "refined joint", "global model", "change"), rows)
    primary = sub.get("primary")
    if primary:
        lo, hi = primary["band"]
        was = sub["global"].get("primary_life")
        lines += [f"Refined primary life: **{_num(primary['life'])} cycles** "
                  f"({primary['model']}), band {_num(lo)} – {_num(hi)} cycles"
                  + (f"; the global model's: {_num(was)} cycles." if was is not None else ".")
                  + (f" Crack-initiation site: the {SITES[sub['energy_interface']]} interface."
                     if "energy_interface" in sub else ""), ""]
    return [*lines, f"Note: {sub['note']}.", ""]


def _basis(bumps: Sequence[Mapping[str, Any]]) -> str:
    return ("largest Darveaux energy density per cycle" if "delta_energy_density" in bumps[0]
            else "largest shear-strain range Δγ")


def bumps_section(result: Mapping[str, Any]) -> list[str]:
    """Per-bump table: DNP, stresses, strain and energy ranges, lives."""
    bumps = result.get("bumps", [])
    models = list(dict.fromkeys(m for b in bumps for m in b.get("life", {})))
    energy = "delta_energy_density" if bumps and "delta_energy_density" in bumps[0] \
        else "delta_elastic_energy_density"
    header = ["bump", "DNP (mm)", "mean von Mises (MPa)", "mean shear (MPa)", "Δγ (%)",
              "Δε_eq (%)", f"ΔW {'inelastic' if energy == 'delta_energy_density' else 'elastic'}"
              " (MPa)", *(f"{m} (cycles)" for m in models)]
    crit = result.get("critical_bump")
    rows = [[f"{i}{' *' if i == crit else ''}", b["dnp"], b.get("mean_von_mises"),
             b.get("mean_shear"), _pct(b.get("delta_shear_strain")),
             _pct(b.get("delta_equivalent_strain")), b.get(energy),
             *(b.get("life", {}).get(m) for m in models)] for i, b in enumerate(bumps)]
    return ["## Bumps", "", f"Ordered by DNP; * the critical bump. Stresses at "
            f"{_num(result.get('temperature'))} °C.", "", *table(header, rows)]


def regions_section(result: Mapping[str, Any]) -> list[str]:
    """Per-region peak and volume-mean von Mises stress."""
    regions = result.get("regions", {})
    rows = [(f"`{name}`", r.get("max_von_mises"), r.get("mean_von_mises"))
            for name, r in regions.items()]
    return ["## Regions", "", *table(("region", "max von Mises (MPa, singular at corners)",
                                      "mean von Mises (MPa)"), rows)]


def warpage_section(result: Mapping[str, Any]) -> list[str]:
    """Warpage of the substrate bottom (edge − centre), µm."""
    rows = [(f"{_num(result.get('temperature'))} °C (reported state)", 1e3 * result["warpage"])]
    profile = result.get("profile", {})
    for key, T in (("warpage_cold", profile.get("T_min")), ("warpage_hot", profile.get("T_max"))):
        if key in result:
            rows.append((f"{_num(T)} °C", 1e3 * result[key]))
    return ["## Warpage", "", "Substrate bottom, edge minus centre (negative: edge down).", "",
            *table(("state", "warpage (µm)"), rows)]


def figure_links(folder: Path, figures: Mapping[str, str], prefix: str = "") -> list[str]:
    """Links ``prefix + name`` to the figures (name -> caption) that exist in ``folder``."""
    lines = []
    for name, caption in figures.items():
        if (folder / name).is_file():
            lines += [f"![{caption}]({prefix}{name})", "", f"*{caption}* (`{prefix}{name}`)", ""]
    return lines


def figures_section(out: Path, figures: Mapping[str, str]) -> list[str]:
    """A Figures section with the figures present in ``out`` (none: no section)."""
    links = figure_links(out, figures)
    return ["## Figures", "", *links] if links else []


def caveats(result: Mapping[str, Any]) -> list[str]:
    """The caveats the result itself carries (its own words), one per item."""
    out = [f"Analysis: {result['analysis']}." if "analysis" in result else None]
    for key in CAVEAT_KEYS:
        v = result.get(key)
        out += [v] if isinstance(v, str) else list(v or [])
    stab = result.get("stabilization") or {}
    if stab.get("note"):
        out.append(stab["note"])
    elif stab.get("stabilized"):
        out.append(f"Stabilized: the critical bump's energy per cycle changes by "
                   f"{_num(100 * stab['energy_change'], '.2g')} % between the last two cycles.")
    return [c for c in out if c]


def _caveat_section(items: Sequence[str]) -> list[str]:
    return ["## Caveats", "", *(f"- {c}" for c in items), ""] if items else []


def model_section(result: Mapping[str, Any]) -> list[str]:
    """Model size, profile, solver statistics and wall time per phase."""
    prof = result.get("profile", {})
    rows = [("model", result.get("model")), ("analysis", result.get("analysis")),
            ("profile", f"{prof.get('name')}: {_num(prof.get('T_min'))} to "
                        f"{_num(prof.get('T_max'))} °C" + (f", {prof['cycles']} cycles"
                                                          if "cycles" in prof else "")),
            ("stress-free temperature (°C)", result.get("stress_free")),
            ("degrees of freedom", result.get("dofs")), ("elements", result.get("elements"))]
    solver = result.get("solver", {})
    rows += [(f"solver: {k.replace('_', ' ')}", v) for k, v in solver.items()
             if isinstance(v, (int, float))]
    rows += [(f"wall time: {k} (s)", v) for k, v in result.get("seconds", {}).items()]
    return ["## Model and solver", "", *table(("item", "value"), rows)]


def _files_section(out: Path) -> list[str]:
    names = sorted(p.name for p in out.iterdir()
                   if p.is_file() and p.suffix in (".json", ".vtu", ".pvd", ".csv"))
    return ["## Files", "", *(f"- [`{n}`]({n})" for n in names), ""] if names else []


def _read_raw(design: str | Path | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if design is None or isinstance(design, Mapping):
        return None if design is None else dict(design)
    from .design import read_toml

    return read_toml(design)


def run_report(result: Mapping[str, Any], out: Path,
               design: str | Path | Mapping[str, Any] | None = None) -> str:
    """The Markdown text of a run report (module docstring) for the outputs in ``out``."""
    source = None if design is None or isinstance(design, Mapping) else str(design)
    lines = [f"# {result['design']}", "",
             f"{result.get('analysis', '')} · {result.get('model', '')} model · written by "
             f"wlcsp {package_version()}", ""]
    lines += design_section(_read_raw(design), source)
    lines += _life_section(result) + submodel_section(result) + bumps_section(result)
    lines += regions_section(result)
    lines += warpage_section(result) + figures_section(out, RUN_FIGURES)
    lines += _caveat_section(caveats(result)) + model_section(result) + _files_section(out)
    return "\n".join(lines)


def write_run_report(result: Mapping[str, Any], out: str | Path,
                     design: str | Path | Mapping[str, Any] | None = None) -> Path:
    """Write ``out/report.md`` for one run (after its ``summary.json``); its path."""
    out = Path(out)
    path = out / REPORT
    path.write_text(run_report(result, out, design), encoding="utf-8")
    return path


def compare_report(result: Mapping[str, Any], out: Path,
                   design: str | Path | Mapping[str, Any] | None = None,
                   scatter: Mapping[str, Any] | None = None) -> str:
    """The Markdown text of a compare report (module docstring)."""
    source = None if design is None or isinstance(design, Mapping) else str(design)
    rows = result["table"]
    lives = [k for k in rows[0] if k.startswith(("primary_life_cycles", "hand_estimate_",
                                                   "life_")) and k.endswith("_cycles")]
    ratios = [k for k in rows[0] if k.endswith("_ratio_to_bare") or k.startswith("ratio_")]
    strains = [c for c in ("delta_shear_strain", "delta_equivalent_strain",
                           "delta_inelastic_strain") if c in rows[0]]
    short = {"delta_shear_strain": "Δγ (%)", "delta_equivalent_strain": "Δε_eq (%)",
             "delta_inelastic_strain": "Δε_in (%)"}
    header = ["variant", "critical bump", "DNP (mm)", *(short[c] for c in strains),
              "ΔW (MPa)", "primary model", *(k.removesuffix("_cycles") + " (cycles)"
                                             for k in lives), *ratios]
    body = [[f"{r['variant']}{' *' if r['given'] else ''}{' †' if r.get('caveat') else ''}",
             r["critical_bump"], r["dnp_mm"],
             *(_pct(r[c]) for c in strains), r["energy_density_MPa"], r["primary_model"] or "—",
             *(r[k] for k in lives), *(r[k] for k in ratios)] for r in rows]
    given = result["summaries"][result["given"]]
    lines = [f"# {result['design']}: variants", "",
             f"{rows[0]['analysis']} · {given.get('model', '')} model · written by wlcsp "
             f"{package_version()}", ""]
    lines += design_section(_read_raw(design), source)
    lines += ["## Variants", "", "* the design as given. Figures of each variant's critical bump; "
              f"lives in cycles and as ratios to the '{result['reference']}' variant; ΔW: "
              f"{', '.join(sorted({r['energy_basis'] for r in rows}))} energy density range "
              "over the Darveaux interface layer.", "", *table(header, body)]
    why = next((r["caveat"] for r in rows if r.get("caveat")), "")
    if why:
        lines += [f"† Not judged by this model: {why}.", ""]
    sites = [f"{r['variant']}: {r['crack_site']}" for r in rows if r.get("crack_site")]
    if sites:
        lines += ["Crack-initiation site (the interface layer with the larger energy): "
                  + "; ".join(sites) + ".", ""]
    if result.get("buffer_layers"):
        lines += [f"Elastomer: the buffer layer(s) {', '.join(result['buffer_layers'])}.", ""]
    if given.get("life_basis"):
        lines += [f"Life basis: {given['life_basis']}.", ""]
    lines += figures_section(out, {"compare.png": "critical-bump strain range and lives of "
                                                  "every variant"})
    if scatter is not None:
        lines += scatter_section(scatter, out / "scatter")
    lines += _caveat_section(caveats(given))
    lines += ["## Variant reports", "", *(f"- [{label}]({label}/{REPORT})"
                                          for label in result["summaries"]
                                          if (out / label / REPORT).is_file()), ""]
    return "\n".join(lines)


def scatter_section(scatter: Mapping[str, Any], folder: Path) -> list[str]:
    """Monte-Carlo statistics, Weibull fits, most important inputs; figures in ``folder``."""
    rows = []
    for m, st in scatter["statistics"].items():
        wb = scatter["weibull"][m] or {}
        rows.append((m, scatter["nominal"]["life"][m], st["median"], st["min"], st["max"],
                     wb.get("eta"), wb.get("beta"), wb.get("N1"),
                     scatter["most_important"][m] or "—"))
    lines = ["## Life scatter", "", f"{scatter['samples']} Latin-hypercube samples (seed "
             f"{scatter['seed']}) over {len(scatter['inputs'])} toleranced inputs, truncated at "
             f"±{_num(scatter['truncation'])}σ. The spread is that of the inputs only, not the "
             "intrinsic fatigue scatter of nominally identical joints.", "",
             *table(("model", "nominal (cycles)", "median (cycles)", "min (cycles)",
                     "max (cycles)", "Weibull η (cycles)", "Weibull β", "N1% (cycles)",
                     "most important input"), rows)]
    figs = {f"weibull_{m}.png": f"{m}: Weibull plot of the sampled lives"
            for m in scatter["weibull"]} | {"importance.png": "input importance ∂ln N/∂z"}
    return lines + figure_links(folder, figs, f"{folder.name}/")


def write_compare_report(result: Mapping[str, Any], out: str | Path,
                         design: str | Path | Mapping[str, Any] | None = None,
                         scatter: Mapping[str, Any] | None = None) -> Path:
    """Write ``out/report.md`` for a compare (and a run report per variant); its path."""
    out = Path(out)
    for label, summary in result["summaries"].items():
        if (out / label).is_dir():
            write_run_report(summary, out / label)
    path = out / REPORT
    path.write_text(compare_report(result, out, design, scatter), encoding="utf-8")
    return path


def package_version() -> str:
    """The installed package's version (its metadata), else the source tree's ``__version__``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wlcsp")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        from . import __version__

        return __version__
