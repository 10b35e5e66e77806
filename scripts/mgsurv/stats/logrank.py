"""Log-rank tests between groups, as R survival's ``survdiff`` computes them.

One engine, :func:`survdiff_components`, gives survdiff's observed (O) and expected (E) event
counts per group and the variance matrix of O - E, summed over strata (survival's C routine
``survdiff2``, vectorised over distinct times). Every test is built from it:

* :func:`logrank` / :func:`stratified_logrank`: ``survdiff(Surv(time, status) ~ group)`` and
  ``~ group + strata(s)``: U' V^-1 U on df = k - 1 over the k groups with E > 0, U and V
  without the first of them, as survdiff does;
* :func:`logrank_trend`: the log-rank test for trend across ordered groups (Collett, *Modelling
  Survival Data in Medical Research*, 3rd ed., 2.6.4, after Peto et al. 1977, Br J Cancer
  35:1-39): U = sum_j s_j (O_j - E_j), V = s' Var(O - E) s, U^2 / V on 1 df. It equals the
  score test of a Cox model with the score as covariate and the exact partial likelihood
  (checked in tests/reference/logrank.R). survminer's ``test.for.trend`` (via survMisc) is
  not followed: it does not pair its scores with the groups in their stated order;
* :func:`pairwise_logrank`: survdiff on each pair's patients, as
  ``survminer::pairwise_survdiff``, p adjusted by :func:`p_adjust` (R's ``p.adjust``).

lifelines' ``multivariate_logrank_test`` equals survdiff for one stratum except that R first
merges times closer than ~1.5e-8 relative (``timefix = TRUE``, :func:`r_timefix`); the shared
engine keeps every row of :func:`logrank_table` on the same O, E and V.

Conventions: rows with a missing time, event, group or stratum are dropped (R's ``na.omit``);
groups without patients are dropped; with fewer than two groups a test is NaN. Degenerate
cases follow survdiff: fewer than two groups with E > 0 give chi-square 0 on 0 df, p = 1
(``pchisq(0, 0, lower.tail = FALSE)``), no events at all NaN (R: df -1, p NaN); a singular
variance (e.g. a group present only in a stratum of its own), where R's ``solve`` stops, NaN.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from mgsurv.contract import (
    LOGRANK_TEST,
    LOGRANK_TEST_COLUMNS,
    PAIRWISE_TEST,
    STRATIFIED_LOGRANK_TEST,
    TREND_TEST,
)
from mgsurv.settings import AdjustMethod
from mgsurv.stats.distributions import chi2_sf

# R's aeqSurv and solve() tolerances: sqrt(.Machine$double.eps) and .Machine$double.eps.
R_TIMEFIX_TOLERANCE = float(np.sqrt(np.finfo(float).eps))
R_SOLVE_TOLERANCE = float(np.finfo(float).eps)
ADJUST_METHODS: tuple[AdjustMethod, ...] = get_args(AdjustMethod)
PAIRWISE_COLUMNS = ["groups", "statistic", "df", "p", "p_adjusted"]


def _not_estimable() -> dict:
    return {"statistic": float("nan"), "df": float("nan"), "p": float("nan")}


@dataclass(frozen=True)
class SurvdiffComponents:
    """survdiff's ``obs`` and ``exp`` (summed over strata) and ``var``, per group in order."""

    groups: list
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray


@dataclass(frozen=True)
class _Data:
    """Complete cases as arrays: group and stratum as 0-based codes, labels in order."""

    time: np.ndarray
    event: np.ndarray
    group: np.ndarray
    strata: np.ndarray
    labels: list


def r_timefix(time: np.ndarray) -> np.ndarray:
    """R's ``aeqSurv``: times within 1.5e-8 (absolute, or relative to the mean) made equal.

    Distinct sorted times whose gap is <= the tolerance, or <= tolerance * mean(|times|), are
    replaced by the first time of their run, as survdiff (``timefix = TRUE``) does.
    """
    distinct = np.unique(time[np.isfinite(time)])
    gaps = np.diff(distinct)
    tied = (gaps <= R_TIMEFIX_TOLERANCE) | (gaps / np.mean(np.abs(distinct)) <= R_TIMEFIX_TOLERANCE)
    if not tied.any():
        return time
    cuts = distinct[np.concatenate([[True], ~tied])]
    return cuts[np.searchsorted(cuts, time, side="right") - 1]


def _complete_data(time, event, group, strata=None, order: Sequence | None = None) -> _Data:
    """Drop incomplete rows; code groups in ``order`` (default: sorted) and strata."""
    frame = pd.DataFrame(
        {
            "time": np.asarray(time, dtype=float),
            "event": np.asarray(event, dtype=float),
            "group": np.asarray(group, dtype=object),
            "strata": 0 if strata is None else np.asarray(strata, dtype=object),
        }
    ).dropna()
    if not frame["event"].isin((0, 1)).all():
        raise ValueError("events must be coded 0/1")
    present = set(frame["group"])
    if order is None:
        labels = sorted(present)
    else:
        unknown = present.difference(order)
        if unknown:
            raise ValueError(f"groups not in order: {sorted(map(str, unknown))}")
        labels = [g for g in order if g in present]
    return _Data(
        time=r_timefix(frame["time"].to_numpy()),
        event=frame["event"].to_numpy(),
        group=pd.Categorical(frame["group"], categories=labels).codes.astype(int),
        strata=pd.factorize(frame["strata"], sort=False)[0],
        labels=labels,
    )


def _risk_table(data: _Data) -> tuple[np.ndarray, np.ndarray]:
    """Deaths and numbers at risk by group (columns) at each distinct (stratum, time).

    At risk at t in a stratum: patients of that stratum whose time is >= t, from a reversed
    cumulative count of the patients leaving at each time, restarted in each stratum.
    """
    k = len(data.labels)
    order = np.lexsort((data.time, data.strata))
    time, strata = data.time[order], data.strata[order]
    group, event = data.group[order], data.event[order]
    first = np.concatenate([[True], (np.diff(time) != 0) | (np.diff(strata) != 0)])
    row = np.cumsum(first) - 1
    rows = int(row[-1]) + 1
    cell = row * k + group
    leaving = np.bincount(cell, minlength=rows * k).reshape(rows, k).astype(float)
    deaths = np.bincount(cell, weights=event, minlength=rows * k).reshape(rows, k)
    from_here = np.vstack([np.cumsum(leaving[::-1], axis=0)[::-1], np.zeros((1, k))])
    row_stratum = strata[first]
    next_stratum = np.searchsorted(row_stratum, row_stratum, side="right")
    return deaths, from_here[:-1] - from_here[next_stratum]


def _components(data: _Data) -> SurvdiffComponents:
    """O, E and Var(O - E) (R's ``survdiff2``, rho = 0), summed over event times and strata.

    At each event time with d deaths among n at risk (n_j in group j):
    E_j += d n_j / n and V += c (diag(n_j) - n n' / n), c = d (n - d) / (n (n - 1)), none
    when n = 1.
    """
    k = len(data.labels)
    if len(data.time) == 0:
        return SurvdiffComponents(data.labels, np.zeros(k), np.zeros(k), np.zeros((k, k)))
    deaths, at_risk = _risk_table(data)
    d, n = deaths.sum(axis=1), at_risk.sum(axis=1)
    events = d > 0
    deaths, at_risk, d, n = deaths[events], at_risk[events], d[events], n[events]
    expected = (d[:, None] * at_risk / n[:, None]).sum(axis=0)
    weight = np.divide(d * (n - d), n * (n - 1), out=np.zeros_like(d), where=n > 1)
    variance = (
        np.diag((weight[:, None] * at_risk).sum(axis=0))
        - (at_risk * (weight / n)[:, None]).T @ at_risk
    )
    return SurvdiffComponents(data.labels, deaths.sum(axis=0), expected, variance)


def survdiff_components(
    time, event, group, strata=None, order: Sequence | None = None
) -> SurvdiffComponents:
    """survdiff's O, E and variance for the groups present (in ``order``, default sorted)."""
    return _components(_complete_data(time, event, group, strata, order))


def _chisq_test(components: SurvdiffComponents) -> dict:
    """survdiff's chi-square: groups with E > 0, the first left out of U and V, as R does."""
    if len(components.groups) < 2:
        return _not_estimable()
    estimable = components.expected > 0
    df = int(estimable.sum()) - 1
    if df < 0:
        return _not_estimable()
    if df == 0:
        return {"statistic": 0.0, "df": 0, "p": 1.0}
    u = (components.observed - components.expected)[estimable][1:]
    v = components.variance[np.ix_(estimable, estimable)][1:, 1:]
    if 1.0 / np.linalg.cond(v, 1) < R_SOLVE_TOLERANCE:
        return _not_estimable()
    statistic = float(u @ np.linalg.solve(v, u))
    return {"statistic": statistic, "df": df, "p": float(chi2_sf(statistic, df))}


def logrank(time, event, group, order: Sequence | None = None) -> dict:
    """The k-group log-rank test (``survdiff``): chi-square statistic, df = k - 1 and p."""
    return _chisq_test(survdiff_components(time, event, group, order=order))


def stratified_logrank(time, event, group, strata, order: Sequence | None = None) -> dict:
    """The stratified log-rank test, ``survdiff(Surv(time, status) ~ group + strata(s))``."""
    return _chisq_test(survdiff_components(time, event, group, strata, order))


def logrank_trend(
    time,
    event,
    group,
    order: Sequence,
    scores: Sequence[float] | None = None,
    strata=None,
) -> dict:
    """Log-rank test for trend over ``order`` (scores default 1..k): statistic, df = 1, p, z.

    U = sum_j s_j (O_j - E_j) and V = s' Var(O - E) s from :func:`survdiff_components`
    (optionally stratified); statistic U^2 / V, z = U / sqrt(V) (positive: more events than
    expected in the groups with higher scores). Groups without patients are dropped with their
    scores.
    """
    scores = list(range(1, len(order) + 1)) if scores is None else list(scores)
    if len(scores) != len(order):
        raise ValueError("scores must give one value per group in order")
    components = survdiff_components(time, event, group, strata, order)
    if len(components.groups) < 2:
        return {**_not_estimable(), "z": float("nan")}
    score_of = dict(zip(order, scores, strict=True))
    s = np.array([score_of[g] for g in components.groups], dtype=float)
    u = float(s @ (components.observed - components.expected))
    v = float(s @ components.variance @ s)
    if not v > 0:
        return {**_not_estimable(), "z": float("nan")}
    statistic = u * u / v
    return {"statistic": statistic, "df": 1, "p": float(chi2_sf(statistic, 1)), "z": u / v**0.5}


def p_adjust(p: ArrayLike, method: AdjustMethod = "holm") -> np.ndarray:
    """R's ``p.adjust`` for "holm" and "BH"; NaN entries are left out and stay NaN.

    Holm: cummax((n + 1 - i) p_(i)) over increasing p; BH: cummin(n / i p_(i)) over
    decreasing p; both capped at 1, n the number of non-NaN p-values (none when n <= 1).
    """
    if method not in ADJUST_METHODS:
        raise ValueError(f"method must be one of {ADJUST_METHODS}")
    p_values = np.asarray(p, dtype=float)
    adjusted = p_values.copy()
    known = ~np.isnan(p_values)
    values = p_values[known]
    n = len(values)
    if n <= 1:
        return adjusted
    if method == "holm":
        order = np.argsort(values, kind="stable")
        sorted_adjusted = np.maximum.accumulate((n - np.arange(n)) * values[order])
    else:
        order = np.argsort(-values, kind="stable")
        sorted_adjusted = np.minimum.accumulate(n / np.arange(n, 0, -1) * values[order])
    result = np.empty(n)
    result[order] = np.minimum(1.0, sorted_adjusted)
    adjusted[known] = result
    return adjusted


def pairwise_logrank(
    time, event, group, order: Sequence, method: AdjustMethod = "holm"
) -> pd.DataFrame:
    """Log-rank test of every pair of groups present, on that pair's patients, p adjusted.

    One row per pair in ``order`` ("Q1 vs Q2", "Q1 vs Q3", ...): groups, statistic, df, p and
    p_adjusted (``p.adjust`` over all pairs), as ``survminer::pairwise_survdiff``.
    """
    group = pd.Series(np.asarray(group, dtype=object))
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=float)
    present = _complete_data(time, event, group, order=order).labels
    rows = []
    for first, second in itertools.combinations(present, 2):
        pair = group.isin([first, second]).to_numpy()
        test = logrank(time[pair], event[pair], group[pair], order=[first, second])
        rows.append({"groups": f"{first} vs {second}", **test})
    table = pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)
    return table.assign(p_adjusted=p_adjust(table["p"].to_numpy(dtype=float), method))


def logrank_table(
    time, event, group, order: Sequence, strata=None, adjust: AdjustMethod = "holm"
) -> pd.DataFrame:
    """The rows of ``logrank.tsv`` for one grouping (the caller adds endpoint and grouping).

    test = logrank (always), stratified (when strata are given), trend and pairwise (when at
    least three groups have patients); groups = the groups present joined by " vs " (pairwise:
    the pair); p_adjusted only for pairwise rows.
    """
    present = _complete_data(time, event, group, order=order).labels
    label = " vs ".join(map(str, present))
    rows = [{"test": LOGRANK_TEST, "groups": label, **logrank(time, event, group, order)}]
    if strata is not None:
        test = stratified_logrank(time, event, group, strata, order)
        rows.append({"test": STRATIFIED_LOGRANK_TEST, "groups": label, **test})
    if len(present) >= 3:
        trend = logrank_trend(time, event, group, order)
        rows.append(
            {"test": TREND_TEST, "groups": label, **{k: trend[k] for k in ("statistic", "df", "p")}}
        )
        pairwise = pairwise_logrank(time, event, group, order, adjust).assign(test=PAIRWISE_TEST)
        rows.extend(pairwise.to_dict("records"))
    return pd.DataFrame(rows, columns=list(LOGRANK_TEST_COLUMNS))
