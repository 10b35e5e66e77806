"""One stage of the mgsurv workflow, timed in a process of its own (bench/run.py starts it).

    python bench/stage.py STAGE --csv COHORT.csv --workdir DIR --config CONFIG.yaml
        [--rulegraph rulegraph.dot]

STAGE: prepare, analyse_pfs, analyse_os, report or cox_fit. Each stage calls the function of
mgsurv.stages that its rule's script calls (scripts/*.py), on the files the previous stage
wrote in DIR (laid out as results/<cohort>/, by mgsurv.contract):

* prepare: mgsurv.stages.prepare.prepare_cohort on the CSV with the shipped mapping (rule
  prepare_cohort; prepare_synthetic_cohort generates the CSV first);
* analyse_pfs, analyse_os: mgsurv.stages.analyse.analyse on the cohort parquet (rule
  analyse_endpoint);
* report: mgsurv.stages.report.report (the endpoint tables stacked, then the page) with 2
  workers, as the rule's 2 threads (rule render_report;
  the rule graph is read from --rulegraph, as the rule reads the rule_graph job's output);
* cox_fit: mgsurv.stats.cox.fit_cox of the multivariable PFS model (Mg group + arm + the
  configured covariates), the pipeline's Cox fit as analyse_endpoint calls it.

The stage is timed from after the imports to after its outputs are written (time.perf_counter)
and the seconds are appended to DIR/py_timings.tsv as "stage<TAB>seconds"; the parent reads
the process's peak RSS when it ends.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import yaml

from mgsurv.analysis.cox_models import model_specs
from mgsurv.contract import (
    FIGURES_FOLDER,
    MULTIVARIABLE,
    REPORT_FILE,
    endpoint_files,
    endpoint_parts,
    event_column,
    prepare_files,
    report_table_files,
    time_column,
)
from mgsurv.settings import AnalysisSettings, PrepareSettings, ReportSettings
from mgsurv.stages.analyse import analyse
from mgsurv.stages.prepare import prepare_cohort
from mgsurv.stages.report import report
from mgsurv.stats.cox import fit_cox

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "config" / "mapping.yaml"
STAGES = ("prepare", "analyse_pfs", "analyse_os", "report", "cox_fit")
# The rule's threads: figures drawn by two forked workers.
REPORT_WORKERS = 2


def run_prepare(csv: Path, workdir: Path, config: dict) -> None:
    settings = PrepareSettings.from_config(config)
    prepare_cohort(csv, MAPPING, settings, str(csv), prepare_files(workdir))


def run_analyse(endpoint: str, workdir: Path, config: dict) -> None:
    settings = AnalysisSettings.from_config(config)
    cohort = prepare_files(workdir)["cohort"]
    analyse(cohort, endpoint, settings, endpoint_files(workdir, endpoint))


def run_report(workdir: Path, config: dict, rulegraph: Path | None) -> None:
    report(
        cohort="bench",
        parts=endpoint_parts(workdir),
        tables=report_table_files(workdir),
        provenance=prepare_files(workdir)["provenance"],
        rulegraph=rulegraph,
        settings=ReportSettings.from_config(config),
        html=workdir / REPORT_FILE,
        figures=workdir / FIGURES_FOLDER,
        workers=REPORT_WORKERS,
    )


def run_cox_fit(workdir: Path, config: dict) -> None:
    data = pd.read_parquet(prepare_files(workdir)["cohort"])
    settings = AnalysisSettings.from_config(config)
    (spec,) = [s for s in model_specs(data, settings) if s.name == MULTIVARIABLE]
    fit_cox(
        spec.data,
        time_column("pfs"),
        event_column("pfs"),
        spec.terms,
        spec.strata,
        spec.droppable,
    )


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
