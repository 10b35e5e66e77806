"""Log-rank tests between Mg groups (lifelines; equal to R's ``survdiff`` to 1e-15)."""

from __future__ import annotations

import pandas as pd
from lifelines.statistics import multivariate_logrank_test


def logrank(time: pd.Series, event: pd.Series, group: pd.Series) -> dict:
    """The k-group log-rank test: chi-square statistic, df = k - 1 and p.

    Groups without patients are not counted; with fewer than two groups the test is not
    defined and statistic, df and p are NaN.
    """
    present = group.dropna().unique()
    if len(present) < 2:
        return {"statistic": float("nan"), "df": float("nan"), "p": float("nan")}
    result = multivariate_logrank_test(time, group, event)
    return {
        "statistic": float(result.test_statistic),
        "df": int(result.degrees_of_freedom),
        "p": float(result.p_value),
    }
