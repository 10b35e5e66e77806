"""Privacy for sharing: the report never embeds patient-level rows, and with
report_min_count = k it shows no count of 1 to k - 1 patients.

The toy tables of tests/test_report.py check each suppression rule in process; one
workflow run on a cohort whose ids and serum Mg values cannot occur in a page by chance
checks the page the rules actually write, with suppression off and then on.
"""

from __future__ import annotations

import base64
import html as html_text
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mgsurv.files.tables import read_tsv
from mgsurv.report.page import render_report
from support import MAPPING_FILE, SYNTHETIC_400, run_workflow, svg_texts
from test_report import parse_tables, run, settings, toy_tables

SOURCE = SYNTHETIC_400
K = 10
# Table columns that hold counts of patients (or of events, i.e. of patients with one).
COUNT_COLUMNS = {"n", "Events", "Before", "Excluded", "After"}
# A count cell: '12', '<10', '523 (43.6%)' (Table 1), '14 (13)' (patients and events).
COUNT_CELL = re.compile(r"^(?P<count><?\d+)(?: \((?:(?P<events><?\d+)|\d+\.\d%)\))?$")
# Counts in running text, legends and column headers ('n = 48, 39 events').
COUNT_PHRASES = (
    re.compile(r"\bn = (<?\d+)"),
    re.compile(r"\bn = <?\d+, (<?\d+) events"),
    re.compile(r"(<?\d+) patients, (<?\d+) events"),
)
DATA_URI = re.compile(r"data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)")
SVG = re.compile(r"<svg.*?</svg>", re.S)


def cell_counts(cell: str) -> list[str]:
    """The counts in one table cell ([] when it holds none)."""
    match = COUNT_CELL.match(cell)
    return [c for c in match.group("count", "events") if c] if match else []


def table_counts(table: dict) -> list[str]:
    """The patient counts of one parsed table: its count columns; every cell of the
    numbers under a KM figure and of Table 1; the cut-point's patients (events)."""
    caption, columns = table["caption"], table["columns"]
    if caption.startswith("Numbers under the figure"):
        cells = [cell for row in table["rows"] for cell in row[2:]]
    elif caption.startswith("Baseline characteristics"):
        cells = [cell for row in table["rows"] for cell in row[1:-1]]
    elif caption.startswith("Data-driven cut-point"):
        cells = [row[1] for row in table["rows"] if row[0].startswith("Patients (events)")]
    else:
        chosen = [i for i, column in enumerate(columns) if column in COUNT_COLUMNS]
        cells = [row[i] for row in table["rows"] for i in chosen]
    return [count for cell in cells for count in cell_counts(cell)]


def figure_risk_counts(page: str) -> list[str]:
    """The numbers drawn under the KM figures (their SVG text, from the risk-table axes to
    the end of the figure)."""
    counts = []
    for svg in SVG.findall(page):
        if "-risk-table" in svg:
            drawn = svg[svg.index("-risk-table") :]
            counts += svg_texts(drawn)
    return [count for count in counts if re.fullmatch(r"<?\d+", count)]


def shown_counts(page: str) -> dict[str, list[str]]:
    """Every patient count the page shows, by where: tables, phrases, KM figures."""
    text = html_text.unescape(without_geometry(page))
    return {
        "tables": [count for table in parse_tables(page) for count in table_counts(table)],
        "phrases": [
            count
            for phrase in COUNT_PHRASES
            for found in phrase.findall(text)
            for count in ([found] if isinstance(found, str) else found)
        ],
        "figures": figure_risk_counts(page),
    }


def small(counts: list[str], k: int = K) -> list[str]:
    """The counts of 1 to k - 1 shown as numbers."""
    return [count for count in counts if count.isdigit() and 0 < int(count) < k]


def without_geometry(page: str) -> str:
    """The page with its inline figures' attributes emptied: their path coordinates are
    positions in points, not data; the figures' text stays (as SVG text)."""
    return SVG.sub(lambda svg: re.sub(r'="[^"]*"', '=""', svg[0]), page)


def everything_shown(page: str) -> str:
    """What a reader of the page can get as text: the page without figure geometry, and
    every CSV download decoded."""
    downloads = [
        base64.b64decode(payload).decode("utf-8-sig") for payload in DATA_URI.findall(page)
    ]
    return "\n".join([without_geometry(page), *downloads])


def appears(value: str, text: str) -> bool:
    """True when a number appears in the text as a whole number, not inside a longer one."""
    return re.search(rf"(?<![\d.]){re.escape(value)}(?!\d)", text) is not None


# --- the toy tables of tests/test_report.py, rendered in process ------------------------------


@pytest.fixture(scope="module")
def toy() -> dict[str, pd.DataFrame]:
    """The hand-made result tables of tests/test_report.py."""
    return toy_tables()


@pytest.fixture(scope="module")
def toy_pages(toy: dict) -> dict[int, str]:
    """The toy report with suppression off (0) and at K."""
    return {k: render_report(toy, settings(report_min_count=k), run()) for k in (0, K)}


def test_no_count_below_k_is_shown_when_suppressing(toy_pages: dict) -> None:
    off, on = shown_counts(toy_pages[0]), shown_counts(toy_pages[K])
    assert small(off["tables"]) and small(off["figures"])
    for where, counts in on.items():
        assert small(counts) == [], where
    assert f"<{K}" in on["tables"] and f"<{K}" in on["figures"]
    # A true zero describes nobody and stays.
    assert "0" in on["tables"] and "0" in on["figures"]


def test_what_would_give_a_suppressed_count_away_is_hidden(toy: dict, toy_pages: dict) -> None:
    shown = {row[0]: row[1:] for row in baseline_rows(toy_pages[K])}
    assert shown["immunotherapy"] == ["25 (52.1%)", "16 (51.6%)", f"<{K}", ""]  # no 52.9%
    assert shown["Missing"] == [f"<{K}"] * 3 + [""]
    # A median of fewer than K values is one patient's: a group of 8 hides its medians.
    small_group = toy["baseline"].assign(n=toy["baseline"]["n"].where(lambda n: n != 17, 8))
    page = render_report(toy | {"baseline": small_group}, settings(report_min_count=K), run())
    rows = {row[0]: row[1:] for row in baseline_rows(page)}
    assert rows["Serum Mg (mmol/L), median [Q1, Q3]"][2] == "suppressed"
    assert rows["Serum Mg (mmol/L), median [Q1, Q3]"][1] == "0.81 [0.75, 0.90]"
    # Events per parameter times the parameters is the events; the note counts too.
    note = ["", "refitted without ecog (no events in ecog = 2 (all 7 events elsewhere))"]
    models = toy["cox_models"].assign(events=[39, 7], note=note)
    page = render_report(toy | {"cox_models": models}, settings(report_min_count=K), run())
    assert "<td>suppressed (below 10)</td>" in page.replace(' class="num"', "")
    assert f"(all &lt;{K} events elsewhere)" in page


def test_small_group_shows_no_median_and_curves_stop_at_k(toy: dict) -> None:
    summary = toy["km_summary"]
    low = (summary["grouping"] == "mg_quartile") & (summary["group"] == "Q3")
    page = render_report(
        toy | {"km_summary": summary.assign(n=summary["n"].mask(low, 7))},
        settings(report_min_count=K),
        run(),
    )
    medians = [t for t in parse_tables(page) if t["caption"].startswith("Median survival")]
    for table in medians:
        q3 = next(row for row in table["rows"] if row[1] == "Q3")
        assert q3[2] == f"<{K}" and q3[4:] == ["suppressed", "suppressed"]
    # Curves stop where fewer than K remain at risk (the configured minimum is 5).
    assert f"at least {K} patients remained at risk" in page
    assert f"Curves are drawn up to the last time at which at least {K} patients" in " ".join(
        page.split()
    )


def test_figures_hide_small_bins_and_individual_residuals(toy_pages: dict) -> None:
    off, on = toy_pages[0], toy_pages[K]
    assert "Residuals" in svg_texts(off) and "Residuals" not in svg_texts(on)
    assert "Individual residuals are not drawn" in on
    assert "Patients per 0.02 mmol/L of serum Mg" in svg_texts(off)  # every bin has 2
    assert f"Bins of 1 to {K - 1} patients (drawn to {K})" in svg_texts(on)
    assert "Patients per 0.02 mmol/L of serum Mg" not in svg_texts(on)
    assert f"Outlined bars: bins of 1 to {K - 1} patients, drawn to {K}." in on


def test_the_report_says_which_option_was_in_force(toy_pages: dict) -> None:
    off = " ".join(toy_pages[0].split())
    on = " ".join(toy_pages[K].split())
    assert "Every count is shown (report_min_count 0" in off
    assert f"counts below {K} suppressed" not in off
    assert f"&middot; counts below {K} suppressed</p>" in on
    assert f"Counts of 1 to {K - 1} patients are shown as “&lt;{K}” (report_min_count {K})" in on
    assert "zero is shown as 0" in on
    assert "can still be worked out where its total and the other parts are shown" in on
    # The outer quartile bounds (the cohort's lowest and highest Mg) are left out.
    assert "[0.41, 0.734]" in off and "<td>≤ 0.734</td>" in on


def baseline_rows(page: str) -> list[list[str]]:
    """The rows of Table 1."""
    table = next(t for t in parse_tables(page) if t["caption"].startswith("Baseline"))
    return table["rows"]


# --- one cohort through the workflow ----------------------------------------------------------


def distinct_mg(mg: pd.Series, rng: np.random.Generator) -> list[str]:
    """Each value with random digits added to 6 significant digits, the last one not 0:
    what both str() and the :g format print, and too precise to occur in a page by
    chance (the report shows serum Mg with 2 or 3 digits)."""
    texts = []
    for value in mg.astype(float):
        decimals = 6 if value < 1 else 5
        extra = int(rng.integers(1, 10 ** (decimals - 2) // 10)) * 10 + int(rng.integers(1, 10))
        texts.append(f"{value + extra / 10**decimals:.{decimals}f}")
    return texts


def private_cohort(path: Path) -> pd.DataFrame:
    """synthetic_400 with ids and serum Mg values that cannot appear in a page by chance,
    and small counts: 3 patients without serum Mg (the patient flow), 3 with ECOG 2
    (Table 1); with a 0.55 mmol/L threshold, 4 patients have low Mg."""
    data = pd.read_csv(SOURCE, dtype=str, keep_default_na=False)
    data["patient_id"] = [f"PT-{i:04d}-ZQ" for i in range(1, len(data) + 1)]
    data["mg_mmol_l"] = distinct_mg(data["mg_mmol_l"], np.random.default_rng(5))
    data.loc[:2, "mg_mmol_l"] = ""
    data.loc[3:5, "ecog"] = "2"
    data.to_csv(path, index=False)
    return data


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory) -> dict:
    """The cohort through the workflow with suppression off, then at K (the second run
    should redo only the report)."""
    workdir = tmp_path_factory.mktemp("privacy")
    cohort = private_cohort(workdir / "private.csv")
    config = {
        "cohort": str(workdir / "private.csv"),
        "mapping": str(MAPPING_FILE),
        "mg_threshold_mmol_l": 0.55,
    }
    results = workdir / "results" / "private"
    pages, logs = {}, {}
    for k in (0, K):
        run = run_workflow(workdir, **config, report_min_count=k)
        assert run.returncode == 0, run.stderr[-3000:]
        pages[k] = (results / "report.html").read_text(encoding="utf-8")
        logs[k] = run.stdout + run.stderr
    return {"cohort": cohort, "results": results, "pages": pages, "logs": logs}


@pytest.mark.workflow
def test_report_embeds_no_patient_row(shared_run: dict) -> None:
    cohort = shared_run["cohort"]
    cut = read_tsv(shared_run["results"] / "tables" / "cutpoint.tsv")["cutpoint_mmol_l"].iloc[0]
    # The data-driven cut-point is one of the observed values by construction (as R's
    # maxstat): a statistic the report names on purpose, not a patient's row.
    assert f"{cut:g}" in set(cohort["mg_mmol_l"])
    mg_values = [value for value in cohort["mg_mmol_l"] if value and value != f"{cut:g}"]
    assert len(mg_values) > 390
    for page in shared_run["pages"].values():
        for patient_id in cohort["patient_id"]:
            assert patient_id not in page
        shown = everything_shown(page)
        leaked = [value for value in mg_values if appears(value, shown)]
        assert leaked == []
    # The check can fail: the same values are in the analysis-ready cohort, a table of
    # patient rows.
    rows = pd.read_parquet(shared_run["results"] / "cohort.parquet")
    assert appears(mg_values[0], rows.to_csv()) and cohort["patient_id"].iloc[-1] in rows.to_csv()


@pytest.mark.workflow
def test_small_counts_are_suppressed_in_the_shared_report_only(shared_run: dict) -> None:
    pages = shared_run["pages"]
    for where, counts in shown_counts(pages[0]).items():
        assert small(counts), f"the full report shows small counts in its {where}"
    for where, counts in shown_counts(pages[K]).items():
        assert small(counts) == [], where
    # Changing the option redid the report only; the result tables keep every count.
    assert "rule render_report" in shared_run["logs"][K]
    for rule in ("prepare_cohort", "analyse_endpoint"):
        assert f"rule {rule}" not in shared_run["logs"][K]
    flow = read_tsv(shared_run["results"] / "flow.tsv")
    assert flow["n_excluded"].iloc[0] == 3
    groups = read_tsv(shared_run["results"] / "tables" / "mg_groups.tsv")
    low = groups.set_index(["grouping", "group"]).loc[("mg_clinical", "low"), "n"]
    assert 0 < low < K
