"""Rubin's rules against R mice's pool() on the same per-imputation Cox estimates
(tests/reference/rubin.R: m = 5 imputations of synthetic_400 with missing age, ECOG and
PD-L1), and the limits of the rules."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mgsurv.stats.rubin import barnard_rubin_df, pool
from support import REFERENCE

FIELDS = ("estimate", "ubar", "b", "t", "df", "riv", "fmi", "std_error", "lower", "upper", "p")


def test_pooling_equals_mice_pool_for_every_coefficient():
    expected = json.loads((REFERENCE / "fixtures" / "rubin_synthetic_400.json").read_text())
    estimates = np.array(expected["estimates"])
    variances = np.array(expected["variances"])
    assert estimates.shape == (5, len(expected["terms"]))
    for index, term in enumerate(expected["terms"]):
        found = pool(estimates[:, index], variances[:, index], dfcom=expected["dfcom"])
        for field in FIELDS:
            want = expected["pooled"][field][index]
            assert getattr(found, field) == pytest.approx(want, rel=1e-10), (term, field)


def test_without_between_imputation_variance_the_df_approach_the_complete_data_df():
    """B = 0: lambda is held at 1e-4 (as mice 3.15), so df_old is huge and the df are
    df_obs, (dfcom + 1) / (dfcom + 3) dfcom (1 - 1e-4)."""
    found = pool([0.5, 0.5, 0.5], [0.04, 0.04, 0.04], dfcom=100)
    assert found.b == 0 and found.t == pytest.approx(0.04) and found.riv == 0
    df_obs = 101 / 103 * 100 * (1 - 1e-4)
    df_old = 2 / 1e-8
    assert found.df == pytest.approx(df_old * df_obs / (df_old + df_obs), rel=1e-12)


def test_infinite_complete_data_df_gives_rubin_1987_df():
    lam = (1 + 1 / 4) * 0.01 / 0.05
    assert barnard_rubin_df(4, 0.01, 0.05, float("inf")) == pytest.approx(3 / lam**2)


def test_one_imputation_cannot_be_pooled():
    with pytest.raises(ValueError, match="at least two imputations"):
        pool([0.1], [0.01], dfcom=10)
