"""The self-contained HTML report, built only from the results-contract tables.

Python turns the tidy tables (flow, km_summary, km_curves, logrank, cox) and the run
metadata into plain, already formatted strings; the Jinja2 template only lays them out.
Every number in the report therefore comes from an input table, and the page has no
scripts, stylesheets, fonts or images to fetch: figures are inline SVG, CSS is inline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from mgsurv.figures import format_p, km_figure_svg, p_phrase

ENDPOINT_LABELS = {"pfs": "Progression-free survival", "os": "Overall survival"}
EVENT_DEFINITIONS = {
    "pfs": "disease progression or death from any cause, whichever came first",
    "os": "death from any cause",
}
GROUPING_LABELS = {
    "mg_clinical": "clinical serum Mg group",
    "mg_quartile": "serum Mg quartile",
    "mg_cutpoint": "data-driven serum Mg cut-point",
}
VARIABLE_LABELS = {
    "mg_clinical": "Serum Mg group",
    "mg_quartile": "Serum Mg quartile",
    "mg": "Serum Mg",
}
UNIT_LABELS = {"mmol_l": "mmol/L"}
KEY_TERM = "mg_clinical[low vs normal]"
ARM_MODEL_PREFIX = "arm="
CATEGORICAL_TERM = re.compile(r"^(?P<variable>[^\[]+)\[(?P<comparison>.+)\]$")
WITHIN_ARM = re.compile(r"^(?P<term>.+) within arm=(?P<arm>.+)$")
INTERACTION_TERM = re.compile(r"^(?P<left>[^:]+\])\s*:\s*(?P<right>.+\])$")
PER_UNIT_TERM = re.compile(r"^(?P<variable>.+)_per_(?P<step>[0-9.]+)_(?P<unit>.+)$")
FLOW_COLUMNS = {
    "step": "Step",
    "reason": "Reason",
    "n_before": "Before",
    "n_excluded": "Excluded",
    "n_after": "After",
}
COX_COLUMNS = ["Variable", "Comparison", "HR", "95% CI", "p", "n", "Events"]
SECTIONS = [
    ("summary", "Summary"),
    ("flow", "Patient flow"),
    ("km", "Kaplan-Meier analysis"),
    ("cox", "Cox regression"),
    ("methods", "Methods"),
]

Table = dict[str, Any]


def is_missing(value: Any) -> bool:
    """True for None and NaN, the contract's markers of 'not estimable'."""
    return value is None or bool(pd.isna(value))


def format_number(value: float, decimals: int) -> str:
    """A number with a fixed count of decimals; 'NA' when not estimable."""
    return "NA" if is_missing(value) else f"{value:.{decimals}f}"


def format_hr(value: float) -> str:
    """A hazard ratio with 2 decimals; 'NA' when not estimable."""
    return format_number(value, 2)


def format_median(value: float) -> str:
    """A median time in months with 1 decimal; 'NR' (not reached) when missing."""
    return "NR" if is_missing(value) else f"{value:.1f}"


def format_ci(lower: float, upper: float, formatter: Callable[[float], str] = format_hr) -> str:
    """A confidence interval as '(lower–upper)' with the estimate's own formatter."""
    return f"({formatter(lower)}–{formatter(upper)})"


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


def grouping_label(grouping: str, meta: dict) -> str:
    """Readable grouping name; the clinical one states its threshold from the metadata."""
    label = GROUPING_LABELS.get(grouping, grouping)
    if grouping == "mg_clinical" and "mg_threshold_mmol_l" in meta:
        return f"{label} (low: < {meta['mg_threshold_mmol_l']:.2f} mmol/L)"
    return label


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


def rows_of(table: pd.DataFrame, **equal: str) -> pd.DataFrame:
    """Rows of a table whose columns equal the given values."""
    mask = pd.Series(True, index=table.index)
    for column, value in equal.items():
        mask &= table[column].astype(str) == value
    return table[mask]


def arm_models(cox: pd.DataFrame) -> list[str]:
    """The per-arm model names ('arm=<x>') in table order."""
    models = dict.fromkeys(cox["model"].astype(str))
    return [m for m in models if m.startswith(ARM_MODEL_PREFIX)]


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
        format_p(row["p"]),
        format_count(row["n"]),
        format_count(row["events"]),
    ]


def table(caption: str, columns: list[str], rows: list[list[str]], text_columns: int) -> Table:
    """A table spec for the template; columns after the first `text_columns` are numeric."""
    return {"caption": caption, "columns": columns, "rows": rows, "text_columns": text_columns}


def adjusted_for(cox: pd.DataFrame) -> str:
    """The variables the multivariable model adjusts Mg for, read from its terms."""
    terms = rows_of(cox, model="multivariable")["term"].astype(str)
    variables = dict.fromkeys(term_parts(t)[0] for t in terms if t != KEY_TERM)
    return ", ".join(variables)


def model_rows(endpoint_cox: pd.DataFrame, model: str) -> list[list[str]]:
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


def cox_tables(endpoint_cox: pd.DataFrame, endpoint_models: pd.DataFrame) -> list[Table]:
    """The Cox tables of one endpoint: univariable, multivariable, stratified, interaction,
    per arm, continuous, and the model statistics."""
    covariates = adjusted_for(endpoint_cox) or "none"
    strata = ", ".join(rows_of(endpoint_models, model="stratified")["strata"].astype(str))
    arm_rows = [
        [model.removeprefix(ARM_MODEL_PREFIX), *cox_row(row)]
        for model in arm_models(endpoint_cox)
        for _, row in rows_of(endpoint_cox, model=model).iterrows()
    ]
    return [
        table(
            "Univariable models (each variable fitted on its own)",
            COX_COLUMNS,
            [cox_row(r) for _, r in rows_of(endpoint_cox, model="univariable").iterrows()],
            2,
        ),
        table(
            f"Multivariable model (serum Mg group adjusted for: {covariates})",
            COX_COLUMNS,
            [cox_row(r) for _, r in rows_of(endpoint_cox, model="multivariable").iterrows()],
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
            [cox_row(r) for _, r in rows_of(endpoint_cox, model="continuous").iterrows()],
            2,
        ),
        model_statistics_table(endpoint_models),
    ]


def median_rows(endpoint_summary: pd.DataFrame, meta: dict) -> list[list[str]]:
    """Median-survival table rows: grouping, group, n, events, median, 95% CI."""
    return [
        [
            grouping_label(str(row["grouping"]), meta),
            str(row["group"]),
            format_count(row["n"]),
            format_count(row["events"]),
            format_median(row["median"]),
            format_ci(row["median_lower"], row["median_upper"], format_median),
        ]
        for _, row in endpoint_summary.iterrows()
    ]


def logrank_rows(endpoint_logrank: pd.DataFrame, meta: dict) -> list[list[str]]:
    """Test table rows: grouping, test, groups compared, chi-square, df, p, adjusted p."""
    return [
        [
            grouping_label(str(row["grouping"]), meta),
            str(row["test"]),
            str(row["groups"]),
            format_number(row["statistic"], 2),
            format_count(row["df"]),
            format_p(row["p"]),
            format_p(row["p_adjusted"]),
        ]
        for _, row in endpoint_logrank.iterrows()
    ]


def logrank_p(endpoint_logrank: pd.DataFrame, grouping: str) -> float | None:
    """The log-rank p of one grouping, or None if the test is not in the table."""
    rows = rows_of(endpoint_logrank, grouping=grouping, test="logrank")
    return float(rows["p"].iloc[0]) if len(rows) else None


def km_figures(endpoint: str, label: str, tables: dict, meta: dict) -> list[dict[str, str]]:
    """One inline SVG Kaplan-Meier figure per grouping of an endpoint."""
    summary = rows_of(tables["km_summary"], endpoint=endpoint)
    curves = rows_of(tables["km_curves"], endpoint=endpoint)
    logrank = rows_of(tables["logrank"], endpoint=endpoint)
    figures = []
    for grouping in dict.fromkeys(summary["grouping"].astype(str)):
        title = f"{label} by {grouping_label(grouping, meta)}"
        svg = km_figure_svg(
            rows_of(curves, grouping=grouping),
            rows_of(summary, grouping=grouping),
            logrank_p(logrank, grouping),
            title,
            list(meta.get("risk_table_times", [])),
            id_prefix=f"km-{slug(endpoint)}-{slug(grouping)}-",
        )
        figures.append({"title": title, "svg": svg})
    return figures


def km_section(endpoint: str, label: str, tables: dict, meta: dict) -> dict[str, Any]:
    """Figures plus the median and log-rank tables of one endpoint."""
    median_columns = ["Grouping", "Group", "n", "Events", "Median (months)", "95% CI"]
    logrank_columns = ["Grouping", "Test", "Groups compared", "Chi-square", "df", "p", "p adjusted"]
    logrank = rows_of(tables["logrank"], endpoint=endpoint)
    summary = rows_of(tables["km_summary"], endpoint=endpoint)
    return {
        "id": f"km-{slug(endpoint)}",
        "label": label,
        "figures": km_figures(endpoint, label, tables, meta),
        "tables": [
            table(
                "Median survival (NR: not reached)", median_columns, median_rows(summary, meta), 2
            ),
            table(
                "Group comparisons (NA: not applicable)",
                logrank_columns,
                logrank_rows(logrank, meta),
                3,
            ),
        ],
    }


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
    rows = rows_of(endpoint_summary, grouping="mg_clinical")
    parts = [median_phrase(row) for _, row in rows.iterrows()]
    return f"Median (95% CI): {', '.join(parts)}." if parts else ""


def summary_section(endpoints: dict[str, str], tables: dict, meta: dict) -> dict[str, Any]:
    """Per endpoint, the clinical-group medians and the low-vs-normal hazard ratios."""
    comparison = term_parts(KEY_TERM)[1]
    return {
        "comparison": comparison,
        "exposed": comparison.split(" vs ")[0],
        "endpoints": [
            {
                "label": label,
                "medians": median_sentence(rows_of(tables["km_summary"], endpoint=endpoint)),
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


def methods_section(endpoints: dict[str, str], tables: dict, meta: dict) -> dict[str, Any]:
    """Methods text inputs: data provenance, definitions, statistics and software."""
    summary = tables["km_summary"]
    quartiles = list(dict.fromkeys(rows_of(summary, grouping="mg_quartile")["group"].astype(str)))
    arms = [m.removeprefix(ARM_MODEL_PREFIX) for m in arm_models(tables["cox"])]
    continuous = rows_of(tables["cox"], model="continuous")["term"].astype(str)
    return {
        "cohort": str(meta.get("cohort", "")),
        "source": str(meta.get("source", "")),
        "sha256": str(meta.get("input_sha256", "")),
        "generated": str(meta.get("generated", "")),
        "threshold": f"{meta['mg_threshold_mmol_l']:g}" if "mg_threshold_mmol_l" in meta else "",
        "quartiles": ", ".join(quartiles),
        "conf_type": str(meta.get("conf_type", "")),
        "covariates": adjusted_for(tables["cox"]),
        "groups": table(
            "Serum Mg groups (mmol/L)",
            ["Grouping", "Group", "Serum Mg", "n"],
            [
                [
                    grouping_label(str(r["grouping"]), meta),
                    str(r["group"]),
                    str(r["definition"]),
                    format_count(r["n"]),
                ]
                for _, r in tables["groups"].iterrows()
            ],
            3,
        ),
        "arms": ", ".join(arms),
        "continuous": "; ".join(" ".join(term_parts(t)) for t in dict.fromkeys(continuous)),
        "events": [
            {"label": label, "definition": EVENT_DEFINITIONS.get(endpoint, endpoint)}
            for endpoint, label in endpoints.items()
        ],
        "unadjusted_p": bool(tables["logrank"]["p_adjusted"].isna().all()),
        "versions": [[str(k), str(v)] for k, v in meta.get("versions", {}).items()],
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


def render_report(
    flow: pd.DataFrame,
    groups: pd.DataFrame,
    km_summary: pd.DataFrame,
    km_curves: pd.DataFrame,
    logrank: pd.DataFrame,
    cox: pd.DataFrame,
    cox_models: pd.DataFrame,
    meta: dict,
) -> str:
    """Render the whole report as one self-contained HTML5 document."""
    tables = {
        "flow": flow,
        "groups": groups,
        "km_summary": km_summary,
        "km_curves": km_curves,
        "logrank": logrank,
        "cox": cox,
    }
    labels = endpoint_labels(meta)
    endpoints = {e: labels.get(e, e) for e in endpoint_order(labels, km_summary, cox)}
    context = {
        "title": f"Serum magnesium and survival: {meta.get('cohort', '')}",
        "sections": SECTIONS,
        "summary": summary_section(endpoints, tables, meta),
        "flow": flow_section(flow),
        "km": [km_section(e, label, tables, meta) for e, label in endpoints.items()],
        "cox": [
            {
                "id": f"cox-{slug(e)}",
                "label": label,
                "tables": cox_tables(rows_of(cox, endpoint=e), rows_of(cox_models, endpoint=e)),
            }
            for e, label in endpoints.items()
        ],
        "methods": methods_section(endpoints, tables, meta),
    }
    return environment().get_template("report.html.j2").render(**context)
