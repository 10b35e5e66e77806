"""Every reported number against R survival 3.5-3 (fixtures: tests/reference/make_fixtures.R).

Tolerances, per quantity:
* KM counts exact; survival and its log-log band 1e-12 relative (lifelines equals R to 1e-15);
* medians and their CI limits exact up to 1e-12 (they are observed times or midpoints);
* log-rank chi-square and p 1e-10 relative;
* IPTW (tests/reference/iptw.R): robust SEs as the Cox SEs, weighted KM as KM, SMDs 1e-10;
* Cox coefficients, SEs, HRs and CIs 1e-8 relative, z and p 1e-7 relative: set when the fits
  were lifelines' (whose last Newton step differed from coxph's in the ninth digit of the
  SE); mgsurv.stats.cox now fits with mgsurv.stats.coxph_port, R's coxph.fit with the
  fixtures' control, and the worst measured differences are 6e-13 (coefficients, z), 1e-13
  (p), 1e-14 (SEs, HRs, CIs) and 3e-12 (LR statistic and p).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mgsurv.analysis.endpoint import analyse_endpoint
from mgsurv.analysis.iptw import iptw_tables
from mgsurv.analysis.spline_tables import spline_tables
from mgsurv.cohort.grouping import add_groupings
from mgsurv.cohort.mapping import load_mapping
from mgsurv.cohort.prepare import prepare
from mgsurv.cohort.reader import read_cohort
from mgsurv.contract import (
    ALL_PATIENTS,
    CONTINUOUS,
    CONTINUOUS_INTERACTION,
    INTERACTION,
    KEY_TERM,
    LOGRANK_TEST,
    MG_CONTINUOUS_TERM,
    MULTIVARIABLE,
    PAIRWISE_TEST,
    STRATIFIED,
    SUBSET_TABLES,
    UNIVARIABLE,
    arm_model,
    continuous_arm_model,
)
from mgsurv.settings import AnalysisSettings, CutpointSettings, IptwSettings, PrepareSettings
from mgsurv.stats.cox import Term, fit_cox
from mgsurv.stats.km import km_table, median_with_ci
from mgsurv.stats.logrank import logrank
from support import FIXTURE_COVARIATES, MAPPING_FILE, REFERENCE, SYNTHETIC_400

SURV_RTOL = 1e-12
MEDIAN_ATOL = 1e-12
LOGRANK_RTOL = 1e-10
COX_RTOL = 1e-8
COX_TEST_RTOL = 1e-7


def fixture(name: str) -> dict:
    return json.loads((REFERENCE / "fixtures" / f"{name}.json").read_text())


def as_array(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.atleast_1d(values)], dtype=float)


def assert_km_equal(curve: pd.DataFrame, expected: dict) -> None:
    for column in ("time", "n_risk", "n_event", "n_censor"):
        np.testing.assert_array_equal(curve[column].to_numpy(), as_array(expected[column]))
    for column in ("surv", "lower", "upper"):
        np.testing.assert_allclose(
            curve[column].to_numpy(),
            as_array(expected[column]),
            rtol=SURV_RTOL,
            equal_nan=True,
            err_msg=column,
        )


# The fixtures' names of a median and its CI limits (as median_with_ci's suffixes).
MEDIAN_KEYS = {"": "median", "_lower": "lower", "_upper": "upper"}


def assert_median_equal(median: tuple[float, float, float], expected: dict) -> None:
    wanted = as_array([expected["median"], expected["median_lower"], expected["median_upper"]])
    np.testing.assert_allclose(np.array(median), wanted, atol=MEDIAN_ATOL, equal_nan=True)


TOY = pd.read_csv(REFERENCE / "data" / "toy.csv")


@pytest.mark.parametrize("expected", fixture("toy")["km"], ids=lambda e: e["group"])
def test_km_and_median_toy_curves(expected):
    """Plateau at exactly 0.5 (midpoint median), curve to 0 (NA band), median not reached."""
    subset = TOY[TOY["group"] == expected["group"]]
    curve = km_table(subset["time"].to_numpy(), subset["status"].to_numpy())
    assert_km_equal(curve, expected)
    assert_median_equal(median_with_ci(curve), expected)


def test_lung_km_logrank_and_cox():
    expected = fixture("lung")
    lung = pd.read_csv(REFERENCE / "data" / "lung.csv")
    for km in expected["km"]:
        subset = lung[lung["sex"].astype(str) == km["group"]]
        curve = km_table(subset["time"].to_numpy(), subset["status"].to_numpy())
        assert_km_equal(curve, km)
        assert_median_equal(median_with_ci(curve), km)
    test = logrank(lung["time"], lung["status"], lung["sex"])
    assert test["df"] == expected["logrank"]["df"]
    np.testing.assert_allclose(
        [test["statistic"], test["p"]],
        [expected["logrank"]["statistic"], expected["logrank"]["p"]],
        rtol=LOGRANK_RTOL,
    )
    lung["sex"] = lung["sex"].astype(str)
    table = fit_cox(
        lung,
        "time",
        "status",
        [
            Term("sex", "categorical", reference="1"),
            Term("age", "numeric"),
            Term("ph.ecog", "numeric"),
        ],
    ).coefficients
    assert_cox_equal(table, expected["cox"])


def assert_cox_equal(table: pd.DataFrame, expected: dict) -> None:
    assert table["term"].tolist() == list(np.atleast_1d(expected["term"]))
    assert (table["n"] == expected["n"]).all() and (table["events"] == expected["events"]).all()
    for column in ("coef", "se", "hr", "hr_lower", "hr_upper"):
        np.testing.assert_allclose(
            table[column].to_numpy(), as_array(expected[column]), rtol=COX_RTOL, err_msg=column
        )
    for column in ("z", "p"):
        np.testing.assert_allclose(
            table[column].to_numpy(), as_array(expected[column]), rtol=COX_TEST_RTOL, err_msg=column
        )


@pytest.fixture(scope="module")
def subset_tables() -> dict[str, dict[str, pd.DataFrame]]:
    """The synthetic_400 cohort through mgsurv's own reading, grouping and analysis: every
    endpoint table, the survival tables with their arm subsets."""
    mapping = load_mapping(MAPPING_FILE)
    prepared = read_cohort(SYNTHETIC_400, mapping, list(FIXTURE_COVARIATES))
    data = add_groupings(prepared.data, 0.70)
    settings = AnalysisSettings(
        covariates=FIXTURE_COVARIATES, reference_arm="chemotherapy", strata=("arm",)
    )
    return {endpoint: analyse_endpoint(data, endpoint, settings) for endpoint in ("pfs", "os")}


def of_subset(tables: dict[str, pd.DataFrame], subset: str) -> dict[str, pd.DataFrame]:
    """The endpoint tables with the survival tables cut to one subset's rows."""
    return {
        name: table[table["subset"] == subset].reset_index(drop=True)
        if name in SUBSET_TABLES
        else table
        for name, table in tables.items()
    }


@pytest.fixture(scope="module")
def synthetic_tables(subset_tables) -> dict[str, dict[str, pd.DataFrame]]:
    """The endpoint tables of all patients (the survival tables' subset ``all``)."""
    return {endpoint: of_subset(tables, ALL_PATIENTS) for endpoint, tables in subset_tables.items()}


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize("grouping", ["mg_clinical", "mg_quartile"])
def test_synthetic_km_medians_and_logrank(synthetic_tables, endpoint, grouping):
    expected = fixture("synthetic_400")[endpoint]
    tables = synthetic_tables[endpoint]
    for km in expected["km"][grouping]:
        rows = (tables["km_curves"]["grouping"] == grouping) & (
            tables["km_curves"]["group"] == km["group"]
        )
        assert_km_equal(tables["km_curves"][rows].reset_index(drop=True), km)
        summary = tables["km_summary"].set_index(["grouping", "group"]).loc[(grouping, km["group"])]
        assert_median_equal(
            (summary["median"], summary["median_lower"], summary["median_upper"]), km
        )
        assert summary["n"] == km["n_risk"][0] and summary["events"] == sum(km["n_event"])
    logrank_rows = tables["logrank"][tables["logrank"]["test"] == LOGRANK_TEST]
    test = logrank_rows.set_index("grouping").loc[grouping]
    wanted = expected["logrank"][grouping]
    assert test["df"] == wanted["df"]
    np.testing.assert_allclose(
        [test["statistic"], test["p"]], [wanted["statistic"], wanted["p"]], rtol=LOGRANK_RTOL
    )


# The fixture's name of each model: (model, the first characters of its terms) in cox.tsv.
COX_MODELS = {
    "univariable_mg_clinical": (UNIVARIABLE, "mg_clinical["),
    "univariable_mg_quartile": (UNIVARIABLE, "mg_quartile["),
    "univariable_mg_continuous": (UNIVARIABLE, MG_CONTINUOUS_TERM),
    "multivariable": (MULTIVARIABLE, ""),
    "continuous": (CONTINUOUS, ""),
    "stratified": (STRATIFIED, ""),
    "interaction": (INTERACTION, ""),
    "arm=immunotherapy": (arm_model("immunotherapy"), ""),
    "arm=chemotherapy": (arm_model("chemotherapy"), ""),
    "continuous-interaction": (CONTINUOUS_INTERACTION, ""),
    "continuous arm=immunotherapy": (continuous_arm_model("immunotherapy"), ""),
    "continuous arm=chemotherapy": (continuous_arm_model("chemotherapy"), ""),
}


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize("fixture_model", list(COX_MODELS))
def test_synthetic_cox_models(synthetic_tables, endpoint, fixture_model):
    model, term_prefix = COX_MODELS[fixture_model]
    cox = synthetic_tables[endpoint]["cox"]
    rows = cox[(cox["model"] == model) & cox["term"].str.startswith(term_prefix)]
    rows = rows[~rows["term"].str.contains(" within arm=")]
    assert_cox_equal(
        rows.reset_index(drop=True), fixture("synthetic_400")[endpoint]["cox"][fixture_model]
    )


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize(
    ("model", "fixture_rows"),
    [(INTERACTION, "low_mg_within_arms"), (CONTINUOUS_INTERACTION, "continuous_within_arms")],
)
def test_low_mg_hr_within_each_arm_from_the_interaction_model(
    synthetic_tables, endpoint, model, fixture_rows
):
    cox = synthetic_tables[endpoint]["cox"]
    derived = cox[(cox["model"] == model) & cox["term"].str.contains(" within arm=")]
    expected = fixture("synthetic_400")[endpoint][fixture_rows]
    assert_cox_equal(
        derived.reset_index(drop=True),
        {key: [row[key] for row in expected] for key in expected[0]}
        | {"n": expected[0]["n"], "events": expected[0]["events"]},
    )


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize(
    ("model", "terms", "fixture_model"),
    [
        (MULTIVARIABLE, None, "multivariable"),
        (STRATIFIED, None, "stratified"),
        (INTERACTION, None, "interaction"),
        (UNIVARIABLE, "mg_quartile", "univariable_mg_quartile"),
    ],
)
def test_model_statistics(synthetic_tables, endpoint, model, terms, fixture_model):
    """Log-likelihood, LR test and concordance (within strata when stratified) as R."""
    models = synthetic_tables[endpoint]["cox_models"]
    chosen = (models["model"] == model) & ((models["terms"] == terms) if terms else True)
    row = models[chosen].iloc[0]
    expected = fixture("synthetic_400")[endpoint]["model_stats"][fixture_model]
    assert row["n"] == expected["n"] and row["events"] == expected["events"]
    assert row["lr_df"] == expected["lr_df"]
    for key in ("loglik", "lr_statistic", "concordance"):
        np.testing.assert_allclose(row[key], expected[key], rtol=COX_RTOL, err_msg=key)
    np.testing.assert_allclose(row["lr_p"], expected["lr_p"], rtol=COX_TEST_RTOL)
    assert row["events_per_parameter"] == expected["events"] / expected["lr_df"]


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_median_followup_of_all_patients(synthetic_tables, endpoint):
    """Reverse Kaplan-Meier median follow-up with its log-log CI, as R's
    quantile(survfit(Surv(time, 1 - status) ~ 1, conf.type = "log-log"), 0.5)."""
    entries = fixture("km_synthetic_400")["entries"]
    expected = next(
        e["reverse"]
        for e in entries
        if e["time_col"] == f"{endpoint}_months"
        and e["group"] == "all"
        and e["conf_type"] == "log-log"
    )
    row = (
        synthetic_tables[endpoint]["followup"].set_index(["grouping", "group"]).loc[("all", "all")]
    )
    assert_median_equal(
        (row["median_followup"], row["lower"], row["upper"]),
        {
            "median": expected["median"],
            "median_lower": expected["lower"],
            "median_upper": expected["upper"],
        },
    )
    landmarks = synthetic_tables[endpoint]["landmarks"]
    assert set(landmarks["time"]) == {6.0, 12.0, 24.0}


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_quartile_logrank_family_in_the_tables(synthetic_tables, endpoint):
    """Stratified (by arm), trend and Holm-adjusted pairwise tests of the Mg quartiles, as
    tests/reference/logrank.R computes them with survdiff and p.adjust."""
    expected = fixture("logrank_synthetic_400")[endpoint]
    table = synthetic_tables[endpoint]["logrank"]
    quartiles = table[table["grouping"] == "mg_quartile"].set_index("test")
    for test in ("stratified", "trend"):
        row = quartiles.loc[test]
        assert row["df"] == expected[test]["df"]
        np.testing.assert_allclose(
            [row["statistic"], row["p"]],
            [expected[test]["statistic"], expected[test]["p"]],
            rtol=LOGRANK_RTOL,
        )
    pairwise = quartiles.loc[PAIRWISE_TEST]
    assert pairwise["groups"].tolist() == expected["pairwise"]["groups"]
    for column, key in (("statistic", "statistic"), ("p", "p"), ("p_adjusted", "p_holm")):
        np.testing.assert_allclose(
            pairwise[column].to_numpy(),
            expected["pairwise"][key],
            rtol=LOGRANK_RTOL,
            err_msg=column,
        )


def test_ph_test_of_the_multivariable_model_os(synthetic_tables):
    """cox.zph(transform = "km") of the multivariable OS model (R fits the same terms; its
    low-Mg indicator is named mg_low there). Tolerance 1e-6, as the pipeline's in
    tests/test_zph.py (2e-14 measured)."""
    expected = fixture("zph_synthetic_400_os")["zph"]["km"]
    ph = synthetic_tables["os"]["ph_test"]
    rows = ph[ph["model"] == MULTIVARIABLE]
    names = ["mg_clinical" if t == "mg_low" else t for t in expected["term"]]
    assert rows["term"].tolist() == names
    assert rows["df"].tolist() == expected["df"]
    np.testing.assert_allclose(rows["chi2"], expected["chisq"], rtol=1e-6)
    np.testing.assert_allclose(rows["p"], expected["p"], rtol=1e-6)


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_rmst_by_clinical_mg_group_at_default_tau(synthetic_tables, endpoint):
    """RMST per group, difference, ratio and RMTL ratio as survRM2 (tests/reference/rmst.R)."""
    case = next(
        c
        for c in fixture("rmst_synthetic_400")["cases"]
        if c["name"] == f"{endpoint} mg_clinical default"
    )
    table = synthetic_tables[endpoint]["rmst"]
    rows = table[table["grouping"] == "mg_clinical"].reset_index(drop=True)
    assert rows["group"].tolist() == case["rows"]["group"]
    assert (rows["tau"] == case["tau"]).all()
    for column in ("estimate", "se", "lower", "upper", "p"):
        np.testing.assert_allclose(
            rows[column], as_array(case["rows"][column]), rtol=1e-12, equal_nan=True, err_msg=column
        )


def test_cutpoint_of_the_prepared_cohort_equals_maxstat():
    """The prepare stage's cut-point (PFS, minprop 0.1) and its Lau92 p, as
    maxstat.test(smethod = "LogRank", pmethod = "Lau92") in tests/reference/cutpoint.R."""
    settings = PrepareSettings(
        covariates=FIXTURE_COVARIATES,
        mg_threshold_mmol_l=0.70,
        cutpoint=CutpointSettings(endpoint="pfs", minprop=0.1),
    )
    prepared = prepare(str(SYNTHETIC_400), str(MAPPING_FILE), settings, "synthetic_400")
    expected = fixture("cutpoint_synthetic_400")["pfs"]
    row = prepared.cutpoint.iloc[0]
    assert row["cutpoint_mmol_l"] == expected["cutpoint"]
    assert (row["n_low"], row["n_high"]) == (expected["n_low"], expected["n_high"])
    for key in ("statistic", "p_lau92", "p_naive"):
        np.testing.assert_allclose(row[key], expected[key], rtol=1e-12, err_msg=key)
    low = prepared.cohort["mg_cutpoint"] == "low"
    assert low.sum() == expected["n_low"]
    assert (prepared.cohort.loc[low, "mg_mmol_l"] <= expected["cutpoint"]).all()


def test_spline_of_the_endpoint_tables_equals_rms():
    """The workflow's spline step on OS, adjusted for arm, age, sex and ECOG, against
    cph(Surv ~ rcs(mg, 4) + ...) / Predict (tests/reference/spline.R); the curve's x grid
    and HR limits, and the LR test of non-linearity."""
    expected = fixture("spline_synthetic_400_os")["adjusted"]
    mapping = load_mapping(MAPPING_FILE)
    covariates = FIXTURE_COVARIATES[:3]
    data = add_groupings(read_cohort(SYNTHETIC_400, mapping, list(covariates)).data, 0.7)
    settings = AnalysisSettings(covariates=covariates, reference_arm="chemotherapy", strata=())
    tables = spline_tables(data, "os", settings)
    test = tables["nonlinearity"].iloc[0]
    assert test["df"] == expected["lr_df"]
    np.testing.assert_allclose(
        [test["statistic"], test["p"]], [expected["lr_statistic"], expected["lr_p"]], rtol=1e-8
    )
    curve = tables["spline"]
    np.testing.assert_allclose(curve["mg_mmol_l"], expected["curve"]["x"], rtol=1e-12)
    for column in ("hr", "hr_lower", "hr_upper"):
        np.testing.assert_allclose(
            curve[column], expected["curve"][column], rtol=1e-8, err_msg=column
        )


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize("group", ["low", "normal"])
def test_landmarks_and_followup_per_clinical_group(synthetic_tables, endpoint, group):
    """summary(survfit, times = c(6, 12, 24)) per group (R drops a time beyond follow-up;
    the table keeps it as NA by convention) and the reverse-KM median follow-up."""
    expected = fixture("synthetic_400")[endpoint]
    landmarks = synthetic_tables[endpoint]["landmarks"]
    rows = landmarks[(landmarks["grouping"] == "mg_clinical") & (landmarks["group"] == group)]
    wanted = expected["landmarks"][group]
    kept = rows[rows["time"].isin(wanted["time"])]
    assert kept["time"].tolist() == wanted["time"]
    for column in ("surv", "lower", "upper"):
        np.testing.assert_allclose(kept[column], wanted[column], rtol=SURV_RTOL, err_msg=column)
    assert rows[~rows["time"].isin(wanted["time"])][["surv", "lower", "upper"]].isna().all().all()
    followup = (
        synthetic_tables[endpoint]["followup"]
        .set_index(["grouping", "group"])
        .loc[("mg_clinical", group)]
    )
    reverse = expected["followup"][group]
    assert_median_equal(
        (followup["median_followup"], followup["lower"], followup["upper"]),
        {
            "median": reverse["median"],
            "median_lower": reverse["lower"],
            "median_upper": reverse["upper"],
        },
    )


def rows_where(table: pd.DataFrame, **equal: str) -> pd.DataFrame:
    mask = np.logical_and.reduce([table[column] == value for column, value in equal.items()])
    return table[mask].reset_index(drop=True)


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize("arm", ["chemotherapy", "immunotherapy"])
def test_survival_tables_within_each_arm(subset_tables, arm, endpoint):
    """The arm subsets' rows of km_curves, km_summary, landmarks, followup, logrank and rmst
    equal survfit, survdiff and survRM2's formulas on that arm's patients, the Mg groups
    made on the whole cohort (tests/reference/subsets.R)."""
    (entry,) = [a for a in fixture("subsets_synthetic_400")["arms"] if a["arm"] == arm]
    expected = entry[endpoint]
    tables = of_subset(subset_tables[endpoint], arm_model(arm))
    followup = tables["followup"]
    everyone = rows_where(followup, grouping=ALL_PATIENTS).iloc[0]
    assert_median_equal(
        (everyone["median_followup"], everyone["lower"], everyone["upper"]),
        {f"median{k}": expected["followup_all"][v] for k, v in MEDIAN_KEYS.items()},
    )
    for wanted in expected["groupings"]:
        grouping = wanted["grouping"]
        for km, reverse in zip(wanted["km"], wanted["followup"], strict=True):
            group = km["group"]
            assert_km_equal(rows_where(tables["km_curves"], grouping=grouping, group=group), km)
            summary = rows_where(tables["km_summary"], grouping=grouping, group=group).iloc[0]
            assert_median_equal(
                (summary["median"], summary["median_lower"], summary["median_upper"]), km
            )
            assert summary["n"] == km["n_risk"][0] and summary["events"] == sum(km["n_event"])
            landmarks = rows_where(tables["landmarks"], grouping=grouping, group=group)
            times = as_array(km["landmarks"]["time"])
            kept = landmarks[landmarks["time"].isin(times)]
            assert kept["time"].tolist() == times.tolist()
            for column in ("surv", "lower", "upper"):
                np.testing.assert_allclose(
                    kept[column], as_array(km["landmarks"][column]), rtol=SURV_RTOL, err_msg=column
                )
            # a landmark past the group's follow-up: R drops it, the table keeps it as NA
            beyond = landmarks[~landmarks["time"].isin(times)]
            assert beyond[["surv", "lower", "upper"]].isna().all().all()
            row = rows_where(followup, grouping=grouping, group=group).iloc[0]
            assert_median_equal(
                (row["median_followup"], row["lower"], row["upper"]),
                {f"median{k}": reverse[v] for k, v in MEDIAN_KEYS.items()},
            )
        test = rows_where(tables["logrank"], grouping=grouping, test=LOGRANK_TEST).iloc[0]
        assert test["df"] == wanted["logrank"]["df"]
        np.testing.assert_allclose(
            [test["statistic"], test["p"]],
            [wanted["logrank"]["statistic"], wanted["logrank"]["p"]],
            rtol=LOGRANK_RTOL,
        )
    rmst = rows_where(tables["rmst"], grouping="mg_clinical")
    assert (rmst["tau"] == expected["rmst"]["tau"]).all()
    for group in expected["rmst"]["groups"]:
        row = rmst[rmst["group"] == group["group"]].iloc[0]
        np.testing.assert_allclose(
            [row[c] for c in ("estimate", "se", "lower", "upper")],
            [group[c] for c in ("estimate", "se", "lower", "upper")],
            rtol=1e-12,
        )
    difference = rmst[rmst["group"] == "low - normal"].iloc[0]
    np.testing.assert_allclose(
        [difference[c] for c in ("estimate", "se", "lower", "upper", "p")],
        [expected["rmst"]["difference"][c] for c in ("estimate", "se", "lower", "upper", "p")],
        rtol=1e-12,
    )


def test_every_arm_has_its_own_rows_and_all_patients_come_first(subset_tables):
    """Each survival table holds the rows of all patients, then each arm's, in that order."""
    for tables in subset_tables.values():
        for name in SUBSET_TABLES:
            subsets = list(dict.fromkeys(tables[name]["subset"]))
            assert subsets == [ALL_PATIENTS, "arm=chemotherapy", "arm=immunotherapy"], name


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_threshold_grid_equals_coxph_at_every_threshold(subset_tables, endpoint):
    """thresholds.tsv: at each threshold from 0.60 to 0.85, the low-Mg HR of the multivariable
    model (all patients) and of each arm's own model equals coxph's refitted with 'low'
    redefined (tests/reference/thresholds.R)."""
    table = subset_tables[endpoint]["thresholds"]
    expected = fixture("thresholds_synthetic_400")[endpoint]
    assert list(dict.fromkeys(table["subset"])) == list(expected)
    for subset, rows in expected.items():
        got = table[table["subset"] == subset].reset_index(drop=True)
        want = pd.DataFrame(rows)
        np.testing.assert_allclose(got["threshold_mmol_l"], want["threshold"], rtol=0, atol=1e-9)
        for column in ("n_low", "n_normal", "n", "events"):
            assert got[column].astype(int).tolist() == want[column].tolist(), (subset, column)
        for column in ("hr", "hr_lower", "hr_upper", "p"):
            np.testing.assert_allclose(
                got[column], want[column], rtol=COX_RTOL, err_msg=f"{subset} {column}"
            )


def test_the_grid_at_the_pre_specified_threshold_is_the_multivariable_model(subset_tables):
    """At 0.70 the grid's rows are the multivariable model's and each arm model's own."""
    tables = subset_tables["pfs"]
    grid = tables["thresholds"]
    cox = tables["cox"]
    at = grid[np.isclose(grid["threshold_mmol_l"], 0.70)].set_index("subset")
    models = {ALL_PATIENTS: MULTIVARIABLE} | {
        f"arm={arm}": arm_model(arm) for arm in ("chemotherapy", "immunotherapy")
    }
    for subset, model in models.items():
        row = cox[(cox["model"] == model) & (cox["term"] == KEY_TERM)].iloc[0]
        assert at.loc[subset, "hr"] == pytest.approx(row["hr"], rel=1e-12), subset


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_subgroups_equal_coxph_within_each_level_and_the_interaction_lr_test(
    subset_tables, endpoint
):
    """subgroups.tsv: the low-Mg HR within each level of each covariate and arm, and each
    variable's interaction p, equal coxph and anova on the same patients
    (tests/reference/subgroups.R; age split at its median)."""
    expected = fixture("subgroups_synthetic_400")
    median = expected["age_median"]
    names = {"below": f"below {median:g}", "at or above": f"{median:g} or above"}
    table = subset_tables[endpoint]["subgroups"]
    assert list(dict.fromkeys(table["variable"])) == list(expected[endpoint])
    for variable, want in expected[endpoint].items():
        got = table[table["variable"] == variable].set_index("level")
        assert got["interaction_p"].iloc[0] == pytest.approx(want["interaction_p"], rel=1e-7)
        assert len(got) == len(want["levels"])
        for level in want["levels"]:
            row = got.loc[names.get(level["level"], level["level"])]
            assert (row["n"], row["events"]) == (level["n"], level["events"]), variable
            for column in ("hr", "hr_lower", "hr_upper", "p"):
                assert row[column] == pytest.approx(level[column], rel=COX_RTOL), (
                    variable,
                    column,
                )


def assert_iptw_equal(tables: dict[str, pd.DataFrame], arm: str, results: str, smd: str) -> None:
    """One arm's weighted Cox model (robust SE), weighted KM and balance against R."""
    expected = fixture("iptw_synthetic_400")[arm]
    subset = arm_model(arm)
    cox = tables["iptw_cox"].set_index("subset").loc[subset]
    want = expected[results]
    assert cox["coef"] == pytest.approx(want["coef"], rel=COX_RTOL)
    assert cox["naive_se"] == pytest.approx(want["naive_se"], rel=COX_RTOL)
    assert cox["robust_se"] == pytest.approx(want["robust_se"], rel=COX_RTOL)
    assert cox["hr_lower"] == pytest.approx(
        np.exp(want["coef"] - 1.959963984540054 * want["robust_se"]), rel=COX_RTOL
    )
    assert cox["note"] == ""
    km = tables["iptw_km"]
    curves = km[(km["subset"] == subset) & (km["n_event"] > 0)]
    groups = np.array(want["km"]["group"])
    for group, code in (("normal", "0"), ("low", "1")):
        got = curves[curves["group"] == group]
        np.testing.assert_allclose(got["time"], as_array(want["km"]["time"])[groups == code])
        for column, name in (("surv", "surv"), ("n_risk", "n_risk"), ("n_event", "n_event")):
            np.testing.assert_allclose(
                got[column], as_array(want["km"][name])[groups == code], rtol=SURV_RTOL
            )
    balance = tables["iptw_balance"]
    balance = balance[balance["subset"] == subset]
    names = balance["variable"] + balance["level"].map(lambda level: f"_{level}" if level else "")
    for column, key in (("smd", "smd_unweighted"), ("smd_weighted", smd)):
        got = dict(zip(names, balance[column], strict=True))
        assert got == pytest.approx(expected[key], rel=1e-10, abs=1e-14), column


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize("arm", ["chemotherapy", "immunotherapy"])
def test_iptw_within_each_arm_equals_glm_weights_survfit_and_robust_coxph(
    subset_tables, endpoint, arm
):
    """iptw_*.tsv within each arm: stabilised weights from glm's propensities, the balance
    as cobalt defines it, survfit(weights =) and coxph(weights =, robust = TRUE) (robust SE
    to 1e-8), as tests/reference/iptw.R computes them."""
    tables = subset_tables[endpoint]
    assert_iptw_equal(tables, arm, endpoint, "smd_weighted")
    weights = as_array(fixture("iptw_synthetic_400")[arm]["weights"])
    summary = tables["iptw_weights"].set_index(["subset", "group"]).loc[arm_model(arm)]
    assert summary["n"].sum() == len(weights) == 200
    assert summary["max"].max() == pytest.approx(weights.max(), rel=1e-12)
    assert summary["min"].min() == pytest.approx(weights.min(), rel=1e-12)
    assert (summary["n_trimmed"] == 0).all()


@pytest.mark.parametrize("arm", ["chemotherapy", "immunotherapy"])
def test_trimmed_iptw_equals_weightit_trim(arm):
    """Weights trimmed at the 5th and 95th percentiles (WeightIt's trim(at = 0.95,
    lower = TRUE)) give R's balance and weighted Cox model with those weights."""
    mapping = load_mapping(MAPPING_FILE)
    prepared = read_cohort(SYNTHETIC_400, mapping, list(FIXTURE_COVARIATES))
    data = add_groupings(prepared.data, 0.70)
    settings = AnalysisSettings(
        covariates=FIXTURE_COVARIATES,
        reference_arm="chemotherapy",
        iptw=IptwSettings(trim_percentile=95),
    )
    tables = iptw_tables(data, "pfs", settings)
    assert_iptw_equal(tables, arm, "pfs_trimmed", "smd_trimmed")
    trimmed = as_array(fixture("iptw_synthetic_400")[arm]["trimmed"])
    weights = as_array(fixture("iptw_synthetic_400")[arm]["weights"])
    summary = tables["iptw_weights"].set_index(["subset", "group"]).loc[arm_model(arm)]
    assert summary["n_trimmed"].sum() == int((trimmed != weights).sum()) > 0
    assert summary["max"].max() == pytest.approx(trimmed.max(), rel=1e-12)
