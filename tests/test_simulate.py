"""Tests for mgsurv.cohort.simulate: determinism, table shape, model guarantees and calibration.

The statistical tests use large cohorts (n = 20000, 10000 per arm) with the default seed,
so their tolerances are wide compared with the sampling error; Cox intervals are 99%
rather than 95% because a 95% interval misses the true value 5% of the time by design.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter

from mgsurv.cohort.simulate import SyntheticParams, _record_months, simulate_cohort, write_cohort
from mgsurv.errors import InputError

EXPECTED_COLUMNS = [
    "patient_id",
    "arm",
    "age",
    "sex",
    "ecog",
    "histology",
    "pdl1",
    "smoking",
    "prior_lines",
    "mg_mmol_l",
    "pfs_months",
    "pfs_event",
    "os_months",
    "os_event",
]
OAK_MEDIANS = {
    ("immunotherapy", "os"): 13.8,
    ("chemotherapy", "os"): 9.6,
    ("immunotherapy", "pfs"): 2.8,
    ("chemotherapy", "pfs"): 4.0,
}


@pytest.fixture(scope="module")
def default_cohort() -> tuple[pd.DataFrame, dict]:
    return simulate_cohort(SyntheticParams())


@pytest.fixture(scope="module")
def large_cohort() -> pd.DataFrame:
    cohort, _ = simulate_cohort(SyntheticParams(n=20000))
    return cohort


def cox_design(cohort: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """Low-Mg indicator, the model's covariates and one endpoint, ready for CoxPHFitter."""
    return pd.DataFrame(
        {
            "low_mg": (cohort["mg_mmol_l"] < 0.70).astype(int),
            "ecog": cohort["ecog"],
            "squamous": (cohort["histology"] == "squamous").astype(int),
            "male": (cohort["sex"] == "male").astype(int),
            "age": cohort["age"],
            "prior_lines_2": (cohort["prior_lines"] == 2).astype(int),
            "pdl1_1_49": (cohort["pdl1"] == "1-49%").astype(int),
            "pdl1_ge50": (cohort["pdl1"] == ">=50%").astype(int),
            "time": cohort[f"{endpoint}_months"],
            "event": cohort[f"{endpoint}_event"],
        }
    )


def test_same_seed_gives_identical_cohort_and_files(tmp_path):
    params = SyntheticParams(n=300, seed=7)
    first, first_truth = simulate_cohort(params)
    second, second_truth = simulate_cohort(params)
    pd.testing.assert_frame_equal(first, second)
    assert first_truth == second_truth
    write_cohort(first, first_truth, tmp_path / "a.csv", tmp_path / "a.json")
    write_cohort(second, second_truth, tmp_path / "b.csv", tmp_path / "b.json")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_different_seed_gives_different_cohort():
    first, _ = simulate_cohort(SyntheticParams(n=300, seed=7))
    second, _ = simulate_cohort(SyntheticParams(n=300, seed=8))
    assert not first.equals(second)
    assert not first["mg_mmol_l"].equals(second["mg_mmol_l"])
    assert not first["os_months"].equals(second["os_months"])


def test_columns_dtypes_and_value_sets(default_cohort):
    cohort, _ = default_cohort
    assert list(cohort.columns) == EXPECTED_COLUMNS
    for column in ["age", "ecog", "prior_lines", "pfs_event", "os_event"]:
        assert pd.api.types.is_integer_dtype(cohort[column]), column
    for column in ["mg_mmol_l", "pfs_months", "os_months"]:
        assert pd.api.types.is_float_dtype(cohort[column]), column
    expected_values = {
        "arm": {"immunotherapy", "chemotherapy"},
        "sex": {"male", "female"},
        "ecog": {0, 1},
        "histology": {"non-squamous", "squamous"},
        "pdl1": {"<1%", "1-49%", ">=50%"},
        "smoking": {"never", "current", "former"},
        "prior_lines": {1, 2},
        "pfs_event": {0, 1},
        "os_event": {0, 1},
    }
    for column, values in expected_values.items():
        assert set(cohort[column]) == values, column
    assert cohort["age"].between(30, 90).all()
    assert cohort["mg_mmol_l"].between(0.30, 1.60).all()
    assert np.allclose(cohort["mg_mmol_l"], cohort["mg_mmol_l"].round(2), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("n", "width"), [(2, 4), (1200, 4), (12345, 5)])
def test_patient_ids_are_sequential_and_zero_padded(n, width):
    cohort, _ = simulate_cohort(SyntheticParams(n=n))
    expected = [f"SYN{i:0{width}d}" for i in range(1, n + 1)]
    assert cohort["patient_id"].tolist() == expected


@pytest.mark.parametrize("n", [2, 3, 1201])
def test_arms_are_balanced_with_the_extra_patient_on_immunotherapy(n):
    cohort, _ = simulate_cohort(SyntheticParams(n=n))
    counts = cohort["arm"].value_counts()
    assert counts["immunotherapy"] == math.ceil(n / 2)
    assert counts["chemotherapy"] == n // 2


def test_arms_are_randomly_interleaved(default_cohort):
    cohort, _ = default_cohort
    first_half = cohort["arm"].iloc[:600]
    assert 0.4 < (first_half == "immunotherapy").mean() < 0.6


def test_times_are_positive_tenths_with_os_not_before_pfs(default_cohort):
    cohort, _ = default_cohort
    for column in ["pfs_months", "os_months"]:
        times = cohort[column].to_numpy()
        assert (times >= 0.1).all(), column
        assert np.allclose(times * 10, np.round(times * 10), rtol=0, atol=1e-9), column
    assert (cohort["os_months"] >= cohort["pfs_months"]).all()
    assert (cohort["pfs_months"] < cohort["os_months"]).any()
    assert cohort["os_months"].duplicated().any(), "0.1-month recording should create ties"


def test_event_indicators_follow_the_model(default_cohort):
    cohort, _ = default_cohort
    # A death before censoring is also a PFS event (PFS = min(P, D, C)).
    assert (cohort.loc[cohort["os_event"] == 1, "pfs_event"] == 1).all()
    # A censored PFS means both P and D are beyond C, so OS is censored at the same time.
    censored = cohort[cohort["pfs_event"] == 0]
    assert (censored["os_event"] == 0).all()
    assert (censored["os_months"] == censored["pfs_months"]).all()
    # Follow-up never exceeds the data cut-off (accrual + minimum follow-up).
    assert cohort["os_months"].max() <= 36.0


def test_record_months_rounds_up_and_ignores_float_noise():
    recorded = _record_months(np.array([2.0000000001, 2.05, 0.0, 1e-12, 2.3, 0.1 + 0.2]))
    assert recorded.tolist() == [2.0, 2.1, 0.1, 0.1, 2.3, 0.3]


def test_fraction_low_mg_is_between_15_and_25_percent():
    cohort, truth = simulate_cohort(SyntheticParams(n=5000))
    fraction = (cohort["mg_mmol_l"] < 0.70).mean()
    assert 0.15 <= fraction <= 0.25
    assert truth["observed"]["fraction_low_mg"] == pytest.approx(fraction)


def test_covariate_proportions_match_oak(large_cohort):
    proportions = {
        ("sex", "male"): 0.61,
        ("ecog", 1): 0.63,
        ("histology", "non-squamous"): 0.74,
        ("pdl1", "<1%"): 0.46,
        ("pdl1", ">=50%"): 0.20,
        ("smoking", "never"): 0.18,
        ("smoking", "current"): 0.15,
        ("prior_lines", 1): 0.75,
    }
    for (column, value), expected in proportions.items():
        assert (large_cohort[column] == value).mean() == pytest.approx(expected, abs=0.02)
    assert large_cohort["age"].mean() == pytest.approx(63.5, abs=0.5)


@pytest.mark.parametrize(("arm", "endpoint"), sorted(OAK_MEDIANS))
def test_km_medians_match_oak(large_cohort, arm, endpoint):
    group = large_cohort[large_cohort["arm"] == arm]
    km = KaplanMeierFitter().fit(group[f"{endpoint}_months"], group[f"{endpoint}_event"])
    assert km.median_survival_time_ == pytest.approx(OAK_MEDIANS[arm, endpoint], rel=0.10)


@pytest.mark.parametrize("endpoint", ["os", "pfs"])
@pytest.mark.parametrize(("arm", "true_hr"), [("immunotherapy", 1.6), ("chemotherapy", 1.0)])
def test_cox_recovers_true_low_mg_hr(large_cohort, arm, true_hr, endpoint):
    design = cox_design(large_cohort[large_cohort["arm"] == arm], endpoint)
    cox = CoxPHFitter(alpha=0.01).fit(design, duration_col="time", event_col="event")
    row = cox.summary.loc["low_mg"]
    lower, upper = row["exp(coef) lower 99%"], row["exp(coef) upper 99%"]
    assert lower <= true_hr <= upper
    if true_hr != 1.0:
        assert lower > 1.0, "n = 20000 should have the power to detect the effect"


@pytest.mark.parametrize("arm", ["immunotherapy", "chemotherapy"])
def test_cox_recovers_true_covariate_hrs(large_cohort, arm):
    # 8 intervals per arm, so 99.9% each to keep the chance of any miss near 1%.
    pdl1_hr = {"immunotherapy": (0.85, 0.7), "chemotherapy": (1.0, 1.0)}[arm]
    true_hr = {
        "ecog": 1.5,
        "squamous": 1.3,
        "male": 1.1,
        "age": 1.05 ** (1 / 10),
        "prior_lines_2": 1.15,
        "pdl1_1_49": pdl1_hr[0],
        "pdl1_ge50": pdl1_hr[1],
    }
    design = cox_design(large_cohort[large_cohort["arm"] == arm], "os")
    summary = CoxPHFitter(alpha=0.001).fit(design, "time", "event").summary
    for covariate, hr in true_hr.items():
        row = summary.loc[covariate]
        assert row["exp(coef) lower 99.9%"] <= hr <= row["exp(coef) upper 99.9%"], covariate


@pytest.mark.parametrize("n", [2, 3])
def test_tiny_cohorts_calibrate_for_any_seed(n):
    # One patient in an arm means a single linear predictor: the root bracket must still hold.
    for seed in range(20):
        cohort, truth = simulate_cohort(SyntheticParams(n=n, seed=seed))
        assert len(cohort) == n
        assert all(s["death"] > 0 for s in truth["calibrated_scale"].values())


def test_hr_changes_baseline_not_marginal_medians():
    strong, strong_truth = simulate_cohort(SyntheticParams(n=20000, hr_low_mg_immunotherapy=3))
    group = strong[strong["arm"] == "immunotherapy"]
    km = KaplanMeierFitter().fit(group["os_months"], group["os_event"])
    assert km.median_survival_time_ == pytest.approx(13.8, rel=0.10)
    _, default_truth = simulate_cohort(SyntheticParams(n=20000))
    scale = strong_truth["calibrated_scale"]["immunotherapy"]["death"]
    assert scale > default_truth["calibrated_scale"]["immunotherapy"]["death"]
    chemo = strong_truth["calibrated_scale"]["chemotherapy"]
    assert chemo == default_truth["calibrated_scale"]["chemotherapy"]


def test_event_fractions_at_defaults(default_cohort):
    # With these OAK medians and 12-36 months of follow-up almost everyone progresses:
    # the model gives about 95% PFS events, so the upper bound is 97%, not 95%.
    cohort, _ = default_cohort
    assert 0.80 <= cohort["pfs_event"].mean() <= 0.97
    assert 0.55 <= cohort["os_event"].mean() <= 0.80


def test_no_dropout_is_allowed():
    cohort, _ = simulate_cohort(SyntheticParams(n=400, dropout_per_year=0.0))
    censored = cohort[cohort["os_event"] == 0]
    # Without loss to follow-up, censoring is administrative only: at least the minimum
    # follow-up of 12 months.
    assert (censored["os_months"] >= 12.0).all()


def test_truth_describes_the_cohort(default_cohort):
    cohort, truth = default_cohort
    assert truth["generator"] == "mgsurv.simulate"
    assert truth["params"] == asdict(SyntheticParams())
    assert truth["true_hr_low_mg"] == {"immunotherapy": 1.6, "chemotherapy": 1.0}
    assert truth["observed"]["n"] == len(cohort)
    assert truth["observed"]["pfs_events"] == cohort["pfs_event"].sum()
    assert truth["observed"]["os_events"] == cohort["os_event"].sum()
    assert truth["observed"]["data_cutoff_months"] == 36.0
    for arm in ["immunotherapy", "chemotherapy"]:
        assert set(truth["calibrated_scale"][arm]) == {"death", "progression"}
        assert all(scale > 0 for scale in truth["calibrated_scale"][arm].values())
    assert truth["covariate_log_hr"]["ecog_1_vs_0"] == pytest.approx(math.log(1.5))
    assert json.loads(json.dumps(truth)) == truth


def test_write_cohort_round_trips(tmp_path, default_cohort):
    cohort, truth = default_cohort
    csv_path, truth_path = tmp_path / "out" / "cohort.csv", tmp_path / "out" / "truth.json"
    write_cohort(cohort, truth, csv_path, truth_path)
    pd.testing.assert_frame_equal(pd.read_csv(csv_path), cohort)
    with truth_path.open() as handle:
        assert json.load(handle) == truth
    text = csv_path.read_text()
    assert not re.search(r"\d\.\d{3,}", text), "float noise in the CSV"
    for line in text.splitlines()[1:6]:
        fields = dict(zip(EXPECTED_COLUMNS, line.split(","), strict=True))
        assert re.fullmatch(r"\d+\.\d", fields["pfs_months"])
        assert re.fullmatch(r"\d+\.\d", fields["os_months"])
        assert re.fullmatch(r"\d\.\d\d", fields["mg_mmol_l"])


@pytest.mark.parametrize(
    "overrides",
    [
        {"n": 1},
        {"n": 10.5},
        {"n": True},
        {"seed": -1},
        {"hr_low_mg_immunotherapy": 0.0},
        {"hr_low_mg_chemotherapy": -1.0},
        {"mg_sd_mmol_l": 0.0},
        {"mg_mean_mmol_l": float("nan")},
        {"mg_threshold_mmol_l": "0.7"},
        {"accrual_months": -1.0},
        {"min_followup_months": float("inf")},
        {"dropout_per_year": 1.0},
        {"dropout_per_year": -0.1},
        {"os_median_chemotherapy": 0.0},
        {"pfs_median_immunotherapy": -2.8},
        {"pfs_median_chemotherapy": 9.6},
    ],
)
def test_invalid_params_raise_input_error(overrides):
    with pytest.raises(InputError) as raised:
        SyntheticParams(**overrides)
    assert next(iter(overrides)) in str(raised.value)
    assert raised.value.fix


def test_mg_shift_with_ecog_makes_low_mg_more_frequent_with_ecog_1():
    """Confounding by ECOG for the validation study: mean Mg 0.08 mmol/L lower with ECOG 1
    gives P(low) about 0.21 with ECOG 0 and 0.46 with ECOG 1 (normal Mg, mean 0.79, SD 0.11,
    threshold 0.70); the draws of everything else are unchanged."""
    plain, _ = simulate_cohort(SyntheticParams(n=20000, seed=3))
    shifted, _ = simulate_cohort(SyntheticParams(n=20000, seed=3, mg_shift_ecog_mmol_l=-0.08))
    low = shifted["mg_mmol_l"] < 0.70
    by_ecog = low.groupby(shifted["ecog"]).mean()
    assert by_ecog[0] == pytest.approx(0.21, abs=0.02)
    assert by_ecog[1] == pytest.approx(0.46, abs=0.02)
    ecog_0 = shifted["ecog"] == 0
    assert (shifted.loc[ecog_0, "mg_mmol_l"] == plain.loc[ecog_0, "mg_mmol_l"]).all()
    assert shifted["age"].equals(plain["age"])


def test_missing_covariates_only_for_low_mg_patients_with_an_early_event(tmp_path):
    params = SyntheticParams(n=3000, seed=4, missing_covariates_early_event=0.8)
    cohort, truth = simulate_cohort(params)
    complete, _ = simulate_cohort(SyntheticParams(n=3000, seed=4))
    gone = cohort["age"].isna()
    assert gone.equals(cohort["ecog"].isna())
    eligible = (
        (complete["pfs_event"] == 1)
        & (complete["pfs_months"] <= 3.0)
        & (complete["mg_mmol_l"] < params.mg_threshold_mmol_l)
    )
    assert not gone[~eligible].any()
    assert gone[eligible].mean() == pytest.approx(0.8, abs=0.06)
    # everything else as in the complete cohort; whole numbers still written whole
    assert cohort.drop(columns=["age", "ecog"]).equals(complete.drop(columns=["age", "ecog"]))
    write_cohort(cohort, truth, tmp_path / "c.csv", tmp_path / "t.json")
    written = pd.read_csv(tmp_path / "c.csv", dtype=str, keep_default_na=False)
    assert set(written.loc[gone.to_numpy(), "ecog"]) == {""}
    assert set(written.loc[~gone.to_numpy(), "ecog"]) == {"0", "1"}
    assert truth["params"]["missing_covariates_early_event"] == 0.8


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mg_shift_ecog_mmol_l", 1.5),
        ("mg_shift_ecog_mmol_l", float("nan")),
        ("missing_covariates_early_event", 1.0),
        ("missing_covariates_early_event", -0.1),
    ],
)
def test_confounding_and_missingness_settings_are_checked(field, value):
    with pytest.raises(InputError, match=field):
        SyntheticParams(**{field: value})
