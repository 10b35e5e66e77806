"""Model choice in the analysis stage: what is fitted for one arm or several."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mgsurv.analysis import AnalysisSettings, cox_models
from mgsurv.cox import Term, design_matrix
from mgsurv.grouping import add_groupings

DATA = Path(__file__).parent / "reference" / "data" / "synthetic_400.csv"
SETTINGS = AnalysisSettings(
    covariates=(
        {"name": "age", "type": "numeric"},
        {"name": "sex", "type": "categorical", "reference": "male"},
    ),
    reference_arm="chemotherapy",
)


def cohort() -> pd.DataFrame:
    return add_groupings(pd.read_csv(DATA, dtype={"ecog": str}), 0.70)


def test_two_arms_give_arm_term_and_per_arm_models():
    cox = cox_models(cohort(), "os", SETTINGS)["cox"]
    assert {"arm=immunotherapy", "arm=chemotherapy"} <= set(cox["model"])
    multivariable = cox[cox["model"] == "multivariable"]["term"].tolist()
    assert multivariable == [
        "mg_clinical[low vs normal]",
        "arm[immunotherapy vs chemotherapy]",
        "age",
        "sex[female vs male]",
    ]


def test_single_arm_cohort_has_no_arm_term_nor_per_arm_models():
    data = cohort()
    data = data[data["arm"] == "immunotherapy"].assign(arm="all patients")
    tables = cox_models(data, "pfs", SETTINGS)
    cox, models = tables["cox"], tables["cox_models"]
    assert not cox["model"].str.startswith("arm=").any()
    assert not cox["term"].str.startswith("arm[").any()
    assert (cox["n"] == len(data)).all()
    assert not models["model"].isin(["interaction", "stratified"]).any()


def test_design_matrix_leaves_out_terms_that_do_not_vary():
    data = pd.DataFrame({"x": [1.0, 1.0, 1.0], "g": ["a", "a", "a"], "h": ["u", "v", "u"]})
    design = design_matrix(
        data,
        [Term("x", "numeric"), Term("g", "categorical"), Term("h", "categorical", reference="v")],
    )
    assert list(design.columns) == ["h[u vs v]"]
    assert design["h[u vs v]"].tolist() == [1.0, 0.0, 1.0]
