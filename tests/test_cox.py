"""mgsurv.stats.cox.fit_cox on the paths of its fitter, mgsurv.stats.coxph_port.coxph_fit,
that ordinary data does not take: aliased (collinear) columns, iterations running out, data
coxph_fit rejects, and a separation on a combination of columns whose log-likelihood reaches 0.

R references: survival 3.5-3, coxph(..., ties = "efron", control = coxph.control(eps =
1e-12, toler.chol = 1e-15, iter.max = 100)), as tests/reference/make_fixtures.R.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from mgsurv.stats import cox
from mgsurv.stats.cox import Term, fit_cox
from mgsurv.stats.coxph_port import coxph_fit
from support import REFERENCE

LUNG = pd.read_csv(REFERENCE / "data" / "lung.csv").assign(sex=lambda d: d["sex"].astype(str))
LUNG_TERMS = [
    Term("sex", "categorical", reference="1"),
    Term("age", "numeric"),
    Term("ph.ecog", "numeric"),
]
# R: lung$age2 <- lung$age; fit <- coxph(Surv(time, status) ~ sex + age + age2 + ph.ecog)
# gives NA for age2 and, for the others, the coefficients of the fit without it
# (fixtures/lung.json); fit$loglik, summary(fit)$logtest (df 3), fit$concordance:
R_DUPLICATE_AGE = {
    "loglik": -729.23012137486216,
    "lr_statistic": 30.500668773156121,
    "lr_p": 1.0828176991989375e-06,
    "concordance": 0.63713549300045491,
}


def test_an_aliased_column_gets_nan_and_the_others_r_estimates():
    """A copy of age: R reports NA for the later column and fits the others; so does fit_cox,
    saying which column it was, and the fit it returns (design, covariance, df) is the fit
    without the copy."""
    data = LUNG.assign(age2=LUNG["age"])
    terms = [*LUNG_TERMS[:2], Term("age2", "numeric"), LUNG_TERMS[2]]
    fit = fit_cox(data, "time", "status", terms)
    table = fit.coefficients.set_index("term")
    assert table.index.tolist() == ["sex[2 vs 1]", "age", "age2", "ph.ecog"]
    assert table.loc["age2", ["coef", "se", "hr", "p"]].isna().all()
    assert fit.stats["note"] == (
        "age2 not estimable: collinear with the other design columns (R: NA)"
    )
    expected = json.loads((REFERENCE / "fixtures" / "lung.json").read_text())["cox"]
    estimated = table.drop(index="age2").loc[expected["term"]]
    for column in ("coef", "se", "hr", "hr_lower", "hr_upper"):
        np.testing.assert_allclose(estimated[column], expected[column], rtol=1e-8, err_msg=column)
    for column in ("z", "p"):
        np.testing.assert_allclose(estimated[column], expected[column], rtol=1e-7, err_msg=column)
    assert fit.stats["parameters"] == fit.stats["lr_df"] == 3
    for key, value in R_DUPLICATE_AGE.items():
        assert fit.stats[key] == pytest.approx(value, rel=1e-8), key

    alone = fit_cox(LUNG, "time", "status", LUNG_TERMS)
    assert list(fit.design.columns) == list(alone.design.columns) == expected["term"]
    pd.testing.assert_frame_equal(fit.covariance, alone.covariance, rtol=1e-12)
    assert fit.term_columns == alone.term_columns
    complete = LUNG.dropna(subset=["time", "status", "sex", "age", "ph.ecog"])
    direct = coxph_fit(
        alone.design, complete["time"], complete["status"], **cox.R_CONTROL, concordance=False
    )
    np.testing.assert_allclose(table.loc[expected["term"], "coef"], direct.coef, rtol=1e-12)


def test_iterations_running_out_make_the_model_not_estimable(monkeypatch):
    """With iter.max = 100 the iterations run out in practice only on a separation, which the
    divergence check names first (below); a smaller iter.max reaches this path."""
    monkeypatch.setitem(cox.R_CONTROL, "iter_max", 1)
    fit = fit_cox(LUNG, "time", "status", LUNG_TERMS)
    assert not fit.stats["converged"]
    assert fit.stats["note"] == (
        "not estimable: the fit did not converge (ran out of iterations: iter.max = 1)"
    )
    assert fit.coefficients["term"].tolist() == ["sex[2 vs 1]", "age", "ph.ecog"]
    assert fit.coefficients["coef"].isna().all() and fit.covariance.empty


def test_data_the_fitter_rejects_make_the_model_not_estimable():
    data = LUNG.astype({"time": float})
    data.loc[data.index[5], "time"] = np.inf
    fit = fit_cox(data, "time", "status", LUNG_TERMS)
    assert not fit.stats["converged"] and fit.coefficients["coef"].isna().all()
    assert fit.stats["note"].startswith("not estimable: the fit failed (x and time must be finite")


# 8 patients (6 events) that no single column separates, but a combination does.
SEPARATED_BY_A_COMBINATION = pd.DataFrame(
    {
        "mg": [7.7, 7.7, 6.6, 9.6, 7.8, 6.4, 9.1, 7.1],
        "arm": [0.0, 0, 1, 0, 0, 1, 0, 0],
        "age": [60.0, 47, 78, 72, 72, 70, 64, 65],
        "sex": [1.0, 0, 0, 0, 0, 0, 1, 1],
        "ecog": [1.0, 0, 1, 0, 0, 1, 1, 0],
        "time": [2.9, 29.3, 3, 6.5, 4.3, 14.1, 2.2, 29.6],
        "status": [1, 0, 1, 1, 1, 0, 1, 1],
    }
)
SEPARATED_TERMS = [Term(name, "numeric") for name in ("mg", "arm", "age", "sex", "ecog")]


def test_a_separation_whose_log_likelihood_reaches_zero_is_named():
    """No single column separates these 8 patients (6 events), a combination does: the
    log-likelihood rises to exactly 0 in double precision. R runs out of iterations here
    ("Ran out of iterations and did not converge", |coef| up to 456); fit_cox reports the
    separation."""
    data = SEPARATED_BY_A_COMBINATION
    fit = fit_cox(data, "time", "status", SEPARATED_TERMS)
    assert not fit.stats["converged"] and fit.coefficients["coef"].isna().all()
    assert "monotone likelihood / separation" in fit.stats["note"]
    assert "the estimate diverges" in fit.stats["note"]


def test_a_column_aliased_while_the_others_diverge_is_the_separation(monkeypatch):
    """Where the estimates run off, the information matrix degenerates and whether a column
    is deemed aliased hangs on rounding (it differed between OpenBLAS kernels on the
    separation above). Such a fit is the separation, not a reason to refit without the
    column: here the fitter is made to alias the last column of a diverging fit, which
    fit_cox must report as separation and not as a collinear column."""
    data = SEPARATED_BY_A_COMBINATION

    def aliasing_the_last_column(x, *args, **kwargs):
        result = coxph_fit(x, *args, **kwargs)
        aliased = np.zeros(x.shape[1], dtype=bool)
        aliased[-1] = x.shape[1] == 5
        coef = np.where(aliased, np.nan, result.coef)
        return dataclasses.replace(result, aliased=aliased, coef=coef)

    monkeypatch.setattr(cox, "coxph_fit", aliasing_the_last_column)
    fit = fit_cox(data, "time", "status", SEPARATED_TERMS)
    assert not fit.stats["converged"] and fit.coefficients["coef"].isna().all()
    assert "the estimate diverges" in fit.stats["note"]
    assert "collinear" not in fit.stats["note"]
