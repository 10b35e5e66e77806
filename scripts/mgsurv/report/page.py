"""The self-contained HTML report, built only from the results-contract tables.

Python turns the tidy tables (one dict keyed by file stem: flow, mg_groups, baseline,
mg_distribution, km_summary, km_curves, landmarks, followup, logrank, rmst, cox,
cox_models, ph_test, schoenfeld, spline, nonlinearity, cutpoint, cutpoint_candidates) and
the run metadata into plain, already formatted strings; the Jinja2 template only lays them
out. Every number in the report therefore comes from an input table or the run's settings,
and the page has no scripts, stylesheets, fonts or images to fetch: figures are inline SVG,
CSS is inline, and each table's CSV download is a data: URI inside the page. With a
``figures_dir``, every figure is also written there as PNG and PDF.

The parts live in report_common (formats, table specs, figure sink), report_survival
(summary, flow, follow-up, Kaplan-Meier, RMST), report_baseline (Table 1), report_cox (Cox
models, forest plot, proportional hazards), report_continuous (spline, cut-point),
report_methods and report_appendix (reproducibility, REMARK).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from mgsurv.contract import SPLINE
from mgsurv.files.tables import read_tsv
from mgsurv.report.disclosure import suppressing
from mgsurv.report.drawing import Figures
from mgsurv.report.formatting import format_ci, format_hr, format_median, format_p
from mgsurv.report.labels import PH_FLAG, endpoint_labels, endpoint_order
from mgsurv.report.sections.appendix import appendix_section, remark_section
from mgsurv.report.sections.baseline import baseline_section
from mgsurv.report.sections.continuous import cutpoint_section, spline_section
from mgsurv.report.sections.cox import cox_section, ph_section
from mgsurv.report.sections.methods import methods_section
from mgsurv.report.sections.survival import (
    flow_section,
    followup_section,
    km_section,
    rmst_table,
    summary_section,
)
from mgsurv.report.tables import Tables, name_tables, rows_of

__all__ = [
    "PH_FLAG",
    "SECTIONS",
    "format_ci",
    "format_hr",
    "format_median",
    "format_p",
    "render_report",
    "report_settings",
]

# Config keys the report states (render_report.py adds them to meta from the settings);
# the optional ones with their default when the config does not have them yet.
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
OPTIONAL_SETTINGS = {"km_min_at_risk": 10, "report_min_count": 0}
# (id, heading) of the page's sections, in order; sections marked in PER_ENDPOINT list
# their endpoints as subsections in the contents.
SECTIONS = [
    ("summary", "Summary"),
    ("flow", "Patient flow"),
    ("baseline", "Baseline characteristics"),
    ("followup", "Follow-up"),
    ("km", "Kaplan-Meier analysis"),
    ("rmst", "Restricted mean survival time"),
    ("cox", "Cox regression"),
    ("ph", "Proportional-hazards checks"),
    ("continuous", "Serum Mg as a continuous variable"),
    ("methods", "Methods"),
    ("appendix", "Reproducibility appendix"),
    ("remark", "REMARK checklist"),
]
PER_ENDPOINT = ("km", "cox", "ph")
FIXED_SUBSECTIONS = {
    "continuous": [("spline", "Restricted cubic spline"), ("cutpoint", "Data-driven cut-point")]
}


def report_settings(settings: dict) -> dict:
    """The config keys the report states, for ``meta`` (settings: the validated config)."""
    optional = {key: settings.get(key, default) for key, default in OPTIONAL_SETTINGS.items()}
    return {key: settings[key] for key in REPORT_SETTINGS} | optional


def environment() -> Environment:
    """The Jinja2 environment: templates from the package, everything autoescaped."""
    return Environment(
        loader=PackageLoader("mgsurv.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# The labels of km_curves.tsv (a row per distinct time of every curve: millions for a large
# cohort), read as categoricals: stored once, not once per row.
CURVE_LABELS = ("endpoint", "grouping", "group")


def read_report_table(path: str | Path) -> pd.DataFrame:
    """A result table as the report reads it (km_curves.tsv's labels as categoricals)."""
    return read_tsv(path, categorical=CURVE_LABELS if Path(path).stem == "km_curves" else ())


def contents(endpoints: dict[str, str]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The table of contents: (id, heading, subsections) per section."""
    return [
        (
            section_id,
            heading,
            [(f"{section_id}-{e}", label) for e, label in endpoints.items()]
            if section_id in PER_ENDPOINT
            else FIXED_SUBSECTIONS.get(section_id, []),
        )
        for section_id, heading in SECTIONS
    ]


def section_headings() -> dict[str, str]:
    """Every section and fixed subsection id with its heading (for links to them)."""
    headings = dict(SECTIONS)
    for subsections in FIXED_SUBSECTIONS.values():
        headings |= dict(subsections)
    return headings


def render_report(
    tables: Tables, meta: dict, figures_dir: str | Path | None = None, workers: int = 0
) -> str:
    """Render the whole report as one self-contained HTML5 document.

    ``tables``: every result table keyed by its file stem (module docstring); ``meta``: the
    run's provenance and the settings of REPORT_SETTINGS (plus, when recorded: settings,
    the whole config; data_cutoff; rulegraph, the DOT text of the rule graph);
    ``figures_dir``: where to write every figure as <id>.png and <id>.pdf (None: nowhere);
    ``workers``: how many figures are drawn at once, each in a fork (see :class:`Figures`).
    Counts below meta's report_min_count are suppressed throughout (mgsurv.report.disclosure).
    """
    with suppressing(meta.get("report_min_count") or 0), Figures(figures_dir, workers) as figures:
        return page(tables, meta, figures)


def page(tables: Tables, meta: dict, figures: Figures) -> str:
    """The report's HTML: every section built from the tables, laid out by the template."""
    labels = endpoint_labels(meta)
    endpoints = {
        e: labels.get(e, e) for e in endpoint_order(labels, tables["km_summary"], tables["cox"])
    }

    def each(build) -> list:
        return [build(e, label, tables, meta, figures) for e, label in endpoints.items()]

    context: dict[str, Any] = {
        "title": f"Serum magnesium and survival: {meta.get('cohort', '')}",
        "sections": contents(endpoints),
        "summary": summary_section(endpoints, tables, meta),
        "flow": flow_section(tables["flow"]),
        "baseline": baseline_section(tables),
        "followup": followup_section(endpoints, tables, meta),
        "km": each(km_section),
        "rmst": [rmst_table(e, label, tables, meta) for e, label in endpoints.items()],
        "cox": each(cox_section),
        "ph": each(ph_section),
        "has_spline": not rows_of(tables["cox"], model=SPLINE).empty,
        "spline": each(spline_section),
        "cutpoint": cutpoint_section(tables, meta, figures),
        "methods": methods_section(endpoints, tables, meta),
        "remark": remark_section(tables, meta, section_headings()),
    }
    # Last: the appendix draws the rule graph and lists every figure made.
    context["appendix"] = appendix_section(tables, meta, figures)
    context["figure_count"] = len(figures.ids)
    name_tables(context)
    return environment().get_template("report.html.j2").render(**context)
