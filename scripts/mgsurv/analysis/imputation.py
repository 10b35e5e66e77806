"""Is it the missing data? The multivariable Cox model (all patients) and each arm's own
model refitted on multiply imputed covariates (config ``multiple_imputation``) and pooled
by Rubin's rules, to be read beside the complete-case models of cox.tsv.

The incomplete covariates are imputed m times by chained equations
(:mod:`mgsurv.stats.chained_imputation`) from each other and from serum Mg (continuous),
the arm, the endpoint's event indicator and its Nelson-Aalen cumulative hazard (White &
Royston 2009), separately for each endpoint; each model is fitted on every completed
cohort and each coefficient pooled (:mod:`mgsurv.stats.rubin`, complete-data df = events
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
    MG_COLUMN,
    MULTIVARIABLE,
    arm_model,
    event_column,
    time_column,
)
from mgsurv.settings import AnalysisSettings
from mgsurv.stats.chained_imputation import impute, nelson_aalen
from mgsurv.stats.cox import fit_cox
from mgsurv.stats.rubin import pool

COLUMNS = ENDPOINT_TABLES["imputation"]


def imputation_predictors(data: pd.DataFrame, endpoint: str) -> np.ndarray:
    """The complete predictors of every imputation model: serum Mg, the arm (0/1 columns
    but the first arm's), the event indicator and the Nelson-Aalen cumulative hazard."""
    time = data[time_column(endpoint)].to_numpy(dtype=float)
    event = data[event_column(endpoint)].to_numpy(dtype=float)
    arms = sorted(data[ARM_COLUMN].astype(str).unique())
    arm_columns = [(data[ARM_COLUMN].astype(str) == arm).to_numpy(float) for arm in arms[1:]]
    mg = data[MG_COLUMN].to_numpy(dtype=float)
    return np.column_stack([mg, *arm_columns, event, nelson_aalen(time, event)])


def imputation_table(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> pd.DataFrame:
    """The pooled coefficients of one endpoint (empty when off or nothing is missing)."""
    mi = settings.multiple_imputation
    names = [spec["name"] for spec in settings.covariates]
    imputable = [n for n in names if data[n].isna().any() and data[n].notna().any()]
    if mi is None or not imputable:
        return pd.DataFrame(columns=list(COLUMNS))
    time, event = time_column(endpoint), event_column(endpoint)
    patients = data[data[[time, event, MG_COLUMN]].notna().all(axis=1)]
    kinds = {spec["name"]: spec["type"] for spec in settings.covariates}
    covariates = patients[names].astype({n: object for n, k in kinds.items() if k != "numeric"})
    imputed = impute(
        covariates,
        kinds,
        imputation_predictors(patients, endpoint),
        mi.m,
        mi.iterations,
        mi.seed,
    )
    pooled = {MULTIVARIABLE, *(arm_model(str(arm)) for arm in patients[ARM_COLUMN].unique())}
    specs = [spec for spec in model_specs(patients, settings) if spec.name in pooled]
    rows = []
    for spec in specs:
        fits = [
            fit_cox(
                patients.loc[spec.data.index].assign(**completed.loc[spec.data.index]),
                time,
                event,
                spec.terms,
                spec.strata,
                spec.droppable,
            )
            for completed in imputed.completed
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
            found = pool(coefs, ses**2, dfcom=max(events - len(first), 1))
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
