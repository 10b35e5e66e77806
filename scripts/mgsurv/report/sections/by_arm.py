"""Low vs normal serum Mg within each treatment arm: the report's Figure 1 and the estimates
behind the headline.

Per endpoint: the Kaplan-Meier curves of the clinical Mg groups side by side, one panel
per arm (all patients for a single-arm cohort), each with its risk table, medians and log-rank
p; the medians per arm as a table; and a forest plot of the low-vs-normal HR from every
model that estimates it (all patients unadjusted, adjusted and arm-stratified; within each
arm from the arm's own model and from the interaction model), with the interaction p.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mgsurv.contract import (
    ALL_PATIENTS,
    ARM_COLUMN,
    CLINICAL_GROUPING,
    KEY_TERM,
    LOGRANK_TEST,
    MULTIVARIABLE,
    STRATIFIED,
    UNIVARIABLE,
    arm_model,
    parse_term,
)
from mgsurv.report.drawing import Figures
from mgsurv.report.figures import KmPanel, axis_times, km_panels_figure
from mgsurv.report.forest import forest_figure
from mgsurv.report.formatting import format_p, in_sentence
from mgsurv.report.labels import grouping_label
from mgsurv.report.primary import (
    ARM_SOURCE,
    INTERACTION_SOURCE,
    Treatments,
    arm_heading,
    cox_row,
    interaction_rows,
    treatments,
    within_arm,
)
from mgsurv.report.sections.survival import median_rows, min_at_risk, risk_table
from mgsurv.report.tables import Tables, blank_repeats, rows_of, slug, table
from mgsurv.settings import ReportSettings


def panel_subsets(arms: Treatments, tables: Tables) -> list[tuple[str, str]]:
    """(subset, arm) of each panel: the immunotherapy arm first, then the others; all
    patients for a single-arm cohort (or arms of an undeclared cohort, alphabetically)."""
    if arms.single_arm:
        return [(ALL_PATIENTS, ALL_PATIENTS)]
    if arms.immunotherapy is None:
        names = sorted(tables["arms"][ARM_COLUMN].astype(str))
    else:
        names = [arms.immunotherapy, *arms.others]
    return [(arm_model(arm), arm) for arm in names]


def arm_km_figure(
    endpoint: str,
    label: str,
    tables: Tables,
    arms: Treatments,
    settings: ReportSettings,
    figures: Figures,
) -> dict[str, Any]:
    """Figure 1 of one endpoint: the clinical Mg groups' KM curves, one panel per arm."""
    panels = []
    for subset, arm in panel_subsets(arms, tables):
        rows = {
            name: rows_of(
                tables[name], endpoint=endpoint, subset=subset, grouping=CLINICAL_GROUPING
            )
            for name in ("km_curves", "km_summary", "logrank")
        }
        tests = rows_of(rows["logrank"], test=LOGRANK_TEST)
        p = float(tests["p"].iloc[0]) if len(tests) else None
        panels.append(KmPanel(rows["km_curves"], rows["km_summary"], p, arm_heading(arm, arms)))
    minimum = min_at_risk(settings)
    drawn = pd.concat([panel.curves for panel in panels])
    risk_times = axis_times(drawn, settings.risk_table_times, minimum)
    risk_tables = []
    for panel in panels:
        groups = [str(g) for g in panel.summary["group"]]
        risk = risk_table(panel.curves, groups, risk_times)
        caption = f"{label}, {panel.title}: {in_sentence(risk['caption'])}"
        risk_tables.append(risk | {"caption": caption})
    figure = km_panels_figure(panels, risk_times, min_at_risk=minimum)
    where = "all patients" if arms.single_arm else "each arm"
    return figures.add(f"km-{endpoint}-by-arm", figure) | {
        "caption": f"{label} by {grouping_label(CLINICAL_GROUPING, tables['mg_groups'])}"
        f" within {where}: Kaplan-Meier curves with 95% CI bands, dashed lines at the"
        " medians, log-rank p per panel; under each, the numbers at risk.",
        "tables": risk_tables,
    }


def arm_median_table(endpoint: str, label: str, tables: Tables, arms: Treatments) -> dict[str, Any]:
    """Median survival of the clinical Mg groups within each arm."""
    rows = []
    for subset, arm in panel_subsets(arms, tables):
        summary = rows_of(
            tables["km_summary"], endpoint=endpoint, subset=subset, grouping=CLINICAL_GROUPING
        )
        rows += [
            [arm_heading(arm, arms), *row[1:]] for row in median_rows(summary, tables["mg_groups"])
        ]
    return table(
        f"{label}: median survival by clinical serum Mg group within each arm (NR: not reached)",
        ["Arm", "Group", "n", "Events", "Median (months)", "95% CI"],
        blank_repeats(rows),
        2,
    )


def low_mg_forest_rows(endpoint: str, tables: Tables, arms: Treatments) -> pd.DataFrame:
    """Every estimate of the low-vs-normal HR of one endpoint, grouped by population."""
    cox = tables["cox"]
    estimates = [
        ("All patients", "unadjusted", cox_row(cox, endpoint, UNIVARIABLE, KEY_TERM)),
        (
            "All patients",
            "adjusted (covariates)" if arms.single_arm else "adjusted (arm, covariates)",
            cox_row(cox, endpoint, MULTIVARIABLE, KEY_TERM),
        ),
        ("All patients", "stratified, adjusted", cox_row(cox, endpoint, STRATIFIED, KEY_TERM)),
    ]
    if not arms.single_arm:
        for _, arm in panel_subsets(arms, tables):
            for source, words in (
                (ARM_SOURCE, "arm's own model"),
                (INTERACTION_SOURCE, "interaction model"),
            ):
                estimate = within_arm(cox, endpoint, arm, source, False)
                estimates.append((arm_heading(arm, arms), words, estimate.row))
    rows = [
        {
            "variable": population,
            "label": model,
            "kind": "estimate",
            **{k: float(row[k]) for k in ("hr", "hr_lower", "hr_upper", "p")},
        }
        for population, model, row in estimates
        if row is not None
    ]
    return pd.DataFrame(
        rows, columns=["variable", "label", "hr", "hr_lower", "hr_upper", "p", "kind"]
    )


def low_mg_forest(
    endpoint: str, label: str, tables: Tables, arms: Treatments, figures: Figures
) -> dict[str, Any] | None:
    """The forest plot of the low-vs-normal HR of one endpoint (None without estimates)."""
    rows = low_mg_forest_rows(endpoint, tables, arms)
    if rows.empty:
        return None
    interaction = interaction_rows(tables["cox"], endpoint)
    compared = [
        (parse_term(str(row["term"])).parts[1].comparison, format_p(row["p"]))
        for _, row in interaction.iterrows()
    ]
    p_text = (
        compared[0][1]
        if len(compared) == 1
        else "; ".join(f"{arms_compared} {p}" for arms_compared, p in compared)
    )
    title = f"{label}: low vs normal serum Mg" + (
        f"; Mg × arm interaction p = {p_text}" if p_text else ""
    )
    figure = forest_figure(
        rows,
        title,
        xlabel="Hazard ratio, low vs normal serum Mg (log scale)",
        variable_header="Patients",
    )
    return figures.add(f"forest-low-mg-{endpoint}", figure) | {
        "caption": f"{label}: the hazard ratio of low vs normal serum Mg from every model that"
        " estimates it. "
        + (
            "All patients: unadjusted; adjusted for the covariates; stratified, where strata"
            " are configured."
            if arms.single_arm
            else "All patients: unadjusted; adjusted for arm and the covariates; with a"
            " separate baseline hazard per stratum. Within each arm: from a Cox model of that"
            " arm's patients alone (its own covariate effects), and from the Mg × arm"
            " interaction model of all patients (covariate effects shared by the arms)."
        )
        + (
            f" The interaction p tests whether the HR differs between arms: {p_text}."
            if p_text
            else ""
        )
    }


def by_arm_section(
    endpoint: str, label: str, tables: Tables, settings: ReportSettings, figures: Figures
) -> dict[str, Any]:
    """Figure 1, the medians per arm and the low-Mg forest plot of one endpoint."""
    arms = treatments(tables["arms"])
    return {
        "id": f"arms-{slug(endpoint)}",
        "label": label,
        "figure": arm_km_figure(endpoint, label, tables, arms, settings, figures),
        "medians": arm_median_table(endpoint, label, tables, arms),
        "forest": low_mg_forest(endpoint, label, tables, arms, figures),
    }
