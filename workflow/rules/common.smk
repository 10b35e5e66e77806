# Helpers shared by the rules: the cohort's name and source, and the final outputs.

import re
import time
from pathlib import Path

from snakemake.exceptions import WorkflowError

SYNTHETIC = "synthetic"
ENDPOINTS = ["pfs", "os"]
TABLES = [
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
]


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


ANALYSIS_KEYS = [
    "covariates",
    "reference_arm",
    "strata",
    "conf_type",
    "landmark_months",
    "rmst_tau_months",
    "ph_transform",
    "pairwise_adjust",
    "spline_reference_mmol_l",
]


def analysis_settings():
    """The config keys the statistics depend on (only these trigger a rerun)."""
    return {key: config[key] for key in ANALYSIS_KEYS}


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


def check_strata():
    """Strata must be the arm or a configured covariate: columns the cohort will have."""
    known = {"arm"} | {spec["name"] for spec in config["covariates"]}
    unknown = [name for name in config["strata"] if name not in known]
    if unknown:
        raise WorkflowError(
            f"mgsurv: config error: strata {unknown} are neither 'arm' nor a covariate\n"
            f"  fix: use any of {sorted(known)} under 'strata' in the config"
        )


check_input_files()
check_strata()


wildcard_constraints:
    cohort=r"[A-Za-z0-9._-]+",
    endpoint="|".join(ENDPOINTS),
    table="|".join(TABLES),
