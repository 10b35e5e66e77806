"""The smooth that R's ``plot(cox.zph(fit))`` draws through a coefficient's scaled
Schoenfeld residuals, with its +-2 standard-error band.

survival 3.5-3 (``R/plot.cox.zph.R``): a natural cubic spline in the transformed time
(``splines::ns(df = 4, intercept = TRUE)``, whose two interior knots are the 1/3 and 2/3
quantiles, and boundary knots the range, of the 40 prediction points and the event times
together) is fitted to the residuals by least squares and predicted at 40 points evenly
spaced over the transformed times; the band is ``yhat +- 2 sqrt(var_ii * diag(P (X'X)^-1
P'))`` with ``var_ii`` the coefficient's entry of ``cox.zph``'s ``var``.

The fit and its band depend only on the space the basis spans, not on the basis itself, so
the natural spline space is built here directly: the cubic B-splines on those knots whose
second derivative is 0 at both boundary knots (the null space of those two constraints),
rather than ``ns``'s own QR-rotated basis. Checked against R in tests/test_zph.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.interpolate import BSpline
from scipy.linalg import null_space

DEGREES_OF_FREEDOM = 4
PREDICTION_POINTS = 40


def natural_spline_basis(x: np.ndarray, knots_from: np.ndarray, df: int) -> np.ndarray:
    """A basis (one column per degree of freedom) of the natural cubic splines with an
    intercept whose knots are placed as R's ``ns(knots_from, df = df, intercept = TRUE)``
    places them, evaluated at ``x`` (within the boundary knots)."""
    interior = np.quantile(knots_from, np.linspace(0, 1, df)[1:-1])  # type 7, as R
    low, high = knots_from.min(), knots_from.max()
    knots = np.concatenate([[low] * 4, interior, [high] * 4])
    size = len(knots) - 4
    coefficients = np.eye(size)
    splines = [BSpline(knots, coefficients[j], 3, extrapolate=False) for j in range(size)]
    design = np.column_stack([spline(x) for spline in splines])
    curvature = np.array([[spline.derivative(2)(b) for spline in splines] for b in (low, high)])
    return design @ null_space(curvature)


def zph_smooth(
    transformed_time: ArrayLike,
    residuals: ArrayLike,
    variance: float,
    df: int = DEGREES_OF_FREEDOM,
    points: int = PREDICTION_POINTS,
) -> pd.DataFrame:
    """plot.cox.zph's smooth of one coefficient: ``transformed_time`` (``zp$x``, one per
    event), its scaled residuals (``zp$y[, i]``, NaN where the coefficient does not vary
    in the event's stratum) and ``variance`` (``zp$var[i, i]``). Returns the 40 rows of
    transformed_time, fit, lower and upper (fit -+ 2 SE). ValueError when fewer than
    ``df + 1`` distinct times have a residual: the spline would fit them exactly, with no
    band (R then warns "spline fit is singular" and skips the panel)."""
    x = np.asarray(transformed_time, dtype=float)
    y = np.asarray(residuals, dtype=float)
    if len(np.unique(x[~np.isnan(y)])) <= df:
        raise ValueError(f"fewer than {df + 1} distinct event times with a residual")
    grid = np.linspace(x.min(), x.max(), points)
    knots_from = np.concatenate([grid, x])
    predict = natural_spline_basis(grid, knots_from, df)
    keep = ~np.isnan(y)
    design = natural_spline_basis(x[keep], knots_from, df)
    coef, *_ = np.linalg.lstsq(design, y[keep], rcond=None)
    fit = predict @ coef
    inverse = np.linalg.inv(design.T @ design)
    band = 2 * np.sqrt(variance * np.einsum("ij,jk,ik->i", predict, inverse, predict))
    return pd.DataFrame(
        {"transformed_time": grid, "fit": fit, "lower": fit - band, "upper": fit + band}
    )
