"""The multi-cohort overview: pooled estimates against R (coxph with strata(cohort)) and
against the meta-analysis module, and the page itself."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from mgsurv.analysis.endpoint import analyse_endpoint
from mgsurv.cohort.grouping import add_groupings
from mgsurv.cohort.mapping import load_mapping
from mgsurv.cohort.reader import read_cohort
from mgsurv.contract import KEY_TERM, MULTIVARIABLE
from mgsurv.overview.page import immunotherapy_model, render_overview
from mgsurv.overview.pooled import stratified_row
from mgsurv.settings import AnalysisSettings
from mgsurv.stats.pooling import pool
from support import FIXTURE_COVARIATES, MAPPING_FILE, REFERENCE

SETTINGS = AnalysisSettings(covariates=FIXTURE_COVARIATES, reference_arm="chemotherapy", strata=())


def cohort(file: str) -> pd.DataFrame:
    mapping = load_mapping(MAPPING_FILE)
    return add_groupings(
        read_cohort(REFERENCE / "data" / file, mapping, list(FIXTURE_COVARIATES)).data, 0.70
    )


COHORTS = {"a": cohort("synthetic_400.csv"), "b": cohort("synthetic_untied_300.csv")}


def test_cox_stratified_by_cohort_equals_r():
    expected = json.loads((REFERENCE / "fixtures" / "pooled_by_cohort.json").read_text())["os"]
    row = stratified_row(COHORTS, "os", SETTINGS)
    assert row["n"] == expected["n"] and row["events"] == expected["events"]
    for key in ("hr", "hr_lower", "hr_upper"):
        np.testing.assert_allclose(row[key], expected[key][0], rtol=1e-8, err_msg=key)
    np.testing.assert_allclose(row["p"], expected["p"][0], rtol=1e-7)


def test_overview_pools_the_cohorts_multivariable_estimates():
    cox = {name: analyse_endpoint(data, "os", SETTINGS)["cox"] for name, data in COHORTS.items()}
    summaries = {
        name: pd.DataFrame(
            {
                "endpoint": ["os", "os"],
                "subset": "all",
                "grouping": "mg_clinical",
                "group": ["low", "normal"],
                "n": [10, 20],
            }
        )
        for name in COHORTS
    }
    flows = {name: pd.DataFrame({"n_before": [len(d)]}) for name, d in COHORTS.items()}
    arms = {
        name: pd.DataFrame(
            {"arm": ["chemotherapy", "immunotherapy"], "treatment": ["other", "immunotherapy"]}
        )
        for name in COHORTS
    }
    html, tables = render_overview(cox, summaries, flows, arms, COHORTS, SETTINGS, "2026-01-01")
    key = pd.concat(cox.values())
    key = key[(key["model"] == MULTIVARIABLE) & (key["term"] == KEY_TERM)]
    fixed, _ = pool(key["coef"], key["se"])
    pooled = tables["pooled"].set_index(["endpoint", "method"])
    np.testing.assert_allclose(
        pooled.loc[("os", "meta-analysis, fixed"), "hr"], np.exp(fixed.estimate), rtol=1e-12
    )
    assert pooled.loc[("os", "meta-analysis, fixed"), "k"] == 2
    assert "<svg" in html and 'href="a/report.html"' in html
    for marker in ('src="http', 'href="http', "<script", "<link"):
        assert marker not in html


def test_each_cohorts_immunotherapy_arm_is_the_one_its_mapping_declares():
    named = pd.DataFrame(
        {"arm": ["Atezolizumab", "Docetaxel"], "treatment": ["immunotherapy", "other"]}
    )
    assert immunotherapy_model(named) == "arm=Atezolizumab"
    single = pd.DataFrame({"arm": ["all patients"], "treatment": ["immunotherapy"]})
    assert immunotherapy_model(single) == MULTIVARIABLE
    assert immunotherapy_model(named.assign(treatment="not declared")) is None
