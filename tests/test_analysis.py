"""Model choice in the analysis stage: what is fitted for one arm or several."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mgsurv.analysis.cox_models import SCHOENFELD_POINTS, cox_models, schoenfeld_long
from mgsurv.cohort.grouping import add_groupings
from mgsurv.contract import (
    ARM_MODEL_PREFIX,
    INTERACTION,
    KEY_TERM,
    MULTIVARIABLE,
    STRATIFIED,
    arm_model,
)
from mgsurv.settings import AnalysisSettings
from mgsurv.stats.cox import Term, design_matrix
from mgsurv.stats.zph import ZphResult, running_mean_window
from support import AGE_AND_SEX, SYNTHETIC_400

SETTINGS = AnalysisSettings(covariates=tuple(AGE_AND_SEX), reference_arm="chemotherapy", strata=())


def cohort() -> pd.DataFrame:
    return add_groupings(pd.read_csv(SYNTHETIC_400, dtype={"ecog": str}), 0.70)


def test_two_arms_give_arm_term_and_per_arm_models():
    cox = cox_models(cohort(), "os", SETTINGS)["cox"]
    assert {arm_model("immunotherapy"), arm_model("chemotherapy")} <= set(cox["model"])
    multivariable = cox[cox["model"] == MULTIVARIABLE]["term"].tolist()
    assert multivariable == [
        KEY_TERM,
        "arm[immunotherapy vs chemotherapy]",
        "age",
        "sex[female vs male]",
    ]


def test_single_arm_cohort_has_no_arm_term_nor_per_arm_models():
    data = cohort()
    data = data[data["arm"] == "immunotherapy"].assign(arm="all patients")
    tables = cox_models(data, "pfs", SETTINGS)
    cox, models = tables["cox"], tables["cox_models"]
    assert not cox["model"].str.startswith(ARM_MODEL_PREFIX).any()
    assert not cox["term"].str.startswith("arm[").any()
    assert (cox["n"] == len(data)).all()
    assert not models["model"].isin([INTERACTION, STRATIFIED]).any()


def test_design_matrix_leaves_out_terms_that_do_not_vary():
    data = pd.DataFrame({"x": [1.0, 1.0, 1.0], "g": ["a", "a", "a"], "h": ["u", "v", "u"]})
    design = design_matrix(
        data,
        [Term("x", "numeric"), Term("g", "categorical"), Term("h", "categorical", reference="v")],
    )
    assert list(design.columns) == ["h[u vs v]"]
    assert design["h[u vs v]"].tolist() == [1.0, 0.0, 1.0]


def test_schoenfeld_table_is_bounded_and_keeps_what_the_plot_draws_from_all_residuals():
    n = SCHOENFELD_POINTS * 3 + 7
    rng = np.random.default_rng(5)
    time = np.sort(rng.uniform(0.1, 36.0, n))
    wide = pd.DataFrame(
        {
            "time": time,
            "transformed_time": time / 36.0,
            "age": rng.normal(size=n),
            "sex": rng.normal(size=n),
        }
    )
    result = ZphResult(table=pd.DataFrame(), residuals=wide, var=pd.DataFrame())
    long = schoenfeld_long(result)
    window = running_mean_window(n)
    for term in ("age", "sex"):
        rows = long[long["term"] == term]
        assert len(rows) == SCHOENFELD_POINTS and (rows["residuals"] == n).all()
        assert rows["time"].iloc[0] == time[0] and rows["time"].iloc[-1] == time[-1]
        assert rows["time"].is_monotonic_increasing
        smooth = wide[term].rolling(window, center=True, min_periods=window // 2).mean()
        kept = np.searchsorted(time, rows["time"])
        np.testing.assert_array_equal(rows["running_mean"], smooth.to_numpy()[kept])
        np.testing.assert_array_equal(rows["residual"], wide[term].to_numpy()[kept])
        assert rows["mean"].iloc[0] == wide[term].mean()


def test_schoenfeld_table_keeps_every_residual_up_to_the_bound():
    tables = cox_models(cohort(), "pfs", SETTINGS)
    residuals = tables["schoenfeld"]
    events = int(tables["cox_models"].set_index("model").loc[MULTIVARIABLE, "events"])
    assert (residuals.groupby("term").size() == events).all()
    assert (residuals["residuals"] == events).all()
