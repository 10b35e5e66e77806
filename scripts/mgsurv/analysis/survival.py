"""Kaplan-Meier, follow-up, log-rank and RMST tables of one endpoint, per Mg grouping.

For each Mg grouping present in the cohort: Kaplan-Meier curves, medians and landmark
survival per group (:mod:`mgsurv.stats.km`), median potential follow-up (reverse
Kaplan-Meier), the log-rank family (:mod:`mgsurv.stats.logrank`) and RMST with its contrasts
against the reference group (:mod:`mgsurv.stats.rmst`).
"""

from __future__ import annotations

import pandas as pd

from mgsurv.cohort.grouping import groups_of, present_groupings
from mgsurv.contract import (
    ALL_PATIENTS,
    ENDPOINT_TABLES,
    GROUP_ORDER,
    endpoint_table,
    event_column,
    time_column,
)
from mgsurv.settings import AnalysisSettings
from mgsurv.stats.cox import strata_labels
from mgsurv.stats.km import km_table, median_with_ci, reverse_km_median, survival_at
from mgsurv.stats.logrank import logrank_table
from mgsurv.stats.rmst import rmst_table


def kaplan_meier(
    data: pd.DataFrame, endpoint: str, settings: AnalysisSettings
) -> dict[str, pd.DataFrame]:
    """KM curves, the per-group summary with medians, and landmark survival, every grouping."""
    curves, summary, landmarks = [], [], []
    time, event = time_column(endpoint), event_column(endpoint)
    for grouping, group, subset in groups_of(data):
        curve = km_table(subset[time].to_numpy(), subset[event].to_numpy(), settings.conf_type)
        median, lower, upper = median_with_ci(curve)
        labels = {"endpoint": endpoint, "grouping": grouping, "group": group}
        curves.append(curve.assign(**labels)[list(ENDPOINT_TABLES["km_curves"])])
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
        landmarks.append(at.assign(**labels)[list(ENDPOINT_TABLES["landmarks"])])
    return {
        "km_curves": pd.concat(curves, ignore_index=True),
        "km_summary": pd.DataFrame(summary),
        "landmarks": pd.concat(landmarks, ignore_index=True),
    }


def median_followup(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> pd.DataFrame:
    """Median potential follow-up by reverse Kaplan-Meier (censoring as the event), for all
    patients (grouping and group ALL_PATIENTS) and per Mg group."""
    time, event = time_column(endpoint), event_column(endpoint)
    parts = [(ALL_PATIENTS, ALL_PATIENTS, data), *groups_of(data)]
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
            data[time_column(endpoint)],
            data[event_column(endpoint)],
            data[grouping],
            GROUP_ORDER[grouping],
            strata=strata,
            adjust=settings.pairwise_adjust,
        ).assign(grouping=grouping)
        for grouping in present_groupings(data)
    ]
    return endpoint_table(parts, endpoint, ENDPOINT_TABLES["logrank"][1:])


def rmst_tables(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> pd.DataFrame:
    """RMST per Mg group and contrasts against the reference group, at tau (config, or
    survRM2's default per grouping)."""
    time, event = time_column(endpoint), event_column(endpoint)
    parts = []
    for grouping in present_groupings(data):
        table = rmst_table(
            data[time], data[event], data[grouping], GROUP_ORDER[grouping], settings.rmst_tau_months
        )
        parts.append(table.assign(grouping=grouping))
    return endpoint_table(parts, endpoint, ENDPOINT_TABLES["rmst"][1:])
