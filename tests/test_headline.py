"""The report's answer to the article's question: the headline box (the declared primary
analysis first), Figure 1 (Kaplan-Meier by Mg within each arm) and the low-Mg forest plot,
for a two-arm cohort, a cohort whose arms are named otherwise, a single-arm cohort and one
whose arms are not declared.

The tables are test_report's toy tables (PFS: low-Mg HR 2.46 in the immunotherapy arm's own
model, 1.12 in chemotherapy, interaction p 0.12; OS: no per-arm rows).
"""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

import pandas as pd
import pytest

from mgsurv.report.formatting import format_p, in_sentence
from mgsurv.report.page import render_report
from mgsurv.report.primary import (
    PRIMARY,
    SECONDARY,
    EndpointAnswer,
    Estimate,
    answers,
    interaction_p,
    treatments,
)
from mgsurv.report.sections.continuous import threshold_cut
from mgsurv.report.sections.headline import shown, verdict
from mgsurv.settings import PrimarySettings
from test_report import parse_tables, part, pooled, run, settings, toy_tables

KEY_TERM = "mg_clinical[low vs normal]"


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return toy_tables()


@pytest.fixture(scope="module")
def html(tables: dict) -> str:
    return render_report(tables, settings(), run())


def between(page: str, start: str, end: str) -> str:
    """The page from the text ``start`` up to the next ``end``."""
    begin = page.index(start)
    return page[begin : page.index(end, begin)]


def headline(page: str) -> str:
    return between(page, '<section class="headline"', "<nav")


def text(fragment: str) -> str:
    """What a reader sees of an HTML fragment: tags dropped, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_the_headline_comes_before_the_contents_with_the_primary_hr_first(html: str) -> None:
    assert html.index('<section class="headline"') < html.index("<nav")
    (table,) = parse_tables(headline(html))
    assert table["columns"] == ["Endpoint", "Immunotherapy", "Chemotherapy", "Interaction p"]
    pfs, os_row = table["rows"]
    assert pfs[0] == "PFS (primary)" and os_row[0] == "OS (secondary)"
    assert pfs[1].startswith("HR 2.46 (1.22–4.94), p < 0.001; 25 patients, 21 events")
    assert pfs[2].startswith("HR 1.12 (0.47–2.66), p = 0.80; 23 patients, 18 events")
    assert pfs[3] == "0.12"
    assert os_row[1] == "not in the results"  # the toy OS has no per-arm models
    said = text(headline(html))
    assert "from the Cox model of this arm's patients alone" in said
    assert "not evidence that magnesium causes the difference" in said
    # an interaction p of 0.12 does not show that the effect differs between arms
    assert "do not show that it differs from chemotherapy (interaction p = 0.12)" in said
    assert "Lötscher et al., Cell 2022" in said


def test_the_primary_endpoint_and_model_come_from_the_config(tables: dict) -> None:
    chosen = replace(settings(), primary=PrimarySettings(endpoint="os", model="interaction"))
    (table,) = parse_tables(headline(render_report(tables, chosen, run())))
    first, second = table["rows"]
    assert first[0] == "OS (primary)" and second[0] == "PFS (secondary)"
    # the interaction model's derived row, not the arm's own model (p 0.0004 vs 0.00041)
    assert second[1].startswith("HR 2.46 (1.20–4.90), p < 0.001")
    assert second[2] == "not in the results"  # no derived row for chemotherapy in the toy


def test_figure_1_shows_each_arm_side_by_side_with_its_own_numbers(tables: dict, html: str) -> None:
    arms = part(html, "arms", "flow")
    assert html.index('id="figure-km-pfs-by-arm"') < html.index('id="figure-km-pfs-mg_clinical"')
    for endpoint in ("pfs", "os"):
        figure = between(arms, f'id="figure-km-{endpoint}-by-arm"', "</figure>")
        assert 'id="km-' + endpoint + '-by-arm-risk-table"' in figure
        assert 'id="km-' + endpoint + '-by-arm-risk-table-2"' in figure
        assert 'role="img"' in figure
    summary = tables["km_summary"]
    medians = [t for t in parse_tables(arms) if "median survival by clinical" in t["caption"]]
    assert len(medians) == 2
    pfs = medians[0]
    shown = [(row[0], row[1], row[2]) for row in pfs["rows"]]
    blocks = dict.fromkeys(arm for arm, _, _ in shown if arm)
    assert list(blocks) == ["Immunotherapy", "Chemotherapy"]  # immunotherapy first
    for subset in ("arm=immunotherapy", "arm=chemotherapy"):
        rows = summary[
            (summary["endpoint"] == "pfs")
            & (summary["subset"] == subset)
            & (summary["grouping"] == "mg_clinical")
        ]
        for _, row in rows.iterrows():
            assert any(g == row["group"] and n == str(row["n"]) for _, g, n in shown), row


def test_the_low_mg_forest_plot_has_every_estimate_and_the_interaction(html: str) -> None:
    figure = between(html, 'id="figure-forest-low-mg-pfs"', "</figure>")
    for words in ("unadjusted", "adjusted (arm, covariates)", "arm's own model"):
        assert words in figure
    assert "Mg × arm interaction p = 0.12" in figure
    assert "1.75 (1.03–2.95)" in figure and "2.46 (1.22–4.94)" in figure


def single_arm(tables: dict) -> dict:
    """The toy tables as a single-arm cohort: its rows of all patients only."""
    one = {name: pooled(t) if "subset" in t.columns else t for name, t in tables.items()}
    cox = tables["cox"]
    one["cox"] = cox[~cox["model"].str.startswith("arm=") & (cox["model"] != "interaction")]
    one["arms"] = pd.DataFrame({"arm": ["all patients"], "treatment": ["immunotherapy"], "n": [48]})
    return one


def test_a_single_arm_cohort_is_the_primary_population(tables: dict) -> None:
    page = render_report(single_arm(tables), settings(), run())
    (table,) = parse_tables(headline(page))
    assert table["columns"] == ["Endpoint", "All patients (immunotherapy)"]
    assert table["rows"][0][1].startswith("HR 1.75 (1.03–2.95), p = 0.038")
    said = text(headline(page))
    assert "a single-arm cohort cannot show whether this is specific" in said
    figure = between(page, 'id="figure-km-pfs-by-arm"', "</figure>")
    assert "risk-table-2" not in figure  # one panel
    assert "among the immunotherapy-treated patients, after adjustment" in page


def test_arms_named_otherwise_are_headed_by_their_names(tables: dict) -> None:
    names = {"immunotherapy": "Atezolizumab", "chemotherapy": "Docetaxel"}
    renamed = {}
    for name, table in tables.items():
        table = table.copy()
        for column in ("subset", "model", "term"):
            if column in table.columns:
                for old, new in names.items():
                    table[column] = table[column].astype(str).str.replace(old, new, regex=False)
        renamed[name] = table
    renamed["arms"] = pd.DataFrame(
        {"arm": ["Atezolizumab", "Docetaxel"], "treatment": ["immunotherapy", "other"], "n": 24}
    )
    page = render_report(renamed, settings(), run())
    (table,) = parse_tables(headline(page))
    assert table["columns"][1:3] == ["Immunotherapy (Atezolizumab)", "Docetaxel"]
    assert table["rows"][0][1].startswith("HR 2.46 (1.22–4.94)")
    assert "differs from Docetaxel" in text(headline(page))


def test_undeclared_arms_name_no_primary_analysis_and_pooled_is_called_pooled(
    tables: dict,
) -> None:
    undeclared = tables | {
        "arms": tables["arms"].assign(treatment="not declared"),
    }
    page = render_report(undeclared, settings(), run())
    said = text(headline(page))
    assert "The mapping does not say which arm is immunotherapy" in said
    assert parse_tables(headline(page)) == []
    assert "In plain words: pooled over the arms, after adjustment" in page


def estimate(hr: float, p: float, lower: float = 0.5, upper: float = 3.0) -> Estimate:
    row = pd.Series({"hr": hr, "hr_lower": lower, "hr_upper": upper, "p": p, "n": 9, "events": 9})
    return Estimate(row, "its own model")


def answer(io: Estimate | None, interactions: dict[str, float | None]) -> EndpointAnswer:
    return EndpointAnswer("pfs", PRIMARY, io, [], interactions, estimate(1.0, 1.0))


SHOWN = estimate(1.6, 0.001, 1.2, 2.1)


@pytest.mark.parametrize(
    "io, interactions, words",
    [
        (SHOWN, {"chemo": 0.01}, "differed from that under chemo (interaction p = 0.010): the"),
        (SHOWN, {"chemo": 0.4}, "do not show that it differs from chemo (interaction p = 0.40)"),
        (SHOWN, {"chemo": None}, "whether it differs from chemo could not be estimated"),
        (estimate(1.1, 0.4), {"chemo": 0.01}, "do not show an association"),
        (estimate(0.6, 0.01, 0.4, 0.9), {"chemo": 0.01}, "the opposite of the pattern"),
        (None, {}, "does not say which arm is immunotherapy"),
        # three arms: each comparison with the immunotherapy arm on its own
        (
            SHOWN,
            {"chemo": 0.01, "radio": 0.6},
            "differed from that under chemo (interaction p = 0.010), not clearly from radio"
            " (interaction p = 0.60): in part",
        ),
        (
            SHOWN,
            {"chemo": 0.01, "radio": None},
            "differed from that under chemo (interaction p = 0.010); against radio it was not"
            " tested",
        ),
    ],
)
def test_the_verdict_follows_the_primary_estimate(io, interactions, words) -> None:
    sentence = verdict(answer(io, interactions), list(interactions) or ["chemo"])
    assert words in sentence
    assert "cause" not in sentence.replace("because", "")


def test_only_the_interactions_with_the_immunotherapy_arm_answer_the_question() -> None:
    """With three arms and chemotherapy as the model's reference, the interaction model
    compares immunotherapy with chemotherapy, and radiotherapy with chemotherapy (not a
    question of specificity); immunotherapy vs radiotherapy is not among its terms."""
    arm = "arm[{} vs chemotherapy]"
    rows = pd.DataFrame(
        {
            "term": [f"{KEY_TERM}:{arm.format(a)}" for a in ("immunotherapy", "radiotherapy")],
            "p": [0.3, 0.001],
        }
    )
    assert interaction_p(rows, "immunotherapy", "chemotherapy") == 0.3
    assert interaction_p(rows, "immunotherapy", "radiotherapy") is None
    reference = pd.DataFrame(
        {"term": [f"{KEY_TERM}:arm[chemotherapy vs immunotherapy]"], "p": [0.02]}
    )
    assert interaction_p(reference, "immunotherapy", "chemotherapy") == 0.02


def test_answers_label_the_primary_endpoint_and_the_rest_secondary(tables: dict) -> None:
    found = answers(tables, ["os", "pfs"], PrimarySettings(endpoint="pfs", model="arm"))
    assert [(a.endpoint, a.level) for a in found] == [("pfs", PRIMARY), ("os", SECONDARY)]
    assert [e.source for e in found[0].others] == ["Cox model of this arm's patients alone"]
    assert found[0].pooled.pooled and not found[0].immunotherapy.pooled
    arms = treatments(tables["arms"])
    assert (arms.immunotherapy, arms.others, arms.single_arm) == (
        "immunotherapy",
        ("chemotherapy",),
        False,
    )


def test_a_ph_failure_of_the_arm_points_to_the_model_without_that_assumption(
    tables: dict,
) -> None:
    """The toy PFS multivariable model's arm fails its PH test (p < 0.05): the PH section
    names the stratified model's low-Mg HR."""
    stratified = (
        tables["cox"]
        .iloc[:1]
        .assign(
            model="stratified", term=KEY_TERM, hr=1.6789, hr_lower=1.0123, hr_upper=2.7845, p=0.0449
        )
    )
    page = render_report(
        tables | {"cox": pd.concat([tables["cox"], stratified])}, settings(), run()
    )
    said = text(part(page, "ph-pfs", "ph-os"))
    assert (
        "Treatment arm fails the test: the stratified model gives each level of treatment arm"
        " its own baseline" in said
    )
    assert "it gives the low-Mg HR 1.68 (1.01–2.78), p = 0.045" in said
    assert "fails the test" not in text(part(html_of(tables), "ph-pfs", "ph-os"))


def html_of(tables: dict) -> str:
    return render_report(tables, settings(), run())


def test_a_cut_that_splits_as_the_threshold_is_said_once_not_repeated(tables: dict) -> None:
    """When the data-driven cut puts the same patients in the low group as the threshold,
    its KM figure, tests and Cox rows would repeat the clinical groups': one line says so,
    with the corrected p, and they are left out."""
    assert "figure-km-pfs-mg_cutpoint" in html_of(tables)
    same = tables | {"cutpoint": tables["cutpoint"].assign(same_split_as_threshold=True)}
    page = html_of(same)
    assert "figure-km-pfs-mg_cutpoint" not in page
    assert "exploratory, data-driven cut-point" in text(part(html_of(tables), "km", "rmst"))
    assert "exploratory, data-driven cut-point" not in text(part(page, "km", "rmst"))
    assert "exploratory, data-driven cut-point" not in text(part(page, "cox", "ph"))
    said = text(part(page, "cutpoint", "methods"))
    assert "It puts the same 14 patients in the low group as the pre-specified threshold" in said
    assert "corrected p = 0.042" in said


@pytest.mark.parametrize(
    "cuts, threshold, expected",
    [
        ([0.6, 0.65, 0.69, 0.7, 0.72], 0.70, 0.69),
        ([0.75, 0.8], 0.70, 0.70),  # below the searched cuts
        ([0.5, 0.6], 0.7, 0.7),  # above them
    ],
)
def test_the_threshold_is_drawn_at_the_cut_that_makes_its_split(cuts, threshold, expected):
    candidates = pd.DataFrame({"cut": cuts})
    assert threshold_cut(candidates, threshold) == expected


def test_tables_and_figures_are_numbered_in_page_order(html: str) -> None:
    """Tables 1, 2, ... and Figures 1, 2, ... as they appear; a figure's own numbers shown
    as a table take no number; the headline refers to Figure 1."""
    numbers = [t["number"] for t in parse_tables(html) if t["number"] is not None]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) > 30
    assert parse_tables(headline(html))[0]["number"] == 1
    risk = [t for t in parse_tables(html) if t["caption"].startswith("Numbers under")]
    assert risk and all(t["number"] is None for t in risk)
    figures = [int(n) for n in re.findall(r"<strong>Figure (\d+)\.</strong>", html)]
    assert figures == list(range(1, len(figures) + 1))
    first = between(html, 'id="figure-km-pfs-by-arm"', "</figure>")
    assert "<strong>Figure 1.</strong>" in first
    assert 'Details: <a href="#arms">Figure 1</a>' in headline(html)
    assert text(part(html, "km", "rmst")).count("Secondary: the clinical Mg groups") == 1


def test_p_values_are_not_rounded_up_to_the_significance_level() -> None:
    assert format_p(0.0496) == "0.0496" and format_p(0.0504) == "0.050"
    assert format_p(0.038) == "0.038" and format_p(0.00099) == "<0.001"
    assert in_sentence("T stage") == "T stage" and in_sentence("Sex") == "sex"


def continuous_rows(tables: dict) -> pd.DataFrame:
    """Toy PFS rows of the per-0.1 mmol/L models: within each arm and with Mg x arm."""
    term, arm = "mg_per_0.1_mmol_l", "arm[immunotherapy vs chemotherapy]"
    rows = [
        ("continuous arm=immunotherapy", term, 0.7123, 0.5801, 0.8746, 0.0012),
        ("continuous arm=chemotherapy", term, 0.9812, 0.8012, 1.2017, 0.85),
        ("continuous-interaction", f"{term}:{arm}", 0.7311, 0.5512, 0.9697, 0.0297),
        ("continuous-interaction", f"{term} within arm=immunotherapy", 0.7201, 0.59, 0.88, 0.001),
    ]
    columns = ["model", "term", "hr", "hr_lower", "hr_upper", "p"]
    return pd.DataFrame(rows, columns=columns).assign(endpoint="pfs", n=48, events=39)


def test_the_primary_contrast_can_be_serum_mg_per_0_1_mmol_l(tables: dict) -> None:
    """primary.contrast per_0.1_mmol_l: the headline gives the HR per 0.1 mmol/L higher Mg
    within each arm, where the hypothesis predicts an HR below 1."""
    chosen = replace(settings(), primary=PrimarySettings(endpoint="pfs", contrast="per_0.1_mmol_l"))
    with_continuous = tables | {"cox": pd.concat([tables["cox"], continuous_rows(tables)])}
    page = render_report(with_continuous, chosen, run())
    (table,) = parse_tables(headline(page))
    assert table["caption"].startswith("Hazard ratio (HR) per 0.1 mmol/L higher serum Mg")
    pfs = table["rows"][0]
    assert pfs[1].startswith("HR 0.71 (0.58–0.87), p = 0.0012")
    assert pfs[2].startswith("HR 0.98 (0.80–1.20), p = 0.85") and pfs[3] == "0.030"
    said = text(headline(page))
    assert "Under immunotherapy, higher serum Mg was associated with a lower rate of" in said
    assert "the association differed from that under chemotherapy" in said
    assert "HRs below 1: a lower rate of the event with higher Mg" in said
    assert "hazard ratio (HR) per 0.1 mmol/L higher serum Mg for progression-free" in text(
        part(page, "methods", "appendix")
    )
    assert "29% lower per 0.1 mmol/L higher serum Mg" in text(part(page, "summary", "arms"))


def test_the_expected_direction_follows_the_contrast() -> None:
    lower = estimate(0.7, 0.001, 0.58, 0.87)
    assert shown(lower, expected_sign=-1) == 1 and shown(lower) == -1
    assert shown(estimate(1.4, 0.001, 1.1, 1.8), expected_sign=-1) == -1
    assert shown(estimate(0.9, 0.4), expected_sign=-1) == 0
