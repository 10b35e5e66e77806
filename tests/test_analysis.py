"""Model choice in the analysis stage: what is fitted for one arm or several."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mgsurv.analysis.cox_models import (
    SCHOENFELD_POINTS,
    cox_models,
    schoenfeld_long,
    schoenfeld_smooth,
)
from mgsurv.analysis.subgroups import subgroup_levels
from mgsurv.analysis.threshold_grid import threshold_grid
from mgsurv.cohort.grouping import add_groupings
from mgsurv.cohort.simulate import SyntheticParams, simulate_cohort
from mgsurv.contract import (
    ARM_MODEL_PREFIX,
    INTERACTION,
    KEY_TERM,
    MULTIVARIABLE,
    STRATIFIED,
    arm_model,
)
from mgsurv.settings import AnalysisSettings, ThresholdGrid
from mgsurv.stats.cox import Term, design_matrix
from mgsurv.stats.zph import ZphResult
from mgsurv.stats.zph_plot import zph_smooth
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


def test_schoenfeld_table_is_bounded_per_coefficient_and_the_smooth_uses_all_residuals():
    n = SCHOENFELD_POINTS * 3 + 7
    rng = np.random.default_rng(5)
    time = np.sort(rng.uniform(0.1, 36.0, n))
    coefficients = ["age", "pdl1[1-49% vs <1%]", "pdl1[>=50% vs <1%]"]
    wide = pd.DataFrame(
        {"time": time, "transformed_time": time / 36.0}
        | {c: rng.normal(size=n) for c in coefficients}
    )
    var = pd.DataFrame(np.diag([0.5, 2.0, 3.0]), index=coefficients, columns=coefficients)
    result = ZphResult(
        table=pd.DataFrame(),
        residuals=pd.DataFrame(),
        var=pd.DataFrame(),
        coefficient_residuals=wide,
        coefficient_var=var,
    )
    terms = {"age": ["age"], "pdl1": coefficients[1:]}
    long = schoenfeld_long(result, terms)
    assert list(long.groupby("variable", sort=False)["term"].unique().map(list)) == [
        ["age"],
        coefficients[1:],
    ]
    for coefficient in coefficients:
        rows = long[long["term"] == coefficient]
        assert len(rows) == SCHOENFELD_POINTS and (rows["residuals"] == n).all()
        assert rows["time"].iloc[0] == time[0] and rows["time"].iloc[-1] == time[-1]
        assert rows["time"].is_monotonic_increasing
        kept = np.searchsorted(time, rows["time"])
        np.testing.assert_array_equal(rows["residual"], wide[coefficient].to_numpy()[kept])
    estimates = pd.Series([0.1, 0.2, 0.3], index=coefficients)
    smooth = schoenfeld_smooth(result, terms, estimates)
    for i, coefficient in enumerate(coefficients):
        rows = smooth[smooth["term"] == coefficient]
        expected = zph_smooth(wide["transformed_time"], wide[coefficient], var.iloc[i, i])
        np.testing.assert_array_equal(rows["fit"], expected["fit"])  # from every residual
        np.testing.assert_allclose(rows["time"], rows["transformed_time"] * 36.0)
        assert (rows["coef"] == estimates[coefficient]).all()


def test_schoenfeld_table_keeps_every_residual_up_to_the_bound():
    tables = cox_models(cohort(), "pfs", SETTINGS)
    residuals = tables["schoenfeld"]
    events = int(tables["cox_models"].set_index("model").loc[MULTIVARIABLE, "events"])
    assert (residuals.groupby("term").size() == events).all()
    # one set of residuals per coefficient, each with the PH-test term it belongs to
    pairs = set(zip(residuals["variable"], residuals["term"], strict=True))
    assert pairs == {
        ("mg_clinical", KEY_TERM),
        ("arm", "arm[immunotherapy vs chemotherapy]"),
        ("age", "age"),
        ("sex", "sex[female vs male]"),
    }
    assert (residuals["residuals"] == events).all()


def test_a_numeric_covariate_is_split_at_its_median_and_missing_stays_missing():
    data = pd.DataFrame({"age": [50.0, 60.0, 61.0, 70.0, np.nan]})
    levels = subgroup_levels(data, {"name": "age", "type": "numeric"})
    assert levels.tolist()[:4] == ["below 60.5", "below 60.5", "60.5 or above", "60.5 or above"]
    assert pd.isna(levels.iloc[4])


def test_a_tied_median_splits_at_or_below_and_integer_levels_read_as_text():
    lines = pd.DataFrame({"prior_lines": [0.0] * 6 + [1.0] * 3 + [2.0]})
    levels = subgroup_levels(lines, {"name": "prior_lines", "type": "numeric"})
    assert sorted(set(levels)) == ["0 or below", "above 0"]
    ecog = subgroup_levels(pd.DataFrame({"ecog": [0, 1, 1]}), {"name": "ecog", "type": "x"})
    assert ecog.tolist() == ["0", "1", "1"]


def test_the_grid_never_passes_highest_and_counts_the_model_s_patients():
    assert ThresholdGrid(0.60, 0.85, 0.15).thresholds() == [0.6, 0.75]
    assert ThresholdGrid(0.60, 0.85, 0.05).thresholds()[-1] == 0.85
    assert ThresholdGrid(0.9, 0.6, 0.01).thresholds() == []
    cohort, _ = simulate_cohort(SyntheticParams(n=300, seed=3))
    cohort.loc[:59, "age"] = np.nan
    data = add_groupings(cohort, 0.70)
    settings = AnalysisSettings(covariates=({"name": "age", "type": "numeric"},), strata=())
    grid = threshold_grid(data, "pfs", settings)
    everyone = grid[grid["subset"] == "all"]
    assert (everyone["n_low"] + everyone["n_normal"] == everyone["n"]).all()
    assert (everyone["n"] == 240).all()
