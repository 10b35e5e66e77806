"""Sensitivity analysis for missing covariates: the low-Mg HR of the complete-case Cox
models beside the same models on multiply imputed covariates
(:mod:`mgsurv.analysis.imputation`), with how much of each covariate is missing per Mg
group (from Table 1's counts, baseline.tsv)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mgsurv.contract import CLINICAL_GROUPING, GROUP_ORDER, KEY_TERM, MULTIVARIABLE
from mgsurv.report.disclosure import format_patients, is_suppressed
from mgsurv.report.formatting import format_p, in_sentence, p_phrase
from mgsurv.report.labels import ENDPOINT_LABELS, hr_with_ci, variable_name
from mgsurv.report.primary import Treatments, arm_heading, cox_row
from mgsurv.report.sections.baseline import group_sizes
from mgsurv.report.sections.by_arm import panel_subsets
from mgsurv.report.tables import Tables, blank_repeats, rows_of, table
from mgsurv.settings import ReportSettings

ALL_GROUPS = "all"


def _models(tables: Tables, arms: Treatments) -> list[tuple[str, str]]:
    """(model, heading): each arm's own model, the immunotherapy arm first, then the
    multivariable model of all patients (a single-arm cohort: that one only)."""
    arm_models = (
        []
        if arms.single_arm
        else [(subset, arm_heading(arm, arms)) for subset, arm in panel_subsets(arms, tables)]
    )
    return [*arm_models, (MULTIVARIABLE, "All patients (multivariable)")]


def _imputed_row(imputed: pd.DataFrame, endpoint: str, model: str) -> pd.Series | None:
    found = rows_of(imputed, endpoint=endpoint, model=model, term=KEY_TERM)
    return found.iloc[0] if len(found) else None


def missingness_table(baseline: pd.DataFrame, settings: ReportSettings):
    """Missing values of each configured covariate, overall and per Mg group (only those
    with any missing), or None when none is missing."""
    groups = [ALL_GROUPS, *GROUP_ORDER[CLINICAL_GROUPING]]
    sizes = group_sizes(baseline, groups)
    rows = []
    for spec in settings.covariates:
        variable = rows_of(baseline, variable=spec["name"])
        missing = [
            int(rows_of(variable, group=g)["missing"].iloc[0])
            if len(rows_of(variable, group=g))
            else 0
            for g in groups
        ]
        if not any(missing):
            continue
        cells = [
            format_patients(count)
            if is_suppressed(count) or not sizes[g]
            else f"{format_patients(count)} ({100 * count / sizes[g]:.1f}%)"
            for g, count in zip(groups, missing, strict=True)
        ]
        rows.append([variable_name(spec["name"]), *cells])
    if not rows:
        return None
    return table(
        "Missing covariate values, overall and per serum Mg group",
        ["Covariate", "All patients", "Normal Mg", "Low Mg"],
        rows,
        1,
    )


def imputation_section(
    tables: Tables, arms: Treatments, settings: ReportSettings
) -> dict[str, Any]:
    """The subsection: a sentence on the primary population, the complete-case vs imputed
    HRs, the missingness table; a note when not computed or nothing is missing."""
    mi = settings.config.get("multiple_imputation", {})
    imputed = tables["imputation"]
    if mi is None:
        return {"note": "Not computed (multiple_imputation: null in the config).", "table": None}
    if imputed.empty:
        return {
            "note": "No configured covariate is missing among the analysed patients: the"
            " complete-case models already use every patient, and imputation would change"
            " nothing.",
            "table": None,
        }
    models = _models(tables, arms)
    rows = []
    for endpoint in dict.fromkeys(imputed["endpoint"]):
        for model, heading in models:
            complete = cox_row(tables["cox"], endpoint, model, KEY_TERM)
            pooled = _imputed_row(imputed, endpoint, model)
            if pooled is None:
                continue
            rows.append(
                [
                    ENDPOINT_LABELS.get(endpoint, endpoint),
                    heading,
                    format_patients(complete["n"]) if complete is not None else "NA",
                    hr_with_ci(complete),
                    format_patients(pooled["n"]),
                    hr_with_ci(pooled),
                    format_p(pooled["p"]) if np.isfinite(float(pooled["p"])) else "NA",
                    f"{pooled['fmi']:.2f}" if np.isfinite(float(pooled["fmi"])) else "NA",
                ]
            )
    return {
        "note": "",
        "text": _sentence(tables, models[0] if arms.declared else models[-1], settings),
        "m": int(imputed["m"].iloc[0]),
        "table": table(
            "Low vs normal serum Mg: complete cases and multiply imputed covariates",
            ["Endpoint", "Model", "Complete cases", "HR (95% CI)", "Imputed", "HR (95% CI)"]
            + ["p", "FMI"],
            blank_repeats(rows),
            2,
            notes=[
                "Complete cases and Imputed: the patients of each model; p of the pooled"
                " estimate (t distribution, Barnard-Rubin df); FMI: the fraction of missing"
                " information of the low-Mg estimate."
            ],
        ),
        "missing": missingness_table(tables["baseline"], settings),
    }


def _sentence(tables: Tables, primary: tuple[str, str], settings: ReportSettings) -> str:
    endpoint = settings.primary.endpoint
    model, heading = primary
    label = ENDPOINT_LABELS.get(endpoint, endpoint).lower()
    pooled = _imputed_row(tables["imputation"], endpoint, model)
    complete = cox_row(tables["cox"], endpoint, model, KEY_TERM)
    population = "all patients" if model == MULTIVARIABLE else f"the {in_sentence(heading)} arm"
    if pooled is None or not np.isfinite(float(pooled["hr"])):
        return f"No pooled hazard ratio in {population} on {label}."
    cases = format_patients(complete["n"]) if complete is not None else "NA"
    return (
        f"With the missing covariates imputed {int(pooled['m'])} times and the Cox model"
        f" refitted on all {format_patients(pooled['n'])} patients, low vs normal serum Mg on"
        f" {label} in {population}: HR {hr_with_ci(pooled)}, {p_phrase(pooled['p'])}, against"
        f" {hr_with_ci(complete)} in the {cases} complete cases. Agreement means that the patients"
        " left out for a missing covariate do not drive the result, provided the values are"
        " missing at random given what the imputation model uses."
    )
