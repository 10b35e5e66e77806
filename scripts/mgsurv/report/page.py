"""The self-contained HTML report, built only from the results-contract tables.

Python turns the tidy tables (one dict keyed by file stem:
:data:`mgsurv.contract.REPORT_TABLES`), the report's settings
(:class:`mgsurv.settings.ReportSettings`) and the record of the run
(:class:`mgsurv.report.provenance.RunRecord`) into plain, already formatted strings; the
Jinja2 template only lays them out. Every number in the report therefore comes from an
input table, the settings or the run's record,
and the page has no scripts, stylesheets, fonts or images to fetch: figures are inline SVG,
CSS is inline, and each table's CSV download is a data: URI inside the page. With a
``figures_dir``, every figure is also written there as PNG and PDF.

The sections live in :mod:`mgsurv.report.sections` (survival: summary, flow, follow-up,
Kaplan-Meier, RMST; baseline: Table 1; cox: Cox models, forest plot, proportional hazards;
continuous: spline, cut-point; methods; appendix: reproducibility, REMARK), built with the
report's labels, number formatting, table specs and figure sink
(:mod:`~mgsurv.report.labels`, :mod:`~mgsurv.report.formatting`,
:mod:`~mgsurv.report.tables`, :mod:`~mgsurv.report.drawing`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from mgsurv.contract import ALL_PATIENTS, LABEL_COLUMNS, PH_ALPHA, SPLINE
from mgsurv.files.tables import read_tsv
from mgsurv.report.disclosure import suppressing
from mgsurv.report.drawing import Figures
from mgsurv.report.labels import ENDPOINT_LABELS, endpoint_order, labelling
from mgsurv.report.primary import answers, section_levels, treatments
from mgsurv.report.provenance import RunRecord
from mgsurv.report.sections.appendix import appendix_section, remark_section
from mgsurv.report.sections.baseline import baseline_section
from mgsurv.report.sections.by_arm import by_arm_section
from mgsurv.report.sections.continuous import (
    cutpoint_section,
    same_split,
    spline_section,
    without_cutpoint_grouping,
)
from mgsurv.report.sections.cox import cox_section, ph_section
from mgsurv.report.sections.headline import headline_section
from mgsurv.report.sections.imputation import imputation_section
from mgsurv.report.sections.methods import methods_section
from mgsurv.report.sections.sensitivity import (
    evalue_section,
    subgroup_section,
    threshold_section,
)
from mgsurv.report.sections.survival import (
    flow_section,
    followup_section,
    km_section,
    rmst_table,
    summary_section,
)
from mgsurv.report.sections.weighting import weighting_section
from mgsurv.report.tables import Tables, name_tables, rows_of, subset_view
from mgsurv.settings import ReportSettings

# (id, heading) of the page's sections, in order; sections marked in PER_ENDPOINT list
# their endpoints as subsections in the contents.
SECTIONS = [
    ("summary", "Summary"),
    ("arms", "Low vs normal Mg within each arm"),
    ("flow", "Patient flow"),
    ("baseline", "Baseline characteristics"),
    ("followup", "Follow-up"),
    ("km", "Kaplan-Meier analysis"),
    ("rmst", "Restricted mean survival time"),
    ("cox", "Cox regression"),
    ("ph", "Proportional-hazards checks"),
    ("continuous", "Serum Mg as a continuous variable"),
    ("sensitivity", "Sensitivity analyses"),
    ("methods", "Methods"),
    ("appendix", "Reproducibility appendix"),
    ("remark", "REMARK checklist"),
]
PER_ENDPOINT = ("arms", "km", "cox", "ph")
# The template's parts that hold tables, in the order the page shows them (their CSV names
# are made in this order).
PAGE_ORDER = (
    "headline",
    "summary",
    "arms",
    "flow",
    "baseline",
    "followup",
    "km",
    "rmst",
    "cox",
    "ph",
    "spline",
    "cutpoint",
    "iptw",
    "sensitivity",
    "imputation",
    "thresholds",
    "subgroups",
    "methods",
    "appendix",
    "remark",
)
FIXED_SUBSECTIONS = {
    "continuous": [("spline", "Restricted cubic spline"), ("cutpoint", "Data-driven cut-point")],
    "sensitivity": [
        ("iptw", "Confounding: inverse probability weighting"),
        ("evalue", "Unmeasured confounding: E-value"),
        ("imputation", "Missing covariates: multiple imputation"),
        ("thresholds", "The threshold: the hazard ratio at every cut"),
        ("subgroups", "Subgroups (exploratory)"),
    ],
}


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


# km_curves.tsv's label columns (a row per distinct time of every curve: millions for a
# large cohort) are read as categoricals: stored once, not once per row.


def read_report_table(path: str | Path) -> pd.DataFrame:
    """A result table as the report reads it (km_curves.tsv's labels as categoricals)."""
    return read_tsv(path, categorical=LABEL_COLUMNS if Path(path).stem == "km_curves" else ())


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
    tables: Tables,
    settings: ReportSettings,
    run: RunRecord,
    figures_dir: str | Path | None = None,
    workers: int = 0,
) -> str:
    """Render the whole report as one self-contained HTML5 document.

    ``tables``: every result table keyed by its file stem (module docstring); ``settings``
    and ``run``: what the report states and applies besides the tables;
    ``figures_dir``: where to write every figure as <id>.png and <id>.pdf (None: nowhere);
    ``workers``: how many figures are drawn at once, each in a fork (see :class:`Figures`).
    Counts below the settings' report_min_count are suppressed throughout
    (:mod:`mgsurv.report.disclosure`).
    """
    with (
        suppressing(settings.report_min_count),
        labelling(settings.covariates),
        Figures(figures_dir, workers) as figures,
    ):
        return page(tables, settings, run, figures)


def page(tables: Tables, settings: ReportSettings, run: RunRecord, figures: Figures) -> str:
    """The report's HTML: every section built from the tables, laid out by the template."""
    order = endpoint_order(ENDPOINT_LABELS, tables["km_summary"], tables["cox"])
    endpoints = {e: ENDPOINT_LABELS.get(e, e) for e in order}
    # Figure 1 first (the figures are numbered in the order they are drawn), from every
    # subset; the later sections read the rows of all patients (pooled over the arms).
    by_arm = [by_arm_section(e, label, tables, settings, figures) for e, label in endpoints.items()]
    tables = subset_view(tables, ALL_PATIENTS)
    # who is treated how, and the answer on each endpoint: read once, shown in several parts
    arms = treatments(tables["arms"])
    found = answers(tables, list(endpoints), settings.primary)
    if same_split(tables):
        tables = without_cutpoint_grouping(tables)

    def each(build: Callable[..., dict[str, Any]]) -> list[dict[str, Any]]:
        return [build(e, label, tables, settings, figures) for e, label in endpoints.items()]

    context: dict[str, Any] = {
        "title": f"Serum magnesium and survival: {run.cohort}",
        "headline": headline_section(found, arms, settings, run),
        "arms": by_arm,
        "levels": section_levels(arms, settings.primary),
        "sections": contents(endpoints),
        "summary": summary_section(endpoints, tables, found, arms, settings, run),
        "flow": flow_section(tables["flow"]),
        "baseline": baseline_section(tables),
        "followup": followup_section(endpoints, tables, run),
        "km": each(km_section),
        "rmst": [rmst_table(e, label, tables) for e, label in endpoints.items()],
        "cox": each(cox_section),
        "ph": each(ph_section),
        "ph_alpha": f"{PH_ALPHA:g}",
        "has_spline": not rows_of(tables["cox"], model=SPLINE).empty,
        "spline": each(spline_section),
        "cutpoint": cutpoint_section(tables, settings, figures),
        "iptw": weighting_section(tables, arms, settings, figures),
        "sensitivity": evalue_section(found, tables["cox"], arms, settings),
        "imputation": imputation_section(tables, arms, settings),
        "thresholds": threshold_section(tables, arms, settings, figures),
        "subgroups": subgroup_section(tables, arms, settings, figures),
        "methods": methods_section(endpoints, tables, settings, run),
        "remark": remark_section(tables, settings, run, section_headings()),
    }
    # Last: the appendix draws the rule graph and lists every figure made.
    context["appendix"] = appendix_section(tables, settings, run, figures)
    context["figure_count"] = len(figures.ids)
    name_tables({key: context[key] for key in PAGE_ORDER})
    # the template numbers the tables it shows, in page order
    context["next_table_number"] = itertools.count(1).__next__
    return environment().get_template("report.html.j2").render(**context)
