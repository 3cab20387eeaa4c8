"""Life reporting for both analyses: constants, alloy match, one primary life and its band.

This module sits below :mod:`wlcsp.analysis` (the elastic screening) and :mod:`wlcsp.cycling`
(the viscoplastic cycle analysis) and above :mod:`wlcsp.life` (the models and constant sets).
:func:`report` is the life section of both.

Constants and alloys
--------------------
Each model reads the constant set the design names (``[life]``, :attr:`wlcsp.design.Design.
fatigue`; the bump alloy's default otherwise). A set whose alloy family (``snpb``, ``sac``;
``data/fatigue.toml``) is not the bumps' gives a life computed with another alloy's constants:
it is reported as secondary only, with ``alloy_match = False`` and a label naming both alloys
in ``summary.json`` (``secondary``, ``life_constants``, ``life_note``), the printed table and
the compare table. A model without any set for the design is not computed.

The primary life (viscoplastic cycle analysis)
----------------------------------------------
The first model of :data:`PRIMARY_ORDER` whose constants match the bumps' alloy family and whose
input the analysis produced:

1. ``darveaux``: its constants are tied to a procedure the analysis reproduces: the inelastic
   work per stabilized cycle volume-averaged over an interface layer of the set's own thickness
   (``interface_layer``, 25.4 µm for Darveaux 2000; the monitors of :mod:`wlcsp.cycling` are
   built with it) at the cracking pad interface, and a crack path of that pad's diameter
   (Darveaux, ECTC 2000; lit §3.2: constants used with another procedure move the life
   several-fold).
2. ``syed_energy``: Syed's SnAgCu energy model on the same interface-layer energy per cycle (his
   own averaging volume is not re-checked, fatigue.toml [L]); the only SAC calibration.
3. ``syed_strain``: Syed's strain model; the analysis's accumulated creep strain per cycle is a
   whole-bump average, not an interface-layer one.
4. ``coffin_manson``: Solomon's constants come from measured plastic strain of isothermal shear
   tests, not from an FE average.

So SnPb bumps get Darveaux, SAC bumps (no SAC Darveaux set retrieved) Syed energy. The band is
the source's stated accuracy (``accuracy``, a factor), or :data:`DEFAULT_ACCURACY` where the
source states none, as said in ``basis``. No alloy-matched model: ``primary`` is None with a
``primary_note``.

The elastic screening
---------------------
Elastic FE strain ranges in a creep-fatigue law are not lives (issue 11). The elastic analysis
ranks joints and variants by their strain ranges; ``primary`` is None, ``screening`` says so, and
the one life it gives is Engelmaier's DNP hand estimate (``hand_estimate``: F·L_D·Δα·ΔT/h, no
FE input), labelled as such.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .design import Design
from .errors import DesignError
from .life import FATIGUE_LIBRARY, FATIGUE_SETS, LIFE_MODELS, MODEL_SET, SetInfo, cycle_life
from .loading import Profile

PRIMARY_ORDER = ("darveaux", "syed_energy", "syed_strain", "coffin_manson")
"""Models in the order their calibration matches the viscoplastic analysis (module docstring)."""

DEFAULT_ACCURACY = 2.0
"""Band factor of a primary model whose source states no accuracy: the factor 2 that issue 11
sets for the validation where none is stated (the scatter of model predictions against
board-level tests is commonly quoted as 2x; no source for a tighter value was retrieved)."""

FAMILY_NAMES = {"snpb": "SnPb", "sac": "SnAgCu"}
"""Printed names of the alloy families (:data:`wlcsp.life.ALLOY_FAMILIES`)."""

HAND_ESTIMATE = "engelmaier_dnp"
"""The one life of the elastic screening: Engelmaier's DNP hand formula (no FE input)."""

SCREENING = ("elastic screening: joints and variants are ranked by their FE strain ranges; an "
             "elastic FE strain range in a creep-fatigue law is not a life, so no primary life "
             "is given (run loading.solder = 'anand' or 'garofalo' for one); hand_estimate is "
             "Engelmaier's DNP hand formula F*L_D*dalpha*dT/h, which sees no buffer layer or "
             "underfill")
"""The ``screening`` note of every elastic result."""

DRIVER = {"coffin_manson": "delta_strain", "engelmaier": "delta_strain",
          "engelmaier_dnp": "dnp", "darveaux": "delta_energy_density",
          "syed_energy": "delta_energy_density", "syed_strain": "delta_strain"}
"""The cycle_life input that drives each model: a bump where it is 0 (a joint at the neutral
point, a joint without creep) has an unbounded life by that model (inf; None in JSON)."""


def fatigue_alloy(design: Design) -> str:
    """The bumps' alloy name in the fatigue library; DesignError naming bumps.material if absent."""
    alloy = design.bumps.material
    if alloy not in FATIGUE_LIBRARY:
        raise DesignError("bumps.material", alloy, "no fatigue constants for this solder; "
                          f"known: {', '.join(FATIGUE_LIBRARY)}")
    return alloy


def json_safe(obj: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None."""
    if isinstance(obj, Mapping):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def constant_set(design: Design, model: str) -> tuple[str, SetInfo] | None:
    """Name and calibration record of the set ``model`` uses for ``design`` (None: no set)."""
    table = MODEL_SET[model]
    name = design.fatigue.get(table)
    if name is None:
        return None
    info = FATIGUE_SETS[table][name].info
    assert info is not None  # every parsed set has one (wlcsp.life._info)
    return name, info


def alloy_label(design: Design, model: str) -> dict[str, Any]:
    """The set ``model`` uses for ``design``, its calibration alloy and whether that matches.

    Keys ``constants`` (set name), ``alloy``, ``family``, ``alloy_match`` and, on a mismatch,
    ``label``.
    """
    chosen = constant_set(design, model)
    if chosen is None:
        raise DesignError(f"life.{MODEL_SET[model]}", None,
                          f"no constant set for {design.bumps.material}; name one in [life]")
    name, info = chosen
    alloy = fatigue_alloy(design)
    match = info.family == FATIGUE_LIBRARY[alloy].family
    out: dict[str, Any] = {"constants": name, "alloy": info.alloy, "family": info.family,
                           "alloy_match": match}
    if not match:
        out["label"] = (f"alloy mismatch: {info.family} constants ({info.alloy}) on "
                        f"{alloy} bumps")
    return out


def bump_lives(design: Design, profile: Profile, inputs: Mapping[str, Mapping[str, float]]
               ) -> dict[str, float]:
    """Cycles per model of one bump; ``inputs`` maps each model to its cycle_life inputs.

    Models without a constant set for the design are left out; a model whose driving input
    (:data:`DRIVER`) is 0 gets inf.
    """
    alloy = fatigue_alloy(design)
    out: dict[str, float] = {}
    for model, kwargs in inputs.items():
        if constant_set(design, model) is None:
            continue
        if kwargs[DRIVER[model]] <= 0:
            out[model] = math.inf
            continue
        out.update(cycle_life(alloy, profile, models=[model], sets=design.fatigue, **kwargs))
    return out


def primary_life(design: Design, lives: Mapping[str, float], procedures: Mapping[str, str]
                 ) -> tuple[dict[str, Any] | None, str]:
    """The primary life of the module docstring from the critical bump's ``lives``.

    ``procedures`` (model -> what the analysis fed it) completes the basis sentence. Returns
    the ``primary`` dict (None when no model qualifies) and a note.
    """
    for model in PRIMARY_ORDER:
        life = lives.get(model)
        if life is None or not math.isfinite(life):
            continue
        label = alloy_label(design, model)
        if not label["alloy_match"]:
            continue
        name, info = constant_set(design, model)  # type: ignore[misc]
        accuracy = DEFAULT_ACCURACY if info.accuracy is None else info.accuracy
        band = ("the source's stated accuracy" if info.accuracy is not None else
                "no accuracy stated by the source: the default")
        basis = (f"{design.bumps.material} bumps, {FAMILY_NAMES[info.family]} constants {name} "
                 f"({model}), {procedures.get(model, '')}; band x/÷{accuracy:g} ({band})")
        return ({"model": model, "life": life, "accuracy": accuracy,
                 "band": [life / accuracy, life * accuracy], "basis": basis, "constants": name,
                 "alloy_match": True}, f"primary: {model}, the first of "
                f"{', '.join(PRIMARY_ORDER)} with alloy-matched constants")
    return None, (f"no primary life: none of {', '.join(PRIMARY_ORDER)} has constants of the "
                  f"{design.bumps.material} alloy family and an input > 0")


def report(result: dict[str, Any], design: Design, profile: Profile,
           inputs: list[Mapping[str, Mapping[str, float]]], *, screening: bool,
           procedures: Mapping[str, str] | None = None) -> None:
    """The life section of an analysis, written into ``result`` (its ``bumps`` and top level).

    Parameters
    ----------
    result : dict
        The summary with ``bumps`` (one dict per bump) and ``critical_bump``.
    inputs : list of mapping
        Per bump: model -> :func:`wlcsp.life.cycle_life` inputs (``delta_strain``,
        ``delta_energy_density``, ``pad_diameter``, ``dnp``, ``joint_height``, ``delta_cte``).
    screening : bool
        The elastic screening: per bump ``hand_estimate`` (model -> cycles), top-level
        ``hand_estimate`` (the critical bump's, with its constants and basis), ``primary`` None
        and ``screening``; no ``life`` anywhere. Otherwise per bump ``life`` and top-level
        ``life``, ``primary``, ``secondary``, ``life_constants``, ``life_note``.
    procedures : mapping, optional
        Model -> what the analysis fed it, for the primary's basis sentence.
    """
    crit = result["critical_bump"]
    key = "hand_estimate" if screening else "life"
    for bump, inp in zip(result["bumps"], inputs, strict=True):
        bump[key] = bump_lives(design, profile, inp)
    lives = dict(result["bumps"][crit][key])
    labels = {m: alloy_label(design, m) for m in lives}
    result["life_constants"] = labels
    mismatched = [f"{m} ({labels[m]['label']})" for m in lives if not labels[m]["alloy_match"]]
    result["life_note"] = ("; ".join(mismatched) + ": secondary only") if mismatched else \
        "every life uses constants of the bumps' alloy family"
    if screening:
        result["primary"] = None
        result["screening"] = SCREENING
        result["hand_estimate"] = {
            model: {"life": life, **labels[model],
                    "basis": f"{LIFE_MODELS[model]} of the critical bump (DNP "
                             f"{result['bumps'][crit]['dnp']:.4g} mm), hand estimate"}
            for model, life in lives.items()}
        return
    result["life"] = lives
    result["primary"], result["primary_note"] = primary_life(design, lives, procedures or {})
    chosen = None if result["primary"] is None else result["primary"]["model"]
    result["secondary"] = {m: {"life": v, **labels[m]} for m, v in lives.items() if m != chosen}


# --- printing --------------------------------------------------------------------------------

MISMATCH_MARK = "†"
"""Marks a life computed with constants of another alloy family in printed tables."""


def column_title(result: Mapping[str, Any]) -> str:
    """The per-bump life column's title of :func:`wlcsp.analysis.format_table`."""
    return "hand estimate (cycles)" if "hand_estimate" in result else "life (cycles)"


def format_bump(result: Mapping[str, Any], bump: Mapping[str, Any]) -> str:
    """One bump's lives (or hand estimate), alloy-mismatched ones marked with †."""
    labels = result.get("life_constants", {})
    lives = bump.get("life", bump.get("hand_estimate", {}))
    return "  ".join(f"{m}{'' if labels.get(m, {}).get('alloy_match', True) else MISMATCH_MARK}"
                     f"={v:.3g}" for m, v in lives.items())


def format_lines(result: Mapping[str, Any]) -> list[str]:
    """The life lines under the table: the primary life and band, or the screening note."""
    lines = []
    if result.get("screening"):
        lines.append(f"no life: {result['screening']}.")
    primary = result.get("primary")
    if primary is not None:
        lo, hi = primary["band"]
        lines.append(f"primary life: {primary['model']} = {primary['life']:.3g} cycles "
                     f"(band {lo:.3g} .. {hi:.3g}); basis: {primary['basis']}.")
    elif "primary_note" in result:
        lines.append(result["primary_note"] + ".")
    if any(not v["alloy_match"] for v in result.get("life_constants", {}).values()):
        lines.append(f"{MISMATCH_MARK} {result['life_note']}.")
    return lines
