# mgsurv: survival by baseline serum magnesium in immunotherapy cohorts.
# Entry point: settings, their validation, the rules, and the final target.


import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")
sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from mgsurv.schemas import config_error


configfile: "config/config.yaml"


# A short message naming the key first; Snakemake's own validation fills in the defaults.
if problem := config_error(
    config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"
):
    raise WorkflowError(problem)
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/prepare.smk"
include: "workflow/rules/analyse.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/rulegraph.smk"
include: "workflow/rules/overview.smk"
include: "workflow/rules/validation.smk"


rule all:
    default_target: True
    input:
        final_outputs(),


# Snakemake calls onstart with the run's DAG built, before the first job.
onstart:
    stage_rule_graph(workflow.dag)


# Both handlers run once the scheduler is done: its pending timers would delay the exit.
onsuccess:
    cancel_scheduler_timers()
    for path in written_this_run(final_outputs()):
        print(f"mgsurv: report written to {path}")
    for path in written_this_run([VALIDATION_PAGE]):
        print(f"mgsurv: validation study written to {path}")


onerror:
    cancel_scheduler_timers()
    failures = cohort_failures()
    for cohort, message in failures.items():
        print(
            f"\nmgsurv: cohort {cohort} failed:\n{message}\n"
            "No results were written for this cohort; fix the input and rerun."
        )
    try:
        from mgsurv.stages.overview import partial_overview  # only when a run fails

        written = partial_overview(
            list(COHORTS.index),
            failures,
            OverviewSettings.from_config(config),
            overview_files(),
        )
    except Exception as error:  # a bug here must not hide the cohorts' own messages
        print(
            f"mgsurv: internal error: the overview could not be written: {error!r}"
        )
    else:
        if written:
            print(
                f"mgsurv: overview of the cohorts that completed written to {OVERVIEW_PAGE};"
                " it names the cohorts that failed"
            )
