"""Table 1: baseline characteristics by clinical serum Mg group, gtsummary style.

From the ``baseline`` table (one row per variable, level and group; see mgsurv.cohort.baseline):
a row "median [Q1, Q3]" per numeric variable, a header row and an "n (%)" row per level of
a categorical one, a "Missing" row per variable with any missing value, and the
standardized mean difference (SMD) between the low and normal groups.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mgsurv.contract import ALL_PATIENTS, ARM_COLUMN, CLINICAL_GROUPING, KEY_TERM, MG_COLUMN
from mgsurv.report.disclosure import SUPPRESSED, format_patients, is_suppressed
from mgsurv.report.formatting import format_number, in_sentence, is_missing, word_list
from mgsurv.report.labels import definition_text, grouping_label, term_parts, variable_name
from mgsurv.report.tables import Tables, rows_of, table

NUMERIC = "numeric"
# The marker itself: its groups differ by construction, so its SMD says nothing on balance.
MARKER_VARIABLE = MG_COLUMN
BASELINE_LABELS = {MARKER_VARIABLE: "Serum Mg (mmol/L)", ARM_COLUMN: "Treatment arm"}
# SMD above this is commonly read as a meaningful imbalance (Austin 2009).
SMD_IMBALANCE = 0.1
LEVEL = "level"
HEAD = "variable"


def decimals_for(value: float) -> int:
    """Decimals of a median [Q1, Q3] cell by magnitude, as gtsummary's style_sigfig: 0 from
    10 up, 1 from 1, else 2 (age 64 [57, 71]; serum Mg 0.82 [0.75, 0.89])."""
    if is_missing(value):
        return 2
    return 0 if abs(value) >= 10 else 1 if abs(value) >= 1 else 2


def median_cell(row: pd.Series, decimals: int) -> str:
    """'0.82 [0.75, 0.89]' for a numeric row; 'NA' when no patient had a value; suppressed
    when fewer than k had one (their median and quartiles are their own values)."""
    if is_suppressed(row["n"]):
        return SUPPRESSED
    if is_missing(row["median"]):
        return "NA"
    q1, q3 = (format_number(row[key], decimals) for key in ("q1", "q3"))
    return f"{format_number(row['median'], decimals)} [{q1}, {q3}]"


def count_cell(row: pd.Series) -> str:
    """'523 (43.6%)' for a level: its count and % of the group's non-missing values; a
    suppressed count without its percentage, which would give it away."""
    if is_missing(row["percent"]) or is_suppressed(row["n"]):
        return format_patients(row["n"])
    return f"{format_patients(row['n'])} ({row['percent']:.1f}%)"


def group_sizes(baseline: pd.DataFrame, groups: list[str]) -> dict[str, int]:
    """Patients per group, from the first variable: its counts plus its missing."""
    first = rows_of(baseline, variable=str(baseline["variable"].iloc[0]))
    sizes = {}
    for group in groups:
        rows = rows_of(first, group=group)
        sizes[group] = int(rows["n"].sum() + rows["missing"].iloc[0]) if len(rows) else 0
    return sizes


def variable_smd(variable_rows: pd.DataFrame) -> float:
    """The variable's SMD (repeated on its rows; NaN on the 'all' rows)."""
    values = variable_rows["smd"].dropna()
    return float(values.iloc[0]) if len(values) else float("nan")


def variable_block(
    variable: str, variable_rows: pd.DataFrame, groups: list[str]
) -> tuple[list[list[str]], list[str]]:
    """The rows (and their classes) of one variable in Table 1."""
    label = BASELINE_LABELS.get(variable) or variable_name(variable)
    smd = format_number(variable_smd(variable_rows), 2)
    by_group = {g: rows_of(variable_rows, group=g) for g in groups}
    rows, classes = [], []
    if str(variable_rows["kind"].iloc[0]) == NUMERIC:
        overall = by_group[groups[0]]
        decimals = decimals_for(overall["median"].iloc[0] if len(overall) else float("nan"))
        cells = [
            median_cell(by_group[g].iloc[0], decimals) if len(by_group[g]) else "NA" for g in groups
        ]
        rows.append([f"{label}, median [Q1, Q3]", *cells, smd])
        classes.append(HEAD)
    else:
        rows.append([f"{label}, n (%)", *([""] * len(groups)), smd])
        classes.append(HEAD)
        for level in dict.fromkeys(variable_rows["level"].astype(str)):
            cells = []
            for g in groups:
                level_rows = rows_of(by_group[g], level=level)
                cells.append(count_cell(level_rows.iloc[0]) if len(level_rows) else "0")
            rows.append([definition_text(level), *cells, ""])
            classes.append(LEVEL)
    missing = [int(by_group[g]["missing"].iloc[0]) if len(by_group[g]) else 0 for g in groups]
    if any(missing):
        rows.append(["Missing", *map(format_patients, missing), ""])
        classes.append(LEVEL)
    return rows, classes


def imbalanced(baseline: pd.DataFrame) -> list[str]:
    """Variables (not the marker) whose SMD between low and normal exceeds SMD_IMBALANCE."""
    names = []
    for variable in dict.fromkeys(baseline["variable"].astype(str)):
        if variable == MARKER_VARIABLE:
            continue
        smd = variable_smd(rows_of(baseline, variable=variable))
        if not is_missing(smd) and smd > SMD_IMBALANCE:
            label = BASELINE_LABELS.get(variable) or variable_name(variable)
            names.append(f"{in_sentence(label)} ({smd:.2f})")
    return names


def baseline_section(tables: Tables) -> dict[str, Any]:
    """Table 1 with its balance sentence."""
    baseline = tables["baseline"]
    if baseline.empty:
        return {
            "table": table("Baseline characteristics", ["Characteristic"], [], 1),
            "balance": "",
        }
    baseline = baseline.assign(
        level=baseline["level"].fillna("").astype(str), group=baseline["group"].astype(str)
    )
    present = list(dict.fromkeys(baseline["group"]))
    groups = (
        [ALL_PATIENTS, *[g for g in present if g != ALL_PATIENTS]]
        if ALL_PATIENTS in present
        else present
    )
    sizes = group_sizes(baseline, groups)
    rows, classes = [], []
    for variable in dict.fromkeys(baseline["variable"].astype(str)):
        block, block_classes = variable_block(
            variable, rows_of(baseline, variable=variable), groups
        )
        rows += block
        classes += block_classes
    heading = {ALL_PATIENTS: "All"}
    compared = term_parts(KEY_TERM)[1]
    columns = [
        "Characteristic",
        *(f"{heading.get(g, g)} (n = {format_patients(sizes[g])})" for g in groups),
        f"SMD ({compared})",
    ]
    caption = (
        f"Baseline characteristics by {grouping_label(CLINICAL_GROUPING, tables['mg_groups'])}"
    )
    names = imbalanced(baseline)
    balance = (
        f"Standardized mean difference above {SMD_IMBALANCE:g} between the groups: "
        f"{word_list(names)}; these differences are what the multivariable models adjust for"
        " where the variable is a covariate."
        if names
        else f"No variable besides serum Mg differs between the groups by an SMD above"
        f" {SMD_IMBALANCE:g}."
    )
    notes = [
        "Numeric variables: median [first, third quartile]; categorical: n (% of patients with"
        " a value). Missing: patients without a value (not in the percentages). SMD:"
        " absolute standardized mean difference between the groups (categorical variables:"
        " Yang & Dalton's multi-level SMD); above 0.1 is commonly read as an imbalance."
    ]
    return {
        "table": table(
            caption, columns, rows, 1, notes=notes, row_classes=classes, trailing_text=0
        ),
        "balance": balance,
    }
