"""Serum Mg as a restricted cubic spline in the Cox model of one endpoint: its coefficients
(model ``spline`` in cox.tsv), the HR curve against the reference Mg (spline.tsv) and the
likelihood-ratio test of non-linearity (nonlinearity.tsv), with :mod:`mgsurv.stats.spline`.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from mgsurv.analysis.cox_models import arm_terms, covariate_terms, first_sentence
from mgsurv.contract import (
    COEFFICIENT_COLUMNS,
    MG_COLUMN,
    NONLINEARITY_COLUMNS,
    SPLINE,
    SPLINE_CURVE_COLUMNS,
    endpoint_table,
    event_column,
    model_statistics,
    model_statistics_row,
    time_column,
)
from mgsurv.settings import AnalysisSettings
from mgsurv.stats.cox import coefficient_rows, design_matrix, monotone_columns
from mgsurv.stats.spline import spline_cox

log = logging.getLogger(__name__)


def spline_tables(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> dict:
    """Mg as a restricted cubic spline (4 knots, rms) adjusted like the multivariable model:
    its coefficients (cox, model "spline"), the HR curve against the reference Mg (spline)
    and the likelihood-ratio test of non-linearity (nonlinearity).

    Adjusters missing for everyone, constant, or separating (see :mod:`mgsurv.stats.cox`) are left
    out with a note. When the spline cannot be fitted (fewer than 6 patients or 3 distinct
    knots, no events, no convergence) the tables are empty or NaN and ``spline_model`` holds
    the cox_models row saying why (None otherwise).
    """
    time, event = time_column(endpoint), event_column(endpoint)
    adjusters = arm_terms(data, settings) + covariate_terms(settings)
    notes = [
        f"{t.name} left out: missing for every patient"
        for t in adjusters
        if data[t.column].isna().all()
    ]
    adjusters = [t for t in adjusters if not data[t.column].isna().all()]
    # Dummies of a missing category would read 0: blank the rows with a missing adjuster
    # so that the spline model, like every other, uses complete cases.
    adjust = design_matrix(data, adjusters)
    adjust.loc[data[[t.column for t in adjusters]].isna().any(axis=1)] = np.nan
    complete = adjust.notna().all(axis=1) & data[[time, event, MG_COLUMN]].notna().all(axis=1)
    separating = (
        monotone_columns(
            adjust[complete],
            data.loc[complete, time].to_numpy(),
            data.loc[complete, event].to_numpy(),
            None,
        )
        if complete.any() and not adjust.empty
        else {}
    )
    if separating:
        notes.append(f"left out for separation: {', '.join(separating)}")
        adjust = adjust.drop(columns=list(separating))
    n, events = int(complete.sum()), int(data.loc[complete, event].sum())
    try:
        result = spline_cox(
            data[time],
            data[event],
            data[MG_COLUMN],
            adjust=adjust if not adjust.empty else None,
            reference=settings.spline_reference_mmol_l,
            label=MG_COLUMN,
        )
    except ValueError as err:
        reason = f"not estimable: the spline fit failed ({first_sentence(err)})"
        if events == 0:
            reason = f"not estimable: no events among the {n} patients"
        log.warning("%s spline model: %s", endpoint, reason)
        return not_estimable_spline(endpoint, settings, n, events, "; ".join([*notes, reason]))
    rows = result.coefficients
    coefficients = coefficient_rows(
        rows["coef"], rows["se"], rows["term"], result.n, result.events
    ).assign(model=SPLINE)
    test = {
        "model": SPLINE,
        "knots": ", ".join(f"{k:.4g}" for k in result.knots),
        "reference_mmol_l": result.reference,
        "statistic": result.lr_statistic,
        "df": result.lr_df,
        "p": result.lr_p,
        "n": result.n,
        "events": result.events,
    }
    model = None
    if notes:
        model = spline_model_row(result.n, result.events, len(rows), "; ".join(notes))
    return {
        "spline_cox": coefficients,
        "spline_model": model,
        "spline": endpoint_table([result.curve[list(SPLINE_CURVE_COLUMNS)]], endpoint),
        "nonlinearity": endpoint_table([pd.DataFrame([test])], endpoint, NONLINEARITY_COLUMNS),
    }


def spline_model_row(n: int, events: int, parameters: int, note: str) -> dict:
    """The cox_models row of the spline model (written only when there is a note)."""
    statistics = model_statistics(
        n=n,
        events=events,
        parameters=parameters,
        converged="not estimable" not in note,
        note=note,
    )
    terms = f"rcs({MG_COLUMN}, 4) + adjusters of the multivariable model"
    return model_statistics_row(SPLINE, terms, "", statistics)


def not_estimable_spline(
    endpoint: str, settings: AnalysisSettings, n: int, events: int, note: str
) -> dict:
    """The spline tables when the spline cannot be fitted: no curve, a NaN test row."""
    test = {
        "model": SPLINE,
        "knots": "",
        "reference_mmol_l": settings.spline_reference_mmol_l,
        "statistic": np.nan,
        "df": np.nan,
        "p": np.nan,
        "n": n,
        "events": events,
    }
    return {
        "spline_cox": pd.DataFrame(columns=[*COEFFICIENT_COLUMNS, "model"]),
        "spline_model": spline_model_row(n, events, 0, note),
        "spline": endpoint_table([], endpoint, SPLINE_CURVE_COLUMNS),
        "nonlinearity": endpoint_table([pd.DataFrame([test])], endpoint, NONLINEARITY_COLUMNS),
    }
