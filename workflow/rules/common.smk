# Helpers shared by the rules: the cohorts (sheet or single), their sources, the outputs.

import hashlib
import re
import time
from pathlib import Path

import pandas as pd
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from mgsurv.contract import (
    ARM_COLUMN,
    ENDPOINTS,
    FIGURES_FOLDER,
    OVERVIEW_PAGE,
    REPORT_FILE,
    RULEGRAPH_FILE,
    SYNTHETIC,
    cohort_folder,
    endpoint_files,
    endpoint_parts,
    overview_files,
    overview_inputs,
    prepare_files,
    prepared_report_tables,
    stacked_table_files,
    synthetic_files,
    validation_batch_file,
    validation_files,
)
from mgsurv.cohort.synthetic_arms import synthetic_reference_arm
from mgsurv.stages.prompt_exit import cancel_scheduler_timers
from mgsurv.stages.rulegraph import stage_rule_graph
from mgsurv.stages.runner import logged_failure
from mgsurv.schemas import CONFIG_DEFAULTS
from mgsurv.settings import (
    AnalysisSettings,
    OverviewSettings,
    PrepareSettings,
    config_keys,
)
from mgsurv.validation.scenarios import scenarios

# A cohort's results folder (the contract's files are relative to it).
COHORT_DIR = cohort_folder("{cohort}")


# The generator's settings a cohorts sheet may set per synthetic cohort: the config's.
SHEET_SYNTHETIC_KEYS = list(CONFIG_DEFAULTS["synthetic"])


def single_cohort_name():
    """results/<name>/: the configured name, 'synthetic', or the CSV's file stem."""
    if config["cohort_name"]:
        return config["cohort_name"]
    if config["cohort"] == SYNTHETIC:
        return SYNTHETIC
    return re.sub(r"[^A-Za-z0-9._-]", "_", Path(config["cohort"]).stem)


def read_cohorts_sheet(path):
    """The cohorts sheet (TSV, one row per cohort), validated by its schema."""
    if not Path(path).is_file():
        raise WorkflowError(
            f"mgsurv: cohorts sheet not found: {path}\n"
            "  fix: give an existing TSV as cohorts_sheet=path (see config/cohorts.tsv)"
        )
    sheet = pd.read_csv(
        path,
        sep="\t",
        comment="#",
        dtype={"cohort": str, "source": str, "mapping": str},
    )
    validate(sheet, "../schemas/cohorts.schema.yaml")
    repeated = sheet["cohort"][sheet["cohort"].duplicated()].tolist()
    if repeated:
        raise WorkflowError(
            f"mgsurv: cohorts sheet {path}: cohort names repeat: {repeated}\n"
            "  fix: give each row its own name in the 'cohort' column"
        )
    return sheet


def load_cohorts():
    """Every cohort of this run, indexed by name: its source (synthetic or a CSV), its
    mapping and, for synthetic ones, generator settings. From the cohorts sheet when one
    is configured, else the single configured cohort."""
    if config["cohorts_sheet"]:
        sheet = read_cohorts_sheet(config["cohorts_sheet"])
    else:
        sheet = pd.DataFrame(
            [{"cohort": single_cohort_name(), "source": config["cohort"]}]
        )
    if "mapping" not in sheet:
        sheet["mapping"] = None
    sheet["mapping"] = sheet["mapping"].fillna(config["mapping"])
    return sheet.set_index("cohort", drop=False)


def check_input_files():
    """Fail before any job runs when a configured CSV or its mapping does not exist."""
    for row in COHORTS.itertuples():
        if row.source == SYNTHETIC:
            continue
        if not Path(row.source).is_file():
            raise WorkflowError(
                f"mgsurv: cohort file not found: {row.source} (cohort {row.cohort})\n"
                "  fix: give an existing CSV as cohort=path/to/cohort.csv or in the cohorts"
                " sheet (relative to the working directory), or use synthetic"
            )
        if not Path(row.mapping).is_file():
            raise WorkflowError(
                f"mgsurv: mapping file not found: {row.mapping} (cohort {row.cohort})\n"
                "  fix: copy config/mapping.yaml, edit it for your CSV and pass it as"
                " mapping=path/to/mapping.yaml or in the sheet's mapping column"
            )


def is_synthetic(cohort):
    return COHORTS.loc[cohort, "source"] == SYNTHETIC


def cohort_source(wildcards):
    """The user's CSV that prepare_cohort reads."""
    return COHORTS.loc[wildcards.cohort, "source"]


def mapping_path(wildcards):
    """The synthetic cohort is read with the shipped mapping; a CSV with its own."""
    if is_synthetic(wildcards.cohort):
        return str(Path(workflow.basedir) / "config" / "mapping.yaml")
    return COHORTS.loc[wildcards.cohort, "mapping"]


def lab_table_file(wildcards):
    """The lab table a CSV's mapping takes baseline Mg from (mapping key mg_lab), if any and
    if it exists: an input of prepare_cohort, so that a changed table reruns it (prepare
    names a missing one, or a mapping it cannot read)."""
    try:
        mapping = yaml.safe_load(
            Path(mapping_path(wildcards)).read_text(encoding="utf-8")
        )
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    lab = mapping.get("mg_lab") if isinstance(mapping, dict) else None
    file = lab.get("file") if isinstance(lab, dict) else None
    return [file] if isinstance(file, str) and Path(file).is_file() else []


def cohort_origin(wildcards):
    return COHORTS.loc[wildcards.cohort, "source"]


def synthetic_params(wildcards):
    """The generator's settings for the job's cohort (a rule's params function)."""
    return synthetic_settings(wildcards.cohort)


def synthetic_settings(cohort):
    """The generator's settings: the config's, with the sheet's per-cohort values."""
    row = COHORTS.loc[cohort]
    overrides = {
        key: row[key]
        for key in SHEET_SYNTHETIC_KEYS
        if key in row and pd.notna(row[key])
    }
    params = {**config["synthetic"], **overrides}
    return {**params, "n": int(params["n"]), "seed": int(params["seed"])}


# Config keys that never change a cohort's results: the validation study's settings and how
# a cluster groups jobs.
NOT_COHORT_KEYS = ("validation", "cluster_group_below_mb")


def cohort_config():
    """The config as a cohort's results see it: without NOT_COHORT_KEYS, so that changing
    those never reruns a cohort's report."""
    return {key: value for key, value in config.items() if key not in NOT_COHORT_KEYS}


def settings_of(*settings_classes):
    """The config keys a stage's settings are built from (only these trigger a rerun)."""
    return {key: config[key] for key in config_keys(*settings_classes)}


def cohort_settings(settings_class):
    """A rule's params function: settings_of(settings_class) for the job's cohort, where a
    generated cohort keeps its generator's reference arm (synthetic_reference_arm)."""

    def of_cohort(wildcards):
        settings = settings_of(settings_class)
        if is_synthetic(wildcards.cohort):
            settings["reference_arm"] = synthetic_reference_arm(
                settings["reference_arm"]
            )
        return settings

    return of_cohort


# Bytes per patient of a synthetic cohort's CSV, for its size before it is generated.
SYNTHETIC_BYTES_PER_PATIENT = 60


def cohort_input_mb(cohort):
    """The size of a cohort's input in MB (a synthetic cohort's, estimated from its n)."""
    if is_synthetic(cohort):
        return synthetic_settings(cohort)["n"] * SYNTHETIC_BYTES_PER_PATIENT / 1e6
    return Path(COHORTS.loc[cohort, "source"]).stat().st_size / 1e6


def cohort_job_group(wildcards):
    """A rule's group: on a cluster, a cohort below cluster_group_below_mb runs its steps,
    CSV to report, as one job (the connected jobs of a group form one cluster job; the
    cohorts are not connected, so each is its own job). A larger cohort's steps are jobs of
    their own: its preparation, each endpoint's analysis on its own node, and its report
    (None). Local runs ignore groups."""
    if cohort_input_mb(wildcards.cohort) < config["cluster_group_below_mb"]:
        return "cohort"
    return None


def memory_mb(wildcards, input):
    """Memory to request: 2 GB, plus 20 MB per MB of input for large cohorts."""
    return memory_for_mb(input.size_mb)


def synthetic_memory_mb(wildcards):
    """memory_mb of the job that generates a synthetic cohort: its CSV is the input."""
    return memory_for_mb(cohort_input_mb(wildcards.cohort))


def memory_for_mb(input_mb):
    """2 GB, plus 20 MB per MB of input."""
    return max(2000, int(20 * input_mb))


def cohort_names(synthetic):
    """A wildcard constraint that matches exactly the synthetic cohorts' names (or exactly
    the CSV cohorts'): which of the two prepare rules makes a cohort's files."""
    names = [re.escape(c) for c in COHORTS.index if is_synthetic(c) == synthetic]
    return "|".join(names) if names else "(?!)"  # (?!) matches nothing


def code_version():
    """A digest of the mgsurv package's sources and templates. Rules pass it as a param,
    so a change to the code (not only to the thin rule scripts, which Snakemake tracks
    itself) reruns the jobs it may affect."""
    digest = hashlib.sha256()
    package = Path(workflow.basedir) / "scripts" / "mgsurv"
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".j2"):
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


CODE_VERSION = code_version()


def final_outputs():
    """Each cohort's report, and the overview of all cohorts when there are several."""
    reports = [f"{cohort_folder(cohort)}/{REPORT_FILE}" for cohort in COHORTS.index]
    return reports + ([OVERVIEW_PAGE] if len(COHORTS) > 1 else [])


RUN_STARTED = time.time()


def written_this_run(paths):
    """The paths this run wrote (for the closing message: not a target it left alone)."""
    return [
        p for p in paths if Path(p).exists() and Path(p).stat().st_mtime >= RUN_STARTED
    ]


def cohort_failures():
    """Per cohort with a step that failed in this run, what the step's log says of it."""
    failures = {}
    for cohort in COHORTS.index:
        for log in sorted(Path("logs", cohort).glob("*.log")):
            if log.stat().st_mtime >= RUN_STARTED and (message := logged_failure(log)):
                failures[cohort] = message
                break
    return failures


def check_strata():
    """Strata must be the arm or a configured covariate: columns the cohort will have."""
    known = {ARM_COLUMN} | {spec["name"] for spec in config["covariates"]}
    unknown = [name for name in config["strata"] if name not in known]
    if unknown:
        raise WorkflowError(
            f"mgsurv: config error: strata {unknown} are neither 'arm' nor a covariate\n"
            f"  fix: use any of {sorted(known)} under 'strata' in the config"
        )


COHORTS = load_cohorts()
check_input_files()
check_strata()


wildcard_constraints:
    cohort=r"[A-Za-z0-9._-]+",
    endpoint="|".join(ENDPOINTS),


# The validation study (rules/validation.smk): its scenarios and batches.

VALIDATION = config["validation"]
VALIDATION_PAGE = validation_files()["html"]
VALIDATION_SCENARIOS = list(scenarios(VALIDATION["power_sizes"]))
VALIDATION_BATCHES = range(-(-VALIDATION["replicates"] // VALIDATION["batch_size"]))


def batch_replicates(wildcards):
    """[first, stop) of the replicates in this batch."""
    first = int(wildcards.batch) * VALIDATION["batch_size"]
    return [first, min(first + VALIDATION["batch_size"], VALIDATION["replicates"])]


def study_settings():
    """The config keys a replicate's numbers depend on (only these trigger a rerun)."""
    return settings_of(PrepareSettings, AnalysisSettings) | {"seed": VALIDATION["seed"]}
