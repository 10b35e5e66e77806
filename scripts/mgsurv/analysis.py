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

Degenerate but valid cohorts never raise here; what cannot be estimated is NaN in the
tables, with the reason in ``cox_models.note`` (one row per model fitted, "" when there is
nothing to say; the results-contract columns of the other tables are unchanged):

* no events on the endpoint, or none in one Mg group: the HRs involving it are not
  estimable (monotone likelihood, see :mod:`mgsurv.cox`); Kaplan-Meier medians stay NaN
  (not reached), log-rank tests follow R (NaN without events);
* an Mg group empty after the split (e.g. no patient below the threshold): the grouping's
  Cox rows are NaN with "... left out: it does not vary", its log-rank test NaN, and
  ``mg_groups.tsv`` shows n = 0;
* a covariate constant or missing for everyone: left out of every model with the reason
  in the note (a per-arm subset where a covariate does not vary likewise);
* separation caused by an adjustment term (arm, covariates): the model is refitted without
  it and the note says so; caused by the model's key term (the Mg term, or in the
  interaction model Mg, arm and their product): not estimable;
* the spline (too few patients or distinct Mg values, no events, no convergence): its
  tables are empty or NaN and ``cox_models`` gets a row ``spline`` with the reason (only
  then; the spline's own statistics are in ``nonlinearity``);
* a PH test that cannot be computed is left out, its reason appended to the model's note.

Proportional hazards: when the multivariable model's PH test of the Mg group has p < 0.05,
a model ``time-split`` is added beside it (cheap, and what a reader then asks): the same
model with the low-Mg effect split at the median event time t (episodes (0, t] and (t, ...)
as R's ``survSplit``, fitted exactly as R's start-stop Cox model, see
:func:`time_split_model`), giving terms ``mg_clinical[low vs normal] in (0, t] months``
and ``... after t months``; its cox_models note says why it is there. Covariates flagged
by the PH test get a note on the multivariable model suggesting them as strata.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mgsurv.cox import (
    COX_COLUMNS,
    MAX_ABS_STANDARDISED_COEF,
    MIN_EVENTS_PER_PARAMETER,
    R_CONTROL,
    CoxFit,
    Interaction,
    Term,
    coefficient_rows,
    design_matrix,
    fit_cox,
    linear_combination,
    monotone_columns,
    strata_labels,
)
from mgsurv.coxfit import coxph_fit
from mgsurv.distributions import chi2_sf
from mgsurv.grouping import GROUP_ORDER, GROUPINGS, REFERENCE_GROUP
from mgsurv.km import km_table, median_with_ci, reverse_km_median, survival_at
from mgsurv.logrank import TABLE_COLUMNS as LOGRANK_COLUMNS
from mgsurv.logrank import logrank_table
from mgsurv.rmst import RMST_COLUMNS, rmst_table
from mgsurv.spline import spline_cox
from mgsurv.zph import ZphResult, cox_zph, running_mean_window

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
        else Term(spec["name"], "categorical", reference=_text(spec.get("reference")))
        for spec in settings.covariates
    ]


def _text(reference) -> str | None:
    """A configured reference level as the text it is compared with (``reference: 0``)."""
    return None if reference is None else str(reference)


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
    # Adjustment terms that may be left out to remedy a separation (the rest are key).
    droppable: tuple[str, ...] = field(default=())


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
    adjusting = tuple(t.name for t in arm_terms + covariates)
    covariate_names = tuple(t.name for t in covariates)
    specs = [ModelSpec("univariable", data, [term]) for term in univariable]
    specs += [
        ModelSpec("multivariable", data, [mg_clinical, *arm_terms, *covariates], (), adjusting),
        ModelSpec("continuous", data, [MG_CONTINUOUS, *arm_terms, *covariates], (), adjusting),
    ]
    strata = varying_strata(data, settings)
    if strata:
        adjusters = [t for t in arm_terms + covariates if t.column not in strata]
        specs.append(ModelSpec("stratified", data, [mg_clinical, *adjusters], strata, adjusting))
    if several_arms:
        specs.append(
            ModelSpec(
                "interaction",
                data,
                [mg_clinical, arm, *covariates, Interaction(mg_clinical, arm)],
                (),
                covariate_names,
            )
        )
        specs += [
            ModelSpec(f"arm={name}", subset, [mg_clinical, *covariates], (), covariate_names)
            for name, subset in data.groupby("arm", sort=True, observed=True)
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
PH_ALPHA = 0.05
TIME_SPLIT_MODEL = "time-split"
KEY_COLUMN = "mg_clinical[low vs normal]"


def time_split_model(fit: CoxFit, ph: pd.DataFrame) -> tuple[pd.DataFrame, dict] | None:
    """The multivariable model with the low-Mg effect split at the median event time, when
    the PH test of mg_clinical has p < PH_ALPHA (see the module docstring); else None.

    R fits it as ``coxph(Surv(start, stop, event) ~ ...)`` on the ``survSplit`` episodes
    (0, min(t, cut)] and, for the patients followed beyond the cut, (cut, t]. Every event in
    an early episode is at a time <= cut, where the late episodes (all starting at the cut)
    are not yet at risk, and every event in a late episode is after the cut, where the
    early episodes have ended and all late ones are at risk until their stop. So the
    start-stop partial likelihood is exactly that of a right-censored Cox model of the
    episodes' stop times stratified by period (early, late), which :func:`coxph_fit` fits
    with R's control (``R_CONTROL``) in O(n p^2): R's numbers, without a counting-process
    fitter. The multivariable model is not stratified, so the period is the only stratum.
    """
    tested = ph[ph["term"] == "mg_clinical"]
    if tested.empty or not tested["p"].iloc[0] < PH_ALPHA or KEY_COLUMN not in fit.design:
        return None
    p_value = float(tested["p"].iloc[0])
    time, event = fit.time, fit.event
    cut = float(np.round(np.median(time[event == 1]), 1))
    if not (event[time <= cut].any() and event[time > cut].any()):
        return None
    others = [c for c in fit.design.columns if c != KEY_COLUMN]
    key = fit.design[KEY_COLUMN].to_numpy(dtype=float)
    late = time > cut
    early_name, late_name = (
        f"{KEY_COLUMN} in (0, {cut:g}] months",
        f"{KEY_COLUMN} after {cut:g} months",
    )
    columns = [early_name, late_name, *others]
    # the episodes' design, early rows then late rows, filled column by column: at 10^6
    # patients it is ~1.5e6 x p, and stacking blocks would hold it two or three times
    x = np.zeros((len(key) + int(late.sum()), len(columns)), order="F")
    x[: len(key), 0] = key
    x[len(key) :, 1] = key[late]
    for j, column in enumerate(others, start=2):
        values = fit.design[column].to_numpy(dtype=float)
        x[: len(key), j] = values
        x[len(key) :, j] = values[late]
    stop = np.concatenate([np.minimum(time, cut), time[late]])
    died = np.concatenate([np.where(late, 0, event), event[late]])
    period = np.repeat([0, 1], [len(key), late.sum()])
    n, events = len(key), int(event.sum())
    why = (
        f"beside the multivariable model, whose PH test of mg_clinical has p = {p_value:.2g}:"
        f" the low-Mg HR before and after {cut:g} months (the median event time), adjusted"
        " likewise"
    )
    stats = {
        "model": TIME_SPLIT_MODEL,
        "terms": f"mg_clinical x period (split at {cut:g} months), "
        + ", ".join(t for t in fit.term_columns if t != "mg_clinical"),
        "strata": "",
        "n": n,
        "events": events,
        "parameters": len(columns),
        "events_per_parameter": events / len(columns),
        "epv_below_10": bool(events / len(columns) < MIN_EVENTS_PER_PARAMETER),
        "converged": False,
        "loglik": np.nan,
        "lr_statistic": np.nan,
        "lr_df": len(columns),
        "lr_p": np.nan,
        "concordance": np.nan,
        "note": why,
    }
    try:
        result = coxph_fit(x, stop, died, strata=period, concordance=False, **R_CONTROL)
    except ValueError as err:
        result, reason = None, _first_sentence(err)
    else:
        se = result.se
        if (np.abs(result.coef) * x.std(axis=0) > MAX_ABS_STANDARDISED_COEF).any() or not (
            np.isfinite(se).all() and (se > 0).all()
        ):
            reason = "the estimate diverges (monotone likelihood / separation)"
        elif not result.converged:
            reason = f"the fit did not converge (iter.max = {R_CONTROL['iter_max']})"
        else:
            reason = ""
    if reason:
        stats["note"] = f"{why}; not estimable ({reason})"
        nan = np.full(len(columns), np.nan)
        return coefficient_rows(nan, nan, columns, n, events), stats
    statistic = 2 * (result.loglik[1] - result.loglik[0])
    stats |= {
        "converged": True,
        "loglik": float(result.loglik[1]),
        "lr_statistic": float(statistic),
        "lr_p": float(chi2_sf(statistic, len(columns))),
    }
    return coefficient_rows(result.coef, se, columns, n, events), stats


def ph_notes(ph: pd.DataFrame, settings: AnalysisSettings) -> str:
    """A suggestion for covariates whose PH test in the multivariable model has p < 0.05."""
    categorical = {c["name"] for c in settings.covariates if c["type"] == "categorical"}
    flagged = ph[(ph["p"] < PH_ALPHA) & ph["term"].isin(categorical - set(settings.strata))]
    if flagged.empty:
        return ""
    names = ", ".join(flagged["term"])
    return f"PH test p < {PH_ALPHA} for {names}: consider them as strata (config 'strata')"


def ph_test(fit: CoxFit, transform: str) -> ZphResult | None:
    """R's cox.zph of a fitted model; None when it could not be fitted. Raises ValueError
    or LinAlgError when the test is not defined (e.g. a singular information matrix)."""
    if fit.design.empty:
        return None
    estimated = fit.coefficients.set_index("term").loc[list(fit.design.columns), "coef"]
    return cox_zph(
        fit.design,
        fit.time,
        fit.event,
        estimated.to_numpy(),
        fit.term_columns,
        transform=transform,
        strata=fit.strata,
    )


SCHOENFELD_POINTS = 5000
SCHOENFELD_COLUMNS = [
    "model",
    "term",
    "time",
    "transformed_time",
    "residual",
    "residuals",
    "running_mean",
    "mean",
]


def schoenfeld_long(result: ZphResult) -> pd.DataFrame:
    """Scaled Schoenfeld residuals for the PH plots: per term, at most SCHOENFELD_POINTS
    rows, with what the plot draws from all of them.

    The contract (schoenfeld.tsv): ``residuals`` is how many residuals the term has (one per
    event); when there are more than SCHOENFELD_POINTS (10^5 events would make a table of
    millions of rows), the rows are SCHOENFELD_POINTS of them evenly spaced in event-time
    order, the first and the last included, else all of them. Each row also carries, from
    all the term's residuals in that order, ``running_mean``: their centred running mean
    over ``running_mean_window(residuals)`` residuals at this one (as pandas'
    ``rolling(window, center=True, min_periods=window // 2)``), and ``mean``: their mean
    (the Cox estimate). The PH test itself uses every residual.
    """
    wide = result.residuals.sort_values(["transformed_time", "time"], kind="stable")
    terms = [c for c in wide.columns if c not in ("time", "transformed_time", "stratum")]
    n = len(wide)
    window = running_mean_window(n)
    kept = np.unique(np.linspace(0, n - 1, min(n, SCHOENFELD_POINTS)).round().astype(int))
    parts = []
    for term in terms:
        residual = wide[term]
        smooth = residual.rolling(window, center=True, min_periods=window // 2).mean()
        parts.append(
            pd.DataFrame(
                {
                    "term": term,
                    "time": wide["time"].to_numpy()[kept],
                    "transformed_time": wide["transformed_time"].to_numpy()[kept],
                    "residual": residual.to_numpy()[kept],
                    "residuals": n,
                    "running_mean": smooth.to_numpy()[kept],
                    "mean": residual.mean(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def cox_models(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> dict:
    """Every Cox model of the endpoint: coefficient rows (cox), model statistics
    (cox_models), proportional-hazards tests (ph_test) and the multivariable model's scaled
    Schoenfeld residuals (schoenfeld, bounded: see :func:`schoenfeld_long`)."""
    time, event = f"{endpoint}_months", f"{endpoint}_event"
    coefficients, models, ph_tables, residuals, extra = [], [], [], [], []
    for spec in model_specs(data, settings):
        fit = fit_cox(spec.data, time, event, spec.terms, spec.strata, spec.droppable)
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
        try:
            result = ph_test(fit, settings.ph_transform) if tested else None
        except (ValueError, np.linalg.LinAlgError) as err:
            log.warning("%s %s model: no PH test: %s", endpoint, spec.name, err)
            models[-1]["note"] = "; ".join(
                filter(None, [models[-1]["note"], f"PH test not computed ({err})"])
            )
            result = None
        if result is not None:
            ph_tables.append(result.table.assign(model=spec.name))
            if spec.name == RESIDUALS_MODEL:
                residuals.append(schoenfeld_long(result).assign(model=spec.name))
                suggestion = ph_notes(result.table, settings)
                models[-1]["note"] = "; ".join(filter(None, [models[-1]["note"], suggestion]))
                table, result = result.table, None  # its residuals freed before the fit
                split = time_split_model(fit, table)
                if split is not None:
                    extra_rows, extra_model = split
                    extra.append((extra_rows.assign(model=TIME_SPLIT_MODEL), extra_model))
        # both hold n-row arrays (design, residuals): freed before the next model is fitted
        del fit, result
    for rows, model in extra:
        coefficients.append(rows)
        models.append(model)
    return {
        "cox": labelled(coefficients, endpoint, ["model", *COX_COLUMNS]),
        "cox_models": labelled([pd.DataFrame(models)], endpoint),
        "ph_test": labelled(ph_tables, endpoint, ["model", "term", "chi2", "df", "p"]),
        "schoenfeld": labelled(residuals, endpoint, SCHOENFELD_COLUMNS),
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
    and the likelihood-ratio test of non-linearity (nonlinearity).

    Adjusters missing for everyone, constant, or separating (see :mod:`mgsurv.cox`) are left
    out with a note. When the spline cannot be fitted (fewer than 6 patients or 3 distinct
    knots, no events, no convergence) the tables are empty or NaN and ``spline_model`` holds
    the cox_models row saying why (None otherwise).
    """
    time, event = f"{endpoint}_months", f"{endpoint}_event"
    several_arms = data["arm"].nunique() > 1
    adjusters = [Term("arm", "categorical", reference=reference_arm(data, settings))] * several_arms
    adjusters += covariate_terms(settings)
    notes = [
        f"{t.name} left out: missing for every patient"
        for t in adjusters
        if data[t.column].isna().all()
    ]
    adjusters = [t for t in adjusters if not data[t.column].isna().all()]
    # Dummies of a missing category would read 0: blank the rows with a missing adjuster
    # so that the spline model, like every other, uses complete cases.
    adjust = design_matrix(data, adjusters)
    adjust.loc[data[[t.column for t in adjusters]].isna().any(axis=1)] = np.nan
    complete = adjust.notna().all(axis=1) & data[[time, event, "mg_mmol_l"]].notna().all(axis=1)
    separating = (
        monotone_columns(
            adjust[complete],
            data.loc[complete, time].to_numpy(),
            data.loc[complete, event].to_numpy(),
            None,
        )
        if complete.any() and not adjust.empty
        else {}
    )
    if separating:
        notes.append(f"left out for separation: {', '.join(separating)}")
        adjust = adjust.drop(columns=list(separating))
    n, events = int(complete.sum()), int(data.loc[complete, event].sum())
    try:
        result = spline_cox(
            data[time],
            data[event],
            data["mg_mmol_l"],
            adjust=adjust if not adjust.empty else None,
            reference=settings.spline_reference_mmol_l,
            label="mg_mmol_l",
        )
    except ValueError as err:
        reason = f"not estimable: the spline fit failed ({_first_sentence(err)})"
        if events == 0:
            reason = f"not estimable: no events among the {n} patients"
        log.warning("%s spline model: %s", endpoint, reason)
        return not_estimable_spline(endpoint, settings, n, events, "; ".join([*notes, reason]))
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
    model = None
    if notes:
        model = spline_model_row(result.n, result.events, len(rows), "; ".join(notes))
    return {
        "spline_cox": coefficients,
        "spline_model": model,
        "spline": labelled([result.curve[SPLINE_CURVE_COLUMNS]], endpoint),
        "nonlinearity": labelled([pd.DataFrame([test])], endpoint, NONLINEARITY_COLUMNS),
    }


def _first_sentence(err: BaseException) -> str:
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return text.split(". ")[0].rstrip(".")


def spline_model_row(n: int, events: int, parameters: int, note: str) -> dict:
    """The cox_models row of the spline model (written only when there is a note)."""
    epv = events / parameters if parameters else np.nan
    return {
        "model": "spline",
        "terms": "rcs(mg_mmol_l, 4) + adjusters of the multivariable model",
        "strata": "",
        "n": n,
        "events": events,
        "parameters": parameters,
        "events_per_parameter": epv,
        "epv_below_10": bool(epv < 10),
        "converged": "not estimable" not in note,
        "loglik": np.nan,
        "lr_statistic": np.nan,
        "lr_df": parameters,
        "lr_p": np.nan,
        "concordance": np.nan,
        "note": note,
    }


def not_estimable_spline(
    endpoint: str, settings: AnalysisSettings, n: int, events: int, note: str
) -> dict:
    """The spline tables when the spline cannot be fitted: no curve, a NaN test row."""
    test = {
        "model": "spline",
        "knots": "",
        "reference_mmol_l": settings.spline_reference_mmol_l,
        "statistic": np.nan,
        "df": np.nan,
        "p": np.nan,
        "n": n,
        "events": events,
    }
    return {
        "spline_cox": pd.DataFrame(columns=[*COX_COLUMNS, "model"]),
        "spline_model": spline_model_row(n, events, 0, note),
        "spline": labelled([], endpoint, SPLINE_CURVE_COLUMNS),
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


def analysis_columns(endpoint: str, settings: AnalysisSettings) -> list[str]:
    """The cohort columns the endpoint's analyses use, each once."""
    keep = [
        f"{endpoint}_months",
        f"{endpoint}_event",
        "mg_mmol_l",
        "arm",
        *GROUPINGS,
        *(spec["name"] for spec in settings.covariates),
        *settings.strata,
    ]
    return list(dict.fromkeys(keep))


def compact(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> pd.DataFrame:
    """The cohort columns the endpoint's analyses use, text columns as categoricals.

    The same values (a categorical's categories are its sorted distinct texts, so level
    orders do not change), in a tenth of the memory: at 10^6 patients the prepared cohort's
    text columns take about 600 MB as Python strings, and every subset (Mg group, arm,
    complete cases) copies them.
    """
    data = data[analysis_columns(endpoint, settings)]
    text = [c for c in data.columns if data[c].dtype == object]
    return data.astype(dict.fromkeys(text, "category"))


def read_endpoint_cohort(
    path: str | Path, endpoint: str, settings: AnalysisSettings
) -> pd.DataFrame:
    """The prepared cohort's parquet file as :func:`compact` makes it, read that way.

    Only the endpoint's columns are read, text columns dictionary-decoded straight into
    categoricals (categories then sorted, as ``astype("category")`` sorts them): the same
    frame as ``compact(pd.read_parquet(path), ...)`` without first building every text as a
    Python string (at 10^6 patients ~640 MB). Arrow's memory pool keeps what the read used
    unless told to release it, which would stay in the process beside the analyses.
    """
    columns = analysis_columns(endpoint, settings)
    schema = pq.read_schema(path)
    text = [c for c in columns if _is_text(schema.field(c).type)]
    data = pq.read_table(path, columns=columns, read_dictionary=text).to_pandas()
    pa.default_memory_pool().release_unused()
    for column in text:
        # not astype(CategoricalDtype(sorted)): unordered dtypes with the same categories
        # compare equal, so that would keep the parquet dictionary's order
        values = data[column].cat.remove_unused_categories()
        data[column] = values.cat.reorder_categories(sorted(values.cat.categories))
    return data


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def analyse_endpoint(
    data: pd.DataFrame, endpoint: str, settings: AnalysisSettings
) -> dict[str, pd.DataFrame]:
    """The km_curves, km_summary, logrank and cox tables of one endpoint (of the cohort's
    columns it needs, see :func:`compact`)."""
    data = compact(data, endpoint, settings)
    cox = cox_models(data, endpoint, settings)
    spline = spline_tables(data, endpoint, settings)
    cox["cox"] = labelled(
        [cox["cox"].drop(columns="endpoint"), spline.pop("spline_cox")],
        endpoint,
        ["model", *COX_COLUMNS],
    )
    spline_model = spline.pop("spline_model")
    if spline_model is not None:
        cox["cox_models"] = labelled(
            [cox["cox_models"].drop(columns="endpoint"), pd.DataFrame([spline_model])], endpoint
        )
    return {
        **kaplan_meier(data, endpoint, settings),
        "followup": median_followup(data, endpoint, settings),
        "rmst": rmst_tables(data, endpoint, settings),
        **cox,
        **spline,
        "logrank": logrank_tests(data, endpoint, settings),
    }
