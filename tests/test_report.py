"""The HTML report and its figures, built from small but realistic tables.

The km tables come from a seeded toy cohort through lifelines (survfit-like rows, no
time-0 row); the other tables (tests, Cox, landmarks, follow-up, RMST, PH tests, spline,
cut-point, Table 1, Mg distribution) are hand-made with distinctive values so the test can
look for each one, formatted, in the page. The report is rendered once with its figure
files (module fixture) and once more to check that output is byte-for-byte reproducible.
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import math
import re
from dataclasses import asdict, replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import median_survival_times

from mgsurv.contract import ENDPOINT_TABLES
from mgsurv.report.figures import (
    KM_DRAWN_BINS,
    MAX_SCATTER_POINTS,
    cumulative_counts,
    drawn_steps,
    figure_svg,
    km_figure,
    layered_layout,
    longest_path_layers,
    number_at_risk,
    truncation_time,
)
from mgsurv.report.formatting import format_ci, format_hr, format_median, format_number, format_p
from mgsurv.report.labels import PH_FLAG
from mgsurv.report.page import render_report
from mgsurv.report.provenance import RunRecord
from mgsurv.report.sections.appendix import parse_rulegraph
from mgsurv.report.sections.cox import forest_rows
from mgsurv.report.sections.survival import followup_section
from mgsurv.settings import CutpointSettings, ReportSettings, config_keys
from mgsurv.stages.rulegraph import canonical_dot
from support import shipped_config, svg_texts

SECTION_IDS = (
    "summary",
    "arms",
    "flow",
    "baseline",
    "followup",
    "km",
    "rmst",
    "cox",
    "ph",
    "continuous",
    "methods",
    "appendix",
    "remark",
)
SUBSECTION_IDS = (
    "spline",
    "cutpoint",
    "arms-pfs",
    "arms-os",
    "km-pfs",
    "km-os",
    "cox-pfs",
    "cox-os",
    "ph-pfs",
)
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"}
N_PATIENTS = 48
KEY_TERM = "mg_clinical[low vs normal]"
GROUPS_TESTED = {
    "mg_clinical": "low vs normal",
    "mg_quartile": "Q1 vs Q2 vs Q3 vs Q4",
    "mg_cutpoint": "high vs low",
}
GROUPINGS = tuple(GROUPS_TESTED)
CUT_MMOL_L = 0.66
# Enough residuals of the flagged term that the plot must thin them.
N_RESIDUALS = MAX_SCATTER_POINTS + 500
MIN_AT_RISK = 5
DATA_CUTOFF = "2025-06-30"
RULEGRAPH = """digraph snakemake_dag {
    graph[bgcolor=white, margin=0];
    node[shape=box, style=rounded, fontname=sans,                 fontsize=10, penwidth=2];
\t0[label = "all", color = "0.00 0.6 0.85", style="rounded"];
\t1[label = "render_report", color = "0.42 0.6 0.85", style="rounded"];
\t2[label = "analyse_endpoint", color = "0.17 0.6 0.85", style="rounded"];
\t3[label = "prepare_cohort", color = "0.25 0.6 0.85", style="rounded"];
\t1 -> 0
\t2 -> 1
\t3 -> 1
\t3 -> 2
}
"""
# Figures: per endpoint the KM figure by arm and the low-Mg forest plot, a KM figure per
# grouping, a spline curve and a forest plot; the cut-point search; the threshold grid and
# the subgroup forest of the primary endpoint; the residuals of the one flagged PH term; the
# rule graph; the weighting's love plot, weights and weighted curves.
N_FIGURES = 2 * (2 + len(("mg_clinical", "mg_quartile", "mg_cutpoint")) + 2) + 1 + 2 + 1 + 1 + 3
ARMS = ("immunotherapy", "chemotherapy")


def pooled(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of all patients of a table with a subset column."""
    return table[table["subset"] == "all"]


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
            "mg_cutpoint": np.where(mg <= CUT_MMOL_L, "low", "high"),
            "pfs_months": pfs,
            "pfs_event": (pfs < 36.0) & (rng.random(N_PATIENTS) < 0.85),
            "os_months": os_months,
            # Few deaths with normal Mg, so that group's median OS is not reached.
            "os_event": (os_months < 40.0) & (low | (rng.random(N_PATIENTS) < 0.1)),
            "arm": np.resize(ARMS, N_PATIENTS),
        }
    )


def km_tables(whole: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """km_curves, km_summary and logrank tables in the results-contract shape: all
    patients, then each arm."""
    curves, summary, tests = [], [], []
    subsets = [("all", whole)] + [(f"arm={arm}", whole[whole["arm"] == arm]) for arm in ARMS]
    for (subset, cohort), endpoint, grouping in itertools.product(
        subsets, ("pfs", "os"), GROUPINGS
    ):
        key = {"endpoint": endpoint, "subset": subset, "grouping": grouping}
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


# The toy threshold grid: its thresholds and, within immunotherapy on PFS, the HRs (the one
# at 0.70 is the arm model's own, as in cox_table); 3 patients below 0.60 (a small count).
GRID = (0.60, 0.65, 0.70, 0.75, 0.80, 0.85)
GRID_HR = (1.9111, 2.1333, 2.4567, 1.7222, 1.3444, 1.2555)


def thresholds_table() -> pd.DataFrame:
    """Hand-made thresholds.tsv rows: every endpoint and subset, the grid above."""
    rows = []
    for endpoint in ("pfs", "os"):
        for subset in ("all", "arm=chemotherapy", "arm=immunotherapy"):
            for k, (threshold, hr) in enumerate(zip(GRID, GRID_HR, strict=True)):
                n_low = (3, 8, 13, 18, 23, 28)[k]
                rows.append(
                    (endpoint, subset, threshold, n_low, 48 - n_low, hr, hr / 2, hr * 2)
                    + (0.0123 * (k + 1), 48, 39)
                )
    return pd.DataFrame(rows, columns=list(ENDPOINT_TABLES["thresholds"]))


def subgroups_table() -> pd.DataFrame:
    """Hand-made subgroups.tsv rows: sex, age split at its median and the arm, per endpoint."""
    levels = [
        ("sex", "male", 1.4111, 26, 21, 0.4321),
        ("sex", "female", 2.2222, 22, 18, 0.4321),
        ("age", "below 63", 1.6333, 24, 20, 0.8765),
        ("age", "63 or above", 1.7444, 24, 19, 0.8765),
        ("arm", "chemotherapy", 1.1189, 23, 18, 0.0456),
        ("arm", "immunotherapy", 2.4567, 25, 21, 0.0456),
    ]
    rows = [
        (endpoint, variable, level, hr, hr / 1.9, hr * 1.9, 0.03, n, events, interaction)
        for endpoint in ("pfs", "os")
        for variable, level, hr, n, events, interaction in levels
    ]
    return pd.DataFrame(rows, columns=list(ENDPOINT_TABLES["subgroups"]))


# The toy weighted HRs (iptw_cox.tsv) per endpoint and arm, and the largest |SMD| before
# and after weighting of the immunotherapy arm.
IPTW_HR = {("pfs", "immunotherapy"): 2.3456, ("pfs", "chemotherapy"): 1.0987}
IPTW_HR |= {("os", "immunotherapy"): 1.8765, ("os", "chemotherapy"): 0.9123}
IPTW_SMD = {"age": (0.2468, 0.0321), "sex": (-0.1357, -0.0123)}


def iptw_tables_toy() -> dict[str, pd.DataFrame]:
    """Hand-made iptw_*.tsv rows: both endpoints and arms, 24 patients per arm."""
    cox, balance, weights, km = [], [], [], []
    for (endpoint, arm), hr in IPTW_HR.items():
        subset = f"arm={arm}"
        coef = np.log(hr)
        cox.append((endpoint, subset, coef, 0.31, 0.33, hr, hr / 1.9, hr * 1.9, 0.0234, 24, 19, ""))
        for variable, (before, after) in IPTW_SMD.items():
            level = "female" if variable == "sex" else ""
            balance.append((endpoint, subset, variable, level, before, after))
        for group, n in (("normal", 16), ("low", 8)):
            weights.append((endpoint, subset, group, n, n - 0.7, 0.61, 0.83, 0.97, 1.12, 1.93, 0))
            for k, time in enumerate((1.0, 3.0, 6.0, 12.0)):
                surv = (0.9 if group == "normal" else 0.8) ** (k + 1)
                km.append((endpoint, subset, group, time, n - 2.5 * k, 1.1, surv, n - 2 * k, 1, 1))
    frames = {"iptw_cox": cox, "iptw_balance": balance, "iptw_weights": weights, "iptw_km": km}
    return {
        name: pd.DataFrame(rows, columns=list(ENDPOINT_TABLES[name]))
        for name, rows in frames.items()
    }


# The toy pooled low-Mg HRs (imputation.tsv) of PFS per model, over m = 20 imputations.
IMPUTED_HR = {"arm=immunotherapy": 2.2345, "arm=chemotherapy": 1.0765, "multivariable": 1.6543}


def imputation_toy() -> pd.DataFrame:
    """Hand-made imputation.tsv rows: the low-Mg term of each PFS model, every patient."""
    rows = [
        ("pfs", model, KEY_TERM, np.log(hr), 0.3, hr, hr / 1.8, hr * 1.8, 0.0345, 150.5, 0.0678)
        + (20, 48 if model == "multivariable" else 24, 39 if model == "multivariable" else 20)
        for model, hr in IMPUTED_HR.items()
    ]
    return pd.DataFrame(rows, columns=list(ENDPOINT_TABLES["imputation"]))


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
        ("pfs", "univariable", "mg_cutpoint[low vs high]", 2.3456, 1.3021, 4.2255, 0.00456, 48, 39),
        # Spline coefficients: never shown as hazard ratios.
        ("pfs", "spline", "mg_mmol_l", 7.6543, 0.1234, 474.77, 0.3321, 48, 39),
        ("pfs", "spline", "mg_mmol_l'", 0.0432, 0.0001, 18.66, 0.3123, 48, 39),
        ("pfs", "spline", "mg_mmol_l''", 98.765, 0.0102, 956354.0, 0.3333, 48, 39),
        ("pfs", "spline", "sex[female vs male]", 0.8234, 0.4567, 1.4845, 0.5189, 48, 39),
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


def logrank_extra_rows() -> pd.DataFrame:
    """Stratified, trend and pairwise rows of the quartiles (PFS), as logrank.tsv has them."""
    rows = [
        ("stratified", "Q1 vs Q2 vs Q3 vs Q4", 5.4321, 3, 0.1428, math.nan),
        ("trend", "Q1 vs Q2 vs Q3 vs Q4", 3.2109, 1, 0.0732, math.nan),
        ("pairwise", "Q1 vs Q2", 6.2468, 1, 0.01244, 0.07464),
        ("pairwise", "Q3 vs Q4", 0.1357, 1, 0.7126, 1.0),
    ]
    columns = ["test", "groups", "statistic", "df", "p", "p_adjusted"]
    return pd.DataFrame(rows, columns=columns).assign(
        endpoint="pfs", subset="all", grouping="mg_quartile"
    )


def landmarks_table() -> pd.DataFrame:
    """Survival at 6, 12 and 24 months; nobody with low Mg is followed to 24 months."""
    rows = [
        ("normal", 6, 0.6543, 0.5432, 0.7654),
        ("normal", 12, 0.4321, 0.3012, 0.5598),
        ("normal", 24, 0.2109, 0.1044, 0.3421),
        ("low", 6, 0.3876, 0.2101, 0.5612),
        ("low", 12, 0.1523, 0.0489, 0.3167),
        ("low", 24, math.nan, math.nan, math.nan),
    ]
    table = pd.DataFrame(rows, columns=["group", "time", "surv", "lower", "upper"])
    pfs = table.assign(endpoint="pfs", subset="all", grouping="mg_clinical")
    return pd.concat([pfs, pfs.assign(endpoint="os")], ignore_index=True)


def followup_table() -> pd.DataFrame:
    """Median follow-up: all patients, then each grouping's groups ('low' twice)."""
    rows = [
        ("all", "all", 17.43, 15.21, math.nan),
        ("mg_clinical", "low", 13.87, 10.02, math.nan),
        ("mg_clinical", "normal", 18.12, 15.55, 21.98),
        ("mg_quartile", "Q1", 16.61, 12.34, 20.02),
        ("mg_cutpoint", "high", 18.12, 15.55, 21.98),
        ("mg_cutpoint", "low", 14.91, 11.08, math.nan),
    ]
    columns = ["grouping", "group", "median_followup", "lower", "upper"]
    table = pd.DataFrame(rows, columns=columns).assign(subset="all")
    return pd.concat(
        [table.assign(endpoint="pfs"), table.assign(endpoint="os", median_followup=25.67)],
        ignore_index=True,
    )


def rmst_table() -> pd.DataFrame:
    """RMST per clinical group and the three contrasts, PFS and OS."""
    rows = [
        ("normal", 8.7654, 0.5123, 7.7613, 9.7695, math.nan),
        ("low", 6.5432, 0.6234, 5.3214, 7.7650, math.nan),
        ("low - normal", -2.2222, 0.8069, -3.4567, -0.9877, 0.000412),
        ("low / normal", 0.7465, 0.0823, 0.6353, 0.8772, 0.00389),
        ("RMTL low / normal", 1.2345, 0.0456, 1.1289, 1.3500, 0.00521),
    ]
    table = pd.DataFrame(rows, columns=["group", "estimate", "se", "lower", "upper", "p"])
    return pd.concat(
        [
            table.assign(endpoint="pfs", subset="all", grouping="mg_clinical", tau=23.7),
            table.assign(endpoint="os", subset="all", grouping="mg_clinical", tau=31.2),
        ],
        ignore_index=True,
    )


def ph_test_table() -> pd.DataFrame:
    """cox.zph rows: in PFS the arm term and the global test have p < 0.05."""
    rows = [
        ("pfs", "multivariable", "mg_clinical", 0.5523, 1, 0.4574),
        ("pfs", "multivariable", "arm", 6.2841, 1, 0.01218),
        ("pfs", "multivariable", "sex", 0.0712, 1, 0.7896),
        ("pfs", "multivariable", "GLOBAL", 8.0123, 3, 0.04571),
        ("pfs", "continuous", "mg_per_0.1_mmol_l", 0.4012, 1, 0.5265),
        ("pfs", "interaction", "mg_clinical:arm", 4.4321, 1, 0.03527),
        ("pfs", "arm=immunotherapy", "mg_clinical", 0.3456, 1, 0.5566),
        ("os", "multivariable", "mg_clinical", 0.1234, 1, 0.7254),
        ("os", "multivariable", "GLOBAL", 1.2345, 3, 0.7448),
    ]
    return pd.DataFrame(rows, columns=["endpoint", "model", "term", "chi2", "df", "p"])


def schoenfeld_table() -> pd.DataFrame:
    """Scaled Schoenfeld residuals of the PFS multivariable model: many for the flagged
    arm term (more than a plot keeps), a few for the unflagged Mg term."""
    rng = np.random.default_rng(11)

    def term_rows(term: str, coefficient: str, n: int) -> pd.DataFrame:
        time = np.sort(np.round(rng.uniform(0.1, 36.0, n), 1))
        return pd.DataFrame(
            {
                "endpoint": "pfs",
                "model": "multivariable",
                "variable": term,
                "term": coefficient,
                "time": time,
                "transformed_time": np.searchsorted(time, time) / n,
                "residual": rng.normal(0.3, 1.0, n) - 0.02 * time,
                "residuals": n,
            }
        )

    return pd.concat(
        [
            term_rows("arm", "arm[immunotherapy vs chemotherapy]", N_RESIDUALS),
            term_rows("mg_clinical", KEY_TERM, 40),
        ]
    )


def schoenfeld_smooth_table() -> pd.DataFrame:
    """R's smooth of each coefficient's residuals (a straight decline, a band of +-0.4)."""
    grid = np.linspace(0.0, 1.0, 40)
    rows = []
    for term, coefficient in [
        ("arm", "arm[immunotherapy vs chemotherapy]"),
        ("mg_clinical", KEY_TERM),
    ]:
        fit = 0.5 - 0.4 * grid
        rows.append(
            pd.DataFrame(
                {
                    "endpoint": "pfs",
                    "model": "multivariable",
                    "variable": term,
                    "term": coefficient,
                    "time": grid * 36.0,
                    "transformed_time": grid,
                    "fit": fit,
                    "lower": fit - 0.4,
                    "upper": fit + 0.4,
                    "coef": 0.3,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def spline_table() -> pd.DataFrame:
    """HR curves against 0.85 mmol/L for both endpoints."""
    mg = np.linspace(0.5, 1.05, 23)
    log_hr = 2.0 * (mg - 0.85) ** 2 - 0.8 * (mg - 0.85)
    band = 0.1 + 2.0 * np.abs(mg - 0.85)
    curve = pd.DataFrame(
        {
            "mg_mmol_l": mg,
            "hr": np.exp(log_hr),
            "hr_lower": np.exp(log_hr - band),
            "hr_upper": np.exp(log_hr + band),
        }
    )
    return pd.concat([curve.assign(endpoint="pfs"), curve.assign(endpoint="os")])


def nonlinearity_table() -> pd.DataFrame:
    """LR tests of non-linearity with distinctive statistics."""
    return pd.DataFrame(
        {
            "endpoint": ["pfs", "os"],
            "model": ["spline", "spline"],
            "knots": ["0.61, 0.74, 0.83, 0.95", "0.61, 0.74, 0.83, 0.95"],
            "reference_mmol_l": [0.85, 0.85],
            "statistic": [6.7891, 0.4321],
            "df": [2, 2],
            "p": [0.03358, 0.8057],
            "n": [48, 48],
            "events": [39, 22],
        }
    )


def cutpoint_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The maxstat result on PFS and its candidate cuts."""
    cutpoint = pd.DataFrame(
        {
            "endpoint": ["pfs"],
            "cutpoint_mmol_l": [CUT_MMOL_L],
            "statistic": [3.1234],
            "p_lau92": [0.04213],
            "p_lau94": [0.03887],
            "p_naive": [0.001788],
            "minprop": [0.1],
            "maxprop": [0.9],
            "n_low": [14],
            "n_high": [34],
            "events_low": [13],
            "events_high": [26],
            "same_split_as_threshold": [False],
        }
    )
    cuts = np.round(np.linspace(0.55, 0.9, 15), 2)
    candidates = pd.DataFrame(
        {
            "cut": cuts,
            "statistic": 3.1234 - 12 * (cuts - CUT_MMOL_L) ** 2,
            "n_low": np.arange(5, 20),
            "n_high": 48 - np.arange(5, 20),
        }
    )
    return cutpoint, candidates


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


def settings(**changes) -> ReportSettings:
    """The report's settings as the workflow gives them (with ``changes``)."""
    shown = ReportSettings(
        mg_threshold_mmol_l=0.7,
        conf_type="log-log",
        landmark_months=(6, 12, 24),
        strata=("arm",),
        pairwise_adjust="holm",
        rmst_tau_months=None,
        ph_transform="km",
        spline_reference_mmol_l=0.85,
        cutpoint=CutpointSettings(endpoint="pfs", minprop=0.1),
        km_min_at_risk=MIN_AT_RISK,
        risk_table_times=(0, 6, 12, 18, 24, 30, 36),
        report_min_count=0,
        config={
            "cohort": "synthetic",
            "mg_threshold_mmol_l": 0.7,
            "covariates": [{"name": "sex", "type": "categorical", "reference": "male"}],
            "km_min_at_risk": MIN_AT_RISK,
        },
    )
    return replace(shown, **changes)


def run(**changes) -> RunRecord:
    """The run's record as the workflow writes it (with ``changes``)."""
    record = RunRecord(
        cohort="toy <cohort>",
        source="synthetic",
        input_sha256="ab" * 32,
        data_cutoff=DATA_CUTOFF,
        generated="2026-01-02T03:04:05+00:00",
        versions={"python": "3.12.1", "lifelines": "0.30.3"},
        rulegraph=RULEGRAPH,
    )
    return replace(record, **changes)


def baseline_table() -> pd.DataFrame:
    """Table 1 rows as the prepare step writes them: numeric Mg and age (age missing for
    two patients), categorical arm and sex; SMDs repeated per variable, NaN for 'all'."""
    rows = [
        ("mg_mmol_l", "numeric", "", "all", 48, math.nan, 0.7512, 0.6311, 0.8844, 0, math.nan),
        ("mg_mmol_l", "numeric", "", "normal", 31, math.nan, 0.8123, 0.7533, 0.9012, 0, 2.4567),
        ("mg_mmol_l", "numeric", "", "low", 17, math.nan, 0.6122, 0.5644, 0.6655, 0, 2.4567),
        ("arm", "categorical", "chemotherapy", "all", 23, 47.9167, *[math.nan] * 3, 0, math.nan),
        ("arm", "categorical", "immunotherapy", "all", 25, 52.0833, *[math.nan] * 3, 0, math.nan),
        ("arm", "categorical", "chemotherapy", "normal", 15, 48.3871, *[math.nan] * 3, 0, 0.0456),
        ("arm", "categorical", "immunotherapy", "normal", 16, 51.6129, *[math.nan] * 3, 0, 0.0456),
        ("arm", "categorical", "chemotherapy", "low", 8, 47.0588, *[math.nan] * 3, 0, 0.0456),
        ("arm", "categorical", "immunotherapy", "low", 9, 52.9412, *[math.nan] * 3, 0, 0.0456),
        ("age", "numeric", "", "all", 46, math.nan, 64.4, 57.2, 71.6, 2, math.nan),
        ("age", "numeric", "", "normal", 30, math.nan, 63.1, 56.0, 70.2, 1, 0.1789),
        ("age", "numeric", "", "low", 16, math.nan, 66.9, 60.3, 73.8, 1, 0.1789),
        ("sex", "categorical", "female", "all", 20, 41.6667, *[math.nan] * 3, 0, math.nan),
        ("sex", "categorical", "male", "all", 28, 58.3333, *[math.nan] * 3, 0, math.nan),
        ("sex", "categorical", "female", "normal", 12, 38.7097, *[math.nan] * 3, 0, 0.0923),
        ("sex", "categorical", "male", "normal", 19, 61.2903, *[math.nan] * 3, 0, 0.0923),
        ("sex", "categorical", "female", "low", 8, 47.0588, *[math.nan] * 3, 0, 0.0923),
        ("sex", "categorical", "male", "low", 9, 52.9412, *[math.nan] * 3, 0, 0.0923),
    ]
    columns = ["variable", "kind", "level", "group", "n", "percent", "median", "q1", "q3"]
    return pd.DataFrame(rows, columns=[*columns, "missing", "smd"])


def mg_distribution_table() -> pd.DataFrame:
    """Serum Mg in 0.02 mmol/L bins (centre, count), summing to the cohort's size."""
    centres = np.round(np.arange(0.51, 0.99, 0.02), 2)
    return pd.DataFrame({"mg_mmol_l": centres, "n": 2})


def groups_table() -> pd.DataFrame:
    """Mg group definitions as the prepare step writes them."""
    return pd.DataFrame(
        {
            "grouping": ["mg_clinical", "mg_clinical", "mg_cutpoint", "mg_cutpoint", "mg_quartile"],
            "group": ["low", "normal", "low", "high", "Q1"],
            "mg_from": [np.nan, 0.7, np.nan, CUT_MMOL_L, 0.41],
            "mg_to": [0.7, np.nan, CUT_MMOL_L, np.nan, 0.734],
            "definition": [
                "< 0.7",
                ">= 0.7",
                f"<= {CUT_MMOL_L}",
                f"> {CUT_MMOL_L}",
                "[0.41, 0.734]",
            ],
            "n": [17, 31, 14, 34, 12],
        }
    )


def toy_tables() -> dict[str, pd.DataFrame]:
    """Every input table keyed by file stem."""
    curves, summary, logrank = km_tables(toy_cohort())
    cutpoint, candidates = cutpoint_tables()
    return {
        "flow": flow_table(),
        "mg_groups": groups_table(),
        "km_summary": summary,
        "km_curves": curves,
        "landmarks": landmarks_table(),
        "followup": followup_table(),
        "logrank": pd.concat([logrank, logrank_extra_rows()], ignore_index=True),
        "rmst": rmst_table(),
        "cox": cox_table(),
        "cox_models": cox_models_table(),
        "ph_test": ph_test_table(),
        "schoenfeld": schoenfeld_table(),
        "schoenfeld_smooth": schoenfeld_smooth_table(),
        "spline": spline_table(),
        "nonlinearity": nonlinearity_table(),
        "thresholds": thresholds_table(),
        "subgroups": subgroups_table(),
        **iptw_tables_toy(),
        "imputation": imputation_toy(),
        "cutpoint": cutpoint,
        "cutpoint_candidates": candidates,
        "baseline": baseline_table(),
        "mg_distribution": mg_distribution_table(),
        "arms": pd.DataFrame(
            {"arm": ["chemotherapy", "immunotherapy"], "treatment": ["other", "immunotherapy"]}
        ).assign(n=N_PATIENTS // 2),
    }


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    """Every input table keyed by file stem, built once for the module."""
    return toy_tables()


@pytest.fixture(scope="module")
def figures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the module's rendering writes its figure files."""
    return tmp_path_factory.mktemp("report") / "figures"


@pytest.fixture(scope="module")
def html(tables: dict, figures_dir: Path) -> str:
    """The rendered report (its figures also written as PNG and PDF)."""
    return render_report(tables, settings(), run(), figures_dir)


def part(html: str, start: str, end: str | None = None) -> str:
    """The page from the element with id `start` up to the one with id `end` (or the end)."""
    begin = html.index(f'id="{start}"')
    return html[begin : html.index(f'id="{end}"', begin) if end else None]


def without_svg(html: str) -> str:
    """The page without its inline figures (their path data holds arbitrary numbers)."""
    return re.sub(r"<svg.*?</svg>", "", html, flags=re.S)


def row_with(html: str, first_cell: str) -> str:
    """The first table row whose first cell is exactly `first_cell`."""
    match = re.search(rf"<tr>\s*<td>{re.escape(first_cell)}</td>.*?</tr>", html, re.S)
    assert match, first_cell
    return match[0]


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


class Tables(HTMLParser):
    """Every table of a page as shown (caption, header cells, body rows as text) with the
    CSV download link that follows it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self.cell: list[str] | None = None
        self.row: list[str] | None = None
        self.in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "table":
            self.tables.append({"caption": "", "columns": [], "rows": [], "csv": None})
        elif tag == "caption":
            self.in_caption = True
        elif tag == "tr":
            self.row = []
        elif tag in {"td", "th"}:
            self.cell = []
        elif tag == "a" and values.get("download") and self.tables:
            self.tables[-1]["csv"] = (values["href"], values["download"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self.in_caption = False
        elif tag in {"td", "th"} and self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            table = self.tables[-1]
            if table["columns"]:
                table["rows"].append(self.row)
            else:
                table["columns"] = self.row
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.in_caption:
            self.tables[-1]["caption"] += data
        elif self.cell is not None:
            self.cell.append(data)


def parse_tables(html: str) -> list[dict]:
    """The tables of a page (see :class:`Tables`), captions with whitespace collapsed and
    their table number ("Table 3. ...") taken off into ``number`` (None: unnumbered)."""
    parser = Tables()
    parser.feed(html)
    for table in parser.tables:
        caption = " ".join(table["caption"].split())
        numbered = re.match(r"Table (\d+)\. ", caption)
        table["number"] = int(numbered[1]) if numbered else None
        table["caption"] = caption[numbered.end() :] if numbered else caption
    return parser.tables


def decoded_csv(href: str) -> list[list[str]]:
    """The rows of a CSV data URI."""
    header, payload = href.split(",", 1)
    assert header == "data:text/csv;charset=utf-8;base64"
    text = base64.b64decode(payload).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def parse(html: str) -> TagBalance:
    """Parse a document and return the parser with its findings."""
    parser = TagBalance()
    parser.feed(html)
    parser.close()
    return parser


def test_formatters_follow_the_report_conventions() -> None:
    assert format_hr(1.8734) == "1.87"
    assert format_p(0.00041) == "<0.001"
    assert format_p(0.01234) == "0.012"  # two significant figures, as journals ask
    assert format_p(0.5) == "0.50"
    assert format_p(0.001) == "0.0010"
    assert format_median(math.nan) == "NR"
    assert format_median(12.345) == "12.3"
    assert format_ci(1.1211, 3.1302) == "(1.12–3.13)"
    assert format_ci(5.0, math.nan, format_median) == "(5.0–NR)"
    assert format_ci(-3.4567, -0.9877) == "(−3.46 to −0.99)"  # a minus sign, not a hyphen
    assert format_number(-0.0001, 2) == "0.00"  # no minus zero


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
    for subsection in SUBSECTION_IDS:
        assert f'id="{subsection}"' in html
        assert f'href="#{subsection}"' in html
    assert len(parser.ids) == len(set(parser.ids))


def test_report_is_self_contained(html: str) -> None:
    parser = parse(html)
    # In-page anchors and the tables' CSV downloads (data: URIs are no network request).
    assert parser.links
    for link in parser.links:
        assert link.startswith(("#", "data:text/csv;charset=utf-8;base64,")), link[:60]
        assert not link.lower().startswith(("http:", "https:", "//"))
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "<img" not in html.lower()
    assert "@import" not in html
    assert "url(http" not in html
    # The only URLs left are XML namespace names, which are never fetched.
    without_namespaces = re.sub(r'xmlns(:\w+)?="[^"]*"', "", html)
    assert "http://" not in without_namespaces
    assert "https://" not in without_namespaces


def test_internal_links_point_to_ids_of_the_page(html: str) -> None:
    parser = parse(html)
    anchors = {link[1:] for link in parser.links if link.startswith("#")}
    assert anchors <= set(parser.ids)


def test_figures_are_inlined_with_risk_tables(html: str) -> None:
    assert html.count("<svg") == N_FIGURES
    assert "<?xml" not in html
    assert "<!DOCTYPE svg" not in html
    assert 'id="km-pfs-mg_quartile-risk-table"' in html
    for group in ("low", "normal", "Q1", "Q2", "Q3", "Q4", "high"):
        assert f"{group}: at risk" in svg_texts(html)
    for measure in ("events", "censored"):
        assert measure in svg_texts(html)


def test_figures_are_images_named_by_their_captions_with_text_as_text(html: str) -> None:
    """Each inline figure is an image (role="img") whose accessible name is its caption on
    the page, and its text is SVG text (searchable, selectable), not glyph outlines."""
    svgs = re.findall(r"<svg\b[^>]*>", html)
    assert len(svgs) == N_FIGURES
    captions = dict(re.findall(r'<figcaption id="([^"]+)">(.*?)</figcaption>', html, re.S))
    for tag in svgs:
        assert 'role="img"' in tag
        caption = re.search(r'aria-labelledby="([^"]+)"', tag)[1]
        assert captions[caption].strip()
    assert len(svg_texts(html)) > 100
    assert "DejaVuSans-" not in html  # no glyph definitions


def risk_rows(curves: pd.DataFrame, group: str, times: list[float]) -> dict[str, list[str]]:
    """At risk, events and censored of one group, counted here from the curve rows."""
    rows = curves[curves["group"] == group].sort_values("time")
    counts = [(number_at_risk(rows, t), *cumulative_counts(rows, t)) for t in times]
    return {
        measure: [str(c[i]) for c in counts]
        for i, measure in enumerate(("At risk", "Events", "Censored"))
    }


def test_numbers_under_each_km_figure_are_at_risk_events_and_censored(
    tables: dict, html: str
) -> None:
    times = list(settings().risk_table_times)
    curves = pooled(tables["km_curves"])
    clinical = curves[(curves["endpoint"] == "os") & (curves["grouping"] == "mg_clinical")]
    caption = "Numbers under the figure: at risk at each time, and events and censored before it"
    os_part = part(html, "figure-km-os-mg_clinical", "figure-km-os-mg_quartile")
    table = next(t for t in parse_tables(os_part) if t["caption"] == caption)
    assert table["columns"][2:] == [f"{t:g} months" for t in times]
    group = None
    for row in table["rows"]:
        group = row[0] or group
        assert row[2:] == risk_rows(clinical, group, times)[row[1]]
    assert html.count(caption) == len(GROUPINGS) * 2  # every KM figure has its table
    # At risk + events + censored = the group's size, at every time.
    for group, size in clinical.groupby("group")["n_risk"].max().items():
        counts = risk_rows(clinical, group, times)
        for i in range(len(times)):
            assert sum(int(counts[m][i]) for m in counts) == size


def test_curves_stop_where_fewer_than_the_minimum_remain_at_risk(tables: dict, html: str):
    curves = pooled(tables["km_curves"])
    key = (curves["endpoint"] == "pfs") & (curves["grouping"] == "mg_clinical")
    summary = pooled(tables["km_summary"])
    clinical = curves[key]
    figure = km_figure(
        clinical,
        summary[(summary["endpoint"] == "pfs") & (summary["grouping"] == "mg_clinical")],
        0.01,
        "PFS",
        [0, 12, 24, 36],
        min_at_risk=MIN_AT_RISK,
    )
    for group in ("low", "normal"):
        rows = clinical[clinical["group"] == group]
        stop = truncation_time(rows, MIN_AT_RISK)
        assert stop == rows.loc[rows["n_risk"] >= MIN_AT_RISK, "time"].max()
        assert stop < rows["time"].max()  # the toy curves do get cut
        step = next(
            line for line in figure.axes[0].lines if str(line.get_label()).startswith(group)
        )
        assert max(step.get_xdata()) == pytest.approx(stop)
        caption = part(html, "figure-km-pfs-mg_clinical", "figure-km-pfs-mg_quartile")
        assert f"{group} at {stop:g} months" in caption
    assert f"at least {MIN_AT_RISK} patients remained at risk" in html
    assert truncation_time(clinical[clinical["group"] == "low"], 10_000) is None
    assert truncation_time(clinical[clinical["group"] == "low"], 0) == pytest.approx(
        clinical.loc[clinical["group"] == "low", "time"].max()
    )


def test_median_and_test_tables_show_the_input_numbers(tables: dict, html: str) -> None:
    summary = tables["km_summary"]
    # every grouping of all patients; the clinical groups within each arm as well
    summary = summary[(summary["subset"] == "all") | (summary["grouping"] == "mg_clinical")]
    assert summary["median"].isna().any()
    for _, row in summary.iterrows():
        assert f'<td class="num">{format_median(row["median"])}</td>' in html
        ci = format_ci(row["median_lower"], row["median_upper"], format_median)
        assert f'<td class="num">{ci}</td>' in html
    assert '<td class="num">NR</td>' in html
    for _, row in pooled(tables["logrank"]).iterrows():
        assert f'<td class="num">{row["statistic"]:.2f}</td>' in html


def test_logrank_rows_say_how_each_test_was_done(html: str) -> None:
    km = part(html, "km-pfs", "km-os")
    assert "<td>Log-rank stratified by arm</td>" in km
    assert "<td>Trend (scores 1–4 in the order listed)</td>" in km
    assert km.count("<td>Pairwise log-rank (Holm-adjusted p)</td>") == 2
    # The adjusted p next to the raw one.
    assert re.search(r'0\.012</td>\s*<td class="num">0\.075</td>', km)


def test_landmark_rates_are_percentages_with_ne_when_not_estimable(html: str) -> None:
    km = part(html, "km-pfs", "km-os")
    assert '<td class="num">65.4 (54.3–76.5)</td>' in km
    assert '<td class="num">15.2 (4.9–31.7)</td>' in km
    assert '<td class="num">NE</td>' in km
    for months in (6, 12, 24):
        assert f'<th scope="col" class="num">{months} months</th>' in km


def test_followup_section_per_endpoint_with_the_data_cutoff(tables: dict, html: str) -> None:
    followup = part(html, "followup", "km")
    assert f"<strong>Data cut-off:</strong> {DATA_CUTOFF}." in followup
    assert f"data cut-off: {DATA_CUTOFF}" in part(html, "summary", "flow")
    unrecorded = run(data_cutoff=None)
    endpoints = {"pfs": "Progression-free survival"}
    assert followup_section(endpoints, tables, unrecorded)["cutoff"] == "not recorded"
    assert "Progression-free survival: median follow-up" in followup
    assert "Overall survival: median follow-up" in followup
    assert '<td class="num">17.4</td>' in followup
    assert '<td class="num">(15.2–NE)</td>' in followup
    assert '<td class="num">25.7</td>' in followup
    summary = part(html, "summary", "flow")
    assert (
        "Pooled over the arms: Median follow-up (reverse Kaplan-Meier): 17.4 months (15.2–NE)."
        in summary
    )


def test_followup_rows_name_their_grouping(html: str) -> None:
    followup = part(html, "followup", "km")
    assert "All patients" in followup
    assert "data-driven" in followup  # the cut-point's "low" is labelled as such


def test_rmst_tables_state_tau_and_each_contrast(html: str) -> None:
    rmst = part(html, "rmst", "cox")
    assert "Progression-free survival: restricted mean survival time" in rmst
    assert "Overall survival: restricted mean survival time" in rmst
    assert '<td class="num">23.7</td>' in rmst and '<td class="num">31.2</td>' in rmst
    assert re.search(
        r"<td>low - normal</td>\s*<td>Difference</td>\s*"
        r'<td class="num">23\.7</td>\s*<td class="num">−2\.22</td>\s*'
        r'<td class="num">\(−3\.46 to −0\.99\)</td>\s*<td class="num">&lt;0\.001</td>',
        rmst,
    )
    assert re.search(r"<td>low / normal</td>\s*<td>RMST\N{NO-BREAK SPACE}ratio</td>", rmst)
    assert re.search(r"<td>low / normal</td>\s*<td>RMTL\N{NO-BREAK SPACE}ratio</td>", rmst)
    assert '<td class="num">8.77</td>' in rmst and '<td class="num">1.23</td>' in rmst
    summary = part(html, "summary", "flow")
    assert "difference −2.22 months (−3.46 to −0.99), p &lt; 0.001" in summary


def test_proportional_hazards_flags_only_terms_with_p_below_005(html: str) -> None:
    pfs = part(html, "ph-pfs", "ph-os")
    main_table = pfs[: pfs.index("<details>")]
    assert PH_FLAG in row_with(main_table, "Treatment arm")
    assert PH_FLAG in row_with(main_table, "Global test (all terms)")
    for term in ("Serum Mg group", "Sex"):
        assert PH_FLAG not in row_with(main_table, term)
    assert '<td class="num">6.28</td>' in main_table
    # The other models are folded away under a count of their flagged tests.
    assert "1 of 3 tests with p &lt; 0.05</summary>" in pfs
    assert PH_FLAG in row_with(pfs, "interaction")
    os = part(html, "ph-os", "continuous")
    assert PH_FLAG not in os


def test_residual_plots_only_for_flagged_terms_and_thinned(html: str) -> None:
    pfs = part(html, "ph-pfs", "ph-os")
    assert pfs.count("<svg") == 1
    assert f"{MAX_SCATTER_POINTS} of {N_RESIDUALS} residuals are drawn" in pfs
    texts = svg_texts(pfs)
    assert "Progression-free survival: Treatment arm: immunotherapy vs chemotherapy" in texts
    assert "Smooth (spline, 4 df)" in texts and "±2 SE" in texts
    assert "<svg" not in part(html, "ph-os", "continuous")


def test_spline_is_a_figure_with_its_test_not_a_table_of_coefficients(
    tables: dict, html: str
) -> None:
    spline = part(html, "spline-pfs", "spline-os")
    assert spline.count("<svg") == 1
    assert "Clinical threshold 0.70 mmol/L" in svg_texts(spline)
    assert '<td class="num">6.79</td>' in spline and '<td class="num">0.034</td>' in spline
    assert "4 knots (0.61, 0.74, 0.83, 0.95 mmol/L), adjusted for sex" in spline
    cells = without_svg(html)
    for _, row in rows_of_model(tables["cox"], "spline").iterrows():
        assert f'<td class="num">{format_hr(row["hr"])}</td>' not in cells


def rows_of_model(cox: pd.DataFrame, model: str) -> pd.DataFrame:
    """The spline model's Mg terms (the covariate also appears in other models)."""
    return cox[(cox["model"] == model) & cox["term"].str.startswith("mg_")]


def test_cutpoint_is_exploratory_with_the_corrected_p(html: str) -> None:
    section = part(html, "cutpoint", "sensitivity")
    assert re.search(r"the p-value to report</td>\s*<td>0\.042</td>", section)
    assert re.search(
        r"inflated by the search, not a valid p-value</td>\s*<td>0\.0018</td>", section
    )
    text = " ".join(section.split())
    assert "corrected for the search, p = 0.042 (the naive p = 0.0018 is inflated" in text
    assert "threshold (low: below 0.70 mmol/L) is the primary analysis" in text
    assert section.count("<svg") == 1
    assert "Chosen cut 0.66 mmol/L" in svg_texts(section)
    # Elsewhere the grouping is labelled and its uncorrected p-values marked.
    km = part(html, "km-pfs", "km-os")
    assert "exploratory, data-driven cut-point (low: ≤ 0.66 mmol/L)" in km
    assert "uncorrected for the cut search" in km
    assert "not corrected for the search over cut-points" in km
    assert "the corrected p (Lausen-Schumacher) for progression-free survival" in km
    assert '<td class="num">0.0046 †</td>' in part(html, "cox-pfs", "cox-os")


def test_missing_cutpoint_is_said_plainly(tables: dict) -> None:
    empty = {
        "cutpoint": tables["cutpoint"].iloc[0:0],
        "cutpoint_candidates": tables["cutpoint_candidates"].iloc[0:0],
    }
    section = part(render_report(tables | empty, settings(), run()), "cutpoint", "sensitivity")
    assert "No data-driven cut-point could be estimated" in section
    assert "<svg" not in section


def test_cox_tables_and_summary_show_the_input_numbers(tables: dict, html: str) -> None:
    shown = tables["cox"][tables["cox"]["model"] != "spline"]
    for _, row in shown.iterrows():
        assert f'<td class="num">{format_hr(row["hr"])}</td>' in html
        ci = format_ci(row["hr_lower"], row["hr_upper"])
        assert f'<td class="num">{ci}</td>' in html
    summary = part(html, "summary", "flow")
    assert "HR 1.87 (1.12–3.13), p = 0.012" in summary
    assert "HR 1.75 (1.03–2.95), p = 0.038" in summary
    assert (
        "Within the immunotherapy arm (a model of its patients alone): HR 2.46 (1.22–4.94),"
        " p &lt; 0.001" in summary
    )
    assert "Pooled over the arms, adjusted for sex: HR 1.75 (1.03–2.95)" in summary
    assert "HR 3.33 (1.50–7.39), p = 0.0031" in summary
    assert "not" in summary and "causes" in summary


def test_text_is_escaped_and_methods_come_from_meta(html: str) -> None:
    assert "follow-up &lt;0 or missing" in html
    assert "toy &lt;cohort&gt;" in html
    assert "toy <cohort>" not in html
    methods = " ".join(html[html.index('<section id="methods">') :].split())
    for text in (
        "ab" * 32,
        "2026-01-02T03:04:05+00:00",
        "log-log",
        "adjusted for sex, every covariate pre-specified",
        f"at least {MIN_AT_RISK} patients were at risk",
        "cumulative events and censored at 0, 6, 12, 18, 24, 30 and 36 months",
        "standardized mean difference",
        f"data cut-off: {DATA_CUTOFF}",
        "with Python 3.12.1 and lifelines 0.30.3",
        "0.30.3",
        "0.7",
        "reverse Kaplan-Meier",
        "Survival at 6, 12 and 24 months",
        "stratified by arm",
        "Holm-adjusted",
        "survRM2",
        "the largest τ its rmst2 accepts for every pair of groups",
        "cox.zph",
        "&ldquo;km&rdquo;",
        "4 knots at the 5th, 35th, 65th and 95th percentiles",
        "between the 0.1 and 0.9",
        "searched on progression-free survival",
        "Lausen-Schumacher",
    ):
        assert text in methods, text


def test_report_settings_are_keys_of_the_shipped_config() -> None:
    config = shipped_config()
    settings = ReportSettings.from_config(config)
    assert asdict(settings.cutpoint) == config["cutpoint"]
    assert set(config_keys(ReportSettings)) <= config.keys()


def test_figure_alone_is_deterministic_svg(tables: dict) -> None:
    curves, summary = pooled(tables["km_curves"]), pooled(tables["km_summary"])
    mask_c = (curves["endpoint"] == "os") & (curves["grouping"] == "mg_clinical")
    mask_s = (summary["endpoint"] == "os") & (summary["grouping"] == "mg_clinical")
    args = (curves[mask_c], summary[mask_s], 0.0004, "OS", [0, 12, 24, 36])
    first = figure_svg(km_figure(*args))
    assert first == figure_svg(km_figure(*args))
    assert first.startswith("<svg")
    assert "Log-rank p < 0.001" in svg_texts(first)


def test_mg_group_definitions_and_adjustment_set_come_from_the_tables(html: str):
    assert "[0.41, 0.734]" in html
    assert "<td>≤ 0.66</td>" in html
    # The multivariable model's own terms name what it adjusts for (here: sex only).
    assert "adjusted for: sex)" in html


def test_interaction_and_model_statistics_are_shown(html: str):
    assert "Interaction ratio of HRs 2.20 (0.81–5.94), p = 0.12" in html
    assert "low vs normal, in the immunotherapy arm" in html
    assert "7.3 (below 10)" in html and "19.5" in html and "0.612" in html


def test_every_table_has_a_csv_download_equal_to_the_table_shown(html: str) -> None:
    tables = parse_tables(html)
    assert len(tables) > 30
    names = []
    for table in tables:
        assert table["csv"], table["caption"]
        href, name = table["csv"]
        names.append(name)
        assert re.fullmatch(r"[a-z0-9_-]+\.csv", name), name
        cells = [[" ".join(cell.split()) for cell in row] for row in decoded_csv(href)]
        assert cells == [table["columns"], *table["rows"]], table["caption"]
    assert len(names) == len(set(names))


def test_baseline_table_shows_the_input_numbers(tables: dict, html: str) -> None:
    section = part(html, "baseline", "followup")
    table = next(t for t in parse_tables(section) if t["caption"].startswith("Baseline"))
    assert table["columns"] == [
        "Characteristic",
        "All (n = 48)",
        "normal (n = 31)",
        "low (n = 17)",
        "SMD (low vs normal)",
    ]
    rows = {row[0]: row[1:] for row in table["rows"]}
    assert rows["Serum Mg (mmol/L), median [Q1, Q3]"] == [
        "0.75 [0.63, 0.88]",
        "0.81 [0.75, 0.90]",
        "0.61 [0.56, 0.67]",
        "2.46",
    ]
    assert rows["Age, median [Q1, Q3]"] == ["64 [57, 72]", "63 [56, 70]", "67 [60, 74]", "0.18"]
    assert rows["Treatment arm, n (%)"] == ["", "", "", "0.05"]
    assert rows["immunotherapy"] == ["25 (52.1%)", "16 (51.6%)", "9 (52.9%)", ""]
    assert rows["female"] == ["20 (41.7%)", "12 (38.7%)", "8 (47.1%)", ""]
    # A Missing line only for the variable with missing values, right after it.
    labels = [row[0] for row in table["rows"]]
    assert labels.count("Missing") == 1
    assert labels[labels.index("Missing") - 1] == "Age, median [Q1, Q3]"
    assert rows["Missing"] == ["2", "1", "1", ""]
    assert '<tr class="level">' in section
    # Balance: the covariates above an SMD of 0.1, not the marker itself.
    assert "Standardized mean difference above 0.1 between the groups: age (0.18);" in section


def test_forest_plot_of_every_multivariable_term_with_reference_rows(
    tables: dict, html: str
) -> None:
    cox = tables["cox"]
    model = cox[(cox["endpoint"] == "pfs") & (cox["model"] == "multivariable")]
    rows = forest_rows(model)
    assert list(rows["label"]) == ["normal", "low", "male", "female"]
    assert list(rows["kind"]) == ["reference", "estimate", "reference", "estimate"]
    assert list(rows["variable"]) == ["Serum Mg group"] * 2 + ["sex"] * 2
    estimates = rows[rows["kind"] == "estimate"]
    assert list(estimates["hr"]) == list(model["hr"])
    assert rows.loc[rows["kind"] == "reference", "hr"].isna().all()
    figure = part(html, "figure-forest-pfs", "cox-os")
    assert figure.count("<svg") == 1
    for text in ("reference", "1.75 (1.03–2.95)", "0.038"):
        assert text in svg_texts(figure)
    assert "(48 patients, 39 events)" in figure
    assert 'id="figure-forest-os"' in html


def test_spline_figure_has_the_mg_distribution_under_it(html: str) -> None:
    spline = part(html, "spline-pfs", "spline-os")
    assert "Patients per 0.02 mmol/L of serum Mg" in svg_texts(spline)
    total = int(mg_distribution_table()["n"].sum())
    assert f"the {total} observed serum Mg values in bins of 0.02 mmol/L" in spline


def test_appendix_has_config_checksum_versions_date_and_rule_graph(html: str) -> None:
    appendix = part(html, "appendix", "remark")
    config = re.search(r"<pre>(.*?)</pre>", appendix, re.S)
    assert config
    text = config[1].replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">")
    assert yaml.safe_load(text) == settings().config
    assert "ab" * 32 in appendix
    assert "2026-01-02T03:04:05+00:00" in appendix
    assert re.search(r"<td>lifelines</td>\s*<td>0\.30\.3</td>", appendix)
    graph = part(appendix, "figure-rulegraph")
    assert graph.count("<svg") == 1
    for rule in ("all", "render_report", "analyse_endpoint", "prepare_cohort"):
        assert rule in svg_texts(graph)
    assert "4 rules and their dependencies" in graph


def test_rule_graph_is_parsed_and_laid_out_in_longest_path_layers() -> None:
    labels, edges = parse_rulegraph(RULEGRAPH)
    assert labels == {
        "0": "all",
        "1": "render_report",
        "2": "analyse_endpoint",
        "3": "prepare_cohort",
    }
    assert edges == [("1", "0"), ("2", "1"), ("3", "1"), ("3", "2")]
    assert longest_path_layers(list(labels), edges) == {"3": 0, "2": 1, "1": 2, "0": 3}
    positions, paths = layered_layout(list(labels), edges)
    # The edge that skips a layer gets a waypoint beside the box it would cross.
    long_edge = paths[edges.index(("3", "1"))]
    assert len(long_edge) == 3 and long_edge[1][0] != positions["2"][0]


def test_rule_graph_is_numbered_by_rule_name_whatever_order_snakemake_gives() -> None:
    """Snakemake numbers the rules and lists the edges in an order that varies between runs;
    the canonical DOT (and so the report's figure of it) does not."""
    new = {"0": "2", "1": "0", "2": "3", "3": "1"}

    def renumbered(line: str) -> str:
        if edge := re.fullmatch(r"\t(\d+) -> (\d+)", line):
            return f"\t{new[edge[1]]} -> {new[edge[2]]}"
        if node := re.fullmatch(r"\t(\d+)(\[.*)", line):
            return f"\t{new[node[1]]}{node[2]}"
        return line

    lines = [renumbered(line) for line in RULEGRAPH.strip().splitlines()]
    body = [line for line in lines if line.startswith("\t")]
    header = [line for line in lines if not line.startswith("\t") and line != "}"]
    assert canonical_dot("\n".join([*header, *reversed(body), "}"])) == canonical_dot(RULEGRAPH)

    labels, edges = parse_rulegraph(canonical_dot(RULEGRAPH))
    assert list(labels.values()) == sorted(labels.values())
    assert edges == sorted(edges, key=lambda edge: (int(edge[0]), int(edge[1])))
    original, original_edges = parse_rulegraph(RULEGRAPH)
    named = {(original[a], original[b]) for a, b in original_edges}
    assert {(labels[a], labels[b]) for a, b in edges} == named


def test_remark_checklist_has_every_item_linked_or_explained(tables: dict, html: str) -> None:
    parser = parse(html)
    section = part(html, "remark")
    table = next(t for t in parse_tables(section) if t["caption"].startswith("REMARK"))
    assert [row[0] for row in table["rows"]] == [str(i) for i in range(1, 21)]
    statuses = {"Addressed", "Partly", "Not in the data", "For the manuscript"}
    for row in table["rows"]:
        assert row[2] in statuses
        assert row[3]
    rows = {row[0]: row for row in table["rows"]}
    assert rows["4"][2] == rows["5"][2] == "Not in the data"
    # Item 9 quotes the events and events per parameter from the tables.
    assert (
        "events per parameter of the multivariable model: progression-free survival 19.5,"
        in (rows["9"][3])
    )
    assert "overall survival 7.3" in rows["9"][3]
    assert rows["9"][2] == "For the manuscript"
    assert f"Data cut-off: {DATA_CUTOFF}" in rows["6"][3]
    links = re.findall(r'href="#([^"]+)"', section)
    assert {"summary", "flow", "baseline", "followup", "cox", "ph", "methods"} <= set(links)
    assert set(links) <= set(parser.ids)


def test_every_figure_is_written_as_png_and_pdf(html: str, figures_dir: Path) -> None:
    ids = re.findall(r'<figure id="figure-([^"]+)"', html)
    assert len(ids) == N_FIGURES == len(set(ids))
    assert {"km-pfs-mg_clinical", "forest-os", "spline-pfs", "rulegraph"} <= set(ids)
    files = sorted(path.name for path in figures_dir.iterdir())
    assert files == sorted(f"{i}.{ext}" for i in ids for ext in ("png", "pdf"))
    for figure_id in ids:
        assert (figures_dir / f"{figure_id}.png").read_bytes().startswith(b"\x89PNG")
        pdf = (figures_dir / f"{figure_id}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF") and b"CreationDate" not in pdf
        assert f"{figures_dir.name}/{figure_id}.png" in html


def test_rendering_is_deterministic(
    tables: dict, html: str, figures_dir: Path, tmp_path: Path
) -> None:
    again = tmp_path / figures_dir.name
    assert render_report(tables, settings(), run(), again) == html
    for path in figures_dir.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


def test_figure_files_drawn_by_worker_processes_are_the_same_bytes(
    tables: dict, html: str, figures_dir: Path, tmp_path: Path
) -> None:
    """The rule draws the PNG and PDF files in forked workers (the figure pickled to them):
    the page and every file must be what the single process writes."""
    parallel = tmp_path / figures_dir.name
    assert render_report(tables, settings(), run(), parallel, workers=2) == html
    assert sorted(p.name for p in parallel.iterdir()) == sorted(
        p.name for p in figures_dir.iterdir()
    )
    for path in figures_dir.iterdir():
        assert (parallel / path.name).read_bytes() == path.read_bytes(), path.name


def test_curves_with_categorical_labels_give_the_same_report(
    tables: dict, html: str, figures_dir: Path, tmp_path: Path
) -> None:
    """The rule reads km_curves.tsv's labels as categoricals (memory at 10^6 patients):
    the page must be the one plain text labels give."""
    curves = tables["km_curves"].astype(
        dict.fromkeys(["endpoint", "grouping", "group"], "category")
    )
    again = tmp_path / figures_dir.name
    assert render_report(tables | {"km_curves": curves}, settings(), run(), again) == html


def test_a_time_split_model_is_shown_beside_the_ph_test_only_where_fitted(tables: dict) -> None:
    """The analysis adds a time-split model when the PH test flags the Mg group; the report
    shows it in that endpoint's PH section, with its note, and nowhere else."""
    before, after = f"{KEY_TERM} in (0, 3.1] months", f"{KEY_TERM} after 3.1 months"
    split = pd.DataFrame(
        {
            "endpoint": "pfs",
            "model": "time-split",
            "term": [before, after],
            "hr": [2.7531, 0.9135],
            "hr_lower": [1.5, 0.5],
            "hr_upper": [5.05, 1.67],
            "p": [0.001, 0.77],
            "n": 48,
            "events": 39,
        }
    )
    model = pd.DataFrame(
        {"endpoint": ["pfs"], "model": ["time-split"], "terms": ["mg_clinical, sex"]}
        | {"n": [48], "events": [39], "note": ["the PH test flagged the Mg group"]}
    )
    with_split = tables | {
        "cox": pd.concat([tables["cox"], split], ignore_index=True),
        "cox_models": pd.concat([tables["cox_models"], model], ignore_index=True),
    }
    page = render_report(with_split, settings(), run())
    ph_pfs = part(page, "ph-pfs", "ph-os")
    assert "Time-split model" in ph_pfs and "2.75" in ph_pfs and "0.91" in ph_pfs
    assert "the PH test flagged the Mg group" in ph_pfs
    assert "<td>low vs normal, up to 3.1 months</td>" in ph_pfs
    assert "<td>low vs normal, after 3.1 months</td>" in ph_pfs
    assert "Time-split model" not in part(page, "ph-os", "continuous")
    assert "Time-split model" not in render_report(tables, settings(), run())


def large_km_curve(n: int = 100_000) -> pd.DataFrame:
    """km_curves rows of one group of n patients with n distinct times, one event each."""
    rng = np.random.default_rng(7)
    time = np.sort(rng.exponential(12.0, n))
    at_risk = n - np.arange(n)
    surv = np.cumprod(1 - 1 / at_risk)
    return pd.DataFrame(
        {
            "endpoint": "pfs",
            "grouping": "mg_clinical",
            "group": "normal",
            "time": time,
            "n_risk": at_risk,
            "n_event": 1,
            "n_censor": rng.integers(0, 2, n),
            "surv": surv,
            "lower": surv * 0.99,
            "upper": np.minimum(surv * 1.01, 1.0),
        }
    )


def test_a_large_curve_is_drawn_from_at_most_two_steps_per_bin_within_one_bin_of_the_truth():
    curve = large_km_curve()
    stop = float(curve["time"].max())
    drawn = drawn_steps(curve, stop)
    assert len(drawn) <= 2 * KM_DRAWN_BINS < len(curve)
    assert drawn.index[0] == curve.index[0] and drawn.index[-1] == curve.index[-1]
    # the drawn step function at any time t lies between the true one at t and at t - bin
    grid = np.linspace(0, stop, 20_001)
    width = stop / KM_DRAWN_BINS

    def step_value(rows: pd.DataFrame, t: np.ndarray) -> np.ndarray:
        position = np.searchsorted(rows["time"].to_numpy(), t, side="right") - 1
        return np.where(position >= 0, rows["surv"].to_numpy()[np.maximum(position, 0)], 1.0)

    shown, now = step_value(drawn, grid), step_value(curve, grid)
    earlier = step_value(curve, grid - width)
    assert np.all(shown >= now - 1e-15) and np.all(shown <= earlier + 1e-15)
    small = curve.head(KM_DRAWN_BINS)
    assert drawn_steps(small, stop).equals(small)  # no more rows than bins: all drawn


def test_a_km_figure_of_100000_patients_stays_small():
    curve = large_km_curve()
    summary = pd.DataFrame({"group": ["normal"], "n": [len(curve)], "median": [8.3]})
    svg = figure_svg(km_figure(curve, summary, 0.5, "Large cohort", [0, 12, 24, 36]))
    points = sum(
        len(re.findall(r"[ML]\s*-?[\d.]+[ ,]-?[\d.]+", path))
        for path in re.findall(r'<path[^>]*?\sd="([^"]*)"', svg)
    )
    assert points < 10 * KM_DRAWN_BINS, points
    assert len(svg) < 1_000_000
