"""Sensitivity analyses: how robust the primary estimate is. The E-value of the primary
hazard ratio for unmeasured confounding (:mod:`mgsurv.stats.evalue`), with one sentence a
clinician can read and the conversion it used stated; and the low-Mg HR at every threshold
of a grid (:mod:`mgsurv.analysis.threshold_grid`) in the primary population; and the
subgroup forest plot (:mod:`mgsurv.analysis.subgroups`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mgsurv.contract import ALL_PATIENTS, ARM_COLUMN, arm_model
from mgsurv.report.disclosure import format_patients, is_suppressed, min_count
from mgsurv.report.drawing import Figures
from mgsurv.report.figures import SplineView, threshold_figure
from mgsurv.report.forest import forest_figure
from mgsurv.report.formatting import (
    format_ci,
    format_hr,
    format_mg,
    format_p,
    format_percent,
    in_sentence,
    p_phrase,
)
from mgsurv.report.labels import ENDPOINT_LABELS, hr_text, variable_name
from mgsurv.report.primary import (
    CONTRASTS,
    PRIMARY,
    EndpointAnswer,
    Treatments,
    arm_heading,
    cox_row,
)
from mgsurv.report.sections.survival import EVENT_WORDS
from mgsurv.report.tables import Tables, blank_repeats, rows_of, table
from mgsurv.settings import ReportSettings
from mgsurv.stats.evalue import COMMON_OUTCOME, hazard_ratio_evalue

EVALUE_CITATION = "VanderWeele & Ding, Ann Intern Med 2017;167:268–274"
CONVERSION_CITATION = "VanderWeele, Biometrics 2020;76:746–752"


def _finite_ci(row: pd.Series) -> bool:
    """Whether an HR's CI has finite, positive limits (an E-value needs them)."""
    return bool(0 < float(row["hr_lower"]) and np.isfinite(float(row["hr_upper"])))


def event_share(cox: pd.DataFrame, answer: EndpointAnswer, arms: Treatments) -> float:
    """The share of the primary population's patients with the event: from the
    immunotherapy arm's own model (its patients, whichever model the primary HR comes
    from), else from the primary estimate's model (a single arm: all patients)."""
    estimate = answer.immunotherapy
    assert estimate is not None and estimate.row is not None
    row = estimate.row
    if arms.immunotherapy is not None and not arms.single_arm:
        own = cox_row(
            cox,
            answer.endpoint,
            answer.contrast.arm_model(arms.immunotherapy),
            answer.contrast.term,
        )
        row = own if own is not None else row
    return float(row["events"]) / float(row["n"])


def evalue_section(
    answers: list[EndpointAnswer], cox: pd.DataFrame, arms: Treatments, settings: ReportSettings
) -> dict[str, Any]:
    """The E-value of the primary estimate (the HR within the immunotherapy arm, or of the
    cohort, on the primary endpoint): its table and sentences; a note instead when there is
    no estimable primary estimate."""
    primary = next((a for a in answers if a.level == PRIMARY), None)
    estimate = primary.immunotherapy if primary is not None else None
    if (
        primary is None
        or estimate is None
        or estimate.row is None
        or not estimate.estimable
        or not _finite_ci(estimate.row)
    ):
        return {
            "note": "No E-value: the report has no estimable primary hazard ratio with a"
            " finite confidence interval (no immunotherapy arm declared, or too few events).",
            "table": None,
            "text": "",
        }
    row = estimate.row
    share = event_share(cox, primary, arms)
    found = hazard_ratio_evalue(
        float(row["hr"]), float(row["hr_lower"]), float(row["hr_upper"]), share > COMMON_OUTCOME
    )
    common = found.common
    contrast = CONTRASTS[settings.primary.contrast]
    exposure = "low serum Mg" if contrast.expected_sign > 0 else "serum Mg (per 0.1 mmol/L)"
    outcome = EVENT_WORDS.get(primary.endpoint, "the event")
    conversion = (
        f"{format_percent(share)}% of the primary population's patients had the event, more than"
        f" {COMMON_OUTCOME:.0%}, so the outcome is common and the HR was first converted to a"
        " risk ratio (RR ≈ (1 − 0.5^√HR) / (1 − 0.5^√(1/HR)),"
        f" {CONVERSION_CITATION})"
        if common
        else f"{format_percent(share)}% of the primary population's patients had the event, at most"
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


def primary_subset(arms: Treatments) -> tuple[str, str, str]:
    """The thresholds.tsv subset of the primary population, its name in a sentence and how
    its models are adjusted: the immunotherapy arm (its own model: the covariates), or all
    patients (a single arm, or arms not declared: the multivariable model)."""
    if arms.immunotherapy is not None and not arms.single_arm:
        heading = arm_heading(arms.immunotherapy, arms)
        return (
            arm_model(arms.immunotherapy),
            f"the {in_sentence(heading)} arm",
            "the arm's own Cox model, adjusted for the covariates",
        )
    adjusted = "the covariates" if arms.single_arm else "arm and the covariates"
    return ALL_PATIENTS, "all patients", f"the multivariable Cox model, adjusted for {adjusted}"


def _no_grid(note: str) -> dict[str, Any]:
    return {"note": note, "text": "", "table": None, "figure": None, "outlined": False}


def threshold_section(
    tables: Tables, arms: Treatments, settings: ReportSettings, figures: Figures
) -> dict[str, Any]:
    """The low-Mg HR at every threshold of the grid in the primary population, on the
    primary endpoint: a sentence, a figure and a table; a note when not computed."""
    endpoint = settings.primary.endpoint
    subset, population, model = primary_subset(arms)
    grid = rows_of(tables["thresholds"], endpoint=endpoint, subset=subset)
    if grid.empty:
        switched_off = settings.config.get("threshold_grid") is None
        return _no_grid(
            "Not computed (threshold_grid: null in the config)."
            if switched_off
            else "The grid holds no threshold (threshold_grid: lowest is above highest)."
        )
    grid = grid.sort_values("threshold_mmol_l").reset_index(drop=True)
    threshold = settings.mg_threshold_mmol_l
    estimable = grid.dropna(subset=["hr", "hr_lower", "hr_upper"])
    if estimable.empty:
        return _no_grid("No threshold of the grid gave an estimable hazard ratio.")
    above = int((estimable["hr_lower"] > 1).sum())
    below = int((estimable["hr_upper"] < 1).sum())
    label = ENDPOINT_LABELS.get(endpoint, endpoint)
    lowest, highest = grid["threshold_mmol_l"].iloc[[0, -1]]
    text = (
        f"The adjusted hazard ratio of serum Mg below each threshold from {format_mg(lowest)}"
        f" to {format_mg(highest)} mmol/L, refitted in {population} on {label.lower()} with"
        f" {model} (exploratory; the thresholds are not independent tests):"
        f" from {format_hr(estimable['hr'].min())} to {format_hr(estimable['hr'].max())};"
        f" of {len(estimable)} estimable thresholds, {above} give a 95% CI above 1 and"
        f" {below} below 1. A result that holds only near one threshold rests on that cut."
    )
    rows = [
        [
            format_mg(row["threshold_mmol_l"])
            + (" (pre-specified)" if abs(row["threshold_mmol_l"] - threshold) < 1e-9 else ""),
            format_patients(row["n_low"]),
            format_patients(row["n_normal"]),
            f"{format_hr(row['hr'])} {format_ci(row['hr_lower'], row['hr_upper'])}",
            format_p(row["p"]) if pd.notna(row["p"]) else "NA",
        ]
        for _, row in grid.iterrows()
    ]
    outlined = [is_suppressed(n) for n in grid["n_low"]]
    drawn = grid.assign(n_low=grid["n_low"].where(~pd.Series(outlined), min_count()))
    curve = rows_of(tables["spline"], endpoint=endpoint)
    reference = settings.spline_reference_mmol_l
    spline = (
        SplineView(
            curve,
            f"HR against {reference:g} mmol/L",
            "Serum Mg without a cut: restricted cubic spline, all patients (adjusted)",
            tables["mg_distribution"],
            None
            if subset == ALL_PATIENTS
            else rows_of(tables["thresholds"], endpoint=endpoint, subset=ALL_PATIENTS),
        )
        if not curve.empty
        else None
    )
    return {
        "note": "",
        "text": text,
        "spline": spline is not None,
        "table": table(
            f"Hazard ratio of serum Mg below each threshold, {population}, {label} (exploratory)",
            ["Threshold (mmol/L)", "Patients below", "At or above", "HR (95% CI)", "p"],
            rows,
            1,
        ),
        "outlined": any(outlined),
        "figure": figures.add(
            f"thresholds-{endpoint}",
            threshold_figure(
                drawn, threshold, f"{label}: HR of Mg below each threshold", outlined, spline
            ),
        ),
    }


# Where the subgroup forest's plot starts (a fraction of its width): its labels carry each
# level's patients and events beside a two-line variable heading.
SUBGROUP_LABELS_END = 0.5


def subgroup_rows(subgroups: pd.DataFrame, arms: Treatments) -> pd.DataFrame:
    """Forest rows of the subgroup table of one endpoint: a variable (with its interaction
    p) heading its levels (with their patients and events)."""
    rows = []
    for variable, levels in subgroups.groupby("variable", sort=False):
        name = variable_name(str(variable))
        heading = f"{name}\n(interaction {p_phrase(levels['interaction_p'].iloc[0])})"
        for _, row in levels.iterrows():
            level = str(row["level"])
            shown = arm_heading(level, arms) if variable == ARM_COLUMN else level
            counts = f"{format_patients(row['n'])}, {format_patients(row['events'])} events"
            rows.append(
                {
                    "variable": heading,
                    "label": f"{shown} ({counts})",
                    "kind": "estimate",
                    **{k: float(row[k]) for k in ("hr", "hr_lower", "hr_upper", "p")},
                }
            )
    return pd.DataFrame(
        rows, columns=["variable", "label", "hr", "hr_lower", "hr_upper", "p", "kind"]
    )


def subgroup_section(
    tables: Tables, arms: Treatments, settings: ReportSettings, figures: Figures
) -> dict[str, Any]:
    """The subgroup forest plot of the primary endpoint and its table (exploratory)."""
    endpoint = settings.primary.endpoint
    subgroups = rows_of(tables["subgroups"], endpoint=endpoint)
    label = ENDPOINT_LABELS.get(endpoint, endpoint)
    rows = subgroup_rows(subgroups, arms)
    estimable = rows.dropna(subset=["hr", "hr_lower", "hr_upper"])
    if estimable.empty:
        note = (
            "Not computed (subgroups: false in the config)."
            if settings.config.get("subgroups") is False
            else "No subgroup hazard ratio could be estimated."
        )
        return {"note": note, "figure": None, "table": None}
    figure = forest_figure(
        estimable,
        f"{label}: low vs normal serum Mg within subgroups",
        variable_header="Subgroup",
        left=SUBGROUP_LABELS_END,
    )
    table_rows = [
        [
            row["variable"].replace("\n", " "),
            row["label"],
            f"{format_hr(row['hr'])} {format_ci(row['hr_lower'], row['hr_upper'])}",
            format_p(row["p"]) if pd.notna(row["p"]) else "NA",
        ]
        for _, row in rows.iterrows()
    ]
    return {
        "note": "",
        "figure": figures.add(f"subgroups-{endpoint}", figure),
        "table": table(
            f"Low vs normal serum Mg within subgroups, {label} (exploratory)",
            ["Subgroup", "Level (patients, events)", "HR (95% CI)", "p"],
            blank_repeats(table_rows),
            2,
        ),
    }
