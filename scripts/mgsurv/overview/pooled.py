"""The multi-cohort overview: each cohort's key results side by side, the low-Mg hazard
ratios pooled across cohorts, and their heterogeneity (results/index.html's tables,
results/overview/).

Two complementary pooled estimates per endpoint:

* a meta-analysis of the cohorts' multivariable low-Mg log HRs (fixed effect and
  DerSimonian-Laird random effects, with Cochran's Q and I^2; :mod:`mgsurv.stats.pooling`);
* a pooled Cox model on all patients, stratified by cohort (each cohort keeps its own
  baseline hazard), with the same adjustment as each cohort's multivariable model.

Everything is computed from the per-cohort tables and analysis-ready cohorts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mgsurv.analysis.cox_models import arm_terms, covariate_terms, grouping_term
from mgsurv.contract import (
    CLINICAL_GROUPING,
    ENDPOINTS,
    INTERACTION,
    KEY_TERM,
    MULTIVARIABLE,
    OVERVIEW_TABLES,
    event_column,
    time_column,
)
from mgsurv.settings import AnalysisSettings
from mgsurv.stats.cox import fit_cox
from mgsurv.stats.pooling import pool

# pooled.tsv's method of the meta-analysis rows: "meta-analysis, <fixed|random effects>".
META_ANALYSIS = "meta-analysis"


def cohort_estimates(cox_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each cohort's low-Mg HR rows: multivariable, unadjusted and within each arm."""
    rows = []
    for cohort, cox in cox_tables.items():
        key = cox[(cox["term"] == KEY_TERM) & (cox["model"] != INTERACTION)]
        rows.append(key.assign(cohort=cohort))
    return pd.concat(rows, ignore_index=True)[list(OVERVIEW_TABLES["cohort_estimates"])]


def meta_analysis_rows(estimates: pd.DataFrame, endpoint: str) -> list[dict]:
    """Fixed and random-effects pooling of the cohorts' multivariable low-Mg log HRs."""
    chosen = estimates[(estimates["endpoint"] == endpoint) & (estimates["model"] == MULTIVARIABLE)]
    rows = []
    for result in pool(chosen["coef"], chosen["se"]):
        rows.append(
            {
                "endpoint": endpoint,
                "method": f"{META_ANALYSIS}, {result.method}",
                "k": result.k,
                "hr": np.exp(result.estimate),
                "hr_lower": np.exp(result.lower),
                "hr_upper": np.exp(result.upper),
                "p": result.p,
                "q": result.q,
                "q_df": result.q_df,
                "q_p": result.q_p,
                "i2_percent": result.i2_percent,
                "tau2": result.tau2,
                "n": int(chosen["n"].sum()),
                "events": int(chosen["events"].sum()),
            }
        )
    return rows


def stratified_row(
    cohorts: dict[str, pd.DataFrame], endpoint: str, settings: AnalysisSettings
) -> dict:
    """Low vs normal Mg in one Cox model of all patients, stratified by cohort."""
    data = pd.concat([d.assign(cohort=name) for name, d in cohorts.items()], ignore_index=True)
    terms = [grouping_term(CLINICAL_GROUPING), *arm_terms(data, settings)]
    fit = fit_cox(
        data,
        time_column(endpoint),
        event_column(endpoint),
        terms + covariate_terms(settings),
        strata=("cohort",),
    )
    key = fit.coefficients.set_index("term").reindex([KEY_TERM]).iloc[0]
    return {
        "endpoint": endpoint,
        "method": "Cox stratified by cohort",
        "k": len(cohorts),
        "hr": key["hr"],
        "hr_lower": key["hr_lower"],
        "hr_upper": key["hr_upper"],
        "p": key["p"],
        "n": fit.stats["n"],
        "events": fit.stats["events"],
    }


def pooled_estimates(
    estimates: pd.DataFrame, cohorts: dict[str, pd.DataFrame], settings: AnalysisSettings
) -> pd.DataFrame:
    rows = []
    for endpoint in ENDPOINTS:
        rows += meta_analysis_rows(estimates, endpoint)
        rows.append(stratified_row(cohorts, endpoint, settings))
    return pd.DataFrame(rows).reindex(columns=list(OVERVIEW_TABLES["pooled"]))
