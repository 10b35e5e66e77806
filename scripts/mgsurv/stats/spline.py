"""Serum Mg as a restricted cubic spline in a Cox model, as Harrell's rms ``rcs(mg, 4)``.

The knots and the basis mirror ``Hmisc::rcspline.eval`` (which ``rms::rcs`` calls) line for
line, so that ``cph(Surv(time, event) ~ rcs(mg, 4) + ...)`` and this module fit the same
model; the Cox fits are :func:`mgsurv.stats.coxph_port.coxph_fit` (R's ``coxph.fit``, Efron
ties) with the control of the R reference fixtures (``mgsurv.stats.cox.R_CONTROL``), as every
other Cox model of the pipeline, so they reach R's optimum, in seconds at 10^6 patients.

Reported, for a marker modelled as continuous (REMARK item 11, McShane et al. 2005):

* the knots;
* the likelihood-ratio test of non-linearity, ``2 * (loglik(spline) - loglik(linear))`` on
  ``n_knots - 2`` df: the two nested coxph fits compared by their partial log-likelihoods.
  rms's ``anova(cph)`` reports a Wald test of the non-linear terms instead; the LR test is
  what this project reports;
* the hazard-ratio curve against a reference value with pointwise 95% CIs from the contrast
  variance ``(x(mg) - x(ref))' V (x(mg) - x(ref))``, as ``rms::Predict(fit, mg = grid,
  ref.zero = TRUE, fun = exp)`` with the reference as the datadist "Adjust to" value;
* the linear-model HR per ``per`` units (0.1 mmol/L) for comparison.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from mgsurv.contract import MG_COLUMN
from mgsurv.stats.cox import CONF_LEVEL, R_CONTROL
from mgsurv.stats.coxph_port import CoxPHResult, coxph_fit
from mgsurv.stats.distributions import chi2_sf, normal_quantile, normal_sf

# rcspline.eval: ties in more than this fraction of x at the minimum (maximum) move the
# first (last) knot to the next distinct value (rms option ``fractied``, default 0.05).
FRACTIED = 0.05
MIN_OBSERVATIONS = 6
SMALL_SAMPLE = 100
GRID_QUANTILES = (0.01, 0.99)
COEFFICIENT_COLUMNS = ["term", "coef", "se", "hr", "z", "p"]
CURVE_COLUMNS = [MG_COLUMN, "log_hr", "se", "hr", "hr_lower", "hr_upper"]
# exp() of a larger coefficient overflows: the HR would be reported as infinite.
MAX_LOG_HR = float(np.log(np.finfo(float).max))

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplineResult:
    """A restricted-cubic-spline Cox model and its linear counterpart (see module docstring).

    ``coefficients`` has one row per coefficient of the spline model (COEFFICIENT_COLUMNS),
    the spline terms named as rms names them (``mg``, ``mg'``, ``mg''``); ``linear`` holds
    the HR per ``per`` units of the linear model (keys coef, se, hr, hr_lower, hr_upper, z,
    p); ``curve`` the HR against ``reference`` over the grid (CURVE_COLUMNS).
    """

    knots: tuple[float, ...]
    n: int
    events: int
    coefficients: pd.DataFrame
    loglik_spline: float
    loglik_linear: float
    lr_statistic: float
    lr_df: int
    lr_p: float
    per: float
    linear: dict[str, float]
    reference: float
    curve: pd.DataFrame


def r_quantile(x: ArrayLike, probs: ArrayLike) -> np.ndarray:
    """R's ``quantile(x, probs, type = 7)`` with R's arithmetic, to the last bit.

    R: ``index = 1 + (n - 1) p``, ``lo = floor(index)``, ``h = index - lo`` and
    ``(1 - h) x[lo] + h x[lo + 1]`` where the two differ; numpy's "linear" method computes
    ``a + h (b - a)`` and can differ in the last bit, which would move a knot by an ulp.
    """
    x = np.sort(np.asarray(x, dtype=float))
    index = 1 + (len(x) - 1) * np.asarray(probs, dtype=float)
    lo = np.floor(index)
    h = index - lo
    low, high = x[lo.astype(int) - 1], x[np.ceil(index).astype(int) - 1]
    return np.where((index > lo) & (high != low), (1 - h) * low + h * high, low)


def r_seq(start: float, stop: float, length: int) -> np.ndarray:
    """R's ``seq(start, stop, length.out = length)``: ``start + i * ((stop - start) / (n - 1))``
    with both ends exact, which is what ``numpy.linspace`` computes."""
    return np.linspace(start, stop, length)


def _outer_quantile(n_knots: int) -> float:
    """rcspline.eval's outer quantile: 0.1 for 3 knots, 0.05 for 4-6, 0.025 for 7 or more."""
    if n_knots > 6:
        return 0.025
    return 0.05 if n_knots > 3 else 0.1


def _trim_tied_ends(x: np.ndarray, fractied: float) -> tuple[np.ndarray, list[float], list[float]]:
    """rcspline.eval's ``fractied`` rule for a heavily tied minimum or maximum.

    When no interior value holds ``fractied`` or more of the data but the minimum
    (maximum) does, the first (last) knot is the next distinct value inward and the other
    knots are placed among the values strictly inside it. Returns the remaining values and
    the fixed first and last knots (empty lists when not fixed). Called with more than
    ``n_knots + 2`` distinct values, so there are interior values.
    """
    values, counts = np.unique(x, return_counts=True)
    share = counts / len(x)
    first: list[float] = []
    last: list[float] = []
    if not 0 < fractied < 1 or share[1:-1].max() >= fractied:
        return x, first, last
    if share[0] >= fractied:
        first = [float(x[x > x.min()].min())]
        x = x[x > first[0]]
    if share[-1] >= fractied:
        last = [float(x[x < x.max()].max())]
        x = x[x < last[0]]
    return x, first, last


def _alternate_knots(
    x: np.ndarray, n_inner: int, outer: float, first: list[float], last: list[float]
) -> np.ndarray:
    """rcspline.eval's fallback when the quantiles give fewer than min(n, 3) distinct knots:
    ``2 n`` quantiles, or (with a fixed first knot) first knot, midpoint and last knot."""
    knots = r_quantile(x, r_seq(outer, 1 - outer, 2 * n_inner))
    if first and len(np.unique(knots)) < 3:
        middle = (first[0] + last[0]) / 2 if last else float(r_quantile(x, [0.5])[0])
        end = last if last else list(r_quantile(x, [1 - outer]))
        knots = np.sort(np.array(first + [middle] + end))
    if len(np.unique(knots)) < 3:
        raise ValueError("fewer than 3 distinct knots: the variable has too few distinct values")
    log.warning(
        "could not place %d knots at quantiles; used %d knots from the alternate algorithm",
        n_inner,
        len(np.unique(knots)),
    )
    return knots


def rcs_knots(x: ArrayLike, n_knots: int = 4, fractied: float = FRACTIED) -> np.ndarray:
    """Default knots of ``rms::rcs(x, n_knots)``, i.e. ``Hmisc::rcspline.eval(x, nk = n_knots)``.

    Knots at type-7 quantiles ``seq(outer, 1 - outer, length = n_knots)`` (outer 0.05 for
    4-6 knots: 5th, 35th, 65th and 95th percentiles for 4), with rcspline.eval's rules:
    with ``n_knots + 2`` or fewer distinct values the knots are the interior distinct values;
    a heavily tied minimum or maximum fixes the outer knot (``_trim_tied_ends``); with fewer
    than 100 values the outer knots are the 5th smallest and 5th largest values; too few
    distinct quantiles fall back to ``_alternate_knots``. Missing values are ignored.
    (rcspline.eval's branch for fewer distinct values than knots after trimming cannot be
    reached: there are more than ``n_knots + 2`` distinct values by then.)
    """
    values = np.asarray(x, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) < MIN_OBSERVATIONS or n_knots < 3:
        raise ValueError("restricted cubic spline needs >= 6 observations and >= 3 knots")
    distinct = np.unique(values)
    if len(distinct) - 2 <= n_knots:
        log.warning("%d knots requested with %d distinct values", n_knots, len(distinct))
        return _distinct_knots(distinct[1:-1])
    outer = _outer_quantile(n_knots)
    values, first, last = _trim_tied_ends(values, fractied)
    n_inner = n_knots - len(first) - len(last)
    if n_inner == 1:
        knots = r_quantile(values, [0.5])
    else:
        probs = r_seq(0.5 if n_inner == 2 else outer, 1 - outer, n_inner)
        knots = r_quantile(values, probs)
        if len(np.unique(knots)) < min(n_inner, 3):
            knots = _alternate_knots(values, n_inner, outer, first, last)
        if len(values) < SMALL_SAMPLE:
            ordered = np.sort(values)
            if not first:
                knots[0] = ordered[4]
            if not last:
                knots[n_inner - 1] = ordered[-5]
    return _distinct_knots(np.concatenate([first, knots, last]))


def _distinct_knots(knots: np.ndarray) -> np.ndarray:
    """``sort(unique(knots))``, with rcspline.eval's error below 3 knots."""
    knots = np.unique(knots)
    if len(knots) < 3:
        raise ValueError("fewer than 3 distinct knots: the variable has too few distinct values")
    return knots


def rcs_basis(x: ArrayLike, knots: ArrayLike) -> np.ndarray:
    """The design columns of ``rms::rcs``: x and its ``k - 2`` non-linear terms.

    ``Hmisc::rcspline.eval(x, knots, inclx = TRUE)`` with its default ``norm = 2``: with
    ``kd = (t_k - t_1)^(2/3)``, column j is ``(x - t_j)_+^3 + ((t_{k-1} - t_j) (x - t_k)_+^3
    - (t_k - t_j) (x - t_{k-1})_+^3) / (t_k - t_{k-1})`` with every ``(x - t)_+`` divided by
    kd, i.e. the Stone-Koo truncated-power basis divided by ``(t_k - t_1)^2``; the terms are
    evaluated in R's order of operations so the basis agrees to the last bit or so.
    """
    x = np.asarray(x, dtype=float)
    knots = np.asarray(knots, dtype=float)
    first, before_last, last = knots[0], knots[-2], knots[-1]
    kd = (last - first) ** (2 / 3)

    def cube(at: float) -> np.ndarray:
        return np.maximum((x - at) / kd, 0) ** 3

    columns = [x] + [
        cube(t)
        + ((before_last - t) * cube(last) - (last - t) * cube(before_last)) / (last - before_last)
        for t in knots[:-2]
    ]
    return np.column_stack(columns)


def spline_term_names(label: str, n_knots: int) -> list[str]:
    """rms's names for the spline columns: ``label``, ``label'``, ``label''``, ..."""
    return [label + "'" * j for j in range(n_knots - 1)]


def _fit(design: np.ndarray, time: np.ndarray, event: np.ndarray) -> CoxPHResult:
    """Efron-ties Cox fit as ``coxph(control = coxph.control(eps = 1e-12, toler.chol = 1e-15,
    iter.max = 100))`` (``R_CONTROL``), without the concordance (not reported).

    Raises ValueError when the fit cannot be reported: the iterations ran out, a column is
    aliased (collinear with the others: R gives it NA), or a coefficient diverges (R:
    "coefficient may be infinite"; or too large for its HR to be a finite number, as in a
    handful of patients), as coxph_fit does on invalid data.
    """
    result = coxph_fit(design, time, event, concordance=False, **R_CONTROL)
    if not result.converged:
        raise ValueError(f"the fit did not converge (iter.max = {R_CONTROL['iter_max']})")
    if result.aliased.any():
        raise ValueError("collinear design columns")
    if (
        result.infinite_warning
        or not np.isfinite(result.se).all()
        or np.abs(result.coef).max() > MAX_LOG_HR
    ):
        raise ValueError("a coefficient may be infinite (monotone likelihood)")
    return result


def _coefficients(fit: CoxPHResult, names: list[str]) -> pd.DataFrame:
    z = fit.coef / fit.se
    return pd.DataFrame(
        {
            "term": names,
            "coef": fit.coef,
            "se": fit.se,
            "hr": np.exp(fit.coef),
            "z": z,
            "p": 2 * normal_sf(np.abs(z)),
        }
    )


def _linear_hr(fit: CoxPHResult, per: float) -> dict[str, float]:
    """HR per ``per`` units of the first coefficient: ``exp(per * beta)``, CI
    ``exp(per * (beta -+ z se))``."""
    coef, se = per * fit.coef[0], per * fit.se[0]
    z = normal_quantile((1 + CONF_LEVEL) / 2)
    return {
        "coef": float(coef),
        "se": float(se),
        "hr": float(np.exp(coef)),
        "hr_lower": float(np.exp(coef - z * se)),
        "hr_upper": float(np.exp(coef + z * se)),
        "z": float(coef / se),
        "p": float(2 * normal_sf(abs(coef / se))),
    }


def hr_grid(mg: np.ndarray, reference: float, size: int) -> np.ndarray:
    """``size`` equally spaced values from the 1st to the 99th percentile (type 7) of mg,
    plus the reference, sorted and distinct."""
    low, high = r_quantile(mg, GRID_QUANTILES)
    return np.union1d(r_seq(low, high, size), [reference])


def hr_curve(
    fit: CoxPHResult, knots: np.ndarray, grid: np.ndarray, reference: float
) -> pd.DataFrame:
    """HR of each grid value against the reference, as ``rms::Predict(..., ref.zero = TRUE)``.

    With ``d = x(mg) - x(ref)`` the spline-basis difference: log HR ``d' beta``, its SE
    ``sqrt(d' V d)`` (V the coefficients' covariance) and the Wald 95% limits
    ``exp(d' beta -+ z_0.975 se)``; adjustment covariates cancel in the contrast. The
    spline columns are the fit's first ``len(knots) - 1`` coefficients.
    """
    difference = rcs_basis(grid, knots) - rcs_basis(np.array([reference]), knots)
    spline = slice(0, len(knots) - 1)
    beta, variance = fit.coef[spline], fit.var[spline, spline]
    log_hr = difference @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", difference, variance, difference))
    z = normal_quantile((1 + CONF_LEVEL) / 2)
    return pd.DataFrame(
        {
            MG_COLUMN: grid,
            "log_hr": log_hr,
            "se": se,
            "hr": np.exp(log_hr),
            "hr_lower": np.exp(log_hr - z * se),
            "hr_upper": np.exp(log_hr + z * se),
        }
    )


def spline_cox(
    time: ArrayLike,
    event: ArrayLike,
    mg: ArrayLike,
    adjust: pd.DataFrame | None = None,
    n_knots: int = 4,
    reference: float = 0.85,
    grid_size: int = 100,
    per: float = 0.1,
    label: str = "mg",
) -> SplineResult:
    """Cox model of ``rcs(mg, n_knots)`` plus the ``adjust`` design columns, against linear mg.

    ``adjust`` holds numeric design columns (e.g. from ``mgsurv.stats.cox.design_matrix``), row
    for row with time, event and mg. Both models use the complete cases of all inputs. As
    in rms, whose ``rcs()`` is evaluated before ``na.action`` drops incomplete rows, the
    knots (and the HR grid) come from every non-missing mg value given. Mirrors
    ``cph(Surv(time, event) ~ rcs(mg, n_knots) + adjust)`` against
    ``coxph(Surv(time, event) ~ mg + adjust)``: see the module docstring for the LR test,
    the HR curve and the linear HR per ``per`` units.
    """
    mg = np.asarray(mg, dtype=float)
    knots = rcs_knots(mg, n_knots)
    grid = hr_grid(mg[~np.isnan(mg)], reference, grid_size)
    adjust = pd.DataFrame(index=range(len(mg))) if adjust is None else adjust
    covariates = adjust.to_numpy(dtype=float)
    time_values = np.asarray(time, dtype=float)
    event_values = np.asarray(event, dtype=float)
    complete = ~(
        np.isnan(covariates).any(axis=1)
        | np.isnan(time_values)
        | np.isnan(event_values)
        | np.isnan(mg)
    )
    time_values, event_values = time_values[complete], event_values[complete]
    covariates = covariates[complete]
    basis = rcs_basis(mg[complete], knots)
    spline = _fit(np.column_stack([basis, covariates]), time_values, event_values)
    linear = _fit(np.column_stack([basis[:, 0], covariates]), time_values, event_values)
    lr_statistic = 2 * (spline.loglik[1] - linear.loglik[1])
    lr_df = len(knots) - 2
    names = [*spline_term_names(label, len(knots)), *adjust.columns]
    return SplineResult(
        knots=tuple(float(k) for k in knots),
        n=len(time_values),
        events=int(event_values.sum()),
        coefficients=_coefficients(spline, names),
        loglik_spline=spline.loglik[1],
        loglik_linear=linear.loglik[1],
        lr_statistic=float(lr_statistic),
        lr_df=lr_df,
        lr_p=float(chi2_sf(lr_statistic, lr_df)),
        per=per,
        linear=_linear_hr(linear, per),
        reference=reference,
        curve=hr_curve(spline, knots, grid, reference),
    )
