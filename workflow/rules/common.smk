# Helpers shared by the rules: the cohort's name and source, and the final outputs.

import re
import time
from pathlib import Path

from snakemake.exceptions import WorkflowError

SYNTHETIC = "synthetic"
ENDPOINTS = ["pfs", "os"]
TABLES = ["km_summary", "km_curves", "logrank", "cox"]


def cohort_name():
    """results/<name>/: the configured name, 'synthetic', or the CSV's file stem."""
    if config["cohort_name"]:
        return config["cohort_name"]
    if config["cohort"] == SYNTHETIC:
        return SYNTHETIC
    return re.sub(r"[^A-Za-z0-9._-]", "_", Path(config["cohort"]).stem)


def check_input_files():
    """Fail before any job runs when the configured CSV or its mapping does not exist."""
    path = config["cohort"]
    if path == SYNTHETIC:
        return
    if not Path(path).is_file():
        raise WorkflowError(
            f"mgsurv: cohort file not found: {path}\n"
            "  fix: give an existing CSV as cohort=path/to/cohort.csv"
            " (relative to the working directory), or cohort=synthetic"
        )
    if not Path(config["mapping"]).is_file():
        raise WorkflowError(
            f"mgsurv: mapping file not found: {config['mapping']}\n"
            "  fix: copy config/mapping.yaml, edit it for your CSV and pass it as"
            " mapping=path/to/mapping.yaml (relative to the working directory)"
        )


def cohort_source(wildcards):
    """The CSV that prepare_cohort reads: the generator's output or the user's file."""
    if config["cohort"] == SYNTHETIC:
        return f"results/{wildcards.cohort}/input/synthetic_cohort.csv"
    return config["cohort"]


def mapping_path():
    """The synthetic cohort is read with the shipped mapping; a CSV with the configured one."""
    if config["cohort"] == SYNTHETIC:
        return str(Path(workflow.basedir) / "config" / "mapping.yaml")
    return config["mapping"]


def cohort_origin(wildcards):
    return config["cohort"]


def report_path():
    return f"results/{cohort_name()}/report.html"


RUN_STARTED = time.time()
INPUT_ERROR_MARK = "mgsurv: input error:"


def input_errors_of_this_run():
    """The input-error messages that failed jobs of this run wrote to their logs."""
    messages = []
    for log in sorted(Path("logs", cohort_name()).glob("*.log")):
        if log.stat().st_mtime < RUN_STARTED:
            continue
        text = log.read_text(encoding="utf-8", errors="replace")
        if INPUT_ERROR_MARK in text:
            messages.append(
                INPUT_ERROR_MARK + text.split(INPUT_ERROR_MARK, 1)[1].rstrip()
            )
    return messages


check_input_files()


wildcard_constraints:
    cohort=r"[A-Za-z0-9._-]+",
    endpoint="|".join(ENDPOINTS),
    table="|".join(TABLES),
