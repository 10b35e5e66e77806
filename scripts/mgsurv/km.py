"""Kaplan-Meier curves and medians, as R's ``survfit`` reports them.

The estimate and its log-log 95% band come from lifelines (equal to R's
``survfit(conf.type = "log-log")`` to 1e-15, notes/r-parity.md). Two of R's conventions are
applied on top, because lifelines differs:

* the band is undefined (NA) where S = 1 (log(-log 1)) and where S = 0 (infinite SE);
* the median and its CI follow R's ``quantile.survfit``: the midpoint where S equals 0.5
  over an interval, the first crossing of each band, NA ("not reached") otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

CONF_LEVEL = 0.95
# R's quantile.survfit tolerance: sqrt(.Machine$double.eps).
R_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


def km_table(time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """One row per distinct observed time: n_risk, n_event, n_censor, surv, lower, upper."""
    fitter = KaplanMeierFitter(alpha=1 - CONF_LEVEL).fit(time, event_observed=event)
    table = fitter.event_table
    table = table[table["removed"] > 0]
    surv = fitter.survival_function_.iloc[:, 0].reindex(table.index).to_numpy()
    band = fitter.confidence_interval_survival_function_.reindex(table.index)
    lower, upper = band.iloc[:, 0].to_numpy(), band.iloc[:, 1].to_numpy()
    undefined = (surv >= 1) | (surv <= 0)
    return pd.DataFrame(
        {
            "time": table.index.to_numpy(dtype=float),
            "n_risk": table["at_risk"].to_numpy(dtype=int),
            "n_event": table["observed"].to_numpy(dtype=int),
            "n_censor": table["censored"].to_numpy(dtype=int),
            "surv": surv,
            "lower": np.where(undefined, np.nan, lower),
            "upper": np.where(undefined, np.nan, upper),
        }
    )


def _approx_constant_right(x: np.ndarray, y: np.ndarray, at: float) -> float:
    """R's ``approx(x, y, at, method = "constant", f = 1)`` for increasing x, NA outside."""
    if len(x) == 0 or at < x[0] or at > x[-1]:
        return np.nan
    return float(y[np.searchsorted(x, at, side="left")])


def find_quantile(time: np.ndarray, surv: np.ndarray, p: float) -> float:
    """R survival's ``findq``: the time where 1 - S first reaches p (NaN when never).

    ``time`` and ``surv`` are a curve's rows; surv may hold NaN (an undefined band).
    """
    x = np.concatenate([[0.0], time])
    y = np.concatenate([[0.0], 1.0 - surv])
    if not np.any(np.nan_to_num(y, nan=-np.inf) >= p):
        return np.nan
    xmax = x[-1]
    keep = ~pd.Series(y).duplicated().to_numpy()
    x, y = x[keep], y[keep]
    defined = ~np.isnan(y)
    index = np.arange(len(y))[defined]
    i1 = _approx_constant_right(y[defined] + R_TOLERANCE, index, p)
    i2 = _approx_constant_right(y[defined] - R_TOLERANCE, index, p)
    if np.isnan(i1) or np.isnan(i2):
        return np.nan
    if not np.isnan(y[-1]) and abs(p - y[-1]) < R_TOLERANCE:
        return (x[int(i1)] + xmax) / 2
    return (x[int(i1)] + x[int(i2)]) / 2


def median_with_ci(curve: pd.DataFrame) -> tuple[float, float, float]:
    """Median survival and its 95% CI limits from a :func:`km_table` curve (NaN = NA)."""
    time = curve["time"].to_numpy()
    return (
        find_quantile(time, curve["surv"].to_numpy(), 0.5),
        find_quantile(time, curve["lower"].to_numpy(), 0.5),
        find_quantile(time, curve["upper"].to_numpy(), 0.5),
    )
