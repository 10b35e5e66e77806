"""The multi-cohort overview's numbers (results/overview/): each cohort's estimate of the
declared primary contrast within its immunotherapy arm, within its other arm, and the ratio
of the two (the Mg x arm interaction); which estimates can be pooled and, for those that
cannot, why; and the pooled estimates (:mod:`mgsurv.stats.pooling`).

Each cohort's estimate is the one its own report declares primary (config ``primary``: the
contrast, and whether the within-arm HR comes from the arm's own Cox model or from the
interaction model), taken from its cox.tsv. An estimate is left out of the pooling, with the
reason, when the cohort has no such arm (no immunotherapy arm declared by its mapping; a
single-arm cohort has no other arm; with several other arms it is not clear which one is
the comparator), when the model gave no finite estimate, when a clinical Mg group of the
arm has fewer than MIN_GROUP_EVENTS events (a log HR from a handful of events is far from
the normal approximation inverse-variance pooling rests on), or when a Mg group has fewer
than ``report_min_count`` patients: a page that is shared must not show that estimate, and
a pooled estimate that included it would give it away beside the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mgsurv.contract import (
    ALL_PATIENTS,
    CLINICAL_GROUPING,
    ENDPOINTS,
    HR_ESTIMATE_COLUMNS,
    IMMUNOTHERAPY_OVER_OTHER,
    OVERVIEW_POPULATIONS,
    OVERVIEW_TABLES,
    SUBSET_COLUMN,
    WITHIN_IMMUNOTHERAPY,
    WITHIN_OTHER,
    arm_model,
)
from mgsurv.report.primary import (
    CONTRASTS,
    Treatments,
    interaction_rows,
    interaction_term,
    treatments,
    within_arm,
)
from mgsurv.settings import OverviewSettings
from mgsurv.stats.pooling import pool

# The columns of cohort_estimates that come from the cohort's cox.tsv row.
ESTIMATE_COLUMNS = (*HR_ESTIMATE_COLUMNS, "coef", "se")
# Fewer events than this in a clinical Mg group of the arm: the estimate is not pooled.
MIN_GROUP_EVENTS = 5


@dataclass(frozen=True)
class CohortTables:
    """The tables of one cohort that the overview reads: cox.tsv, km_summary.tsv (events
    and patients per Mg group), arms.tsv (which arm is immunotherapy) and flow.tsv."""

    cox: pd.DataFrame
    km_summary: pd.DataFrame
    arms: pd.DataFrame
    flow: pd.DataFrame


def population_arms(population: str, declared: Treatments) -> tuple[list[str], str]:
    """The arms a population's estimate is of, or why the cohort has none ([] and the
    reason). A single-arm cohort is its immunotherapy population as a whole."""
    if declared.immunotherapy is None:
        return [], "no immunotherapy arm declared in its mapping"
    if population == WITHIN_IMMUNOTHERAPY:
        return [declared.immunotherapy], ""
    if declared.single_arm or not declared.others:
        return [], "no other arm"
    if len(declared.others) > 1:
        return [], "more than one other arm"
    if population == WITHIN_OTHER:
        return [declared.others[0]], ""
    return [declared.immunotherapy, declared.others[0]], ""


def group_counts(summary: pd.DataFrame, endpoint: str, subset: str) -> pd.DataFrame:
    """Patients and events of the clinical Mg groups in one subset (km_summary.tsv)."""
    rows = summary[
        (summary["endpoint"] == endpoint)
        & (summary[SUBSET_COLUMN] == subset)
        & (summary["grouping"] == CLINICAL_GROUPING)
    ]
    return rows[["group", "n", "events"]]


def exclusion(counts: pd.DataFrame, estimate: pd.Series | None, min_count: int) -> str:
    """Why an estimate is not pooled ('' when it is): see the module docstring."""
    if min_count >= 2 and ((counts["n"] > 0) & (counts["n"] < min_count)).any():
        return f"a serum Mg group of fewer than {min_count} patients (report_min_count)"
    if estimate is None or not np.isfinite(estimate["coef"]) or not np.isfinite(estimate["se"]):
        return "not estimable"
    if len(counts) < 2 or (counts["events"] < MIN_GROUP_EVENTS).any():
        return f"fewer than {MIN_GROUP_EVENTS} events in a serum Mg group"
    return ""


def population_estimate(
    tables: CohortTables, endpoint: str, population: str, settings: OverviewSettings
) -> dict:
    """One cohort's estimate of one population (a row of cohort_estimates)."""
    declared = treatments(tables.arms)
    arms, reason = population_arms(population, declared)
    row = {"endpoint": endpoint, "population": population, "arm": " vs ".join(arms)}
    if not arms:
        return row | {"excluded": reason}
    contrast = CONTRASTS[settings.primary.contrast]
    if population == IMMUNOTHERAPY_OVER_OTHER:
        term = interaction_term(interaction_rows(tables.cox, endpoint, contrast), *arms)
        estimate = None if term is None else flip(term.row) if term.reversed else term.row
    else:
        estimate = within_arm(
            tables.cox, endpoint, arms[0], settings.primary.model, declared.single_arm, contrast
        ).row
    subsets = [ALL_PATIENTS] if declared.single_arm else [arm_model(arm) for arm in arms]
    counts = pd.concat([group_counts(tables.km_summary, endpoint, s) for s in subsets])
    reason = exclusion(counts, estimate, settings.report_min_count)
    if estimate is None:
        return row | {"excluded": reason}
    return row | {column: estimate[column] for column in ESTIMATE_COLUMNS} | {"excluded": reason}


def flip(row: pd.Series) -> pd.Series:
    """An interaction row turned round: the ratio of the HRs the other way up (its p and
    counts unchanged)."""
    flipped = row.copy()
    flipped["coef"], flipped["hr"] = -row["coef"], 1 / row["hr"]
    flipped["hr_lower"], flipped["hr_upper"] = 1 / row["hr_upper"], 1 / row["hr_lower"]
    return flipped


def cohort_estimates(tables: dict[str, CohortTables], settings: OverviewSettings) -> pd.DataFrame:
    """Every cohort's estimate of each population on each endpoint."""
    rows = [
        {"cohort": cohort} | population_estimate(mine, endpoint, population, settings)
        for cohort, mine in tables.items()
        for endpoint in ENDPOINTS
        for population in OVERVIEW_POPULATIONS
    ]
    return pd.DataFrame(rows).reindex(columns=list(OVERVIEW_TABLES["cohort_estimates"]))


def pooled_estimates(estimates: pd.DataFrame) -> pd.DataFrame:
    """Per endpoint and population, the poolable estimates pooled by each method."""
    rows = []
    for endpoint in ENDPOINTS:
        for population in OVERVIEW_POPULATIONS:
            chosen = estimates[
                (estimates["endpoint"] == endpoint)
                & (estimates["population"] == population)
                & (estimates["excluded"].fillna("") == "")
            ]
            for result in pool(chosen["coef"], chosen["se"]):
                rows.append(
                    {
                        "endpoint": endpoint,
                        "population": population,
                        "method": result.method,
                        "k": result.k,
                        "hr": np.exp(result.estimate),
                        "hr_lower": np.exp(result.lower),
                        "hr_upper": np.exp(result.upper),
                        "p": result.p,
                        "df": result.df,
                        "pi_lower": np.exp(result.pi_lower),
                        "pi_upper": np.exp(result.pi_upper),
                        "q": result.q,
                        "q_df": result.q_df,
                        "q_p": result.q_p,
                        "i2_percent": result.i2_percent,
                        "i2_lower": result.i2_lower,
                        "i2_upper": result.i2_upper,
                        "tau2": result.tau2,
                        "tau2_lower": result.tau2_lower,
                        "tau2_upper": result.tau2_upper,
                        "n": int(chosen["n"].sum()),
                        "events": int(chosen["events"].sum()),
                    }
                )
    return pd.DataFrame(rows).reindex(columns=list(OVERVIEW_TABLES["pooled"]))
