"""mgsurv.stats.km against R survival 3.5-3 (fixtures: tests/reference/km.R -> fixtures/km_*.json).

Every fixture entry is one curve under one conf.type ("log-log", "log", "plain") on toy.csv,
km_edge.csv (no events, S = 0 at the end, a curve ending on S = 0.5, time-0 rows, one
subject, leading censorings, log bands that rise again), 300 seeded random small cohorts
(km_random.csv), lung by sex, veteran by trt, synthetic_400 OS and PFS overall and by arm,
synthetic_untied_300 OS by arm.

Tolerances, per quantity:
* curve rows: time and the counts n_risk, n_event, n_censor exact;
* surv, lower, upper: 1e-12 relative, NA where R has NA (measured worst: surv 4e-15, lower
  1.1e-14, upper 4.5e-15: the fixtures' 15 significant digits, jsonlite's digits = NA);
* median, reverse-KM median and their CI limits: 1e-12 absolute, NA where R has NA (they
  are observed times or midpoints of two; measured: exact);
* landmarks (summary(fit, times)): n_risk exact, surv and limits 1e-12 relative (they are
  curve values); times after the last observed time, which R drops, must be NA here.
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pandas as pd
import pytest

from mgsurv.stats.km import (
    CONF_TYPES,
    confidence_limits,
    find_quantile,
    greenwood_std_err,
    km_table,
    median_with_ci,
    reverse_km_median,
    survival_at,
)
from support import REFERENCE

SURV_RTOL = 1e-12
MEDIAN_ATOL = 1e-12
FIXTURES = (
    "toy",
    "edge",
    "random",
    "lung",
    "veteran",
    "synthetic_400",
    "synthetic_untied_300",
)


def as_array(values) -> np.ndarray:
    """JSON values as floats, null -> NaN (jsonlite writes length-1 vectors as scalars)."""
    return np.array([np.nan if v is None else v for v in np.atleast_1d(values)], dtype=float)


@cache
def fixture(name: str) -> dict:
    return json.loads((REFERENCE / "fixtures" / f"km_{name}.json").read_text())


@cache
def dataset(file: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / file)


def cases() -> list:
    return [
        pytest.param(name, index, id=f"{name}-{entry['group']}-{entry['conf_type']}")
        for name in FIXTURES
        for index, entry in enumerate(fixture(name)["entries"])
    ]


def subject_data(name: str, entry: dict) -> tuple[np.ndarray, np.ndarray]:
    """The time and status of the entry's cohort, selected as km.R selects it."""
    data = dataset(fixture(name)["data"])
    if entry["group_col"] is not None:
        data = data[data[entry["group_col"]].astype(str) == entry["group"]]
    return data[entry["time_col"]].to_numpy(), data[entry["status_col"]].to_numpy()


def assert_close(actual, expected, name: str) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        as_array(expected),
        rtol=SURV_RTOL,
        atol=0,
        equal_nan=True,
        err_msg=name,
    )


def assert_median(actual: tuple[float, float, float], expected: dict, name: str) -> None:
    wanted = as_array([expected["median"], expected["lower"], expected["upper"]])
    np.testing.assert_allclose(
        np.array(actual), wanted, rtol=0, atol=MEDIAN_ATOL, equal_nan=True, err_msg=name
    )


@pytest.mark.parametrize(("name", "index"), cases())
def test_curve_median_landmarks_and_follow_up_equal_r(name, index):
    entry = fixture(name)["entries"][index]
    time, status = subject_data(name, entry)
    curve = km_table(time, status, conf_type=entry["conf_type"])
    expected = entry["curve"]
    assert list(curve.columns) == [
        "time",
        "n_risk",
        "n_event",
        "n_censor",
        "surv",
        "lower",
        "upper",
    ]
    for column in ("time", "n_risk", "n_event", "n_censor"):
        np.testing.assert_array_equal(curve[column], as_array(expected[column]), err_msg=column)
    for column in ("surv", "lower", "upper"):
        assert_close(curve[column], expected[column], column)
    assert_median(median_with_ci(curve), entry["median"], "median")
    assert_median(reverse_km_median(time, status, entry["conf_type"]), entry["reverse"], "reverse")
    assert_landmarks(curve, entry["landmarks"])


def assert_landmarks(curve: pd.DataFrame, expected: dict) -> None:
    """R's summary(fit, times) rows; the times R drops (after the last time) are NA here."""
    requested = as_array(expected["requested"])
    table = survival_at(curve, list(requested))
    np.testing.assert_array_equal(table["time"], requested)
    kept = np.isin(requested, as_array(expected["time"]))
    assert kept.sum() == len(as_array(expected["time"]))
    np.testing.assert_array_equal(table["n_risk"][kept], as_array(expected["n_risk"]))
    for column in ("surv", "lower", "upper"):
        assert_close(table[column][kept], expected[column], f"landmark {column}")
        assert table[column][~kept].isna().all()
    assert (requested[~kept] > curve["time"].max()).all()
    assert (table["n_risk"][~kept] == 0).all()


def test_fixtures_cover_the_edge_cases():
    """The fixtures hold what the R conventions are about, so the tests above exercise them."""
    entries = [e for name in FIXTURES for e in fixture(name)["entries"]]
    surv = np.concatenate([as_array(e["curve"]["surv"]) for e in entries])
    assert (surv == 0).any() and (surv == 1).any() and (surv == 0.5).any()
    by_type = {t: [e for e in entries if e["conf_type"] == t] for t in CONF_TYPES}
    plain_lower = np.concatenate([as_array(e["curve"]["lower"]) for e in by_type["plain"]])
    log_upper = np.concatenate([as_array(e["curve"]["upper"]) for e in by_type["log"]])
    assert (plain_lower == 0).any() and (log_upper == 1).any()
    medians = np.array([as_array(e["median"]["median"])[0] for e in entries])
    assert np.isnan(medians).any() and (medians % 1 == 0.5).any()
    reverse_upper = np.array([as_array(e["reverse"]["upper"])[0] for e in entries])
    assert np.isnan(reverse_upper).any() and np.isfinite(reverse_upper).any()
    rising = [np.diff(as_array(e["curve"]["upper"])) > 0 for e in by_type["log"]]
    assert any(r.any() for r in rising)


def test_band_conventions_at_s_one_and_s_zero():
    """R: S = 1 gives NA (log-log), 1 and 1 (log, plain); S = 0 gives NA for every type."""
    surv, std_err = np.array([1.0, 0.0]), np.array([0.0, np.inf])
    expected = {"log-log": [np.nan, np.nan], "log": [1.0, np.nan], "plain": [1.0, np.nan]}
    for conf_type in CONF_TYPES:
        lower, upper = confidence_limits(surv, std_err, conf_type)
        np.testing.assert_array_equal(lower, expected[conf_type])
        np.testing.assert_array_equal(upper, expected[conf_type])


def test_greenwood_is_infinite_once_everyone_at_risk_dies():
    se = greenwood_std_err(np.array([4, 2, 1]), np.array([1, 1, 1]))
    np.testing.assert_allclose(se[:2] ** 2, [1 / 12, 1 / 12 + 1 / 2], rtol=1e-15)
    assert se[2] == np.inf


def test_median_of_a_curve_ending_on_one_half_ends_at_the_last_time():
    """R's findq: a plateau at S = 0.5 lasting to the last row gives (start + last time) / 2."""
    assert find_quantile(np.array([1.0, 2.0]), np.array([0.5, 0.5]), 0.5) == 1.5


def test_invalid_conf_type_and_landmarks_are_refused():
    with pytest.raises(ValueError, match="conf_type"):
        km_table(np.array([1.0]), np.array([1]), conf_type="logit")
    curve = km_table(np.array([1.0, 2.0]), np.array([1, 0]))
    with pytest.raises(ValueError, match="finite"):
        survival_at(curve, [np.nan])
