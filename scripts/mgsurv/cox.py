"""Cox proportional-hazards models of Mg (and covariates) on PFS or OS.

Fits go through lifelines' Efron-ties Cox model, converged to R's precision: with
``precision=1e-14, r_precision=1e-16`` lifelines matches ``coxph(..., eps = 1e-12)`` to
~1e-14 on coefficients (notes/r-parity.md); its default stops one damped step early.

The design matrix is built here, not by a formula, so that every categorical term is
dummy-coded against a stated reference and named ``variable[level vs reference]``.
Each model uses the complete cases of its own variables; ``n`` and ``events`` say how many.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning

R_LIKE_FIT = {"precision": 1e-14, "r_precision": 1e-16}
CONF_LEVEL = 0.95
COX_COLUMNS = ["term", "coef", "se", "hr", "hr_lower", "hr_upper", "z", "p", "n", "events"]

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


def _level_order(values: pd.Series, term: Term) -> list[str]:
    present = set(values.dropna().astype(str))
    order = list(term.levels) if term.levels else sorted(present)
    order = [level for level in order if level in present]
    reference = term.reference if term.reference in present else (order[0] if order else None)
    return [reference] + [level for level in order if level != reference] if order else []


def design_matrix(data: pd.DataFrame, terms: list[Term]) -> pd.DataFrame:
    """Numeric columns scaled by ``per``; categorical ones as 0/1 dummies vs the reference.

    Terms that do not vary in the data (one level, or a constant) cannot be estimated and
    are left out with a log message.
    """
    columns = {}
    for term in terms:
        values = data[term.column]
        if term.kind == "numeric":
            if values.nunique() < 2:
                log.warning("term %s is constant here and is left out", term.name)
                continue
            columns[term.name] = values.astype(float) / term.per
            continue
        levels = _level_order(values, term)
        if len(levels) < 2:
            log.warning("term %s has fewer than two levels here and is left out", term.name)
            continue
        reference, others = levels[0], levels[1:]
        text = values.astype(str)
        for level in others:
            columns[f"{term.column}[{level} vs {reference}]"] = (text == level).astype(float)
    return pd.DataFrame(columns, index=data.index)


def fit_cox(data: pd.DataFrame, time: str, event: str, terms: list[Term]) -> pd.DataFrame:
    """Fit one Cox model; one row per coefficient (see COX_COLUMNS).

    A model that does not converge yields its terms with NaN estimates, so the tables
    still say which model was attempted.
    """
    used = data[[time, event] + [t.column for t in terms]].dropna()
    design = design_matrix(used, terms)
    n, events = len(used), int(used[event].sum())
    if design.empty:
        return pd.DataFrame(columns=COX_COLUMNS)
    frame = design.assign(_time=used[time].to_numpy(), _event=used[event].to_numpy())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            fitter = CoxPHFitter(alpha=1 - CONF_LEVEL).fit(
                frame, duration_col="_time", event_col="_event", fit_options=R_LIKE_FIT
            )
    except (ConvergenceError, ConvergenceWarning) as err:
        log.warning("Cox model on %s did not converge: %s", list(design.columns), err)
        nan = np.full(design.shape[1], np.nan)
        return pd.DataFrame(
            {
                "term": design.columns,
                "coef": nan,
                "se": nan,
                "hr": nan,
                "hr_lower": nan,
                "hr_upper": nan,
                "z": nan,
                "p": nan,
                "n": n,
                "events": events,
            }
        )
    summary = fitter.summary
    return pd.DataFrame(
        {
            "term": summary.index.to_list(),
            "coef": summary["coef"].to_numpy(),
            "se": summary["se(coef)"].to_numpy(),
            "hr": summary["exp(coef)"].to_numpy(),
            "hr_lower": np.exp(summary["coef lower 95%"].to_numpy()),
            "hr_upper": np.exp(summary["coef upper 95%"].to_numpy()),
            "z": summary["z"].to_numpy(),
            "p": summary["p"].to_numpy(),
            "n": n,
            "events": events,
        }
    )
