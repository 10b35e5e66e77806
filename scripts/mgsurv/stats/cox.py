"""Cox proportional-hazards models of Mg (and covariates) on PFS or OS.

Fits go through :func:`mgsurv.stats.coxph_port.coxph_fit`, a port of R's ``coxph.fit`` (Efron ties,
strata as separate baseline hazards, times within ~1.5e-8 relative taken as ties as by R's
``timefix``), with the control of the R reference fixtures (``coxph.control(eps = 1e-12,
toler.chol = 1e-15, iter.max = 100)``, ``R_CONTROL``): the coefficients, SEs,
log-likelihoods and concordance are R's, and an untied cohort of 1e6 patients fits in
seconds (lifelines' Newton-Raphson, used before, stopped short of R's optimum unless pushed
to a decrement of 1e-20, and then took minutes); so is the time-split model of
:mod:`mgsurv.analysis.cox_models` and the spline model of :mod:`mgsurv.stats.spline`.

The design matrix is built here, not by a formula, so that every categorical term is
dummy-coded against a stated reference and named ``variable[level vs reference]``, and an
interaction column is the product of its terms' columns, named ``a:b``.
Each model uses the complete cases of its own variables; ``n`` and ``events`` say how many.
Model-level statistics (as R's ``summary(coxph)``): the partial log-likelihood, the
likelihood-ratio test against the null model, Harrell's concordance (within strata when
stratified, as R's ``concordance``), and events per parameter (EPV; Peduzzi et al. 1995
advise at least 10).

Degenerate data never raise: :func:`fit_cox` returns what could be estimated and says why
the rest could not in ``stats["note"]`` (empty when there is nothing to say):

* a term missing for every patient, or constant (one level) among the complete cases, is
  left out ("left out: ..."); when it is one of the model's key terms (not ``droppable``)
  its rows stay in the table with NaN, so the table shows what was not estimable;
* no complete cases, no events, or no term left: the model is not estimable;
* monotone likelihood (separation), e.g. no events in one Mg group, or every event in it:
  the maximum-likelihood estimate is infinite (R's coxph warns "coefficient may be
  infinite" and reports a huge coefficient). Detected exactly, per design column (and
  per factor's reference level, so that any level without events is found) and within
  strata, before fitting: every event has the highest (or every event the lowest)
  value of the column among the patients then at risk. After fitting, a coefficient whose
  absolute value times its column's SD exceeds 5 (for a balanced 0/1 column: beyond 10; an
  HR of e^5 = 148 per SD is never real) or a non-finite SE is taken as the same problem in
  a combination of columns, also when the iterations ran out (as they often do there: R
  says "Ran out of iterations and did not converge"). Remedy: when the separating column
  belongs to an adjustment term (listed in ``droppable``) the model is refitted without
  that term and the note says so; when it is a key term (e.g. the Mg group) the model is
  marked not estimable (a Firth-penalised Cox model would be the next step; not
  implemented);
* collinear design columns (e.g. a dummy equal to another column among the complete
  cases): R's ``coxph`` reports NA for each column that its Cholesky factorisation finds
  aliased (a later column in the linear span of the earlier ones) and fits the others. The
  model is refitted without them; their rows stay with NaN and the note names them;
* the Newton-Raphson iterations run out (``iter.max``) or ``coxph_fit`` rejects the data
  (ValueError, e.g. a non-finite covariate): not estimable, with the reason.

A model that is not estimable keeps its coefficient rows with NaN, so the tables still
say which model was attempted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import TypedDict

import numpy as np
import pandas as pd

from mgsurv.contract import (
    categorical_term,
    interaction_term,
    model_statistics,
)
from mgsurv.stats.coxph_port import CoxPHResult, coxph_fit
from mgsurv.stats.distributions import chi2_sf, normal_quantile, normal_sf


class RControl(TypedDict):
    """The keyword arguments of :func:`~mgsurv.stats.coxph_port.coxph_fit` that set R's
    ``coxph.control`` (``R_CONTROL``)."""

    eps: float
    toler_chol: float
    iter_max: int


# R's coxph.control as the reference fixtures use it (tests/reference/make_fixtures.R).
R_CONTROL: RControl = {"eps": 1e-12, "toler_chol": 1e-15, "iter_max": 100}
# A log-HR per SD of its column beyond this (HR 148 per SD) means the estimate diverged.
MAX_ABS_STANDARDISED_COEF = 5.0
CONF_LEVEL = 0.95

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
        return interaction_term(self.left.name, self.right.name)

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


def _texts(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The values as text (``astype(str)``), as codes into the texts of the distinct
    non-missing values (code -1 where missing). Each distinct value is converted once:
    converting and comparing every row's text took seconds per model at 10^6 patients."""
    codes, uniques = pd.factorize(values)
    return codes, pd.Series(uniques).astype(str).to_numpy(dtype=object)


def _level_order(texts: np.ndarray, term: Term) -> list[str]:
    """The levels present (``texts``), the reference first, then ``term.levels``' order
    (default alphabetical)."""
    present = set(texts)
    order = list(term.levels) if term.levels else sorted(present)
    order = [level for level in order if level in present]
    if not order:
        return []
    reference = term.reference
    if reference is None or reference not in present:
        reference = order[0]
    return [reference] + [level for level in order if level != reference]


def term_columns(data: pd.DataFrame, term: Term) -> dict[str, pd.Series]:
    """The design columns of one term; none when it does not vary in the data."""
    values = data[term.column]
    if term.kind == "numeric":
        if values.nunique() < 2:
            log.warning("term %s is constant here and is left out", term.name)
            return {}
        return {term.name: values.astype(float) / term.per}
    codes, texts = _texts(values)
    levels = _level_order(texts, term)
    if len(levels) < 2:
        log.warning("term %s has fewer than two levels here and is left out", term.name)
        return {}
    reference = levels[0]
    return {
        categorical_term(term.column, level, reference): pd.Series(
            np.append(texts == level, False)[codes].astype(float), index=values.index
        )
        for level in levels[1:]
    }


def design_matrix(data: pd.DataFrame, terms: Sequence[Term | Interaction]) -> pd.DataFrame:
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
                    columns[interaction_term(left_name, right_name)] = product_values
            continue
        columns.update(term_columns(data, term))
    return pd.DataFrame(columns, index=data.index)


def coefficient_rows(coef, se, names, n: int, events: int) -> pd.DataFrame:
    """The results contract's coefficient rows (COEFFICIENT_COLUMNS) from coefficients and
    SEs (Wald z, normal p and CI, as R)."""
    coef, se = np.asarray(coef, dtype=float), np.asarray(se, dtype=float)
    z = coef / se
    half_width = normal_quantile(0.5 + CONF_LEVEL / 2) * se
    return pd.DataFrame(
        {
            "term": list(names),
            "coef": coef,
            "se": se,
            "hr": np.exp(coef),
            "hr_lower": np.exp(coef - half_width),
            "hr_upper": np.exp(coef + half_width),
            "z": z,
            "p": 2 * normal_sf(np.abs(z)),
            "n": n,
            "events": events,
        }
    )


def _model_stats(
    n: int, events: int, parameters: int, result: CoxPHResult | None, note: str = ""
) -> dict:
    """summary(coxph)'s model statistics (NaN when not estimable), EPV and the note, as the
    results contract's :func:`~mgsurv.contract.model_statistics`.

    The likelihood-ratio test has one degree of freedom per estimated coefficient (aliased
    columns excluded, as R's summary); the concordance is R's ``fit$concordance``.
    """
    if result is None:
        return model_statistics(
            n=n, events=events, parameters=parameters, converged=False, note=note
        )
    statistic = 2 * (result.loglik[1] - result.loglik[0])
    return model_statistics(
        n=n,
        events=events,
        parameters=parameters,
        converged=True,
        loglik=result.loglik[1],
        lr_statistic=statistic,
        lr_p=float(chi2_sf(statistic, parameters)),
        concordance=np.nan if result.concordance is None else result.concordance.value,
        note=note,
    )


def expected_columns(term: Term | Interaction, data: pd.DataFrame) -> list[str]:
    """The design column names of a term if every level were present (names of the NaN
    rows of a key term that could not be estimated)."""
    if isinstance(term, Interaction):
        return [
            interaction_term(left, right)
            for left, right in product(
                expected_columns(term.left, data), expected_columns(term.right, data)
            )
        ]
    if term.kind == "numeric":
        return [term.name]
    if term.levels:
        reference = term.reference if term.reference in term.levels else term.levels[0]
        levels = [reference, *[lv for lv in term.levels if lv != reference]]
    else:
        levels = _level_order(_texts(data[term.column])[1], term)
    names = [categorical_term(term.column, level, levels[0]) for level in levels[1:]]
    return names or [term.name]


def _describe(column: str, values: pd.Series, event: pd.Series) -> str:
    """Why a design column separates, in words (events by level for a dummy)."""
    if set(values.unique()) <= {0.0, 1.0} and column.endswith("]") and "[" in column:
        variable, _, rest = column.partition("[")
        level = rest.rstrip("]").partition(" vs ")[0].removesuffix(" (reference)")
        at_level, others = int(event[values == 1].sum()), int(event[values == 0].sum())
        if at_level == 0:
            return f"no events in {variable} = {level} (all {others} events elsewhere)"
        if others == 0:
            return f"all {at_level} events in {variable} = {level}, none elsewhere"
    return "every event has the extreme value of this column among the patients then at risk"


def monotone_columns(
    design: pd.DataFrame, time: np.ndarray, event: np.ndarray, strata: np.ndarray | None
) -> dict[str, str]:
    """Design columns on which the partial likelihood is monotone (an infinite estimate):
    direction "+inf" / "-inf", or "no information".

    Within each stratum, with R(t) the patients still at risk at an event time t: the
    log-likelihood grows for ever in beta_j when every event has the largest x_j of its
    R(t) (falls: the smallest), whatever the other coefficients, and Efron's tie
    correction does not change that. A column constant within every R(t) at an event
    carries no information about beta_j (R: NA, "singular").
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    codes = np.zeros(len(time), dtype=int) if strata is None else pd.factorize(strata)[0]
    members = []
    for code in np.unique(codes):
        index = np.flatnonzero(codes == code)
        index = index[np.argsort(time[index], kind="stable")]
        if event[index].any():
            members.append(index)
    found = {}
    for column in design.columns:
        x = design[column].to_numpy(dtype=float)
        tolerance = 1e-12 * max(1.0, float(np.abs(x).max()))
        at_max: list[np.ndarray] = []
        at_min: list[np.ndarray] = []
        informative: list[np.ndarray] = []
        for index in members:
            t, xs, e = time[index], x[index], event[index] == 1
            suffix_max = np.maximum.accumulate(xs[::-1])[::-1]
            suffix_min = np.minimum.accumulate(xs[::-1])[::-1]
            first = np.searchsorted(t, t[e], side="left")
            at_max.append(xs[e] >= suffix_max[first] - tolerance)
            at_min.append(xs[e] <= suffix_min[first] + tolerance)
            informative.append(suffix_max[first] - suffix_min[first] > tolerance)
        if not members:
            continue
        all_at_max, all_at_min = np.concatenate(at_max), np.concatenate(at_min)
        all_informative = np.concatenate(informative)
        if not all_informative.any():
            found[column] = "no information"
        elif all_at_max[all_informative].all():
            found[column] = "+inf"
        elif all_at_min[all_informative].all():
            found[column] = "-inf"
    return found


def _no_variation(used: pd.DataFrame, term: Term | Interaction) -> str:
    """Why a term has no design column among the complete cases, in words."""
    n = len(used)
    if isinstance(term, Interaction):
        return f"one of its terms does not vary among the {n} complete cases"
    values = used[term.column].dropna().unique()
    if len(values) == 1:
        value = values[0]
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        return f"one value only ({shown}) among the {n} complete cases"
    return f"it does not vary among the {n} complete cases"


def _short(err: BaseException) -> str:
    """The first sentence of an exception's message."""
    text = str(err).strip().split("\n")[0]
    return text.split(". ")[0].rstrip(".") or type(err).__name__


@dataclass
class _Attempt:
    """One model being fitted: its data, terms, and what has been said about it so far."""

    data: pd.DataFrame
    time: str
    event: str
    strata: tuple[str, ...]
    droppable: tuple[str, ...]
    absent_key: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def note(self, *more: str) -> str:
        return "; ".join(dict.fromkeys([*self.notes, *more]))


def _fit_unaliased(
    design: pd.DataFrame, time: np.ndarray, event: np.ndarray, strata: np.ndarray | None
) -> tuple[CoxPHResult, list[str], list[str]]:
    """R's Efron fit (``R_CONTROL``) of the design's columns that are not aliased.

    Returns the fit, the columns fitted and the aliased ones. coxph_fit, as R, gives an
    aliased column a NaN coefficient and fits the rest; refitting without it gives a
    design, covariance and degrees of freedom free of it (what the PH test and the tables
    use), with the same estimates. Except when the other estimates diverge
    (:func:`_diverging`): then the aliasing is the separation's doing (the information
    matrix degenerates as the estimates run off), the fit is returned as it is, with its
    aliased columns among those fitted, and the caller reports the separation; whether a
    column is deemed aliased there hangs on rounding (it differs between BLAS kernels), and a
    refit without it would be a different model. Raises ValueError when coxph_fit rejects
    the data.
    """
    # the frame's one float block as it is (no copy of n x p values on the first fit)
    x = design.to_numpy(dtype=float)
    fitted: list[str] = list(design.columns)
    aliased: list[str] = []
    while True:
        columns = x if not aliased else x[:, design.columns.get_indexer(fitted)]
        result = coxph_fit(columns, time, event, strata=strata, **R_CONTROL)
        if not result.aliased.any() or _diverging(fitted, result, design):
            return result, fitted, aliased
        aliased += [c for c, alias in zip(fitted, result.aliased, strict=True) if alias]
        fitted = [c for c in fitted if c not in aliased]


def _diverging(fitted: list[str], result: CoxPHResult, design: pd.DataFrame) -> dict[str, str]:
    """The fitted columns (not aliased) whose estimate diverges, with its direction: a log-HR
    beyond MAX_ABS_STANDARDISED_COEF per SD of the column, or no finite positive SE."""
    spread = design[fitted].std(ddof=0).to_numpy()
    return {
        name: "+inf" if coef > 0 else "-inf"
        for name, coef, s, sd, alias in zip(
            fitted, result.coef, result.se, spread, result.aliased, strict=True
        )
        if not alias
        and (abs(coef) * sd > MAX_ABS_STANDARDISED_COEF or not np.isfinite(s) or s <= 0)
    }


def _owners(terms: Sequence[Term | Interaction], design: pd.DataFrame) -> dict[str, str]:
    """The term name owning each design column (and each reference-level indicator)."""
    owned = _columns_by_term(terms, list(design.columns))
    owner = {column: name for name, columns in owned.items() for column in columns}
    for name, columns in owned.items():
        reference = _reference_indicator_name(columns)
        if reference:
            owner[reference] = name
    return owner


def _reference_indicator_name(columns: list[str]) -> str | None:
    """'x[ref (reference)]' for a factor with two or more dummies 'x[level vs ref]'."""
    if len(columns) < 2 or not all(c.endswith("]") and " vs " in c for c in columns):
        return None
    variable, _, rest = columns[0].partition("[")
    if ":" in variable:
        return None
    return f"{variable}[{rest.rstrip(']').partition(' vs ')[2]} (reference)]"


def _with_reference_indicators(
    design: pd.DataFrame, terms: Sequence[Term | Interaction]
) -> pd.DataFrame:
    """The design plus, per factor with two or more dummies, the indicator of its reference
    level: a reference level without events separates along the sum of the dummies, which
    no single dummy shows. With these, any level without events is detected."""
    extra = {}
    for columns in _columns_by_term(terms, list(design.columns)).values():
        name = _reference_indicator_name(columns)
        if name:
            extra[name] = 1.0 - design[columns].sum(axis=1)
    return design.assign(**extra) if extra else design


def _not_estimable(
    n: int, events: int, names: list[str], note: str, parameters: int | None = None
) -> CoxFit:
    nan = np.full(len(names), np.nan)
    return CoxFit(
        coefficient_rows(nan, nan, names, n, events),
        _model_stats(n, events, len(names) if parameters is None else parameters, None, note),
        pd.DataFrame(),
    )


def fit_cox(
    data: pd.DataFrame,
    time: str,
    event: str,
    terms: Sequence[Term | Interaction],
    strata: tuple[str, ...] = (),
    droppable: tuple[str, ...] = (),
) -> CoxFit:
    """Fit one Cox model (stratified when ``strata`` names columns) on its complete cases.

    ``droppable`` names adjustment terms that may be left out to remedy a separation; the
    other terms are the model's key terms. Never raises on degenerate data: see the module
    docstring for what is left out or not estimable, and ``stats["note"]`` for why.
    """
    attempt = _Attempt(data, time, event, tuple(strata), tuple(droppable))
    kept: list[Term | Interaction] = []
    for term in terms:
        if any(data[column].isna().all() for column in term.columns):
            attempt.notes.append(f"{term.name} left out: missing for every patient")
            if term.name not in droppable:
                attempt.absent_key += expected_columns(term, data)
        else:
            kept.append(term)
    return _fit_terms(attempt, kept)


def _fit_terms(attempt: _Attempt, terms: Sequence[Term | Interaction]) -> CoxFit:
    time, event, strata = attempt.time, attempt.event, attempt.strata
    needed = [time, event, *dict.fromkeys(c for t in terms for c in t.columns), *strata]
    used = attempt.data[needed].dropna()
    design = design_matrix(used, terms)
    n, events = len(used), int(used[event].sum())
    owned = _columns_by_term(terms, list(design.columns))
    missing_key = list(attempt.absent_key)
    for term in terms:
        if n and term.name not in owned:
            attempt.notes.append(f"{term.name} left out: {_no_variation(used, term)}")
        if term.name not in attempt.droppable:
            missing_key += [
                c for c in expected_columns(term, attempt.data) if c not in design.columns
            ]
    missing_key = list(dict.fromkeys(missing_key))
    if n == 0:
        return _not_estimable(
            0, 0, missing_key, attempt.note("not estimable: no patient has every variable")
        )
    if events == 0:
        return _not_estimable(
            n,
            0,
            [*design.columns, *missing_key],
            attempt.note(f"not estimable: no events among the {n} patients"),
        )
    if design.empty:
        return _not_estimable(
            n, events, missing_key, attempt.note("not estimable: no term varies"), parameters=0
        )
    strata_values = strata_labels(used, strata)
    time_values = used[time].to_numpy(dtype=float)
    event_values = used[event].to_numpy(dtype=int)
    checked = _with_reference_indicators(design, terms)
    monotone = monotone_columns(checked, time_values, event_values, strata_values)
    if monotone:
        return _separated(attempt, terms, used, checked, monotone, missing_key, after_fit=False)
    del checked  # a copy of the design (n rows): not held through the fit
    try:
        result, fitted, aliased = _fit_unaliased(design, time_values, event_values, strata_values)
    except ValueError as err:
        why = f"the fit failed ({_short(err)})"
        return _failed(attempt, n, events, [*design.columns, *missing_key], why)
    se = result.se
    diverged = _diverging(fitted, result, design)
    # checked first also when the iterations ran out: a separation on a combination of
    # columns often does (R: "Ran out of iterations", huge coefficients), and is a separation
    if diverged:
        return _separated(attempt, terms, used, design, diverged, missing_key, after_fit=True)
    if not result.converged:
        why = (
            f"the fit did not converge (ran out of iterations: iter.max = {R_CONTROL['iter_max']})"
        )
        return _failed(attempt, n, events, [*design.columns, *missing_key], why)
    estimates = pd.DataFrame({"coef": result.coef, "se": se}, index=fitted)
    estimates = estimates.reindex([*design.columns, *missing_key])
    rows = coefficient_rows(estimates["coef"], estimates["se"], estimates.index, n, events)
    collinear = [
        f"{column} not estimable: collinear with the other design columns (R: NA)"
        for column in aliased
    ]
    return CoxFit(
        rows,
        _model_stats(n, events, len(fitted), result, attempt.note(*collinear)),
        pd.DataFrame(result.var, index=fitted, columns=fitted),
        design=design[fitted],
        time=time_values,
        event=event_values,
        strata=strata_values,
        term_columns=_columns_by_term(terms, fitted),
    )


def _failed(attempt: _Attempt, n: int, events: int, names: list[str], why: str) -> CoxFit:
    """The model could not be fitted (coxph_fit rejected the data or did not converge)."""
    note = attempt.note(f"not estimable: {why}")
    log.warning("Cox model on %s: %s", names, note)
    return _not_estimable(n, events, names, note)


def _separated(
    attempt: _Attempt,
    terms: Sequence[Term | Interaction],
    used: pd.DataFrame,
    design: pd.DataFrame,
    columns: dict[str, str],
    missing_key: list[str],
    after_fit: bool,
) -> CoxFit:
    """Monotone likelihood on ``columns``: leave out the adjustment terms that cause it and
    refit, or mark the model not estimable when a key term does."""
    n, events = len(used), int(used[attempt.event].sum())
    owner = _owners(terms, design)
    reasons = []
    for column, direction in columns.items():
        if direction == "no information":
            why = "no variation among the patients at risk at the event times"
        elif after_fit:
            why = f"the estimate diverges (HR towards {'infinity' if direction == '+inf' else 0})"
        else:
            why = _describe(column, design[column], used[attempt.event])
        reasons.append(f"{column}: {why}")
    culprits = list(dict.fromkeys(owner.get(c, c) for c in columns))
    if all(name in attempt.droppable for name in culprits):
        attempt.notes.append(
            f"refitted without {', '.join(culprits)} (monotone likelihood / separation:"
            f" {'; '.join(reasons)})"
        )
        return _fit_terms(attempt, [t for t in terms if t.name not in culprits])
    note = attempt.note(
        "not estimable (monotone likelihood / separation: the maximum-likelihood estimate is"
        f" infinite; {'; '.join(reasons)})"
    )
    log.warning("Cox model on %s: %s", list(design.columns), note)
    names = [c for c in design.columns if not c.endswith(" (reference)]")]
    return _not_estimable(n, events, [*names, *missing_key], note)


def strata_labels(data: pd.DataFrame, strata: tuple[str, ...]) -> np.ndarray | None:
    """One label per patient combining the strata columns (None when not stratified): each
    column's value as text (``astype(str)``: a missing value reads "nan" or "None"), joined
    by " / ".

    Each column's distinct values are converted once (pd.factorize) and the texts joined as
    arrays: converting and joining row by row takes seconds per 10^6 patients.
    """
    if not strata:
        return None
    labels = None
    for column in strata:
        values = data[column]
        codes, uniques = pd.factorize(values)
        text = np.append(pd.Series(uniques).astype(str).to_numpy(dtype=object), "")[codes]
        missing = codes < 0
        text[missing] = values[missing].astype(str).to_numpy(dtype=object)
        labels = text if labels is None else labels + " / " + text
    return labels


def _columns_by_term(
    terms: Sequence[Term | Interaction], columns: list[str]
) -> dict[str, list[str]]:
    """Which design columns belong to which term (a factor's dummies are one term; an
    interaction's products, whether its left term is a factor or numeric, are one term)."""
    owned = {
        t.name: [c for c in columns if ":" in c and _owns(t.left, c.split(":", 1)[0])]
        for t in terms
        if isinstance(t, Interaction)
    }
    taken = {c for cs in owned.values() for c in cs}
    for term in terms:
        if not isinstance(term, Interaction):
            owned[term.name] = [c for c in columns if c not in taken and _owns(term, c)]
    return {name: cs for name, cs in owned.items() if cs}


def _owns(term: Term, column: str) -> bool:
    """Whether a design column is one of a term's own: its numeric column, or a dummy."""
    return column == term.name or column.startswith(f"{term.column}[")


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
