"""One stage of the mgsurv workflow, timed in a process of its own (bench/run.py starts it).

    python bench/stage.py STAGE --csv COHORT.csv --workdir DIR --config CONFIG.yaml
        [--rulegraph rulegraph.dot]

STAGE: prepare, analyse_pfs, analyse_os, report or cox_fit. Each stage does what its rule's
script does (scripts/*.py), by calling the same mgsurv functions on the files the previous
stage wrote in DIR (the same layout as results/<cohort>/):

* prepare: mgsurv.cohort.prepare.prepare on the CSV with the shipped mapping; writes the cohort
  parquet and the prepare tables (rule prepare_cohort);
* analyse_pfs, analyse_os: mgsurv.analysis.endpoint.analyse_endpoint on the cohort parquet; writes
  endpoints/<endpoint>/*.tsv (rule analyse_endpoint);
* report: stacks the endpoint tables into tables/ (rule collect_tables), reads every table
  and renders report.html and figures/ with mgsurv.report.page.render_report (rule render_report;
  the rule graph is read from --rulegraph, as the rule reads the rule_graph job's output);
* cox_fit: mgsurv.stats.cox.fit_cox of the multivariable PFS model (Mg group + arm + the
  configured covariates), the pipeline's Cox fit as analyse_endpoint calls it.

The stage is timed from after the imports to after its outputs are written (time.perf_counter)
and the seconds are appended to DIR/py_timings.tsv as "stage<TAB>seconds"; the parent reads
the process's peak RSS when it ends.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import yaml

from mgsurv.analysis.cox_models import model_specs
from mgsurv.analysis.endpoint import analyse_endpoint, read_endpoint_cohort
from mgsurv.cohort.prepare import prepare
from mgsurv.files.stacking import stack_tsv
from mgsurv.files.tables import write_json, write_parquet, write_text, write_tsv
from mgsurv.report.page import read_report_table, render_report, report_settings
from mgsurv.report.provenance import report_meta
from mgsurv.settings import AnalysisSettings, CutpointSettings
from mgsurv.stats.cox import fit_cox

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "config" / "mapping.yaml"
ENDPOINTS = ("pfs", "os")
STAGES = ("prepare", "analyse_pfs", "analyse_os", "report", "cox_fit")
# The per-endpoint tables (workflow/rules/common.smk TABLES) and prepare's own tables.
ENDPOINT_TABLES = (
    "km_summary",
    "km_curves",
    "landmarks",
    "followup",
    "logrank",
    "cox",
    "cox_models",
    "ph_test",
    "schoenfeld",
    "rmst",
    "spline",
    "nonlinearity",
)
PREPARE_TABLES = (
    "mg_groups",
    "baseline",
    "mg_distribution",
    "cutpoint",
    "cutpoint_candidates",
)


def run_prepare(csv: Path, workdir: Path, config: dict) -> None:
    result = prepare(
        source=str(csv),
        mapping_path=str(MAPPING),
        covariates=config["covariates"],
        threshold_mmol_l=config["mg_threshold_mmol_l"],
        origin=str(csv),
        cutpoint=CutpointSettings(**config["cutpoint"]),
    )
    write_tsv(result.flow, workdir / "flow.tsv")
    write_tsv(result.excluded, workdir / "excluded.tsv")
    write_tsv(result.groups, workdir / "tables" / "mg_groups.tsv")
    write_tsv(result.cutpoint, workdir / "tables" / "cutpoint.tsv")
    write_tsv(result.baseline, workdir / "tables" / "baseline.tsv")
    write_tsv(result.mg_distribution, workdir / "tables" / "mg_distribution.tsv")
    write_tsv(result.cutpoint_candidates, workdir / "tables" / "cutpoint_candidates.tsv")
    write_json(result.provenance, workdir / "provenance.json")
    write_parquet(result.cohort, workdir / "cohort.parquet")


def run_analyse(endpoint: str, workdir: Path, config: dict) -> None:
    settings = AnalysisSettings.from_config(config)
    cohort = read_endpoint_cohort(workdir / "cohort.parquet", endpoint, settings)
    tables = analyse_endpoint(cohort, endpoint, settings)
    for name, table in tables.items():
        write_tsv(table, workdir / "endpoints" / endpoint / f"{name}.tsv")


def run_report(workdir: Path, config: dict, rulegraph: Path | None) -> None:
    tables_dir = workdir / "tables"
    for name in ENDPOINT_TABLES:  # collect_tables
        parts = [workdir / "endpoints" / e / f"{name}.tsv" for e in ENDPOINTS]
        stack_tsv(parts, tables_dir / f"{name}.tsv")
    provenance = json.loads((workdir / "provenance.json").read_text(encoding="utf-8"))
    meta = (
        report_meta("bench", provenance, config)
        | report_settings(config)
        | {
            "settings": config,
            "rulegraph": rulegraph.read_text(encoding="utf-8") if rulegraph else "",
        }
    )
    meta.setdefault("data_cutoff", provenance.get("data_cutoff"))
    names = [*ENDPOINT_TABLES, *PREPARE_TABLES]
    tables = {name: read_report_table(tables_dir / f"{name}.tsv") for name in names}
    tables["flow"] = read_report_table(workdir / "flow.tsv")
    html = render_report(tables, meta, workdir / "figures", workers=2)  # as the rule: 2 threads
    write_text(html, workdir / "report.html")


def run_cox_fit(workdir: Path, config: dict) -> None:
    data = pd.read_parquet(workdir / "cohort.parquet")
    settings = AnalysisSettings.from_config(config)
    (spec,) = [s for s in model_specs(data, settings) if s.name == "multivariable"]
    fit_cox(spec.data, "pfs_months", "pfs_event", spec.terms, spec.strata, spec.droppable)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--rulegraph", type=Path)
    args = parser.parse_args(argv)
    config = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    args.workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if args.stage == "prepare":
        run_prepare(args.csv, args.workdir, config)
    elif args.stage.startswith("analyse_"):
        run_analyse(args.stage.removeprefix("analyse_"), args.workdir, config)
    elif args.stage == "report":
        run_report(args.workdir, config, args.rulegraph)
    else:
        run_cox_fit(args.workdir, config)
    seconds = time.perf_counter() - start
    with (args.workdir / "py_timings.tsv").open("a", encoding="utf-8") as handle:
        handle.write(f"{args.stage}\t{seconds:.6f}\n")


if __name__ == "__main__":
    main()
