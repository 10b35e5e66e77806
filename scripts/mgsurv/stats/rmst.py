"""Restricted mean survival time (RMST) per group at tau, and between-group contrasts.

The formulas are survRM2's (Uno, Tian et al.; version 1.0-4, ``rmst2(time, status, arm, tau)``
without covariates; R/rmst1.R and R/rmst2.R), which R's ``survival`` (``survmean`` behind
``summary(survfit, rmean = tau)``) computes identically for one group:

* RMST(tau) = area under the Kaplan-Meier curve from 0 to tau;
* var = sum over observed times t_j <= tau of A_j^2 * d_j / (Y_j (Y_j - d_j)), A_j the area
  under the curve from t_j to tau (the term is 0 where Y_j = d_j; no n/(n-1) factor);
* 95% CI estimate +- z * SE; RMTL (restricted mean time lost) = tau - RMST, same SE;
* difference g - ref: SE sqrt(v_g + v_ref); ratios g / ref of RMST and of RMTL on the log scale
  (delta method, SE sqrt(v_g / mu_g^2 + v_ref / mu_ref^2)); two-sided p = 2 Phi(-|est| / SE).

lifelines' ``restricted_mean_survival_time`` gives the estimate but a population variance, not
the SE of the estimate (as survRM2 reports it), so the sum is written here on the lifelines KM.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from mgsurv.contract import RMST_COLUMNS, RMST_CONTRASTS, rmst_contrast
from mgsurv.stats.distributions import normal_cdf, normal_quantile
from mgsurv.stats.km import km_table

CONF_LEVEL = 0.95
Z_CRIT = float(normal_quantile(1 - (1 - CONF_LEVEL) / 2))

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _CurveEnd:
    """A group's largest observed time and whether all observations there are events.

    When they are, the KM curve reaches 0 there and is defined for every later tau; otherwise
    it is defined only up to that time (survRM2's ``ttmax``/``ssmax``: min status at the max).
    """

    time: float
    last_is_event: bool

    @property
    def limit(self) -> float:
        """The largest tau the group's own curve allows."""
        return np.inf if self.last_is_event else self.time


@dataclass(frozen=True)
class _Estimate:
    """An RMST (or RMTL) and its variance, as survRM2's rmst1 keeps them."""

    mean: float
    variance: float


NOT_ESTIMABLE = _Estimate(np.nan, np.nan)


def _curve_end(time: np.ndarray, event: np.ndarray) -> _CurveEnd:
    """survRM2's ``tt.max`` and ``min(ss[tt == tt.max]) == 1`` for one group (R/rmst2.R 86-87)."""
    last = float(np.max(time))
    return _CurveEnd(last, bool(np.min(event[time == last]) == 1))


def _pair_limit(a: _CurveEnd, b: _CurveEnd) -> float:
    """survRM2 rmst2's tau rule for two arms (its cases 1 to 4, R/rmst2.R lines 85-138).

    Both arms end in an event: the larger maximum. Otherwise the smallest maximum among the arms
    that end censored (case 2: the longer arm is censored; cases 3-4: the shorter one is).
    """
    if a.last_is_event and b.last_is_event:
        return max(a.time, b.time)
    return min(a.limit, b.limit)


def _tau_limit(ends: list[_CurveEnd]) -> float:
    """The largest tau allowed: rmst2's limit for every pair of groups (one group: its own)."""
    if len(ends) == 1:
        return ends[0].limit
    return min(_pair_limit(a, b) for a, b in combinations(ends, 2))


def _group_ends(time: np.ndarray, event: np.ndarray, group: pd.Series) -> list[_CurveEnd]:
    labels = group.to_numpy()
    return [_curve_end(time[labels == g], event[labels == g]) for g in group.dropna().unique()]


def default_tau(time, event, group) -> float:
    """survRM2's default tau, generalised from two arms to the groups present in ``group``.

    rmst2's default is the largest tau it accepts: the larger of the two arms' largest observed
    times when both end in an event, else the smallest largest time among the arms ending
    censored. With k groups: the largest tau rmst2 accepts for every pair (the smallest pairwise
    default). One group: its largest observed time.
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    ends = _group_ends(time, event, pd.Series(group).reset_index(drop=True))
    if not ends:
        raise ValueError("default_tau needs at least one group with patients")
    limit = _tau_limit(ends)
    return limit if np.isfinite(limit) else max(end.time for end in ends)


def _area_and_variance(curve: pd.DataFrame, tau: float) -> _Estimate:
    """survRM2 rmst1 (R/rmst1.R lines 10-27): the step-function area and its Greenwood variance.

    Rectangles between 0, the observed times <= tau and tau, of heights 1, S(t_1), ...; a tau
    equal to an observed time adds a zero-width rectangle, as in survRM2.
    """
    rows = curve[curve["time"] <= tau]
    at_risk = rows["n_risk"].to_numpy(dtype=float)
    events = rows["n_event"].to_numpy(dtype=float)
    widths = np.diff(np.concatenate([[0.0], rows["time"].to_numpy(), [tau]]))
    areas = widths * np.concatenate([[1.0], rows["surv"].to_numpy()])
    tail = np.cumsum(areas[1:][::-1])[::-1]  # A_j: area from t_j to tau
    survivors = at_risk - events
    with np.errstate(divide="ignore", invalid="ignore"):
        increments = np.where(survivors == 0, 0.0, events / (at_risk * survivors))
    return _Estimate(float(np.sum(areas)), float(np.sum(tail**2 * increments)))


def _estimate(time: np.ndarray, event: np.ndarray, tau: float) -> _Estimate:
    """RMST and variance at tau; NaN where there is no patient or the curve ends censored first."""
    if not tau > 0:
        raise ValueError(f"tau must be a positive number of months, got {tau}")
    if len(time) == 0 or tau > _curve_end(time, event).limit:
        return NOT_ESTIMABLE
    return _area_and_variance(km_table(time, event), tau)


def _interval(estimate: float, se: float) -> dict:
    return {
        "estimate": estimate,
        "se": se,
        "lower": estimate - Z_CRIT * se,
        "upper": estimate + Z_CRIT * se,
    }


def _summary(fit: _Estimate) -> dict:
    return _interval(fit.mean, float(np.sqrt(fit.variance)))


def rmst(time, event, tau: float) -> dict:
    """RMST at tau with its SE and 95% CI (survRM2 rmst1): estimate, se, lower, upper.

    NaN when the group is empty or its curve ends censored before tau (survRM2's rmst1 would
    carry the last value forward; rmst2 refuses such a tau). A curve that reached 0 is 0 after.
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    return _summary(_estimate(time, event, tau))


def _two_sided_p(estimate: float, se: float) -> float:
    """survRM2's ``pnorm(-abs(est) / se) * 2`` (0/0 = NaN, x/0 = inf as in R)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(normal_cdf(-abs(estimate) / np.float64(se)) * 2)


def _difference(group: _Estimate, reference: _Estimate) -> dict:
    """RMST difference group - reference (R/rmst2.R lines 157-162)."""
    estimate = group.mean - reference.mean
    se = float(np.sqrt(group.variance + reference.variance))
    return {**_interval(estimate, se), "p": _two_sided_p(estimate, se)}


def _log_ratio(group: _Estimate, reference: _Estimate) -> dict:
    """Ratio group / reference on the log scale, delta method (R/rmst2.R lines 165-171, 181-187).

    ``se`` is the SE of the log ratio; the CI is exp(log ratio +- z * se). A mean of 0 (an RMTL
    with no event before tau, or tau = 0) has no log: the row is NaN (R gives 0, Inf or NaN
    as the estimate and NaN for the rest).
    """
    if not (group.mean > 0 and reference.mean > 0):
        return {**_interval(np.nan, np.nan), "p": np.nan}
    log_ratio = np.log(group.mean) - np.log(reference.mean)
    se = float(
        np.sqrt(
            group.variance / group.mean / group.mean
            + reference.variance / reference.mean / reference.mean
        )
    )
    on_log = _interval(log_ratio, se)
    return {
        "estimate": float(np.exp(log_ratio)),
        "se": se,
        "lower": float(np.exp(on_log["lower"])),
        "upper": float(np.exp(on_log["upper"])),
        "p": _two_sided_p(log_ratio, se),
    }


def _time_lost(fit: _Estimate, tau: float) -> _Estimate:
    return _Estimate(tau - fit.mean, fit.variance)


def _contrasts(group: _Estimate, reference: _Estimate, tau: float) -> list[dict]:
    """Difference, RMST ratio and RMTL ratio of group against reference (NaN in, NaN out)."""
    return [
        _difference(group, reference),
        _log_ratio(group, reference),
        _log_ratio(_time_lost(group, tau), _time_lost(reference, tau)),
    ]


def _rows(fits: dict[str, _Estimate], reference: str, tau: float) -> list[dict]:
    """One row per group, then each other group's contrasts against the reference (if present)."""
    rows = [{"group": g, **_summary(fit), "p": np.nan} for g, fit in fits.items()]
    if reference not in fits:
        return rows
    for group in [g for g in fits if g != reference]:
        values = _contrasts(fits[group], fits[reference], tau)
        rows += [
            {"group": rmst_contrast(kind, group, reference), **value}
            for kind, value in zip(RMST_CONTRASTS, values, strict=True)
        ]
    return rows


def rmst_table(time, event, group, order: list, tau: float | None = None) -> pd.DataFrame:
    """RMST per group of ``order`` and contrasts against order[0], at one common tau.

    Rows (results-contract ``rmst.tsv`` without endpoint/grouping): each group present, then
    for each other group g: "g - ref" (difference), "g / ref" (RMST ratio) and "RMTL g / ref"
    (RMTL ratio; the se of ratios is on the log scale); p is NaN for single-group rows.
    ``tau=None`` uses :func:`default_tau` over the groups of ``order``. A tau beyond what
    survRM2's rmst2 accepts for every pair (it stops with an error) gives NaN rows; the reason
    is logged and kept, like rmst2's ``note``, in ``table.attrs["note"]``.
    """
    labels = pd.Series(group).reset_index(drop=True)
    keep = labels.isin(order).to_numpy()
    time = np.asarray(time, dtype=float)[keep]
    event = np.asarray(event, dtype=int)[keep]
    labels = labels[keep].to_numpy()
    present = [g for g in order if np.any(labels == g)]
    if not present:
        return pd.DataFrame(columns=list(RMST_COLUMNS))
    subsets = {g: (time[labels == g], event[labels == g]) for g in present}
    limit = _tau_limit([_curve_end(*subsets[g]) for g in present])
    if tau is None:
        tau = default_tau(time, event, labels)
        note = f"tau was not specified: the default tau = {tau} is used"
    else:
        note = f"tau = {tau} was specified"
    if tau > limit:
        note = f"tau = {tau} is beyond {limit}, the largest tau survRM2 accepts here"
        log.warning("RMST not estimable: %s", note)
        fits = dict.fromkeys(present, NOT_ESTIMABLE)
    else:
        fits = {g: _estimate(*subsets[g], tau) for g in present}
    table = pd.DataFrame(_rows(fits, order[0], tau)).assign(tau=float(tau))[list(RMST_COLUMNS)]
    table.attrs["note"] = note
    return table
