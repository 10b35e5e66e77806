"""Log-rank tests against R survival 3.5-3 (fixtures: tests/reference/logrank.R).

Datasets: lung (sex, stratified by ph.ecog; ph.ecog 0-3 stratified by sex), veteran (cell
type, stratified by treatment, trend with default and unequal scores), synthetic_400 and
synthetic_untied_300 (Mg quartiles as mgsurv cuts them, stratified by arm, PFS and OS) and
edge cases (a stratum with one group, groups without events or without expected events, a
singular stratified variance, near-tied times).

Tolerances, per quantity (worst relative difference measured in brackets):
* observed events exact; expected events [5e-15] and the variance matrix of O - E [4e-15]
  1e-12 relative (entries below 1e-12 in absolute value, e.g. exact zeros, atol 1e-12);
* chi-square statistics [overall 6e-15, stratified 7e-15, trend 3e-14, pairwise 1e-13],
  p-values [overall 2e-14, stratified 4e-14, trend 1e-13, pairwise 3e-14], the trend's z
  [2e-14] and Holm/BH-adjusted p [3e-14] 1e-10 relative; df exact. The fixtures carry 15
  significant digits; the rest is summation order (R sums backwards in time per stratum).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import multivariate_logrank_test
from scipy.stats import false_discovery_control

from mgsurv.cohort.grouping import add_groupings
from mgsurv.contract import LOGRANK_TEST, PAIRWISE_TEST, STRATIFIED_LOGRANK_TEST, TREND_TEST
from mgsurv.stats.logrank import (
    logrank,
    logrank_table,
    logrank_trend,
    p_adjust,
    pairwise_logrank,
    r_timefix,
    stratified_logrank,
    survdiff_components,
)
from support import REFERENCE

DATA = REFERENCE / "data"
TEST_RTOL = 1e-10
COMPONENT_RTOL = 1e-12
COMPONENT_ATOL = 1e-12
VETERAN_ORDER = ["squamous", "smallcell", "adeno", "large"]
QUARTILES = ["Q1", "Q2", "Q3", "Q4"]
EDGE_CASES = ["single_group_stratum", "no_events", "singular", "near_ties"]


def fixture(name: str) -> dict:
    return json.loads((REFERENCE / "fixtures" / f"logrank_{name}.json").read_text())


def as_array(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.atleast_1d(values)], dtype=float)


def as_labels(values: pd.Series) -> pd.Series:
    """Group or stratum codes as R prints factor levels ("1", not "1.0"); NA stays NA."""
    return values.map(lambda v: str(int(v)) if isinstance(v, float) and v == v else v).where(
        values.notna()
    )


def lung_case(group: str, strata: str, order: list[str]) -> dict:
    lung = pd.read_csv(DATA / "lung.csv")
    return {
        "time": lung["time"],
        "event": lung["status"],
        "group": as_labels(lung[group].astype(float)),
        "strata": lung[strata],
        "order": order,
    }


def veteran_case() -> dict:
    vet = pd.read_csv(DATA / "veteran.csv")
    return {
        "time": vet["time"],
        "event": vet["status"],
        "group": vet["celltype"],
        "strata": vet["trt"],
        "order": VETERAN_ORDER,
    }


def synthetic_case(name: str, endpoint: str) -> dict:
    """Mg quartiles through mgsurv's own grouping, stratified by arm."""
    data = add_groupings(pd.read_csv(DATA / f"{name}.csv"), 0.70)
    return {
        "time": data[f"{endpoint}_months"],
        "event": data[f"{endpoint}_event"],
        "group": data["mg_quartile"],
        "strata": data["arm"],
        "order": QUARTILES,
    }


def edge_case(case: str) -> dict:
    data = pd.read_csv(DATA / "logrank_edge_cases.csv")
    data = data[data["case"] == case]
    return {
        "time": data["time"],
        "event": data["status"],
        "group": data["group"],
        "strata": data["stratum"],
        "order": sorted(data["group"].unique()),
    }


CASES = {
    "lung/sex": (lambda: lung_case("sex", "ph.ecog", ["1", "2"]), "lung", "sex"),
    "lung/ph_ecog": (lambda: lung_case("ph.ecog", "sex", ["0", "1", "2", "3"]), "lung", "ph_ecog"),
    "veteran/celltype": (veteran_case, "veteran", "celltype"),
    **{
        f"{name}/{endpoint}": (
            lambda name=name, endpoint=endpoint: synthetic_case(name, endpoint),
            name,
            endpoint,
        )
        for name in ("synthetic_400", "synthetic_untied_300")
        for endpoint in ("pfs", "os")
    },
    **{
        f"edge/{case}": (lambda case=case: edge_case(case), "edge_cases", case)
        for case in EDGE_CASES
    },
}


@pytest.fixture(params=list(CASES), scope="module")
def case(request) -> tuple[dict, dict]:
    """(data, expected): one grouping of one dataset with its R results."""
    load, fixture_name, key = CASES[request.param]
    return load(), fixture(fixture_name)[key]


def assert_test_equal(result: dict, expected: dict) -> None:
    """Statistic, df and p as R. Where R has no p (it stopped on a singular variance, or had
    no events: chisq 0 on -1 df), mgsurv's documented convention is NaN throughout."""
    if expected["p"] is None:
        assert np.isnan([result["statistic"], result["df"], result["p"]]).all()
        return
    assert result["df"] == expected["df"]
    np.testing.assert_allclose(
        [result["statistic"], result["p"]], [expected["statistic"], expected["p"]], rtol=TEST_RTOL
    )


def assert_components_equal(components, expected: dict) -> None:
    assert [str(g) for g in components.groups] == list(np.atleast_1d(expected["groups"]))
    np.testing.assert_array_equal(components.observed, as_array(expected["observed"]))
    np.testing.assert_allclose(
        components.expected, as_array(expected["expected"]), rtol=COMPONENT_RTOL
    )
    np.testing.assert_allclose(
        components.variance,
        np.array(expected["variance"], dtype=float).reshape(components.variance.shape),
        rtol=COMPONENT_RTOL,
        atol=COMPONENT_ATOL,
    )


def test_components_equal_survdiff(case):
    data, expected = case
    overall = survdiff_components(data["time"], data["event"], data["group"], order=data["order"])
    assert_components_equal(overall, expected["overall"])
    if "observed" in expected["stratified"]:
        stratified = survdiff_components(
            data["time"], data["event"], data["group"], data["strata"], data["order"]
        )
        assert_components_equal(stratified, expected["stratified"])


def test_overall_and_stratified_logrank(case):
    data, expected = case
    args = (data["time"], data["event"], data["group"])
    assert_test_equal(logrank(*args, order=data["order"]), expected["overall"])
    assert_test_equal(
        stratified_logrank(*args, data["strata"], order=data["order"]), expected["stratified"]
    )


def test_trend(case):
    """Default scores 1..k, unstratified and stratified (two groups: the log-rank test)."""
    data, expected = case
    args = (data["time"], data["event"], data["group"], data["order"])
    for result, wanted in (
        (logrank_trend(*args), expected["trend"]),
        (logrank_trend(*args, strata=data["strata"]), expected["trend_stratified"]),
    ):
        assert_test_equal(result, wanted)
        np.testing.assert_allclose(result["z"], wanted["z"], rtol=TEST_RTOL)


def test_trend_with_unequal_scores():
    data, expected = veteran_case(), fixture("veteran")["celltype"]["trend_scores"]
    assert expected["scores"] == [1, 2, 4, 8]
    result = logrank_trend(
        data["time"], data["event"], data["group"], data["order"], scores=[1, 2, 4, 8]
    )
    assert_test_equal(result, expected)
    np.testing.assert_allclose(result["z"], expected["z"], rtol=TEST_RTOL)


@pytest.mark.parametrize("method,column", [("holm", "p_holm"), ("BH", "p_bh")])
def test_pairwise(case, method, column):
    data, expected = case
    wanted = expected["pairwise"]
    table = pairwise_logrank(data["time"], data["event"], data["group"], data["order"], method)
    assert table["groups"].tolist() == list(np.atleast_1d(wanted["groups"]))
    for row, statistic, df, p in zip(
        table.to_dict("records"),
        as_array(wanted["statistic"]),
        as_array(wanted["df"]),
        as_array(wanted["p"]),
        strict=True,
    ):
        assert_test_equal(row, {"statistic": statistic, "df": df, "p": None if np.isnan(p) else p})
    np.testing.assert_allclose(
        table["p_adjusted"], as_array(wanted[column]), rtol=TEST_RTOL, equal_nan=True
    )


def test_logrank_table_rows(case):
    """logrank.tsv rows: overall, stratified, trend (>= 3 groups), pairwise (Holm)."""
    data, expected = case
    table = logrank_table(data["time"], data["event"], data["group"], data["order"], data["strata"])
    groups = " vs ".join(np.atleast_1d(expected["overall"]["groups"]))
    several = len(np.atleast_1d(expected["overall"]["groups"])) >= 3
    pairs = list(np.atleast_1d(expected["pairwise"]["groups"])) if several else []
    assert table["test"].tolist() == [LOGRANK_TEST, STRATIFIED_LOGRANK_TEST] + (
        [TREND_TEST] + [PAIRWISE_TEST] * len(pairs) if several else []
    )
    assert table["groups"].tolist() == [groups] * (3 if several else 2) + pairs
    for row, test in zip(
        table.to_dict("records"), ("overall", "stratified", "trend"), strict=False
    ):
        if row["test"] != PAIRWISE_TEST:
            assert_test_equal(row, expected[test])
            assert np.isnan(row["p_adjusted"])
    if several:
        np.testing.assert_allclose(
            table["p_adjusted"].to_numpy()[3:],
            as_array(expected["pairwise"]["p_holm"]),
            rtol=TEST_RTOL,
            equal_nan=True,
        )


@pytest.mark.parametrize("name", ["synthetic_400", "synthetic_untied_300"])
def test_quartiles_are_those_of_the_fixtures(name):
    """The R fixtures' Q1..Q4 (type-7 quartiles, right-closed) are mgsurv's mg_quartile."""
    data = add_groupings(pd.read_csv(DATA / f"{name}.csv"), 0.70)
    assert data["mg_quartile"].tolist() == fixture(name)["mg_quartile"]


def test_edge_cases_are_the_intended_ones():
    """Guards the scenarios' premises: E = 0 drops group D (df 2 of 3), singular V."""
    expected = fixture("edge_cases")
    no_events = expected["no_events"]["overall"]
    assert no_events["df"] == 2 and no_events["expected"][3] == 0
    assert no_events["observed"][2] == 0 < no_events["expected"][2]
    assert expected["singular"]["stratified"]["p"] is None
    single = edge_case("single_group_stratum")
    assert single["group"][single["strata"] == "y"].unique().tolist() == ["A"]


def test_timefix_merges_near_ties_as_r():
    """R's aeqSurv: near-tied times merge; without it (lifelines) the test differs."""
    data = edge_case("near_ties")
    time = data["time"].to_numpy()
    fixed = r_timefix(time)
    assert len(np.unique(fixed)) < len(np.unique(time))
    assert set(np.unique(fixed)) <= set(time)
    expected = fixture("edge_cases")["near_ties"]["overall"]
    plain = multivariate_logrank_test(time, data["group"], data["event"]).test_statistic
    assert abs(plain - expected["statistic"]) > 1e-3 * expected["statistic"]
    assert_test_equal(logrank(time, data["event"], data["group"]), expected)


@pytest.mark.parametrize("name", ["synthetic_400", "synthetic_untied_300"])
@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_unstratified_engine_equals_lifelines(name, endpoint):
    """Without near-ties the engine equals lifelines' multivariate log-rank test."""
    data = synthetic_case(name, endpoint)
    ours = logrank(data["time"], data["event"], data["group"])
    theirs = multivariate_logrank_test(data["time"], data["group"], data["event"])
    np.testing.assert_allclose(
        [ours["statistic"], ours["p"]], [theirs.test_statistic, theirs.p_value], rtol=1e-12
    )


def test_p_adjust_against_scipy_and_definitions():
    """BH equals scipy's false_discovery_control; Holm its step-down definition; NaN left out."""
    rng = np.random.default_rng(7)
    p = np.concatenate([rng.uniform(0, 0.2, 12), [0.03, 0.03, 1.0]])
    np.testing.assert_allclose(p_adjust(p, "BH"), false_discovery_control(p), rtol=1e-14)
    order = np.argsort(p)
    step_down = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    holm = np.empty_like(p)
    holm[order] = np.minimum(1, step_down)
    np.testing.assert_array_equal(p_adjust(p, "holm"), holm)
    with_nan = np.insert(p, 3, np.nan)
    np.testing.assert_array_equal(np.delete(p_adjust(with_nan, "holm"), 3), holm)
    assert np.isnan(p_adjust(with_nan, "holm")[3])
    np.testing.assert_array_equal(p_adjust([0.04], "BH"), [0.04])
    with pytest.raises(ValueError):
        p_adjust(p, "bonferroni")


def test_fewer_than_two_groups_gives_nan_rows():
    data = veteran_case()
    one = data["group"] == "adeno"
    table = logrank_table(
        data["time"][one],
        data["event"][one],
        data["group"][one],
        VETERAN_ORDER,
        data["strata"][one],
    )
    assert table["test"].tolist() == [LOGRANK_TEST, STRATIFIED_LOGRANK_TEST]
    assert table["groups"].tolist() == ["adeno", "adeno"]
    assert table[["statistic", "df", "p", "p_adjusted"]].isna().all().all()


def test_empty_groups_are_dropped():
    """A group of ``order`` without patients is left out, and so is its trend score: default
    scores stay the positions in ``order`` (squamous 1, smallcell 2, large 4)."""
    data = veteran_case()
    keep = data["group"] != "adeno"
    args = (data["time"][keep], data["event"][keep], data["group"][keep])
    order = ["squamous", "smallcell", "large"]
    full = logrank_table(*args, VETERAN_ORDER, data["strata"][keep])
    reduced = logrank_table(*args, order, data["strata"][keep])
    not_trend = full["test"] != TREND_TEST
    pd.testing.assert_frame_equal(full[not_trend], reduced[not_trend])
    assert full["groups"][0] == "squamous vs smallcell vs large"
    trend = logrank_trend(*args, VETERAN_ORDER)
    assert trend == logrank_trend(*args, order, scores=[1, 2, 4])
    assert full.loc[~not_trend, "statistic"].item() == trend["statistic"]


def test_unknown_groups_and_bad_events_are_rejected():
    data = veteran_case()
    with pytest.raises(ValueError, match="not in order"):
        logrank(data["time"], data["event"], data["group"], order=VETERAN_ORDER[:3])
    with pytest.raises(ValueError, match="0/1"):
        logrank(data["time"], data["event"] + 1, data["group"])
    with pytest.raises(ValueError, match="one value per group"):
        logrank_trend(data["time"], data["event"], data["group"], VETERAN_ORDER, scores=[1, 2])
