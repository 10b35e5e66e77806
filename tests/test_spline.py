"""mgsurv.stats.spline against rms 6.5-0 / Hmisc 4.8-0 / survival 3.5-3 (tests/reference/spline.R).

Tolerances, per quantity (fixtures hold 15 significant digits: jsonlite ``digits = NA``):
* knots 1e-14 relative (mirrored to the bit; R's knot 2.0499999999999972 is stored 2.05);
* basis matrix 1e-13 relative or absolute (the knots' storage rounding, scaled by up to ~50);
* counts exact; partial log-likelihoods 1e-13 relative;
* spline coefficients 1e-9 relative, their SEs 1e-10, HRs, z and p 1e-8: the spline
  columns are nearly collinear (SE of mg'' ~27), so the likelihood is flat enough that R's
  optimum (score statistic 4e-24) is only determined to ~1e-11 relative (these tolerances
  date from lifelines' fits; mgsurv.stats.coxph_port now fits the spline with R's algorithm);
* LR statistic of non-linearity and its p 1e-10 relative;
* linear-model HR per ``per`` units (coef, SE, HR, limits, z, p) 1e-10 relative;
* HR curve: grid 1e-14 relative, log HR 1e-9 absolute (it is ~0 next to the reference),
  SE 1e-10, HR and limits 1e-9 relative.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from mgsurv.stats.cox import Term, design_matrix
from mgsurv.stats.spline import rcs_basis, rcs_knots, spline_cox
from support import REFERENCE

EXACT_RTOL = 1e-14
BASIS_TOL = 1e-13
LOGLIK_RTOL = 1e-13
COEF_RTOL = 1e-9
SE_RTOL = 1e-10
HR_RTOL = 1e-8
LR_RTOL = 1e-10
LINEAR_RTOL = 1e-10
LOG_HR_ATOL = 1e-9
CURVE_SE_RTOL = 1e-10
CURVE_HR_RTOL = 1e-9
SYNTHETIC_ADJUST = [
    Term("age", "numeric"),
    Term("sex", "categorical", reference="male"),
    Term("ecog", "categorical", reference="0"),
    Term("arm", "categorical", reference="chemotherapy"),
]
LUNG_ADJUST = [Term("sex", "categorical", reference="1"), Term("ph.ecog", "numeric")]


def fixture(name: str) -> dict:
    return json.loads((REFERENCE / "fixtures" / f"spline_{name}.json").read_text())


def data(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / f"{name}.csv")


KNOT_CASES = fixture("knots")["cases"]


@pytest.mark.parametrize("name", list(KNOT_CASES))
def test_knots_and_basis_equal_rcspline_eval(name, caplog):
    """Default knots of rcspline.eval on each of its paths, its warnings, errors and basis."""
    case = KNOT_CASES[name]
    x = np.array(case["x"], dtype=float)
    if case["error"]:
        with pytest.raises(ValueError):
            rcs_knots(x, case["nk"])
        return
    with caplog.at_level(logging.WARNING, logger="mgsurv.stats.spline"):
        knots = rcs_knots(x, case["nk"])
    assert bool(caplog.records) == case["warned"]
    np.testing.assert_allclose(knots, case["knots"], rtol=EXACT_RTOL, atol=0)
    np.testing.assert_allclose(
        rcs_basis(x, knots), np.array(case["basis"]), rtol=BASIS_TOL, atol=BASIS_TOL
    )


def test_missing_values_are_ignored_for_knots():
    """rcspline.eval drops NA before placing knots."""
    x = np.array(KNOT_CASES["small_n"]["x"], dtype=float)
    np.testing.assert_array_equal(rcs_knots(np.r_[x, np.nan]), rcs_knots(x))


def synthetic(name: str, endpoint: str, adjusted: bool) -> tuple:
    frame = data(name)
    adjust = design_matrix(frame, SYNTHETIC_ADJUST) if adjusted else None
    return frame[f"{endpoint}_months"], frame[f"{endpoint}_event"], frame["mg_mmol_l"], adjust


def lung(adjusted: bool) -> tuple:
    frame = data("lung")
    adjust = design_matrix(frame, LUNG_ADJUST) if adjusted else None
    return frame["time"], frame["status"], frame["age"], adjust


MODELS = {
    ("synthetic_400_os", "unadjusted"): lambda: synthetic("synthetic_400", "os", False),
    ("synthetic_400_os", "adjusted"): lambda: synthetic("synthetic_400", "os", True),
    ("synthetic_400_pfs", "unadjusted"): lambda: synthetic("synthetic_400", "pfs", False),
    ("synthetic_400_pfs", "adjusted"): lambda: synthetic("synthetic_400", "pfs", True),
    ("synthetic_untied_300_os", "unadjusted"): lambda: synthetic(
        "synthetic_untied_300", "os", False
    ),
    ("lung_age", "unadjusted"): lambda: lung(False),
    ("lung_age", "adjusted"): lambda: lung(True),
}


@pytest.mark.parametrize("key", list(MODELS), ids=lambda k: "-".join(k))
def test_spline_cox_equals_rms(key):
    """Knots, coefficients, LR test of non-linearity, linear HR and the HR curve (Predict)."""
    expected = fixture(key[0])[key[1]]
    time, event, x, adjust = MODELS[key]()
    result = spline_cox(
        time,
        event,
        x,
        adjust=adjust,
        reference=expected["reference"],
        per=expected["per"],
        label=expected["label"],
    )
    np.testing.assert_allclose(result.knots, expected["knots"], rtol=EXACT_RTOL, atol=0)
    assert (result.n, result.events, result.lr_df) == (
        expected["n"],
        expected["events"],
        expected["lr_df"],
    )
    assert_coefficients_equal(result.coefficients, expected["coefficients"])
    np.testing.assert_allclose(
        [result.loglik_spline, result.loglik_linear],
        [expected["loglik_spline"], expected["loglik_linear"]],
        rtol=LOGLIK_RTOL,
    )
    np.testing.assert_allclose(
        [result.lr_statistic, result.lr_p],
        [expected["lr_statistic"], expected["lr_p"]],
        rtol=LR_RTOL,
    )
    linear = expected["linear"]
    np.testing.assert_allclose(
        [result.linear[k] for k in linear], list(linear.values()), rtol=LINEAR_RTOL
    )
    assert_curve_equal(result.curve, expected["curve"], expected["reference"])


def assert_coefficients_equal(table: pd.DataFrame, expected: dict) -> None:
    assert table["term"].tolist() == expected["term"]
    for column, rtol in (("coef", COEF_RTOL), ("se", SE_RTOL), ("hr", HR_RTOL)):
        np.testing.assert_allclose(table[column], expected[column], rtol=rtol, err_msg=column)
    for column in ("z", "p"):
        np.testing.assert_allclose(table[column], expected[column], rtol=HR_RTOL, err_msg=column)


def assert_curve_equal(curve: pd.DataFrame, expected: dict, reference: float) -> None:
    np.testing.assert_allclose(curve["mg_mmol_l"], expected["x"], rtol=EXACT_RTOL, atol=0)
    assert reference in curve["mg_mmol_l"].to_numpy()
    np.testing.assert_allclose(curve["log_hr"], expected["log_hr"], rtol=0, atol=LOG_HR_ATOL)
    np.testing.assert_allclose(curve["se"], expected["se"], rtol=CURVE_SE_RTOL, atol=0)
    for column in ("hr", "hr_lower", "hr_upper"):
        np.testing.assert_allclose(
            curve[column], expected[column], rtol=CURVE_HR_RTOL, atol=0, err_msg=column
        )
