"""The HTML report and its Kaplan-Meier figures, built from small but realistic tables.

The km tables come from a seeded toy cohort through lifelines (survfit-like rows, no
time-0 row); the test and Cox tables are hand-made with distinctive values so the test
can look for each one, formatted, in the page.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import median_survival_times

from mgsurv.figures import km_figure_svg, number_at_risk
from mgsurv.report import format_ci, format_hr, format_median, format_p, render_report

SECTION_IDS = ("summary", "flow", "km", "cox", "methods")
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"}
N_PATIENTS = 48
KEY_TERM = "mg_clinical[low vs normal]"
GROUPS_TESTED = {"mg_clinical": "low vs normal", "mg_quartile": "Q1, Q2, Q3, Q4"}


def toy_cohort() -> pd.DataFrame:
    """A seeded cohort where low Mg does worse and normal-Mg OS never reaches its median."""
    rng = np.random.default_rng(7)
    mg = np.round(rng.uniform(0.5, 1.0, N_PATIENTS), 2)
    low = mg < 0.7
    pfs = np.minimum(np.round(rng.exponential(np.where(low, 6.0, 14.0)), 1) + 0.1, 36.0)
    os_months = np.minimum(pfs + np.round(rng.exponential(10.0, N_PATIENTS), 1), 40.0)
    return pd.DataFrame(
        {
            "mg_clinical": np.where(low, "low", "normal"),
            "mg_quartile": pd.qcut(mg, 4, labels=["Q1", "Q2", "Q3", "Q4"]).astype(str),
            "pfs_months": pfs,
            "pfs_event": (pfs < 36.0) & (rng.random(N_PATIENTS) < 0.85),
            "os_months": os_months,
            # Few deaths with normal Mg, so that group's median OS is not reached.
            "os_event": (os_months < 40.0) & (low | (rng.random(N_PATIENTS) < 0.1)),
        }
    )


def km_tables(cohort: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """km_curves, km_summary and logrank tables in the results-contract shape."""
    curves, summary, tests = [], [], []
    for endpoint in ("pfs", "os"):
        for grouping in ("mg_clinical", "mg_quartile"):
            key = {"endpoint": endpoint, "grouping": grouping}
            time, event = cohort[f"{endpoint}_months"], cohort[f"{endpoint}_event"]
            for group, rows in cohort.groupby(grouping):
                kmf = KaplanMeierFitter().fit(time[rows.index], event[rows.index])
                curves.append(curve_rows(kmf) | key | {"group": group})
                events = int(event[rows.index].sum())
                summary.append(summary_row(kmf, len(rows), events, key | {"group": group}))
            result = multivariate_logrank_test(time, cohort[grouping], event)
            k = cohort[grouping].nunique()
            tests.append(
                key
                | {
                    "test": "logrank",
                    "groups": GROUPS_TESTED[grouping],
                    "statistic": result.test_statistic,
                    "df": k - 1,
                    "p": result.p_value,
                    "p_adjusted": math.nan,
                }
            )
    return (
        pd.concat([pd.DataFrame(c) for c in curves], ignore_index=True),
        pd.DataFrame(summary),
        pd.DataFrame(tests),
    )


def curve_rows(kmf: KaplanMeierFitter) -> dict[str, list]:
    """One row per distinct observed time, like R's survfit (no time-0 row)."""
    table = kmf.event_table.drop(index=0.0, errors="ignore")
    ci = kmf.confidence_interval_.loc[table.index]
    return {
        "time": list(table.index),
        "n_risk": list(table["at_risk"]),
        "n_event": list(table["observed"]),
        "n_censor": list(table["censored"]),
        "surv": list(kmf.survival_function_.loc[table.index].iloc[:, 0]),
        "lower": list(ci.iloc[:, 0]),
        "upper": list(ci.iloc[:, 1]),
    }


def summary_row(kmf: KaplanMeierFitter, n: int, events: int, key: dict) -> dict:
    """Median survival with its CI; NaN (not inf) when not reached."""
    ci = median_survival_times(kmf.confidence_interval_).replace(np.inf, np.nan)
    median = kmf.median_survival_time_
    return key | {
        "n": n,
        "events": events,
        "median": math.nan if np.isinf(median) else median,
        "median_lower": ci.iloc[0, 0],
        "median_upper": ci.iloc[0, 1],
    }


def cox_table() -> pd.DataFrame:
    """Hand-made Cox rows with distinctive values for every model the report shows."""
    rows = [
        ("pfs", "univariable", KEY_TERM, 1.8734, 1.1211, 3.1302, 0.01234, 48, 39),
        ("pfs", "univariable", "age", 1.0123, 0.9811, 1.0444, 0.4567, 48, 39),
        ("pfs", "multivariable", KEY_TERM, 1.7456, 1.0321, 2.9523, 0.0377, 48, 39),
        ("pfs", "multivariable", "sex[female vs male]", 0.8123, 0.4511, 1.4622, 0.4888, 48, 39),
        ("pfs", "arm=immunotherapy", KEY_TERM, 2.4567, 1.2222, 4.9388, 0.00041, 25, 21),
        ("pfs", "arm=chemotherapy", KEY_TERM, 1.1189, 0.4712, 2.6566, 0.7999, 23, 18),
        ("pfs", "continuous", "mg_per_0.1_mmol_l", 0.8345, 0.7011, 0.9933, 0.0421, 48, 39),
        ("pfs", "interaction", KEY_TERM, 1.1189, 0.4712, 2.6566, 0.7999, 48, 39),
        (
            "pfs",
            "interaction",
            f"{KEY_TERM}:arm[immunotherapy vs chemotherapy]",
            2.1957,
            0.8123,
            5.9354,
            0.1212,
            48,
            39,
        ),
        (
            "pfs",
            "interaction",
            f"{KEY_TERM} within arm=immunotherapy",
            2.4567,
            1.2,
            4.9,
            0.0004,
            48,
            39,
        ),
        ("os", "univariable", KEY_TERM, 3.3312, 1.5012, 7.3921, 0.00312, 48, 22),
        ("os", "multivariable", KEY_TERM, 3.0188, 1.2999, 7.0111, 0.0101, 48, 22),
        ("os", "continuous", "mg_per_0.1_mmol_l", 0.7612, 0.6101, 0.9498, 0.0155, 48, 22),
    ]
    columns = ["endpoint", "model", "term", "hr", "hr_lower", "hr_upper", "p", "n", "events"]
    table = pd.DataFrame(rows, columns=columns)
    table["coef"] = np.log(table["hr"])
    table["se"] = (np.log(table["hr_upper"]) - np.log(table["hr_lower"])) / (2 * 1.959964)
    table["z"] = table["coef"] / table["se"]
    return table


def cox_models_table() -> pd.DataFrame:
    """Model statistics; the OS multivariable model has too few events per parameter."""
    return pd.DataFrame(
        {
            "endpoint": ["pfs", "os"],
            "model": ["multivariable", "multivariable"],
            "terms": ["mg_clinical, sex", "mg_clinical, sex"],
            "strata": [np.nan, np.nan],
            "n": [48, 48],
            "events": [39, 22],
            "parameters": [2, 3],
            "events_per_parameter": [19.5, 7.3333],
            "epv_below_10": [False, True],
            "concordance": [0.6123, 0.5877],
            "lr_p": [0.0123, 0.0456],
        }
    )


def flow_table() -> pd.DataFrame:
    """Two exclusion steps ending at the toy cohort's size; one reason needs escaping."""
    return pd.DataFrame(
        {
            "step": [1, 2],
            "reason": ["missing serum Mg", "follow-up <0 or missing"],
            "n_before": [53, 50],
            "n_excluded": [3, 2],
            "n_after": [50, N_PATIENTS],
        }
    )


def meta() -> dict:
    """Run metadata as the workflow writes it."""
    return {
        "cohort": "toy <cohort>",
        "source": "synthetic",
        "input_sha256": "ab" * 32,
        "generated": "2026-01-02T03:04:05+00:00",
        "mg_threshold_mmol_l": 0.7,
        "conf_type": "log-log",
        "versions": {"python": "3.12.1", "lifelines": "0.30.3"},
        "endpoints_label": {"pfs": "Progression-free survival", "os": "Overall survival"},
        "risk_table_times": [0, 6, 12, 18, 24, 30, 36],
    }


def groups_table() -> pd.DataFrame:
    """Mg group definitions as the prepare step writes them."""
    return pd.DataFrame(
        {
            "grouping": ["mg_clinical", "mg_clinical", "mg_quartile"],
            "group": ["low", "normal", "Q1"],
            "mg_from": [np.nan, 0.7, 0.41],
            "mg_to": [0.7, np.nan, 0.734],
            "definition": ["< 0.7", ">= 0.7", "[0.41, 0.734]"],
            "n": [17, 31, 12],
        }
    )


@pytest.fixture(scope="module")
def inputs() -> dict:
    """All report inputs, built once for the module."""
    curves, summary, logrank = km_tables(toy_cohort())
    return {
        "flow": flow_table(),
        "groups": groups_table(),
        "km_summary": summary,
        "km_curves": curves,
        "logrank": logrank,
        "cox": cox_table(),
        "cox_models": cox_models_table(),
        "meta": meta(),
    }


@pytest.fixture(scope="module")
def html(inputs: dict) -> str:
    """The rendered report."""
    return render_report(**inputs)


class TagBalance(HTMLParser):
    """Records unbalanced tags, ids and every src/href value of a document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.record(attrs)
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.record(attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def record(self, attrs: list[tuple[str, str | None]]) -> None:
        """Keep ids and link targets for the checks below."""
        for name, value in attrs:
            if name == "id":
                self.ids.append(value or "")
            if name in {"src", "href", "xlink:href"}:
                self.links.append(value or "")


def parse(html: str) -> TagBalance:
    """Parse a document and return the parser with its findings."""
    parser = TagBalance()
    parser.feed(html)
    parser.close()
    return parser


def test_formatters_follow_the_report_conventions() -> None:
    assert format_hr(1.8734) == "1.87"
    assert format_p(0.00041) == "<0.001"
    assert format_p(0.01234) == "0.0123"
    assert format_p(0.5) == "0.500"
    assert format_median(math.nan) == "NR"
    assert format_median(12.345) == "12.3"
    assert format_ci(1.1211, 3.1302) == "(1.12–3.13)"
    assert format_ci(5.0, math.nan, format_median) == "(5.0–NR)"


def test_number_at_risk_uses_first_time_at_or_after_t() -> None:
    curve = pd.DataFrame({"time": [2.0, 5.0, 9.0], "n_risk": [10, 8, 3]})
    assert [number_at_risk(curve, t) for t in (0, 5, 6, 10)] == [10, 8, 3, 0]


def test_html_is_balanced_with_all_sections_and_unique_ids(html: str) -> None:
    parser = parse(html)
    assert html.startswith("<!DOCTYPE html>")
    assert parser.errors == []
    assert parser.stack == []
    for section in SECTION_IDS:
        assert f'<section id="{section}">' in html
        assert f'href="#{section}"' in html
    assert len(parser.ids) == len(set(parser.ids))


def test_report_is_self_contained(html: str) -> None:
    parser = parse(html)
    assert all(link.startswith("#") for link in parser.links)
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html
    # The only URLs left are XML namespace names, which are never fetched.
    without_namespaces = re.sub(r'xmlns(:\w+)?="[^"]*"', "", html)
    assert "http://" not in without_namespaces
    assert "https://" not in without_namespaces


def test_figures_are_inlined_with_risk_tables(html: str) -> None:
    assert html.count("<svg") == 4
    assert "<?xml" not in html
    assert "<!DOCTYPE svg" not in html
    assert 'id="km-pfs-mg_quartile-risk-table"' in html
    for group in ("low", "normal", "Q1", "Q2", "Q3", "Q4"):
        assert f"<!-- {group} -->" in html


def test_median_and_test_tables_show_the_input_numbers(inputs: dict, html: str) -> None:
    summary = inputs["km_summary"]
    assert summary["median"].isna().any()
    for _, row in summary.iterrows():
        assert f'<td class="num">{format_median(row["median"])}</td>' in html
        ci = format_ci(row["median_lower"], row["median_upper"], format_median)
        assert f'<td class="num">{ci}</td>' in html
    assert '<td class="num">NR</td>' in html
    for _, row in inputs["logrank"].iterrows():
        assert f'<td class="num">{row["statistic"]:.2f}</td>' in html


def test_cox_tables_and_summary_show_the_input_numbers(inputs: dict, html: str) -> None:
    for _, row in inputs["cox"].iterrows():
        assert f'<td class="num">{format_hr(row["hr"])}</td>' in html
        ci = format_ci(row["hr_lower"], row["hr_upper"])
        assert f'<td class="num">{ci}</td>' in html
    summary = html[html.index('<section id="summary">') : html.index('<section id="flow">')]
    assert "HR 1.87 (1.12–3.13), p = 0.0123" in summary
    assert "HR 1.75 (1.03–2.95), p = 0.0377" in summary
    assert "Within the immunotherapy arm: HR 2.46 (1.22–4.94), p &lt; 0.001" in summary
    assert "HR 3.33 (1.50–7.39), p = 0.00312" in summary
    assert "not" in summary and "causes" in summary


def test_text_is_escaped_and_methods_come_from_meta(html: str) -> None:
    assert "follow-up &lt;0 or missing" in html
    assert "toy &lt;cohort&gt;" in html
    assert "toy <cohort>" not in html
    methods = html[html.index('<section id="methods">') :]
    for text in (
        "ab" * 32,
        "2026-01-02T03:04:05+00:00",
        "log-log",
        "adjusted for sex;",
        "0.30.3",
        "0.7",
    ):
        assert text in methods


def test_rendering_is_deterministic(inputs: dict, html: str) -> None:
    assert render_report(**inputs) == html


def test_figure_alone_is_deterministic_svg(inputs: dict) -> None:
    curves, summary = inputs["km_curves"], inputs["km_summary"]
    mask_c = (curves["endpoint"] == "os") & (curves["grouping"] == "mg_clinical")
    mask_s = (summary["endpoint"] == "os") & (summary["grouping"] == "mg_clinical")
    args = (curves[mask_c], summary[mask_s], 0.0004, "OS", [0, 12, 24, 36])
    first = km_figure_svg(*args)
    assert first == km_figure_svg(*args)
    assert first.startswith("<svg")
    assert "<!-- Log-rank p &lt; 0.001 -->" in first


def test_mg_group_definitions_and_adjustment_set_come_from_the_tables(html: str):
    assert "[0.41, 0.734]" in html
    # The multivariable model's own terms name what it adjusts for (here: sex only).
    assert "adjusted for: sex)" in html


def test_interaction_and_model_statistics_are_shown(html: str):
    assert "Interaction ratio of HRs 2.20 (0.81–5.94), p = 0.121" in html
    assert "low vs normal, in the immunotherapy arm" in html
    assert "7.3 (below 10)" in html and "19.5" in html and "0.612" in html
