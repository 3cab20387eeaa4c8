"""``wlcsp compare``: the design against its variants with and without buffer layer and underfill.

Variants
--------
Each variant is an edit of the design's normalized input (``Design.raw``), re-validated with
:func:`wlcsp.design.load_design`; loading, profile, mesh settings and everything else stay as
given, so the variants differ only in these two features:

elastomer
    The layers of the design whose material is a low-modulus stress buffer: Young's modulus
    below :data:`BUFFER_MODULUS` at both extremes of the profile (the layer's name does not
    matter). Removing them drops those ``[[layers]]`` entries; the stack above closes the gap.
underfill
    The design's ``[underfill]`` table, or ``{ material = "underfill" }`` (the library's
    underfill, default fillet) when the design has none. Removing it drops the table.

The variants are every combination present: ``bare`` (neither), ``underfill`` and, when the design
has a buffer layer, ``elastomer`` and ``elastomer_underfill``. The design as given is one of them
(it is run once, under its label, and flagged). Variants are compared with the ``bare`` one.

Every variant goes through :func:`wlcsp.analysis.analyze`, whatever ``loading.solder`` says; the
table reads the summary's keys (``delta_shear_strain``, ``delta_equivalent_strain``,
``delta_inelastic_strain`` when present, ``delta_energy_density`` or else
``delta_elastic_energy_density``, ``primary``, ``secondary``, ``hand_estimate``) so it does not
depend on the analysis behind them. The viscoplastic analysis gives each variant its primary life
(model, constants, band, basis: :mod:`wlcsp.life_report`) and its ratio to ``bare``; the elastic
screening gives no life, only the strain-range ratio to ``bare`` and Engelmaier's DNP hand
estimate, labelled as such.
"""

from __future__ import annotations

import copy
import csv
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import progress
from .analysis import analyze
from .design import Design, load_design
from .errors import DesignError
from .fem.kinematics import KINDS_2D
from .joint_cycles import SITES
from .loading import extremes, parse_profile

BUFFER_MODULUS = 1000.0
"""Largest Young's modulus (MPa) of a stress-buffer (elastomer) layer. Photo-patternable silicone
buffers are 0.1-0.5 GPa (WL-5150: 0.16 GPa, lit §1.1), repassivation polyimide and PBO 2-4 GPa
(``data/materials.toml``): 1 GPa separates the two classes by a factor of two either way."""

REFERENCE = "bare"
"""The variant every life is divided by."""

LABELS = ("bare", "underfill", "elastomer", "elastomer_underfill")
"""Variant labels in table order: (elastomer, underfill) = no/no, no/yes, yes/no, yes/yes."""

STRAIN_COLUMNS = ("delta_shear_strain", "delta_equivalent_strain", "delta_inelastic_strain")
"""Per-bump strain ranges the table shows, when the analysis reports them."""

SECTION_LIMITS = {
    "underfill": "2D section: a bump is a ring (axisymmetric) or a wall (plane strain) clamped "
                 "by the underfill in its hoop or out-of-plane direction, and the section holds "
                 "other amounts of solder and underfill than the real array (seed 000: 1.5x the "
                 "solder, 0.8x the underfill), so the underfill's effect is not judged here; "
                 "use model = \"3d\"",
}
"""Features a 2D section model (every kind but ``3d``) cannot judge, and why: a variant with
one of them carries the reason in its ``caveat`` column, next to its numbers. The amounts:
:mod:`wlcsp.section_weight` (the equivalent-width weights f of the seed's diagonal section:
solder 0.65, underfill 1.26; ``docs/2d_vs_3d.md``). Measured: the axisymmetric model gives the
seed underfill about the bare life where the 3D model gives a gain
(``notebooks/04_seed_claims_3d.ipynb``)."""


def buffer_layers(design: Design) -> tuple[str, ...]:
    """Names of the design's stress-buffer layers (E < :data:`BUFFER_MODULUS` at both extremes)."""
    temps = extremes(parse_profile(design.loading.profile))
    return tuple(layer.name for layer in design.layers
                 if all(design.material(layer.material).youngs_modulus(T) < BUFFER_MODULUS
                        for T in temps))


def given_label(design: Design) -> str:
    """The label of the design as given."""
    return _label(bool(buffer_layers(design)), design.underfill is not None)


def _label(elastomer: bool, underfill: bool) -> str:
    return LABELS[2 * elastomer + underfill]


def variants(design: Design) -> dict[str, dict[str, Any]]:
    """Label -> raw design dict of every variant (see the module docstring), in table order."""
    buffers = buffer_layers(design)
    given = given_label(design)
    out: dict[str, dict[str, Any]] = {}
    for elastomer in ((False, True) if buffers else (False,)):
        for underfill in (False, True):
            label = _label(elastomer, underfill)
            raw = copy.deepcopy(dict(design.raw))
            if label != given:
                raw["name"] = f"{design.name} [{label}]"
            if not elastomer:
                raw["layers"] = [entry for entry in raw.get("layers", [])
                                 if entry.get("name") not in buffers]
            if underfill:
                raw.setdefault("underfill", {"material": "underfill"})
            else:
                raw.pop("underfill", None)
            out[label] = raw
    return out


def compare(design: Design | str | Path | Mapping[str, Any], out: str | Path | None = None, *,
            figures: bool = True) -> dict[str, Any]:
    """Run every variant of ``design``; return the table and each variant's summary.

    Parameters
    ----------
    design : Design, path or raw dict
        The design as given.
    out : str or Path, optional
        Directory: ``compare.csv``, ``compare.png`` and ``<label>/`` with each variant's
        ``summary.json``, ``solution.vtu`` (and figures unless ``figures`` is False).

    Returns
    -------
    dict
        ``design``, ``given`` (label of the design as given), ``reference`` (``bare``),
        ``summaries`` (label -> summary dict of :func:`wlcsp.analysis.analyze`) and ``table``
        (:func:`table_rows`).
    """
    if not isinstance(design, Design):
        design = load_design(design)
    out = None if out is None else Path(out)
    designs = {}
    for label, raw in variants(design).items():  # every variant valid before any solve
        try:
            designs[label] = load_design(raw)
        except DesignError as exc:
            raise DesignError(exc.key, exc.value, f"{exc.allowed} (in the '{label}' variant "
                                                  "made by wlcsp compare)") from None
    summaries = {}
    with progress.bar(len(designs), "compare", unit="variant") as bar:
        for label, variant in designs.items():
            bar.set_postfix_str(label)
            summaries[label] = analyze(variant, None if out is None else out / label,
                                       figures=figures)
            bar.update()
    result = {"design": design.name, "given": given_label(design), "reference": REFERENCE,
              "buffer_layers": list(buffer_layers(design)), "summaries": summaries,
              "table": table_rows(summaries, given_label(design))}
    if out is not None:
        from .plots import plot_compare

        write_csv(result["table"], out / "compare.csv")
        plot_compare(result, out / "compare.png")
    return result


def energy_density(bump: Mapping[str, Any]) -> tuple[float, str]:
    """The bump's energy density range (MPa) and its basis: inelastic when the analysis has it."""
    if "delta_energy_density" in bump:
        return bump["delta_energy_density"], "inelastic"
    return bump.get("delta_elastic_energy_density", math.nan), "elastic"


def life_column(model: str, entry: Mapping[str, Any]) -> str:
    """The column of a secondary life (cycles): ``life_<model>_cycles``.

    With the constants' alloy family in the name when it is not the bumps' family
    (``life_darveaux_snpb_constants_cycles``).
    """
    if entry.get("alloy_match", True):
        return f"life_{model}_cycles"
    return f"life_{model}_{entry['family']}_constants_cycles"


def _ratio(value: float, reference: float) -> float:
    return value / reference if reference and math.isfinite(reference) else math.nan


def crack_site(bump: Mapping[str, Any], peak: Mapping[str, Any] | None) -> str:
    """The critical joint's crack-initiation site: its interface (:data:`wlcsp.joint_cycles.SITES`).

    With a viscoplastic analysis' ``energy_peak``, also where on it the last cycle's energy
    peaks (:func:`wlcsp.post.peak_site`).
    """
    side = SITES.get(bump.get("energy_interface", ""), "")
    if not side or not peak:
        return side
    return (f"{side}, {abs(peak['azimuth_deg']):.0f}° from the outward DNP direction at "
            f"{peak['radius_fraction']:.2f} of its radius")


def caveat(label: str, model: str) -> str:
    """Why ``model`` cannot judge the variant ``label`` (:data:`SECTION_LIMITS`), or ``""``."""
    if model not in KINDS_2D:
        return ""
    return "; ".join(why for feature, why in SECTION_LIMITS.items() if feature in label)


def table_rows(summaries: Mapping[str, Mapping[str, Any]], given: str | None = None
               ) -> list[dict[str, Any]]:
    """One row per variant: its critical bump's figures, its primary life and ratios to ``bare``.

    Columns: ``variant``, ``given``, ``analysis``, ``critical_bump``, ``dnp_mm``, the strain
    ranges (-) of :data:`STRAIN_COLUMNS` that some variant reports, ``energy_density_MPa`` and
    ``energy_basis``, ``crack_site`` (:func:`crack_site`; empty without an interface),
    ``caveat`` (:func:`caveat`: why the model cannot judge the variant, else empty),
    ``delta_shear_strain_ratio_to_bare``; the primary life:
    ``primary_model``,
    ``primary_constants``, ``primary_life_cycles``, its band ``primary_life_low_cycles`` ..
    ``primary_life_high_cycles`` (``primary_accuracy_factor``), ``primary_ratio_to_bare`` and
    ``primary_basis`` (NaN and empty for the elastic screening, whose ``primary_basis`` is its
    screening note); ``hand_estimate_<model>_cycles`` (elastic); every secondary life
    (:func:`life_column`, cycles) and its ``ratio_<model>_to_bare``; with a refined joint
    (``[submodel]``, :mod:`wlcsp.refined_joint`) ``refined_bump``, ``refined_energy_change``
    (its Darveaux-layer energy against the global one, relative), ``refined_primary_life_cycles``
    and ``refined_primary_ratio_to_bare``. NaN where a variant lacks a column.
    """
    if REFERENCE not in summaries:
        raise DesignError("variants", list(summaries), f"the '{REFERENCE}' variant is needed")
    crit = {label: s["bumps"][s["critical_bump"]] for label, s in summaries.items()}
    strains = [c for c in STRAIN_COLUMNS if any(c in b for b in crit.values())]
    ref, ref_bump = summaries[REFERENCE], crit[REFERENCE]
    rows = []
    for label, s in summaries.items():
        bump = crit[label]
        energy, basis = energy_density(bump)
        row: dict[str, Any] = {
            "variant": label, "given": label == given, "analysis": s.get("analysis", ""),
            "critical_bump": s["critical_bump"], "dnp_mm": bump["dnp"],
            **{c: bump.get(c, math.nan) for c in strains},
            "energy_density_MPa": energy, "energy_basis": basis,
            "crack_site": crack_site(bump, s.get("energy_peak")),
            "caveat": caveat(label, s.get("model", "")),
            "delta_shear_strain_ratio_to_bare": _ratio(bump.get("delta_shear_strain", math.nan),
                                                       ref_bump.get("delta_shear_strain",
                                                                    math.nan))}
        primary, ref_primary = s.get("primary"), ref.get("primary")
        if primary is not None:
            same = ref_primary is not None and ref_primary["model"] == primary["model"]
            row |= {"primary_model": primary["model"], "primary_constants": primary["constants"],
                    "primary_life_cycles": primary["life"],
                    "primary_life_low_cycles": primary["band"][0],
                    "primary_life_high_cycles": primary["band"][1],
                    "primary_accuracy_factor": primary["accuracy"],
                    "primary_ratio_to_bare": _ratio(primary["life"], ref_primary["life"])
                    if same else math.nan,
                    "primary_basis": primary["basis"]}
        else:
            row |= {"primary_model": "", "primary_constants": "", "primary_life_cycles": math.nan,
                    "primary_life_low_cycles": math.nan, "primary_life_high_cycles": math.nan,
                    "primary_accuracy_factor": math.nan, "primary_ratio_to_bare": math.nan,
                    "primary_basis": s.get("screening") or s.get("primary_note", "")}
        for model, entry in s.get("hand_estimate", {}).items():
            row[f"hand_estimate_{model}_cycles"] = entry["life"]
        ref_secondary = ref.get("secondary", {})
        for model, entry in s.get("secondary", {}).items():
            row[life_column(model, entry)] = entry["life"]
            row[f"ratio_{model}_to_bare"] = _ratio(
                entry["life"], ref_secondary.get(model, {}).get("life", math.nan))
        row |= _refined(s.get("submodel"), ref.get("submodel"))
        rows.append(row)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return [{k: r.get(k, math.nan) for k in columns} for r in rows]


def _refined(sub: Mapping[str, Any] | None, ref: Mapping[str, Any] | None) -> dict[str, Any]:
    """The refined-joint columns of one variant (:func:`table_rows`), none without one."""
    if not sub:
        return {}
    change = sub["change"]
    energy = change.get("delta_energy_density", change.get("delta_elastic_energy_density"))
    life = (sub.get("primary") or {}).get("life", math.nan)
    ref_life = ((ref or {}).get("primary") or {}).get("life", math.nan)
    return {"refined_bump": sub["bump"], "refined_energy_change": energy,
            "refined_primary_life_cycles": life,
            "refined_primary_ratio_to_bare": _ratio(life, ref_life)}


def write_csv(rows: list[dict[str, Any]], path: str | Path) -> None:
    """The table as CSV, one row per variant (header = the row keys)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def format_compare(result: Mapping[str, Any]) -> str:
    """The table ``wlcsp compare`` prints."""
    rows = result["table"]
    strains = [c for c in STRAIN_COLUMNS if c in rows[0]]
    short = {"delta_shear_strain": "Δγ %", "delta_equivalent_strain": "Δε_eq %",
             "delta_inelastic_strain": "Δε_in %"}
    lives = any(r["primary_model"] for r in rows)
    head = (f"{'variant':<20} {'crit':>4} {'DNP mm':>7} "
            + " ".join(f"{short[c]:>8}" for c in strains) + f" {'ΔW MPa':>8} {'Δγ x bare':>9}"
            + (f"  {'primary life (cycles), band':>34} {'x bare':>7}" if lives else ""))
    lines = [f"{result['design']}  [{rows[0]['analysis']}; ratios to '{result['reference']}']",
             head]
    for r in rows:
        mark = ("*" if r["given"] else "") + ("†" if r["caveat"] else "")
        life = (f"  {r['primary_model']:>12} {r['primary_life_cycles']:>7.3g} "
                f"({r['primary_life_low_cycles']:.3g}..{r['primary_life_high_cycles']:.3g})"
                f" {r['primary_ratio_to_bare']:>7.3g}") if lives else ""
        lines.append(
            f"{r['variant'] + mark:<20} {r['critical_bump']:>4} {r['dnp_mm']:>7.3f} "
            + " ".join(f"{100 * r[c]:>8.4f}" for c in strains)
            + f" {r['energy_density_MPa']:>8.4f} {r['delta_shear_strain_ratio_to_bare']:>9.3g}"
            + life)
    basis = {r["energy_basis"] for r in rows}
    rule = "largest energy range" if lives else "largest shear-strain range"
    lines.append(f"* the design as given. Figures of each variant's critical bump ({rule}); "
                 "ΔW: " + ", ".join(sorted(basis)) + " energy density range over the Darveaux "
                 "interface layer.")
    sites = sorted({r["crack_site"] for r in rows if r["crack_site"]})
    if sites:
        lines.append("crack site (larger interface-layer energy): " + "; ".join(
            f"{r['variant']} {r['crack_site']}" for r in rows))
    if "refined_bump" in rows[0]:
        lines.append("refined joint (submodel): " + "; ".join(
            f"{r['variant']} joint {r['refined_bump']}, energy "
            f"{100 * r['refined_energy_change']:+.1f} % against the cell"
            + (f", life {r['refined_primary_life_cycles']:.3g} "
               f"({r['refined_primary_ratio_to_bare']:.3g} x bare)"
               if math.isfinite(r["refined_primary_life_cycles"]) else "") for r in rows))
    judged = next((r["caveat"] for r in rows if r["caveat"]), "")
    if judged:
        lines.append(f"† not judged by this model: {judged}.")
    given = next((r for r in rows if r["given"]), rows[0])
    lines.append(("primary life basis: " if lives else "") + given["primary_basis"] + ".")
    mismatched = [k for k in rows[0] if k.endswith("_constants_cycles")]
    if mismatched:
        lines.append("secondary lives in compare.csv; " + ", ".join(mismatched) + ": computed "
                     "with constants of another alloy family (alloy mismatch).")
    if result.get("buffer_layers"):
        lines.append(f"elastomer = the buffer layer(s) {', '.join(result['buffer_layers'])} "
                     f"(E < {BUFFER_MODULUS / 1000:g} GPa over the profile)")
    return "\n".join(lines)
