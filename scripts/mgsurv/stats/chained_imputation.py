"""Multiple imputation by chained equations (van Buuren's MICE) of incomplete covariates,
with R mice's default methods (mice 3.15), each fitted here:

* a numeric covariate: predictive mean matching (``mice.impute.pmm``): the linear
  regression's coefficients drawn from their posterior (sigma from a chi-square draw; a
  ridge of 1e-5 only when the predictors are collinear), the missing rows' predictions
  (drawn coefficients) matched to the observed rows' (estimated coefficients, type-1
  matching), the value taken from one of the 5 closest donors at random;
* a two-level categorical covariate: logistic regression (statsmodels' GLM) with the
  coefficients drawn from their approximate posterior (``mice.impute.logreg``);
* a categorical covariate with more levels: the multinomial logit's predicted
  probabilities (``mice.impute.polyreg``; fitted by maximum likelihood with scipy, as
  statsmodels' MNLogit takes no case weights).

Both categorical methods first add mice's pseudo-observations (``augment``: for each level
and predictor, two rows at the predictor's mean plus and minus half its SD, weighted
(p + 1) / (2 p k) in all), so that a level found with one value of a predictor only
(perfect prediction) still gives finite estimates instead of imputing that level always
or never (White, Daniel & Royston 2010). statsmodels' own MICE
(``statsmodels.imputation.mice``) imputes numeric variables only, so the chain is written
here.

Each of the m imputations is its own chain: missing values start as random draws of the
observed ones, then every incomplete covariate is imputed in turn from all the others
(their current values) and the ``predictors`` (complete: e.g. serum Mg and each
endpoint's event indicator and Nelson-Aalen cumulative hazard, as White & Royston 2009
advise), ``iterations`` times. A model that cannot be fitted (e.g. fewer observed rows
than predictors) falls back to drawing from the observed values, with a warning.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM

from mgsurv.stats.km import event_table

log = logging.getLogger(__name__)

RIDGE = 1e-5
DONORS = 5


def nelson_aalen(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Each patient's cumulative hazard at their own time, as R mice's ``nelsonaalen``
    computes it: ``basehaz`` of the null Cox model, whose Efron ties make the increment of
    d tied events among n at risk 1/n + 1/(n - 1) + ... + 1/(n - d + 1) (d / n without
    ties in the same place)."""
    table = event_table(time, event)
    at_risk, events = table["n_risk"].to_numpy(), table["n_event"].to_numpy()
    # sum over k < d of 1 / (n - k), from the harmonic-number differences
    harmonic = np.concatenate(([0.0], np.cumsum(1.0 / np.arange(1, len(time) + 1))))
    increments = harmonic[at_risk] - harmonic[at_risk - events]
    position = np.searchsorted(table["time"].to_numpy(), np.asarray(time, dtype=float))
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
    if np.linalg.matrix_rank(xo) < x.shape[1]:
        xtx = xtx + np.diag(np.diag(xtx)) * RIDGE
    v = np.linalg.inv(xtx)
    coef = v @ xo.T @ yo
    residuals = yo - xo @ coef
    df = max(int(observed.sum()) - x.shape[1], 1)
    sigma = np.sqrt(residuals @ residuals / rng.chisquare(df))
    symmetric = (v + v.T) / 2
    drawn = coef + np.linalg.cholesky(symmetric) @ rng.standard_normal(x.shape[1]) * sigma
    return yo[nearest_donors(xo @ coef, x[~observed] @ drawn, rng)]


def nearest_donors(
    predicted_observed: np.ndarray, predicted_missing: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """For each missing row, one of the DONORS observed rows whose predictions are
    closest to its own, at random (mice's matchindex). The observed predictions are
    sorted once; the closest lie within DONORS places of each missing prediction's place
    among them, so memory stays O(n), not O(missing x observed)."""
    donors = min(DONORS, len(predicted_observed))
    order = np.argsort(predicted_observed, kind="stable")
    ranked = predicted_observed[order]
    place = np.searchsorted(ranked, predicted_missing)
    candidates = place[:, None] + np.arange(-donors, donors)[None, :]
    inside = (candidates >= 0) & (candidates < len(ranked))
    candidates = np.clip(candidates, 0, len(ranked) - 1)
    distance = np.where(inside, np.abs(ranked[candidates] - predicted_missing[:, None]), np.inf)
    closest = np.argsort(distance, axis=1, kind="stable")[:, :donors]
    pick = closest[np.arange(len(closest)), rng.integers(0, donors, len(closest))]
    return order[candidates[np.arange(len(candidates)), pick]]


def augment(x: np.ndarray, levels: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mice's ``augment`` pseudo-observations for predictors ``x`` (all rows, without the
    intercept) and the outcome's ``levels``: for each predictor and level, two rows at the
    predictors' means with that predictor at its mean plus and minus half its SD (within
    its range), each weighted (p + 1) / (2 p k); returns their predictors, levels and
    weights."""
    n_levels, p = len(levels), x.shape[1]
    rows = 2 * p * n_levels
    mean, sd = x.mean(axis=0), x.std(axis=0, ddof=1) if len(x) > 1 else np.zeros(p)
    pseudo = np.tile(mean, (rows, 1))
    offsets = np.tile([0.5, -0.5], n_levels)
    for column in range(p):
        block = slice(column * 2 * n_levels, (column + 1) * 2 * n_levels)
        pseudo[block, column] += offsets * sd[column]
    pseudo = np.clip(pseudo, x.min(axis=0), x.max(axis=0))
    pseudo_levels = np.tile(np.repeat(np.asarray(levels, dtype=object), 2), p)
    return pseudo, pseudo_levels, np.full(rows, (p + 1) / max(rows, 1))


def _augmented(x: np.ndarray, y: pd.Series, observed: np.ndarray, levels: list):
    """The observed rows with mice's pseudo-observations: (design with intercept, levels,
    weights)."""
    pseudo, pseudo_levels, pseudo_weights = augment(x[:, 1:], levels)
    design = np.vstack([x[observed], np.column_stack([np.ones(len(pseudo)), pseudo])])
    outcome = np.concatenate([y[observed].to_numpy(dtype=object), pseudo_levels])
    weights = np.concatenate([np.ones(int(observed.sum())), pseudo_weights])
    return design, outcome, weights


def _logreg(x: np.ndarray, y: pd.Series, observed: np.ndarray, rng: np.random.Generator):
    levels = sorted(y[observed].unique())
    design, outcome, weights = _augmented(x, y, observed, levels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = GLM(
            (outcome == levels[1]).astype(float), design, family=Binomial(), freq_weights=weights
        ).fit()
    covariance = np.asarray(fit.cov_params())
    symmetric = (covariance + covariance.T) / 2
    drawn = fit.params + np.linalg.cholesky(symmetric) @ rng.standard_normal(x.shape[1])
    p = 1 / (1 + np.exp(-(x[~observed] @ drawn)))
    return np.where(rng.random(len(p)) <= p, levels[1], levels[0])


def multinomial_probabilities(
    design: np.ndarray, codes: np.ndarray, weights: np.ndarray, new: np.ndarray, n_levels: int
) -> np.ndarray:
    """The weighted maximum-likelihood multinomial logit (first level the reference) of
    level ``codes`` on ``design``, and its probabilities of each level for the ``new``
    rows (as nnet's multinom and predict(type = "probs"))."""
    p = design.shape[1]
    indicator = np.eye(n_levels)[codes]

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        beta = np.column_stack([np.zeros(p), flat.reshape(p, n_levels - 1)])
        eta = design @ beta
        eta -= eta.max(axis=1, keepdims=True)
        log_p = eta - np.log(np.exp(eta).sum(axis=1, keepdims=True))
        loss = -float(np.sum(weights[:, None] * indicator * log_p))
        gradient = -design.T @ (weights[:, None] * (indicator - np.exp(log_p)))
        return loss, gradient[:, 1:].ravel()

    found = minimize(objective, np.zeros(p * (n_levels - 1)), jac=True, method="BFGS")
    beta = np.column_stack([np.zeros(p), found.x.reshape(p, n_levels - 1)])
    eta = new @ beta
    eta -= eta.max(axis=1, keepdims=True)
    return np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)


def _polyreg(x: np.ndarray, y: pd.Series, observed: np.ndarray, rng: np.random.Generator):
    levels = sorted(y[observed].unique())
    design, outcome, weights = _augmented(x, y, observed, levels)
    codes = pd.Categorical(outcome, categories=levels).codes
    probabilities = multinomial_probabilities(design, codes, weights, x[~observed], len(levels))
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
) -> list[pd.DataFrame]:
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
    completed = []
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
                except (np.linalg.LinAlgError, ValueError) as err:
                    log.warning("%s imputed from its observed values only: %s", name, err)
                    observed = current.loc[rows, name].to_numpy()
                    drawn = rng.choice(observed, int((~rows).sum()))
                current.loc[~rows, name] = drawn
        completed.append(current)
    return completed
