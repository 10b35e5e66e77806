"""Degenerate but valid cohorts: every analysis runs, and what cannot be estimated is NaN
with the reason in cox_models' ``note`` (no events, an empty Mg group, separation, a
constant or missing covariate, tiny cohorts). Plus the time-split model shown beside a
proportional-hazards violation of the Mg group, against R, and one workflow run on a
degenerate cohort that must end with a report.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mgsurv.analysis.endpoint import analyse_endpoint
from mgsurv.cohort.grouping import add_groupings
from mgsurv.cohort.prepare import find_cutpoint
from mgsurv.contract import (
    CONTINUOUS,
    ENDPOINT_TABLES,
    INTERACTION,
    KEY_TERM,
    MG_CONTINUOUS_TERM,
    MULTIVARIABLE,
    PH_ALPHA,
    SPLINE,
    STRATIFIED,
    TIME_SPLIT,
    UNIVARIABLE,
    arm_model,
    period_terms,
)
from mgsurv.files.tables import read_tsv
from mgsurv.settings import AnalysisSettings, CutpointSettings
from mgsurv.stats.cox import Term, fit_cox, monotone_columns
from support import BATTERY, FIXTURE_COVARIATES, MAPPING_FILE, SYNTHETIC_400

DEGENERATE = BATTERY / "degenerate"
SETTINGS = AnalysisSettings(
    covariates=FIXTURE_COVARIATES[:3],  # age, sex, ECOG
    reference_arm="chemotherapy",
    strata=("arm",),
)
# Tables whose columns are checked against the results contract.
CONTRACT_TABLES = ("km_summary", "logrank", "cox", "ph_test", "rmst")


@pytest.fixture(autouse=True)
def quiet():
    """Degenerate fits warn (lifelines, numpy); the tests look at the tables."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        yield
        logging.disable(logging.NOTSET)


def synthetic() -> pd.DataFrame:
    return pd.read_csv(SYNTHETIC_400, dtype={"ecog": str})


def grouped(data: pd.DataFrame, threshold: float = 0.70) -> pd.DataFrame:
    found = find_cutpoint(data, CutpointSettings())
    return add_groupings(data, threshold, found.cutpoint if found is not None else np.nan)


def analyse(data: pd.DataFrame, endpoint: str = "os", settings=SETTINGS) -> dict:
    tables = analyse_endpoint(data, endpoint, settings)
    for name in CONTRACT_TABLES:
        assert list(tables[name].columns) == list(ENDPOINT_TABLES[name]), name
    assert list(tables["cox_models"].columns)[-1] == "note"
    return tables


def rows(tables: dict, model: str, term: str | None = None) -> pd.DataFrame:
    cox = tables["cox"]
    chosen = cox["model"] == model
    if term is not None:
        chosen &= cox["term"] == term
    return cox[chosen]


def note(tables: dict, model: str, terms: str | None = None) -> str:
    models = tables["cox_models"]
    chosen = models["model"] == model
    if terms is not None:
        chosen &= models["terms"] == terms
    return " | ".join(models.loc[chosen, "note"])


def test_no_events_in_the_low_group_makes_its_hrs_not_estimable():
    data = synthetic()
    low = data["mg_mmol_l"] < 0.70
    data.loc[low, "os_event"] = 0
    tables = analyse(grouped(data))
    for model in (UNIVARIABLE, MULTIVARIABLE, STRATIFIED, arm_model("immunotherapy")):
        row = rows(tables, model, KEY_TERM)
        assert len(row) == 1 and row[["coef", "se", "hr", "p"]].isna().all(axis=None), model
    assert "no events in mg_clinical = low" in note(tables, MULTIVARIABLE)
    assert "monotone likelihood / separation" in note(tables, UNIVARIABLE, "mg_clinical")
    summary = tables["km_summary"].set_index(["subset", "grouping", "group"])
    for subset in ("all", arm_model("immunotherapy"), arm_model("chemotherapy")):
        assert summary.loc[(subset, "mg_clinical", "low"), "events"] == 0
        assert np.isnan(summary.loc[(subset, "mg_clinical", "low"), "median"])
    logrank = tables["logrank"]
    assert logrank.loc[logrank["grouping"] == "mg_clinical", "p"].notna().all()
    # models without the Mg group still estimate
    assert rows(tables, CONTINUOUS)["hr"].notna().all()


def test_all_events_in_the_low_group_is_separation_not_a_huge_hr():
    data = synthetic()
    data.loc[data["mg_mmol_l"] >= 0.70, "os_event"] = 0
    tables = analyse(grouped(data))
    assert rows(tables, MULTIVARIABLE, KEY_TERM)["hr"].isna().all()
    assert "none elsewhere" in note(tables, MULTIVARIABLE)
    assert np.isfinite(tables["cox"]["hr"].dropna()).all()
    assert (tables["cox"]["hr"].dropna() < 1e4).all()


def test_every_patient_censored_gives_not_estimable_everywhere_without_error():
    data = synthetic().assign(os_event=0)
    tables = analyse(grouped(data), "os")
    assert tables["cox"]["hr"].isna().all()
    models = tables["cox_models"]
    assert models["note"].str.contains("no events among").all()
    assert SPLINE in set(models["model"])  # the spline says why it is missing
    assert tables["nonlinearity"]["p"].isna().all() and tables["spline"].empty
    assert tables["km_summary"]["median"].isna().all()  # not reached
    assert tables["logrank"]["p"].isna().all()
    assert tables["ph_test"].empty


def test_no_patient_below_the_threshold_leaves_the_grouping_not_estimable():
    data = grouped(synthetic(), threshold=0.2)
    assert set(data["mg_clinical"]) == {"normal"}
    tables = analyse(data)
    row = rows(tables, UNIVARIABLE, KEY_TERM)
    assert len(row) == 1 and row["hr"].isna().all()
    assert "one value only (normal)" in note(tables, UNIVARIABLE, "mg_clinical")
    assert "mg_clinical left out" in note(tables, MULTIVARIABLE)
    assert rows(tables, MULTIVARIABLE, KEY_TERM)["hr"].isna().all()
    assert rows(tables, MULTIVARIABLE, "age")["hr"].notna().all()  # the rest is estimated
    clinical = tables["logrank"][tables["logrank"]["grouping"] == "mg_clinical"]
    assert clinical["p"].isna().all()
    assert set(tables["km_summary"].query("grouping == 'mg_clinical'")["group"]) == {"normal"}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"age": 60.0}, "age left out: one value only (60)"),
        ({"age": np.nan}, "age left out: missing"),
    ],
    ids=["constant", "all missing"],
)
def test_constant_or_missing_covariate_is_left_out_with_the_reason(change, words):
    data = grouped(synthetic().assign(**change))
    tables = analyse(data)
    for model in (MULTIVARIABLE, CONTINUOUS, STRATIFIED, INTERACTION, arm_model("chemotherapy")):
        assert words in note(tables, model), model
        assert rows(tables, model, "age").empty, model
    multivariable = rows(tables, MULTIVARIABLE, KEY_TERM)
    assert multivariable["hr"].notna().all() and (multivariable["n"] == len(data)).all()
    assert rows(tables, UNIVARIABLE, "age")["hr"].isna().all()
    assert words in note(tables, UNIVARIABLE, "age")


def test_all_missing_categorical_covariate_is_left_out():
    tables = analyse(grouped(synthetic().assign(sex=None)))
    assert "sex left out: missing for every patient" in note(tables, MULTIVARIABLE)
    assert rows(tables, MULTIVARIABLE, KEY_TERM)["hr"].notna().all()


def test_separation_by_an_adjuster_is_remedied_by_refitting_without_it():
    """A covariate whose reference level has no events separates in a combination of its
    dummies; an adjuster is left out and the model refitted, a key term is not estimable."""
    data = synthetic()
    site = np.array(["A", "B", "C"])[np.arange(len(data)) % 3]
    data["site"] = np.where(data["os_event"] == 0, "A", np.where(site == "A", "B", site))
    settings = AnalysisSettings(
        covariates=({"name": "site", "type": "categorical", "reference": "A"},),
        reference_arm="chemotherapy",
        strata=(),
    )
    tables = analyse(grouped(data), settings=settings)
    assert "refitted without site" in note(tables, MULTIVARIABLE)
    assert rows(tables, MULTIVARIABLE, KEY_TERM)["hr"].notna().all()
    assert rows(tables, MULTIVARIABLE)["term"].str.startswith("site").sum() == 0
    assert rows(tables, UNIVARIABLE)["term"].str.startswith("site").any()
    assert rows(tables, UNIVARIABLE, "site[B vs A]")["hr"].isna().all()
    assert "not estimable" in note(tables, UNIVARIABLE, "site")


def test_no_events_in_one_arm():
    data = synthetic()
    data.loc[data["arm"] == "chemotherapy", "os_event"] = 0
    tables = analyse(grouped(data))
    assert "no events among the 200 patients" in note(tables, arm_model("chemotherapy"))
    assert "refitted without arm" in note(tables, MULTIVARIABLE)
    assert rows(tables, MULTIVARIABLE, KEY_TERM)["hr"].notna().all()
    assert rows(tables, INTERACTION)["hr"].isna().all()
    assert "arm=immunotherapy" not in note(tables, INTERACTION)
    assert rows(tables, arm_model("immunotherapy"), KEY_TERM)["hr"].notna().all()


@pytest.mark.parametrize("n", [2, 3, 5, 8, 15])
@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_tiny_cohorts_are_analysed_without_error(n, endpoint):
    data = grouped(synthetic().head(n))
    tables = analyse(data, endpoint)
    assert tables["km_summary"]["n"].max() <= n
    models = tables["cox_models"]
    not_estimated = models[~models["converged"].astype(bool)]
    assert (not_estimated["note"].str.len() > 0).all()
    spline = models[models["model"] == SPLINE]
    assert len(spline) == (1 if tables["spline"].empty else len(spline))


def test_constant_mg_gives_no_spline_and_no_quartile_split():
    data = grouped(synthetic().assign(mg_mmol_l=0.8))
    tables = analyse(data)
    assert tables["spline"].empty
    assert "not estimable" in note(tables, SPLINE)
    assert rows(tables, UNIVARIABLE, MG_CONTINUOUS_TERM)["hr"].isna().all()


@st.composite
def small_cohorts(draw) -> pd.DataFrame:
    """2-25 patients; events all, none or some; Mg constant, all low, all normal or spread;
    one arm or two; covariates constant, missing or varying."""
    n = draw(st.integers(2, 25))
    ints = st.integers(0, 2**32 - 1)
    rng = np.random.default_rng(draw(ints))
    events = draw(st.sampled_from(["none", "all", "some", "low only", "normal only"]))
    mg_kind = draw(st.sampled_from(["spread", "constant", "all low", "all normal", "two"]))
    mg = {
        "spread": rng.uniform(0.5, 1.1, n),
        "constant": np.full(n, 0.8),
        "all low": rng.uniform(0.4, 0.69, n),
        "all normal": rng.uniform(0.7, 1.1, n),
        "two": np.where(np.arange(n) % 2 == 0, 0.6, 0.9),
    }[mg_kind].round(2)
    low = mg < 0.70
    event = {
        "none": np.zeros(n),
        "all": np.ones(n),
        "some": rng.integers(0, 2, n),
        "low only": low,
        "normal only": ~low,
    }[events].astype(int)
    time = (
        rng.choice([1.0, 2.0, 3.0, 5.0, 8.0], n) if draw(st.booleans()) else rng.uniform(0.1, 30, n)
    )
    time = time.round(1)
    age = {"vary": rng.integers(40, 80, n).astype(float), "constant": np.full(n, 60.0)}
    sex = {"vary": rng.choice(["male", "female"], n), "constant": np.full(n, "male")}
    data = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(n)],
            "mg_mmol_l": mg,
            "pfs_months": time,
            "pfs_event": event,
            "os_months": time,
            "os_event": event,
            "arm": rng.choice(["immunotherapy", "chemotherapy"], n)
            if draw(st.booleans())
            else "all patients",
            "age": age.get(draw(st.sampled_from(["vary", "constant", "missing"])), np.nan),
            "sex": sex.get(draw(st.sampled_from(["vary", "constant", "missing"])), None),
            "ecog": rng.choice(["0", "1", "2"], n),
        }
    )
    return grouped(data)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=small_cohorts())
def test_small_degenerate_cohorts_never_raise_and_say_why(data):
    tables = analyse(data, "pfs")
    models = tables["cox_models"]
    failed = models[~models["converged"].astype(bool)]
    assert (failed["note"].str.len() > 0).all(), failed[["model", "terms", "note"]]
    cox = tables["cox"].dropna(subset=["coef"])
    assert np.isfinite(cox[["coef", "se", "hr"]]).all(axis=None)
    # an estimate that diverged is reported as not estimable, not as a huge HR (the spline
    # basis coefficients are not per-unit log HRs and may be large in tiny cohorts)
    assert (cox.loc[cox["model"] != SPLINE, "coef"].abs() < 40).all()


# --- the separation detector ---------------------------------------------------------------


def test_monotone_columns_finds_separation_in_each_direction_and_no_information():
    time = np.array([2.0, 3, 4, 5, 6, 7, 1])
    event = np.array([1, 1, 0, 1, 0, 0, 0])
    design = pd.DataFrame(
        {
            "all_events": [1.0, 1, 0, 1, 0, 0, 0],  # every event at the highest value: +inf
            "no_events": [0.0, 0, 1, 0, 1, 1, 1],  # every event at the lowest: -inf
            "informative": [1.0, 0, 1, 1, 0, 0, 1],
            "numeric_max": [9.0, 8, 1, 7, 2, 3, 4],  # each event the largest at risk: +inf
            "numeric_mixed": [9.0, 1, 8, 7, 2, 3, 4],
            # differs only in the patient censored before the first event
            "no_information": [0.0, 0, 0, 0, 0, 0, 1],
        }
    )
    found = monotone_columns(design, time, event, None)
    assert found == {
        "all_events": "+inf",
        "no_events": "-inf",
        "numeric_max": "+inf",
        "no_information": "no information",
    }


def test_monotone_columns_works_within_strata():
    """Separation inside each stratum (risk sets are per stratum) but not overall."""
    time = np.array([1.0, 2, 3, 1, 2, 3])
    event = np.array([1, 0, 0, 1, 0, 0])
    x = pd.DataFrame({"x": [5.0, 4, 3, 1.0, 0, 0]})
    strata = np.array(["a", "a", "a", "b", "b", "b"])
    assert monotone_columns(x, time, event, strata) == {"x": "+inf"}
    assert monotone_columns(x, time, event, None) == {}


def test_fit_cox_names_the_key_rows_of_an_empty_group():
    data = pd.DataFrame(
        {
            "t": [1.0, 2, 3, 4, 5],
            "e": [1, 0, 1, 1, 0],
            "g": ["normal"] * 5,
            "age": [50.0, 60, 70, 55, 65],
        }
    )
    term = Term("g", "categorical", reference="normal", levels=("normal", "low"))
    fit = fit_cox(data, "t", "e", [term, Term("age", "numeric")], droppable=("age",))
    assert fit.coefficients["term"].tolist() == ["age", "g[low vs normal]"]
    assert np.isnan(fit.coefficients["hr"].iloc[1])
    assert "g left out: one value only (normal) among the 5 complete cases" in fit.stats["note"]


# R survival 3.5-3: coxph(Surv(os_months, os_event) ~ x, control = coxph.control(eps =
# 1e-12, toler.chol = 1e-15)) on synthetic_400 with the covariates below.
R_SMALL_SCALE = (-77.7414182291318, 46.3406021850836)  # albumin in g/mL
R_RARE_LEVEL = ([0.241107096253939, 0.289036625660180], [0.151854229448098, 0.505369166633234])


def test_a_covariate_on_a_small_scale_is_fitted_as_r_does():
    """Variance < 1e-4 made lifelines (the fitter before coxph_fit) warn, once fail; |coef| > 10
    per g/mL is no separation: the divergence check is on the SD scale."""
    data = synthetic()
    data["albumin_g_ml"] = 0.042 - 0.002 * data["ecog"].astype(int) - 1e-4 * (data["age"] - 60)
    data["albumin_g_ml"] = data["albumin_g_ml"].round(5)
    fit = fit_cox(data, "os_months", "os_event", [Term("albumin_g_ml", "numeric")])
    assert fit.stats["note"] == "" and fit.stats["converged"]
    row = fit.coefficients.iloc[0]
    assert row["coef"] == pytest.approx(R_SMALL_SCALE[0], rel=1e-8)
    assert row["se"] == pytest.approx(R_SMALL_SCALE[1], rel=1e-7)


def test_a_rare_level_whose_patients_all_had_events_is_no_separation():
    """Four patients, all with events at times spread over follow-up: finite, as in R."""
    data = synthetic()
    times = data.loc[data["os_event"] == 1, "os_months"].sort_values()
    rare = times.index[[5, len(times) // 3, 2 * len(times) // 3, len(times) - 5]]
    data["rare"] = np.where(data.index.isin(rare), "yes", "no")
    data["low"] = np.where(data["mg_mmol_l"] < 0.70, "low", "normal")
    terms = [
        Term("low", "categorical", reference="normal", levels=("normal", "low")),
        Term("rare", "categorical", reference="no"),
    ]
    fit = fit_cox(data, "os_months", "os_event", terms, droppable=("rare",))
    assert fit.stats["note"] == ""
    np.testing.assert_allclose(fit.coefficients["coef"], R_RARE_LEVEL[0], rtol=1e-8)
    np.testing.assert_allclose(fit.coefficients["se"], R_RARE_LEVEL[1], rtol=1e-7)


def test_a_factor_whose_reference_level_has_no_events_is_found():
    """No single dummy separates, their sum does: found exactly, remedied for an adjuster."""
    data = synthetic()
    site = np.array(["A", "B", "C"])[np.arange(len(data)) % 3]
    other = np.array(["B", "C"])[np.arange(len(data)) % 2]
    data["site"] = np.where((data["os_event"] == 1) & (site == "A"), other, site)
    data["low"] = np.where(data["mg_mmol_l"] < 0.70, "low", "normal")
    low = Term("low", "categorical", reference="normal", levels=("normal", "low"))
    site_term = Term("site", "categorical", reference="A")
    fit = fit_cox(data, "os_months", "os_event", [low, site_term], droppable=("site",))
    assert fit.coefficients["term"].tolist() == ["low[low vs normal]"]
    assert np.isfinite(fit.coefficients["hr"]).all()
    assert "refitted without site" in fit.stats["note"]
    assert "no events in site = A" in fit.stats["note"]
    alone = fit_cox(data, "os_months", "os_event", [site_term])
    assert alone.coefficients["hr"].isna().all()
    assert alone.coefficients["term"].tolist() == ["site[B vs A]", "site[C vs A]"]


# --- proportional hazards: the time-split model ---------------------------------------------

# R survival 3.5-3 on the same file (tests/bad_inputs/degenerate/time_varying_low_mg_effect.csv):
#   d$low <- as.numeric(d$mg_mmol_l < 0.70)
#   cut <- round(median(d$os_months[d$os_event == 1]), 1)                    # 4.2
#   s <- survSplit(Surv(os_months, os_event) ~ ., data = d, cut = cut, episode = "period")
#   s$early <- s$low * (s$period == 1); s$late <- s$low * (s$period == 2)
#   coxph(Surv(tstart, os_months, os_event) ~ early + late + age, data = s, ties = "efron",
#         control = coxph.control(eps = 1e-12, toler.chol = 1e-15))
R_TIME_SPLIT = {
    "coef": [1.567442619471506093, 0.724407163689053113, -0.000256885952713354],
    "se": [0.13394442287991129, 0.29775438963712730, 0.00510587793615162],
    "loglik": -2823.08076256633,
}


def test_ph_violation_of_the_mg_group_adds_a_time_split_model_equal_to_r():
    data = grouped(pd.read_csv(DEGENERATE / "time_varying_low_mg_effect.csv"))
    settings = AnalysisSettings(
        covariates=({"name": "age", "type": "numeric"},), reference_arm=None, strata=()
    )
    tables = analyse(data, "os", settings)
    ph = tables["ph_test"].set_index(["model", "term"])
    assert ph.loc[(MULTIVARIABLE, "mg_clinical"), "p"] < PH_ALPHA
    split = rows(tables, TIME_SPLIT)
    assert split["term"].tolist() == [*period_terms(KEY_TERM, 4.2), "age"]
    np.testing.assert_allclose(split["coef"], R_TIME_SPLIT["coef"], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(split["se"], R_TIME_SPLIT["se"], rtol=1e-6)
    model = tables["cox_models"].set_index("model").loc[TIME_SPLIT]
    assert model["loglik"] == pytest.approx(R_TIME_SPLIT["loglik"], rel=1e-10)
    assert "PH test of mg_clinical has p = " in model["note"]


def test_no_time_split_model_when_the_ph_test_is_not_flagged():
    tables = analyse(grouped(synthetic()), "os")
    assert TIME_SPLIT not in set(tables["cox"]["model"])
    assert (tables["cox_models"]["note"] == "").all()


# --- one degenerate cohort through the workflow ---------------------------------------------


@pytest.mark.workflow
def test_workflow_on_a_degenerate_cohort_writes_a_report(run_workflow, tmp_path):
    """OS: every patient censored; Mg: nobody below the 0.70 mmol/L threshold."""
    run = run_workflow(
        tmp_path,
        cohort=str(DEGENERATE / "os_all_censored_no_low_mg.csv"),
        mapping=str(MAPPING_FILE),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results" / "os_all_censored_no_low_mg"
    assert (results / "report.html").stat().st_size > 10_000
    html = (results / "report.html").read_text(encoding="utf-8")
    assert "mg_clinical left out: one value only (normal)" in html  # the report says why
    models = read_tsv(results / "tables" / "cox_models.tsv").fillna({"note": ""})
    os_models = models[models["endpoint"] == "os"]
    assert os_models["note"].str.contains("no events among").all()
    pfs_multivariable = models[(models["endpoint"] == "pfs") & (models["model"] == MULTIVARIABLE)]
    assert "mg_clinical left out: one value only (normal)" in pfs_multivariable["note"].iloc[0]
    groups = read_tsv(results / "tables" / "mg_groups.tsv").set_index(["grouping", "group"])
    assert groups.loc[("mg_clinical", "low"), "n"] == 0
    cox = read_tsv(results / "tables" / "cox.tsv")
    assert cox.loc[cox["endpoint"] == "os", "hr"].isna().all()
