"""The validation study: scenarios, replicates through the workflow's code, summaries
against R's binomial quantiles, the generator's time-limited effect, and a small null study
whose log-rank type-I error must lie inside its binomial 99% band."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mgsurv.cohort.simulate import (
    SyntheticParams,
    _weibull_inverse,
    _weibull_inverse_limited,
    simulate_cohort,
)
from mgsurv.contract import REPLICATE_COLUMNS
from mgsurv.validation.replicates import StudySettings, replicate_seed, run_replicates
from mgsurv.validation.scenarios import NULL_SCENARIO, power_sizes, scenarios
from mgsurv.validation.summary import (
    binomial_band,
    estimate_summary,
    rejection_summary,
    size_for_power,
)
from support import MAPPING_FILE, shipped_config

CONFIG = shipped_config()


def study_settings(seed: int = 1) -> StudySettings:
    """The shipped config's settings (from_config reads only the keys it needs)."""
    return StudySettings.from_config(CONFIG | {"seed": seed}, str(MAPPING_FILE))


# --- scenarios ----------------------------------------------------------------------------


def test_the_scenarios_of_the_issue_and_the_power_sizes_without_repeats():
    chosen = scenarios([150, 300, 1200, 2400])
    assert list(chosen)[:7] == [
        "no_effect",
        "effect",
        "small",
        "heavy_censoring",
        "non_proportional",
        "confounding",
        "missing_covariates",
    ]
    # 150 and 1200 are the 'small' and 'effect' scenarios already
    assert list(chosen)[7:] == ["power_300", "power_2400"]
    assert power_sizes(chosen) == {
        "effect": 1200,
        "small": 150,
        "power_300": 300,
        "power_2400": 2400,
    }
    effect = chosen["effect"]
    assert effect.true_log_hr("immunotherapy") == pytest.approx(math.log(1.6))
    assert effect.true_log_hr("chemotherapy") == 0.0
    assert chosen[NULL_SCENARIO].true_log_hr("immunotherapy") == 0.0
    assert math.isnan(chosen["non_proportional"].true_log_hr("immunotherapy"))
    assert chosen["non_proportional"].true_log_hr("chemotherapy") == 0.0  # no effect at all
    assert [name for name, s in chosen.items() if s.no_effect] == [NULL_SCENARIO, "confounding"]
    for scenario in chosen.values():  # every one is a valid generator setting
        SyntheticParams(**scenario.params)


def test_replicate_seeds_differ_between_replicates_and_scenarios():
    seeds = {replicate_seed(1, s, r) for s in ("no_effect", "effect") for r in range(100)}
    assert len(seeds) == 200
    assert replicate_seed(1, "no_effect", 7) == replicate_seed(1, "no_effect", 7)
    assert replicate_seed(2, "no_effect", 7) != replicate_seed(1, "no_effect", 7)


# --- the generator's time-limited effect --------------------------------------------------


def test_a_time_limited_effect_inverts_its_piecewise_cumulative_hazard():
    rng = np.random.default_rng(3)
    uniform, lp = rng.random(2000), rng.normal(0, 0.3, 2000)
    low = rng.random(2000) < 0.3
    scale, shape, hr, until = 9.0, 1.3, 2.5, 6.0
    times = _weibull_inverse_limited(uniform, lp, scale, shape, low, hr, until)
    h0 = (times / scale) ** shape
    h0_until = (until / scale) ** shape
    multiplier = np.where(low, hr, 1.0)
    cumulative = np.exp(lp) * np.where(
        times <= until, multiplier * h0, multiplier * h0_until + h0 - h0_until
    )
    np.testing.assert_allclose(np.exp(-cumulative), 1 - uniform, rtol=1e-10)
    # a limit beyond every time is the lasting (proportional) effect
    lasting = _weibull_inverse(uniform, lp + np.where(low, np.log(hr), 0), scale, shape)
    forever = _weibull_inverse_limited(uniform, lp, scale, shape, low, hr, 1e9)
    np.testing.assert_allclose(forever, lasting, rtol=1e-12)


def test_an_effect_limited_beyond_every_time_draws_the_lasting_effects_cohort():
    """The limited-effect path with a limit no time reaches draws exactly the cohort of the
    proportional-hazards path (the default, low_mg_effect_months empty)."""
    cohort, truth = simulate_cohort(SyntheticParams(n=300, seed=4))
    limited, _ = simulate_cohort(SyntheticParams(n=300, seed=4, low_mg_effect_months=1e9))
    pd.testing.assert_frame_equal(cohort, limited)
    assert truth["params"]["low_mg_effect_months"] is None


def test_a_bad_effect_limit_is_refused_with_the_fix():
    from mgsurv.errors import InputError

    with pytest.raises(InputError, match="low_mg_effect_months"):
        SyntheticParams(low_mg_effect_months=-1.0)


# --- summaries ----------------------------------------------------------------------------


def test_binomial_bands_are_r_qbinom():
    """R: qbinom(c(.025, .975), 200, .05) = 4 16; qbinom(c(.005, .995), 200, .05) = 3 19;
    qbinom(c(.025, .975), 200, .95) = 184 196; qbinom(c(.025, .975), 1000, .05) = 37 64."""
    assert binomial_band(0.05, 200) == (4 / 200, 16 / 200)
    assert binomial_band(0.05, 200, level=0.99) == (3 / 200, 19 / 200)
    assert binomial_band(0.95, 200) == (184 / 200, 196 / 200)
    assert binomial_band(0.05, 1000) == (37 / 1000, 64 / 1000)


def toy_rows() -> pd.DataFrame:
    """Four replicates of one scenario with known estimates."""
    rows = pd.DataFrame(
        {
            "scenario": NULL_SCENARIO,
            "replicate": range(4),
            "endpoint": "pfs",
            "io_coef": [0.1, -0.1, 0.3, np.nan],
            "io_se": [0.1, 0.1, 0.1, np.nan],
            "io_true": 0.0,
            "chemo_coef": [0.0, 0.0, 0.0, 0.0],
            "chemo_se": [0.1, 0.1, 0.1, 0.1],
            "chemo_true": 0.0,
            "p_logrank": [0.01, 0.2, 0.5, 0.04],
        }
    )
    for column in REPLICATE_COLUMNS:
        if column not in rows:
            rows[column] = np.nan
    return rows


def test_bias_empirical_se_and_coverage_by_hand():
    io = estimate_summary(toy_rows()).set_index("estimand").loc["io"]
    assert io["replicates"] == 3 and io["not_estimated"] == 1
    assert io["mean"] == pytest.approx(0.1)
    assert io["bias"] == pytest.approx(0.1)
    assert io["empirical_se"] == pytest.approx(0.2)  # sd(0.1, -0.1, 0.3)
    assert io["bias_mcse"] == pytest.approx(0.2 / math.sqrt(3))
    assert io["model_se"] == pytest.approx(0.1)
    # |0.3 - 0| > 1.96 * 0.1: two of three CIs hold the truth
    assert io["coverage"] == pytest.approx(2 / 3)


def test_rejection_rates_with_the_null_band_by_hand():
    rates = rejection_summary(toy_rows()).set_index("test")
    assert list(rates.index) == ["logrank"]  # tests with no p-value at all are left out
    logrank = rates.loc["logrank"]
    assert logrank["rejections"] == 2 and logrank["rate"] == 0.5
    assert (logrank["band_lower"], logrank["band_upper"]) == binomial_band(0.05, 4)
    assert not logrank["in_band"]


def test_size_for_80_percent_power_is_interpolated_in_log_n():
    curve = pd.DataFrame({"n": [150, 300, 600, 1200], "power": [0.2, 0.4, 0.7, 0.9]})
    expected = math.exp(math.log(600) + 0.5 * (math.log(1200) - math.log(600)))
    assert size_for_power(curve) == pytest.approx(expected)
    assert math.isnan(size_for_power(curve.assign(power=[0.1, 0.2, 0.3, 0.4])))
    assert size_for_power(curve.assign(power=[0.85, 0.9, 0.95, 0.99])) == 150


# --- replicates through the workflow's code -----------------------------------------------


def test_replicates_do_not_depend_on_batching():
    scenario = scenarios()["small"]
    settings = study_settings()
    whole = run_replicates(scenario, range(4), settings)
    batched = pd.concat(
        [
            run_replicates(scenario, range(0, 1), settings),
            run_replicates(scenario, range(1, 4), settings),
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(whole, batched)
    assert list(whole.columns) == list(REPLICATE_COLUMNS)
    assert whole["endpoint"].tolist() == ["pfs", "os"] * 4
    assert whole["io_true"].iloc[0] == pytest.approx(math.log(1.6))
    # the cut-point is searched on PFS only
    assert whole.loc[whole["endpoint"] == "pfs", "p_cutpoint_naive"].notna().all()
    assert whole.loc[whole["endpoint"] == "os", "p_cutpoint_naive"].isna().all()


def test_a_replicate_the_analysis_fails_on_is_recorded_not_fatal(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("singular matrix")

    monkeypatch.setattr("mgsurv.validation.replicates.endpoint_results", broken)
    rows = run_replicates(scenarios()["small"], range(2), study_settings())
    assert len(rows) == 4
    assert rows["note"].tolist() == ["RuntimeError: singular matrix"] * 4
    assert rows["io_coef"].isna().all() and rows["p_logrank"].isna().all()
    rates = rejection_summary(rows).set_index(["endpoint", "test"])
    assert rates.empty  # no test had a p-value at all
    estimates = estimate_summary(rows)
    assert (estimates["replicates"] == 0).all() and (estimates["not_estimated"] == 2).all()


@pytest.fixture(scope="module")
def null_study() -> pd.DataFrame:
    """200 replicates of the null scenario at 400 patients (a small version of the study)."""
    null = scenarios()[NULL_SCENARIO]
    small_null = replace(null, params={**null.params, "n": 400})
    return run_replicates(small_null, range(200), study_settings())


def test_null_log_rank_type_one_error_lies_inside_its_binomial_99_percent_band(null_study):
    rates = rejection_summary(null_study).set_index(["endpoint", "test"])
    lower, upper = binomial_band(0.05, 200, level=0.99)
    for endpoint in ("pfs", "os"):
        row = rates.loc[(endpoint, "logrank")]
        assert row["replicates"] == 200
        assert lower <= row["rate"] <= upper, (endpoint, row["rate"])


def test_null_estimates_are_unbiased_and_the_naive_cutpoint_p_is_inflated(null_study):
    estimates = estimate_summary(null_study).set_index(["endpoint", "estimand"])
    for key in [("pfs", "io"), ("os", "chemo")]:
        row = estimates.loc[key]
        assert abs(row["bias"]) < 3 * row["bias_mcse"], (key, row["bias"], row["bias_mcse"])
    rates = rejection_summary(null_study).set_index(["endpoint", "test"])
    naive, corrected = (
        rates.loc[("pfs", "cutpoint_naive"), "rate"],
        rates.loc[("pfs", "cutpoint_lau92"), "rate"],
    )
    assert naive > 0.15 > corrected, (naive, corrected)


# --- the workflow target ------------------------------------------------------------------

TINY_STUDY = {"replicates": 3, "batch_size": 2, "seed": 5, "power_sizes": [300]}


@pytest.fixture(scope="module")
def validation_run(run_workflow, tmp_path_factory) -> Path:
    """`snakemake validation` with the shipped config and a tiny study."""
    workdir = tmp_path_factory.mktemp("validation")
    run = run_workflow(workdir, target="validation", validation=TINY_STUDY)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "mgsurv: validation study written to results/validation/validation.html" in output
    assert "report written" not in output  # no cohort report was made
    return workdir


@pytest.mark.workflow
def test_the_validation_target_runs_every_scenario_in_batches(validation_run: Path):
    results = validation_run / "results" / "validation"
    batches = sorted(
        p.relative_to(results / "batches").as_posix() for p in (results / "batches").rglob("*.tsv")
    )
    names = list(scenarios(TINY_STUDY["power_sizes"]))
    assert batches == sorted(f"{s}/{b}.tsv" for s in names for b in (0, 1))
    rows = pd.read_csv(results / "replicates.tsv", sep="\t")
    assert len(rows) == len(names) * TINY_STUDY["replicates"] * 2  # two endpoints each
    # the same replicates as run here directly (batching and the job do not change them)
    direct = run_replicates(scenarios()["small"], range(3), study_settings(seed=5))
    mine = rows[rows["scenario"] == "small"].reset_index(drop=True)
    np.testing.assert_allclose(mine["io_coef"], direct["io_coef"], rtol=1e-12)
    np.testing.assert_allclose(mine["p_logrank"], direct["p_logrank"], rtol=1e-12)
    rejections = pd.read_csv(results / "rejections.tsv", sep="\t", keep_default_na=False)
    null = rejections[rejections["scenario"] == NULL_SCENARIO]
    assert set(null["test"]) >= {"logrank", "trend", "cox", "interaction", "io", "cutpoint_naive"}
    assert (null["band_lower"].astype(float) < 0.05).all() and (
        null["band_upper"].astype(float) > 0.05
    ).all()
    power = pd.read_csv(results / "power.tsv", sep="\t")
    assert sorted(set(zip(power["endpoint"], power["n"], strict=True))) == sorted(
        (e, n) for e in ("os", "pfs") for n in (150, 300, 1200)
    )
    estimates = pd.read_csv(results / "estimates.tsv", sep="\t", keep_default_na=False)
    effect = estimates[(estimates["scenario"] == "effect") & (estimates["estimand"] == "io")]
    assert effect["truth"].astype(float).tolist() == pytest.approx([math.log(1.6)] * 2)


@pytest.mark.workflow
def test_the_validation_page_shows_every_quantity_and_is_self_contained(validation_run: Path):
    html = (validation_run / "results" / "validation" / "validation.html").read_text(
        encoding="utf-8"
    )
    for words in (
        "Type-I error under the null",
        "Bias, empirical SE and coverage",
        "Power against cohort size",
        "optimal cut-point, naive p",
        "Lausen-Schumacher",
        "non_proportional",
        "heavy_censoring",
        "model flags it in",
    ):
        assert words in html, words
    assert html.count("<svg") == 3
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html
    assert "<script src" not in html and "<link" not in html


def test_the_sensitivity_estimates_of_a_replicate():
    """A confounding replicate has the unadjusted and weighted estimates but no imputed one
    (nothing is missing); a missing-covariates replicate has the pooled one too."""
    chosen = scenarios()
    confounded = run_replicates(chosen["confounding"], [0], study_settings(seed=5))
    missing = run_replicates(chosen["missing_covariates"], [0], study_settings(seed=5))
    for rows in (confounded, missing):
        assert rows[["io_unadjusted_coef", "io_iptw_coef", "io_iptw_se"]].notna().all().all()
        assert (rows["io_mi_true"] == rows["io_true"]).all()
    assert (confounded["io_iptw_true"] == 0).all()  # no effect: the marginal truth is known
    assert missing["io_iptw_true"].isna().all()  # an effect: the marginal HR is not the truth
    assert confounded["io_mi_coef"].isna().all()
    assert missing[["io_mi_coef", "io_mi_se", "p_io_mi"]].notna().all().all()
    estimates = estimate_summary(pd.concat([confounded, missing]))
    assert set(estimates[estimates["scenario"] == "confounding"]["estimand"]) == {
        "io",
        "chemo",
        "io_unadjusted",
        "io_iptw",
    }
    assert "io_mi" in set(estimates[estimates["scenario"] == "missing_covariates"]["estimand"])


def test_marginal_estimates_are_judged_only_where_there_is_no_effect():
    """The unadjusted and weighted estimates are marginal: their truth is the conditional
    one only at HR 1; the imputed, adjusted one keeps the conditional truth."""
    from mgsurv.validation.replicates import sensitivity_truth

    assert sensitivity_truth("iptw", 0.0) == 0.0 and sensitivity_truth("unadjusted", 0.0) == 0.0
    assert math.isnan(sensitivity_truth("iptw", math.log(1.6)))
    assert math.isnan(sensitivity_truth("unadjusted", math.log(1.6)))
    assert sensitivity_truth("mi", math.log(1.6)) == math.log(1.6)
