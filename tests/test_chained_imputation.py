"""Multiple imputation by chained equations: the Nelson-Aalen predictor against R mice,
what imputation may and may not change, reproducibility, and that under missingness at
random (depending on an observed predictor) the imputed data recover what complete cases
miss."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mgsurv.stats.chained_imputation import (
    augment,
    impute,
    multinomial_probabilities,
    nearest_donors,
    nelson_aalen,
)
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
    assert len(result) == 3
    for completed in result:
        assert not completed.isna().any().any()
        for column in KINDS:
            known = observed[column].notna()
            assert (completed.loc[known, column] == observed.loc[known, column]).all()
            # predictive mean matching and the categorical draws give observed values only
            assert set(completed.loc[~known, column]) <= set(observed.loc[known, column])


def test_the_same_seed_gives_the_same_imputations():
    observed, predictors, _ = mar_data(200)
    first = impute(observed, KINDS, predictors, m=2, iterations=2, seed=7)
    again = impute(observed, KINDS, predictors, m=2, iterations=2, seed=7)
    other = impute(observed, KINDS, predictors, m=2, iterations=2, seed=8)
    for a, b in zip(first, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert not first[0].equals(other[0])


def test_imputation_recovers_what_complete_cases_miss_under_mar():
    """The complete cases under-represent high y, so high x, "yes" and "high"; the
    imputations, drawn given y, recover the full data's mean and shares."""
    observed, predictors, truth = mar_data()
    result = impute(observed, KINDS, predictors, m=5, iterations=5, seed=11)
    mean_x = np.mean([completed["x"].astype(float).mean() for completed in result])
    share_yes = np.mean([(completed["b"] == "yes").mean() for completed in result])
    share_high = np.mean([(completed["c"] == "high").mean() for completed in result])
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
    for completed in result:
        assert completed["never"].isna().all()
        assert (completed["one"] == "only").all()
        assert not completed[list(KINDS)].isna().any().any()


def test_a_level_predicted_perfectly_still_gets_drawn_both_ways():
    """mice's augmentation: a binary covariate that is "yes" exactly when a predictor is
    positive, and a three-level one fixed by it, have infinite maximum-likelihood
    coefficients; with the pseudo-observations the missing values still follow the
    predictor (mostly "yes" where it is positive) without being all one level."""
    rng = np.random.default_rng(2)
    y = rng.standard_normal(400)
    b = pd.Series(np.where(y > 0, "yes", "no"), dtype=object)
    c = pd.Series(np.select([y < -0.4, y < 0.4], ["low", "mid"], "high"), dtype=object)
    gone = rng.random(400) < 0.3
    observed = pd.DataFrame({"b": b.where(~gone), "c": c.where(~gone)})
    kinds = {"b": "categorical", "c": "categorical"}
    for completed in impute(observed, kinds, y[:, None], m=3, iterations=2, seed=4):
        imputed_b, imputed_c = completed.loc[gone, "b"], completed.loc[gone, "c"]
        assert imputed_b.nunique() == 2 and imputed_c.nunique() == 3
        agree_b = (imputed_b == b[gone]).mean()
        agree_c = (imputed_c == c[gone]).mean()
        assert agree_b > 0.85 and agree_c > 0.7, (agree_b, agree_c)


def test_augment_places_two_rows_per_predictor_and_level_as_mice():
    """mice's augment: rows at the means, one predictor at mean +- SD / 2 (clipped to its
    range), levels repeated in pairs, weights (p + 1) / (2 p k)."""
    x = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 13.0]])
    pseudo, levels, weights = augment(x, ["a", "b"])
    assert pseudo.shape == (8, 2) and list(levels) == ["a", "a", "b", "b"] * 2
    assert weights == pytest.approx(np.full(8, 3 / 8))
    sd = x.std(axis=0, ddof=1)
    assert pseudo[0].tolist() == pytest.approx([2 + sd[0] / 2, 11.0])
    assert pseudo[1].tolist() == pytest.approx([2 - sd[0] / 2, 11.0])
    assert pseudo[4].tolist() == pytest.approx([2.0, min(11 + sd[1] / 2, 13.0)])


def test_the_weighted_multinomial_logit_equals_nnet_multinom():
    """polyreg's model: the predicted probabilities equal nnet's multinom (with case
    weights; tests/reference/multinomial.R) to 1e-6."""
    expected = json.loads((REFERENCE / "fixtures" / "multinomial_synthetic_400.json").read_text())
    data = pd.read_csv(SYNTHETIC_400)
    design = np.column_stack([np.ones(len(data)), data["age"], data["mg_mmol_l"]])
    codes = pd.Categorical(data["pdl1"], categories=expected["levels"]).codes
    found = multinomial_probabilities(
        design, codes, np.array(expected["weights"]), design, len(expected["levels"])
    )
    np.testing.assert_allclose(found, np.array(expected["probabilities"]), atol=1e-6)


def test_the_donors_are_the_five_closest_observed_predictions():
    """Each missing row's donor is one of the 5 observed rows with the closest prediction
    (compared with every pair, as mice's matchindex), whichever of them is drawn."""
    rng = np.random.default_rng(9)
    observed = rng.normal(size=300)
    missing = np.concatenate([rng.normal(size=60), [-10.0, 10.0]])  # two beyond either end
    for seed in range(3):
        donors = nearest_donors(observed, missing, np.random.default_rng(seed))
        distance = np.abs(missing[:, None] - observed[None, :])
        fifth = np.sort(distance, axis=1)[:, 4]
        assert (distance[np.arange(len(missing)), donors] <= fifth + 1e-15).all()
