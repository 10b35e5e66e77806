"""Rubin's rules: one estimate from the m analyses of multiply imputed data, as R mice's
``pool()`` (mice 3.15, ``rule = "rubin1987"``) computes it for each coefficient.

With estimates Q_1..Q_m and their variances U_1..U_m: the pooled estimate Qbar = mean Q,
the within-imputation variance Ubar = mean U, the between-imputation variance B = var Q
(n - 1 denominator), the total variance T = Ubar + (1 + 1/m) B; the proportion of the
variance due to missingness lambda = (1 + 1/m) B / T (at least 1e-4 in the degrees of
freedom, as mice 3.15), the relative increase in variance riv = (1 + 1/m) B / Ubar, and the
fraction of missing information fmi = (riv + 2 / (df + 3)) / (riv + 1).

Degrees of freedom by Barnard & Rubin (1999): df_old = (m - 1) / lambda^2 and
df_obs = (dfcom + 1) / (dfcom + 3) dfcom (1 - lambda), combined as
df_old df_obs / (df_old + df_obs), with dfcom the complete-data degrees of freedom (for a
Cox model mice takes events minus coefficients). The CI and p come from the t distribution
with those df (``summary(pool(fit), conf.int = TRUE)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_LAMBDA = 1e-4


@dataclass(frozen=True)
class Pooled:
    """One pooled coefficient, named as mice's pool() columns."""

    estimate: float
    ubar: float
    b: float
    t: float
    df: float
    riv: float
    fmi: float
    std_error: float
    lower: float
    upper: float
    p: float


def barnard_rubin_df(m: int, b: float, t: float, dfcom: float) -> float:
    """The Barnard-Rubin degrees of freedom (mice's ``barnard.rubin``)."""
    lam = max((1 + 1 / m) * b / t, MIN_LAMBDA)
    df_old = (m - 1) / lam**2
    if np.isinf(dfcom):
        return df_old
    df_obs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    return df_old * df_obs / (df_old + df_obs)


def pool(estimates, variances, dfcom: float, conf_level: float = 0.95) -> Pooled:
    """Rubin's rules for one coefficient over m >= 2 imputations."""
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = len(q)
    if m < 2:
        raise ValueError("pooling needs at least two imputations")
    qbar, ubar, b = float(q.mean()), float(u.mean()), float(q.var(ddof=1))
    t = ubar + (1 + 1 / m) * b
    df = barnard_rubin_df(m, b, t, dfcom)
    riv = (1 + 1 / m) * b / ubar
    se = float(np.sqrt(t))
    half = float(stats.t.ppf(0.5 + conf_level / 2, df)) * se
    return Pooled(
        estimate=qbar,
        ubar=ubar,
        b=b,
        t=t,
        df=df,
        riv=riv,
        fmi=(riv + 2 / (df + 3)) / (riv + 1),
        std_error=se,
        lower=qbar - half,
        upper=qbar + half,
        p=float(2 * stats.t.sf(abs(qbar / se), df)),
    )
