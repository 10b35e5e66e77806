"""The report's multiple-imputation analysis: complete-case and pooled HRs side by side,
the missingness per Mg group, and the notes when nothing was imputed or it was off."""

from __future__ import annotations

import pandas as pd
import pytest

from mgsurv.contract import KEY_TERM
from mgsurv.report.page import render_report
from test_headline import text
from test_report import IMPUTED_HR, part, run, settings, toy_tables


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return toy_tables()


def complete_case(tables: dict, model: str) -> pd.Series:
    cox = tables["cox"]
    rows = cox[(cox["endpoint"] == "pfs") & (cox["model"] == model) & (cox["term"] == KEY_TERM)]
    return rows.iloc[0]


def test_pooled_hrs_are_shown_beside_the_complete_case_ones(tables):
    html = render_report(tables, settings(), run())
    shown = text(part(html, "imputation", "thresholds"))
    primary = IMPUTED_HR["arm=immunotherapy"]
    complete = complete_case(tables, "arm=immunotherapy")
    assert (
        "With the missing covariates imputed 20 times and the Cox model refitted on all 24"
        f" patients, low vs normal serum Mg on progression-free survival in the immunotherapy"
        f" arm: HR {primary:.2f} ({primary / 1.8:.2f}–{primary * 1.8:.2f}), p = 0.035, against"
        f" {complete['hr']:.2f} ({complete['hr_lower']:.2f}–{complete['hr_upper']:.2f}) in the"
        f" {complete['n']} complete cases." in shown
    )
    for model, hr in IMPUTED_HR.items():
        assert f"{hr:.2f} ({hr / 1.8:.2f}–{hr * 1.8:.2f})" in shown, model
    assert "0.07" in shown  # the fraction of missing information
    # missingness: age, 2 of 48 overall, 1 per group
    assert "Age 2 (4.2%)" in shown and "Sex" not in shown.split("Missing covariate")[1]
    assert 'href="#imputation"' in html
    methods = text(part(html, "methods", "appendix"))
    assert "imputed 20 times by chained equations (5 iterations per chain, seed 2022" in methods
    assert "Barnard-Rubin degrees of freedom" in methods


def test_nothing_missing_and_switched_off_give_notes(tables):
    empty = dict(tables) | {"imputation": tables["imputation"].iloc[0:0]}
    shown = text(part(render_report(empty, settings(), run()), "imputation", "thresholds"))
    assert "No configured covariate is missing among the analysed patients" in shown
    off = settings(config={"multiple_imputation": None})
    shown = text(part(render_report(empty, off, run()), "imputation", "thresholds"))
    assert "Not computed (multiple_imputation: null in the config)." in shown
    methods = text(part(render_report(empty, off, run()), "methods", "appendix"))
    assert "chained equations" not in methods
