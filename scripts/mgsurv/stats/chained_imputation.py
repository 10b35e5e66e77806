"""Multiple imputation by chained equations (van Buuren's MICE) of incomplete covariates,
with R mice's default methods, each fitted with statsmodels:

* a numeric covariate: predictive mean matching (``mice.impute.pmm``): the linear
  regression's coefficients drawn from their posterior (ridge 1e-5, sigma from a chi-square
  draw), the missing rows' predictions (drawn coefficients) matched to the observed rows'
  (estimated coefficients, type-1 matching), the value taken from one of the 5 closest
  donors at random;
* a two-level categorical covariate: logistic regression with the coefficients drawn
  from their approximate posterior (``mice.impute.logreg``);
* a categorical covariate with more levels: the multinomial logit's predicted
  probabilities (``mice.impute.polyreg``).

statsmodels' own MICE (``statsmodels.imputation.mice``) imputes numeric variables only, so
the chain is written here over its model fits. Each of the m imputations is its own
chain: missing values start as random draws of the observed ones, then every incomplete
covariate is imputed in turn from all the others (their current values) and the
``predictors`` (complete: e.g. serum Mg, the arm, the event indicator and the Nelson-Aalen
cumulative hazard, as White & Royston 2009 advise), ``iterations`` times. A model that
cannot be fitted (e.g. a level predicted perfectly) falls back to drawing from the
observed values, and is counted.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.discrete.discrete_model import MNLogit
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools.sm_exceptions import PerfectSeparationError

RIDGE = 1e-5
DONORS = 5


@dataclass(frozen=True)
class Imputed:
    """The m completed covariate frames, and how many imputation steps fell back to drawing
    from the observed values."""

    completed: list[pd.DataFrame]
    fallbacks: int


def nelson_aalen(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Each patient's cumulative hazard at their own time, as R mice's ``nelsonaalen``
    computes it: ``basehaz`` of the null Cox model, whose Efron ties make the increment of
    d tied events among n at risk 1/n + 1/(n - 1) + ... + 1/(n - d + 1) (d / n without
    ties in the same place)."""
    times, position = np.unique(time, return_inverse=True)
    leaving = np.bincount(position, minlength=len(times))
    at_risk = leaving[::-1].cumsum()[::-1]
    events = np.bincount(position, weights=event.astype(int), minlength=len(times)).astype(int)
    # sum over k < d of 1 / (n - k), from the harmonic-number differences
    harmonic = np.concatenate(([0.0], np.cumsum(1.0 / np.arange(1, len(time) + 1))))
    increments = harmonic[at_risk] - harmonic[at_risk - events]
    return np.cumsum(increments)[position]


def _dummies(values: pd.Series, name: str) -> pd.DataFrame:
    """A categorical column as 0/1 columns of its levels but the first."""
    levels = sorted(values.unique())
    return pd.DataFrame(
        {f"{name}={level}": (values == level).astype(float) for level in levels[1:]},
        index=values.index,
    )


def _design(current: pd.DataFrame, kinds: dict[str, str], target: str, fixed: np.ndarray):
    """Intercept, the fixed predictors and every other covariate's current values."""
    parts = [np.ones((len(current), 1)), fixed]
    for name, kind in kinds.items():
        if name == target:
            continue
        if kind == "numeric":
            parts.append(current[[name]].to_numpy(dtype=float))
        else:
            parts.append(_dummies(current[name], name).to_numpy())
    x = np.column_stack(parts)
    keep = np.ptp(x, axis=0) > 0
    keep[0] = True
    return x[:, keep]


def _pmm(x: np.ndarray, y: np.ndarray, observed: np.ndarray, rng: np.random.Generator):
    xo, yo = x[observed], y[observed]
    xtx = xo.T @ xo
    v = np.linalg.inv(xtx + np.diag(np.diag(xtx)) * RIDGE)
    coef = v @ xo.T @ yo
    residuals = yo - xo @ coef
    df = max(int(observed.sum()) - x.shape[1], 1)
    sigma = np.sqrt(residuals @ residuals / rng.chisquare(df))
    symmetric = (v + v.T) / 2
    drawn = coef + np.linalg.cholesky(symmetric) @ rng.standard_normal(x.shape[1]) * sigma
    predicted_observed = xo @ coef
    predicted_missing = x[~observed] @ drawn
    distance = np.abs(predicted_missing[:, None] - predicted_observed[None, :])
    donors = min(DONORS, len(yo))
    nearest = np.argpartition(distance, donors - 1, axis=1)[:, :donors]
    chosen = nearest[np.arange(len(nearest)), rng.integers(0, donors, len(nearest))]
    return yo[chosen]


def _logreg(x: np.ndarray, y: pd.Series, observed: np.ndarray, rng: np.random.Generator):
    levels = sorted(y[observed].unique())
    outcome = (y[observed] == levels[1]).to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = GLM(outcome, x[observed], family=Binomial()).fit()
    covariance = np.asarray(fit.cov_params())
    symmetric = (covariance + covariance.T) / 2
    drawn = fit.params + np.linalg.cholesky(symmetric) @ rng.standard_normal(x.shape[1])
    p = 1 / (1 + np.exp(-(x[~observed] @ drawn)))
    return np.where(rng.random(len(p)) <= p, levels[1], levels[0])


def _polyreg(x: np.ndarray, y: pd.Series, observed: np.ndarray, rng: np.random.Generator):
    levels = sorted(y[observed].unique())
    codes = pd.Categorical(y[observed], categories=levels).codes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = MNLogit(codes, x[observed]).fit(disp=False, maxiter=100)
    probabilities = np.asarray(fit.predict(x[~observed]))
    cumulative = probabilities.cumsum(axis=1)
    drawn = (rng.random(len(cumulative))[:, None] > cumulative).sum(axis=1)
    return np.asarray(levels, dtype=object)[np.minimum(drawn, len(levels) - 1)]


def _impute_one(
    x: np.ndarray, values: pd.Series, observed: np.ndarray, kind: str, rng: np.random.Generator
):
    known = values[observed].unique()
    if len(known) < 2:
        return np.repeat(known, int((~observed).sum()))
    if kind == "numeric":
        return _pmm(x, values.to_numpy(dtype=float), observed, rng)
    if values[observed].nunique() == 2:
        return _logreg(x, values, observed, rng)
    return _polyreg(x, values, observed, rng)


def impute(
    covariates: pd.DataFrame,
    kinds: dict[str, str],
    predictors: np.ndarray,
    m: int,
    iterations: int,
    seed: int,
) -> Imputed:
    """m completed copies of ``covariates`` (columns named in ``kinds``: "numeric" or
    "categorical"; categorical values as text), imputed from each other and the complete
    ``predictors`` (n x k numeric). A covariate with one observed value is completed with
    it; one never observed stays missing (a model leaves it out, as the complete-case one
    does)."""
    rng = np.random.default_rng(seed)
    # a covariate missing for everyone can be neither imputed nor a predictor: left as it is
    kinds = {name: kind for name, kind in kinds.items() if covariates[name].notna().any()}
    missing = covariates.isna()
    incomplete = [name for name in kinds if missing[name].any()]
    completed, fallbacks = [], 0
    for _ in range(m):
        current = covariates.copy()
        for name in incomplete:
            observed = current.loc[~missing[name], name].to_numpy()
            current.loc[missing[name], name] = rng.choice(observed, int(missing[name].sum()))
        for _ in range(iterations):
            for name in incomplete:
                rows = ~missing[name].to_numpy()
                x = _design(current, kinds, name, predictors)
                try:
                    drawn = _impute_one(x, current[name], rows, kinds[name], rng)
                except (np.linalg.LinAlgError, ValueError, PerfectSeparationError):
                    fallbacks += 1
                    observed = current.loc[rows, name].to_numpy()
                    drawn = rng.choice(observed, int((~rows).sum()))
                current.loc[~rows, name] = drawn
        completed.append(current)
    return Imputed(completed, fallbacks)
