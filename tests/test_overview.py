"""The multi-cohort overview: each cohort contributes the estimate its report declares
primary, the poolable ones are pooled (the pooling itself against metafor in
tests/test_pooling.py), the others are named with their reason, and the page hides what
report_min_count hides; plus the Cox model stratified by cohort against R."""

from __future__ import annotations

import functools
import html as html_text
import json
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mgsurv.analysis.cox_models import arm_terms, covariate_terms, grouping_term
from mgsurv.analysis.endpoint import analyse_endpoint
from mgsurv.cohort.grouping import add_groupings
from mgsurv.cohort.mapping import load_mapping
from mgsurv.cohort.reader import read_cohort
from mgsurv.contract import (
    CLINICAL_GROUPING,
    ENDPOINTS,
    IMMUNOTHERAPY_OVER_OTHER,
    KEY_TERM,
    MULTIVARIABLE,
    WITHIN_IMMUNOTHERAPY,
    WITHIN_OTHER,
    arm_model,
    within_arm_term,
)
from mgsurv.overview.page import render_overview
from mgsurv.overview.pooled import (
    MIN_GROUP_EVENTS,
    CohortTables,
    cohort_estimates,
    pooled_estimates,
)
from mgsurv.settings import AnalysisSettings, OverviewSettings, PrimarySettings
from mgsurv.stats.cox import fit_cox
from mgsurv.stats.pooling import pool
from support import FIXTURE_COVARIATES, MAPPING_FILE, REFERENCE

ANALYSIS = AnalysisSettings(
    covariates=FIXTURE_COVARIATES,
    reference_arm="chemotherapy",
    strata=(),
    threshold_grid=None,
    subgroups=False,
    iptw=None,
    multiple_imputation=None,
)
SETTINGS = OverviewSettings(covariates=FIXTURE_COVARIATES)
FILES = {"a": "synthetic_400.csv", "b": "synthetic_untied_300.csv"}
TWO_ARMS = pd.DataFrame(
    {"arm": ["chemotherapy", "immunotherapy"], "treatment": ["other", "immunotherapy"]}
)


@functools.cache
def cohort(file: str) -> pd.DataFrame:
    mapping = load_mapping(MAPPING_FILE)
    return add_groupings(
        read_cohort(REFERENCE / "data" / file, mapping, list(FIXTURE_COVARIATES)).data, 0.70
    )


@functools.cache
def analysed(file: str, reference_arm: str = "chemotherapy") -> CohortTables:
    """A cohort's tables as the workflow writes them (both endpoints stacked)."""
    settings = replace(ANALYSIS, reference_arm=reference_arm)
    results = [analyse_endpoint(cohort(file), endpoint, settings) for endpoint in ENDPOINTS]
    return CohortTables(
        cox=pd.concat([r["cox"] for r in results], ignore_index=True),
        km_summary=pd.concat([r["km_summary"] for r in results], ignore_index=True),
        arms=TWO_ARMS,
        flow=pd.DataFrame({"n_before": [len(cohort(file))]}),
    )


def tables() -> dict[str, CohortTables]:
    return {name: analysed(file) for name, file in FILES.items()}


def estimate(estimates: pd.DataFrame, name: str, endpoint: str, population: str) -> pd.Series:
    chosen = estimates[
        (estimates["cohort"] == name)
        & (estimates["endpoint"] == endpoint)
        & (estimates["population"] == population)
    ]
    assert len(chosen) == 1
    return chosen.iloc[0]


def cox_row(tables: CohortTables, endpoint: str, model: str, term: str) -> pd.Series:
    cox = tables.cox
    return cox[
        (cox["endpoint"] == endpoint) & (cox["model"] == model) & (cox["term"] == term)
    ].iloc[0]


def test_cox_stratified_by_cohort_equals_r():
    """fit_cox with a stratum per cohort, as R coxph(... + strata(cohort))."""
    expected = json.loads((REFERENCE / "fixtures" / "pooled_by_cohort.json").read_text())["os"]
    data = pd.concat(
        [cohort(file).assign(cohort=name) for name, file in FILES.items()], ignore_index=True
    )
    terms = [
        grouping_term(CLINICAL_GROUPING),
        *arm_terms(data, ANALYSIS),
        *covariate_terms(ANALYSIS),
    ]
    fit = fit_cox(data, "os_months", "os_event", terms, strata=("cohort",))
    key = fit.coefficients.set_index("term").loc[KEY_TERM]
    assert fit.stats["n"] == expected["n"] and fit.stats["events"] == expected["events"]
    for column in ("hr", "hr_lower", "hr_upper"):
        np.testing.assert_allclose(key[column], expected[column][0], rtol=1e-8, err_msg=column)
    np.testing.assert_allclose(key["p"], expected["p"][0], rtol=1e-7)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_cohort_contributes_the_estimates_its_report_declares(endpoint):
    estimates = cohort_estimates(tables(), SETTINGS)
    for name, mine in tables().items():
        for population, arm in (
            (WITHIN_IMMUNOTHERAPY, "immunotherapy"),
            (WITHIN_OTHER, "chemotherapy"),
        ):
            row = estimate(estimates, name, endpoint, population)
            expected = cox_row(mine, endpoint, arm_model(arm), KEY_TERM)
            assert row["arm"] == arm and row["excluded"] == ""
            for column in ("coef", "se", "hr", "p", "n", "events"):
                assert row[column] == expected[column], column
    interaction = replace(SETTINGS, primary=PrimarySettings(model="interaction"))
    from_interaction = cohort_estimates(tables(), interaction)
    row = estimate(from_interaction, "a", endpoint, WITHIN_IMMUNOTHERAPY)
    expected = cox_row(
        tables()["a"], endpoint, "interaction", within_arm_term(KEY_TERM, "immunotherapy")
    )
    assert row["coef"] == expected["coef"] and row["se"] == expected["se"]


def test_the_interaction_is_immunotherapy_over_the_other_arm_whichever_is_the_reference():
    as_reference = {name: analysed(file, "immunotherapy") for name, file in FILES.items()}
    usual = cohort_estimates(tables(), SETTINGS)
    turned = cohort_estimates(as_reference, SETTINGS)
    for name in FILES:
        left = estimate(usual, name, "pfs", IMMUNOTHERAPY_OVER_OTHER)
        right = estimate(turned, name, "pfs", IMMUNOTHERAPY_OVER_OTHER)
        assert left["coef"] > 0
        np.testing.assert_allclose(right["coef"], left["coef"], rtol=1e-6)
        np.testing.assert_allclose(right["se"], left["se"], rtol=1e-6)
        np.testing.assert_allclose(
            [right["hr_lower"], right["hr_upper"]], [left["hr_lower"], left["hr_upper"]], rtol=1e-6
        )


def test_pooled_rows_pool_exactly_the_poolable_estimates():
    mine = tables()
    few_events = mine["b"].km_summary.copy()
    chosen = (few_events["endpoint"] == "os") & (few_events["subset"] == "arm=immunotherapy")
    few_events.loc[chosen & (few_events["group"] == "low"), "events"] = MIN_GROUP_EVENTS - 1
    mine = {**mine, "b": replace(mine["b"], km_summary=few_events)}
    estimates = cohort_estimates(mine, SETTINGS)
    excluded = estimates[estimates["excluded"] != ""]
    assert excluded[["cohort", "endpoint", "population"]].values.tolist() == [
        ["b", "os", WITHIN_IMMUNOTHERAPY],
        ["b", "os", IMMUNOTHERAPY_OVER_OTHER],
    ]
    assert set(excluded["excluded"]) == {
        f"fewer than {MIN_GROUP_EVENTS} events in a serum Mg group"
    }
    pooled = pooled_estimates(estimates).set_index(["endpoint", "population", "method"])
    for (endpoint, population), rows in estimates.groupby(["endpoint", "population"]):
        poolable = rows[rows["excluded"] == ""]
        for result in pool(poolable["coef"], poolable["se"]):
            row = pooled.loc[(endpoint, population, result.method)]
            assert row["k"] == len(poolable) == result.k
            assert row["n"] == poolable["n"].sum() and row["events"] == poolable["events"].sum()
            if result.k >= 2:
                np.testing.assert_allclose(row["hr"], np.exp(result.estimate), rtol=1e-14)
                np.testing.assert_allclose(row["pi_upper"], np.exp(result.pi_upper), rtol=1e-14)
                np.testing.assert_allclose(row["i2_upper"], result.i2_upper, rtol=1e-14)
            else:
                assert np.isnan(row["hr"])


def test_cohorts_without_the_arms_are_shown_and_left_out_with_the_reason():
    mine = tables()
    single = analysed(FILES["b"])
    single_arm = replace(
        single,
        arms=pd.DataFrame({"arm": ["all patients"], "treatment": ["immunotherapy"]}),
    )
    undeclared = replace(mine["a"], arms=TWO_ARMS.assign(treatment="not declared"))
    estimates = cohort_estimates({"single": single_arm, "undeclared": undeclared}, SETTINGS)
    reasons = estimates.set_index(["cohort", "endpoint", "population"])["excluded"]
    assert reasons[("single", "pfs", WITHIN_IMMUNOTHERAPY)] == ""
    within = estimate(estimates, "single", "pfs", WITHIN_IMMUNOTHERAPY)
    assert within["coef"] == cox_row(single, "pfs", MULTIVARIABLE, KEY_TERM)["coef"]
    assert reasons[("single", "pfs", WITHIN_OTHER)] == "no other arm"
    assert reasons[("single", "pfs", IMMUNOTHERAPY_OVER_OTHER)] == "no other arm"
    assert set(reasons["undeclared"]) == {"no immunotherapy arm declared in its mapping"}
    html, _ = render_overview(
        {"single": single_arm, "undeclared": undeclared}, {}, SETTINGS, "2026-01-01"
    )
    assert "no immunotherapy arm declared in its mapping" in html_text.unescape(html)


def visible_text(html: str) -> str:
    return html_text.unescape(re.sub(r"<[^>]+>", " ", html))


def test_the_page_answers_first_names_failed_cohorts_and_is_self_contained():
    failed = {"west": "mgsurv: input error: column 'os_event' is not in the file"}
    html, results = render_overview(tables(), failed, SETTINGS, "2026-01-01")
    text = visible_text(html)
    answer = text.index("Pooled over 2 of 3 cohorts")
    assert answer < text.index("Cohorts") < text.index("Progression-free survival")
    primary = (
        results["pooled"]
        .set_index(["endpoint", "population", "method"])
        .loc[("pfs", WITHIN_IMMUNOTHERAPY, "random (REML, HKSJ)")]
    )
    assert f"HR {primary['hr']:.2f} ({primary['hr_lower']:.2f}–{primary['hr_upper']:.2f})" in text
    assert f"{primary['pi_lower']:.2f}–{primary['pi_upper']:.2f}" in text
    assert "west" in text and failed["west"] in text
    assert html.count("<svg") == len(ENDPOINTS)
    for marker in ('src="http', 'href="http', "<script", "<link"):
        assert marker not in html


def test_report_min_count_hides_small_groups_counts_shares_and_estimates():
    """k above the smallest Mg group of cohort b within immunotherapy but below cohort a's:
    b's low-Mg share and those estimates are hidden and not pooled; no count below k."""
    mine = tables()
    summary = mine["b"].km_summary
    arm = summary[
        (summary["subset"] == "arm=immunotherapy") & (summary["grouping"] == "mg_clinical")
    ]
    k = int(arm["n"].min()) + 1
    assert k <= summary.loc[summary["subset"] == "all", "n"].min()
    settings = replace(SETTINGS, report_min_count=k)
    html, results = render_overview(mine, {}, settings, "2026-01-01")
    estimates = results["cohort_estimates"]
    hidden = estimates[(estimates["cohort"] == "b") & (estimates["excluded"] != "")]
    assert set(hidden["population"]) == {WITHIN_IMMUNOTHERAPY, IMMUNOTHERAPY_OVER_OTHER}
    assert all("report_min_count" in reason for reason in hidden["excluded"])
    text = visible_text(html)
    for _, row in hidden.iterrows():
        assert f"{row['hr']:.2f} ({row['hr_lower']:.2f}" not in text
    cells = re.findall(r"<tr><td><a href=\"b/report.html\">b</a></td>(.*?)</tr>", html, re.S)
    assert len(cells) == 1 and "suppressed" in cells[0]
    total = int(
        summary.loc[(summary["subset"] == "all") & (summary["endpoint"] == "pfs"), "n"].sum()
    )
    low = summary.loc[
        (summary["subset"] == "all")
        & (summary["endpoint"] == "pfs")
        & (summary["group"] == "low")
        & (summary["grouping"] == "mg_clinical"),
        "n",
    ].sum()
    assert f"{100 * low / total:.1f}" not in cells[0]
    pooled = results["pooled"]
    assert (pooled.loc[pooled["population"] == WITHIN_IMMUNOTHERAPY, "k"] == 1).all()
    tiny = replace(mine["a"], flow=pd.DataFrame({"n_before": [k - 1]}))
    html, _ = render_overview({"a": tiny, "b": mine["b"]}, {}, settings, "2026-01-01")
    assert f"<td>{k - 1}</td>" not in html and f"<td>&lt;{k}</td>" in html
