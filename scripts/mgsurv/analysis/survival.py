"""Kaplan-Meier, follow-up, log-rank and RMST tables of one endpoint, per Mg grouping,
for all patients and within each arm.

For each Mg grouping present in the cohort: Kaplan-Meier curves, medians and landmark
survival per group (:mod:`mgsurv.stats.km`), median potential follow-up (reverse
Kaplan-Meier), the log-rank family (:mod:`mgsurv.stats.logrank`) and RMST with its contrasts
against the reference group (:mod:`mgsurv.stats.rmst`). :func:`survival_tables` computes
them for every subset (:func:`subsets`): the question is low vs normal Mg within the
immunotherapy-treated patients, so each arm is analysed on its own as well as pooled.
"""

from __future__ import annotations

import pandas as pd

from mgsurv.cohort.grouping import groups_of, present_groupings
from mgsurv.contract import (
    ALL_PATIENTS,
    ARM_COLUMN,
    ENDPOINT_TABLES,
    GROUP_ORDER,
    LOGRANK_TEST_COLUMNS,
    RMST_COLUMNS,
    SUBSET_COLUMN,
    SUBSET_TABLES,
    arm_model,
    endpoint_table,
    event_column,
    time_column,
)
from mgsurv.settings import AnalysisSettings
from mgsurv.stats.cox import strata_labels
from mgsurv.stats.km import km_table, median_with_ci, reverse_km_median, survival_at
from mgsurv.stats.logrank import logrank_table
from mgsurv.stats.rmst import rmst_table


def subsets(data: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(subset, patients): all patients, then each arm's when the cohort has several arms
    (a single-arm cohort's one arm is all patients), in the arm column's order: alphabetical,
    as the analysis reads text columns as categoricals with sorted categories."""
    parts = [(ALL_PATIENTS, data)]
    if data[ARM_COLUMN].nunique() > 1:
        parts += [
            (arm_model(str(arm)), part)
            for arm, part in data.groupby(ARM_COLUMN, sort=True, observed=True)
        ]
    return parts


def survival_tables(
    data: pd.DataFrame, endpoint: str, settings: AnalysisSettings
) -> dict[str, pd.DataFrame]:
    """The SUBSET_TABLES of the endpoint (KM curves, summary and landmarks, follow-up,
    log-rank family, RMST), each stacked over :func:`subsets` with its ``subset`` column."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in SUBSET_TABLES}
    for subset, patients in subsets(data):
        tables = {
            **kaplan_meier(patients, endpoint, settings),
            "followup": median_followup(patients, endpoint, settings),
            "logrank": logrank_tests(patients, endpoint, settings),
            "rmst": rmst_tables(patients, endpoint, settings),
        }
        for name, table in tables.items():
            parts[name].append(table.assign(**{SUBSET_COLUMN: subset}))
    return {
        name: endpoint_table(tables, endpoint, ENDPOINT_TABLES[name][1:])
        for name, tables in parts.items()
    }


def kaplan_meier(
    data: pd.DataFrame, endpoint: str, settings: AnalysisSettings
) -> dict[str, pd.DataFrame]:
    """KM curves, the per-group summary with medians, and landmark survival, every grouping
    (without the ``subset`` column, which :func:`survival_tables` adds)."""
    curves, summary, landmarks = [], [], []
    time, event = time_column(endpoint), event_column(endpoint)
    for grouping, group, subset in groups_of(data):
        curve = km_table(subset[time].to_numpy(), subset[event].to_numpy(), settings.conf_type)
        median, lower, upper = median_with_ci(curve)
        labels = {"endpoint": endpoint, "grouping": grouping, "group": group}
        curves.append(curve.assign(**labels))
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
        landmarks.append(at.assign(**labels))
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
    return endpoint_table(parts, endpoint, ["grouping", *LOGRANK_TEST_COLUMNS])


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
    return endpoint_table(parts, endpoint, ["grouping", *RMST_COLUMNS])
