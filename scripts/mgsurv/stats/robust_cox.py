"""A weighted Cox model with the robust (sandwich) variance, as R's
``coxph(Surv(time, event) ~ x, weights = w, robust = TRUE)`` reports it: the coefficients
from :func:`mgsurv.stats.coxph_port.coxph_fit` (case weights), the variance
``crossprod(residuals(fit, type = "dfbeta", weighted = TRUE))`` (Lin & Wei 1989): each
patient's score residual times the model-based variance, times the patient's weight.

The score residuals are those of R's C routine ``coxscore2`` (one stratum, Efron ties),
summed per death time instead of looped over the risk set: at a death time with d deaths
(weights W in all), Efron's k-th fraction (k = 0..d-1, f = k / d) has the denominator
den_k = R - f E (R: the risk set's sum of w exp(x b), E: the deaths'), the hazard
h_k = (W / d) / den_k and the mean m_k = (A - f A2) / den_k (A, A2: the same sums of
w exp(x b) x). A patient at risk there gets - r sum_k h_k (x - m_k) (r = exp(x b)); one of
the deaths gets instead sum_k [(x - m_k) / d - r h_k (1 - f) (x - m_k)].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mgsurv.stats.cox import R_CONTROL, monotone_columns
from mgsurv.stats.coxph_port import aeq_times, coxph_fit

# A log-HR of a 0/1 column beyond this (HR e^10) means the estimate diverged: the
# likelihood is monotone in a combination the exact check below does not see.
MAX_ABS_COEF = 10.0


@dataclass(frozen=True)
class RobustCox:
    """The fit's coefficients, model-based SEs (``fit$naive.var``) and robust SEs; or, when
    the maximum-likelihood estimate is infinite or the iterations ran out, why not
    (``problem``; the numbers are then NaN)."""

    coef: np.ndarray
    naive_se: np.ndarray
    robust_se: np.ndarray
    problem: str = ""

    @property
    def estimable(self) -> bool:
        return not self.problem


def score_residuals(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Each patient's Efron score residual (n x p) at the coefficients ``beta``, as R's
    ``residuals(fit, type = "score")`` (times already tied by R's timefix)."""
    dead = event.astype(bool)
    centred = x - x.mean(axis=0)
    r = np.exp(centred @ beta)
    rw = r * weights
    death_times, group_of_death = np.unique(time[dead], return_inverse=True)
    # risk-set sums at each death time: suffix sums over patients sorted by time
    order = np.argsort(time, kind="stable")
    suffix_r = np.cumsum(rw[order][::-1])[::-1]
    suffix_a = np.cumsum((rw[:, None] * centred)[order][::-1], axis=0)[::-1]
    first_at_risk = np.searchsorted(time[order], death_times, side="left")
    risk_sum, risk_x = suffix_r[first_at_risk], suffix_a[first_at_risk]
    n_groups = len(death_times)
    deaths = np.bincount(group_of_death, minlength=n_groups).astype(float)
    death_r = np.bincount(group_of_death, weights=rw[dead], minlength=n_groups)
    death_w = np.bincount(group_of_death, weights=weights[dead], minlength=n_groups)
    death_x = np.column_stack(
        [
            np.bincount(group_of_death, weights=(rw[dead] * column), minlength=n_groups)
            for column in centred[dead].T
        ]
    ).reshape(n_groups, -1)
    # one row per Efron fraction: group g, k = 0..d_g - 1
    group = np.repeat(np.arange(n_groups), deaths.astype(int))
    k = np.arange(len(group)) - np.repeat(np.cumsum(deaths) - deaths, deaths.astype(int))
    fraction = k / deaths[group]
    denominator = risk_sum[group] - fraction * death_r[group]
    hazard = death_w[group] / deaths[group] / denominator
    mean = (risk_x[group] - fraction[:, None] * death_x[group]) / denominator[:, None]
    per_group = np.bincount(group, weights=hazard, minlength=n_groups)
    per_group_mean = _group_sums(group, hazard[:, None] * mean, n_groups)
    # every patient at risk: the groups at or before the patient's time
    reached = np.searchsorted(death_times, time, side="right")
    cumulative = np.concatenate(([0.0], np.cumsum(per_group)))[reached]
    cumulative_mean = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(per_group_mean, axis=0)])
    residuals = -r[:, None] * (centred * cumulative[:, None] - cumulative_mean[reached])
    # the deaths: their own group's terms as Efron weighs them
    own = group_of_death
    fraction_hazard = _group_sums(group, (fraction * hazard)[:, None], n_groups)[:, 0]
    fraction_mean = _group_sums(group, (fraction * hazard)[:, None] * mean, n_groups)
    mean_of_means = _group_sums(group, mean, n_groups) / deaths[:, None]
    x_dead, r_dead = centred[dead], r[dead]
    residuals[dead] += (x_dead - mean_of_means[own]) + r_dead[:, None] * (
        x_dead * fraction_hazard[own][:, None] - fraction_mean[own]
    )
    return residuals


def _group_sums(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Column sums of ``values`` (rows x p) per group."""
    sums = np.zeros((n_groups, values.shape[1]))
    np.add.at(sums, group, values)
    return sums


def robust_cox(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, weights: np.ndarray
) -> RobustCox:
    """``coxph(Surv(time, event) ~ x, weights = weights, robust = TRUE)`` with the
    reference fixtures' control (R_CONTROL): coefficients, naive and robust SEs."""
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    time = aeq_times(np.asarray(time, dtype=float))
    event = np.asarray(event, dtype=int)
    nothing = np.full(x.shape[1], np.nan)
    design = pd.DataFrame(x, columns=[f"x{j}" for j in range(x.shape[1])])
    if monotone_columns(design, time, event, None):
        # positive weights do not change where the partial likelihood is monotone
        return RobustCox(
            nothing,
            nothing,
            nothing,
            "not estimable: the likelihood is monotone (separation: e.g. every event of one"
            " Mg group before any of the other's), so the hazard ratio is infinite",
        )
    fit = coxph_fit(
        x,
        time,
        event,
        weights=weights,
        eps=R_CONTROL["eps"],
        toler_chol=R_CONTROL["toler_chol"],
        iter_max=R_CONTROL["iter_max"],
        timefix=False,
        concordance=False,
    )
    if not fit.converged or not (np.abs(fit.coef) < MAX_ABS_COEF).all():
        return RobustCox(
            nothing, nothing, nothing, "not estimable: the weighted Cox model did not converge"
        )
    residuals = score_residuals(time, event, x, fit.coef, weights)
    dfbeta = (residuals @ fit.var) * weights[:, None]
    robust_var = dfbeta.T @ dfbeta
    return RobustCox(fit.coef, fit.se, np.sqrt(np.diag(robust_var)))
