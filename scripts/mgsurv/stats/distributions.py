"""The normal and chi-squared functions the statistics need, from scipy.special.

The same values as ``scipy.stats.norm`` and ``scipy.stats.chi2`` (which call these very
functions), without importing scipy.stats: that import costs about 0.4 s, paid again by
every job of the workflow, and most of the default run is such start-up. Edge cases follow
scipy.stats: chi2_sf is 1 below 0 and NaN for df <= 0.
"""

from __future__ import annotations

import numpy as np
from scipy.special import chdtrc, ndtr, ndtri

_SQRT_2PI = np.sqrt(2 * np.pi)


def normal_cdf(x):
    """P(Z <= x) for a standard normal Z (scipy.stats.norm.cdf)."""
    return ndtr(x)


def normal_sf(x):
    """P(Z > x) (scipy.stats.norm.sf)."""
    return ndtr(-np.asarray(x, dtype=float))


def normal_quantile(q):
    """The x with P(Z <= x) = q (scipy.stats.norm.ppf)."""
    return ndtri(q)


def normal_pdf(x):
    """The standard normal density (scipy.stats.norm.pdf)."""
    x = np.asarray(x, dtype=float)
    return np.exp(-(x**2) / 2.0) / _SQRT_2PI


def chi2_sf(x, df):
    """P(X > x) for X chi-squared with df degrees of freedom (scipy.stats.chi2.sf)."""
    x, df = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(df, dtype=float))
    p = np.where(x < 0, 1.0, chdtrc(df, np.maximum(x, 0.0)))
    p = np.where(df > 0, p, np.nan)
    return p[()] if p.ndim == 0 else p
