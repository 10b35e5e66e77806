"""Is it the missing data? The multivariable Cox model (all patients) and each arm's own
model refitted on multiply imputed covariates (config ``multiple_imputation``) and pooled
by Rubin's rules, to be read beside the complete-case models of cox.tsv.

The incomplete covariates are imputed m times by chained equations
(:mod:`mgsurv.stats.chained_imputation`) within each arm, from each other and from serum
Mg (continuous) and both endpoints' event indicators and Nelson-Aalen cumulative hazards
(White & Royston 2009): the same imputations for PFS and OS. Each model is fitted on every
completed cohort and each coefficient pooled (:mod:`mgsurv.stats.rubin`, complete-data df = events
minus coefficients, as R mice for coxph). Table ``imputation``: one row per model and
coefficient, with the pooled log-HR, SE, HR and CI, p, Barnard-Rubin df, the fraction of
missing information (fmi), m, and the patients and events used (every patient with the
endpoint). Empty when switched off or when no covariate is partly missing (then the
complete-case models already use every patient; a covariate missing for everyone is left
out of both).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mgsurv.analysis.cox_models import model_specs
from mgsurv.contract import (
    ARM_COLUMN,
    ENDPOINT_TABLES,
    ENDPOINTS,
    MG_COLUMN,
    MULTIVARIABLE,
    arm_model,
    event_column,
    time_column,
)
from mgsurv.settings import AnalysisSettings, ImputationSettings
from mgsurv.stats.chained_imputation import impute, nelson_aalen
from mgsurv.stats.cox import fit_cox
from mgsurv.stats.rubin import pool

COLUMNS = ENDPOINT_TABLES["imputation"]


def imputation_predictors(data: pd.DataFrame) -> np.ndarray:
    """The complete predictors of every imputation model: serum Mg and, for each endpoint,
    the event indicator and the Nelson-Aalen cumulative hazard (both endpoints, so that
    missingness that depends on either is at random given the predictors, and PFS and OS
    are analysed on the same imputations)."""
    columns = [data[MG_COLUMN].to_numpy(dtype=float)]
    for endpoint in ENDPOINTS:
        time = data[time_column(endpoint)].to_numpy(dtype=float)
        event = data[event_column(endpoint)].to_numpy(dtype=float)
        columns += [event, nelson_aalen(time, event)]
    return np.column_stack(columns)


def imputed_covariates(
    patients: pd.DataFrame, settings: AnalysisSettings, mi: ImputationSettings
) -> list[pd.DataFrame]:
    """The m completed covariate frames of the patients, imputed within each arm (so that
    the imputation model allows every predictor's effect to differ by arm, as the per-arm
    analyses do; White & Royston 2009), each arm from its own seed."""
    kinds = {spec["name"]: spec["type"] for spec in settings.covariates}
    text = {name: object for name, kind in kinds.items() if kind != "numeric"}
    covariates = patients[list(kinds)].astype(text)
    parts = []
    for index, (_, arm) in enumerate(patients.groupby(ARM_COLUMN, sort=True, observed=True)):
        parts.append(
            impute(
                covariates.loc[arm.index],
                kinds,
                imputation_predictors(arm),
                mi.m,
                mi.iterations,
                mi.seed + index,
            )
        )
    return [pd.concat(arms).loc[patients.index] for arms in zip(*parts, strict=True)]


def imputation_table(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> pd.DataFrame:
    """The pooled coefficients of one endpoint (empty when off or nothing is missing)."""
    mi = settings.multiple_imputation
    time, event = time_column(endpoint), event_column(endpoint)
    patients = data[data[[time, event, MG_COLUMN]].notna().all(axis=1)]
    names = [spec["name"] for spec in settings.covariates]
    imputable = [n for n in names if patients[n].isna().any() and patients[n].notna().any()]
    if mi is None or not imputable:
        return pd.DataFrame(columns=list(COLUMNS))
    completed = imputed_covariates(patients, settings, mi)
    pooled = {MULTIVARIABLE, *(arm_model(str(arm)) for arm in patients[ARM_COLUMN].unique())}
    specs = [spec for spec in model_specs(patients, settings) if spec.name in pooled]
    rows = []
    for spec in specs:
        fits = [
            fit_cox(
                patients.loc[spec.data.index].assign(**imputation.loc[spec.data.index]),
                time,
                event,
                spec.terms,
                spec.strata,
                spec.droppable,
            )
            for imputation in completed
        ]
        rows += _pooled_rows(endpoint, spec.name, fits, mi.m)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _pooled_rows(endpoint: str, model: str, fits: list, m: int) -> list[dict]:
    """Rubin's rules per coefficient; NaN for one not estimated in every imputation."""
    tables = [fit.coefficients.set_index("term") for fit in fits]
    first = fits[0].coefficients
    rows = []
    for term in first["term"]:
        coefs = np.array([t.at[term, "coef"] if term in t.index else np.nan for t in tables])
        ses = np.array([t.at[term, "se"] if term in t.index else np.nan for t in tables])
        n, events = int(first["n"].iloc[0]), int(first["events"].iloc[0])
        row = {"endpoint": endpoint, "model": model, "term": term, "m": m, "n": n, "events": events}
        if np.isfinite(coefs).all() and np.isfinite(ses).all():
            estimated = int(np.isfinite(first["coef"]).sum())
            found = pool(coefs, ses**2, dfcom=max(events - estimated, 1))
            row |= {
                "coef": found.estimate,
                "se": found.std_error,
                "hr": np.exp(found.estimate),
                "hr_lower": np.exp(found.lower),
                "hr_upper": np.exp(found.upper),
                "p": found.p,
                "df": found.df,
                "fmi": found.fmi,
            }
        rows.append(row)
    return rows
