"""Kaplan-Meier curves, bands, medians, landmarks and follow-up, as R's ``survfit`` reports them.

Everything is computed here with numpy rather than with lifelines' ``KaplanMeierFitter``,
because lifelines either lacks it or differs from R survival 3.x:

* the estimate as R's C code ``survfitkm`` computes it, the running product of (n - d) / n:
  lifelines' exp(cumsum(log(1 - d / n))) is within 1e-15 but can miss an exact S = 0.5 by one
  ulp, which moves a median from a plateau midpoint to NA (seen on km_random.csv). The event
  table is a bincount (lifelines' fit spends ~5 ms per curve building what is not used);
* the 95% band of any of R's three usual types (``survfit(conf.type = "log-log" | "log" |
  "plain")``), rebuilt from the Greenwood variance exactly as R's ``survfit_confint`` does,
  with its NA conventions where S = 1 or S = 0 (lifelines has the log-log band only, and a
  finite band where R has NA);
* quantiles (the median) and their CI by R's ``quantile.survfit`` (midpoint of a plateau at
  exactly 0.5, NA = "not reached");
* the curve at landmark times by R's ``summary(fit, times = ...)``;
* median potential follow-up by the reverse Kaplan-Meier method.

Times are taken as given: R's ``timefix`` merges times closer than ~1.5e-8 relative into ties
and this module does not, so times must be rounded after unit conversion (as the cohort
reader rounds them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

import numpy as np
import pandas as pd

from mgsurv.settings import ConfType
from mgsurv.stats.distributions import normal_quantile

CONF_TYPES: tuple[ConfType, ...] = get_args(ConfType)
CONF_LEVEL = 0.95
# R's quantile.survfit tolerance: sqrt(.Machine$double.eps).
R_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


def km_table(time: np.ndarray, event: np.ndarray, conf_type: ConfType = "log-log") -> pd.DataFrame:
    """R's ``survfit(Surv(time, event) ~ 1, conf.type = conf_type)`` at 95%, one row per time.

    Rows are the distinct observed times (events or censorings), as R's fit rows; columns
    time, n_risk, n_event, n_censor, surv, lower, upper. The band follows R's conventions
    (see :func:`confidence_limits`): NA where S = 0 for every type and, for "log-log", where
    S = 1. Raises ValueError for an unknown conf_type or invalid data (:func:`event_table`).
    """
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, not {conf_type!r}")
    table = event_table(time, event)
    n_risk, n_event = table["n_risk"].to_numpy(), table["n_event"].to_numpy()
    surv = np.cumprod((n_risk - n_event) / n_risk)
    lower, upper = confidence_limits(surv, greenwood_std_err(n_risk, n_event), conf_type)
    return table.assign(surv=surv, lower=lower, upper=upper)


def event_table(time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """Counts per distinct observed time: time, n_risk (time >= t), n_event, n_censor.

    Raises ValueError unless time is finite and non-empty and event is 0/1 of the same length.
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event)
    if time.ndim != 1 or time.shape != event.shape or len(time) == 0:
        raise ValueError("time and event must be non-empty 1-d arrays of the same length")
    if not np.isfinite(time).all() or not np.isin(event, (0, 1)).all():
        raise ValueError("times must be finite and events 0 or 1")
    times, position = np.unique(time, return_inverse=True)
    removed = np.bincount(position)
    n_event = np.bincount(position, weights=event.astype(float)).astype(int)
    return pd.DataFrame(
        {
            "time": times,
            "n_risk": len(time) - np.concatenate([[0], np.cumsum(removed)[:-1]]),
            "n_event": n_event,
            "n_censor": removed - n_event,
        }
    )


def weighted_km(time: np.ndarray, event: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    """The case-weighted Kaplan-Meier estimate at each distinct time, as R's
    ``summary(survfit(Surv(time, event) ~ 1, weights = w), censored = TRUE)``: time, n_risk
    and n_event as sums of weights, surv the running product of (n - d) / n; and the
    patients (unweighted) at risk, with the event and censored there, for a risk table.

    No band: with estimated weights (IPTW) the Greenwood variance of the weighted counts is
    not a valid one (R prints it nonetheless).
    """
    patients = event_table(time, event)
    position = np.searchsorted(patients["time"].to_numpy(), np.asarray(time, dtype=float))
    size = len(patients)
    removed = np.bincount(position, weights=weights, minlength=size)
    n_risk = removed[::-1].cumsum()[::-1]
    n_event = np.bincount(position, weights=weights * np.asarray(event), minlength=size)
    return pd.DataFrame(
        {
            "time": patients["time"],
            "n_risk": n_risk,
            "n_event": n_event,
            "surv": np.cumprod((n_risk - n_event) / n_risk),
            "patients_at_risk": patients["n_risk"],
            "patients_with_event": patients["n_event"],
            "patients_censored": patients["n_censor"],
        }
    )


def greenwood_std_err(n_risk: np.ndarray, n_event: np.ndarray) -> np.ndarray:
    """Greenwood SE of log S (R's ``fit$std.err`` for a KM fit): sqrt(cumsum d / (n (n - d))).

    Infinite from the row where everyone at risk has the event (n = d, S = 0), as in R.
    """
    n, d = np.asarray(n_risk, dtype=float), np.asarray(n_event, dtype=float)
    alive = n > d
    terms = np.full(len(n), np.inf)
    terms[alive] = d[alive] / (n[alive] * (n[alive] - d[alive]))
    return np.sqrt(np.cumsum(terms))


def confidence_limits(
    surv: np.ndarray, std_err: np.ndarray, conf_type: ConfType
) -> tuple[np.ndarray, np.ndarray]:
    """R survival's ``survfit_confint`` at 95% for a KM curve (``logse = TRUE``).

    With z = qnorm(0.975) and se the SE of log S:

    * "plain": S -/+ z se S, clipped to [0, 1] (R's pmax/pmin);
    * "log": exp(log S -/+ z se), the upper limit capped at 1; 1 and 1 where S = 1;
    * "log-log": exp(-exp(log(-log S) -/+ z se / log S)); NA where S = 1.

    Every limit is NA where S = 0 (R: SE infinite, log 0 undefined).
    """
    surv, std_err = np.asarray(surv, dtype=float), np.asarray(std_err, dtype=float)
    z = normal_quantile(1 - (1 - CONF_LEVEL) / 2)
    lower, upper = np.full(len(surv), np.nan), np.full(len(surv), np.nan)
    if conf_type == "log-log":
        ok = (surv > 0) & (surv < 1)
        log_s = np.log(surv[ok])
        half = z * std_err[ok] / log_s
        lower[ok] = np.exp(-np.exp(np.log(-log_s) - half))
        upper[ok] = np.exp(-np.exp(np.log(-log_s) + half))
    elif conf_type == "log":
        ok = surv > 0
        log_s = np.log(surv[ok])
        lower[ok] = np.exp(log_s - z * std_err[ok])
        upper[ok] = np.minimum(np.exp(log_s + z * std_err[ok]), 1.0)
    elif conf_type == "plain":
        ok = surv > 0
        half = z * std_err[ok] * surv[ok]
        lower[ok] = np.maximum(surv[ok] - half, 0.0)
        upper[ok] = np.minimum(surv[ok] + half, 1.0)
    else:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, not {conf_type!r}")
    return lower, upper


def _approx_constant_right(x: np.ndarray, y: np.ndarray, at: float) -> float:
    """R's ``approx(x, y, at, method = "constant", f = 1)``: NA pairs dropped, x sorted, NA outside.

    A band need not be monotone, so x is sorted first, as R's ``regularize.values`` does.
    """
    defined = ~np.isnan(x)
    order = np.argsort(x[defined], kind="stable")
    x, y = x[defined][order], y[defined][order]
    if len(x) == 0 or at < x[0] or at > x[-1]:
        return np.nan
    return float(y[np.searchsorted(x, at, side="left")])


def _at(x: np.ndarray, index: float) -> float:
    """``x[index]`` with R's NA index giving NA."""
    return np.nan if np.isnan(index) else float(x[int(index)])


def find_quantile(time: np.ndarray, surv: np.ndarray, p: float) -> float:
    """R survival's ``findq`` (``quantile.survfit``): the time where 1 - S first reaches p.

    ``time`` and ``surv`` are a curve's rows (surv may be a band holding NaN = NA). Over a
    plateau at exactly 1 - S = p (within R's tolerance sqrt(eps)) the midpoint of the plateau
    is returned; a plateau that lasts to the last row ends at the last time. NaN when 1 - S
    never reaches p (not reached). For a monotone curve this is the first time S <= 1 - p. A
    band can rise again (its SE grows faster than S falls); R then looks the crossing up
    among the band's values sorted, not in time order, and may return a later time than the
    first crossing (km_edge.csv "bandrises": 36 where the band first drops below 0.5 at 31).
    That is followed here, for parity.
    """
    x = np.concatenate([[0.0], np.asarray(time, dtype=float)])
    y = np.concatenate([[0.0], 1.0 - np.asarray(surv, dtype=float)])
    if np.nanmax(y) < p:
        return np.nan
    xmax = x[-1]
    keep = ~pd.Series(y).duplicated().to_numpy()
    x, y = x[keep], y[keep]
    index = np.arange(len(y), dtype=float)
    first = _approx_constant_right(y + R_TOLERANCE, index, p)
    second = _approx_constant_right(y - R_TOLERANCE, index, p)
    if not np.isnan(y[-1]) and abs(p - y[-1]) < R_TOLERANCE:
        return (_at(x, first) + xmax) / 2
    if p == 0:
        return float(x[0])
    return (_at(x, first) + _at(x, second)) / 2


def median_with_ci(curve: pd.DataFrame) -> tuple[float, float, float]:
    """Median and its 95% CI from a :func:`km_table` curve, R's ``quantile(fit, 0.5)``.

    The limits are where the lower and upper bands reach 0.5, so they follow the curve's
    conf_type. NaN = NA (not reached).
    """
    time = curve["time"].to_numpy()
    return (
        find_quantile(time, curve["surv"].to_numpy(), 0.5),
        find_quantile(time, curve["lower"].to_numpy(), 0.5),
        find_quantile(time, curve["upper"].to_numpy(), 0.5),
    )


def _with_start_row(curve: pd.DataFrame) -> pd.DataFrame:
    """R's ``survfit0``: a row at time 0 with S, lower and upper all 1 and n_risk = n.

    Not added when the first row is at time 0 (or before), as in R.
    """
    if curve["time"].iloc[0] <= 0:
        return curve
    n = curve["n_risk"].iloc[0]
    start = {"time": 0.0, "n_risk": n, "surv": 1.0, "lower": 1.0, "upper": 1.0}
    return pd.concat([pd.DataFrame([start]), curve], ignore_index=True)


def survival_at(curve: pd.DataFrame, times: Sequence[float]) -> pd.DataFrame:
    """The curve at landmark times, R's ``summary(fit, times = times)``; one row per time given.

    Columns time, n_risk, surv, lower, upper, in the order of ``times``:

    * surv and band are those of the last row with time <= t (the step function at t). Before
      the first row they are 1, 1, 1 for every conf_type (R's ``survfit0`` start row, even
      where the log-log band of an S = 1 row is NA);
    * n_risk is the number still at risk at t (time >= t), as in R;
    * beyond the last observed time R's ``summary(extend = FALSE)`` drops the time (and
      errors if none is left). Convention here: the row is kept with surv, lower and upper
      NaN (not estimable: no one was followed that long) and n_risk 0.
    """
    at = np.asarray(times, dtype=float)
    if not np.isfinite(at).all():
        raise ValueError("landmark times must be finite")
    rows = _with_start_row(curve)
    grid = rows["time"].to_numpy()
    last = np.maximum(np.searchsorted(grid, at, side="right") - 1, 0)
    n_risk = np.append(rows["n_risk"].to_numpy(dtype=int), 0)
    beyond = at > grid[-1]

    def value(column: str) -> np.ndarray:
        return np.where(beyond, np.nan, rows[column].to_numpy(dtype=float)[last])

    return pd.DataFrame(
        {
            "time": at,
            "n_risk": n_risk[np.searchsorted(grid, at, side="left")],
            "surv": value("surv"),
            "lower": value("lower"),
            "upper": value("upper"),
        }
    )


def reverse_km_median(
    time: np.ndarray, event: np.ndarray, conf_type: ConfType = "log-log"
) -> tuple[float, float, float]:
    """Median potential follow-up and its 95% CI by reverse Kaplan-Meier.

    R's ``quantile(survfit(Surv(time, 1 - status) ~ 1, conf.type = conf_type), 0.5)``:
    censoring is the event and events censor. The reverse curve usually ends at 0 (the last
    subject is censored), where R's band is NA, so the upper limit is often NA.
    """
    reverse = 1 - np.asarray(event, dtype=int)
    return median_with_ci(km_table(time, reverse, conf_type))
