"""mgsurv.stats.coxph_port against R survival 3.5-3 (tests/reference/coxfit.R) and lifelines.

Tolerances: coefficients 1e-9 relative, variance 1e-8 (relative to the largest entry), loglik
1e-10, score and Wald tests 1e-9, concordance 1e-12; iteration counts equal.  Measured worst
differences are ~3e-13 (coefficients of an aliased fit), ~2e-14 (variance), ~1e-14 (loglik,
tests) and 1e-15 (concordance).
"""

from __future__ import annotations

import json
from itertools import product

import numpy as np
import pandas as pd
import pytest

from mgsurv.stats import coxph_port
from mgsurv.stats.coxph_port import aeq_times, concordance_counts, coxph_fit
from support import REFERENCE

CASES = json.loads((REFERENCE / "fixtures" / "coxfit_cases.json").read_text())["cases"]
COUNTS = ("concordant", "discordant", "tied_x", "tied_y", "tied_xy")


def as_array(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.atleast_1d(values)], dtype=float)


def fit_case(case: dict):
    data = pd.read_csv(REFERENCE / "data" / case["data"])
    return coxph_fit(
        data[case["x"]].to_numpy(),
        data[case["time"]].to_numpy(),
        data[case["status"]].to_numpy(),
        strata=None if case["strata"] is None else data[case["strata"]].to_numpy(),
        weights=None if case["weights"] is None else data[case["weights"]].to_numpy(),
        ties=case["ties"],
        eps=case["eps"],
        iter_max=case["iter_max"],
        toler_chol=case["toler_chol"],
        timefix=case["timefix"],
    )


def assert_matches_r(fit, case: dict) -> None:
    np.testing.assert_allclose(fit.coef, as_array(case["coef"]), rtol=1e-9, err_msg="coef")
    var = np.array(case["var"], dtype=float)
    np.testing.assert_allclose(fit.var, var, rtol=1e-8, atol=1e-8 * np.abs(var).max())
    np.testing.assert_allclose(fit.loglik, case["loglik"], rtol=1e-10, err_msg="loglik")
    np.testing.assert_allclose(fit.score, case["score"], rtol=1e-9, err_msg="score")
    np.testing.assert_allclose(fit.wald, case["wald"], rtol=1e-9, err_msg="wald")
    assert fit.iterations == case["iter"]
    np.testing.assert_allclose(fit.means, case["means"], rtol=1e-9, atol=1e-12)
    assert (fit.n, fit.n_events) == (case["n"], case["nevent"])
    np.testing.assert_array_equal(fit.aliased, np.isnan(as_array(case["coef"])))
    expected = case["concordance"]
    np.testing.assert_allclose(
        fit.concordance.value, expected["concordance"], rtol=1e-12, err_msg="concordance"
    )
    for name in COUNTS:
        np.testing.assert_allclose(
            getattr(fit.concordance, name), expected[name], rtol=1e-12, atol=0, err_msg=name
        )


@pytest.mark.parametrize("name", list(CASES))
def test_fit_matches_r(name):
    """Efron and Breslow, strata (few and many), integer and non-integer weights, tied times
    with censorings at the same times, timefix, aliased columns, out of iterations."""
    assert_matches_r(fit_case(CASES[name]), CASES[name])


@pytest.mark.parametrize(
    "name", ["lung", "lung_strata_sex", "veteran", "tied_strata_weights_frac", "tied_discrete"]
)
@pytest.mark.parametrize("path", ["small blocks", "flat"])
def test_other_code_paths_match_r(monkeypatch, name, path):
    """The same numbers from tiny blocks (dense and chunked blocks, Efron groups across the
    nominal block ends) and from the whole-array path used for many strata."""
    if path == "small blocks":
        monkeypatch.setattr(coxph_port, "_BLOCK", 16)
        monkeypatch.setattr(coxph_port, "_BLOCK_MIN", 16)
    else:
        monkeypatch.setattr(coxph_port, "_LOOP_SEGMENTS", 0)
    assert_matches_r(fit_case(CASES[name]), CASES[name])


def test_lifelines_gives_the_same_fit():
    """lifelines at mgsurv.stats.cox's R-like precision: coefficients, SEs, loglik and
    concordance."""
    from lifelines import CoxPHFitter

    case = CASES["veteran"]
    data = pd.read_csv(REFERENCE / "data" / case["data"])
    frame = data[case["x"] + ["time", "status"]]
    fitter = CoxPHFitter().fit(
        frame, "time", "status", fit_options={"precision": 1e-20, "r_precision": 1e-16}
    )
    fit = coxph_fit(frame[case["x"]], frame["time"], frame["status"], eps=1e-12, iter_max=100)
    np.testing.assert_allclose(fit.coef, fitter.params_.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(fit.se, fitter.standard_errors_.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(fit.loglik[1], fitter.log_likelihood_, rtol=1e-12)
    np.testing.assert_allclose(
        fit.lr_statistic, fitter.log_likelihood_ratio_test().test_statistic, rtol=1e-9
    )
    np.testing.assert_allclose(fit.concordance.value, fitter.concordance_index_, rtol=1e-12)


def brute_force_concordance(time, event, risk, strata, weights):
    counts = dict.fromkeys(COUNTS, 0.0)
    n = len(time)
    for i, j in product(range(n), range(n)):
        if i == j or strata[i] != strata[j] or not event[i]:
            continue
        pair = weights[i] * weights[j]
        if time[i] == time[j] and event[j]:
            if i < j:
                counts["tied_xy" if risk[i] == risk[j] else "tied_y"] += pair
        elif time[i] < time[j] or (time[i] == time[j] and not event[j]):
            key = (
                "tied_x"
                if risk[i] == risk[j]
                else ("concordant" if risk[i] > risk[j] else "discordant")
            )
            counts[key] += pair
    return counts


@pytest.mark.parametrize("seed", range(4))
def test_concordance_counts_every_pair_as_defined(seed):
    """Against the pair-by-pair definition, with tied times, tied risks, strata, weights."""
    rng = np.random.default_rng(seed)
    n = 150
    time = rng.integers(1, 15, n).astype(float)
    event = rng.random(n) < 0.6
    risk = rng.integers(0, 9, n) / 4
    strata = rng.integers(0, 3, n)
    weights = rng.choice([1.0, 2.0, 0.5, 1.25], n) if seed % 2 else np.ones(n)
    expected = brute_force_concordance(time, event, risk, strata, weights)
    got = concordance_counts(time, event, risk, strata=strata, weights=weights)
    for name in COUNTS:
        np.testing.assert_allclose(getattr(got, name), expected[name], rtol=1e-12, err_msg=name)


def test_concordance_function_equals_the_fits():
    case = CASES["tied_strata_weights_frac"]
    data = pd.read_csv(REFERENCE / "data" / case["data"])
    fit = fit_case(case)
    alone = concordance_counts(
        data["time"],
        data["status"],
        fit.linear_predictors,
        strata=data["group"],
        weights=data["w_frac"],
    )
    assert alone == fit.concordance


def test_timefix_merges_near_ties_as_r():
    data = pd.read_csv(REFERENCE / "data" / "coxfit_veteran.csv")
    fixed = aeq_times(data["time_near"])
    assert np.unique(data["time_near"]).size > np.unique(fixed).size == data["time"].nunique()
    np.testing.assert_allclose(fixed, data["time"], rtol=1e-9)
    times = np.array([1.0, 1.0 + 1e-12, 2.0, 3.0, 3.0 * (1 + 1e-9), 3.0 * (1 + 1e-7)])
    np.testing.assert_array_equal(aeq_times(times), [1, 1, 2, 3, 3, 3 * (1 + 1e-7)])


def test_aliased_column_is_reported_not_raised(caplog):
    fit = fit_case(CASES["tied_aliased_middle"])
    assert fit.aliased.tolist() == [False, False, True, False]
    assert np.isnan(fit.se[2]) and np.isfinite(fit.se[[0, 1, 3]]).all()
    assert fit.df == 3
    assert "singular" in caplog.text


def test_out_of_iterations_is_flagged(caplog):
    fit = fit_case(CASES["lung_iter2"])
    assert not fit.converged and fit.iterations == 3
    assert "did not converge" in caplog.text


def test_a_log_likelihood_of_zero_runs_out_of_iterations_as_r():
    """The one death alone in its risk set: loglik 0 at every beta, where R's convergence
    test 1 - loglik / 0 is NaN. R: iter 101 ("Ran out of iterations"), loglik 0 0, coef 0,
    var 0."""
    with np.errstate(invalid="ignore"):  # the Wald test, 0 / 0 as in R
        fit = coxph_fit([0.5, 1.0, 2.0], [1.0, 2.0, 3.0], [0, 0, 1], eps=1e-12, iter_max=100)
    assert not fit.converged and fit.iterations == 101
    assert fit.loglik == (0.0, 0.0) and fit.coef.tolist() == [0.0] and fit.var.tolist() == [[0]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"event": [0, 2, 1, 1]}, "event must be"),
        ({"event": [0, 0, 0, 0]}, "no events"),
        ({"weights": [1, 0, 1, 1]}, "weights"),
        ({"time": [1, np.nan, 2, 3]}, "finite"),
        ({"x": np.empty((4, 0))}, "no covariates"),
        ({"strata": ["a", None, "b", "b"]}, "missing"),
        ({"ties": "exact"}, "ties"),
    ],
)
def test_invalid_input_raises(change, message):
    arguments = {
        "x": np.array([[0.5], [1.0], [2.0], [-1.0]]),
        "time": [1.0, 2.0, 3.0, 4.0],
        "event": [1, 0, 1, 1],
    } | change
    with pytest.raises(ValueError, match=message):
        coxph_fit(**arguments)
