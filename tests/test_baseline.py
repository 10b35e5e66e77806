"""Table 1 (mgsurv.cohort.baseline) against R: quartiles (quantile type 7) and standardized mean
differences (numeric pooled-SD SMD; Yang & Dalton's multi-level SMD), computed in
tests/reference/make_fixtures.R from their definitions. Tolerance 1e-12 relative."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mgsurv.cohort.baseline import baseline_table
from mgsurv.cohort.grouping import add_groupings
from mgsurv.contract import COHORT_TABLES
from support import REFERENCE, SYNTHETIC_400

EXPECTED = json.loads((REFERENCE / "fixtures" / "baseline.json").read_text())
COVARIATES = [
    {"name": "age", "type": "numeric"},
    {"name": "sex", "type": "categorical", "reference": "male"},
    {"name": "pdl1", "type": "categorical", "reference": "<1%"},
]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    data = pd.read_csv(SYNTHETIC_400)
    data.loc[[3, 10], "age"] = np.nan  # missing values are counted, not dropped silently
    return baseline_table(add_groupings(data, 0.70), COVARIATES)


def test_columns_and_groups(table):
    assert list(table.columns) == list(COHORT_TABLES["baseline"])
    assert set(table["group"]) == {"all", "normal", "low"}
    assert set(table["variable"]) == {"mg_mmol_l", "arm", "age", "sex", "pdl1"}


@pytest.mark.parametrize("variable", ["age", "mg_mmol_l", "sex", "pdl1", "arm"])
def test_smd_equals_r(table, variable):
    rows = table[(table["variable"] == variable) & (table["group"] != "all")]
    expected = EXPECTED[variable]["smd"]
    if variable == "age":  # the fixture has no missing ages: recompute without them
        data = add_groupings(pd.read_csv(SYNTHETIC_400), 0.70)
        rows = baseline_table(data, COVARIATES)
        rows = rows[(rows["variable"] == "age") & (rows["group"] != "all")]
    np.testing.assert_allclose(rows["smd"].unique(), [expected], rtol=1e-12)
    assert table[(table["variable"] == variable) & (table["group"] == "all")]["smd"].isna().all()


def test_counts_percentages_missing_and_quartiles(table):
    data = pd.read_csv(SYNTHETIC_400)
    low = data["mg_mmol_l"] < 0.70
    pdl1 = table[(table["variable"] == "pdl1") & (table["group"] == "low")].set_index("level")
    assert pdl1["n"].sum() == low.sum()
    np.testing.assert_allclose(pdl1["percent"].sum(), 100)
    assert pdl1.loc[">=50%", "n"] == ((data["pdl1"] == ">=50%") & low).sum()
    age = table[(table["variable"] == "age")].set_index("group")
    assert age.loc["all", "missing"] == 2 and age.loc["all", "n"] == len(data) - 2
    clean = baseline_table(add_groupings(data, 0.70), COVARIATES)
    low_age = clean[(clean["variable"] == "age") & (clean["group"] == "low")].iloc[0]
    np.testing.assert_allclose(
        [low_age["q1"], low_age["median"], low_age["q3"]],
        EXPECTED["age"]["quartiles_low"],
        rtol=1e-12,
    )
