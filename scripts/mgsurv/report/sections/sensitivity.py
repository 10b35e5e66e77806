"""Sensitivity analyses: how robust the primary estimate is. For now the E-value of the
primary hazard ratio for unmeasured confounding (:mod:`mgsurv.stats.evalue`), with one
sentence a clinician can read and the conversion it used stated."""

from __future__ import annotations

from typing import Any

from mgsurv.report.formatting import format_ci, format_hr, format_percent
from mgsurv.report.labels import ENDPOINT_LABELS, hr_text
from mgsurv.report.primary import CONTRASTS, PRIMARY, EndpointAnswer
from mgsurv.report.sections.survival import EVENT_WORDS
from mgsurv.report.tables import table
from mgsurv.settings import ReportSettings
from mgsurv.stats.evalue import COMMON_OUTCOME, hazard_ratio_evalue

EVALUE_CITATION = "VanderWeele & Ding, Ann Intern Med 2017;167:268–274"
CONVERSION_CITATION = "VanderWeele, Biometrics 2020;76:746–752"


def evalue_section(answers: list[EndpointAnswer], settings: ReportSettings) -> dict[str, Any]:
    """The E-value of the primary estimate (the HR within the immunotherapy arm, or of the
    cohort, on the primary endpoint): its table and sentences; a note instead when there is
    no estimable primary estimate."""
    primary = next((a for a in answers if a.level == PRIMARY), None)
    estimate = primary.immunotherapy if primary is not None else None
    if primary is None or estimate is None or not estimate.estimable:
        return {
            "note": "No E-value: the report has no estimable primary hazard ratio (no"
            " immunotherapy arm declared, or too few events).",
            "table": None,
            "text": "",
        }
    row = estimate.row
    assert row is not None  # estimable
    share = float(row["events"]) / float(row["n"])
    common = share > COMMON_OUTCOME
    found = hazard_ratio_evalue(
        float(row["hr"]), float(row["hr_lower"]), float(row["hr_upper"]), common
    )
    contrast = CONTRASTS[settings.primary.contrast]
    exposure = "low serum Mg" if contrast.expected_sign > 0 else "serum Mg"
    outcome = EVENT_WORDS.get(primary.endpoint, "the event")
    conversion = (
        f"{format_percent(share)}% of the patients of this model had the event, more than"
        f" {COMMON_OUTCOME:.0%}, so the outcome is common and the HR was first converted to a"
        " risk ratio (RR ≈ (1 − 0.5^√HR) / (1 − 0.5^√(1/HR)),"
        f" {CONVERSION_CITATION})"
        if common
        else f"{format_percent(share)}% of the patients of this model had the event, at most"
        f" {COMMON_OUTCOME:.0%}, so the outcome is rare and the HR is taken as the risk ratio"
    )
    ci_text = (
        "its confidence interval already includes 1"
        if found.ci == 1
        else f"one of {format_hr(found.ci)} each could move its confidence interval to include 1"
    )
    text = (
        f"E-value ({EVALUE_CITATION}) of {contrast.name} on"
        f" {ENDPOINT_LABELS.get(primary.endpoint, primary.endpoint).lower()} ({hr_text(row)},"
        f" {estimate.source}): an unmeasured confounder associated with both {exposure} and"
        f" {outcome} by a risk ratio of {format_hr(found.point)} each, above and beyond the"
        f" covariates adjusted for, could explain away the observed association; {ci_text}."
        f" Weaker confounding could not. {conversion}."
    )
    rows = [
        [
            f"{format_hr(row['hr'])} {format_ci(row['hr_lower'], row['hr_upper'])}",
            f"{format_hr(found.rr)} {format_ci(found.rr_lower, found.rr_upper)}",
            format_hr(found.point),
            format_hr(found.ci),
        ]
    ]
    return {
        "note": "",
        "text": text,
        "table": table(
            f"E-value of the primary estimate ({contrast.name})",
            [
                "Hazard ratio (95% CI)",
                "Risk ratio (95% CI)",
                "E-value: estimate",
                "E-value: CI limit nearer 1",
            ],
            rows,
            0,
        ),
    }
