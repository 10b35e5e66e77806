"""The Cox models of one endpoint, their proportional-hazards tests and residuals.

Models (their names are the results contract's, :mod:`mgsurv.contract`):

* ``univariable``: each variable alone (each Mg grouping, continuous Mg, arm, covariates);
* ``multivariable``: Mg low vs normal adjusted for arm and the configured covariates;
* ``continuous``: Mg per 0.1 mmol/L higher, adjusted likewise;
* ``stratified``: as multivariable, with separate baseline hazards per stratum (config
  ``strata``, default the arm) instead of adjusting for the stratum variable;
* ``interaction``: Mg low vs normal, arm and their interaction, adjusted for the covariates:
  the interaction coefficient's p tests whether the low-Mg effect differs between arms (the
  article's claim is that it is specific to immunotherapy), and the derived rows
  ``... within arm=<arm>`` give the low-Mg HR in each arm from this one model;
* ``continuous-interaction``: the same with Mg per 0.1 mmol/L (for the primary contrast
  ``per_0.1_mmol_l``);
* ``arm=<arm>``: Mg low vs normal adjusted for the covariates, within each arm (subgroups);
  ``continuous arm=<arm>``: Mg per 0.1 mmol/L likewise.

Model-level statistics (n, events, events per parameter flagged below the contract's
MIN_EVENTS_PER_PARAMETER, concordance, log-likelihood and LR test) go to ``cox_models``.

Degenerate but valid cohorts never raise here; what cannot be estimated is NaN in the
tables, with the reason in ``cox_models.note`` (one row per model fitted, "" when there is
nothing to say; the results-contract columns of the other tables are unchanged):

* no events on the endpoint, or none in one Mg group: the HRs involving it are not
  estimable (monotone likelihood, see :mod:`mgsurv.stats.cox`); Kaplan-Meier medians stay NaN
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

Proportional hazards: when the multivariable model's PH test of the Mg group has p < PH_ALPHA,
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

import numpy as np
import pandas as pd

from mgsurv.analysis.survival import varying_strata
from mgsurv.cohort.grouping import present_groupings
from mgsurv.contract import (
    ARM_COLUMN,
    CLINICAL_GROUPING,
    CONTINUOUS,
    CONTINUOUS_INTERACTION,
    ENDPOINT_TABLES,
    GROUP_ORDER,
    HR_ESTIMATE_COLUMNS,
    INTERACTION,
    KEY_TERM,
    MG_COLUMN,
    MG_CONTINUOUS_TERM,
    MG_PER,
    MIN_EVENTS_PER_PARAMETER,
    MULTIVARIABLE,
    PH_ALPHA,
    REFERENCE_GROUP,
    RESIDUALS_MODEL,
    SCHOENFELD_COLUMNS,
    SCHOENFELD_SMOOTH_COLUMNS,
    STRATIFIED,
    TIME_SPLIT,
    UNIVARIABLE,
    arm_model,
    categorical_term,
    continuous_arm_model,
    endpoint_table,
    event_column,
    interaction_term,
    model_arm,
    model_statistics,
    model_statistics_row,
    per_unit_term,
    period_terms,
    time_column,
    within_arm_term,
)
from mgsurv.settings import AnalysisSettings, PhTransform
from mgsurv.stats.cox import (
    MAX_ABS_STANDARDISED_COEF,
    R_CONTROL,
    CoxFit,
    Interaction,
    Term,
    coefficient_rows,
    fit_cox,
    linear_combination,
)
from mgsurv.stats.coxph_port import CoxPHResult, coxph_fit
from mgsurv.stats.distributions import chi2_sf
from mgsurv.stats.zph import ZphResult, cox_zph
from mgsurv.stats.zph_plot import zph_smooth

log = logging.getLogger(__name__)

MG_CONTINUOUS = Term(MG_COLUMN, "numeric", per=MG_PER, label=MG_CONTINUOUS_TERM)


def grouping_term(grouping: str) -> Term:
    return Term(
        grouping,
        "categorical",
        reference=REFERENCE_GROUP[grouping],
        levels=tuple(GROUP_ORDER[grouping]),
    )


def covariate_terms(settings: AnalysisSettings) -> list[Term]:
    """The configured covariates as model terms: a numeric one per its ``per`` units of
    ``unit`` when given (``age_per_10_years``), a categorical one against its reference,
    its dummies in the order of its ``levels`` when given."""
    return [covariate_term(spec) for spec in settings.covariates]


def covariate_term(spec: dict) -> Term:
    """One configured covariate as a model term (see :func:`covariate_terms`)."""
    name = spec["name"]
    if spec["type"] == "numeric":
        if "per" not in spec:
            return Term(name, "numeric")
        per = float(spec["per"])
        return Term(name, "numeric", per=per, label=per_unit_term(name, per, spec["unit"]))
    levels = spec.get("levels")
    return Term(
        name,
        "categorical",
        reference=_text(spec.get("reference")),
        levels=tuple(map(str, levels)) if levels else None,
    )


def _text(reference) -> str | None:
    """A configured reference level as the text it is compared with (``reference: 0``)."""
    return None if reference is None else str(reference)


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
    """The configured reference arm (prepare has checked that it occurs), or without one
    (``reference_arm: null``) the first arm alphabetically."""
    if settings.reference_arm is not None:
        return settings.reference_arm
    return min(data[ARM_COLUMN].dropna().astype(str).unique())


def arm_terms(data: pd.DataFrame, settings: AnalysisSettings) -> list[Term]:
    """The arm as an adjustment term (against the reference arm) when the cohort has
    several arms; none for a single-arm cohort."""
    if data[ARM_COLUMN].nunique() < 2:
        return []
    return [Term(ARM_COLUMN, "categorical", reference=reference_arm(data, settings))]


def model_specs(data: pd.DataFrame, settings: AnalysisSettings) -> list[ModelSpec]:
    """Every Cox model of an endpoint (see the module docstring), given the cohort's arms."""
    covariates = covariate_terms(settings)
    arms = arm_terms(data, settings)
    mg_clinical = grouping_term(CLINICAL_GROUPING)
    univariable = (
        [grouping_term(g) for g in present_groupings(data)] + [MG_CONTINUOUS] + arms + covariates
    )
    adjusting = tuple(t.name for t in arms + covariates)
    covariate_names = tuple(t.name for t in covariates)
    specs = [ModelSpec(UNIVARIABLE, data, [term]) for term in univariable]
    specs += [
        ModelSpec(MULTIVARIABLE, data, [mg_clinical, *arms, *covariates], (), adjusting),
        ModelSpec(CONTINUOUS, data, [MG_CONTINUOUS, *arms, *covariates], (), adjusting),
    ]
    strata = varying_strata(data, settings)
    if strata:
        adjusters = [t for t in arms + covariates if t.column not in strata]
        specs.append(ModelSpec(STRATIFIED, data, [mg_clinical, *adjusters], strata, adjusting))
    if arms:
        (arm,) = arms
        for name, key in ((INTERACTION, mg_clinical), (CONTINUOUS_INTERACTION, MG_CONTINUOUS)):
            specs.append(
                ModelSpec(
                    name,
                    data,
                    [key, arm, *covariates, Interaction(key, arm)],
                    (),
                    covariate_names,
                )
            )
        for name, subset in data.groupby(ARM_COLUMN, sort=True, observed=True):
            specs += [
                ModelSpec(arm_model(name), subset, [mg_clinical, *covariates], (), covariate_names),
                ModelSpec(
                    continuous_arm_model(name),
                    subset,
                    [MG_CONTINUOUS, *covariates],
                    (),
                    covariate_names,
                ),
            ]
    return specs


# The interaction models and the Mg term whose effect each gives within every arm.
INTERACTION_KEYS = {INTERACTION: KEY_TERM, CONTINUOUS_INTERACTION: MG_CONTINUOUS_TERM}


def key_estimate(fit: CoxFit) -> dict[str, float]:
    """The low-vs-normal HR of a fitted model as a row's HR_ESTIMATE_COLUMNS (NaN when the
    model could not estimate it)."""
    found = fit.coefficients[fit.coefficients["term"] == KEY_TERM]
    if found.empty:
        return dict.fromkeys(HR_ESTIMATE_COLUMNS, np.nan)
    return {name: found.iloc[0][name] for name in HR_ESTIMATE_COLUMNS}


def low_mg_within_arms(
    fit: CoxFit, data: pd.DataFrame, settings: AnalysisSettings, key: str = KEY_TERM
) -> pd.DataFrame:
    """From an Mg x arm interaction model: the log-HR of the Mg term ``key`` (low vs
    normal, or per 0.1 mmol/L) in each arm.

    In the reference arm it is the main effect; in another arm, the main effect plus that
    arm's interaction coefficient (SE from the covariance matrix).
    """
    reference = reference_arm(data, settings)
    rows = [linear_combination(fit, {key: 1.0}, within_arm_term(key, reference))]
    for arm in sorted(set(data[ARM_COLUMN].dropna().astype(str)) - {reference}):
        interaction = interaction_term(key, categorical_term(ARM_COLUMN, arm, reference))
        rows.append(
            linear_combination(fit, {key: 1.0, interaction: 1.0}, within_arm_term(key, arm))
        )
    return pd.concat(rows, ignore_index=True)


PH_TESTED_MODELS = (MULTIVARIABLE, CONTINUOUS, STRATIFIED, INTERACTION)


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
    tested = ph[ph["term"] == CLINICAL_GROUPING]
    if tested.empty or not tested["p"].iloc[0] < PH_ALPHA or KEY_TERM not in fit.design:
        return None
    p_value = float(tested["p"].iloc[0])
    time, event = fit.time, fit.event
    cut = float(np.round(np.median(time[event == 1]), 1))
    if not (event[time <= cut].any() and event[time > cut].any()):
        return None
    others = [c for c in fit.design.columns if c != KEY_TERM]
    key = fit.design[KEY_TERM].to_numpy(dtype=float)
    late = time > cut
    columns = [*period_terms(KEY_TERM, cut), *others]
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
        f"beside the {MULTIVARIABLE} model, whose PH test of {CLINICAL_GROUPING} has"
        f" p = {p_value:.2g}:"
        f" the low-Mg HR before and after {cut:g} months (the median event time), adjusted"
        " likewise"
    )
    terms = f"{CLINICAL_GROUPING} x period (split at {cut:g} months), " + ", ".join(
        t for t in fit.term_columns if t != CLINICAL_GROUPING
    )
    counts = {"n": n, "events": events, "parameters": len(columns)}
    result, reason = _fit_periods(x, stop, died, period)
    if result is None or reason:
        statistics = model_statistics(
            **counts, converged=False, note=f"{why}; not estimable ({reason})"
        )
        nan = np.full(len(columns), np.nan)
        return (
            coefficient_rows(nan, nan, columns, n, events),
            model_statistics_row(TIME_SPLIT, terms, "", statistics),
        )
    statistic = 2 * (result.loglik[1] - result.loglik[0])
    statistics = model_statistics(
        **counts,
        converged=True,
        loglik=float(result.loglik[1]),
        lr_statistic=float(statistic),
        lr_p=float(chi2_sf(statistic, len(columns))),
        note=why,
    )
    return (
        coefficient_rows(result.coef, result.se, columns, n, events),
        model_statistics_row(TIME_SPLIT, terms, "", statistics),
    )


def _fit_periods(
    x: np.ndarray, stop: np.ndarray, died: np.ndarray, period: np.ndarray
) -> tuple[CoxPHResult | None, str]:
    """The time-split model's fit (stratified by period, see :func:`time_split_model`) and
    why it cannot be reported, "" when it can: coxph_fit rejected the data (no fit), the
    estimate diverges (separation; checked first) or the iterations ran out."""
    try:
        result = coxph_fit(x, stop, died, strata=period, concordance=False, **R_CONTROL)
    except ValueError as err:
        return None, first_sentence(err)
    se = result.se
    if (np.abs(result.coef) * x.std(axis=0) > MAX_ABS_STANDARDISED_COEF).any() or not (
        np.isfinite(se).all() and (se > 0).all()
    ):
        return result, "the estimate diverges (monotone likelihood / separation)"
    if not result.converged:
        return result, f"the fit did not converge (iter.max = {R_CONTROL['iter_max']})"
    return result, ""


def ph_notes(ph: pd.DataFrame, settings: AnalysisSettings) -> str:
    """A suggestion for covariates whose PH test in the multivariable model has p < PH_ALPHA."""
    categorical = {c["name"] for c in settings.covariates if c["type"] == "categorical"}
    flagged = ph[(ph["p"] < PH_ALPHA) & ph["term"].isin(categorical - set(settings.strata))]
    if flagged.empty:
        return ""
    names = ", ".join(flagged["term"])
    return f"PH test p < {PH_ALPHA} for {names}: consider them as strata (config 'strata')"


def ph_test(fit: CoxFit, transform: PhTransform, plotted: bool = False) -> ZphResult | None:
    """R's cox.zph of a fitted model (``plotted``: with the residuals per coefficient that
    the plots draw); None when it could not be fitted. Raises ValueError or LinAlgError
    when the test is not defined (e.g. a singular information matrix)."""
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
        per_coefficient=plotted,
    )


SCHOENFELD_POINTS = 5000


def plotted_residuals(result: ZphResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The residuals per coefficient and their variance (``ph_test(..., plotted=True)``)."""
    if result.coefficient_residuals is None or result.coefficient_var is None:
        raise ValueError("the PH test was run without the residuals per coefficient")
    return result.coefficient_residuals, result.coefficient_var


def coefficient_variables(terms: dict[str, list[str]]) -> dict[str, str]:
    """Each coefficient's PH-test term (a model term and its design columns, inverted)."""
    return {column: term for term, columns in terms.items() for column in columns}


def schoenfeld_long(result: ZphResult, terms: dict[str, list[str]]) -> pd.DataFrame:
    """Scaled Schoenfeld residuals per coefficient, for the PH plots (one panel each, as R's
    ``plot(cox.zph(fit, terms = FALSE))``): at most SCHOENFELD_POINTS rows per coefficient.

    The contract (schoenfeld.tsv): ``variable`` is the coefficient's PH-test term,
    ``residuals`` how many residuals it has (one per event); when there are more than
    SCHOENFELD_POINTS (10^5 events would make a table of millions of rows), the rows are
    SCHOENFELD_POINTS of them evenly spaced in event-time order, the first and the last
    included, else all of them. The smooth (:func:`schoenfeld_smooth`) and the PH test use
    every residual.
    """
    wide = plotted_residuals(result)[0].sort_values(["transformed_time", "time"], kind="stable")
    n = len(wide)
    kept = np.unique(np.linspace(0, n - 1, min(n, SCHOENFELD_POINTS)).round().astype(int))
    parts = [
        pd.DataFrame(
            {
                "variable": variable,
                "term": coefficient,
                "time": wide["time"].to_numpy()[kept],
                "transformed_time": wide["transformed_time"].to_numpy()[kept],
                "residual": wide[coefficient].to_numpy()[kept],
                "residuals": n,
            }
        )
        for coefficient, variable in coefficient_variables(terms).items()
    ]
    return pd.concat(parts, ignore_index=True)


def schoenfeld_smooth(
    result: ZphResult, terms: dict[str, list[str]], coefficients: pd.Series
) -> pd.DataFrame:
    """R's plot.cox.zph smooth of each coefficient's scaled residuals with its +-2 SE band
    (:func:`mgsurv.stats.zph_plot.zph_smooth`), the months at each of its points (for the
    axis labels) and the Cox coefficient (the line a flat beta(t) would follow). A
    coefficient whose residuals are too few for the spline has no rows (its plot is then
    not drawn)."""
    wide, variance = plotted_residuals(result)
    times = wide.drop_duplicates("transformed_time").sort_values("transformed_time")
    parts = []
    for coefficient, variable in coefficient_variables(terms).items():
        var = float(variance.loc[coefficient, coefficient])
        try:
            smooth = zph_smooth(wide["transformed_time"], wide[coefficient], var)
        except ValueError as err:
            log.warning("no PH smooth of %s: %s", coefficient, err)
            continue
        months = np.interp(smooth["transformed_time"], times["transformed_time"], times["time"])
        parts.append(
            smooth.assign(
                variable=variable,
                term=coefficient,
                time=months,
                coef=float(coefficients[coefficient]),
            )
        )
    if not parts:
        return pd.DataFrame(columns=list(SCHOENFELD_SMOOTH_COLUMNS[1:]))
    return pd.concat(parts, ignore_index=True)


def cox_models(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> dict:
    """Every Cox model of the endpoint: coefficient rows (cox), model statistics
    (cox_models), proportional-hazards tests (ph_test) and the multivariable model's scaled
    Schoenfeld residuals per coefficient (schoenfeld, bounded: see :func:`schoenfeld_long`)
    with R's smooth of each (schoenfeld_smooth)."""
    time, event = time_column(endpoint), event_column(endpoint)
    coefficients, models, ph_tables, residuals, smooths, extra = [], [], [], [], [], []
    for spec in model_specs(data, settings):
        fit = fit_cox(spec.data, time, event, spec.terms, spec.strata, spec.droppable)
        rows = fit.coefficients
        if spec.name in INTERACTION_KEYS:
            within = low_mg_within_arms(fit, spec.data, settings, INTERACTION_KEYS[spec.name])
            rows = pd.concat([rows, within], ignore_index=True)
        coefficients.append(rows.assign(model=spec.name))
        models.append(
            model_statistics_row(
                spec.name,
                ", ".join(t.name for t in spec.terms),
                ", ".join(spec.strata),
                fit.stats,
            )
        )
        if fit.stats["epv_below_10"]:
            log.warning(
                "%s %s model: %.1f events per parameter (below %d: estimates may be unreliable)",
                endpoint,
                spec.name,
                fit.stats["events_per_parameter"],
                MIN_EVENTS_PER_PARAMETER,
            )
        tested = spec.name in PH_TESTED_MODELS or model_arm(spec.name) is not None
        try:
            plotted = spec.name == RESIDUALS_MODEL
            result = ph_test(fit, settings.ph_transform, plotted) if tested else None
        except (ValueError, np.linalg.LinAlgError) as err:
            log.warning("%s %s model: no PH test: %s", endpoint, spec.name, err)
            models[-1]["note"] = "; ".join(
                filter(None, [models[-1]["note"], f"PH test not computed ({err})"])
            )
            result = None
        if result is not None:
            ph_tables.append(result.table.assign(model=spec.name))
            if spec.name == RESIDUALS_MODEL:
                terms = dict(fit.term_columns)
                residuals.append(schoenfeld_long(result, terms).assign(model=spec.name))
                estimates = fit.coefficients.set_index("term")["coef"]
                smooths.append(schoenfeld_smooth(result, terms, estimates).assign(model=spec.name))
                suggestion = ph_notes(result.table, settings)
                models[-1]["note"] = "; ".join(filter(None, [models[-1]["note"], suggestion]))
                table, result = result.table, None  # its residuals freed before the fit
                split = time_split_model(fit, table)
                if split is not None:
                    extra_rows, extra_model = split
                    extra.append((extra_rows.assign(model=TIME_SPLIT), extra_model))
        # both hold n-row arrays (design, residuals): freed before the next model is fitted
        del fit, result
    for rows, model in extra:
        coefficients.append(rows)
        models.append(model)
    return {
        "cox": endpoint_table(coefficients, endpoint, ENDPOINT_TABLES["cox"][1:]),
        "cox_models": endpoint_table(
            [pd.DataFrame(models)], endpoint, ENDPOINT_TABLES["cox_models"][1:]
        ),
        "ph_test": endpoint_table(ph_tables, endpoint, ENDPOINT_TABLES["ph_test"][1:]),
        "schoenfeld": endpoint_table(residuals, endpoint, SCHOENFELD_COLUMNS),
        "schoenfeld_smooth": endpoint_table(smooths, endpoint, SCHOENFELD_SMOOTH_COLUMNS),
    }


def first_sentence(err: BaseException) -> str:
    """The first sentence of an error's message, for a note in cox_models.tsv."""
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return text.split(". ")[0].rstrip(".")
