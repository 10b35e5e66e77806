"""RMST and survRM2's contrasts against R (fixtures: tests/reference/rmst.R).

The fixtures are survRM2 1.0-4's rmst1/rmst2 formulas (unadjusted), implemented in R from its
source and run there, with survival 3.5-3's ``summary(survfit, rmean = tau)`` beside them (in R
the two agree bit for bit on every case: the same Greenwood-type sum, no n/(n-1) factor, the
same tie handling).

Tolerances, per quantity (worst relative difference measured in brackets):
* tau: exact (an observed time or the requested one);
* per-group RMST, SE and CI limits, 1e-12 relative (4.3e-15), also against survival's rmean
  and se(rmean) (4.3e-15);
* differences, their SE and CI limits, 1e-12 relative (1.0e-14);
* RMST and RMTL ratios, log-scale SE and CI limits, 1e-12 relative (4.5e-15);
* p values, 1e-11 relative (6.5e-14; p amplifies the relative error of z by about z^2).
Convention: a ratio with a zero mean (an RMTL with no event before tau) is NaN throughout;
survRM2 gives 0 or NaN as the estimate there and NaN for the SE, CI and p.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mgsurv.contract import RMST_COLUMNS
from mgsurv.stats.rmst import default_tau, rmst, rmst_table
from support import REFERENCE

RTOL = 1e-12
P_RTOL = 1e-11
NUMERIC = ["estimate", "se", "lower", "upper"]
TOPICS = ["lung", "veteran", "synthetic_400", "synthetic_untied_300", "toy"]
TOY_ORDER = ["plateau", "tozero", "notreached", "ties"]


def fixture(topic: str) -> dict:
    return json.loads((REFERENCE / "fixtures" / f"rmst_{topic}.json").read_text())


def as_array(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def load(data: str) -> pd.DataFrame:
    """A reference dataset, with Mg low/normal (< 0.70 mmol/L) derived as rmst.R derives it."""
    frame = pd.read_csv(REFERENCE / "data" / f"{data}.csv")
    if "mg_mmol_l" in frame:
        frame["mg_clinical"] = np.where(frame["mg_mmol_l"] < 0.70, "low", "normal")
    return frame


def case_table(case: dict) -> pd.DataFrame:
    frame = load(case["data"])
    return rmst_table(
        frame[case["time"]],
        frame[case["status"]],
        frame[case["group"]].astype(str),
        case["order"],
        case["tau_requested"],
    )


def cases(keep) -> pytest.MarkDecorator:
    """Parametrize over the fixtures' cases that ``keep`` selects, named "topic: case"."""
    chosen = [(t, c) for t in TOPICS for c in fixture(t)["cases"] if keep(c)]
    return pytest.mark.parametrize(
        ("topic", "case"), chosen, ids=[f"{t}: {c['name']}" for t, c in chosen]
    )


def case_default_tau(case: dict) -> float:
    frame = load(case["data"])
    group = frame[case["group"]].astype(str)
    keep = group.isin(case["order"])
    return default_tau(frame.loc[keep, case["time"]], frame.loc[keep, case["status"]], group[keep])


@cases(lambda c: c["error"] is None)
def test_rmst_table_equals_survrm2(topic, case):
    """Per-group RMST, difference, RMST ratio and RMTL ratio rows, at R's tau."""
    table = case_table(case)
    expected = case["rows"]
    assert list(table.columns) == list(RMST_COLUMNS)
    assert table["group"].tolist() == expected["group"]
    assert (table["tau"] == case["tau"]).all()
    no_log = table["group"].str.contains("/").to_numpy() & np.isnan(as_array(expected["se"]))
    for column in NUMERIC:
        wanted = as_array(expected[column])
        if column == "estimate":
            wanted[no_log] = np.nan  # the zero-mean ratio convention (module docstring)
        np.testing.assert_allclose(
            table[column].to_numpy(), wanted, rtol=RTOL, equal_nan=True, err_msg=column
        )
    np.testing.assert_allclose(
        table["p"].to_numpy(), as_array(expected["p"]), rtol=P_RTOL, equal_nan=True
    )


@cases(lambda c: c["error"] is None and c["survival_rmean"] is not None)
def test_group_rows_equal_survival_rmean(topic, case):
    """survival's rmean and se(rmean) per group (summary.survfit refuses a tau before the
    first observed time, so those cases have none)."""
    reference = case["survival_rmean"]
    groups = case_table(case).set_index("group").loc[reference["group"]]
    np.testing.assert_allclose(groups["estimate"], as_array(reference["rmean"]), rtol=RTOL)
    np.testing.assert_allclose(groups["se"], as_array(reference["se"]), rtol=RTOL)


@cases(lambda c: c["error"] is None and c["tau_requested"] is None)
def test_default_tau_equals_survrm2(topic, case):
    """rmst2's default tau (k groups: the smallest pairwise default), exactly."""
    assert case_default_tau(case) == case["tau"]


@cases(lambda c: c["error"] is not None)
def test_default_tau_is_the_limit_survrm2_states(topic, case):
    """Where rmst2 stopped, the default tau is the limit its error message states (2 decimals)."""
    assert round(case_default_tau(case), 2) == float(case["error"].split()[-1])


@cases(lambda c: c["error"] is not None)
def test_tau_beyond_survrm2_limit_gives_nan_rows(topic, case):
    """Where rmst2 stops with an error, every row is NaN at the requested tau, with the reason."""
    table = case_table(case)
    order = case["order"]
    assert table["group"].tolist()[: len(order)] == order
    assert len(table) == len(order) + 3 * (len(order) - 1)
    assert (table["tau"] == case["tau_requested"]).all()
    assert table[NUMERIC + ["p"]].isna().all().all()
    assert "beyond" in table.attrs["note"]


@pytest.mark.parametrize("expected", fixture("toy")["rmst1"], ids=lambda e: e["group"])
def test_single_group_past_a_curve_at_zero(expected):
    """rmst on a curve that reached 0 before tau (the area stops growing) equals survRM2 rmst1."""
    toy = load("toy")
    subset = toy[toy["group"] == expected["group"]]
    result = rmst(subset["time"], subset["status"], expected["tau"])
    np.testing.assert_allclose(
        [result[k] for k in NUMERIC], [expected[k] for k in NUMERIC], rtol=RTOL
    )


def test_single_group_past_a_censored_end_is_nan():
    """Beyond a curve's censored end RMST is not estimable (survRM2's rmst1 would extrapolate)."""
    toy = load("toy")
    subset = toy[toy["group"] == "notreached"]
    assert np.isnan(list(rmst(subset["time"], subset["status"], 7.5).values())).all()
    assert not np.isnan(list(rmst(subset["time"], subset["status"], 7.0).values())).any()


def test_absent_groups_are_left_out():
    """A group without patients has no rows; without the reference there are no contrasts."""
    toy = load("toy")
    full = rmst_table(toy["time"], toy["status"], toy["group"], TOY_ORDER, 4.0)
    with_ghost = rmst_table(toy["time"], toy["status"], toy["group"], TOY_ORDER + ["ghost"], 4.0)
    pd.testing.assert_frame_equal(with_ghost, full)
    no_reference = rmst_table(toy["time"], toy["status"], toy["group"], ["ghost", "ties"], 4.0)
    assert no_reference["group"].tolist() == ["ties"]
    assert rmst_table(toy["time"], toy["status"], toy["group"], ["ghost"]).empty


def test_tau_must_be_positive():
    toy = load("toy")
    with pytest.raises(ValueError, match="tau"):
        rmst(toy["time"], toy["status"], 0.0)
