"""The self-contained HTML report, built only from the results-contract tables.

Python turns the tidy tables (one dict keyed by file stem: flow, mg_groups, km_summary,
km_curves, landmarks, followup, logrank, rmst, cox, cox_models, ph_test, schoenfeld,
spline, nonlinearity, cutpoint, cutpoint_candidates) and the run metadata into plain,
already formatted strings; the Jinja2 template only lays them out. Every number in the
report therefore comes from an input table or the run's settings, and the page has no
scripts, stylesheets, fonts or images to fetch: figures are inline SVG, CSS is inline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from mgsurv.figures import (
    MAX_SCATTER_POINTS,
    cutpoint_figure_svg,
    format_p,
    km_figure_svg,
    p_phrase,
    schoenfeld_figure_svg,
    smoothing_window,
    spline_figure_svg,
)

ENDPOINT_LABELS = {"pfs": "Progression-free survival", "os": "Overall survival"}
EVENT_DEFINITIONS = {
    "pfs": "disease progression or death from any cause, whichever came first",
    "os": "death from any cause",
}
CLINICAL_GROUPING = "mg_clinical"
CUTPOINT_GROUPING = "mg_cutpoint"
EXPLORATORY = "exploratory, data-driven cut-point"
GROUPING_LABELS = {
    CLINICAL_GROUPING: "clinical serum Mg group",
    "mg_quartile": "serum Mg quartile",
    CUTPOINT_GROUPING: f"serum Mg at an {EXPLORATORY}",
}
VARIABLE_LABELS = {
    "mg_clinical": "Serum Mg group",
    "mg_quartile": "Serum Mg quartile",
    CUTPOINT_GROUPING: f"Serum Mg group ({EXPLORATORY})",
    "mg": "Serum Mg",
}
UNIT_LABELS = {"mmol_l": "mmol/L"}
TEST_LABELS = {"logrank": "Log-rank"}
ADJUST_LABELS = {"holm": "Holm", "BH": "Benjamini-Hochberg"}
KEY_TERM = "mg_clinical[low vs normal]"
# Terms of serum Mg itself start with this; the other terms of a model are its covariates.
MG_TERM_PREFIX = "mg_"
ARM_MODEL_PREFIX = "arm="
PH_MODEL = "multivariable"
PH_GLOBAL = "GLOBAL"
PH_ALPHA = 0.05
PH_FLAG = "possible non-proportional hazards"
FOLLOWUP_ALL = "all"
EXPLORATORY_MARK = "†"
# mg_groups definitions are plain text ("<= 0.69"); shown with the mathematical signs.
INEQUALITIES = {"<=": "≤", ">=": "≥"}
CATEGORICAL_TERM = re.compile(r"^(?P<variable>[^\[]+)\[(?P<comparison>.+)\]$")
WITHIN_ARM = re.compile(r"^(?P<term>.+) within arm=(?P<arm>.+)$")
INTERACTION_TERM = re.compile(r"^(?P<left>[^:]+\])\s*:\s*(?P<right>.+\])$")
PER_UNIT_TERM = re.compile(r"^(?P<variable>.+)_per_(?P<step>[0-9.]+)_(?P<unit>.+)$")
# rmst.tsv rows after the groups: "g - ref" (difference), "g / ref" (ratio), "RMTL g / ref";
# measure names keep their words together (no-break space) in the narrow Measure column.
DIFFERENCE = re.compile(r"^(?P<group>.+) - (?P<reference>.+)$")
RMST_CONTRASTS = (
    (re.compile(r"^RMTL (?P<contrast>.+ / .+)$"), "RMTL\N{NO-BREAK SPACE}ratio"),
    (re.compile(r"^(?P<contrast>.+ / .+)$"), "RMST\N{NO-BREAK SPACE}ratio"),
    (re.compile(r"^(?P<contrast>.+ - .+)$"), "Difference"),
)
FLOW_COLUMNS = {
    "step": "Step",
    "reason": "Reason",
    "n_before": "Before",
    "n_excluded": "Excluded",
    "n_after": "After",
}
COX_COLUMNS = ["Variable", "Comparison", "HR", "95% CI", "p", "n", "Events"]
# Config keys the report states (render_report.py adds them to meta from the settings).
REPORT_SETTINGS = (
    "mg_threshold_mmol_l",
    "conf_type",
    "landmark_months",
    "strata",
    "pairwise_adjust",
    "rmst_tau_months",
    "ph_transform",
    "spline_reference_mmol_l",
    "cutpoint",
)
# (id, heading, subsections) of the page, in order: the template and the contents list.
SECTIONS = [
    ("summary", "Summary", []),
    ("flow", "Patient flow", [("followup", "Follow-up")]),
    ("km", "Kaplan-Meier analysis", []),
    ("rmst", "Restricted mean survival time", []),
    ("cox", "Cox regression", []),
    (
        "continuous",
        "Serum Mg as a continuous variable",
        [
            ("spline", "Restricted cubic spline"),
            ("cutpoint", "Data-driven cut-point (exploratory)"),
        ],
    ),
    ("ph", "Proportional-hazards checks", []),
    ("methods", "Methods", []),
]

Table = dict[str, Any]
Tables = dict[str, pd.DataFrame]


def report_settings(settings: dict) -> dict:
    """The config keys the report states, for ``meta`` (settings: the validated config)."""
    return {key: settings[key] for key in REPORT_SETTINGS}


def is_missing(value: Any) -> bool:
    """True for None and NaN, the contract's markers of 'not estimable'."""
    return value is None or bool(pd.isna(value))


def format_number(value: float, decimals: int, missing: str = "NA") -> str:
    """A number with a fixed count of decimals; `missing` ('NA') when not estimable."""
    return missing if is_missing(value) else f"{value:.{decimals}f}"


def format_hr(value: float) -> str:
    """A hazard ratio with 2 decimals; 'NA' when not estimable."""
    return format_number(value, 2)


def format_median(value: float) -> str:
    """A median time in months with 1 decimal; 'NR' (not reached) when missing."""
    return "NR" if is_missing(value) else f"{value:.1f}"


def format_estimable(value: float) -> str:
    """A time in months with 1 decimal; 'NE' (not estimable) when missing."""
    return format_number(value, 1, missing="NE")


def format_percent(value: float) -> str:
    """A probability as a percentage with 1 decimal; 'NE' (not estimable) when missing."""
    return "NE" if is_missing(value) else f"{100 * value:.1f}"


def format_two(value: float) -> str:
    """An estimate with 2 decimals (RMST and its contrasts); 'NA' when missing."""
    return format_number(value, 2)


def format_ci(lower: float, upper: float, formatter: Callable[[float], str] = format_hr) -> str:
    """A confidence interval as '(lower–upper)' with the estimate's own formatter; with a
    negative bound as '(lower to upper)', so that minus signs and the dash stay apart."""
    negative = any(not is_missing(bound) and bound < 0 for bound in (lower, upper))
    return f"({formatter(lower)}{' to ' if negative else '–'}{formatter(upper)})"


def format_count(value: Any) -> str:
    """A count as an integer; 'NA' when missing."""
    return "NA" if is_missing(value) else str(int(value))


def slug(text: str) -> str:
    """A string safe to use inside an HTML id."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text)


def endpoint_labels(meta: dict) -> dict[str, str]:
    """Endpoint code -> label, from the metadata when it provides one."""
    return {**ENDPOINT_LABELS, **meta.get("endpoints_label", {})}


def endpoint_order(labels: dict[str, str], *tables: pd.DataFrame) -> list[str]:
    """Endpoints present in any table, in label order (PFS before OS), then the rest."""
    present = list(dict.fromkeys(e for t in tables for e in t["endpoint"].astype(str)))
    return [e for e in labels if e in present] + [e for e in present if e not in labels]


def rows_of(table: pd.DataFrame, **equal: str) -> pd.DataFrame:
    """Rows of a table whose columns equal the given values."""
    mask = pd.Series(True, index=table.index)
    for column, value in equal.items():
        mask &= table[column].astype(str) == value
    return table[mask]


def grouping_label(grouping: str, groups: pd.DataFrame) -> str:
    """Readable grouping name; one with a 'low' group states that group's boundary from
    mg_groups, e.g. 'clinical serum Mg group (low: < 0.7 mmol/L)'."""
    label = GROUPING_LABELS.get(grouping, grouping)
    low = rows_of(groups, grouping=grouping, group="low")["definition"]
    return f"{label} (low: {definition_text(low.iloc[0])} mmol/L)" if len(low) else label


def definition_text(definition: str) -> str:
    """An mg_groups definition with ≤ and ≥ for '<=' and '>='."""
    for plain, sign in INEQUALITIES.items():
        definition = definition.replace(plain, sign)
    return definition


def in_sentence(label: str) -> str:
    """A label as it reads inside a sentence ('Overall survival' -> 'overall survival')."""
    return label[:1].lower() + label[1:]


def blank_repeats(rows: list[list[str]]) -> list[list[str]]:
    """Rows whose first cell is left empty where it repeats the row above, so that each
    grouping's (long) name is read once, at the head of its block."""
    return [
        ["" if i and row[0] == rows[i - 1][0] else row[0], *row[1:]] for i, row in enumerate(rows)
    ]


def is_exploratory(name: str) -> bool:
    """True for the data-driven cut-point grouping and its Cox term."""
    return name == CUTPOINT_GROUPING or name.startswith(f"{CUTPOINT_GROUPING}[")


def cutpoint_caveat(tables: Tables, meta: dict) -> str:
    """Why p-values of the cut-point grouping are too small, and where the corrected one is."""
    text = (
        f"{EXPLORATORY.capitalize()}: p-values of this grouping are not corrected for the"
        " search over cut-points and are too small"
    )
    if len(tables["cutpoint"]):
        row = tables["cutpoint"].iloc[0]
        endpoint = endpoint_labels(meta).get(str(row["endpoint"]), str(row["endpoint"]))
        text += (
            f"; the corrected p (Lausen-Schumacher) for {in_sentence(endpoint)}, the endpoint"
            " searched,"
            f" is {format_p(row['p_lau92'])}"
        )
    return f"{text} (see the data-driven cut-point section)."


def p_cell(p: float, name: str) -> str:
    """A p-value cell, marked when it is an uncorrected p of the exploratory cut-point."""
    marked = is_exploratory(name) and not is_missing(p)
    return f"{format_p(p)} {EXPLORATORY_MARK}" if marked else format_p(p)


def exploratory_notes(names: pd.Series, caveat: str) -> list[str]:
    """The cut-point footnote, when any row of a table belongs to that grouping."""
    return [f"{EXPLORATORY_MARK} {caveat}"] if any(map(is_exploratory, names.astype(str))) else []


def term_parts(term: str) -> tuple[str, str]:
    """Split a Cox term into (variable label, comparison) for display.

    'sex[female vs male]' -> ('sex', 'female vs male');
    'a[x vs y]:b[u vs v]' -> ('a × b', 'x vs y × u vs v') (an interaction);
    '<term> within arm=<arm>' -> the term's parts, comparison suffixed with the arm;
    'mg_per_0.1_mmol_l' -> ('Serum Mg', 'per 0.1 mmol/L higher'); other numeric terms
    ('age') -> ('age', 'per unit higher').
    """
    if match := WITHIN_ARM.match(term):
        variable, comparison = term_parts(match["term"])
        return variable, f"{comparison}, in the {match['arm']} arm"
    if match := INTERACTION_TERM.match(term):
        (left, left_comparison), (right, right_comparison) = map(
            term_parts, (match["left"], match["right"])
        )
        return f"{left} × {right}", f"{left_comparison} × {right_comparison}"
    if match := CATEGORICAL_TERM.match(term):
        variable = match["variable"]
        return VARIABLE_LABELS.get(variable, variable), match["comparison"]
    if match := PER_UNIT_TERM.match(term):
        unit = UNIT_LABELS.get(match["unit"], match["unit"])
        variable = VARIABLE_LABELS.get(match["variable"], match["variable"])
        return variable, f"per {match['step']} {unit} higher"
    return VARIABLE_LABELS.get(term, term), "per unit higher"


def arm_models(cox: pd.DataFrame) -> list[str]:
    """The per-arm model names ('arm=<x>') in table order."""
    models = dict.fromkeys(cox["model"].astype(str))
    return [m for m in models if m.startswith(ARM_MODEL_PREFIX)]


def model_label(model: str) -> str:
    """'multivariable' as is; 'arm=<x>' as 'within the <x> arm'."""
    if model.startswith(ARM_MODEL_PREFIX):
        return f"within the {model.removeprefix(ARM_MODEL_PREFIX)} arm"
    return model


def hr_text(row: pd.Series) -> str:
    """'HR 1.87 (1.12–3.10), p = 0.0123' for one Cox row."""
    ci = format_ci(row["hr_lower"], row["hr_upper"])
    return f"HR {format_hr(row['hr'])} {ci}, {p_phrase(row['p'])}"


def cox_row(row: pd.Series) -> list[str]:
    """One Cox table row: variable, comparison, HR, CI, p, n, events."""
    variable, comparison = term_parts(str(row["term"]))
    return [
        variable,
        comparison,
        format_hr(row["hr"]),
        format_ci(row["hr_lower"], row["hr_upper"]),
        p_cell(row["p"], str(row["term"])),
        format_count(row["n"]),
        format_count(row["events"]),
    ]


def table(
    caption: str,
    columns: list[str],
    rows: list[list[str]],
    text_columns: int,
    *,
    notes: list[str] | None = None,
    trailing_text: int = 0,
) -> Table:
    """A table spec for the template: the first `text_columns` and the last `trailing_text`
    columns are text, the others numeric (right-aligned); `notes` are printed under it."""
    numeric = [text_columns <= i < len(columns) - trailing_text for i in range(len(columns))]
    return {
        "caption": caption,
        "columns": columns,
        "rows": rows,
        "numeric": numeric,
        "notes": notes or [],
    }


def adjusted_for(cox: pd.DataFrame, model: str = "multivariable") -> str:
    """The variables a Cox model adjusts serum Mg for, read from its terms (all but Mg's)."""
    terms = rows_of(cox, model=model)["term"].astype(str)
    variables = dict.fromkeys(term_parts(t)[0] for t in terms if not t.startswith(MG_TERM_PREFIX))
    return ", ".join(variables)


def model_rows(endpoint_cox: pd.DataFrame, model: str) -> list[list[str]]:
    """The Cox table rows of one model."""
    return [cox_row(r) for _, r in rows_of(endpoint_cox, model=model).iterrows()]


def model_statistics_table(endpoint_models: pd.DataFrame) -> Table:
    """Per model: n, events, events per parameter (flagged below 10), concordance, LR test."""
    rows = [
        [
            str(row["model"]),
            str(row["terms"]),
            format_count(row["n"]),
            format_count(row["events"]),
            format_number(row["events_per_parameter"], 1)
            + (" (below 10)" if str(row["epv_below_10"]) == "True" else ""),
            format_number(row["concordance"], 3),
            format_p(row["lr_p"]),
        ]
        for _, row in endpoint_models.iterrows()
    ]
    return table(
        "Model statistics (events per parameter below 10 risks overfitting: Peduzzi 1995)",
        ["Model", "Terms", "n", "Events", "Events per parameter", "Concordance", "LR test p"],
        rows,
        2,
    )


def cox_tables(
    endpoint_cox: pd.DataFrame, endpoint_models: pd.DataFrame, caveat: str
) -> list[Table]:
    """The Cox tables of one endpoint: univariable, multivariable, stratified, interaction,
    per arm, continuous, and the model statistics. (The spline model is drawn, not
    tabulated: its coefficients mean nothing one by one.)"""
    covariates = adjusted_for(endpoint_cox) or "none"
    strata = ", ".join(rows_of(endpoint_models, model="stratified")["strata"].astype(str))
    arm_rows = [
        [model.removeprefix(ARM_MODEL_PREFIX), *cox_row(row)]
        for model in arm_models(endpoint_cox)
        for _, row in rows_of(endpoint_cox, model=model).iterrows()
    ]
    univariable = rows_of(endpoint_cox, model="univariable")
    return [
        table(
            "Univariable models (each variable fitted on its own)",
            COX_COLUMNS,
            model_rows(endpoint_cox, "univariable"),
            2,
            notes=exploratory_notes(univariable["term"], caveat),
        ),
        table(
            f"Multivariable model (serum Mg group adjusted for: {covariates})",
            COX_COLUMNS,
            model_rows(endpoint_cox, "multivariable"),
            2,
        ),
        table(
            f"Stratified model (separate baseline hazards by: {strata or 'none'})",
            COX_COLUMNS,
            model_rows(endpoint_cox, "stratified"),
            2,
        ),
        table(
            "Serum Mg group × arm interaction model (the interaction row tests whether the"
            " low-Mg effect differs between arms; the last rows give it within each arm)",
            COX_COLUMNS,
            model_rows(endpoint_cox, "interaction"),
            2,
        ),
        table("Models within each treatment arm", ["Arm", *COX_COLUMNS], arm_rows, 3),
        table(
            "Serum Mg as a continuous variable",
            COX_COLUMNS,
            model_rows(endpoint_cox, "continuous"),
            2,
        ),
        model_statistics_table(endpoint_models),
    ]


def median_rows(endpoint_summary: pd.DataFrame, groups: pd.DataFrame) -> list[list[str]]:
    """Median-survival table rows: grouping, group, n, events, median, 95% CI."""
    return [
        [
            grouping_label(str(row["grouping"]), groups),
            str(row["group"]),
            format_count(row["n"]),
            format_count(row["events"]),
            format_median(row["median"]),
            format_ci(row["median_lower"], row["median_upper"], format_median),
        ]
        for _, row in endpoint_summary.iterrows()
    ]


def landmark_cell(row: pd.Series) -> str:
    """'30.9 (28.1–33.9)': survival in % with its 95% CI; 'NE' when not estimable."""
    if is_missing(row["surv"]):
        return "NE"
    return f"{format_percent(row['surv'])} {format_ci(row['lower'], row['upper'], format_percent)}"


def landmark_table(endpoint_landmarks: pd.DataFrame, groups: pd.DataFrame) -> Table:
    """Survival at each landmark time: one row per group, one column per time."""
    times = list(dict.fromkeys(endpoint_landmarks["time"].astype(float)))
    cells = {
        (str(row["grouping"]), str(row["group"]), float(row["time"])): landmark_cell(row)
        for _, row in endpoint_landmarks.iterrows()
    }
    keys = dict.fromkeys((grouping, group) for grouping, group, _ in cells)
    rows = [
        [
            grouping_label(grouping, groups),
            group,
            *(cells.get((grouping, group, t), "NE") for t in times),
        ]
        for grouping, group in keys
    ]
    return table(
        "Survival at landmark times, % (95% CI); NE: not estimable (nobody followed that long)",
        ["Grouping", "Group", *(f"{t:g} months" for t in times)],
        blank_repeats(rows),
        2,
    )


def test_label(row: pd.Series, meta: dict) -> str:
    """How a logrank.tsv row tested, in words: its strata, trend scores or p adjustment."""
    test = str(row["test"])
    if test == "stratified":
        return f"Log-rank stratified by {', '.join(meta['strata'])}"
    if test == "trend":
        return f"Trend (scores 1–{len(str(row['groups']).split(' vs '))} in the order listed)"
    if test == "pairwise":
        return f"Pairwise log-rank ({adjust_label(meta)}-adjusted p)"
    return TEST_LABELS.get(test, test)


def adjust_label(meta: dict) -> str:
    """The name of the pairwise p adjustment method (e.g. 'Holm')."""
    return ADJUST_LABELS.get(meta["pairwise_adjust"], meta["pairwise_adjust"])


def logrank_rows(
    endpoint_logrank: pd.DataFrame, groups: pd.DataFrame, meta: dict
) -> list[list[str]]:
    """Test table rows: grouping, test, groups compared, chi-square, df, p, adjusted p."""
    return [
        [
            grouping_label(str(row["grouping"]), groups),
            test_label(row, meta),
            str(row["groups"]),
            format_number(row["statistic"], 2),
            format_count(row["df"]),
            p_cell(row["p"], str(row["grouping"])),
            format_p(row["p_adjusted"]),
        ]
        for _, row in endpoint_logrank.iterrows()
    ]


def logrank_p(endpoint_logrank: pd.DataFrame, grouping: str) -> float | None:
    """The log-rank p of one grouping, or None if the test is not in the table."""
    rows = rows_of(endpoint_logrank, grouping=grouping, test="logrank")
    return float(rows["p"].iloc[0]) if len(rows) else None


def km_figures(endpoint: str, label: str, tables: Tables, meta: dict) -> list[dict[str, str]]:
    """One inline SVG Kaplan-Meier figure per grouping of an endpoint; the cut-point
    grouping's figure says its p is uncorrected."""
    summary = rows_of(tables["km_summary"], endpoint=endpoint)
    curves = rows_of(tables["km_curves"], endpoint=endpoint)
    logrank = rows_of(tables["logrank"], endpoint=endpoint)
    figures = []
    for grouping in dict.fromkeys(summary["grouping"].astype(str)):
        title = f"{label} by {grouping_label(grouping, tables['mg_groups'])}"
        exploratory = is_exploratory(grouping)
        svg = km_figure_svg(
            rows_of(curves, grouping=grouping),
            rows_of(summary, grouping=grouping),
            logrank_p(logrank, grouping),
            title,
            list(meta.get("risk_table_times", [])),
            id_prefix=f"km-{slug(endpoint)}-{slug(grouping)}-",
            p_note=" (uncorrected for the cut search)" if exploratory else "",
        )
        note = cutpoint_caveat(tables, meta) if exploratory else ""
        figures.append({"title": title, "svg": svg, "note": note})
    return figures


def km_section(endpoint: str, label: str, tables: Tables, meta: dict) -> dict[str, Any]:
    """Figures plus the median, landmark and log-rank tables of one endpoint."""
    median_columns = ["Grouping", "Group", "n", "Events", "Median (months)", "95% CI"]
    logrank_columns = ["Grouping", "Test", "Groups compared", "Chi-square", "df", "p", "p adjusted"]
    groups = tables["mg_groups"]
    logrank = rows_of(tables["logrank"], endpoint=endpoint)
    summary = rows_of(tables["km_summary"], endpoint=endpoint)
    return {
        "id": f"km-{slug(endpoint)}",
        "label": label,
        "figures": km_figures(endpoint, label, tables, meta),
        "tables": [
            table(
                "Median survival (NR: not reached)",
                median_columns,
                blank_repeats(median_rows(summary, groups)),
                2,
            ),
            landmark_table(rows_of(tables["landmarks"], endpoint=endpoint), groups),
            table(
                "Group comparisons (NA: not applicable)",
                logrank_columns,
                blank_repeats(logrank_rows(logrank, groups, meta)),
                3,
                notes=exploratory_notes(logrank["grouping"], cutpoint_caveat(tables, meta)),
            ),
        ],
    }


def followup_table(endpoint: str, label: str, tables: Tables) -> Table:
    """Median follow-up of all patients and of each Mg group of one endpoint."""
    followup = rows_of(tables["followup"], endpoint=endpoint)
    rows = [
        [
            "All patients"
            if str(row["grouping"]) == FOLLOWUP_ALL
            else grouping_label(str(row["grouping"]), tables["mg_groups"]),
            "" if str(row["group"]) == FOLLOWUP_ALL else str(row["group"]),
            format_estimable(row["median_followup"]),
            format_ci(row["lower"], row["upper"], format_estimable),
        ]
        for _, row in followup.iterrows()
    ]
    return table(
        f"{label}: median follow-up by reverse Kaplan-Meier (NE: not estimable)",
        ["Grouping", "Group", "Median follow-up (months)", "95% CI"],
        blank_repeats(rows),
        2,
    )


def followup_sentence(endpoint_followup: pd.DataFrame) -> str:
    """All patients' median follow-up as one sentence ('' when the table lacks it)."""
    rows = rows_of(endpoint_followup, group=FOLLOWUP_ALL)
    if rows.empty:
        return ""
    row = rows.iloc[0]
    ci = format_ci(row["lower"], row["upper"], format_estimable)
    return (
        f"Median follow-up (reverse Kaplan-Meier): {format_estimable(row['median_followup'])}"
        f" months {ci}."
    )


def rmst_measure(group: str) -> tuple[str, str]:
    """(group or comparison, measure) of an rmst.tsv row."""
    for pattern, measure in RMST_CONTRASTS:
        if match := pattern.match(group):
            return match["contrast"], measure
    return group, "RMST"


def rmst_table(endpoint: str, label: str, tables: Tables, meta: dict) -> Table:
    """RMST per group and the contrasts of one endpoint, each row with its tau."""
    rmst = rows_of(tables["rmst"], endpoint=endpoint)
    rows = []
    for _, row in rmst.iterrows():
        compared, measure = rmst_measure(str(row["group"]))
        rows.append(
            [
                grouping_label(str(row["grouping"]), tables["mg_groups"]),
                compared,
                measure,
                format_number(row["tau"], 1),
                format_two(row["estimate"]),
                format_ci(row["lower"], row["upper"], format_two),
                p_cell(row["p"], str(row["grouping"])),
            ]
        )
    return table(
        f"{label}: restricted mean survival time (RMST) up to τ; RMST and differences in months"
        " (NA: not applicable)",
        ["Grouping", "Group or comparison", "Measure", "τ (months)", "Estimate", "95% CI", "p"],
        blank_repeats(rows),
        3,
        notes=exploratory_notes(rmst["grouping"], cutpoint_caveat(tables, meta)),
    )


def rmst_sentence(endpoint_rmst: pd.DataFrame) -> str:
    """The clinical groups' RMST and their difference as one sentence ('' without it)."""
    rows = rows_of(endpoint_rmst, grouping=CLINICAL_GROUPING)
    estimates = dict(zip(rows["group"].astype(str), rows["estimate"], strict=True))
    for _, row in rows.iterrows():
        if match := DIFFERENCE.match(str(row["group"])):
            group, reference = match["group"], match["reference"]
            ci = format_ci(row["lower"], row["upper"], format_two)
            return (
                f"Restricted mean survival up to {row['tau']:g} months: {group}"
                f" {format_two(estimates[group])} vs {reference} {format_two(estimates[reference])}"
                f" months; difference {format_two(row['estimate'])} months {ci},"
                f" {p_phrase(row['p'])}."
            )
    return ""


def key_findings(endpoint_cox: pd.DataFrame) -> list[str]:
    """Plain-language low-vs-normal hazard ratios of one endpoint, one sentence per model."""
    covariates = adjusted_for(endpoint_cox)
    key = rows_of(endpoint_cox, term=KEY_TERM)
    wording = {
        "univariable": "Unadjusted",
        "multivariable": f"Adjusted for {covariates}" if covariates else "Multivariable",
    }
    wording |= {m: f"Within the {m.removeprefix(ARM_MODEL_PREFIX)} arm" for m in arm_models(key)}
    findings = [
        f"{text}: {hr_text(row)} (n = {format_count(row['n'])}, "
        f"{format_count(row['events'])} events)."
        for model, text in wording.items()
        for _, row in rows_of(key, model=model).iterrows()
    ]
    interaction = rows_of(endpoint_cox, model="interaction")
    differs = interaction[interaction["term"].astype(str).str.startswith(f"{KEY_TERM}:")]
    findings += [
        f"Does the low-Mg effect differ between arms ({term_parts(str(row['term']))[1]})?"
        f" Interaction ratio of HRs {format_hr(row['hr'])}"
        f" {format_ci(row['hr_lower'], row['hr_upper'])}, {p_phrase(row['p'])}."
        for _, row in differs.iterrows()
    ]
    return findings


def median_phrase(row: pd.Series) -> str:
    """'low 8.1 months (5.2–11.0)' or, when the median is not reached, 'normal not reached'."""
    if is_missing(row["median"]):
        return f"{row['group']} not reached"
    ci = format_ci(row["median_lower"], row["median_upper"], format_median)
    return f"{row['group']} {format_median(row['median'])} months {ci}"


def median_sentence(endpoint_summary: pd.DataFrame) -> str:
    """The clinical groups' medians as one sentence ('' when that grouping is absent)."""
    rows = rows_of(endpoint_summary, grouping=CLINICAL_GROUPING)
    parts = [median_phrase(row) for _, row in rows.iterrows()]
    return f"Median (95% CI): {', '.join(parts)}." if parts else ""


def summary_section(endpoints: dict[str, str], tables: Tables) -> dict[str, Any]:
    """Per endpoint: follow-up, the clinical groups' medians and RMST, and the low-vs-normal
    hazard ratios."""
    comparison = term_parts(KEY_TERM)[1]
    return {
        "comparison": comparison,
        "exposed": comparison.split(" vs ")[0],
        "endpoints": [
            {
                "label": label,
                "sentences": [
                    sentence
                    for sentence in (
                        followup_sentence(rows_of(tables["followup"], endpoint=endpoint)),
                        median_sentence(rows_of(tables["km_summary"], endpoint=endpoint)),
                        rmst_sentence(rows_of(tables["rmst"], endpoint=endpoint)),
                    )
                    if sentence
                ],
                "findings": key_findings(rows_of(tables["cox"], endpoint=endpoint)),
            }
            for endpoint, label in endpoints.items()
        ],
    }


def flow_section(flow: pd.DataFrame) -> dict[str, Any]:
    """The patient flow: rows read, each exclusion with its reason, patients analysed."""
    flow = flow.sort_values("step")
    steps = [
        {
            "step": format_count(row["step"]),
            "reason": str(row["reason"]),
            "n_before": format_count(row["n_before"]),
            "n_excluded": format_count(row["n_excluded"]),
            "n_after": format_count(row["n_after"]),
        }
        for _, row in flow.iterrows()
    ]
    return {
        "n_read": format_count(flow["n_before"].iloc[0]),
        "n_analysed": format_count(flow["n_after"].iloc[-1]),
        "steps": steps,
        "table": table(
            "Exclusion steps",
            list(FLOW_COLUMNS.values()),
            [[step[key] for key in FLOW_COLUMNS] for step in steps],
            2,
        ),
    }


def knot_count(knots: str) -> int:
    """Number of knots in nonlinearity.tsv's comma-separated knots."""
    return len(str(knots).split(","))


def spline_section(endpoint: str, label: str, tables: Tables, meta: dict) -> dict[str, Any]:
    """The hazard-ratio curve of serum Mg (spline) and its test of non-linearity."""
    curve = rows_of(tables["spline"], endpoint=endpoint)
    tests = rows_of(tables["nonlinearity"], endpoint=endpoint)
    rows = [
        [
            str(row["knots"]),
            f"{row['reference_mmol_l']:g}",
            format_number(row["statistic"], 2),
            format_count(row["df"]),
            format_p(row["p"]),
            format_count(row["n"]),
            format_count(row["events"]),
        ]
        for _, row in tests.iterrows()
    ]
    section = {
        "id": f"spline-{slug(endpoint)}",
        "label": label,
        "svg": "",
        "caption": "",
        "table": table(
            "Likelihood-ratio test of non-linearity (spline against linear serum Mg)",
            ["Knots (mmol/L)", "Reference (mmol/L)", "Chi-square", "df", "p", "n", "Events"],
            rows,
            1,
        ),
    }
    if curve.empty or tests.empty:
        return section
    test = tests.iloc[0]
    threshold = meta["mg_threshold_mmol_l"]
    covariates = adjusted_for(rows_of(tables["cox"], endpoint=endpoint), "spline") or "nothing"
    section["svg"] = spline_figure_svg(
        curve,
        float(test["reference_mmol_l"]),
        threshold,
        f"{label}: hazard ratio by serum Mg",
        id_prefix=f"spline-{slug(endpoint)}-",
    )
    section["caption"] = (
        f"{label}: hazard ratio against serum Mg {test['reference_mmol_l']:g} mmol/L from a"
        f" restricted cubic spline with {knot_count(test['knots'])} knots"
        f" ({test['knots']} mmol/L), adjusted for {covariates}. Shaded band: pointwise 95% CI;"
        f" dotted line: clinical threshold ({threshold:g} mmol/L). Test of non-linearity:"
        f" chi-square {format_number(test['statistic'], 2)} on {format_count(test['df'])} df,"
        f" {p_phrase(test['p'])}."
    )
    return section


def cutpoint_rows(row: pd.Series, endpoint: str) -> list[list[str]]:
    """The cut-point result as (quantity, value) rows; the corrected p is the one to use."""
    return [
        ["Endpoint searched", endpoint],
        ["Cut-point (low: serum Mg at or below it)", f"{row['cutpoint_mmol_l']:g} mmol/L"],
        ["Cuts searched (quantiles of serum Mg)", f"{row['minprop']:g} to {row['maxprop']:g}"],
        ["Patients (events) at or below the cut", f"{row['n_low']:.0f} ({row['events_low']:.0f})"],
        ["Patients (events) above the cut", f"{row['n_high']:.0f} ({row['events_high']:.0f})"],
        ["Maximally selected standardised log-rank statistic", format_number(row["statistic"], 2)],
        [
            "p corrected for the search (Lausen & Schumacher 1992): the p-value to report",
            format_p(row["p_lau92"]),
        ],
        [
            "p, improved Bonferroni bound (Lausen, Sauerbrei & Schumacher 1994)",
            format_p(row["p_lau94"]),
        ],
        [
            "Naive p of the chosen cut: inflated by the search, not a valid p-value",
            format_p(row["p_naive"]),
        ],
    ]


def cutpoint_section(tables: Tables, meta: dict) -> dict[str, Any]:
    """The exploratory data-driven cut-point: the cut, its corrected p and the search."""
    threshold = meta["mg_threshold_mmol_l"]
    section = {"threshold": f"{threshold:g}", "found": not tables["cutpoint"].empty}
    if tables["cutpoint"].empty:
        return section
    row = tables["cutpoint"].iloc[0]
    endpoint = endpoint_labels(meta).get(str(row["endpoint"]), str(row["endpoint"]))
    return section | {
        "endpoint": in_sentence(endpoint),
        "cut": f"{row['cutpoint_mmol_l']:g}",
        "p_corrected": p_phrase(row["p_lau92"]),
        "p_naive": p_phrase(row["p_naive"]),
        "table": table(
            f"Data-driven cut-point ({EXPLORATORY})",
            ["Quantity", "Value"],
            cutpoint_rows(row, endpoint),
            2,
        ),
        "svg": cutpoint_figure_svg(
            tables["cutpoint_candidates"],
            float(row["cutpoint_mmol_l"]),
            threshold,
            f"{endpoint}: log-rank statistic of each candidate cut",
            id_prefix="cutpoint-",
        ),
    }


def variable_label(name: str) -> str:
    """A model variable's label; a per-unit term with its unit ('Serum Mg, per 0.1 mmol/L')."""
    if PER_UNIT_TERM.match(name):
        variable, comparison = term_parts(name)
        return f"{variable}, {comparison.removesuffix(' higher')}"
    return VARIABLE_LABELS.get(name, name)


def ph_term_label(term: str) -> str:
    """A ph_test term for display; interactions as 'a × b', GLOBAL as the global test."""
    if term == PH_GLOBAL:
        return "Global test (all terms)"
    return " × ".join(variable_label(part) for part in term.split(":"))


def ph_flag(p: float) -> str:
    """The warning for a proportional-hazards test with p below PH_ALPHA, else ''."""
    return PH_FLAG if not is_missing(p) and p < PH_ALPHA else ""


def ph_rows(ph: pd.DataFrame, with_model: bool) -> list[list[str]]:
    """PH test rows: (model,) term, chi-square, df, p and the flag."""
    return [
        [
            *([model_label(str(row["model"]))] if with_model else []),
            ph_term_label(str(row["term"])),
            format_number(row["chi2"], 2),
            format_count(row["df"]),
            format_p(row["p"]),
            ph_flag(row["p"]),
        ]
        for _, row in ph.iterrows()
    ]


def flagged_terms(model_ph: pd.DataFrame) -> list[str]:
    """Terms (not the global test) of one model's PH tests with p below PH_ALPHA."""
    terms = model_ph[model_ph["term"].astype(str) != PH_GLOBAL]
    return [str(row["term"]) for _, row in terms.iterrows() if ph_flag(row["p"])]


def schoenfeld_caption(name: str, n: int, p: float, meta: dict) -> str:
    """What a residual plot shows, including any thinning of its points."""
    shown = min(n, MAX_SCATTER_POINTS)
    thinning = (
        f" {shown} of {n} residuals are drawn, evenly spaced in time order;"
        " the running mean uses all of them."
        if shown < n
        else ""
    )
    return (
        f"{name}: scaled Schoenfeld residuals (estimated β(t)) of the {PH_MODEL} model at each"
        f" event, against time spaced by the {meta['ph_transform']} transform; solid line:"
        f" running mean of {smoothing_window(n)} residuals; dashed: the Cox estimate, which a"
        f" flat β(t) matches under proportional hazards; grey: 0 (no effect). PH test"
        f" {p_phrase(p)}.{thinning}"
    )


def schoenfeld_figures(endpoint: str, label: str, tables: Tables, meta: dict) -> list[dict]:
    """A residual plot for every term of the multivariable model flagged by its PH test."""
    model_ph = rows_of(tables["ph_test"], endpoint=endpoint, model=PH_MODEL)
    residuals = rows_of(tables["schoenfeld"], endpoint=endpoint, model=PH_MODEL)
    figures = []
    for term in flagged_terms(model_ph):
        points = rows_of(residuals, term=term)
        if points.empty:
            continue
        name = ph_term_label(term)
        p = float(rows_of(model_ph, term=term)["p"].iloc[0])
        svg = schoenfeld_figure_svg(
            points,
            f"{label}: {name}",
            f"β(t) for {name}",
            id_prefix=f"zph-{slug(endpoint)}-{slug(term)}-",
        )
        figures.append({"svg": svg, "caption": schoenfeld_caption(name, len(points), p, meta)})
    return figures


def ph_verdict(model_ph: pd.DataFrame) -> str:
    """One sentence on the multivariable model's PH tests: flagged terms and the global p."""
    names = [ph_term_label(t) for t in flagged_terms(model_ph)]
    overall = rows_of(model_ph, term=PH_GLOBAL)["p"]
    global_text = f" Global test: {p_phrase(overall.iloc[0])}." if len(overall) else ""
    if not names:
        return (
            f"No term had p < {PH_ALPHA:g} (no evidence against proportional hazards).{global_text}"
        )
    return (
        f"Terms with p < {PH_ALPHA:g}, {PH_FLAG}: {', '.join(names)}; their residuals are"
        f" plotted below, and the RMST and landmark rates do not rely on the assumption."
        f"{global_text}"
    )


def ph_section(endpoint: str, label: str, tables: Tables, meta: dict) -> dict[str, Any]:
    """PH tests of one endpoint: the multivariable model in full, the other models folded
    away under a count of their flagged rows, and residual plots of the flagged terms."""
    ph = rows_of(tables["ph_test"], endpoint=endpoint)
    model_ph = rows_of(ph, model=PH_MODEL)
    others = ph[ph["model"].astype(str) != PH_MODEL]
    flagged = sum(bool(ph_flag(p)) for p in others["p"])
    models = ", ".join(map(model_label, dict.fromkeys(others["model"].astype(str))))
    columns = ["Term", "Chi-square", "df", "p", "Proportional hazards"]
    return {
        "id": f"ph-{slug(endpoint)}",
        "label": label,
        "verdict": ph_verdict(model_ph),
        "table": table(
            f"{PH_MODEL.capitalize()} model: test per term and global",
            columns,
            ph_rows(model_ph, with_model=False),
            1,
            trailing_text=1,
        ),
        "others_summary": f"Other models ({models}): {flagged} of {len(others)} tests with"
        f" p < {PH_ALPHA:g}",
        "others": table(
            "Other models: test per term and global",
            ["Model", *columns],
            ph_rows(others, with_model=True),
            2,
            trailing_text=1,
        ),
        "figures": schoenfeld_figures(endpoint, label, tables, meta),
    }


def rcs_knot_percentiles(n_knots: int) -> str:
    """Where rms (Hmisc rcspline.eval) puts n knots: equally spaced quantiles from an outer
    one (0.1 for 3 knots, 0.05 for 4-6, 0.025 for 7 or more) to its complement."""
    outer = 0.1 if n_knots == 3 else 0.05 if n_knots <= 6 else 0.025
    return word_list([f"{100 * q:g}th" for q in np.linspace(outer, 1 - outer, n_knots)])


def word_list(words: list[str]) -> str:
    """'a, b and c' ('a' for one word)."""
    return " and ".join(filter(None, [", ".join(words[:-1]), *words[-1:]]))


def spline_methods(tables: Tables) -> dict[str, str] | None:
    """Knots, their percentiles and the adjustment of the spline model (None without it)."""
    if tables["nonlinearity"].empty:
        return None
    n_knots = knot_count(tables["nonlinearity"]["knots"].iloc[0])
    return {
        "knots": str(n_knots),
        "percentiles": rcs_knot_percentiles(n_knots),
        "covariates": adjusted_for(tables["cox"], "spline") or "nothing",
    }


def rmst_tau_text(meta: dict) -> str:
    """The RMST horizon: the configured tau, or survRM2's default rule."""
    if meta["rmst_tau_months"] is None:
        return (
            "survRM2's default (the smallest of the groups' largest follow-up times), per"
            " grouping as shown in the tables"
        )
    return f"{meta['rmst_tau_months']:g} months"


def methods_section(endpoints: dict[str, str], tables: Tables, meta: dict) -> dict[str, Any]:
    """Methods text inputs: data provenance, definitions, statistics and software."""
    summary = tables["km_summary"]
    quartiles = list(dict.fromkeys(rows_of(summary, grouping="mg_quartile")["group"].astype(str)))
    arms = [m.removeprefix(ARM_MODEL_PREFIX) for m in arm_models(tables["cox"])]
    continuous = rows_of(tables["cox"], model="continuous")["term"].astype(str)
    continuous = continuous[continuous.str.startswith(MG_TERM_PREFIX)]
    landmarks = dict.fromkeys(tables["landmarks"]["time"].astype(float))
    cutpoint = meta["cutpoint"]
    groups = tables["mg_groups"]

    def tested(test: str) -> bool:
        return not rows_of(tables["logrank"], test=test).empty

    return {
        "cohort": str(meta.get("cohort", "")),
        "source": str(meta.get("source", "")),
        "sha256": str(meta.get("input_sha256", "")),
        "generated": str(meta.get("generated", "")),
        "threshold": f"{meta['mg_threshold_mmol_l']:g}",
        "quartiles": ", ".join(quartiles),
        "conf_type": str(meta["conf_type"]),
        "covariates": adjusted_for(tables["cox"]),
        "groups": table(
            "Serum Mg groups (mmol/L)",
            ["Grouping", "Group", "Serum Mg", "n"],
            [
                [
                    grouping_label(str(r["grouping"]), groups),
                    str(r["group"]),
                    definition_text(str(r["definition"])),
                    format_count(r["n"]),
                ]
                for _, r in groups.iterrows()
            ],
            3,
        ),
        "arms": ", ".join(arms),
        "continuous": "; ".join(" ".join(term_parts(t)) for t in dict.fromkeys(continuous)),
        "events": [
            {"label": label, "definition": EVENT_DEFINITIONS.get(endpoint, endpoint)}
            for endpoint, label in endpoints.items()
        ],
        "landmarks": word_list([f"{t:g}" for t in landmarks]),
        "strata": ", ".join(meta["strata"]) if tested("stratified") else "",
        "pairwise": tested("pairwise"),
        "adjust": adjust_label(meta),
        "tau": rmst_tau_text(meta),
        "ph_transform": str(meta["ph_transform"]),
        "spline": spline_methods(tables),
        "cutpoint": {
            "endpoint": in_sentence(
                endpoint_labels(meta).get(cutpoint["endpoint"], cutpoint["endpoint"])
            ),
            "minprop": f"{cutpoint['minprop']:g}",
            "maxprop": f"{1 - cutpoint['minprop']:g}",
        },
        "versions": table(
            "Software versions",
            ["Package", "Version"],
            [[str(k), str(v)] for k, v in meta.get("versions", {}).items()],
            2,
        ),
    }


def environment() -> Environment:
    """The Jinja2 environment: templates from the package, everything autoescaped."""
    return Environment(
        loader=PackageLoader("mgsurv", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def per_endpoint(
    build: Callable[[str, str, Tables, dict], Any],
    endpoints: dict[str, str],
    tables: Tables,
    meta: dict,
) -> list:
    """One section part per endpoint, in endpoint order."""
    return [build(endpoint, label, tables, meta) for endpoint, label in endpoints.items()]


def cox_section(endpoint: str, label: str, tables: Tables, meta: dict) -> dict[str, Any]:
    """The Cox tables of one endpoint."""
    return {
        "id": f"cox-{slug(endpoint)}",
        "label": label,
        "tables": cox_tables(
            rows_of(tables["cox"], endpoint=endpoint),
            rows_of(tables["cox_models"], endpoint=endpoint),
            cutpoint_caveat(tables, meta),
        ),
    }


def render_report(tables: Tables, meta: dict) -> str:
    """Render the whole report as one self-contained HTML5 document.

    ``tables``: every result table keyed by its file stem (module docstring); ``meta``: the
    run's provenance and the settings of REPORT_SETTINGS.
    """
    labels = endpoint_labels(meta)
    endpoints = {
        e: labels.get(e, e) for e in endpoint_order(labels, tables["km_summary"], tables["cox"])
    }
    context = {
        "title": f"Serum magnesium and survival: {meta.get('cohort', '')}",
        "sections": SECTIONS,
        "summary": summary_section(endpoints, tables),
        "flow": flow_section(tables["flow"]),
        "followup": [
            followup_table(endpoint, label, tables) for endpoint, label in endpoints.items()
        ],
        "km": per_endpoint(km_section, endpoints, tables, meta),
        "rmst": per_endpoint(rmst_table, endpoints, tables, meta),
        "cox": per_endpoint(cox_section, endpoints, tables, meta),
        "has_spline": not rows_of(tables["cox"], model="spline").empty,
        "spline": per_endpoint(spline_section, endpoints, tables, meta),
        "cutpoint": cutpoint_section(tables, meta),
        "ph": per_endpoint(ph_section, endpoints, tables, meta),
        "methods": methods_section(endpoints, tables, meta),
    }
    return environment().get_template("report.html.j2").render(**context)
