"""The report's weighting analysis (inverse probability of treatment weighting): the
sentence and table of weighted HRs beside the adjusted ones, its three figures, the note
when it was not computed or gave no estimate, and its Methods item."""

from __future__ import annotations

import pandas as pd
import pytest

from mgsurv.contract import KEY_TERM, arm_model
from mgsurv.report.formatting import ordinal
from mgsurv.report.page import render_report
from test_headline import text
from test_report import IPTW_HR, IPTW_SMD, part, run, settings, toy_tables


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return toy_tables()


@pytest.fixture(scope="module")
def html(tables) -> str:
    return render_report(tables, settings(), run())


def adjusted_hr(tables: dict, endpoint: str, arm: str) -> str:
    """The arm model's low-Mg HR as the table shows it ("NA" where the toy Cox table has
    no such model: OS)."""
    cox = tables["cox"]
    rows = cox[
        (cox["endpoint"] == endpoint) & (cox["model"] == arm_model(arm)) & (cox["term"] == KEY_TERM)
    ]
    return f"{float(rows['hr'].iloc[0]):.2f} (" if len(rows) else "NA"


def test_the_weighted_hr_of_the_primary_population_is_read_beside_the_adjusted_one(tables, html):
    shown = text(part(html, "iptw", "evalue"))
    hr = IPTW_HR[("pfs", "immunotherapy")]
    assert f"in the immunotherapy arm: HR {hr:.2f} (robust 95% CI {hr / 1.9:.2f}–" in shown
    assert f"against {adjusted_hr(tables, 'pfs', 'immunotherapy')}" in shown
    before, after = (max(abs(v[i]) for v in IPTW_SMD.values()) for i in (0, 1))
    assert f"is {after:.3f} after weighting ({before:.3f} before)" in shown
    assert "the covariates are balanced after weighting" in shown
    for (endpoint, arm), weighted in IPTW_HR.items():
        assert f"{weighted:.2f} ({weighted / 1.9:.2f}–{weighted * 1.9:.2f})" in shown, (
            endpoint,
            arm,
        )
        assert adjusted_hr(tables, endpoint, arm) in shown
    assert 'href="#iptw"' in html  # listed in the contents


def test_three_figures_each_an_image_with_its_name(html):
    section = part(html, "iptw", "evalue")
    for figure in ("iptw-balance-pfs", "iptw-weights-pfs", "iptw-km-pfs"):
        assert f'id="figure-{figure}"' in section
    assert section.count('role="img"') == 3
    # the love plot names each covariate level as the report does
    assert "Sex: female" in section and "Age" in section
    shown = text(section)
    assert "The weights were not trimmed." in shown
    assert "patients (unweighted) at risk" in shown


def test_no_estimate_gives_the_reason_in_the_table_and_sentence(tables):
    changed = dict(tables)
    cox = tables["iptw_cox"].copy()
    first = cox.index[(cox["endpoint"] == "pfs") & (cox["subset"] == "arm=immunotherapy")][0]
    cox.loc[first, ["coef", "hr", "hr_lower", "hr_upper", "p"]] = float("nan")
    cox.loc[first, "note"] = "no events in the low Mg group"
    changed["iptw_cox"] = cox
    shown = text(part(render_report(changed, settings(), run()), "iptw", "evalue"))
    assert (
        "No weighted hazard ratio in the immunotherapy arm on progression-free survival:"
        " no events in the low Mg group." in shown
    )
    assert "NA: no events in the low Mg group" in shown


def test_switched_off_gives_a_note_and_no_methods_item(tables):
    changed = {
        name: table.iloc[0:0] if name.startswith("iptw_") else table
        for name, table in tables.items()
    }
    html = render_report(changed, settings(config={"iptw": None}), run())
    assert "Not computed (iptw: null in the config)." in text(part(html, "iptw", "evalue"))
    assert "stabilised inverse probability of treatment weights" not in text(
        part(html, "methods", "appendix")
    )


def test_methods_state_the_trimming_from_the_config(tables):
    trimmed = settings(config={"iptw": {"trim_percentile": 99}})
    methods = text(part(render_report(tables, trimmed, run()), "methods", "appendix"))
    assert "trimmed at the 1th and 99th percentiles" not in methods
    assert "trimmed at the 1st and 99th percentiles (as WeightIt's trim)" in methods
    assert "robust = TRUE" in methods


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (21, "21st"),
        (95, "95th"),
        (99, "99th"),
        (97.5, "97.5th"),
        (2.5, "2.5th"),
    ],
)
def test_percentiles_are_written_as_ordinals(number, expected):
    assert ordinal(number) == expected


def test_a_group_below_the_sharing_threshold_shows_only_its_count(tables):
    """The toy low-Mg groups have 8 patients: with k = 10 their weights' effective n and
    quantiles are hidden (they would bound the count) and their boxes not drawn."""
    html = render_report(tables, settings(report_min_count=10), run())
    shown = text(part(html, "iptw", "evalue"))
    assert "low Mg <10 – – – – –" in shown
    assert "normal Mg 16 15.3 0.610 0.970 1.930 0" in shown
    assert "(groups below the sharing threshold not drawn)" in shown
    assert "7.3" not in shown  # the low groups' effective n
