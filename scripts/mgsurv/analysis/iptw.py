"""Is it confounding? Low vs normal Mg (at the pre-specified threshold) weighted for the
configured covariates by inverse probability of treatment weighting (config ``iptw``),
within each arm (or the whole cohort when it has one arm), with :mod:`mgsurv.stats.propensity`
for the weights and balance and :mod:`mgsurv.stats.robust_cox` for the weighted Cox model:

* ``iptw_cox``: the weighted HR of low Mg with its robust (sandwich) CI and p, the model's
  patients and events, or a note saying why there is none (no covariates configured, a
  group without patients, a propensity model that separates the groups);
* ``iptw_balance``: each covariate column's standardised mean difference before and after
  weighting (a numeric covariate as recorded; a two-level one's non-reference level; every
  level of one with more);
* ``iptw_weights``: the weights' distribution per Mg group (quantiles, Kish's effective
  sample size, how many were trimmed);
* ``iptw_km``: the weighted (adjusted) Kaplan-Meier curve of each Mg group, with the
  patients at risk for its risk table.

The patients are the complete cases of the covariates (those the propensity needs).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from mgsurv.analysis.cox_models import covariate_term
from mgsurv.contract import (
    ALL_PATIENTS,
    ARM_COLUMN,
    CLINICAL_GROUPING,
    ENDPOINT_TABLES,
    GROUP_ORDER,
    HR_ESTIMATE_COLUMNS,
    LOW,
    NORMAL,
    arm_model,
    event_column,
    time_column,
)
from mgsurv.settings import AnalysisSettings, IptwSettings
from mgsurv.stats.cox import coefficient_rows, design_matrix
from mgsurv.stats.km import weighted_km
from mgsurv.stats.propensity import (
    effective_sample_size,
    fit_propensity,
    stabilised_weights,
    standardised_differences,
    trim_weights,
)
from mgsurv.stats.robust_cox import robust_cox

IPTW_TABLES = ("iptw_cox", "iptw_balance", "iptw_weights", "iptw_km")


def _subsets(data: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each arm's patients, or all patients when the cohort has one arm."""
    if data[ARM_COLUMN].nunique() > 1:
        for arm, patients in data.groupby(ARM_COLUMN, sort=True, observed=True):
            yield arm_model(str(arm)), patients
    else:
        yield ALL_PATIENTS, data


def balance_columns(data: pd.DataFrame, specs: list[dict]) -> pd.DataFrame:
    """The covariates as cobalt shows them: a numeric one as recorded, a categorical one as
    0/1 columns of its levels (in the config's ``levels`` order, then sorted; only the
    non-reference one when it has two), named (variable, level) with level "" for a
    numeric one."""
    columns: dict[tuple[str, str], pd.Series] = {}
    for spec in specs:
        values = data[spec["name"]]
        if spec["type"] == "numeric":
            columns[(spec["name"], "")] = values.astype(float)
            continue
        texts = values.astype(str)
        present = sorted(texts.unique())
        listed = [str(level) for level in spec.get("levels") or [] if str(level) in present]
        levels = list(dict.fromkeys([*listed, *present]))
        if len(levels) == 2:
            reference = str(spec.get("reference"))
            levels = [level for level in levels if level != reference][:1]
        for level in levels:
            columns[(spec["name"], level)] = (texts == level).astype(float)
    return pd.DataFrame(columns, index=data.index)


def group_masks(low: np.ndarray) -> dict[str, np.ndarray]:
    """Each clinical Mg group's patients (in the groups' order) from the low-Mg mask."""
    return {group: low if group == LOW else ~low for group in GROUP_ORDER[CLINICAL_GROUPING]}


def _weights_rows(
    endpoint: str, subset: str, weights: np.ndarray, low: np.ndarray, trimmed: np.ndarray
) -> list[dict]:
    rows = []
    for group, mine in group_masks(low).items():
        values = weights[mine]
        q = np.quantile(values, [0, 0.25, 0.5, 0.75, 1])
        rows.append(
            {
                "endpoint": endpoint,
                "subset": subset,
                "group": group,
                "n": int(mine.sum()),
                "effective_n": effective_sample_size(values),
                **dict(zip(("min", "q1", "median", "q3", "max"), q, strict=True)),
                "n_trimmed": int(trimmed[mine].sum()),
            }
        )
    return rows


def _km_rows(
    endpoint: str, subset: str, time: np.ndarray, event: np.ndarray, weights, low
) -> list[pd.DataFrame]:
    curves = []
    for group, mine in group_masks(low).items():
        curve = weighted_km(time[mine], event[mine], weights[mine])
        curves.append(curve.assign(endpoint=endpoint, subset=subset, group=group))
    return curves


class _Tables:
    """The four tables' rows of one endpoint, as they are built."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.cox: list[dict] = []
        self.balance: list[pd.DataFrame] = []
        self.weights: list[dict] = []
        self.km: list[pd.DataFrame] = []

    def note(self, subset: str, patients: pd.DataFrame, event: str, why: str) -> None:
        """A subset without weighted estimates: its row says why."""
        self.cox.append(
            {
                "endpoint": self.endpoint,
                "subset": subset,
                "n": len(patients),
                "events": int(patients[event].sum()),
                "note": why,
            }
        )

    def frames(self) -> dict[str, pd.DataFrame]:
        def stacked(parts: list[pd.DataFrame], name: str) -> pd.DataFrame:
            columns = list(ENDPOINT_TABLES[name])
            if not parts:
                return pd.DataFrame(columns=columns)
            return pd.concat(parts, ignore_index=True)[columns]

        return {
            "iptw_cox": pd.DataFrame(self.cox, columns=list(ENDPOINT_TABLES["iptw_cox"])),
            "iptw_balance": stacked(self.balance, "iptw_balance"),
            "iptw_weights": pd.DataFrame(
                self.weights, columns=list(ENDPOINT_TABLES["iptw_weights"])
            ),
            "iptw_km": stacked(self.km, "iptw_km"),
        }


def iptw_tables(
    data: pd.DataFrame, endpoint: str, settings: AnalysisSettings
) -> dict[str, pd.DataFrame]:
    """The four IPTW tables of one endpoint (empty when switched off: config iptw null)."""
    tables = _Tables(endpoint)
    if settings.iptw is None:
        return tables.frames()
    time, event = time_column(endpoint), event_column(endpoint)
    for subset, everyone in _subsets(data):
        # a covariate missing for every patient of the subset is left out, as the Cox
        # models leave it out, rather than leaving no complete case
        specs = [spec for spec in settings.covariates if everyone[spec["name"]].notna().any()]
        needed = [time, event, CLINICAL_GROUPING, *(spec["name"] for spec in specs)]
        patients = everyone[everyone[needed].notna().all(axis=1)]
        if not specs:
            why = "no covariates configured" if not settings.covariates else "no covariate recorded"
            tables.note(subset, patients, event, f"{why}: nothing to weight for")
            continue
        _weigh(tables, subset, patients, endpoint, specs, settings.iptw)
    return tables.frames()


def _weigh(
    tables: _Tables,
    subset: str,
    patients: pd.DataFrame,
    endpoint: str,
    specs: list[dict],
    iptw: IptwSettings,
) -> None:
    """One subset's rows of every table, or its note (``specs``: the covariates weighted
    for)."""
    time, event = time_column(endpoint), event_column(endpoint)
    low = (patients[CLINICAL_GROUPING] == LOW).to_numpy()
    if low.sum() < 2 or (~low).sum() < 2:
        tables.note(subset, patients, event, "fewer than two patients in an Mg group")
        return
    masks = group_masks(low)
    without_events = [
        group for group in (LOW, NORMAL) if patients[event].to_numpy()[masks[group]].sum() == 0
    ]
    if without_events:
        tables.note(subset, patients, event, f"no events in the {without_events[0]} Mg group")
        return
    design = design_matrix(patients, [covariate_term(spec) for spec in specs])
    if design.empty:
        tables.note(subset, patients, event, "no covariate varies among these patients")
        return
    propensity = fit_propensity(design, low)
    if propensity.scores is None:
        tables.note(subset, patients, event, propensity.problem)
        return
    weights = stabilised_weights(propensity.scores, low)
    trimmed = np.zeros(len(weights), dtype=bool)
    if iptw.trim_percentile is not None:
        untrimmed = weights
        weights = trim_weights(weights, 100 - iptw.trim_percentile, iptw.trim_percentile)
        trimmed = weights != untrimmed
    columns = balance_columns(patients, specs)
    before = standardised_differences(columns, low)
    after = standardised_differences(columns, low, weights)
    tables.balance.append(
        pd.DataFrame(
            {
                "endpoint": endpoint,
                "subset": subset,
                "variable": [name for name, _ in columns.columns],
                "level": [level for _, level in columns.columns],
                "smd": before.to_numpy(),
                "smd_weighted": after.to_numpy(),
            }
        )
    )
    tables.weights += _weights_rows(endpoint, subset, weights, low, trimmed)
    times, events = patients[time].to_numpy(dtype=float), patients[event].to_numpy(dtype=int)
    tables.km += _km_rows(endpoint, subset, times, events, weights, low)
    fit = robust_cox(times, events, low.astype(float), weights)
    if not fit.estimable:
        tables.note(subset, patients, event, fit.problem)
        return
    row = coefficient_rows(fit.coef, fit.robust_se, ["low"], len(patients), int(events.sum()))
    estimate = row.iloc[0]
    tables.cox.append(
        {
            "endpoint": endpoint,
            "subset": subset,
            "coef": estimate["coef"],
            "naive_se": float(fit.naive_se[0]),
            "robust_se": estimate["se"],
            **{name: estimate[name] for name in HR_ESTIMATE_COLUMNS},
            "note": "",
        }
    )
