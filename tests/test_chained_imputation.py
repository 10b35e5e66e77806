"""Multiple imputation by chained equations: the Nelson-Aalen predictor against R mice,
what imputation may and may not change, reproducibility, and that under missingness at
random (depending on an observed predictor) the imputed data recover what complete cases
miss."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mgsurv.stats.chained_imputation import impute, nelson_aalen
from support import REFERENCE, SYNTHETIC_400


def test_nelson_aalen_equals_mice():
    expected = json.loads((REFERENCE / "fixtures" / "rubin_synthetic_400.json").read_text())
    data = pd.read_csv(SYNTHETIC_400)
    found = nelson_aalen(data["os_months"].to_numpy(), data["os_event"].to_numpy())
    np.testing.assert_allclose(found, expected["cumulative_hazard"], rtol=1e-12)


def mar_data(n: int = 2000, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """x numeric, b binary and c three-level, each tied to an observed predictor y; each
    missing more often when y is high (missing at random given y)."""
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(n)
    x = y + rng.standard_normal(n) * 0.6
    b = np.where(rng.random(n) < 1 / (1 + np.exp(-2 * y)), "yes", "no")
    noisy = y + rng.standard_normal(n)
    c = np.select([noisy < -0.5, noisy < 0.5], ["low", "mid"], "high").astype(object)
    truth = pd.DataFrame({"x": x, "b": b, "c": c})
    observed = truth.copy()
    for column in truth:
        observed.loc[(y > 0) & (rng.random(n) < 0.6), column] = np.nan
    return observed, y[:, None], truth


KINDS = {"x": "numeric", "b": "categorical", "c": "categorical"}


def test_observed_values_stay_and_imputed_ones_are_observed_values():
    observed, predictors, _ = mar_data(300)
    result = impute(observed, KINDS, predictors, m=3, iterations=3, seed=5)
    assert len(result.completed) == 3 and result.fallbacks == 0
    for completed in result.completed:
        assert not completed.isna().any().any()
        for column in KINDS:
            known = observed[column].notna()
            assert (completed.loc[known, column] == observed.loc[known, column]).all()
            # predictive mean matching and the categorical draws give observed values only
            assert set(completed.loc[~known, column]) <= set(observed.loc[known, column])


def test_the_same_seed_gives_the_same_imputations():
    observed, predictors, _ = mar_data(200)
    first = impute(observed, KINDS, predictors, m=2, iterations=2, seed=7).completed
    again = impute(observed, KINDS, predictors, m=2, iterations=2, seed=7).completed
    other = impute(observed, KINDS, predictors, m=2, iterations=2, seed=8).completed
    for a, b in zip(first, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert not first[0].equals(other[0])


def test_imputation_recovers_what_complete_cases_miss_under_mar():
    """The complete cases under-represent high y, so high x, "yes" and "high"; the
    imputations, drawn given y, recover the full data's mean and shares."""
    observed, predictors, truth = mar_data()
    result = impute(observed, KINDS, predictors, m=5, iterations=5, seed=11)
    mean_x = np.mean([completed["x"].astype(float).mean() for completed in result.completed])
    share_yes = np.mean([(completed["b"] == "yes").mean() for completed in result.completed])
    share_high = np.mean([(completed["c"] == "high").mean() for completed in result.completed])
    assert observed["x"].mean() < truth["x"].mean() - 0.25  # complete cases are biased
    assert mean_x == pytest.approx(truth["x"].mean(), abs=0.05)
    assert (observed["b"].dropna() == "yes").mean() < (truth["b"] == "yes").mean() - 0.1
    assert share_yes == pytest.approx((truth["b"] == "yes").mean(), abs=0.03)
    assert share_high == pytest.approx((truth["c"] == "high").mean(), abs=0.03)


def test_a_covariate_never_observed_stays_missing_and_one_value_fills_in():
    observed, predictors, _ = mar_data(100)
    observed["never"] = np.nan
    observed["one"] = pd.Series(["only"] * 100, dtype=object).where(np.arange(100) % 3 != 0)
    kinds = KINDS | {"never": "numeric", "one": "categorical"}
    result = impute(observed, kinds, predictors, m=2, iterations=2, seed=3)
    for completed in result.completed:
        assert completed["never"].isna().all()
        assert (completed["one"] == "only").all()
        assert not completed[list(KINDS)].isna().any().any()
