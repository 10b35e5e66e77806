"""cox_zph against R survival 3.5-3's cox.zph (fixtures: tests/reference/zph.R), and the
plots' per-coefficient residuals and smooth against cox.zph(terms = FALSE) and
plot.cox.zph (tests/reference/zph_plot.R).

R's results come from coxph(eps = 1e-12) and cox.zph(fit, transform, terms = TRUE,
global = TRUE), for 10 models (strata, multi-column terms, covariates constant within a
stratum, a one-patient stratum) and the transforms km, rank, identity and log.

Two levels, with tolerances per quantity:
* the algorithm, fed R's coefficients: chi-square and p per term and GLOBAL 1e-10 relative
  (~1e-13 measured), df exact; zp$x and zp$time 1e-12 relative, strata labels exact;
  scaled Schoenfeld residuals zp$y 1e-10 relative (~1e-11 measured; a residual near 0 has
  fewer exact digits), NA exactly where R has NA; zp$var 1e-10 relative; unstratified,
  zp$var also equals what R's fit$var implies (the information built here is coxph's);
* the pipeline, fed the coefficients of its fitter (mgsurv.stats.coxph_port.coxph_fit with
  mgsurv.stats.cox.R_CONTROL), which agree with R to 1e-9 relative (6e-13 measured): chi-square
  and p 1e-6 relative (2e-13 measured), residuals 1e-8 of each term's largest absolute
  residual (3e-14 measured). These tolerances date from lifelines' fits, which stopped one
  Newton step short of coxph (4e-10 on veteran; 6e-8 in chi-square).
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pandas as pd
import pytest

from mgsurv.stats.cox import R_CONTROL
from mgsurv.stats.coxph_port import coxph_fit
from mgsurv.stats.zph import cox_zph
from mgsurv.stats.zph_plot import zph_smooth
from support import REFERENCE

COEF_RTOL = 1e-9
TEST_RTOL = 1e-10
TIME_RTOL = 1e-12
RESID_RTOL = 1e-10
VAR_RTOL = 1e-10
PIPELINE_TEST_RTOL = 1e-6
PIPELINE_RESID_SCALED = 1e-8
CELLTYPES = ["squamous", "smallcell", "adeno", "large"]
SYNTHETIC_LEVELS = {
    "arm": ["chemotherapy", "immunotherapy"],
    "sex": ["male", "female"],
    "ecog": ["0", "1"],
    "histology": ["non-squamous", "squamous"],
    "pdl1": ["<1%", "1-49%", ">=50%"],
}


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / name)


def dummies(values: pd.Series, name: str, levels: list[str]) -> pd.DataFrame:
    """R's treatment contrasts: one 0/1 column per non-reference level, named as R does."""
    text = values.astype(str)
    return pd.DataFrame({f"{name}{level}": (text == level).astype(float) for level in levels[1:]})


def lung(strata: str | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series | None]:
    """Complete cases; strata None, "ph.ecog", or "reversed" (3 - ph.ecog: the stratum of
    the one ph.ecog = 3 patient first)."""
    data = read("lung.csv").dropna().astype({"ph.ecog": int}).reset_index(drop=True)
    if strata is None:
        return data, data[["age", "sex", "ph.ecog"]].astype(float), None
    ecog = data["ph.ecog"] if strata == "ph.ecog" else 3 - data["ph.ecog"]
    return data, data[["age", "sex"]].astype(float), ecog


def veteran(strata: bool) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series | None]:
    data = read("veteran.csv")
    if strata:
        return (
            data,
            data[["karno", "age"]].astype(float),
            pd.Categorical(data["celltype"], categories=CELLTYPES),
        )
    design = pd.concat(
        [data[["trt"]], dummies(data["celltype"], "celltype", CELLTYPES), data[["karno", "age"]]],
        axis=1,
    )
    return data, design.astype(float), None


def veteran_partial() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """karno constant (60) for trt = 2; no "large" cell type (recoded adeno) for trt = 1."""
    data = read("veteran.csv")
    cell2 = data["celltype"].where(~((data["trt"] == 1) & (data["celltype"] == "large")), "adeno")
    design = pd.concat(
        [
            dummies(cell2, "cell2", CELLTYPES),
            pd.DataFrame({"karno2": np.where(data["trt"] == 2, 60.0, data["karno"])}),
            data[["age"]].astype(float),
        ],
        axis=1,
    )
    return data, design, data["trt"]


def synthetic(
    file: str, endpoint: str, strata: bool
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series | None]:
    """mgsurv's default model: low Mg (< 0.70 mmol/L), arm (the strata if ``strata``), age,
    sex, ecog, histology and pdl1."""
    data = read(file).rename(columns={f"{endpoint}_months": "time", f"{endpoint}_event": "status"})
    columns = [pd.DataFrame({"mg_low": (data["mg_mmol_l"] < 0.70).astype(float)})]
    names = ["arm", "age", "sex", "ecog", "histology", "pdl1"][1 if strata else 0 :]
    for name in names:
        if name == "age":
            columns.append(data[["age"]].astype(float))
        else:
            columns.append(dummies(data[name], name, SYNTHETIC_LEVELS[name]))
    return data, pd.concat(columns, axis=1), data["arm"] if strata else None


CASES = {
    "lung": lambda: lung(strata=None),
    "lung_strata": lambda: lung(strata="ph.ecog"),
    "lung_strata_reversed": lambda: lung(strata="reversed"),
    "veteran": lambda: veteran(strata=False),
    "veteran_strata": lambda: veteran(strata=True),
    "veteran_partial": veteran_partial,
    "synthetic_400_os": lambda: synthetic("synthetic_400.csv", "os", strata=False),
    "synthetic_400_pfs": lambda: synthetic("synthetic_400.csv", "pfs", strata=False),
    "synthetic_400_os_strata": lambda: synthetic("synthetic_400.csv", "os", strata=True),
    "synthetic_untied_300_os": lambda: synthetic("synthetic_untied_300.csv", "os", strata=False),
}


def fixture(case: str) -> dict:
    return json.loads((REFERENCE / "fixtures" / f"zph_{case}.json").read_text())


def as_array(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.atleast_1d(values)], dtype=float)


def pipeline_beta(data: pd.DataFrame, design: pd.DataFrame, strata) -> np.ndarray:
    """The pipeline's fit (mgsurv.stats.cox.fit_cox): coxph_fit, Efron, with R_CONTROL."""
    strata = None if strata is None else np.asarray(strata).astype(str)
    return coxph_fit(design, data["time"], data["status"], strata=strata, **R_CONTROL).coef


def terms_of(expected: dict) -> dict[str, list[str]]:
    return {term: list(np.atleast_1d(columns)) for term, columns in expected["assign"].items()}


UNSTRATIFIED = [case for case in CASES if "strata(" not in fixture(case)["formula"]]


@cache
def load(case: str) -> dict:
    """One case: its data, design, strata and R's fixture."""
    data, design, strata = CASES[case]()
    expected = fixture(case)
    assert list(design.columns) == expected["coef_names"]
    assert (len(design), int(data["status"].sum())) == (expected["n"], expected["events"])
    return {"data": data, "design": design, "strata": strata, "expected": expected}


def run(model: dict, beta, transform: str):
    return cox_zph(
        model["design"],
        model["data"]["time"],
        model["data"]["status"],
        beta,
        terms_of(model["expected"]),
        transform=transform,
        strata=model["strata"],
    )


def r_results(case: str):
    """(message, cox_zph result with R's beta, R's cox.zph) per transform of a case."""
    model = load(case)
    for transform, expected in model["expected"]["zph"].items():
        yield f"{case} {transform}", run(model, model["expected"]["coef"], transform), expected


@pytest.mark.parametrize("case", list(CASES))
def test_table_equals_r(case):
    """Terms, chi-square, df and p per term and GLOBAL (R's zp$table)."""
    for message, result, expected in r_results(case):
        assert result.table["term"].to_list() == expected["term"], message
        np.testing.assert_array_equal(result.table["df"], expected["df"], err_msg=message)
        for column, key in (("chi2", "chisq"), ("p", "p")):
            np.testing.assert_allclose(
                result.table[column], expected[key], rtol=TEST_RTOL, err_msg=f"{message} {key}"
            )


@pytest.mark.parametrize("case", list(CASES))
def test_residuals_and_var_equal_r(case):
    """zp$time, zp$x, zp$strata, zp$y (scaled Schoenfeld residuals, NA included), zp$var."""
    stratified = load(case)["strata"] is not None
    for message, result, expected in r_results(case):
        residuals = result.residuals
        np.testing.assert_allclose(residuals["time"], expected["time"], rtol=TIME_RTOL)
        np.testing.assert_allclose(
            residuals["transformed_time"], expected["x"], rtol=TIME_RTOL, err_msg=message
        )
        assert ("stratum" in residuals) == stratified, message
        if stratified:
            labels = [str(v).rsplit("=", 1)[-1] for v in expected["strata"]]
            assert residuals["stratum"].astype(str).to_list() == labels, message
        assert list(residuals.columns[-len(expected["y"]) :]) == list(expected["y"]), message
        for term, values in expected["y"].items():
            np.testing.assert_allclose(
                residuals[term],
                as_array(values),
                rtol=RESID_RTOL,
                equal_nan=True,
                err_msg=f"{message} y[{term}]",
            )
        np.testing.assert_allclose(
            result.var.to_numpy(),
            np.array(expected["var"], ndmin=2),
            rtol=VAR_RTOL,
            err_msg=message,
        )


@pytest.mark.parametrize("case", UNSTRATIFIED)
def test_information_is_coxphs(case):
    """Unstratified, zp$var = (T' I T / events)^-1 with I = fit$var^-1 (R's coxph) and T the
    term weights (1 for a one-column term, its coefficients for a multi-column one): the
    Efron information built here is the one coxph inverts."""
    model = load(case)
    expected = model["expected"]
    coef = np.array(expected["coef"])
    weights = np.zeros((len(coef), len(expected["assign"])))
    for i, columns in enumerate(terms_of(expected).values()):
        rows = [expected["coef_names"].index(column) for column in columns]
        weights[rows, i] = 1.0 if len(rows) == 1 else coef[rows]
    information = np.linalg.inv(np.array(expected["fit_var"], ndmin=2))
    wanted = np.linalg.inv(weights.T @ information @ weights / expected["events"])
    np.testing.assert_allclose(run(model, coef, "km").var.to_numpy(), wanted, rtol=VAR_RTOL)


@pytest.mark.parametrize("case", list(CASES))
def test_pipeline_fit_equals_r(case):
    """The pipeline's path: beta from coxph_fit, then cox_zph, against R's cox.zph."""
    model = load(case)
    beta = pipeline_beta(model["data"], model["design"], model["strata"])
    np.testing.assert_allclose(beta, model["expected"]["coef"], rtol=COEF_RTOL)
    for transform, expected in model["expected"]["zph"].items():
        result = run(model, beta, transform)
        message = f"{case} {transform}"
        for column, key in (("chi2", "chisq"), ("p", "p")):
            np.testing.assert_allclose(
                result.table[column], expected[key], rtol=PIPELINE_TEST_RTOL, err_msg=message
            )
        for term, values in expected["y"].items():
            wanted = as_array(values)
            np.testing.assert_allclose(
                result.residuals[term],
                wanted,
                rtol=0,
                atol=PIPELINE_RESID_SCALED * np.nanmax(np.abs(wanted)),
                equal_nan=True,
                err_msg=f"{message} y[{term}]",
            )


def test_unknown_transform_and_bad_terms_are_rejected():
    data, design, _ = lung(strata=None)
    args = (design, data["time"], data["status"], np.zeros(3))
    terms = {name: [name] for name in design.columns}
    with pytest.raises(ValueError, match="transform"):
        cox_zph(*args, terms, transform="sqrt")
    with pytest.raises(ValueError, match="terms"):
        cox_zph(*args, {"age": ["age"], "sex": ["sex"]})


# --- the plots: one panel per coefficient, R's smooth and band (tests/reference/zph_plot.R)

PLOT_CASES = ["veteran", "synthetic_400_pfs"]


def plot_fixture(case: str) -> dict:
    return json.loads((REFERENCE / "fixtures" / f"zph_plot_{case}.json").read_text())


@pytest.mark.parametrize("case", PLOT_CASES)
def test_residuals_per_coefficient_equal_r_terms_false(case):
    """cox.zph(fit, terms = FALSE): one residual column per coefficient (a 3-level factor
    gives 3 panels, not 1), and zp$var per coefficient."""
    model, expected = load(case), plot_fixture(case)
    assert list(model["design"].columns) == expected["coef_names"]
    for transform, entry in expected["zph"].items():
        result = cox_zph(
            model["design"],
            model["data"]["time"],
            model["data"]["status"],
            expected["coef"],
            terms_of(model["expected"]),
            transform=transform,
            per_coefficient=True,
        )
        residuals = result.coefficient_residuals
        np.testing.assert_allclose(residuals["transformed_time"], entry["x"], rtol=TIME_RTOL)
        for coefficient, values in entry["y"].items():
            np.testing.assert_allclose(
                residuals[coefficient], as_array(values), rtol=RESID_RTOL, equal_nan=True
            )
        np.testing.assert_allclose(
            result.coefficient_var.to_numpy(), np.array(entry["var"]), rtol=VAR_RTOL
        )


@pytest.mark.parametrize("case", PLOT_CASES)
def test_smooth_and_band_equal_plot_cox_zph(case):
    """plot.cox.zph's natural-spline smooth (df 4) at its 40 points and its +-2 SE band,
    from R's own residuals: 1e-10 relative (~1e-14 measured)."""
    for transform, entry in plot_fixture(case)["zph"].items():
        var = np.array(entry["var"])
        for i, (coefficient, values) in enumerate(entry["y"].items()):
            smooth = zph_smooth(entry["x"], as_array(values), var[i, i])
            wanted = entry["smooth"][i]
            assert wanted["coefficient"] == coefficient
            for column, key in [
                ("transformed_time", "x"),
                ("fit", "fit"),
                ("lower", "lower"),
                ("upper", "upper"),
            ]:
                np.testing.assert_allclose(
                    smooth[column], wanted[key], rtol=1e-10, atol=1e-12, err_msg=transform
                )
