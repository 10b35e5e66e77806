"""Data-driven Mg cut-point by maximally selected log-rank statistics (exploratory).

Mirrors R ``maxstat::maxstat.test(Surv(time, event) ~ mg, data, smethod = "LogRank",
pmethod = "Lau92", minprop = 0.1, maxprop = 0.9)`` (maxstat 0.7-25): its internal
``cmaxstat``, ``pLausen92`` and ``pLausen94`` and the log-rank scores of
``exactRankTests::cscores.Surv`` with their tie handling.

The minimum-p cut-point inflates the type I error (about 40% at a nominal 5% for a 10-90%
search, Altman et al. JNCI 1994) and overestimates the effect; the Lausen-Schumacher
corrected p-value is the one to report, the naive p of the best cut only shows the
inflation. Label any such cut exploratory and model Mg as continuous too (mgsurv.stats.spline).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from mgsurv.stats.distributions import normal_cdf, normal_pdf, normal_sf


@dataclass(frozen=True)
class CutpointResult:
    """The maximally selected log-rank statistic and its cut.

    Group "low" is ``mg <= cutpoint`` and "high" ``mg > cutpoint`` (maxstat's direction:
    the statistic compares the first m ordered observations with the rest). ``candidates``
    holds every cut searched with its standardized statistic
    (:data:`mgsurv.contract.CUTPOINT_CANDIDATE_COLUMNS`).
    ``p_lau92`` is the p-value to report; ``p_lau94`` is capped at 1; ``p_naive`` is the
    uncorrected p of the best cut, shown only to make its inflation visible.
    """

    cutpoint: float
    statistic: float
    p_lau92: float
    p_lau94: float
    p_naive: float
    n_low: int
    n_high: int
    events_low: int
    events_high: int
    minprop: float
    maxprop: float
    candidates: pd.DataFrame


def logrank_scores(time: ArrayLike, event: ArrayLike) -> np.ndarray:
    """Log-rank scores of ``exactRankTests::cscores.Surv(type = "LogRank")``.

    ``a_i = d_i - sum_{j: t_j <= t_i} d_j / (N - r_j + 1)`` where ``r_j`` is the largest
    rank among the times tied with ``t_j`` (``irank``). With ties the denominator is thus
    ``N - r_j + 1`` (one more than the number of later times), not the risk-set size that
    a Nelson-Aalen increment would use: this is maxstat's convention and is kept. Ties are
    exact equality of times.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    n = len(time)
    order = np.argsort(time, kind="stable")
    max_rank = np.searchsorted(time[order], time, side="right")
    increments = event / (n - max_rank + 1)
    return event - np.cumsum(increments[order])[max_rank - 1]


def candidate_counts(x_sorted: np.ndarray, minprop: float, maxprop: float) -> np.ndarray:
    """maxstat's candidate cuts as counts m: cut after the m smallest values (``x <= x_(m)``).

    ``m`` runs over the numbers of observations below each distinct value, kept when
    ``max(1, floor(N minprop)) <= m <= floor(N maxprop)``; with ``minprop = 0`` and
    ``maxprop = 1`` maxstat drops the first and the last such m instead.
    """
    n = len(x_sorted)
    counts = np.flatnonzero(np.r_[True, x_sorted[1:] != x_sorted[:-1]])
    if minprop == 0 and maxprop == 1:
        counts = counts[1:-1]
    else:
        low, high = max(1, np.floor(n * minprop)), np.floor(n * maxprop)
        counts = counts[(counts >= low) & (counts <= high)]
    if len(counts) == 0:
        raise ValueError("no cut-point candidates between minprop and maxprop")
    return counts


def standardized_statistics(scores_sorted: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``cmaxstat``'s |standardized| linear rank statistic at each cut.

    ``S_m = sum of the first m scores``, ``E = m / N * sum(a)``,
    ``V = m (N - m) / (N^2 (N - 1)) * (N sum(a^2) - sum(a)^2)`` (permutation variance),
    statistic ``|S_m - E| / sqrt(V)``.
    """
    n = len(scores_sorted)
    total = scores_sorted.sum()
    expected = counts / n * total
    variance = counts * (n - counts) / (n**2 * (n - 1)) * (n * np.sum(scores_sorted**2) - total**2)
    return np.abs((np.cumsum(scores_sorted)[counts - 1] - expected) / np.sqrt(variance))


def p_lausen92(statistic: float, minprop: float = 0.1, maxprop: float = 0.9) -> float:
    """Lausen & Schumacher (1992) approximation, maxstat's ``pLausen92``.

    ``P = 4 phi(b) / b + phi(b) (b - 1/b) log(maxprop (1 - minprop) / ((1 - maxprop) minprop))``
    (for minprop = 1 - maxprop = e the log term is ``log((1 - e)^2 / e^2)``), 1 when b < 1
    and never below 0. Without trimming (minprop 0 or maxprop 1) R returns Inf: the
    approximation does not exist there, and NaN is returned.
    """
    if statistic < 1:
        return 1.0
    if minprop <= 0 or maxprop >= 1:
        return float("nan")
    density = normal_pdf(statistic)
    ratio = (maxprop * (1 - minprop)) / ((1 - maxprop) * minprop)
    p = 4 * density / statistic + density * (statistic - 1 / statistic) * np.log(ratio)
    return float(max(p, 0.0))


def p_lausen94(statistic: float, n: int, counts: np.ndarray) -> float:
    """Lausen, Sauerbrei & Schumacher (1994) improved Bonferroni bound, maxstat's ``pLausen94``,
    capped at 1 (the bound itself can exceed 1 when the statistic is small).

    ``P = 1 - (Phi(b) - Phi(-b)) + sum_i exp(-b^2 / 2) / pi (t_i - (b^2 / 4 - 1) t_i^3 / 6)``
    with ``t_i = sqrt(1 - m_i (N - m_{i+1}) / ((N - m_i) m_{i+1}))`` over consecutive
    candidate counts m.
    """
    first, second = counts[:-1].astype(float), counts[1:].astype(float)
    t = np.sqrt(1 - first * (n - second) / ((n - first) * second))
    b2 = statistic**2
    bound = np.sum(1 / np.pi * np.exp(-b2 / 2) * (t - (b2 / 4 - 1) * t**3 / 6))
    return float(min(1 - (normal_cdf(statistic) - normal_cdf(-statistic)) + bound, 1.0))


def maxstat_cutpoint(
    time: ArrayLike,
    event: ArrayLike,
    mg: ArrayLike,
    minprop: float = 0.1,
    maxprop: float = 0.9,
) -> CutpointResult:
    """Maximally selected log-rank statistic over Mg cuts, as ``maxstat.test`` (module doc).

    Rows with a missing time, event or Mg are dropped (R's na.omit). The estimated cut is
    the smallest cut attaining the maximum M (R's ``estimate``); ``p_naive = 2 (1 - Phi(M))``
    is the unadjusted p of that cut.
    """
    data = pd.DataFrame({"time": time, "event": event, "mg": mg}, dtype=float).dropna()
    if data["event"].sum() == 0:
        raise ValueError("no events: the log-rank statistic is not defined")
    scores = logrank_scores(data["time"].to_numpy(), data["event"].to_numpy())
    order = np.argsort(data["mg"].to_numpy(), kind="stable")
    x_sorted = data["mg"].to_numpy()[order]
    counts = candidate_counts(x_sorted, minprop, maxprop)
    statistics = standardized_statistics(scores[order], counts)
    best = int(np.argmax(statistics))
    n, n_low = len(x_sorted), int(counts[best])
    events_sorted = data["event"].to_numpy()[order]
    statistic = float(statistics[best])
    return CutpointResult(
        cutpoint=float(x_sorted[n_low - 1]),
        statistic=statistic,
        p_lau92=p_lausen92(statistic, minprop, maxprop),
        p_lau94=p_lausen94(statistic, n, counts),
        p_naive=float(2 * normal_sf(statistic)),
        n_low=n_low,
        n_high=n - n_low,
        events_low=int(events_sorted[:n_low].sum()),
        events_high=int(events_sorted[n_low:].sum()),
        minprop=minprop,
        maxprop=maxprop,
        candidates=pd.DataFrame(
            {
                "cut": x_sorted[counts - 1],
                "statistic": statistics,
                "n_low": counts,
                "n_high": n - counts,
            }
        ),
    )
