"""Cox proportional-hazards models of Mg (and covariates) on PFS or OS.

Fits go through lifelines' Efron-ties Cox model, converged to R's optimum. lifelines stops
as soon as the Newton decrement g' H^-1 g / 2 falls below ``precision``, without taking the
step it has just computed: its default stops a damped step early, and even at 1e-14 (the
figure in notes/r-parity.md) coefficients were measured 5e-8 (relative) short of
``coxph(..., eps = 1e-12)`` on an untied cohort. A decrement below 1e-20 leaves a step
below ~1e-10; the fit then ends when the log-likelihood stops changing in double precision
(``r_precision``), at R's maximum (coefficients within ~1e-11).

The design matrix is built here, not by a formula, so that every categorical term is
dummy-coded against a stated reference and named ``variable[level vs reference]``, and an
interaction column is the product of its terms' columns, named ``a:b``.
Each model uses the complete cases of its own variables; ``n`` and ``events`` say how many.
Model-level statistics (as R's ``summary(coxph)``): the partial log-likelihood, the
likelihood-ratio test against the null model, Harrell's concordance (within strata when
stratified, as R's ``concordance``), and events per parameter (EPV; Peduzzi et al. 1995
advise at least 10).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from scipy.stats import norm

R_LIKE_FIT = {"precision": 1e-20, "r_precision": 1e-16}
CONF_LEVEL = 0.95
COX_COLUMNS = ["term", "coef", "se", "hr", "hr_lower", "hr_upper", "z", "p", "n", "events"]
MIN_EVENTS_PER_PARAMETER = 10

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Term:
    """One model variable: a data column, how it enters, and its label."""

    column: str
    kind: str  # "numeric" or "categorical"
    reference: str | None = None  # categorical: the reference level
    levels: tuple[str, ...] | None = None  # categorical: the order of levels
    per: float = 1.0  # numeric: the HR is per this many units
    label: str | None = None  # numeric: the term's name in the results

    @property
    def name(self) -> str:
        return self.label or self.column

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)


@dataclass(frozen=True)
class Interaction:
    """The product of two terms' design columns (e.g. low Mg x arm), named ``a:b``."""

    left: Term
    right: Term

    @property
    def name(self) -> str:
        return f"{self.left.name}:{self.right.name}"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.left.column, self.right.column)


@dataclass(frozen=True)
class CoxFit:
    """One fitted model: coefficient rows, model statistics, the coefficients' covariance,
    and the data it was fitted on (what the proportional-hazards test needs)."""

    coefficients: pd.DataFrame
    stats: dict
    covariance: pd.DataFrame
    design: pd.DataFrame = field(default_factory=pd.DataFrame)
    time: np.ndarray = field(default_factory=lambda: np.empty(0))
    event: np.ndarray = field(default_factory=lambda: np.empty(0))
    strata: np.ndarray | None = None
    term_columns: dict[str, list[str]] = field(default_factory=dict)


def _level_order(values: pd.Series, term: Term) -> list[str]:
    present = set(values.dropna().astype(str))
    order = list(term.levels) if term.levels else sorted(present)
    order = [level for level in order if level in present]
    reference = term.reference if term.reference in present else (order[0] if order else None)
    return [reference] + [level for level in order if level != reference] if order else []


def term_columns(data: pd.DataFrame, term: Term) -> dict[str, pd.Series]:
    """The design columns of one term; none when it does not vary in the data."""
    values = data[term.column]
    if term.kind == "numeric":
        if values.nunique() < 2:
            log.warning("term %s is constant here and is left out", term.name)
            return {}
        return {term.name: values.astype(float) / term.per}
    levels = _level_order(values, term)
    if len(levels) < 2:
        log.warning("term %s has fewer than two levels here and is left out", term.name)
        return {}
    reference, text = levels[0], values.astype(str)
    return {
        f"{term.column}[{level} vs {reference}]": (text == level).astype(float)
        for level in levels[1:]
    }


def design_matrix(data: pd.DataFrame, terms: list[Term | Interaction]) -> pd.DataFrame:
    """Numeric columns scaled by ``per``; categorical ones as 0/1 dummies vs the reference;
    interactions as products of their terms' columns.

    Terms that do not vary in the data (one level, or a constant) cannot be estimated and
    are left out with a log message.
    """
    columns = {}
    for term in terms:
        if isinstance(term, Interaction):
            left, right = term_columns(data, term.left), term_columns(data, term.right)
            for (left_name, left_values), (right_name, right_values) in product(
                left.items(), right.items()
            ):
                product_values = left_values * right_values
                if product_values.nunique() > 1:
                    columns[f"{left_name}:{right_name}"] = product_values
            continue
        columns.update(term_columns(data, term))
    return pd.DataFrame(columns, index=data.index)


def coefficient_rows(coef, se, names, n: int, events: int) -> pd.DataFrame:
    """COX_COLUMNS rows from coefficients and SEs (Wald z, normal p and CI, as R)."""
    coef, se = np.asarray(coef, dtype=float), np.asarray(se, dtype=float)
    z = coef / se
    half_width = norm.ppf(0.5 + CONF_LEVEL / 2) * se
    return pd.DataFrame(
        {
            "term": list(names),
            "coef": coef,
            "se": se,
            "hr": np.exp(coef),
            "hr_lower": np.exp(coef - half_width),
            "hr_upper": np.exp(coef + half_width),
            "z": z,
            "p": 2 * norm.sf(np.abs(z)),
            "n": n,
            "events": events,
        }
    )


def _model_stats(n: int, events: int, parameters: int, fitter: CoxPHFitter | None) -> dict:
    epv = events / parameters if parameters else np.nan
    stats = {
        "n": n,
        "events": events,
        "parameters": parameters,
        "events_per_parameter": epv,
        "epv_below_10": bool(epv < MIN_EVENTS_PER_PARAMETER),
        "converged": fitter is not None,
        "loglik": np.nan,
        "lr_statistic": np.nan,
        "lr_df": parameters,
        "lr_p": np.nan,
        "concordance": np.nan,
    }
    if fitter is not None:
        lr = fitter.log_likelihood_ratio_test()
        stats |= {
            "loglik": float(fitter.log_likelihood_),
            "lr_statistic": float(lr.test_statistic),
            "lr_p": float(lr.p_value),
            "concordance": float(fitter.concordance_index_),
        }
    return stats


def fit_cox(
    data: pd.DataFrame,
    time: str,
    event: str,
    terms: list[Term | Interaction],
    strata: tuple[str, ...] = (),
) -> CoxFit:
    """Fit one Cox model (stratified when ``strata`` names columns) on its complete cases.

    A model that does not converge yields its terms with NaN estimates, so the tables
    still say which model was attempted.
    """
    needed = [time, event, *dict.fromkeys(c for t in terms for c in t.columns), *strata]
    used = data[needed].dropna()
    design = design_matrix(used, terms)
    n, events = len(used), int(used[event].sum())
    if design.empty:
        return CoxFit(
            pd.DataFrame(columns=COX_COLUMNS), _model_stats(n, events, 0, None), pd.DataFrame()
        )
    frame = design.assign(_time=used[time].to_numpy(), _event=used[event].to_numpy())
    for column in strata:
        frame[f"_stratum_{column}"] = used[column].astype(str).to_numpy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            fitter = CoxPHFitter(
                alpha=1 - CONF_LEVEL, strata=[f"_stratum_{c}" for c in strata] or None
            ).fit(frame, duration_col="_time", event_col="_event", fit_options=R_LIKE_FIT)
    except (ConvergenceError, ConvergenceWarning) as err:
        log.warning("Cox model on %s did not converge: %s", list(design.columns), err)
        nan = np.full(design.shape[1], np.nan)
        return CoxFit(
            coefficient_rows(nan, nan, design.columns, n, events),
            _model_stats(n, events, design.shape[1], None),
            pd.DataFrame(),
        )
    params = fitter.params_
    covariance = fitter.variance_matrix_.loc[params.index, params.index]
    rows = coefficient_rows(
        params.to_numpy(), np.sqrt(np.diag(covariance)), params.index, n, events
    )
    return CoxFit(
        rows,
        _model_stats(n, events, len(params), fitter),
        covariance,
        design=design[list(params.index)],
        time=used[time].to_numpy(dtype=float),
        event=used[event].to_numpy(dtype=int),
        strata=strata_labels(used, strata),
        term_columns=_columns_by_term(terms, list(params.index)),
    )


def strata_labels(data: pd.DataFrame, strata: tuple[str, ...]) -> np.ndarray | None:
    """One label per patient combining the strata columns (None when not stratified)."""
    if not strata:
        return None
    return data[list(strata)].astype(str).agg(" / ".join, axis=1).to_numpy()


def _columns_by_term(terms: list[Term | Interaction], columns: list[str]) -> dict[str, list[str]]:
    """Which design columns belong to which term (a factor's dummies are one term)."""
    owned = {
        t.name: [c for c in columns if ":" in c and c.startswith(f"{t.left.column}[")]
        for t in terms
        if isinstance(t, Interaction)
    }
    taken = {c for cs in owned.values() for c in cs}
    for term in terms:
        if not isinstance(term, Interaction):
            owned[term.name] = [
                c
                for c in columns
                if c not in taken and (c == term.name or c.startswith(f"{term.column}["))
            ]
    return {name: cs for name, cs in owned.items() if cs}


def linear_combination(fit: CoxFit, weights: dict[str, float], label: str) -> pd.DataFrame:
    """The row of a sum of coefficients (e.g. the low-Mg effect within a non-reference arm:
    main effect + interaction), with SE from the covariance: sqrt(w' V w)."""
    names = list(weights)
    if fit.covariance.empty or not set(names) <= set(fit.covariance.index):
        return coefficient_rows([np.nan], [np.nan], [label], fit.stats["n"], fit.stats["events"])
    w = np.array([weights[name] for name in names])
    coef = float(fit.coefficients.set_index("term").loc[names, "coef"].to_numpy() @ w)
    se = float(np.sqrt(w @ fit.covariance.loc[names, names].to_numpy() @ w))
    return coefficient_rows([coef], [se], [label], fit.stats["n"], fit.stats["events"])
