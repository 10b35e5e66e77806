"""The headline box, the first thing on the page: the declared primary analysis's answer.

Per endpoint (the primary first): the low-vs-normal Mg HR with CI and p within the
immunotherapy arm, the same within each other arm, and the Mg x treatment interaction p
comparing each with the immunotherapy arm; a note under the table says which model the
HRs come from. Then one plain sentence: whether the pattern is
the one the Mg-LFA-1 hypothesis predicts (an association under immunotherapy, none under
chemotherapy), worded as an association in observational data, never as a cause.
"""

from __future__ import annotations

from typing import Any

from mgsurv.report.disclosure import format_patients
from mgsurv.report.formatting import ALPHA, format_p, p_phrase, word_list
from mgsurv.report.labels import ENDPOINT_ABBREVIATIONS, hr_text, threshold_text
from mgsurv.report.primary import (
    CONTRASTS,
    PRIMARY,
    EndpointAnswer,
    Estimate,
    Treatments,
    arm_heading,
)
from mgsurv.report.provenance import RunRecord
from mgsurv.report.sections.survival import EVENT_WORDS
from mgsurv.report.tables import table
from mgsurv.settings import ReportSettings

CITATION = (
    "Lötscher et al., Cell 2022;185:585–602, doi:10.1016/j.cell.2021.12.039: Mg²⁺ keeps the"
    " T-cell integrin LFA-1 active"
)


def estimate_cell(estimate: Estimate | None) -> str:
    """An HR for the headline table, with its patients and events."""
    if estimate is None or estimate.row is None:
        return "not in the results"
    row = estimate.row
    if not estimate.estimable:
        return "not estimable"
    return (
        f"{hr_text(row)}; {format_patients(row['n'])} patients,"
        f" {format_patients(row['events'])} events"
    )


def interaction_text(answer: EndpointAnswer) -> str:
    """The interaction p-value(s) of one endpoint: one, or per other arm 'vs X: p' ('not
    tested' where the model has no term for that pair)."""
    texts = {
        arm: "not tested" if p is None else format_p(p) for arm, p in answer.interactions.items()
    }
    if len(texts) == 1:
        return next(iter(texts.values()))
    return "; ".join(f"vs {arm}: {text}" for arm, text in texts.items())


def shown(estimate: Estimate | None, expected_sign: int = 1) -> int:
    """+1: an HR with p < ALPHA in the direction the hypothesis predicts (above 1 when
    ``expected_sign`` is 1, below 1 when -1); -1: one in the other direction; 0: neither
    (or none)."""
    if estimate is None or not estimate.estimable or estimate.row is None:
        return 0
    row = estimate.row
    if not row["p"] < ALPHA:
        return 0
    return expected_sign if row["hr"] > 1 else -expected_sign


def verdict(answer: EndpointAnswer, arms: list[str]) -> str:
    """One plain sentence on the primary endpoint: is the pattern the hypothesis's?"""
    rate = EVENT_WORDS.get(answer.endpoint, "the event")
    io = answer.immunotherapy
    if io is None:
        return (
            "The mapping does not say which arm is immunotherapy (its key arms), so no"
            " primary analysis can be named: the estimates below pool the arms."
        )
    contrast = answer.contrast
    direction = shown(io, contrast.expected_sign)
    hypothesis = f"the pattern the Mg–LFA-1 hypothesis predicts ({CITATION})"
    if direction < 0:
        return (
            f"Under immunotherapy, {contrast.opposite.format(rate=rate)} ({hr_text(io.row)}):"
            f" the opposite of {hypothesis}."
        )
    if direction == 0:
        return (
            f"These data do not show {contrast.absent.format(rate=rate)} under immunotherapy"
            f" ({hr_text(io.row) if io.estimable else 'not estimable'}): they do not support"
            f" {hypothesis}, nor rule it out."
        )
    found = f"Under immunotherapy, {contrast.found.format(rate=rate)} ({hr_text(io.row)})"
    if not arms:
        return (
            f"{found}, as {hypothesis}; a single-arm cohort cannot show whether this is"
            " specific to immunotherapy."
        )
    tested = {arm: p for arm, p in answer.interactions.items() if p is not None}
    if not tested:
        return (
            f"{found}, as {hypothesis}; whether it differs from {word_list(arms)} could not"
            " be estimated (no interaction term)."
        )
    differ = {arm: p for arm, p in tested.items() if p < ALPHA}
    alike = {arm: p for arm, p in tested.items() if p >= ALPHA}
    untested = [arm for arm in arms if arm not in tested]
    if differ and not alike and not untested:
        return (
            f"{found}, and the association differed from that under {word_list(list(differ))}"
            f" ({interaction_phrases(differ)}): {hypothesis}."
        )
    if not differ:
        return (
            f"{found}, as {hypothesis}; but these data do not show that it differs from"
            f" {word_list(list(alike))} ({interaction_phrases(alike)})."
            + (f" Against {word_list(untested)} it was not tested." if untested else "")
        )
    return (
        f"{found}; it differed from that under {word_list(list(differ))}"
        f" ({interaction_phrases(differ)})"
        + (
            f", not clearly from {word_list(list(alike))} ({interaction_phrases(alike)})"
            if alike
            else ""
        )
        + (f"; against {word_list(untested)} it was not tested" if untested else "")
        + f": in part {hypothesis}."
    )


def interaction_phrases(ps: dict[str, float]) -> str:
    """'interaction p = 0.0028' for one arm, 'interaction p = 0.0028 vs X, p = 0.41 vs Y'."""
    if len(ps) == 1:
        return f"interaction {p_phrase(next(iter(ps.values())))}"
    return "interaction " + ", ".join(f"{p_phrase(p)} vs {arm}" for arm, p in ps.items())


ASSOCIATION = (
    "Observational data: these are associations, adjusted for the covariates listed, not"
    " evidence that magnesium causes the difference."
)


def headline_section(
    found: list[EndpointAnswer], arms: Treatments, settings: ReportSettings, run: RunRecord
) -> dict[str, Any]:
    """The headline box: one row per endpoint of ``found`` (the answers, primary first) and
    the verdict sentence."""
    primary = next((a for a in found if a.level == PRIMARY), found[0])
    others = [arm_heading(arm, arms) for arm in arms.others]
    io_heading = arm_heading(arms.immunotherapy or "", arms)
    columns = [
        "Endpoint",
        f"{io_heading} (immunotherapy)" if arms.single_arm else io_heading,
        *others,
        *(["Interaction p"] if others else []),
    ]
    rows = [
        [
            f"{ENDPOINT_ABBREVIATIONS.get(a.endpoint, a.endpoint)} ({a.level})",
            estimate_cell(a.immunotherapy),
            *(estimate_cell(e) for e in a.others),
            *([interaction_text(a)] if others else []),
        ]
        for a in found
    ]
    within = ", and whether it differs between them" if others else ""
    contrast = CONTRASTS[settings.primary.contrast]
    what = contrast.heading.format(
        threshold=threshold_text(settings.mg_threshold_mmol_l, run.units)
    )
    caption = f"{what} within {'the cohort' if arms.single_arm else 'each arm'}{within}"
    return {
        "verdict": verdict(primary, list(arms.others)),
        "source": primary.immunotherapy.source if primary.immunotherapy else "",
        "declared": arms.declared,
        "comparison": bool(others),
        "table": table(caption, columns, rows, 2 + len(others)),
        "association": ASSOCIATION,
        "direction": contrast.reading,
    }
