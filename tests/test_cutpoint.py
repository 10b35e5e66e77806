"""mgsurv.stats.cutpoint against maxstat 0.7-25 / exactRankTests 0.8-35 (reference/cutpoint.R).

Tolerances, per quantity (fixtures hold 15 significant digits: jsonlite ``digits = NA``):
* cut-points, candidate cuts and all counts exact;
* log-rank scores 1e-13 absolute (R accumulates their cumulative sum in long double; the
  scores are O(1) and some are ~0, so a relative bound would be meaningless);
* the maximal statistic, Lau92, Lau94 and naive p-values 1e-12 relative (measured <= 1e-14);
* every candidate's statistic 1e-11 relative (the extreme cuts of an untrimmed search
  subtract nearly equal sums: measured 5e-13 there, <= 2e-14 elsewhere).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mgsurv.stats.cutpoint import logrank_scores, maxstat_cutpoint, p_lausen92
from support import REFERENCE

SCORE_ATOL = 1e-13
STATISTIC_RTOL = 1e-12
CANDIDATE_RTOL = 1e-11


def fixture(name: str) -> dict:
    return json.loads((REFERENCE / "fixtures" / f"cutpoint_{name}.json").read_text())


def data(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / f"{name}.csv")


def as_float(value) -> float:
    return np.nan if value is None else float(value)


def synthetic(name: str, endpoint: str, column: str = "mg_mmol_l") -> tuple:
    frame = data(name)
    return frame[f"{endpoint}_months"], frame[f"{endpoint}_event"], frame[column]


def plain(name: str, column: str) -> tuple:
    frame = data(name)
    return frame["time"], frame["status"], frame[column]


CASES = {
    ("synthetic_400", "os"): lambda: synthetic("synthetic_400", "os"),
    ("synthetic_400", "pfs"): lambda: synthetic("synthetic_400", "pfs"),
    ("synthetic_400", "os_20_80"): lambda: synthetic("synthetic_400", "os"),
    ("synthetic_400", "os_full_range"): lambda: synthetic("synthetic_400", "os"),
    ("synthetic_untied_300", "os"): lambda: synthetic("synthetic_untied_300", "os"),
    ("lung", "age"): lambda: plain("lung", "age"),
    ("veteran", "karno"): lambda: plain("veteran", "karno"),
}


@pytest.mark.parametrize("key", list(CASES), ids=lambda k: "-".join(k))
def test_logrank_scores_equal_cscores(key):
    """exactRankTests::cscores.Surv log-rank scores, including its tie convention."""
    scores = fixture(key[0])[key[1]]["scores"]
    np.testing.assert_allclose(
        logrank_scores(np.array(scores["time"]), np.array(scores["status"])),
        scores["logrank"],
        rtol=0,
        atol=SCORE_ATOL,
    )


@pytest.mark.parametrize("key", list(CASES), ids=lambda k: "-".join(k))
def test_maxstat_cutpoint_equals_maxstat_test(key):
    """Cut, M, Lau92, Lau94 (capped at 1), naive p, group sizes and every candidate."""
    expected = fixture(key[0])[key[1]]
    time, event, x = CASES[key]()
    result = maxstat_cutpoint(time, event, x, expected["minprop"], expected["maxprop"])
    assert result.cutpoint == expected["cutpoint"]
    assert (result.n_low, result.n_high, result.events_low, result.events_high) == (
        expected["n_low"],
        expected["n_high"],
        expected["events_low"],
        expected["events_high"],
    )
    np.testing.assert_allclose(
        [result.statistic, result.p_lau92, result.p_lau94, result.p_naive],
        [
            expected["statistic"],
            as_float(expected["p_lau92"]),
            min(expected["p_lau94_uncapped"], 1.0),
            expected["p_naive"],
        ],
        rtol=STATISTIC_RTOL,
        equal_nan=True,
    )
    candidates = expected["candidates"]
    np.testing.assert_array_equal(result.candidates["cut"], candidates["cut"])
    np.testing.assert_array_equal(result.candidates["n_low"], candidates["n_low"])
    np.testing.assert_array_equal(
        result.candidates["n_high"], expected["n"] - np.array(candidates["n_low"])
    )
    np.testing.assert_allclose(
        result.candidates["statistic"], candidates["statistic"], rtol=CANDIDATE_RTOL
    )


def test_lau94_is_capped_and_lau92_undefined_without_trimming():
    """untied_300: R's Lau94 bound is 1.77 and is reported as 1; Lau92 needs 0 < e < 1/2."""
    assert fixture("synthetic_untied_300")["os"]["p_lau94_uncapped"] > 1
    assert maxstat_cutpoint(*synthetic("synthetic_untied_300", "os")).p_lau94 == 1.0
    assert np.isnan(p_lausen92(2.5, 0.0, 1.0))
    assert p_lausen92(0.9) == 1.0


def test_missing_values_are_dropped():
    """Rows with a missing marker leave the search, as R's na.omit."""
    time, event, x = plain("lung", "age")
    with_missing = maxstat_cutpoint(
        np.r_[time, 5.0], np.r_[event, 1.0], np.r_[x, np.nan]
    ).candidates
    pd.testing.assert_frame_equal(with_missing, maxstat_cutpoint(time, event, x).candidates)


def test_no_candidate_cut_is_an_error():
    time, event, _ = plain("lung", "age")
    with pytest.raises(ValueError, match="no cut-point candidates"):
        maxstat_cutpoint(time, event, np.ones(len(time)))
