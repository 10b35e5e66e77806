"""The imputation table: the multivariable and per-arm Cox models refitted on multiply
imputed covariates and pooled, with every patient; empty when nothing is missing or it is
switched off. (Pooling against R mice: tests/test_rubin.py; the imputation itself:
tests/test_chained_imputation.py.)"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mgsurv.analysis.cox_models import cox_models
from mgsurv.analysis.imputation import imputation_table
from mgsurv.cohort.grouping import add_groupings
from mgsurv.contract import ENDPOINT_TABLES, KEY_TERM, MULTIVARIABLE, arm_model
from mgsurv.settings import AnalysisSettings, ImputationSettings
from support import FIXTURE_COVARIATES, SYNTHETIC_400

SETTINGS = AnalysisSettings(
    covariates=FIXTURE_COVARIATES,
    reference_arm="chemotherapy",
    multiple_imputation=ImputationSettings(m=5, iterations=3, seed=1),
)


def cohort(missing: bool = True) -> pd.DataFrame:
    """synthetic_400 with age missing for every 7th patient and PD-L1 for every 5th death."""
    data = add_groupings(pd.read_csv(SYNTHETIC_400, dtype={"ecog": str}), 0.70)
    if missing:
        row = np.arange(1, len(data) + 1)
        data.loc[row % 7 == 0, "age"] = np.nan
        data.loc[(row % 5 == 0) & (data["os_event"] == 1), "pdl1"] = np.nan
    return data


def test_every_model_is_pooled_over_every_patient():
    data = cohort()
    table = imputation_table(data, "os", SETTINGS)
    assert list(table.columns) == list(ENDPOINT_TABLES["imputation"])
    models = [MULTIVARIABLE, arm_model("chemotherapy"), arm_model("immunotherapy")]
    assert list(dict.fromkeys(table["model"])) == models
    key = table[table["term"] == KEY_TERM].set_index("model")
    assert key.loc[MULTIVARIABLE, "n"] == 400 and key.loc[arm_model("chemotherapy"), "n"] == 200
    assert (key["m"] == 5).all() and key["hr"].notna().all()
    # the complete-case models lose the patients with a missing covariate
    complete = cox_models(data, "os", SETTINGS)["cox"]
    assert complete[(complete["model"] == MULTIVARIABLE)]["n"].iloc[0] < 400
    # what is imputed carries missing information; the always-observed sex hardly any
    age = table[(table["model"] == MULTIVARIABLE) & (table["term"] == "age")].iloc[0]
    sex = table[(table["model"] == MULTIVARIABLE) & (table["term"] == "sex[female vs male]")]
    assert age["fmi"] > 0.05 and age["fmi"] > sex["fmi"].iloc[0]
    assert np.isfinite(table["df"]).all()


def test_nothing_missing_or_switched_off_gives_an_empty_table():
    assert imputation_table(cohort(missing=False), "pfs", SETTINGS).empty
    off = AnalysisSettings(covariates=FIXTURE_COVARIATES, multiple_imputation=None)
    assert imputation_table(cohort(), "pfs", off).empty


def test_the_seed_makes_the_table_reproducible():
    first = imputation_table(cohort(), "pfs", SETTINGS)
    pd.testing.assert_frame_equal(first, imputation_table(cohort(), "pfs", SETTINGS))
