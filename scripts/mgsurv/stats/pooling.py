"""Pooling per-cohort log hazard ratios: inverse-variance meta-analysis and heterogeneity.

For k cohorts with estimates ``y_i`` (log HR) and standard errors ``s_i``, as R metafor's
``rma(yi, sei = si, method = "FE")`` and ``method = "DL"``:

* fixed effect: weights ``w_i = 1 / s_i^2``, pooled ``sum w y / sum w`` with SE
  ``1 / sqrt(sum w)``;
* Cochran's ``Q = sum w_i (y_i - pooled)^2`` on ``k - 1`` df, and
  ``I^2 = 100% * max(0, (Q - (k - 1)) / Q)`` (Higgins & Thompson 2002; metafor's FE I^2 uses the
  same formula);
* DerSimonian-Laird random effects: ``tau^2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum
  w))``, weights ``1 / (s_i^2 + tau^2)``.

Cohorts whose estimate is missing (a model that could not be fitted) are left out and
counted; with fewer than two cohorts there is nothing to pool and the results are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from mgsurv.stats.distributions import chi2_sf, normal_quantile, normal_sf

CONF_LEVEL = 0.95


@dataclass(frozen=True)
class Pooled:
    """A pooled log hazard ratio with its CI and test, and the heterogeneity statistics."""

    method: str  # "fixed" or "random (DL)"
    k: int
    estimate: float
    se: float
    lower: float
    upper: float
    z: float
    p: float
    q: float
    q_df: int
    q_p: float
    i2_percent: float
    tau2: float


def _summary(method: str, y: np.ndarray, weights: np.ndarray, q: float, tau2: float) -> Pooled:
    k = len(y)
    estimate = float(np.sum(weights * y) / np.sum(weights))
    se = float(1 / np.sqrt(np.sum(weights)))
    half = normal_quantile(0.5 + CONF_LEVEL / 2) * se
    z = estimate / se
    return Pooled(
        method=method,
        k=k,
        estimate=estimate,
        se=se,
        lower=estimate - half,
        upper=estimate + half,
        z=z,
        p=float(2 * normal_sf(abs(z))),
        q=q,
        q_df=k - 1,
        q_p=float(chi2_sf(q, k - 1)),
        i2_percent=100 * max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0,
        tau2=tau2,
    )


def _not_poolable(method: str, k: int) -> Pooled:
    nan = float("nan")
    return Pooled(method, k, nan, nan, nan, nan, nan, nan, nan, max(k - 1, 0), nan, nan, nan)


def pool(log_hr: ArrayLike, se: ArrayLike) -> tuple[Pooled, Pooled]:
    """Fixed-effect and DerSimonian-Laird random-effects pooling of log HRs."""
    y, s = np.asarray(log_hr, dtype=float), np.asarray(se, dtype=float)
    usable = np.isfinite(y) & np.isfinite(s) & (s > 0)
    y, s = y[usable], s[usable]
    if len(y) < 2:
        return _not_poolable("fixed", len(y)), _not_poolable("random (DL)", len(y))
    w = 1 / s**2
    fixed_estimate = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - fixed_estimate) ** 2))
    tau2 = max(0.0, (q - (len(y) - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    return (
        _summary("fixed", y, w, q, 0.0),
        _summary("random (DL)", y, 1 / (s**2 + tau2), q, float(tau2)),
    )
