"""The Methods section, generated from the settings of the run and the result tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mgsurv.contract import (
    CONTINUOUS,
    MG_TERM_PREFIX,
    MULTIVARIABLE,
    PAIRWISE_TEST,
    QUARTILE_GROUPING,
    STRATIFIED_LOGRANK_TEST,
)
from mgsurv.report.disclosure import format_patients, is_active, min_count, suppression_note
from mgsurv.report.formatting import (
    ALPHA,
    format_mg,
    format_months,
    in_sentence,
    trimming_text,
    word_list,
)
from mgsurv.report.labels import (
    ENDPOINT_LABELS,
    EVENT_DEFINITIONS,
    adjust_label,
    adjusted_for,
    arms_of,
    definition_text,
    grouping_label,
    term_parts,
    threshold_text,
)
from mgsurv.report.primary import CONTRASTS, MODEL_SOURCES, treatments
from mgsurv.report.provenance import RunRecord
from mgsurv.report.sections.continuous import spline_methods
from mgsurv.report.sections.survival import data_cutoff, min_at_risk
from mgsurv.report.tables import Tables, rows_of, table
from mgsurv.schemas import CONFIG_DEFAULTS
from mgsurv.settings import ReportSettings

# Packages named in the Methods' software sentence (all versions are in the appendix).
KEY_PACKAGES = ("python", "lifelines", "numpy", "scipy", "pandas", "snakemake")


def software_sentence(run: RunRecord) -> str:
    """'Python 3.11.7, lifelines 0.30.3, ...' from the recorded versions ('' without)."""
    versions = run.versions
    named = [
        f"{'Python' if name == 'python' else name} {versions[name]}"
        for name in KEY_PACKAGES
        if name in versions
    ]
    return word_list(named)


def complete_cases(tables: Tables) -> str:
    """How many patients each endpoint's multivariable model used (complete cases)."""
    models = rows_of(tables["cox_models"], model=MULTIVARIABLE)
    return "; ".join(
        f"{in_sentence(ENDPOINT_LABELS.get(str(row['endpoint']), str(row['endpoint'])))}:"
        f" {format_patients(row['n'])} patients, {format_patients(row['events'])} events"
        for _, row in models.iterrows()
    )


def group_definition(row: pd.Series, groups: pd.DataFrame) -> str:
    """An mg_groups row's serum Mg interval; when suppressing small counts, the outer
    quartiles leave out the cohort's lowest and highest value (each one patient's own)."""
    quartiles = groups[groups["grouping"].astype(str) == QUARTILE_GROUPING]
    if is_active() and str(row["grouping"]) == QUARTILE_GROUPING:
        if row["mg_from"] == quartiles["mg_from"].min():
            return f"≤ {row['mg_to']:.3g}"
        if row["mg_to"] == quartiles["mg_to"].max():
            return f"> {row['mg_from']:.3g}"
    return definition_text(str(row["definition"]))


def rmst_tau_text(settings: ReportSettings) -> str:
    """The RMST horizon: the configured tau, or survRM2's default rule."""
    if settings.rmst_tau_months is None:
        return (
            "survRM2's default, per grouping as shown in the tables: the largest τ its rmst2"
            " accepts for every pair of groups, i.e. the smallest over the pairs of the later"
            " of their last follow-up times when both curves reach 0, else of the last time of"
            " the group whose last patient is censored (the earlier one when both are)"
        )
    return f"{format_months(settings.rmst_tau_months)} months"


# How the reader converts input times to months (mgsurv.cohort.reader), in words.
TIME_CONVERSIONS = {
    "days": "1 month = 30.4375 days",
    "weeks": "1 month = 30.4375 / 7 weeks",
    "years": "1 year = 12 months",
}


def units_text(run: RunRecord, settings: ReportSettings) -> str:
    """The input's units and how they were converted, with the threshold in the input's Mg
    unit; '' when the input was in mmol/L and months already."""
    units = run.units
    parts = [run.baseline_mg] if run.baseline_mg else []
    if units["mg"] != "mmol/L":
        parts.append(
            f"Serum magnesium was recorded in {units['mg']} and converted to mmol/L (1 mmol/L ="
            f" {units['mg_per_mmol_l']:.4g} {units['mg']}); the threshold is"
            f" {threshold_text(settings.mg_threshold_mmol_l, units)}."
        )
    if units["time"] == "dates":
        parts.append(
            "Times were computed from the recorded dates (days from treatment start, 1 month"
            " = 30.4375 days)."
        )
    elif units["time"] in TIME_CONVERSIONS:
        parts.append(
            f"Times were recorded in {units['time']} and converted to months"
            f" ({TIME_CONVERSIONS[units['time']]})."
        )
    return " ".join(parts)


def iptw_methods(weighted: pd.DataFrame, settings: ReportSettings) -> str:
    """The weighting analysis as Methods describe it (its trimming from the config); ""
    when it was not computed."""
    if weighted.empty:
        return ""
    trimming = trimming_text(settings.config)
    return (
        "Sensitivity analysis for confounding: within each arm, the propensity of low serum Mg"
        " given the covariates by logistic regression (as R's glm), stabilised inverse"
        f" probability of treatment weights (as WeightIt), {trimming}; covariate balance by"
        " the standardised mean difference before and after weighting (as cobalt: weighted"
        " means over the pooled unweighted SD, p(1 − p) for binary columns; below 0.1 counts"
        " as balanced); weighted Kaplan-Meier curves (as survfit with weights) and the"
        " weighted Cox model of low vs normal Mg with a robust sandwich SE (as coxph with"
        " weights and robust = TRUE). A propensity model that separates the groups gives no"
        " weights."
    )


def imputation_methods(imputed: pd.DataFrame, settings: ReportSettings) -> str:
    """The multiple imputation as Methods describe it (m, iterations and seed from the
    config); "" when nothing was imputed."""
    if imputed.empty:
        return ""
    mi = settings.config.get("multiple_imputation") or CONFIG_DEFAULTS["multiple_imputation"]
    return (
        "Sensitivity analysis for missing covariates: the missing covariate values imputed"
        f" {int(imputed['m'].iloc[0])} times by chained equations ({mi['iterations']}"
        f" iterations per chain, seed {mi['seed']}; R mice's methods: predictive mean matching for"
        " numeric covariates, logistic or multinomial regression for categorical ones, fitted"
        " with statsmodels), with serum Mg, the arm, the event indicator and the Nelson-Aalen"
        " cumulative hazard among the predictors (White & Royston 2009), separately for each"
        " endpoint; the multivariable and per-arm Cox models refitted on each imputation and"
        " pooled by Rubin's rules with Barnard-Rubin degrees of freedom (complete-data df:"
        " events minus coefficients, as mice's pool)."
    )


def threshold_grid_text(thresholds: pd.DataFrame) -> str:
    """The threshold grid as the thresholds table holds it ('from 0.60 to 0.85 mmol/L in
    steps of 0.01'); '' when it was not computed."""
    grid = np.unique(thresholds["threshold_mmol_l"].astype(float))
    if len(grid) == 0:
        return ""
    step = f" in steps of {format_mg(np.diff(grid).min())}" if len(grid) > 1 else ""
    return f"from {format_mg(grid[0])} to {format_mg(grid[-1])} mmol/L{step}"


def primary_methods(
    endpoints: dict[str, str], tables: Tables, settings: ReportSettings, run: RunRecord
) -> dict[str, Any]:
    """What Methods say about the declared primary analysis: its endpoint, population and
    model source; the other endpoint; the comparator arms."""
    arms = treatments(tables["arms"])
    primary = settings.primary
    others = [label for endpoint, label in endpoints.items() if endpoint != primary.endpoint]
    return {
        "declared": arms.declared,
        "single_arm": arms.single_arm,
        "endpoint": in_sentence(ENDPOINT_LABELS.get(primary.endpoint, primary.endpoint)),
        "other_endpoints": word_list([in_sentence(label) for label in others]),
        "arm": arms.immunotherapy or "",
        "comparators": word_list(list(arms.others)),
        "source": MODEL_SOURCES[primary.model],
        "alpha": f"{ALPHA:.0%}",
        "contrast": in_sentence(
            CONTRASTS[primary.contrast].heading.format(
                threshold=threshold_text(settings.mg_threshold_mmol_l, run.units)
            )
        ),
    }


def methods_section(
    endpoints: dict[str, str], tables: Tables, settings: ReportSettings, run: RunRecord
) -> dict[str, Any]:
    """Methods text inputs: data provenance, definitions, statistics and software."""
    summary = tables["km_summary"]
    quartiles = list(
        dict.fromkeys(rows_of(summary, grouping=QUARTILE_GROUPING)["group"].astype(str))
    )
    arms = arms_of(tables["cox"])
    continuous = rows_of(tables["cox"], model=CONTINUOUS)["term"].astype(str)
    continuous = continuous[continuous.str.startswith(MG_TERM_PREFIX)]
    landmarks = dict.fromkeys(tables["landmarks"]["time"].astype(float))
    cutpoint = settings.cutpoint
    groups = tables["mg_groups"]

    def tested(test: str) -> bool:
        return not rows_of(tables["logrank"], test=test).empty

    return {
        "cohort": str(run.cohort),
        "cutoff": data_cutoff(run),
        "min_at_risk": str(min_at_risk(settings)),
        "risk_times": word_list([f"{t:g}" for t in settings.risk_table_times]),
        "software": software_sentence(run),
        "suppression": suppression_note(),
        "suppressed": f"counts below {min_count()} suppressed" if is_active() else "",
        "complete_cases": complete_cases(tables),
        "source": run.source_name,
        "units": units_text(run, settings),
        "sha256": str(run.input_sha256),
        "generated": str(run.generated),
        "threshold": f"{format_mg(settings.mg_threshold_mmol_l)}",
        "quartiles": ", ".join(quartiles),
        "conf_type": str(settings.conf_type),
        "covariates": adjusted_for(tables["cox"]),
        "groups": table(
            "Serum Mg groups (mmol/L)",
            ["Grouping", "Group", "Serum Mg", "n"],
            [
                [
                    grouping_label(str(r["grouping"]), groups),
                    str(r["group"]),
                    group_definition(r, groups),
                    format_patients(r["n"]),
                ]
                for _, r in groups.iterrows()
            ],
            3,
        ),
        "arms": ", ".join(arms),
        "continuous": "; ".join(" ".join(term_parts(t)) for t in dict.fromkeys(continuous)),
        "events": [
            {"label": label, "definition": EVENT_DEFINITIONS.get(endpoint, endpoint)}
            for endpoint, label in endpoints.items()
        ],
        "landmarks": word_list([f"{t:g}" for t in landmarks]),
        "strata": ", ".join(settings.strata) if tested(STRATIFIED_LOGRANK_TEST) else "",
        "pairwise": tested(PAIRWISE_TEST),
        "adjust": adjust_label(settings.pairwise_adjust),
        "tau": rmst_tau_text(settings),
        "ph_transform": str(settings.ph_transform),
        "spline": spline_methods(tables),
        "primary": primary_methods(endpoints, tables, settings, run),
        "threshold_grid": threshold_grid_text(tables["thresholds"]),
        "subgroups": not tables["subgroups"].empty,
        "iptw": iptw_methods(tables["iptw_cox"], settings),
        "imputation": imputation_methods(tables["imputation"], settings),
        "cutpoint": {
            "endpoint": in_sentence(ENDPOINT_LABELS.get(cutpoint.endpoint, cutpoint.endpoint)),
            "minprop": f"{cutpoint.minprop:g}",
            "maxprop": f"{1 - cutpoint.minprop:g}",
        },
    }
