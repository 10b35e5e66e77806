"""Pooling per-cohort log hazard ratios: inverse-variance meta-analysis and heterogeneity.

For k cohorts with estimates ``y_i`` (log HR) and variances ``v_i = s_i^2``, as R metafor 3.8's
``rma(yi, sei = si, method = "FE")``, ``method = "DL"`` and ``method = "REML", test = "knha"``
with ``predict()`` and ``confint()`` (Viechtbauer 2010, J Stat Softw 36(3)):

* weights ``w_i = 1 / (v_i + tau^2)``, pooled ``mu = sum w y / sum w``, ``SE^2 = 1 / sum w``;
  ``tau^2 = 0`` for the fixed effect;
* Cochran's ``Q = sum w_i (y_i - mu)^2`` with fixed-effect weights, on ``k - 1`` df; the
  fixed effect's ``I^2 = 100% * max(0, (Q - (k - 1)) / Q)`` (Higgins & Thompson 2002);
* DerSimonian-Laird: ``tau^2 = max(0, (Q - (k - 1)) / c)``, ``c = sum w - sum w^2 / sum w``
  with fixed-effect weights; normal CI and z test;
* REML: ``tau^2`` maximizes the restricted log-likelihood ``-(sum log(v + tau^2) + log sum w
  + sum w (y - mu)^2) / 2`` over ``tau^2 >= 0``: the highest of its local maxima, at 0 when
  the score (twice the derivative) ``sum w^2 (y - mu)^2 - (sum w - sum w^2 / sum w)`` is not
  positive there, and where the score falls through 0. The score is negative beyond ``(k R^2
  + max v) / (k - 1)``, R the range of the y; its falls are bracketed on a grid up to there
  and solved by Brent's method to machine precision. metafor's Fisher scoring, from the
  Hedges (HE) estimate, stops once a step is below 1e-5 (its default estimate differs by about
  that much) and may end at a lower local maximum, then taking 0 if the likelihood is higher
  there (with a warning): tests/reference/meta.R's case reml_local_maxima;
* Hartung-Knapp-Sidik-Jonkman (Hartung & Knapp 2001, Sidik & Jonkman 2002, IntHout et al.
  2014, BMC Med Res Methodol 14:25): ``SE^2 = s2w / sum w`` with ``s2w = sum w (y - mu)^2 /
  (k - 1)``, not truncated at 1 (metafor's test = "knha"; its test = "adhoc" truncates), and
  0 when ``sum w (y - mu)^2`` is not above the machine epsilon, as in metafor (identical
  estimates: SE 0, z infinite or NaN); CI, test and prediction interval from the t
  distribution on ``k - 1`` df;
* random effects' ``I^2 = 100% * tau^2 / (tau^2 + s^2)``, with the typical within-cohort
  variance ``s^2 = (k - 1) / c`` (Higgins & Thompson 2002; for DL it equals the formula
  above);
* 95% prediction interval of a new cohort's effect: ``mu -/+ crit * sqrt(tau^2 + SE^2)`` with
  the SE above, crit the normal quantile (DL) or the t(k - 1) one (HKSJ; metafor's predict(),
  where Higgins et al. 2009 and IntHout et al. 2016 take k - 2 df);
* Q-profile 95% CI of tau^2 (Viechtbauer 2007, Stat Med 26:37-52): the generalized
  ``Q(t) = sum (y - mu_t)^2 / (v + t)``, ``mu_t`` weighted by ``1 / (v + t)``, decreases in t;
  the lower (upper) bound solves ``Q(t)`` = the 97.5% (2.5%) chi-squared quantile on ``k - 1``
  df, and is 0 when ``Q(0)`` is not above it, as in metafor; the root, below
  ``sum (y - mean y)^2 / quantile`` since ``Q(t) < sum (y - mean y)^2 / t``, is found however
  large (metafor's confint() searches up to ``max(100, 10 tau^2)`` and reports that limit
  beyond it). The I^2 CI maps the tau^2 bounds by the formula above.

Cohorts whose estimate is missing (a model that could not be fitted) are left out and
counted; with fewer than two cohorts there is nothing to pool and the results are NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq
from scipy.special import chdtri, stdtr, stdtrit

from mgsurv.stats.distributions import chi2_sf, normal_quantile, normal_sf

CONF_LEVEL = 0.95
FIXED = "fixed"
RANDOM_DL = "random (DL)"
RANDOM_REML_HKSJ = "random (REML, HKSJ)"
# The REML score's falls through 0 are bracketed on 0 and this many points, geometric from
# 1e-10 to 1 times the bound of its roots.
REML_GRID = 1000


@dataclass(frozen=True)
class Pooled:
    """A pooled log hazard ratio with its CI and test, and the heterogeneity statistics.

    ``z`` is ``estimate / se``: a z statistic, or for HKSJ a t statistic on ``df`` df (``df``
    is NaN for the z tests). ``pi_lower``/``pi_upper`` are the 95% prediction interval,
    ``i2_*`` and ``tau2_*`` the Q-profile 95% CIs: NaN for the fixed effect.
    """

    method: str  # FIXED, RANDOM_DL or RANDOM_REML_HKSJ
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
    df: float
    pi_lower: float
    pi_upper: float
    i2_lower: float
    i2_upper: float
    tau2_lower: float
    tau2_upper: float


def _mean(y: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * y) / np.sum(w))


def _generalized_q(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    w = 1 / (v + tau2)
    return float(np.sum(w * (y - _mean(y, w)) ** 2))


def _reml_score(tau2: float | np.ndarray, y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Twice the derivative of the REML log-likelihood in tau^2, at each tau2."""
    w = 1 / (v + np.asarray(tau2, dtype=float)[..., np.newaxis])
    sum_w = np.sum(w, axis=-1)
    residuals = y - (np.sum(w * y, axis=-1) / sum_w)[..., np.newaxis]
    return np.sum(w**2 * residuals**2, axis=-1) - sum_w + np.sum(w**2, axis=-1) / sum_w


def _reml_loglik(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    """The REML log-likelihood, up to a constant."""
    w = 1 / (v + tau2)
    return -float(np.sum(np.log(v + tau2)) + np.log(np.sum(w)) + _generalized_q(tau2, y, v)) / 2


def _root(f: Callable[[float], float], lower: float, upper: float) -> float:
    """The root of f between lower and upper (of opposite signs there), to machine precision."""
    return float(brentq(f, lower, upper, xtol=1e-300, rtol=4 * np.finfo(float).eps))


def _dl_tau2(y: np.ndarray, v: np.ndarray) -> float:
    w = 1 / v
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    return max(0.0, float((_generalized_q(0.0, y, v) - (len(y) - 1)) / c))


def _reml_tau2(y: np.ndarray, v: np.ndarray) -> float:
    """The REML likelihood's highest local maximum: at 0, or where the score falls through 0."""
    upper = (len(y) * np.ptp(y) ** 2 + np.max(v)) / (len(y) - 1)
    grid = np.concatenate([[0.0], upper * np.geomspace(1e-10, 1, REML_GRID)])
    score = _reml_score(grid, y, v)
    maxima = [0.0] if score[0] <= 0 else []
    falls = np.flatnonzero((score[:-1] > 0) & (score[1:] <= 0))
    maxima += [_root(lambda t: float(_reml_score(t, y, v)), grid[i], grid[i + 1]) for i in falls]
    return max(maxima, key=lambda t: _reml_loglik(t, y, v))


def _q_profile_bound(y: np.ndarray, v: np.ndarray, tail: float) -> float:
    """The t where Q(t) falls to its chi-squared quantile with upper tail ``tail``; 0 if Q(0) is
    not above it."""
    target = float(chdtri(len(y) - 1, tail))
    if _generalized_q(0.0, y, v) <= target:
        return 0.0
    upper = float(np.sum((y - np.mean(y)) ** 2)) / target
    return _root(lambda t: _generalized_q(t, y, v) - target, 0.0, upper)


def _critical_value_and_p(z: float, df: float) -> tuple[float, float]:
    """The two-sided critical value at CONF_LEVEL and p-value of z: t on df df, or normal (NaN)."""
    if np.isnan(df):
        return float(normal_quantile(0.5 + CONF_LEVEL / 2)), 2 * float(normal_sf(abs(z)))
    return float(stdtrit(df, 0.5 + CONF_LEVEL / 2)), 2 * float(stdtr(df, -abs(z)))


def _summary(method: str, y: np.ndarray, v: np.ndarray, tau2: float) -> Pooled:
    """One method's result, given its tau^2 (0 for the fixed effect)."""
    k = len(y)
    w = 1 / (v + tau2)
    estimate = _mean(y, w)
    variance = 1 / float(np.sum(w))
    df = float("nan")
    if method == RANDOM_REML_HKSJ:
        rss = float(np.sum(w * (y - estimate) ** 2))
        variance *= rss / (k - 1) if rss > np.finfo(float).eps else 0.0
        df = float(k - 1)
    se = np.sqrt(variance)
    with np.errstate(divide="ignore", invalid="ignore"):  # se = 0: z = +-inf, or NaN if 0/0
        z = float(estimate / se)
    crit, p = _critical_value_and_p(z, df)
    q = _generalized_q(0.0, y, v)
    fixed_w = 1 / v
    typical = (k - 1) / float(np.sum(fixed_w) - np.sum(fixed_w**2) / np.sum(fixed_w))
    if method == FIXED:
        i2 = 100 * max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
        pi_half = tau2_lower = tau2_upper = float("nan")
    else:
        i2 = 100 * tau2 / (tau2 + typical)
        pi_half = crit * float(np.sqrt(tau2 + variance))
        tau2_lower = _q_profile_bound(y, v, (1 - CONF_LEVEL) / 2)
        tau2_upper = _q_profile_bound(y, v, (1 + CONF_LEVEL) / 2)
    return Pooled(
        method=method,
        k=k,
        estimate=estimate,
        se=float(se),
        lower=float(estimate - crit * se),
        upper=float(estimate + crit * se),
        z=z,
        p=p,
        q=q,
        q_df=k - 1,
        q_p=float(chi2_sf(q, k - 1)),
        i2_percent=i2,
        tau2=tau2,
        df=df,
        pi_lower=estimate - pi_half,
        pi_upper=estimate + pi_half,
        i2_lower=100 * tau2_lower / (tau2_lower + typical),
        i2_upper=100 * tau2_upper / (tau2_upper + typical),
        tau2_lower=tau2_lower,
        tau2_upper=tau2_upper,
    )


def _not_poolable(method: str, k: int) -> Pooled:
    values: dict[str, Any] = {field.name: float("nan") for field in fields(Pooled)}
    return Pooled(**values | {"method": method, "k": k, "q_df": max(k - 1, 0)})


def pool(log_hr: ArrayLike, se: ArrayLike) -> tuple[Pooled, Pooled, Pooled]:
    """Fixed-effect, DerSimonian-Laird and REML-HKSJ random-effects pooling of log HRs."""
    y, s = np.asarray(log_hr, dtype=float), np.asarray(se, dtype=float)
    usable = np.isfinite(y) & np.isfinite(s) & (s > 0)
    y, v = y[usable], s[usable] ** 2
    if len(y) < 2:
        k = len(y)
        return (
            _not_poolable(FIXED, k),
            _not_poolable(RANDOM_DL, k),
            _not_poolable(RANDOM_REML_HKSJ, k),
        )
    return (
        _summary(FIXED, y, v, 0.0),
        _summary(RANDOM_DL, y, v, _dl_tau2(y, v)),
        _summary(RANDOM_REML_HKSJ, y, v, _reml_tau2(y, v)),
    )
