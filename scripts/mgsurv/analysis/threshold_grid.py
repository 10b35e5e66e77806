"""Does the result hang on one cut? The adjusted low-Mg hazard ratio refitted with "low"
below each threshold of a grid (config ``threshold_grid``), as the multivariable model
(all patients, adjusted for arm and the covariates) and each arm's own model (the
covariates) fit it at the pre-specified threshold: ``coxph(Surv(time, event) ~ mg_clinical
+ arm + covariates)``, refitted with ``mg_clinical`` redefined.

One row per subset and threshold (table ``thresholds``): the model's patients (complete
cases) below the threshold and not (n_low, n_normal), the HR with its 95% CI and Wald p,
and the model's patients and events (n, events); a threshold that leaves a group empty
gives NA.
"""

from __future__ import annotations

import pandas as pd

from mgsurv.analysis.cox_models import arm_terms, covariate_terms, grouping_term, key_estimate
from mgsurv.cohort.grouping import clinical_groups
from mgsurv.contract import (
    ALL_PATIENTS,
    ARM_COLUMN,
    CLINICAL_GROUPING,
    ENDPOINT_TABLES,
    LOW,
    MG_COLUMN,
    NORMAL,
    arm_model,
    event_column,
    time_column,
)
from mgsurv.settings import AnalysisSettings
from mgsurv.stats.cox import fit_cox

COLUMNS = ENDPOINT_TABLES["thresholds"]


def _subsets(data: pd.DataFrame, settings: AnalysisSettings):
    """(subset name, its patients, its adjustment terms): all patients (with the arm when
    there are several arms), then each arm alone."""
    covariates = covariate_terms(settings)
    yield ALL_PATIENTS, data, [*arm_terms(data, settings), *covariates]
    if data[ARM_COLUMN].nunique() > 1:
        for arm, patients in data.groupby(ARM_COLUMN, sort=True, observed=True):
            yield arm_model(str(arm)), patients, covariates


def threshold_grid(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> pd.DataFrame:
    """The thresholds table of one endpoint (empty when the grid is switched off)."""
    grid = settings.threshold_grid
    if grid is None:
        return pd.DataFrame(columns=list(COLUMNS))
    time, event = time_column(endpoint), event_column(endpoint)
    key = grouping_term(CLINICAL_GROUPING)
    rows = []
    for subset, everyone, adjusters in _subsets(data, settings):
        # the model's complete cases: the group sizes are those of the patients in the HR
        needed = [time, event, MG_COLUMN, *(c for term in adjusters for c in term.columns)]
        patients = everyone[everyone[needed].notna().all(axis=1)]
        mg = patients[MG_COLUMN].to_numpy()
        droppable = tuple(term.name for term in adjusters)
        for threshold in grid.thresholds():
            regrouped = patients.assign(**{CLINICAL_GROUPING: clinical_groups(mg, threshold)})
            fit = fit_cox(regrouped, time, event, [key, *adjusters], droppable=droppable)
            rows.append(
                {
                    "endpoint": endpoint,
                    "subset": subset,
                    "threshold_mmol_l": threshold,
                    "n_low": int((regrouped[CLINICAL_GROUPING] == LOW).sum()),
                    "n_normal": int((regrouped[CLINICAL_GROUPING] == NORMAL).sum()),
                    **key_estimate(fit),
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))
