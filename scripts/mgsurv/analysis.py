"""All estimates for one endpoint (PFS or OS): the results-contract tables.

For each Mg grouping: Kaplan-Meier curves and medians per group and the log-rank test.
Cox models (model names as in DESIGN.md):

* ``univariable``: each variable alone (each Mg grouping, continuous Mg, arm, covariates);
* ``multivariable``: Mg low vs normal adjusted for arm and the configured covariates;
* ``continuous``: Mg per 0.1 mmol/L higher, adjusted likewise;
* ``stratified``: as multivariable, with separate baseline hazards per stratum (config
  ``strata``, default the arm) instead of adjusting for the stratum variable;
* ``interaction``: Mg low vs normal, arm and their interaction, adjusted for the covariates:
  the interaction coefficient's p tests whether the low-Mg effect differs between arms (the
  article's claim is that it is specific to immunotherapy), and the derived rows
  ``... within arm=<arm>`` give the low-Mg HR in each arm from this one model;
* ``arm=<arm>``: Mg low vs normal adjusted for the covariates, within each arm (subgroups).

Model-level statistics (n, events, events per parameter with a flag below 10, concordance,
log-likelihood and LR test) go to ``cox_models``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mgsurv.cox import (
    COX_COLUMNS,
    CoxFit,
    Interaction,
    Term,
    coefficient_rows,
    design_matrix,
    fit_cox,
    linear_combination,
    strata_labels,
)
from mgsurv.grouping import GROUP_ORDER, GROUPINGS, REFERENCE_GROUP
from mgsurv.km import km_table, median_with_ci, reverse_km_median, survival_at
from mgsurv.logrank import TABLE_COLUMNS as LOGRANK_COLUMNS
from mgsurv.logrank import logrank_table
from mgsurv.rmst import RMST_COLUMNS, rmst_table
from mgsurv.spline import spline_cox
from mgsurv.zph import ZphResult, cox_zph

log = logging.getLogger(__name__)

MG_PER = 0.1
MG_CONTINUOUS = Term("mg_mmol_l", "numeric", per=MG_PER, label="mg_per_0.1_mmol_l")


@dataclass(frozen=True)
class AnalysisSettings:
    """What to adjust for: covariate specs from the config and the reference arm."""

    covariates: tuple[dict, ...] = ()
    reference_arm: str | None = None
    strata: tuple[str, ...] = ()
    conf_type: str = "log-log"
    landmark_months: tuple[float, ...] = (6.0, 12.0, 24.0)
    rmst_tau_months: float | None = None
    ph_transform: str = "km"
    pairwise_adjust: str = "holm"
    spline_reference_mmol_l: float = 0.85

    @classmethod
    def from_config(cls, config: dict) -> AnalysisSettings:
        """From the validated workflow config (see config/config.yaml)."""
        return cls(
            covariates=tuple(config["covariates"]),
            reference_arm=config["reference_arm"],
            strata=tuple(config["strata"]),
            conf_type=config["conf_type"],
            landmark_months=tuple(config["landmark_months"]),
            rmst_tau_months=config["rmst_tau_months"],
            ph_transform=config["ph_transform"],
            pairwise_adjust=config["pairwise_adjust"],
            spline_reference_mmol_l=config["spline_reference_mmol_l"],
        )


def grouping_term(grouping: str) -> Term:
    return Term(
        grouping,
        "categorical",
        reference=REFERENCE_GROUP[grouping],
        levels=tuple(GROUP_ORDER[grouping]),
    )


def covariate_terms(settings: AnalysisSettings) -> list[Term]:
    return [
        Term(spec["name"], "numeric")
        if spec["type"] == "numeric"
        else Term(spec["name"], "categorical", reference=spec.get("reference"))
        for spec in settings.covariates
    ]


def present_groupings(data: pd.DataFrame) -> list[str]:
    """The groupings that place at least one patient (the cut-point may be missing)."""
    return [grouping for grouping in GROUPINGS if data[grouping].notna().any()]


def groups_of(data: pd.DataFrame):
    """(grouping, group, patients) for every non-empty Mg group, in display order."""
    for grouping in GROUPINGS:
        for group in GROUP_ORDER[grouping]:
            subset = data[data[grouping] == group]
            if not subset.empty:
                yield grouping, group, subset


def kaplan_meier(
    data: pd.DataFrame, endpoint: str, settings: AnalysisSettings
) -> dict[str, pd.DataFrame]:
    """KM curves, the per-group summary with medians, and landmark survival, every grouping."""
    curves, summary, landmarks = [], [], []
    time, event = f"{endpoint}_months", f"{endpoint}_event"
    for grouping, group, subset in groups_of(data):
        curve = km_table(subset[time].to_numpy(), subset[event].to_numpy(), settings.conf_type)
        median, lower, upper = median_with_ci(curve)
        labels = {"endpoint": endpoint, "grouping": grouping, "group": group}
        curves.append(curve.assign(**labels)[[*labels, *curve.columns]])
        summary.append(
            {
                **labels,
                "n": len(subset),
                "events": int(subset[event].sum()),
                "median": median,
                "median_lower": lower,
                "median_upper": upper,
            }
        )
        at = survival_at(curve, list(settings.landmark_months))
        landmarks.append(at.assign(**labels)[[*labels, "time", "surv", "lower", "upper"]])
    return {
        "km_curves": pd.concat(curves, ignore_index=True),
        "km_summary": pd.DataFrame(summary),
        "landmarks": pd.concat(landmarks, ignore_index=True),
    }


def median_followup(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> pd.DataFrame:
    """Median potential follow-up by reverse Kaplan-Meier (censoring as the event), for all
    patients (grouping and group "all") and per Mg group."""
    time, event = f"{endpoint}_months", f"{endpoint}_event"
    parts = [("all", "all", data), *groups_of(data)]
    rows = []
    for grouping, group, subset in parts:
        median, lower, upper = reverse_km_median(
            subset[time].to_numpy(), subset[event].to_numpy(), settings.conf_type
        )
        rows.append(
            {
                "endpoint": endpoint,
                "grouping": grouping,
                "group": group,
                "median_followup": median,
                "lower": lower,
                "upper": upper,
            }
        )
    return pd.DataFrame(rows)


def varying_strata(data: pd.DataFrame, settings: AnalysisSettings) -> tuple[str, ...]:
    """The configured strata that have more than one level in this cohort."""
    return tuple(s for s in settings.strata if data[s].nunique() > 1)


def logrank_tests(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> pd.DataFrame:
    """Per grouping: the log-rank test, stratified (config strata), for trend across ordered
    groups and pairwise with multiplicity adjustment (three or more groups)."""
    strata = strata_labels(data, varying_strata(data, settings))
    parts = [
        logrank_table(
            data[f"{endpoint}_months"],
            data[f"{endpoint}_event"],
            data[grouping],
            GROUP_ORDER[grouping],
            strata=strata,
            adjust=settings.pairwise_adjust,
        ).assign(grouping=grouping)
        for grouping in present_groupings(data)
    ]
    return labelled(parts, endpoint, ["grouping", *LOGRANK_COLUMNS])


@dataclass(frozen=True)
class ModelSpec:
    """One Cox model to fit: its name in the results, its patients, terms and strata."""

    name: str
    data: pd.DataFrame
    terms: list[Term | Interaction]
    strata: tuple[str, ...] = ()


def reference_arm(data: pd.DataFrame, settings: AnalysisSettings) -> str:
    """The configured reference arm when present, else the first arm alphabetically."""
    arms = sorted(data["arm"].dropna().astype(str).unique())
    return settings.reference_arm if settings.reference_arm in arms else arms[0]


def model_specs(data: pd.DataFrame, settings: AnalysisSettings) -> list[ModelSpec]:
    """Every Cox model of an endpoint (see the module docstring), given the cohort's arms."""
    covariates = covariate_terms(settings)
    several_arms = data["arm"].nunique() > 1
    arm = Term("arm", "categorical", reference=reference_arm(data, settings))
    arm_terms = [arm] if several_arms else []
    mg_clinical = grouping_term("mg_clinical")
    univariable = (
        [grouping_term(g) for g in present_groupings(data)]
        + [MG_CONTINUOUS]
        + arm_terms
        + covariates
    )
    specs = [ModelSpec("univariable", data, [term]) for term in univariable]
    specs += [
        ModelSpec("multivariable", data, [mg_clinical, *arm_terms, *covariates]),
        ModelSpec("continuous", data, [MG_CONTINUOUS, *arm_terms, *covariates]),
    ]
    strata = varying_strata(data, settings)
    if strata:
        adjusters = [t for t in arm_terms + covariates if t.column not in strata]
        specs.append(ModelSpec("stratified", data, [mg_clinical, *adjusters], strata))
    if several_arms:
        specs.append(
            ModelSpec(
                "interaction", data, [mg_clinical, arm, *covariates, Interaction(mg_clinical, arm)]
            )
        )
        specs += [
            ModelSpec(f"arm={name}", subset, [mg_clinical, *covariates])
            for name, subset in data.groupby("arm", sort=True)
        ]
    return specs


def low_mg_within_arms(fit: CoxFit, data: pd.DataFrame, settings: AnalysisSettings) -> pd.DataFrame:
    """From the Mg x arm interaction model: the low-Mg log-HR in each arm.

    In the reference arm it is the main effect; in another arm, the main effect plus that
    arm's interaction coefficient (SE from the covariance matrix).
    """
    main = "mg_clinical[low vs normal]"
    reference = reference_arm(data, settings)
    rows = [linear_combination(fit, {main: 1.0}, f"{main} within arm={reference}")]
    for arm in sorted(set(data["arm"].dropna().astype(str)) - {reference}):
        interaction = f"{main}:arm[{arm} vs {reference}]"
        rows.append(
            linear_combination(fit, {main: 1.0, interaction: 1.0}, f"{main} within arm={arm}")
        )
    return pd.concat(rows, ignore_index=True)


PH_TESTED_MODELS = ("multivariable", "continuous", "stratified", "interaction")
RESIDUALS_MODEL = "multivariable"


def ph_test(fit: CoxFit, transform: str) -> ZphResult | None:
    """R's cox.zph of a fitted model; None when it could not be fitted."""
    if fit.design.empty:
        return None
    return cox_zph(
        fit.design,
        fit.time,
        fit.event,
        fit.coefficients["coef"].to_numpy(),
        fit.term_columns,
        transform=transform,
        strata=fit.strata,
    )


def schoenfeld_long(result: ZphResult) -> pd.DataFrame:
    """Scaled Schoenfeld residuals, one row per event and term (for the PH plots)."""
    wide = result.residuals
    terms = [c for c in wide.columns if c not in ("time", "transformed_time", "stratum")]
    long = wide.melt(
        id_vars=["time", "transformed_time"],
        value_vars=terms,
        var_name="term",
        value_name="residual",
    )
    return long[["term", "time", "transformed_time", "residual"]]


def cox_models(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> dict:
    """Every Cox model of the endpoint: coefficient rows (cox), model statistics
    (cox_models), proportional-hazards tests (ph_test) and the multivariable model's scaled
    Schoenfeld residuals (schoenfeld)."""
    time, event = f"{endpoint}_months", f"{endpoint}_event"
    coefficients, models, ph_tables, residuals = [], [], [], []
    for spec in model_specs(data, settings):
        fit = fit_cox(spec.data, time, event, spec.terms, spec.strata)
        rows = fit.coefficients
        if spec.name == "interaction":
            rows = pd.concat(
                [rows, low_mg_within_arms(fit, spec.data, settings)], ignore_index=True
            )
        coefficients.append(rows.assign(model=spec.name))
        models.append(
            {
                "model": spec.name,
                "terms": ", ".join(t.name for t in spec.terms),
                "strata": ", ".join(spec.strata),
                **fit.stats,
            }
        )
        if fit.stats["epv_below_10"]:
            log.warning(
                "%s %s model: %.1f events per parameter (below 10: estimates may be unreliable)",
                endpoint,
                spec.name,
                fit.stats["events_per_parameter"],
            )
        tested = spec.name in PH_TESTED_MODELS or spec.name.startswith("arm=")
        result = ph_test(fit, settings.ph_transform) if tested else None
        if result is not None:
            ph_tables.append(result.table.assign(model=spec.name))
            if spec.name == RESIDUALS_MODEL:
                residuals.append(schoenfeld_long(result).assign(model=spec.name))
    return {
        "cox": labelled(coefficients, endpoint, ["model", *COX_COLUMNS]),
        "cox_models": labelled([pd.DataFrame(models)], endpoint),
        "ph_test": labelled(ph_tables, endpoint, ["model", "term", "chi2", "df", "p"]),
        "schoenfeld": labelled(
            residuals, endpoint, ["model", "term", "time", "transformed_time", "residual"]
        ),
    }


def labelled(parts: list[pd.DataFrame], endpoint: str, columns: list[str] | None = None):
    """Stack tables and put the endpoint first (then ``columns``, when given)."""
    parts = [part for part in parts if not part.empty]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    columns = columns or [c for c in table.columns if c != "endpoint"]
    return table.assign(endpoint=endpoint)[["endpoint", *columns]]


SPLINE_CURVE_COLUMNS = ["mg_mmol_l", "hr", "hr_lower", "hr_upper"]
NONLINEARITY_COLUMNS = ["model", "knots", "reference_mmol_l", "statistic", "df", "p", "n", "events"]


def spline_tables(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> dict:
    """Mg as a restricted cubic spline (4 knots, rms) adjusted like the multivariable model:
    its coefficients (cox, model "spline"), the HR curve against the reference Mg (spline)
    and the likelihood-ratio test of non-linearity (nonlinearity)."""
    time, event = f"{endpoint}_months", f"{endpoint}_event"
    several_arms = data["arm"].nunique() > 1
    adjusters = [Term("arm", "categorical", reference=reference_arm(data, settings))] * several_arms
    adjusters += covariate_terms(settings)
    # Dummies of a missing category would read 0: blank the rows with a missing adjuster
    # so that the spline model, like every other, uses complete cases.
    adjust = design_matrix(data, adjusters)
    adjust.loc[data[[t.column for t in adjusters]].isna().any(axis=1)] = np.nan
    result = spline_cox(
        data[time],
        data[event],
        data["mg_mmol_l"],
        adjust=adjust if adjusters else None,
        reference=settings.spline_reference_mmol_l,
        label="mg_mmol_l",
    )
    rows = result.coefficients
    coefficients = coefficient_rows(
        rows["coef"], rows["se"], rows["term"], result.n, result.events
    ).assign(model="spline")
    test = {
        "model": "spline",
        "knots": ", ".join(f"{k:.4g}" for k in result.knots),
        "reference_mmol_l": result.reference,
        "statistic": result.lr_statistic,
        "df": result.lr_df,
        "p": result.lr_p,
        "n": result.n,
        "events": result.events,
    }
    return {
        "spline_cox": coefficients,
        "spline": labelled([result.curve[SPLINE_CURVE_COLUMNS]], endpoint),
        "nonlinearity": labelled([pd.DataFrame([test])], endpoint, NONLINEARITY_COLUMNS),
    }


def rmst_tables(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> pd.DataFrame:
    """RMST per Mg group and contrasts against the reference group, at tau (config, or
    survRM2's default per grouping)."""
    time, event = f"{endpoint}_months", f"{endpoint}_event"
    parts = []
    for grouping in present_groupings(data):
        table = rmst_table(
            data[time], data[event], data[grouping], GROUP_ORDER[grouping], settings.rmst_tau_months
        )
        parts.append(table.assign(grouping=grouping))
    return labelled(parts, endpoint, ["grouping", *RMST_COLUMNS])


def analyse_endpoint(
    data: pd.DataFrame, endpoint: str, settings: AnalysisSettings
) -> dict[str, pd.DataFrame]:
    """The km_curves, km_summary, logrank and cox tables of one endpoint."""
    cox = cox_models(data, endpoint, settings)
    spline = spline_tables(data, endpoint, settings)
    cox["cox"] = labelled(
        [cox["cox"].drop(columns="endpoint"), spline.pop("spline_cox")],
        endpoint,
        ["model", *COX_COLUMNS],
    )
    return {
        **kaplan_meier(data, endpoint, settings),
        "followup": median_followup(data, endpoint, settings),
        "rmst": rmst_tables(data, endpoint, settings),
        **cox,
        **spline,
        "logrank": logrank_tests(data, endpoint, settings),
    }
