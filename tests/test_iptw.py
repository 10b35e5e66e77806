"""Inverse probability of treatment weighting: the propensities against R's glm, and what
degenerate data give (a note in iptw_cox, never an exception). The weighted estimates
themselves are compared with R in tests/test_r_parity.py."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mgsurv.analysis.iptw import IPTW_TABLES, iptw_tables
from mgsurv.cohort.grouping import add_groupings
from mgsurv.contract import CLINICAL_GROUPING, ENDPOINT_TABLES, LOW, arm_model
from mgsurv.settings import AnalysisSettings, IptwSettings
from mgsurv.stats.propensity import effective_sample_size, fit_propensity, stabilised_weights
from support import AGE_AND_SEX, FIXTURE_COVARIATES, REFERENCE, SYNTHETIC_400

SETTINGS = AnalysisSettings(covariates=FIXTURE_COVARIATES, reference_arm="chemotherapy")


def cohort() -> pd.DataFrame:
    return add_groupings(pd.read_csv(SYNTHETIC_400, dtype={"ecog": str}), 0.70)


def notes(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    cox = tables["iptw_cox"]
    return dict(zip(cox["subset"], cox["note"], strict=True))


def test_propensities_equal_glm_binomial():
    """fit_propensity on the design of each arm equals R's fitted(glm(low ~ age + sex +
    ecog + histology + pdl1, family = binomial)) (tests/reference/iptw.R)."""
    expected = json.loads((REFERENCE / "fixtures" / "iptw_synthetic_400.json").read_text())
    data = cohort()
    for arm, patients in data.groupby("arm"):
        want = pd.Series(expected[arm]["propensity"], index=expected[arm]["patient_id"])
        design = pd.DataFrame(
            {
                "age": patients["age"],
                "female": patients["sex"] == "female",
                "ecog": patients["ecog"] == "1",
                "squamous": patients["histology"] == "squamous",
                "pdl1_mid": patients["pdl1"] == "1-49%",
                "pdl1_high": patients["pdl1"] == ">=50%",
            }
        ).astype(float)
        low = (patients[CLINICAL_GROUPING] == LOW).to_numpy()
        scores = fit_propensity(design, low).scores
        assert scores is not None
        np.testing.assert_allclose(scores, want[patients["patient_id"]].to_numpy(), rtol=1e-10)
        weights = stabilised_weights(scores, low)
        # stabilised: each group's weights sum to about its size
        assert weights[low].sum() == pytest.approx(low.sum(), rel=0.1)


def test_effective_sample_size_of_equal_weights_is_the_count():
    assert effective_sample_size(np.full(7, 0.3)) == pytest.approx(7)
    assert effective_sample_size(np.array([1.0, 0.0])) == pytest.approx(1)


def test_every_table_has_its_contract_columns_and_both_arms():
    tables = iptw_tables(cohort(), "os", SETTINGS)
    assert set(tables) == set(IPTW_TABLES)
    for name, table in tables.items():
        assert list(table.columns) == list(ENDPOINT_TABLES[name])
        assert set(table["subset"]) == {arm_model("chemotherapy"), arm_model("immunotherapy")}


def test_switched_off_gives_empty_tables():
    off = AnalysisSettings(covariates=FIXTURE_COVARIATES, iptw=None)
    tables = iptw_tables(cohort(), "pfs", off)
    assert all(table.empty for table in tables.values())


def test_no_covariates_gives_a_note():
    none = AnalysisSettings(covariates=())
    tables = iptw_tables(cohort(), "pfs", none)
    assert set(notes(tables).values()) == {"no covariates configured: nothing to weight for"}
    assert tables["iptw_cox"]["hr"].isna().all() and tables["iptw_balance"].empty


def test_a_separating_covariate_gives_a_note():
    """A covariate that is "yes" exactly for the low-Mg patients: glm's fitted
    probabilities are 0 or 1, so there are no weights."""
    data = cohort()
    data["marker"] = np.where(data[CLINICAL_GROUPING] == LOW, "yes", "no")
    settings = AnalysisSettings(
        covariates=(*AGE_AND_SEX, {"name": "marker", "type": "categorical", "reference": "no"})
    )
    found = notes(iptw_tables(data, "pfs", settings))
    assert all(
        "separates the groups" in note or "did not converge" in note for note in found.values()
    )


def test_an_arm_without_low_mg_patients_or_without_events_in_a_group_gives_a_note():
    data = cohort()
    chemo = data["arm"] == "chemotherapy"
    data.loc[chemo, CLINICAL_GROUPING] = "normal"
    immuno_low = (data["arm"] == "immunotherapy") & (data[CLINICAL_GROUPING] == LOW)
    data.loc[immuno_low, "pfs_event"] = 0
    found = notes(iptw_tables(data, "pfs", SETTINGS))
    assert found == {
        arm_model("chemotherapy"): "fewer than two patients in an Mg group",
        arm_model("immunotherapy"): "no events in the low Mg group",
    }


def test_single_arm_cohort_is_weighted_as_a_whole_and_missing_covariates_are_left_out():
    data = cohort()
    data = data[data["arm"] == "immunotherapy"].copy()
    data.loc[data.index[:10], "age"] = np.nan
    tables = iptw_tables(data, "os", SETTINGS)
    cox = tables["iptw_cox"].iloc[0]
    assert cox["subset"] == "all" and cox["n"] == len(data) - 10 and cox["note"] == ""
    assert tables["iptw_weights"]["n"].sum() == len(data) - 10


def test_trimming_caps_both_tails_and_counts_them():
    trimmed = AnalysisSettings(covariates=FIXTURE_COVARIATES, iptw=IptwSettings(trim_percentile=90))
    weights = iptw_tables(cohort(), "pfs", trimmed)["iptw_weights"]
    # R's quantile type 3 of 200 untied weights: the 10th percentile is the 20th smallest
    # (19 below it), the 90th the 180th (20 above it)
    per_arm = weights.groupby("subset")["n_trimmed"].sum()
    assert (per_arm == 19 + 20).all()


def test_an_infinite_weighted_hr_is_a_note_not_a_number():
    """Every low-Mg patient of the immunotherapy arm has the event before any normal-Mg
    patient's time: the partial likelihood is monotone (R's coxph: "coefficient may be
    infinite"), whatever the weights."""
    data = cohort()
    immuno = data["arm"] == "immunotherapy"
    low = immuno & (data[CLINICAL_GROUPING] == LOW)
    data.loc[low, "pfs_months"] = np.linspace(0.01, 0.05, int(low.sum()))
    data.loc[low, "pfs_event"] = 1
    data.loc[immuno & ~low, "pfs_months"] = data.loc[immuno & ~low, "pfs_months"] + 1
    tables = iptw_tables(data, "pfs", SETTINGS)
    found = notes(tables)
    assert found[arm_model("immunotherapy")].startswith("not estimable: the likelihood is monotone")
    assert found[arm_model("chemotherapy")] == ""
    cox = tables["iptw_cox"].set_index("subset")
    assert np.isnan(cox.loc[arm_model("immunotherapy"), "hr"])


def test_a_covariate_missing_for_a_whole_arm_is_left_out_there():
    """As the Cox models leave it out: the arm keeps its patients, weighted for the rest."""
    data = cohort()
    data.loc[data["arm"] == "chemotherapy", "age"] = np.nan
    tables = iptw_tables(data, "os", SETTINGS)
    cox = tables["iptw_cox"].set_index("subset")
    assert cox.loc[arm_model("chemotherapy"), "n"] == 200
    assert cox.loc[arm_model("chemotherapy"), "note"] == ""
    balance = tables["iptw_balance"]
    chemo = balance[balance["subset"] == arm_model("chemotherapy")]
    assert "age" not in set(chemo["variable"])
    assert "age" in set(balance[balance["subset"] == arm_model("immunotherapy")]["variable"])
