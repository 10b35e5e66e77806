"""The reproducibility appendix (config, input checksum, versions, run date, rule graph,
figure files) and the REMARK checklist, each item pointing to where the report answers it
or saying why it cannot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from mgsurv.contract import (
    ALL_PATIENTS,
    CLINICAL_GROUPING,
    MIN_EVENTS_PER_PARAMETER,
    MULTIVARIABLE,
    RESIDUALS_MODEL,
    SYNTHETIC,
)
from mgsurv.report.disclosure import format_patients
from mgsurv.report.drawing import Figures
from mgsurv.report.figures import rulegraph_figure
from mgsurv.report.formatting import (
    format_estimable,
    format_mg,
    format_number,
    in_sentence,
    word_list,
)
from mgsurv.report.labels import ENDPOINT_LABELS, adjusted_for, arms_of
from mgsurv.report.provenance import RunRecord
from mgsurv.report.sections.baseline import imbalanced
from mgsurv.report.sections.cox import flagged_terms
from mgsurv.report.sections.survival import data_cutoff
from mgsurv.report.tables import Link, Rich, Table, Tables, rows_of, table
from mgsurv.settings import ReportSettings

# Graphviz DOT as `snakemake --rulegraph` writes it: '0[label = "all", ...];' and '1 -> 0'.
DOT_NODE = re.compile(r'^\s*(?P<id>\w+)\s*\[\s*label\s*=\s*"(?P<label>[^"]*)"', re.M)
DOT_EDGE = re.compile(r"^\s*(?P<tail>\w+)\s*->\s*(?P<head>\w+)", re.M)
ADDRESSED = "Addressed"
PARTLY = "Partly"
NOT_IN_DATA = "Not in the data"
MANUSCRIPT = "For the manuscript"


def parse_rulegraph(dot: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Node id -> rule name, and the (producer, consumer) edges of a rule graph in DOT."""
    labels = {match["id"]: match["label"] for match in DOT_NODE.finditer(dot)}
    edges = [
        (match["tail"], match["head"])
        for match in DOT_EDGE.finditer(dot)
        if match["tail"] in labels and match["head"] in labels
    ]
    return labels, edges


# Config keys that hold a path: the appendix shows the file's name (the folders it was read
# from say nothing about the analysis and may name a person or a hospital's share).
PATH_KEYS = ("cohort", "mapping", "cohorts_sheet")


def settings_yaml(settings: ReportSettings, run: RunRecord) -> str:
    """The config the run used, as YAML (keys in their configured order): paths as file
    names, and the synthetic generator's settings only for the synthetic cohort."""
    if not settings.config:
        return "not recorded"
    shown = {
        key: Path(value).name if key in PATH_KEYS and value else value
        for key, value in settings.config.items()
        if key != "synthetic" or run.source == SYNTHETIC
    }
    return yaml.safe_dump(shown, sort_keys=False, allow_unicode=True, default_flow_style=None)


def rulegraph(run: RunRecord, figures: Figures) -> dict[str, Any] | None:
    """The workflow's rule graph as a figure (None when the run did not record it)."""
    labels, edges = parse_rulegraph(str(run.rulegraph))
    if not labels:
        return None
    return figures.add("rulegraph", rulegraph_figure(labels, edges)) | {
        "caption": f"The workflow's {len(labels)} rules and their dependencies (from"
        " snakemake --rulegraph): each rule runs after the rules above it that point to it."
    }


def figure_files_table(figures: Figures) -> Table:
    """Every figure of the report and the PNG and PDF files it was also written to."""
    directory = figures.directory.name if figures.directory is not None else ""
    rows = [
        [figure_id, f"{directory}/{figure_id}.png", f"{directory}/{figure_id}.pdf"]
        for figure_id in figures.ids
    ]
    return table(
        "Figures, also written as files (paths relative to this report)",
        ["Figure", "PNG", "PDF"],
        rows,
        3,
    )


def appendix_section(
    tables: Tables, settings: ReportSettings, run: RunRecord, figures: Figures
) -> dict[str, Any]:
    """The reproducibility appendix. Call last: it lists every figure made before it."""
    graph = rulegraph(run, figures)
    return {
        "config": settings_yaml(settings, run),
        "mapping": run.mapping_text,
        "source": run.source_name,
        "sha256": str(run.input_sha256),
        "generated": str(run.generated),
        "cutoff": data_cutoff(run),
        "tables": ", ".join(sorted(tables)),
        "versions": table(
            "Software versions",
            ["Package", "Version"],
            [[str(k), str(v)] for k, v in run.versions.items()],
            2,
        ),
        "rulegraph": graph,
        "figure_files": figure_files_table(figures) if figures.directory is not None else None,
    }


def link(sections: dict[str, str], section_id: str) -> Link:
    """A link to a section of the page, named by its heading."""
    return Link(sections[section_id], f"#{section_id}")


def where(sections: dict[str, str], ids: list[str], text: str = "") -> Rich:
    """'See Patient flow, Baseline characteristics. <text>' with the sections linked."""
    parts: list[str | Link] = ["See "]
    for index, section_id in enumerate(ids):
        parts += [", "] if index else []
        parts.append(link(sections, section_id))
    parts.append(f". {text}" if text else ".")
    return Rich(tuple(parts))


def per_endpoint_text(values: dict[str, str]) -> str:
    """'progression-free survival 1138, overall survival 881'."""
    return ", ".join(f"{in_sentence(ENDPOINT_LABELS.get(e, e))} {v}" for e, v in values.items())


def remark_facts(tables: Tables, settings: ReportSettings, run: RunRecord) -> dict[str, str]:
    """The numbers the checklist quotes, all read from the tables and the settings."""
    flow = tables["flow"].sort_values("step")
    clinical = rows_of(tables["km_summary"], grouping=CLINICAL_GROUPING)
    events = {
        e: format_patients(rows["events"].sum())
        for e, rows in clinical.groupby("endpoint", sort=False)
    }
    models = rows_of(tables["cox_models"], model=MULTIVARIABLE)
    epv = {
        str(row["endpoint"]): format_number(row["events_per_parameter"], 1)
        for _, row in models.iterrows()
    }
    followup = {
        str(row["endpoint"]): f"{format_estimable(row['median_followup'])} months"
        for _, row in rows_of(tables["followup"], group=ALL_PATIENTS).iterrows()
    }
    flagged = {
        e: str(len(flagged_terms(rows_of(tables["ph_test"], endpoint=e, model=RESIDUALS_MODEL))))
        for e in dict.fromkeys(tables["ph_test"]["endpoint"].astype(str))
    }
    arms = arms_of(tables["cox"])
    imbalance = imbalanced(tables["baseline"]) if not tables["baseline"].empty else []
    return {
        "n_read": format_patients(flow["n_before"].iloc[0]),
        "n_analysed": format_patients(flow["n_after"].iloc[-1]),
        "steps": str(len(flow)),
        "events": per_endpoint_text(events),
        "epv": per_endpoint_text(epv),
        "followup": per_endpoint_text(followup),
        "flagged": per_endpoint_text(flagged),
        "arms": word_list(arms) or "one arm",
        "covariates": adjusted_for(tables["cox"]) or "none",
        "imbalance": word_list(imbalance) or "none",
        "threshold": f"{format_mg(settings.mg_threshold_mmol_l)}",
        "source": run.source_name,
        "cutoff": data_cutoff(run),
    }


def remark_items(
    tables: Tables, settings: ReportSettings, run: RunRecord, s: dict[str, str]
) -> list[tuple]:
    """(item, what REMARK asks, status, where) for the 20 items (McShane et al. 2005)."""
    f = remark_facts(tables, settings, run)
    return [
        (
            "Marker, objectives, pre-specified hypotheses",
            PARTLY,
            where(
                s,
                ["summary", "methods"],
                f"Marker: baseline serum Mg, pre-specified threshold {f['threshold']} mmol/L"
                " (from the config); further hypotheses must come from the study protocol.",
            ),
        ),
        (
            "Patients: characteristics, source, inclusion and exclusion criteria",
            ADDRESSED,
            where(
                s,
                ["flow", "baseline"],
                f"Source: {f['source']}; {f['n_read']} rows read, {f['n_analysed']} analysed"
                f" after {f['steps']} exclusion steps with their reasons.",
            ),
        ),
        (
            "Treatments received and how they were chosen",
            PARTLY,
            where(
                s,
                ["baseline", "cox"],
                f"Arms: {f['arms']} (Table 1, per-arm models). How treatment was assigned is"
                " not in the data: state it in the manuscript.",
            ),
        ),
        (
            "Specimen: type, timing, handling (here the serum sample for Mg)",
            NOT_IN_DATA,
            "The data hold one baseline value per patient: state the sample type, its timing"
            " relative to treatment start and its handling in the manuscript.",
        ),
        (
            "Assay method, reproducibility, blinding to the outcome",
            NOT_IN_DATA,
            "State the assay, the laboratory and whether Mg was measured without knowledge of"
            " the outcome in the manuscript (values are analysed in mmol/L).",
        ),
        (
            "Case selection, time period, end of follow-up, median follow-up",
            PARTLY,
            where(
                s,
                ["followup", "flow"],
                f"Data cut-off: {f['cutoff']}; median follow-up (reverse Kaplan-Meier):"
                f" {f['followup']}. The recruitment period is not in the data.",
            ),
        ),
        (
            "Precise definitions of all endpoints",
            ADDRESSED,
            where(s, ["methods"], "Events, time zero and censoring for each endpoint."),
        ),
        (
            "All candidate variables",
            ADDRESSED,
            where(
                s,
                ["baseline", "methods"],
                f"Covariates: {f['covariates']}; all in Table 1 and in the multivariable model.",
            ),
        ),
        (
            "Rationale for the sample size",
            MANUSCRIPT,
            where(
                s,
                ["cox"],
                f"No sample-size calculation is made here. The data give {f['n_analysed']}"
                f" patients; events: {f['events']}; events per parameter of the multivariable"
                f" model: {f['epv']} (at least {MIN_EVENTS_PER_PARAMETER} recommended)."
                " A rationale (e.g. power for a given hazard ratio) must come from the study.",
            ),
        ),
        (
            "Statistical methods: variable selection, assumption checks, missing data",
            ADDRESSED,
            where(
                s,
                ["methods", "ph", "flow"],
                "Every pre-specified covariate enters the models (no data-driven selection);"
                " proportional hazards tested per term; patients missing Mg, an outcome or"
                " the arm are excluded (flow), and each model uses its complete cases.",
            ),
        ),
        (
            "How marker values were handled; how the cut-point was chosen",
            ADDRESSED,
            where(
                s,
                ["methods", "spline", "cutpoint"],
                f"Pre-specified clinical threshold ({f['threshold']} mmol/L), quartiles, and"
                " continuous (linear and spline); the data-driven cut-point is labelled"
                " exploratory and given with its corrected p-value.",
            ),
        ),
        (
            "Patient flow with numbers and reasons; N and events overall and per subgroup",
            ADDRESSED,
            where(
                s,
                ["flow", "km"],
                f"Events: {f['events']}; n and events per group in the median tables.",
            ),
        ),
        (
            "Demographics, prognostic variables and marker distribution, with missing counts",
            ADDRESSED,
            where(
                s,
                ["baseline", "spline"],
                "Missing counts per variable in Table 1; the distribution of serum Mg under"
                " the spline curve.",
            ),
        ),
        (
            "Relation of the marker to standard prognostic variables",
            ADDRESSED,
            where(
                s,
                ["baseline"],
                f"Standardized mean differences between low and normal Mg; above 0.1:"
                f" {f['imbalance']}.",
            ),
        ),
        (
            "Univariable marker-outcome analysis: HR and survival probabilities",
            ADDRESSED,
            where(
                s,
                ["km", "rmst", "cox"],
                "Kaplan-Meier curves, medians, landmark rates, RMST and univariable models.",
            ),
        ),
        (
            "Key multivariable analyses: HR with CI for the marker and all model variables",
            ADDRESSED,
            where(s, ["cox"], "Forest plot and table of every term of the multivariable model."),
        ),
        (
            "Marker with standard prognostic variables, regardless of their significance",
            ADDRESSED,
            where(s, ["cox"], "Every pre-specified covariate stays in the model whatever its p."),
        ),
        (
            "Further checks: assumptions, sensitivity analyses, internal validation",
            PARTLY,
            where(
                s,
                ["ph", "rmst", "continuous"],
                f"Terms flagged by the proportional-hazards test: {f['flagged']}; stratified"
                " and per-arm models, RMST and landmark rates, continuous and spline models."
                " No internal validation (bootstrap or cross-validation) is done: state it as"
                " a limitation.",
            ),
        ),
        (
            "Interpretation against the hypotheses and other studies; limitations",
            MANUSCRIPT,
            where(
                s,
                ["summary"],
                "The summary states the limits of a retrospective association; comparison with"
                " other studies belongs in the manuscript.",
            ),
        ),
        (
            "Implications for future research and clinical value",
            MANUSCRIPT,
            "The report draws no clinical conclusion: for the manuscript.",
        ),
    ]


def remark_section(
    tables: Tables, settings: ReportSettings, run: RunRecord, sections: dict[str, str]
) -> dict[str, Any]:
    """The REMARK checklist as a table: item, what it asks, status, where (linked)."""
    items = remark_items(tables, settings, run, sections)
    rows = [
        [str(number), asks, status, answer]
        for number, (asks, status, answer) in enumerate(items, start=1)
    ]
    counts = {status: sum(row[2] == status for row in rows) for status in dict.fromkeys(
        [ADDRESSED, PARTLY, NOT_IN_DATA, MANUSCRIPT])}  # fmt: skip
    return {
        "summary": "; ".join(f"{status.lower()}: {n}" for status, n in counts.items()),
        "table": table(
            "REMARK checklist (McShane et al. 2005; items 14-20 paraphrased)",
            ["Item", "REMARK asks for", "Status", "Where in this report, or what to add"],
            rows,
            4,
        ),
    }
