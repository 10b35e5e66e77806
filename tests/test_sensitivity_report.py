"""The report's sensitivity analyses: the E-value of the primary estimate, with the numbers
of mgsurv.stats.evalue for the primary Cox row, the conversion it used, and a note when
there is no primary estimate."""

from __future__ import annotations

import pandas as pd
import pytest

from mgsurv.report.page import render_report
from mgsurv.report.primary import CONTRASTS, arm_model
from mgsurv.stats.evalue import COMMON_OUTCOME, hazard_ratio_evalue
from test_headline import text
from test_report import part, run, settings, toy_tables


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return toy_tables()


def primary_row(tables: dict) -> pd.Series:
    """The primary estimate of the shipped settings: low vs normal Mg in the immunotherapy
    arm's own Cox model, on PFS."""
    cox = tables["cox"]
    rows = cox[
        (cox["endpoint"] == "pfs")
        & (cox["model"] == arm_model("immunotherapy"))
        & (cox["term"] == CONTRASTS["low_vs_normal"].term)
    ]
    (index,) = rows.index
    return rows.loc[index]


def test_the_e_value_of_the_primary_estimate_is_shown_with_its_conversion(tables):
    html = render_report(tables, settings(), run())
    shown = text(part(html, "sensitivity", "methods"))
    row = primary_row(tables)
    common = bool(row["events"] / row["n"] > COMMON_OUTCOME)
    found = hazard_ratio_evalue(row["hr"], row["hr_lower"], row["hr_upper"], common)
    assert f"by a risk ratio of {found.point:.2f} each" in shown
    assert ("the outcome is common" in shown) is common
    assert f"{found.point:.2f}" in shown and "VanderWeele & Ding" in shown
    assert 'href="#evalue"' in html  # listed in the contents


def test_a_rare_outcome_keeps_the_hr_and_a_ci_across_1_says_so(tables):
    changed = {name: table.copy() for name, table in tables.items()}
    cox = changed["cox"]
    row = primary_row(tables)
    cox.loc[row.name, ["hr", "hr_lower", "hr_upper", "events", "n"]] = [1.5, 0.9, 2.5, 10, 200]
    shown = text(part(render_report(changed, settings(), run()), "sensitivity", "methods"))
    found = hazard_ratio_evalue(1.5, 0.9, 2.5, common=False)
    assert "5.0% of the primary population's patients had the event" in shown
    assert "the HR is taken as the risk ratio" in shown
    assert f"by a risk ratio of {found.point:.2f} each" in shown
    assert "its confidence interval already includes 1" in shown


def test_no_primary_estimate_gives_a_note(tables):
    changed = {name: table.copy() for name, table in tables.items()}
    changed["cox"].loc[primary_row(tables).name, ["hr", "hr_lower", "hr_upper"]] = float("nan")
    shown = text(part(render_report(changed, settings(), run()), "sensitivity", "methods"))
    assert "No E-value: the report has no estimable primary hazard ratio" in shown


def test_the_threshold_grid_of_the_primary_population(tables):
    """The immunotherapy arm's rows on the primary endpoint: its HR range, the pre-specified
    row marked, a figure with an accessible name, and small counts hidden when sharing."""
    html = render_report(tables, settings(report_min_count=5), run())
    section = part(html, "thresholds", "methods")
    shown = text(section)
    assert "refitted in the immunotherapy arm on progression-free survival with the arm's own" in (
        shown
    )
    assert "from 1.26 to 2.46; of 6 estimable thresholds, 2 give a 95% CI above 1 and 0" in shown
    assert "0.70 (pre-specified)" in shown
    assert 'id="figure-thresholds-pfs"' in section and 'role="img"' in section
    assert "outlined where fewer than the sharing threshold" in shown
    assert "<5" in shown  # the 3 patients below 0.60


def test_the_spline_is_drawn_beside_the_grid_when_there_is_one(tables):
    """Serum Mg without a cut beside the grid, with the all-patients grid dashed (the
    spline's population), named in the caption; a cohort without a spline curve (e.g. too
    few events) keeps the grid alone."""
    figure = part(render_report(tables, settings(), run()), "thresholds", "subgroups")
    assert "Serum Mg without a cut: restricted cubic spline" in figure
    assert "HR below the threshold, all patients (as the spline)" in figure
    assert "the dashed line on the left is the grid of all patients" in text(figure)
    without = dict(tables) | {"spline": tables["spline"].iloc[0:0]}
    figure = part(render_report(without, settings(), run()), "thresholds", "subgroups")
    assert "restricted cubic spline, all patients" not in figure
    assert 'id="figure-thresholds-pfs"' in figure


def test_a_switched_off_grid_says_so(tables):
    changed = dict(tables) | {"thresholds": tables["thresholds"].iloc[0:0]}
    shown = text(part(render_report(changed, settings(), run()), "thresholds", "methods"))
    assert "Not computed (threshold_grid: null in the config)." in shown


def test_methods_state_the_sensitivity_analyses(tables):
    shown = text(part(render_report(tables, settings(), run()), "methods", "appendix"))
    assert "Sensitivity analyses: the E-value (VanderWeele & Ding 2017)" in shown
    assert "every value from 0.60 to 0.85 mmol/L in steps of 0.05, in all patients" in shown


def test_the_subgroup_forest_names_each_level_and_each_interaction_p(tables):
    html = render_report(tables, settings(), run())
    section = part(html, "subgroups", "methods")
    shown = text(section)
    assert (
        "Sex (interaction p = 0.43)" in shown and "Treatment arm (interaction p = 0.046)" in shown
    )
    assert "female (22, 18 events)" in shown and "63 or above (24, 19 events)" in shown
    assert "2.22 (1.17–4.22)" in shown  # female: 2.2222 (2.2222/1.9–2.2222×1.9)
    assert 'id="figure-subgroups-pfs"' in section and 'role="img"' in section
    assert "a single p below 0.05 is expected by chance" in shown


def test_subgroups_without_estimates_give_a_note(tables):
    changed = dict(tables) | {"subgroups": tables["subgroups"].iloc[0:0]}
    shown = text(part(render_report(changed, settings(), run()), "subgroups", "methods"))
    assert "No subgroup hazard ratio could be estimated." in shown
    off = settings(config={"subgroups": False})
    shown = text(part(render_report(changed, off, run()), "subgroups", "methods"))
    assert "Not computed (subgroups: false in the config)." in shown
