"""Inverse probability of treatment weighting (IPTW) for a binary exposure (low vs normal
Mg), as R's ``glm`` and the WeightIt / cobalt packages compute it.

* The propensity, P(exposed | covariates), by maximum-likelihood logistic regression
  (statsmodels' GLM with the binomial family and logit link, IRLS: R's
  ``glm(exposed ~ covariates, family = binomial)``). A model that separates the groups
  (fitted propensities at 0 or 1, or no convergence) gives no weights: the reason is
  returned instead (R's glm warns "fitted probabilities numerically 0 or 1 occurred").
* Stabilised weights for the average treatment effect (WeightIt's
  ``weightit(method = "glm", estimand = "ATE", stabilize = TRUE)``): the marginal share of
  the patient's group over the patient's propensity of being in it, so that each group's
  weights sum to about its size.
* Optional trimming (WeightIt's ``trim(w, at, lower = TRUE)``): weights below the lower and
  above the upper percentile of all weights (R ``quantile(type = 3)``) set to those
  percentiles.
* Balance as cobalt's ``bal.tab(binary = "std", s.d.denom = "pooled")`` reports it: the
  standardised mean difference (exposed minus unexposed) of each covariate column,
  weighted means over the square root of the mean of the two groups' unweighted variances
  (n - 1 denominator for numeric columns, p (1 - p) for 0/1 columns), before and after
  weighting.
* Kish's effective sample size, (sum w)^2 / sum w^2, per group.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM

# A fitted propensity this close to 0 or 1 is taken as separation (R's glm.fit warns at
# 10 * .Machine$double.eps; a wider margin catches quasi-separation, whose IRLS iterations
# creep towards 0 or 1 without reaching it).
SEPARATION_MARGIN = 1e-8
# IRLS as R's glm.control(): relative deviance change below epsilon, at most maxit steps.
GLM_TOLERANCE = 1e-8
GLM_MAX_ITERATIONS = 25


@dataclass(frozen=True)
class Propensity:
    """The fitted propensities (one per row), or why there are none (``problem``)."""

    scores: np.ndarray | None
    problem: str = ""


def fit_propensity(covariates: pd.DataFrame, exposed: np.ndarray) -> Propensity:
    """P(exposed) from the covariate columns (numeric; an intercept is added), as R's
    ``glm(family = binomial)``; no scores, with the reason, when the model separates or
    does not converge."""
    design = np.column_stack([np.ones(len(covariates)), covariates.to_numpy(dtype=float)])
    with warnings.catch_warnings():
        # separation is detected below, from the fitted values
        warnings.simplefilter("ignore")
        try:
            result = GLM(exposed.astype(float), design, family=Binomial()).fit(
                method="IRLS",
                tol=GLM_TOLERANCE,
                maxiter=GLM_MAX_ITERATIONS,
                tol_criterion="deviance",
            )
        except (np.linalg.LinAlgError, ValueError) as err:
            return Propensity(None, f"the propensity model could not be fitted ({err})")
    scores = np.asarray(result.fittedvalues, dtype=float)
    if not result.converged:
        return Propensity(None, "the propensity model did not converge (separation)")
    at_limit = (scores < SEPARATION_MARGIN) | (scores > 1 - SEPARATION_MARGIN)
    if at_limit.any():
        return Propensity(
            None,
            "the propensity model separates the groups: some patients have a fitted"
            " probability of 0 or 1 (a covariate level found in one Mg group only)",
        )
    return Propensity(scores)


def stabilised_weights(scores: np.ndarray, exposed: np.ndarray) -> np.ndarray:
    """ATE weights times the group's marginal share: p / e for the exposed, (1 - p) /
    (1 - e) for the others (p: the exposed share)."""
    share = float(exposed.mean())
    return np.where(exposed, share / scores, (1 - share) / (1 - scores))


def trim_weights(weights: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """Weights outside the [lower, upper] percentiles of all weights (R's quantile type 3,
    the nearest even order statistic) set to those percentiles (WeightIt's trim)."""
    low, high = np.percentile(weights, [lower, upper], method="closest_observation")
    return np.clip(weights, low, high)


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of a group's weights."""
    return float(weights.sum() ** 2 / (weights**2).sum()) if len(weights) else np.nan


def _variance(values: np.ndarray, binary: bool) -> float:
    if binary:
        share = values.mean()
        return float(share * (1 - share))
    return float(values.var(ddof=1)) if len(values) > 1 else np.nan


def standardised_differences(
    columns: pd.DataFrame, exposed: np.ndarray, weights: np.ndarray | None = None
) -> pd.Series:
    """cobalt's SMD of each column (exposed minus unexposed), weighted means over the pooled
    unweighted SD; 0/1 columns use p (1 - p) as their variance. A difference of zero is
    0 whatever the SD (as cobalt)."""
    w = np.ones(len(columns)) if weights is None else weights
    smd = {}
    for name, column in columns.items():
        values = column.to_numpy(dtype=float)
        binary = bool(np.isin(values, (0.0, 1.0)).all())
        mine, theirs = values[exposed], values[~exposed]
        difference = np.average(mine, weights=w[exposed]) - np.average(theirs, weights=w[~exposed])
        pooled = np.sqrt((_variance(mine, binary) + _variance(theirs, binary)) / 2)
        smd[name] = 0.0 if abs(difference) < 1e-12 else difference / pooled
    return pd.Series(smd, dtype=float)
