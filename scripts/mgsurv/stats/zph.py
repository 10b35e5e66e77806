"""Test of proportional hazards: R survival's ``cox.zph`` (>= 3.0), in numpy.

lifelines' ``proportional_hazard_test`` is the pre-3.0 approximation (its chi-square was
off from R survival 3.5-3's by up to 4, measured when mgsurv still used it). survival 3.x
instead runs an exact score test at the fitted beta of adding ``g(t) * x`` for every
covariate: with ``U`` the score and ``I`` the 2p x 2p Efron information of the expanded
model (``R/cox.zph.R`` and ``src/zph1.c`` of therneau/survival),

    chi2 = U' I^-1 U,   U = (0, sum over events of g(t) (x - xbar(t))),

per term (the p fitted columns plus the term's own g(t) columns, df = the term's number of
columns) and globally (all 2p, df = p). ``g`` is the transformed time centred at its mean
over events. The scaled Schoenfeld residuals of ``zp$y`` (for plots) are returned as well.

Conventions mirrored from R: Efron ties (lifelines fits with Efron only); times are equal
only when exactly equal (R's ``timefix`` is not applied: round times upstream); strata
are ordered as R orders factor levels (a categorical's categories, else sorted values);
the "km" transform is ``1 - S(t-)`` of the Kaplan-Meier curve of all the data, ignoring
strata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import get_args

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from mgsurv.contract import PH_GLOBAL
from mgsurv.settings import PhTransform
from mgsurv.stats.distributions import chi2_sf

TRANSFORMS: tuple[PhTransform, ...] = get_args(PhTransform)


@dataclass(frozen=True)
class ZphResult:
    """``cox.zph``'s table, scaled Schoenfeld residuals and their variance.

    table: columns term, chi2, df, p; one row per term, then ``GLOBAL`` (R's ``zp$table``).
    residuals: one row per event in R's order (by stratum, then time): time (``zp$time``),
        transformed_time (``zp$x``), stratum (with strata only), then one column per term
        (``zp$y``; a multi-column term is combined through its coefficients, as R does).
    var: R's ``zp$var``, the inverse of the mean information per event, terms x terms.
    coefficient_residuals, coefficient_var: the same per coefficient (one column per design
        column), as ``cox.zph(fit, terms = FALSE)`` gives them: what R's ``plot`` draws,
        one panel per coefficient (:mod:`mgsurv.stats.zph_plot`); None unless asked for.
    """

    table: pd.DataFrame
    residuals: pd.DataFrame
    var: pd.DataFrame
    coefficient_residuals: pd.DataFrame | None = None
    coefficient_var: pd.DataFrame | None = None


@dataclass(frozen=True)
class _Score:
    """What R's C routine ``zph1`` returns, with rows of ``schoen`` in event order."""

    u: np.ndarray  # 2p score: sum g(t) (x - xbar) in the second half
    imat: np.ndarray  # 2p x 2p Efron information of (x, g(t) x)
    schoen: np.ndarray  # events x p unscaled Schoenfeld residuals
    used: np.ndarray  # strata x p: events of the stratum if the column varies there, else 0


def km_left_transform(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """``1 - S(t-)`` at each time, S the Kaplan-Meier curve of all the data.

    R: ``1 - c(1, survfitKM(...)$surv)[findInterval(times, km$time, left.open = TRUE) + 1]``,
    i.e. the survival just before t (lifelines' km transform uses S(t) instead).
    """
    unique, index = np.unique(time, return_inverse=True)
    deaths = np.bincount(index, weights=event, minlength=len(unique))
    at_risk = len(time) - np.concatenate([[0], np.cumsum(np.bincount(index))[:-1]])
    surv = np.cumprod(1.0 - deaths / at_risk)
    return 1.0 - np.concatenate([[1.0], surv])[index]


def transform_times(time: np.ndarray, event: np.ndarray, transform: PhTransform) -> np.ndarray:
    """R's ``cox.zph`` time transforms: "km", "rank" (ties averaged), "identity", "log"."""
    if transform == "km":
        return km_left_transform(time, event)
    if transform == "rank":
        return pd.Series(time).rank(method="average").to_numpy()
    if transform == "identity":
        return time.astype(float)
    if transform == "log":
        return np.log(time)
    raise ValueError(f"unknown transform {transform!r}; use one of {', '.join(TRANSFORMS)}")


def _weighted(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (n or n x p) times a per-row weight."""
    return values * weights.reshape((-1,) + (1,) * (values.ndim - 1))


def _risk_set_sums(
    values: np.ndarray, starts: np.ndarray, event: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per tie group: the sum over survivors (later times, plus censored at t) and deaths.

    ``values`` holds one row per subject sorted by time (risk or risk x); it is
    summed as a contiguous 2-D array (much faster in numpy) and reshaped back.
    """
    shape = values.shape[1:]
    flat = values.reshape(len(values), -1)
    later = np.cumsum(np.add.reduceat(flat, starts)[::-1], axis=0)[::-1]
    later = np.concatenate([later[1:], np.zeros((1, flat.shape[1]))])
    alive = later + np.add.reduceat(_weighted(flat, 1.0 - event), starts)
    dead = np.add.reduceat(_weighted(flat, event), starts)
    return alive.reshape((-1, *shape)), dead.reshape((-1, *shape))


def _efron_fractions(group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For deaths sorted by tie group: k/d for the k-th of d deaths, and each group's start."""
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    counts = np.diff(np.r_[first, len(group)])
    rank = np.arange(len(group)) - np.repeat(first, counts) + 1.0
    return rank / np.repeat(counts, counts), first


def _stratum_score(
    gtime: np.ndarray, time: np.ndarray, event: np.ndarray, x: np.ndarray, risk: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One stratum's 2p score, 2p x 2p information and Schoenfeld residuals (zph1.c, Efron).

    Rows are sorted by time. At a time with d deaths the Efron risk sets are the survivors
    (censored at t included) plus the fraction f = k/d, k = 1..d, of the dying, with means
    m_k and variances V_k = M2_k - m_k m_k'. Summing over deaths: U1 = sum (x - m),
    U2 = sum g (x - m), I = sum [V, g V; g V, g^2 V]; each death's Schoenfeld residual is
    x minus the average of its time's m_k.

    The second moments are never formed per death (that is deaths x p x p, gigabytes at
    10^6): with w_k = 1, g_k or g_k^2 and den_k the k-th Efron risk-set sum, the weighted
    sum of M2_k is X' diag(v) X with v_i = r_i times the sum of w_k / den_k over the deaths
    whose risk set holds subject i (for a death at i's own time: weighted by f_k when i
    dies then, fully when i is censored then).
    """
    new_time = np.r_[True, time[1:] != time[:-1]]
    starts = np.flatnonzero(new_time)
    row_group = np.cumsum(new_time) - 1
    rx = risk[:, None] * x
    (alive0, dead0), (alive1, dead1) = (_risk_set_sums(v, starts, event) for v in (risk, rx))
    group = row_group[event == 1]
    fraction, first = _efron_fractions(group)
    den = alive0[group] + fraction * dead0[group]
    # deaths x p arrays are ~100 MB each at 10^6: formed in place, one at a time
    mean = dead1[group]
    mean *= fraction[:, None]
    mean += alive1[group]
    mean /= den[:, None]
    del alive1, dead1, rx
    g = gtime[starts][group]
    second = []
    for w in (np.ones_like(g), g, g**2):
        surviving = np.bincount(group, weights=w / den, minlength=len(starts))
        dying = np.bincount(group, weights=w * fraction / den, minlength=len(starts))
        before = np.cumsum(surviving) - surviving
        v = risk * (
            before[row_group] + np.where(event == 1, dying[row_group], surviving[row_group])
        )
        second.append(x.T @ (v[:, None] * x) - mean.T @ (w[:, None] * mean))
    centred = x[event == 1] - mean
    u = np.concatenate([centred.sum(axis=0), g @ centred])
    del centred
    imat = np.block([[second[0], second[1]], [second[1], second[2]]])
    counts = np.diff(np.r_[first, len(group)])
    time_mean = np.add.reduceat(mean, first) / counts[:, None]
    del mean
    residual = x[event == 1]
    residual -= np.repeat(time_mean, counts, axis=0)
    return u, imat, residual


def _used(x: np.ndarray, event: np.ndarray, codes: np.ndarray, nstrata: int) -> np.ndarray:
    """zph1.c's ``used``: per stratum and column, the stratum's events if the column varies
    there (over all its subjects), else 0."""
    used = np.zeros((nstrata, x.shape[1]))
    for s in range(nstrata):
        rows = codes == s
        varies = (x[rows] != x[rows][0]).any(axis=0)
        used[s] = np.where(varies, event[rows].sum(), 0)
    return used


def _zph_score(
    gtime: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    eta: np.ndarray,
    codes: np.ndarray,
    nstrata: int,
) -> _Score:
    """R's ``zph1``: per-stratum risk sets, sums over strata; rows sorted by stratum, time.

    Like zph1.c, the covariates are centred at their means first (for numerical stability;
    it changes nothing else).
    """
    order = np.lexsort((time, codes))
    xc = x - x.mean(axis=0)
    risk = np.exp(eta)
    p = x.shape[1]
    u, imat, schoen = np.zeros(2 * p), np.zeros((2 * p, 2 * p)), []
    for s in range(nstrata):
        rows = order[codes[order] == s]
        if not event[rows].any():
            continue
        su, si, ss = _stratum_score(gtime[rows], time[rows], event[rows], xc[rows], risk[rows])
        u, imat = u + su, imat + si
        schoen.append(ss)
    return _Score(u, imat, np.concatenate(schoen), _used(x, event, codes, nstrata))


def _score_test(score: _Score, columns: np.ndarray) -> float:
    """U' I^-1 U over the p fitted columns plus the g(t) columns ``columns`` (R: ``solve``).

    The first p score entries are taken as 0, as R does: the fit's score is 0 at beta.
    """
    p = len(score.u) // 2
    keep = np.r_[np.arange(p), columns + p]
    u = np.r_[np.zeros(p), score.u[columns + p]]
    return float(np.linalg.solve(score.imat[np.ix_(keep, keep)], u) @ u)


def _test_table(score: _Score, groups: list[np.ndarray], names: list[str]) -> pd.DataFrame:
    """One score test per term (df = its number of columns), then GLOBAL (df = p)."""
    p = len(score.u) // 2
    groups = [*groups, np.arange(p)]
    stats = np.array([_score_test(score, columns) for columns in groups])
    df = np.array([len(columns) for columns in groups])
    return pd.DataFrame(
        {"term": [*names, PH_GLOBAL], "chi2": stats, "df": df, "p": chi2_sf(stats, df)}
    )


def _term_weights(groups: list[np.ndarray], beta: np.ndarray) -> np.ndarray:
    """p x terms: 1 for a one-column term, the coefficients for a multi-column one (R)."""
    weights = np.zeros((len(beta), len(groups)))
    for i, columns in enumerate(groups):
        weights[columns, i] = 1.0 if len(columns) == 1 else beta[columns]
    return weights


def _term_used(used: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """``used`` (strata x p) as R's cox.zph adjusts it: when a column of a multi-column term
    is unused in some stratum, all the term's columns take their row maximum."""
    used = used.copy()
    for columns in groups:
        if len(columns) > 1 and (used[:, columns] == 0).any():
            used[:, columns] = used[:, columns].max(axis=1, keepdims=True)
    return used


def _scaled_residuals(
    score: _Score, beta: np.ndarray, groups: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """R's ``zp$y`` and ``zp$var``: Schoenfeld residuals per term, scaled by the inverse of
    the mean information per event and shifted by the coefficient (1 for a multi-column
    term, whose residual is already combined through its coefficients).

    The mean information is I11 / w, w[j, k] = sum over strata of min(used_j, used_k). Rows
    of a stratum where a term is constant are NA for that term. As in R, rows are assigned
    to strata by repeating each stratum's largest ``used`` count, so a stratum where every
    covariate is constant gets no rows and later strata shift by its event count.
    """
    p = len(beta)
    used = _term_used(score.used, groups)
    counts = np.minimum(used[:, :, None], used[:, None, :]).sum(axis=0)
    weights = _term_weights(groups, beta)
    vmean = weights.T @ (score.imat[:p, :p] / np.where(counts == 0, 1, counts)) @ weights
    resid = score.schoen @ weights
    used = used[:, [columns[0] for columns in groups]]
    stratum = np.repeat(np.arange(len(used)), used.max(axis=1).astype(int))
    for s in range(len(used)):
        k = np.flatnonzero(used[s] > 0)
        rows = np.flatnonzero(stratum == s)
        if len(k) == 0 or len(rows) == 0:
            continue
        resid[np.ix_(rows, k)] = np.linalg.solve(vmean[np.ix_(k, k)], resid[np.ix_(rows, k)].T).T
        resid[np.ix_(rows, np.setdiff1d(np.arange(len(groups)), k))] = np.nan
    shift = np.array([beta[c[0]] if len(c) == 1 else 1.0 for c in groups])
    return resid + shift, np.linalg.inv(vmean)


def _term_columns(design: pd.DataFrame, terms: Mapping[str, Sequence[str]]) -> list[np.ndarray]:
    """Column positions of each term; every design column must be in exactly one term."""
    positions = {name: i for i, name in enumerate(design.columns)}
    listed = [column for columns in terms.values() for column in columns]
    if sorted(listed) != sorted(positions) or len(set(listed)) != len(listed):
        raise ValueError(
            f"terms must name each design column once: columns {list(design.columns)}, "
            f"terms {terms}"
        )
    return [np.array([positions[c] for c in columns]) for columns in terms.values()]


def _strata_codes(strata: ArrayLike | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer stratum codes and labels, in R's factor-level order.

    A categorical keeps its category order (as R's ``strata()`` keeps a factor's levels);
    other values are sorted. Empty categories are dropped.
    """
    if strata is None:
        return np.zeros(n, dtype=int), np.array([None])
    categorical = pd.Categorical(strata).remove_unused_categories()
    if (categorical.codes < 0).any():
        raise ValueError("strata has missing values; use complete cases")
    return categorical.codes.astype(int), np.asarray(categorical.categories)


def cox_zph(
    design: pd.DataFrame,
    time: ArrayLike,
    event: ArrayLike,
    beta: ArrayLike,
    terms: Mapping[str, Sequence[str]],
    transform: PhTransform = "km",
    strata: ArrayLike | None = None,
    per_coefficient: bool = False,
) -> ZphResult:
    """R's ``cox.zph(fit, transform, terms = TRUE, global = TRUE)`` for an Efron Cox fit.

    design: the n x p covariate matrix of the fit (dummy-coded, complete cases), whose
    columns are the coefficients; beta: the fitted coefficients in that order (R's coxph's, as
    :func:`mgsurv.stats.cox.fit_cox` gives them); terms: each term's columns (tested jointly);
    strata: one stratum label per row for a stratified fit (``+ strata(s)`` in R), else None;
    per_coefficient: also the residuals per coefficient (``terms = FALSE``), for the plots.
    """
    x = design.to_numpy(dtype=float)
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    beta = np.asarray(beta, dtype=float)
    if beta.shape != (x.shape[1],):
        raise ValueError(f"beta has {beta.size} values for {x.shape[1]} design columns")
    if not event.any():
        raise ValueError("no events: the test is not defined")
    groups = _term_columns(design, terms)
    codes, levels = _strata_codes(strata, len(time))
    ttimes = transform_times(time, event, transform)
    gtime = ttimes - ttimes[event == 1].mean()
    eta = (x - x.mean(axis=0)) @ beta
    score = _zph_score(gtime, time, event, x, eta, codes, len(levels))
    resid, var = _scaled_residuals(score, beta, groups)
    order = np.lexsort((time, codes))
    order = order[event[order] == 1]
    names = list(terms)
    frame = {"time": time[order], "transformed_time": ttimes[order]}
    if strata is not None:
        frame["stratum"] = levels[codes[order]]
    residuals = pd.concat([pd.DataFrame(frame), pd.DataFrame(resid, columns=names)], axis=1)
    result = ZphResult(
        table=_test_table(score, groups, names),
        residuals=residuals,
        var=pd.DataFrame(var, index=names, columns=names),
    )
    if not per_coefficient:
        return result
    each = [np.array([j]) for j in range(len(beta))]
    coefficient_resid, coefficient_var = _scaled_residuals(score, beta, each)
    coefficients = list(design.columns)
    return replace(
        result,
        coefficient_residuals=pd.concat(
            [pd.DataFrame(frame), pd.DataFrame(coefficient_resid, columns=coefficients)], axis=1
        ),
        coefficient_var=pd.DataFrame(coefficient_var, index=coefficients, columns=coefficients),
    )
