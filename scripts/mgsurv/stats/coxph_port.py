"""A Cox partial-likelihood fitter that gives R's ``coxph`` numbers (survival 3.5) in O(n p^2).

``coxph_fit`` is a port of R's ``coxph.fit`` / C ``coxfit6`` for right-censored data: the same
centring and scaling of the covariates (columns whose values are all in {-1, 0, 1} are left
alone, as ``coxph(nocenter = c(-1, 0, 1))``), the same Newton-Raphson iteration with step
halving, the same convergence rule (``|1 - loglik_old / loglik_new| <= eps``; the coefficients
returned are those at which it is met, no further step), R's Cholesky (LDL') with its
tolerance and aliasing rule, Efron (default) or Breslow ties, strata, case weights (Efron's
fractions are over the number of tied deaths and the deaths' weights are averaged, as R's
``deadwt / ndead``) and R's ``timefix`` (times within ~1.5e-8 relative are ties).  Results
(``CoxPHResult``) are named after the ``coxph`` object: ``coef``, ``var``, ``loglik`` (at the
initial and the final coefficients), ``score`` (the score test at the initial ones), ``wald``,
``iterations``, ``means``, ``linear_predictors`` and ``concordance`` (``concordance_counts``:
Harrell's C as ``fit$concordance``, O(n log n)).

``var`` is the model-based inverse information.  R's ``coxph`` switches its ``var`` to a
robust sandwich when the weights are not integers; this does not (compare ``fit$naive.var``,
or ``coxph(robust = FALSE)``).  Aliased (collinear) columns are handled as R does, not by
raising: a column whose pivot in the factorisation of the information falls below
``toler_chol`` x the largest diagonal gets a NaN coefficient and a zero row and column in
``var`` and is marked in ``aliased``; the others are fitted without it.  When the iterations
run out, ``converged`` is False and, as R, the results are the last accepted step's with
``iterations`` = ``iter_max + 1`` and ``var`` = 1 / diag(information), zero covariances (for
iter_max > 1 R's coxfit6 inverts an unfactored matrix there: only its diagonal counts).

How: the rows are sorted once (stratum, time descending, deaths last within a time); per
iteration the risk-set sums S0 (and, in cache-sized blocks, S1) are cumulative sums, and the
p x p part of R's per-event-time sums is summed in the other order, so that nothing of size
n x p x p is formed.  For a death group g of d rows at one time (R_g = S0 there, D_g = the
deaths' share of it, W_g their weights, fractions alpha_k = (d-1-k)/d, k = 0..d-1, Efron's
denominators den_k = R_g - alpha_k D_g; alpha = 0 for Breslow or d = 1), R adds
(W_g/d) sum_k [C_k/den_k - a_k a_k'/den_k^2] with C_k = C_g - alpha_k C2_g and
a_k = A_g - alpha_k A2_g (C, A: the risk set's sums of r x x' and r x; C2, A2: the deaths').
Summed over the groups, the C part is one weighted cross-product X' diag(v) X,

    v_i = r_i (c_i - [i is one of g's deaths] e_g),
    c_i = sum over the groups g whose risk set holds i of (W_g/d) sum_k 1/den_k,
    e_g = (W_g/d) sum_k alpha_k/den_k,

and the a_k a_k' part is four (groups x p) cross-products with per-group weights
(W_g/d) sum_k alpha_k^j / den_k^2, j = 0, 1, 2 (only q0 = j = 0 without tied deaths).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

NOCENTER = (-1.0, 0.0, 1.0)
TIMEFIX_TOLERANCE = float(np.sqrt(np.finfo(float).eps))
_LOOP_SEGMENTS = 1000  # strata up to this many: cumulative sums restart per stratum exactly
# Rows per block in the passes over the sorted covariates: cache-sized, and small enough that
# the p x p products of a block (p^2 rows <= 2^18) stay below OpenBLAS's multithreading
# threshold (m n k <= 65536 * 4): BLAS threads gain nothing on these thin products and,
# woken once per block, cost more than they give (much more on a busy machine).
_BLOCK = 1 << 12
_BLOCK_MIN = 1 << 10


@dataclass(frozen=True)
class Concordance:
    """Harrell's C as R's ``concordance`` / ``coxph``'s ``fit$concordance`` (weighted counts of
    comparable pairs: the shorter time is an event, and a censoring at the same time counts as
    longer; pairs of events at the same time are ``tied_y``, not comparable)."""

    concordant: float  # the event has the higher risk score
    discordant: float
    tied_x: float  # equal risk scores: count 1/2
    tied_y: float  # events at the same time, risk scores differ
    tied_xy: float  # events at the same time, equal risk scores

    @property
    def value(self) -> float:
        pairs = self.concordant + self.discordant + self.tied_x
        return (self.concordant + self.tied_x / 2) / pairs if pairs > 0 else float("nan")


@dataclass(frozen=True)
class CoxPHResult:
    """One fit, named as R's ``coxph`` object (``coef`` = ``coef(fit)``, ``var`` = ``fit$var``,
    ``loglik`` = ``fit$loglik``, ``score`` = ``fit$score``, ``wald`` = ``fit$wald.test``,
    ``iterations`` = ``fit$iter``, ``means`` = ``fit$means``,
    ``linear_predictors`` = ``fit$linear.predictors`` in the input's row order)."""

    coef: np.ndarray
    var: np.ndarray
    loglik: tuple[float, float]
    score: float
    wald: float
    iterations: int
    converged: bool
    means: np.ndarray
    aliased: np.ndarray
    n: int
    n_events: int
    ties: str
    linear_predictors: np.ndarray
    concordance: Concordance | None
    infinite_warning: tuple[int, ...] = ()  # R's "coefficient may be infinite" columns

    @property
    def se(self) -> np.ndarray:
        se = np.sqrt(np.diag(self.var))
        return np.where(self.aliased, np.nan, se)

    @property
    def lr_statistic(self) -> float:
        return 2 * (self.loglik[1] - self.loglik[0])

    @property
    def df(self) -> int:
        return int((~self.aliased).sum())


# ---------------------------------------------------------------------------------------------
# R's Cholesky routines (survival/src/cholesky2.c, chsolve2.c, chinv2.c): an LDL'
# factorisation without pivoting in which a pivot below toler * max(diagonal) marks the
# column as redundant (its D is set to 0, and solves and inverses give 0 there).


def _cholesky2(matrix: np.ndarray, toler: float) -> tuple[np.ndarray, int]:
    a = np.array(matrix, dtype=float)
    n = a.shape[0]
    a[np.tril_indices(n, -1)] = a.T[np.tril_indices(n, -1)]
    largest = max(0.0, float(np.max(np.where(np.isnan(np.diag(a)), -np.inf, np.diag(a)))))
    if largest == 0:
        return a, 0
    eps = largest * toler
    rank, nonneg = 0, 1
    for i in range(n):
        pivot = a[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            a[i, i] = 0.0
            if pivot < -8 * eps:
                nonneg = -1
            continue
        rank += 1
        for j in range(i + 1, n):
            temp = a[j, i] / pivot
            a[j, i] = temp
            a[j, j] -= temp * temp * pivot
            a[j + 1 :, j] -= temp * a[j + 1 :, i]
    return a, rank * nonneg


def _chsolve2(chol: np.ndarray, y: np.ndarray) -> np.ndarray:
    n = chol.shape[0]
    y = np.array(y, dtype=float)
    for i in range(n):
        y[i] -= y[:i] @ chol[i, :i]
    for i in range(n - 1, -1, -1):
        if chol[i, i] == 0:
            y[i] = 0.0
        else:
            y[i] = y[i] / chol[i, i] - y[i + 1 :] @ chol[i + 1 :, i]
    return y


def _chinv2(chol: np.ndarray) -> np.ndarray:
    """The inverse from ``_cholesky2``'s factor (upper triangle, then symmetrised), zero in
    the rows and columns of redundant columns."""
    m = np.array(chol, dtype=float)
    n = m.shape[0]
    for i in range(n):
        if m[i, i] > 0:
            m[i, i] = 1 / m[i, i]
            for j in range(i + 1, n):
                m[j, i] = -m[j, i]
                m[j, :i] += m[j, i] * m[i, :i]
    for i in range(n):
        if m[i, i] == 0:
            m[:i, i] = 0.0
            m[i, i:] = 0.0
        else:
            for j in range(i + 1, n):
                temp = m[j, i] * m[j, j]
                m[i, j] = temp
                m[i, i:j] += temp * m[j, i:j]
    upper = np.triu(m)
    return upper + np.triu(m, 1).T


def _wald_test(var: np.ndarray, b: np.ndarray, toler: float) -> float:
    """R's ``coxph.wtest``: b' var^-1 b through ``_cholesky2`` (redundant directions dropped)."""
    if b.size == 0:
        return float("nan")
    if b.size == 1:
        return float(b[0] * b[0] / var[0, 0])
    chol, _ = _cholesky2(var, toler)
    return float(b @ _chsolve2(chol, b))


# ---------------------------------------------------------------------------------------------
# Segmented cumulative sums: strata restart the sums.


def _segment_cumsum(a: np.ndarray, starts: np.ndarray, out: np.ndarray | None = None):
    """Cumulative sums along the last axis, restarting at each index in ``starts`` (which
    begins with 0).  Up to _LOOP_SEGMENTS segments are summed one by one; beyond, by a
    segmented doubling scan (log2 of the longest segment passes), which restarts exactly."""
    out = np.empty_like(a) if out is None else out
    n = a.shape[-1]
    bounds = np.append(starts, n)
    if starts.size <= _LOOP_SEGMENTS:
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            np.cumsum(a[..., start:stop], axis=-1, out=out[..., start:stop])
        return out
    lengths = np.diff(bounds)
    offset = np.arange(n) - np.repeat(starts, lengths)
    out[...] = a
    shift = 1
    longest = int(lengths.max())
    while shift < longest:
        out[..., shift:] += np.where(offset[shift:] >= shift, out[..., :-shift], 0.0)
        shift *= 2
    return out


def _segment_revcumsum(a: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Reverse cumulative sums (from each segment's end back to each position)."""
    flipped = a[::-1]
    n = a.shape[0]
    bounds = np.append(starts, n)
    flipped_starts = np.sort(n - bounds[1:])
    return _segment_cumsum(flipped, flipped_starts)[::-1]


def aeq_times(time, tolerance: float = TIMEFIX_TOLERANCE) -> np.ndarray:
    """R's ``aeqSurv``: a time within ``tolerance`` (absolute, or relative to the mean absolute
    distinct time) of the next smaller distinct time is set to it, so that they are ties."""
    time = np.asarray(time, dtype=float)
    order = np.argsort(time)
    fixed = np.empty_like(time)
    fixed[order] = _aeq_sorted(time[order], tolerance)
    return fixed


def _aeq_sorted(ascending: np.ndarray, tolerance: float = TIMEFIX_TOLERANCE) -> np.ndarray:
    """``aeq_times`` of times sorted ascending, in O(n)."""
    n = ascending.size
    if n < 2:
        return ascending
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(ascending[1:], ascending[:-1], out=new[1:])
    unique = ascending[new]
    if unique.size < 2:
        return ascending
    gaps = np.diff(unique)
    tied = (gaps <= tolerance) | (gaps / np.mean(np.abs(unique)) <= tolerance)
    if not tied.any():
        return ascending
    is_cut = np.concatenate(([True], ~tied))
    return unique[is_cut][np.cumsum(is_cut)[np.cumsum(new) - 1] - 1]


def _factor(labels, n: int) -> tuple[np.ndarray, int]:
    """Integer codes 0..k-1 of the strata labels (sorted as R's factor levels) and k."""
    if labels is None:
        return np.zeros(n, dtype=np.int64), 1
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"strata must be one label per row ({n}), got shape {labels.shape}")
    codes, uniques = pd.factorize(labels, sort=True)
    if (codes < 0).any():
        raise ValueError("strata has missing labels")
    return codes.astype(np.int64), len(uniques)


def _sort_rows(time, codes, n_strata, timefix):
    """The row order by stratum, then time descending, and the sorted times (with R's
    timefix applied when asked)."""
    order = np.argsort(time)[::-1]
    ts = time[order]
    if timefix:
        ts = np.ascontiguousarray(_aeq_sorted(ts[::-1])[::-1])
    if n_strata > 1:
        key = codes[order]
        by = np.argsort(key.astype(np.uint16) if n_strata <= 2**16 else key, kind="stable")
        order, ts = order[by], ts[by]
    return np.ascontiguousarray(order), ts


def _starts(values: np.ndarray) -> np.ndarray:
    """Flags where a run of equal values begins."""
    new = np.empty(values.size, dtype=bool)
    if values.size:
        new[0] = True
        np.not_equal(values[1:], values[:-1], out=new[1:])
    return new


def _in_set(column: np.ndarray, values) -> bool:
    if not np.isin(column[:1000], values).all():
        return False
    return bool(np.isin(column, values).all())


# ---------------------------------------------------------------------------------------------
# The fit.


class _Block(NamedTuple):
    """A range of sorted rows in the score/information pass (see _CoxProblem._make_blocks)."""

    lo: int
    hi: int
    restart: bool  # a stratum starts here: the cumulative sums restart
    g0: int  # its death groups are g0..g1-1, its tied (Efron) groups t0..t1-1
    g1: int
    t0: int
    t1: int
    dense: bool  # many death groups: cumulative sums over rows, else over chunks
    ends: np.ndarray  # dense: the death groups' last rows; sparse: the chunks' first rows
    tied_ranges: np.ndarray | None  # dense: the tied deaths' [first, last + 1) rows
    s1_chunks: np.ndarray | None  # sparse: the chunk ending at each death group
    a2_chunks: np.ndarray | None  # sparse: the chunk of each tied group's deaths
    tied_groups: np.ndarray | None  # the tied groups' positions among g0..g1-1


def _interleave(first: np.ndarray, stop: np.ndarray, size: int) -> np.ndarray:
    """reduceat indices whose even results are the sums over [first, stop)."""
    indices = np.column_stack((first, stop)).ravel()
    return indices[:-1] if indices.size and indices[-1] >= size else indices


def _deaths_last(dead: np.ndarray, new_group: np.ndarray) -> np.ndarray:
    """The permutation that puts each time group's censored rows first and its deaths last,
    each in their order (a stable partition per group, O(n))."""
    n = dead.size
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.append(starts, n))
    censored = ~dead
    cum = np.cumsum(censored)
    before_start = cum[starts] - censored[starts]
    n_censored = np.repeat(cum[starts + sizes - 1] - before_start, sizes)
    censored_before = cum - censored - np.repeat(before_start, sizes)
    start = np.repeat(starts, sizes)
    deaths_before = np.arange(n) - start - censored_before
    dest = start + np.where(censored, censored_before, n_censored + deaths_before)
    perm = np.empty(n, dtype=np.intp)
    perm[dest] = np.arange(n)
    return perm


class _CoxProblem:
    """The data sorted once (stratum, then time descending, deaths last within a time) with
    everything that does not depend on the coefficients; ``evaluate`` gives R's loglik,
    score and information at coefficients in the centred and scaled coordinates."""

    def __init__(self, x, order, ts, event, codes, weights, ties, nocenter):
        n, p = x.shape
        self.n, self.p = n, p
        ds = event[order].astype(bool)
        if codes is None:
            new_stratum = np.zeros(n, dtype=bool)
            new_stratum[0] = True
        else:
            cs = codes[order]
            new_stratum = _starts(cs)
        new_group = _starts(ts) | new_stratum
        if not new_group.all():
            perm = _deaths_last(ds, new_group)
            order, ds = order[perm], ds[perm]
        self.order = order
        ws = None if weights is None else weights[order]
        self.ws = ws

        # the covariates sorted, one row per covariate, centred and scaled as R's coxfit6
        xt = np.empty((p, n))
        if x.flags.f_contiguous:
            for j in range(p):
                np.take(x[:, j], order, out=xt[j])
        else:  # rows gathered in blocks, then transposed
            block = np.empty((min(n, _BLOCK), p))
            for start in range(0, n, _BLOCK):
                rows = order[start : start + _BLOCK]
                np.take(x, rows, axis=0, out=block[: rows.size])
                xt[:, start : start + rows.size] = block[: rows.size].T
        total = float(n if ws is None else ws.sum())
        self.means, self.scale = np.zeros(p), np.ones(p)
        for j in range(p):
            row = xt[j]
            if nocenter is not None and _in_set(row, nocenter):
                continue
            mean = (row.sum() if ws is None else ws @ row) / total
            row -= mean
            spread = np.abs(row).sum() if ws is None else ws @ np.abs(row)
            scale = total / spread if spread > 0 else 1.0
            row *= scale
            self.means[j], self.scale[j] = mean, scale
        self.xt = xt

        self.rows = max(_BLOCK_MIN, min(_BLOCK, (1 << 18) // (p * p)))  # per block

        # time groups (equal times within a stratum) and the groups with deaths
        self.strata_starts = np.flatnonzero(new_stratum)
        group_starts = np.flatnonzero(new_group)
        group_end = np.append(group_starts[1:], n) - 1
        deaths = np.flatnonzero(ds)
        death_group = np.cumsum(new_group, dtype=np.intp)[deaths] - 1
        first_death = np.flatnonzero(_starts(death_group))
        self.dg_count = np.diff(np.append(first_death, deaths.size))
        self.dg_end = group_end[death_group[first_death]]
        if ws is None:
            self.dg_weight = self.dg_count.astype(float)
        else:
            self.dg_weight = np.add.reduceat(ws[deaths], first_death)
        n_dg = self.dg_end.size
        if codes is None:
            dg_new = np.zeros(n_dg, dtype=bool)
            dg_new[0] = True
        else:
            dg_new = _starts(cs[self.dg_end])
        self.dg_strata_starts = np.flatnonzero(dg_new)

        # Efron's tied-death groups (deaths contiguous): fractions alpha_k = (d - 1 - k) / d
        tied = self.dg_count >= 2 if ties == "efron" else np.zeros(n_dg, dtype=bool)
        self.tied_dg = np.flatnonzero(tied)
        n_tied = self.tied_dg.size
        if n_tied:
            d = self.dg_count[self.tied_dg]
            self.tied_end = self.dg_end[self.tied_dg] + 1
            self.tied_first = self.tied_end - d
            self.tied_ranges = _interleave(self.tied_first, self.tied_end, n)
            self.tied_wtave = self.dg_weight[self.tied_dg] / d
            frac_starts = np.cumsum(d) - d
            k = np.arange(d.sum()) - np.repeat(frac_starts, d)
            d_frac = np.repeat(d, d)
            self.frac_alpha = (d_frac - 1 - k) / d_frac
            self.frac_group = np.repeat(np.arange(n_tied), d)
            # chunks of whole groups of about _BLOCK fractions
            nominal = np.searchsorted(frac_starts, np.arange(0, d.sum(), _BLOCK))
            cuts = np.unique(np.append(nominal, n_tied))
            bounds = np.append(frac_starts, d.sum())
            self.frac_chunks = [
                (
                    int(bounds[t0]),
                    int(bounds[t1]),
                    int(t0),
                    int(t1),
                    frac_starts[t0:t1] - bounds[t0],
                )
                for t0, t1 in zip(cuts[:-1], cuts[1:], strict=True)
            ]
            self._terms = np.empty((6, min(_BLOCK * 2, d.sum())))

        death_weight = ds.astype(float) if ws is None else ws * ds
        self.u0 = np.einsum("ij,j->i", xt, death_weight)
        self._r = self._s0 = None
        self._row_indices(None if codes is None else cs)
        self.blocks = None
        if self.strata_starts.size <= _LOOP_SEGMENTS:
            self.blocks = self._make_blocks(group_starts, new_stratum)

    def _row_indices(self, cs) -> None:
        """Each row's first death group at or after it (the latest time it is at risk for;
        none: n_dg) and its tied group if it is a tied death (none: n_tied)."""
        n, n_dg = self.n, self.dg_end.size
        lengths = np.diff(np.concatenate(([-1], self.dg_end)))
        row_dg = np.full(n, n_dg, dtype=np.intp)
        row_dg[: self.dg_end[-1] + 1] = np.repeat(np.arange(n_dg), lengths)
        if cs is not None:  # rows past their stratum's last death group: none
            covered = row_dg < n_dg
            covered[covered] = cs[self.dg_end[row_dg[covered]]] == cs[covered]
            row_dg[~covered] = n_dg
        self.row_dg = row_dg
        n_tied = self.tied_dg.size
        if n_tied:
            d = self.dg_count[self.tied_dg]
            row_tied = np.full(n, n_tied, dtype=np.intp)
            row_tied[
                np.repeat(self.tied_first, d)
                + (np.arange(d.sum()) - np.repeat(np.cumsum(d) - d, d))
            ] = np.repeat(np.arange(n_tied), d)
            self.row_tied = row_tied

    def _make_blocks(self, group_starts, new_stratum) -> list[_Block]:
        """Row ranges of about ``self.rows`` rows that split no time group (so each Efron group lies
        in one block) and start at every stratum.  A block with many death groups takes
        cumulative sums over its rows; one with few sums its rows in chunks (from one death
        group's end to the next, and each tied group's deaths apart) and accumulates those.
        """
        n = self.n
        nominal = np.arange(0, n, self.rows)
        aligned = np.append(group_starts, n)[np.searchsorted(group_starts, nominal)]
        bounds = np.unique(np.concatenate((aligned, self.strata_starts, [n])))
        dg_bounds = np.searchsorted(self.dg_end, bounds)
        tied_bounds = np.searchsorted(self.tied_dg, dg_bounds)
        blocks = []
        for i in range(bounds.size - 1):
            lo, hi = int(bounds[i]), int(bounds[i + 1])
            g0, g1 = int(dg_bounds[i]), int(dg_bounds[i + 1])
            t0, t1 = int(tied_bounds[i]), int(tied_bounds[i + 1])
            m = hi - lo
            ends = self.dg_end[g0:g1] - lo
            after = ends + 1
            after = after[after < m]
            dense = 5 * (g1 - g0) > m
            tied_ranges = s1_chunks = a2_chunks = tied_groups = None
            first = np.empty(0, dtype=np.intp)
            if t1 > t0:
                first = self.tied_first[t0:t1] - lo
                tied_groups = self.tied_dg[t0:t1] - g0
                if dense:
                    tied_ranges = _interleave(first, self.tied_end[t0:t1] - lo, m)
            if not dense:
                cuts = np.unique(np.concatenate(([0], after, first)))
                s1_chunks = np.searchsorted(cuts, ends, side="right") - 1
                if t1 > t0:
                    a2_chunks = np.searchsorted(cuts, first)
                ends = cuts
            blocks.append(
                _Block(
                    lo,
                    hi,
                    bool(new_stratum[lo]),
                    g0,
                    g1,
                    t0,
                    t1,
                    dense,
                    ends,
                    tied_ranges,
                    s1_chunks,
                    a2_chunks,
                    tied_groups,
                )
            )
        return blocks

    def evaluate(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """R's loglik, score vector and information matrix at ``beta``."""
        if self._r is None:  # work arrays, kept: fresh large arrays cost page faults
            self._r, self._s0 = np.empty(self.n), np.empty(self.n)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # sum over deaths of w eta = beta' (sum of w x): u0
            loglik = float(beta @ self.u0)
            r, row = self._r, beta[None, :]
            step = self.rows
            for lo in range(0, self.n, step):  # eta, by blocks (see _BLOCK)
                np.matmul(row, self.xt[:, lo : lo + step], out=r[None, lo : lo + step])
            np.exp(r, out=r)
            if self.ws is not None:
                r *= self.ws
            s0 = _segment_cumsum(r, self.strata_starts, out=self._s0)[self.dg_end]

            # per death group g: h = (W/d) sum_k 1/den_k, the loglik term (W/d) sum_k log den_k
            # and q0 = (W/d) sum_k 1/den_k^2; for Efron's tied groups also e (alpha/den),
            # q1 (alpha/den^2) and q2 (alpha^2/den^2)
            weight = self.dg_weight
            h = weight / s0
            log_terms = weight * np.log(s0)
            q0 = h / s0
            tied = None
            if self.tied_dg.size:
                sums = self._efron_sums(s0[self.tied_dg], np.add.reduceat(r, self.tied_ranges)[::2])
                h[self.tied_dg] = sums[0]
                log_terms[self.tied_dg] = sums[1]
                q0[self.tied_dg] = sums[2]
                tied = (sums[3], sums[4], sums[5])
            loglik -= float(log_terms.sum())

            # c (per death group) and e (per tied group) give v = r (c - [a tied death] e),
            # the weight of x x' in the information
            c = np.append(_segment_revcumsum(h, self.dg_strata_starts), 0.0)
            e = None if tied is None else np.append(tied[0], 0.0)
            if self.blocks is None:
                u, imat = self._score_information_flat(r, c, e, h, q0, tied)
            else:
                u, imat = self._score_information(self.blocks, r, c, e, h, q0, tied)
        return loglik, u, imat

    def _efron_sums(self, s0, d2) -> np.ndarray:
        """Per tied group, (W/d) times the sums over its fractions of 1/den, log den, 1/den^2,
        alpha/den, alpha/den^2 and alpha^2/den^2, den = S0 - alpha D2; in cache-sized chunks
        of whole groups."""
        sums = np.empty((6, s0.size))
        terms = self._terms
        for f0, f1, t0, t1, starts in self.frac_chunks:
            m = f1 - f0
            work = terms[:, :m] if m <= terms.shape[1] else np.empty((6, m))
            group = self.frac_group[f0:f1]
            alpha = self.frac_alpha[f0:f1]
            den = work[5]
            np.take(s0, group, out=den)
            np.take(d2, group, out=work[4])
            work[4] *= alpha
            den -= work[4]
            np.divide(1.0, den, out=work[0])
            np.log(den, out=work[1])
            np.multiply(work[0], work[0], out=work[2])
            np.multiply(alpha, work[0], out=work[3])
            np.multiply(alpha, work[2], out=work[4])
            np.multiply(alpha, work[4], out=work[5])
            sums[:, t0:t1] = np.add.reduceat(work, starts, axis=1)
        sums *= self.tied_wtave
        return sums

    def _score_information(self, blocks: list[_Block], r, c, e, h, q0, tied):
        """One pass over the sorted covariates in the cache-sized ``blocks`` (``self.blocks``):
        S1 = cumulative sums of r x carried across blocks, read at the death groups; the
        score u0 - sum h S1 (+ sum e A2, A2 the tied deaths' sums of r x); the information
        X' diag(v) X - sum q0 S1 S1' (+ the Efron terms in A2)."""
        p, xt = self.p, self.xt
        u = self.u0.copy()
        imat = np.zeros((p, p))
        carry = np.zeros(p)
        size = min(self.rows * 2, self.n)
        buffer = np.empty((p, size))
        for b in blocks:
            lo, hi = b.lo, b.hi
            m = hi - lo
            block = buffer[:, :m] if m <= size else np.empty((p, m))
            np.multiply(xt[:, lo:hi], r[lo:hi], out=block)
            if b.restart:
                carry[:] = 0.0
            if b.dense:
                if b.tied_ranges is not None:
                    a2 = np.add.reduceat(block, b.tied_ranges, axis=1)[:, ::2]
                block[:, 0] += carry
                np.cumsum(block, axis=1, out=block)
                s1 = block[:, b.ends]
                carry[:] = block[:, -1]
            else:
                chunks = np.add.reduceat(block, b.ends, axis=1)
                if b.a2_chunks is not None:
                    a2 = chunks[:, b.a2_chunks]
                chunks[:, 0] += carry
                np.cumsum(chunks, axis=1, out=chunks)
                s1 = chunks[:, b.s1_chunks]
                carry[:] = chunks[:, -1]
            u -= (s1 @ h[b.g0 : b.g1, None])[:, 0]  # as a matrix product (see _BLOCK)
            v = np.take(c, self.row_dg[lo:hi])
            if b.tied_groups is not None:
                v -= np.take(e, self.row_tied[lo:hi])
                e_block, q1, q2 = (values[b.t0 : b.t1] for values in tied)
                u += a2 @ e_block
                cross = (s1[:, b.tied_groups] * q1) @ a2.T
                imat += cross + cross.T
                imat -= (a2 * q2) @ a2.T
            imat -= (s1 * q0[b.g0 : b.g1]) @ s1.T
            v *= r[lo:hi]
            np.multiply(xt[:, lo:hi], v, out=block)
            imat += block @ xt[:, lo:hi].T  # a product of two arrays: gemm, faster than syrk
        return u, imat

    def _score_information_flat(self, r, c, e, h, q0, tied):
        """As ``_score_information`` in whole-array passes (many strata: segmented sums)."""
        xt = self.xt
        buffer = np.multiply(xt, r)
        if tied is not None:
            a2 = np.add.reduceat(buffer, self.tied_ranges, axis=1)[:, ::2]
        s1 = _segment_cumsum(buffer, self.strata_starts, out=buffer)[:, self.dg_end]
        u = self.u0 - s1 @ h
        v = np.take(c, self.row_dg)
        if tied is not None:
            v -= np.take(e, self.row_tied)
        v *= r
        np.multiply(xt, v, out=buffer)
        imat = buffer @ xt.T
        if tied is not None:
            e, q1, q2 = tied
            u += a2 @ e
            cross = (s1[:, self.tied_dg] * q1) @ a2.T
            imat += cross + cross.T
            imat -= (a2 * q2) @ a2.T
        imat -= (s1 * q0) @ s1.T
        return u, imat


def coxph_fit(
    x,
    time,
    event,
    *,
    strata=None,
    weights=None,
    init=None,
    ties: str = "efron",
    eps: float = 1e-9,
    iter_max: int = 20,
    toler_chol: float | None = None,
    toler_inf: float | None = None,
    timefix: bool = True,
    nocenter: tuple[float, ...] | None = NOCENTER,
    concordance: bool = True,
) -> CoxPHResult:
    """Fit a Cox model to right-censored data as R's ``coxph`` does (defaults as
    ``coxph.control()``: eps 1e-9, iter.max 20, toler.chol = double eps^0.75,
    toler.inf = sqrt(eps), timefix TRUE; ``nocenter`` as ``coxph``'s).

    ``x``: n x p covariates (factors as dummy columns; no intercept); ``time``; ``event``
    (0 censored, 1 event); ``strata``: one label per row, a separate baseline hazard per
    label; ``weights``: case weights > 0 (``coxph(weights = )``); ``init``: starting
    coefficients (default 0); ``ties``: "efron" or "breslow"; ``concordance``: also compute
    Harrell's C (as ``fit$concordance``).  Raises ValueError on invalid input (missing or
    non-finite values, no events, no covariates); aliased columns are not an error (see the
    module docstring).
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', not {ties!r}")
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n, p = x.shape
    if p == 0:
        raise ValueError("no covariates")
    time = np.asarray(time, dtype=float)
    event = np.asarray(event)
    if time.shape != (n,) or event.shape != (n,):
        raise ValueError(f"time and event must have one value per row ({n})")
    if not (np.isfinite(x).all() and np.isfinite(time).all()):
        raise ValueError("x and time must be finite (drop incomplete rows first)")
    if not np.isin(event, (0, 1)).all():
        raise ValueError("event must be 0 (censored) or 1 (event)")
    if not event.any():
        raise ValueError("no events")
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (n,) or not np.isfinite(weights).all() or (weights <= 0).any():
            raise ValueError("weights must be finite and > 0, one per row")
    codes, n_strata = _factor(strata, n)
    init = np.zeros(p) if init is None else np.asarray(init, dtype=float)
    if init.shape != (p,):
        raise ValueError(f"init must have {p} values")
    toler_chol = np.finfo(float).eps ** 0.75 if toler_chol is None else toler_chol
    toler_inf = np.sqrt(eps) if toler_inf is None else toler_inf

    order, ts = _sort_rows(time, codes, n_strata, timefix)
    problem = _CoxProblem(
        x, order, ts, event, codes if n_strata > 1 else None, weights, ties, nocenter
    )
    means, scale, order = problem.means, problem.scale, problem.order
    internal, u, var, loglik, score, iterations, converged, rank = _newton(
        problem, init / scale, eps, iter_max, toler_chol
    )
    beta = internal * scale
    u = u / scale
    var = var * np.outer(scale, scale)

    aliased = np.diag(var) == 0 if rank < p and iter_max > 0 else np.zeros(p, dtype=bool)
    coef = np.where(aliased, np.nan, beta)
    if aliased.any():
        log.warning("X matrix deemed to be singular; columns %s", np.flatnonzero(aliased).tolist())
    infinite: tuple[int, ...] = ()
    if iter_max > 1 and converged:
        infs = np.abs(u @ var)
        suspect = ~np.isfinite(u) | ((infs > eps) & (infs > toler_inf * np.abs(beta)))
        infinite = tuple(np.flatnonzero(suspect).tolist())
        if infinite:
            log.warning(
                "loglik converged before columns %s; coefficients may be infinite", infinite
            )
    if not converged:
        log.warning("ran out of iterations (%d) and did not converge", iter_max)
    keep = ~aliased
    wald = _wald_test(var[np.ix_(keep, keep)], (coef - init)[keep], toler_chol)

    # R: x %*% coef - sum(coef * means), with aliased columns at their initial value; summed
    # column by column, so that equal rows get equal values (a BLAS product need not give
    # them, and the concordance counts ties in the risk score)
    lp_sorted = np.zeros(n)
    for j in range(p):
        lp_sorted += internal[j] * problem.xt[j]
    lp = np.empty(n)
    lp[order] = lp_sorted
    counts = None
    if concordance:
        back = order[::-1]  # stratum (reversed), time ascending
        counts = _concordance_sorted(
            None if n_strata == 1 else codes[back],
            ts[::-1],
            event[back].astype(bool),
            lp_sorted[::-1],
            None if weights is None else weights[back],
        )
    return CoxPHResult(
        coef=coef,
        var=var,
        loglik=(float(loglik[0]), float(loglik[1])),
        score=float(score),
        wald=wald,
        iterations=iterations,
        converged=converged,
        means=means,
        aliased=aliased,
        n=n,
        n_events=int(np.count_nonzero(event)),
        ties=ties,
        linear_predictors=lp,
        concordance=counts,
        infinite_warning=infinite,
    )


def _newton(problem: _CoxProblem, beta, eps, iter_max, toler):
    """R's coxfit6 main loop (in the centred, scaled coordinates).  Returns the coefficients,
    the score vector, the variance, [initial, final] loglik, the score test, the iteration
    count, whether it converged and the Cholesky rank (``p`` when out of iterations: R's
    flag 1000 disables the aliasing check)."""
    p = beta.size
    loglik0, u, imat = problem.evaluate(beta)
    loglik = [loglik0, loglik0]
    chol, rank = _cholesky2(imat, toler)
    step = _chsolve2(chol, u)
    score = float(u @ step)
    if iter_max == 0 or not np.isfinite(loglik0):
        return beta, u, _chinv2(chol), loglik, score, 0, True, rank

    newbeta = beta + step
    halving = 0
    for iteration in range(1, iter_max + 1):
        newlk, u, imat = problem.evaluate(newbeta)
        chol, rank = _cholesky2(imat, toler)
        finite = np.isfinite(u).all() and np.isfinite(imat).all() and np.isfinite(newlk)
        # newlk = 0 (every death alone in its risk set, or exp underflowing on a separation):
        # C's 1 - loglik / 0 is inf or NaN, never converged; Python would raise
        if finite and newlk != 0 and abs(1 - loglik[1] / newlk) <= eps:
            loglik[1] = newlk
            return newbeta, u, _chinv2(chol), loglik, score, iteration, True, rank
        if not finite or newlk < loglik[1]:
            halving += 1
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            loglik[1] = newlk
            beta = newbeta
            newbeta = newbeta + _chsolve2(chol, u)

    # Out of iterations.  R keeps the last accepted beta; for iter_max > 1 it recomputes
    # loglik, score and information there and inverts that information without factorising
    # it (only the diagonal is used: var = 1 / diag, zero covariances); for iter_max = 1 it
    # inverts the last factorised information.
    if iter_max > 1:
        loglik[1], u, imat = problem.evaluate(beta)
        diag = np.diag(imat)
        positive = diag > 0
        var = np.diag(np.where(positive, 1 / np.where(positive, diag, 1.0), 0.0))
        return beta, u, var, loglik, score, iter_max + 1, False, p
    return beta, u, _chinv2(chol), loglik, score, iter_max + 1, False, p


# ---------------------------------------------------------------------------------------------
# Concordance in O(n log n).


def concordance_counts(time, event, risk, *, strata=None, weights=None, timefix=True):
    """Harrell's C of a risk score (higher = earlier event), as R's
    ``concordance(Surv(time, event) ~ risk, reverse = TRUE)`` and ``coxph``'s
    ``fit$concordance``: pairs weighted by w_i w_j and counted within strata; a pair is
    comparable when the shorter time is an event (a censoring at the same time counts as
    longer); equal risk scores count 1/2; events at the same time are not comparable.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event)
    risk = np.asarray(risk, dtype=float)
    n = time.size
    if time.shape != (n,) or event.shape != (n,) or risk.shape != (n,):
        raise ValueError("time, event and risk must be vectors of the same length")
    if not (np.isfinite(time).all() and np.isfinite(risk).all()):
        raise ValueError("time and risk must be finite")
    if not np.isin(event, (0, 1)).all():
        raise ValueError("event must be 0 (censored) or 1 (event)")
    codes, n_strata = _factor(strata, n)
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (n,):
            raise ValueError("weights must be one value per row")
    if n == 0:
        return Concordance(0.0, 0.0, 0.0, 0.0, 0.0)
    order, ts = _sort_rows(time, codes, n_strata, timefix)
    back = order[::-1]
    return _concordance_sorted(
        None if n_strata == 1 else codes[back],
        ts[::-1],
        event[back].astype(bool),
        risk[back],
        None if weights is None else weights[back],
    )


def _concordance_sorted(codes, ts, dead, risk, w) -> Concordance:
    """The counts from rows ordered by stratum (contiguous) and time ascending.

    The rows are put in "position" order (time ascending; at a time, events first, ordered
    by risk, then censorings), so that the rows comparable with an event are exactly the
    later rows of its stratum, less the later events at its time (whose risk is not lower).
    The concordant weight (events over later rows of lower risk) is then a dominance count:
    a merge sort of the positions by risk rank, log2(n) merges of O(n) each (below); the
    comparable weight and the ties come from sums per time and per (risk, time) group.
    """
    n = ts.size
    weighted = w is not None
    order = np.argsort(risk)
    new_rank = _starts(risk[order])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.cumsum(new_rank) - 1
    n_ranks = int(rank.max(initial=0)) + 1

    new_stratum = np.zeros(n, dtype=bool) if codes is None else _starts(codes)
    new_stratum[:1] = True
    new_time = _starts(ts) | new_stratum
    tgroup = np.cumsum(new_time) - 1
    n_groups = int(tgroup[-1]) + 1
    sizes = np.bincount(tgroup, minlength=n_groups)

    # events first and by risk within each time shared by several rows
    multi = np.flatnonzero(sizes[tgroup] > 1)
    if multi.size:
        if n_groups * 2 * n_ranks < 2**62:
            key = (tgroup[multi] * 2 + ~dead[multi]) * n_ranks + rank[multi]
            within = np.argsort(key)
        else:
            within = np.lexsort((rank[multi], ~dead[multi], tgroup[multi]))
        perm = np.arange(n)
        perm[multi] = multi[within]
        dead, rank = dead[perm], rank[perm]
        w = None if w is None else w[perm]
        codes = None if codes is None else codes[perm]

    ones = np.ones(n) if w is None else w
    group_all = np.bincount(tgroup, ones, n_groups)
    group_dead = np.bincount(tgroup, ones * dead, n_groups)
    group_dead_sq = np.bincount(tgroup, ones * ones * dead, n_groups)
    group_strata = np.flatnonzero(new_stratum[np.flatnonzero(new_time)])
    later = _segment_revcumsum(group_all, group_strata) - group_all
    pairs = float(group_dead @ (later + group_all - group_dead))
    tied_y_all = float(((group_dead**2 - group_dead_sq) / 2).sum())

    # dominance count by a bottom-up merge sort of the positions on (stratum, rank): merging
    # blocks of 2^k positions pairwise, an event in a left (earlier) block counts the rows of
    # the right block sorted before it, i.e. of lower rank (equal ranks keep the left block
    # first).  Each merge is a stable sort of already sorted runs (timsort: ~linear).
    rank_bits = max(1, (n_ranks - 1).bit_length())
    stratum = np.cumsum(new_stratum) - 1
    risk_key = (stratum << rank_bits) | rank  # equal only for equal risks within a stratum
    key_bits = rank_bits + int(stratum[-1]).bit_length()
    levels = max(1, (n - 1).bit_length())
    if key_bits + levels > 62:
        raise ValueError("too many rows and strata for the concordance's integer keys")
    pos = np.arange(n)
    index = np.arange(n)
    ws = w
    concordant = 0.0
    for k in range(levels):
        order = np.argsort(((pos >> (k + 1)) << key_bits) | risk_key, kind="stable")
        pos, risk_key, dead = pos[order], risk_key[order], dead[order]
        left = ((pos >> k) & 1) == 0
        counted = left & dead
        if weighted:
            ws = ws[order]
            right = np.where(left, 0.0, ws)
            before = np.cumsum(right)
            start = (index >> (k + 1)) << (k + 1)
            before -= before[start] - right[start]  # right-block weight before, in the pair
            concordant += float(ws[counted] @ before[counted])
        else:
            concordant += float((index - order)[counted].sum(dtype=np.float64))

    # now by (stratum, rank), in position order within: equal risk scores
    ws = np.ones(n) if ws is None else ws
    same_risk = _starts(risk_key)
    tg = tgroup[pos]
    block = same_risk | _starts(tg) | _starts(dead)
    dead_w = ws * dead
    after_same = _after(ws, same_risk)
    after_block = _after(dead_w, block)
    tied_x = float(dead_w @ (after_same - after_block))
    block_id = np.cumsum(block) - 1
    block_w = np.bincount(block_id, dead_w)
    block_sq = np.bincount(block_id, dead_w * ws)
    tied_xy = float(((block_w**2 - block_sq) / 2).sum())
    return Concordance(
        concordant=concordant,
        discordant=pairs - concordant - tied_x,
        tied_x=tied_x,
        tied_y=tied_y_all - tied_xy,
        tied_xy=tied_xy,
    )


def _after(values: np.ndarray, new_segment: np.ndarray) -> np.ndarray:
    """For each position, the sum of ``values`` after it within its segment."""
    return _segment_revcumsum(values, np.flatnonzero(new_segment)) - values
