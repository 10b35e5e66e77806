"""The headline box, the first thing on the page: the declared primary analysis's answer.

Per endpoint (the primary first): the low-vs-normal Mg HR with CI and p within the
immunotherapy arm, the same within each other arm, and the Mg x treatment interaction p;
each HR says which model it comes from. Then one plain sentence: whether the pattern is
the one the Mg-LFA-1 hypothesis predicts (an association under immunotherapy, none under
chemotherapy), worded as an association in observational data, never as a cause.
"""

from __future__ import annotations

from typing import Any

from mgsurv.report.disclosure import format_patients
from mgsurv.report.formatting import format_p, p_phrase
from mgsurv.report.labels import ENDPOINT_ABBREVIATIONS, hr_text, threshold_text
from mgsurv.report.primary import (
    PRIMARY,
    EndpointAnswer,
    Estimate,
    answers,
    arm_heading,
    treatments,
)
from mgsurv.report.provenance import RunRecord
from mgsurv.report.tables import Tables, table
from mgsurv.settings import ReportSettings

# The two-sided level at which the headline calls an HR or an interaction "shown".
ALPHA = 0.05
CITATION = (
    "Lötscher et al., Cell 2022;185:585–602, doi:10.1016/j.cell.2021.12.039: Mg²⁺ keeps the"
    " T-cell integrin LFA-1 active"
)
# What each endpoint's event is, in a sentence.
RATE_OF = {"pfs": "progression or death", "os": "death"}


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
    """The interaction p-value(s) of one endpoint ('' for a single-arm cohort)."""
    rows = answer.interaction
    return ", ".join(format_p(p) for p in rows["p"]) if len(rows) else ""


def shown(estimate: Estimate | None) -> int:
    """+1: HR above 1 with p < ALPHA; -1: below 1 with p < ALPHA; 0: neither (or none)."""
    if estimate is None or not estimate.estimable or estimate.row is None:
        return 0
    row = estimate.row
    if not row["p"] < ALPHA:
        return 0
    return 1 if row["hr"] > 1 else -1


def verdict(answer: EndpointAnswer, arms: list[str]) -> str:
    """One plain sentence on the primary endpoint: is the pattern the hypothesis's?"""
    rate = RATE_OF.get(answer.endpoint, "the event")
    io = answer.immunotherapy
    if io is None:
        return (
            "The mapping does not say which arm is immunotherapy (its key arms), so no"
            " primary analysis can be named: the estimates below pool the arms."
        )
    direction = shown(io)
    hypothesis = f"the pattern the Mg–LFA-1 hypothesis predicts ({CITATION})"
    if direction < 0:
        return (
            f"Under immunotherapy, low serum Mg went with a lower rate of {rate}"
            f" ({hr_text(io.row)}): the opposite of {hypothesis}."
        )
    if direction == 0:
        return (
            f"These data do not show an association of low serum Mg with the rate of {rate}"
            f" under immunotherapy ({hr_text(io.row) if io.estimable else 'not estimable'}):"
            f" they do not support {hypothesis}, nor rule it out."
        )
    found = (
        f"Under immunotherapy, low serum Mg was associated with a higher rate of {rate}"
        f" ({hr_text(io.row)})"
    )
    interaction = answer.interaction
    if not arms or interaction.empty:
        return (
            f"{found}, as {hypothesis}; a single-arm cohort cannot show whether this is"
            " specific to immunotherapy."
        )
    p = interaction["p"].min()
    if p < ALPHA:
        return (
            f"{found}, and the association differed from that under {' and '.join(arms)}"
            f" (interaction {p_phrase(p)}): {hypothesis}."
        )
    return (
        f"{found}, as {hypothesis}; but these data do not show that it differs from"
        f" {' and '.join(arms)} (interaction {p_phrase(p)})."
    )


ASSOCIATION = (
    "Observational data: these are associations, adjusted for the covariates listed, not"
    " evidence that magnesium causes the difference."
)


def headline_section(
    endpoints: dict[str, str], tables: Tables, settings: ReportSettings, run: RunRecord
) -> dict[str, Any]:
    """The headline box: one row per endpoint (primary first) and the verdict sentence."""
    arms = treatments(tables["arms"])
    found = answers(tables, list(endpoints), settings.primary)
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
    caption = (
        "Hazard ratio (HR) of low vs normal serum Mg (below"
        f" {threshold_text(settings.mg_threshold_mmol_l, run.units)}) within"
        f" {'the cohort' if arms.single_arm else 'each arm'}{within}"
    )
    return {
        "verdict": verdict(primary, list(arms.others)),
        "source": primary.immunotherapy.source if primary.immunotherapy else "",
        "declared": arms.declared,
        "comparison": bool(others),
        "table": table(caption, columns, rows, 2 + len(others)),
        "association": ASSOCIATION,
    }
