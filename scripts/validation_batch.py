"""Rule validation_batch: one batch of replicates of one validation scenario."""

from mgsurv.stages.runner import run_step
from mgsurv.stages.validation import validation_batch
from mgsurv.validation.replicates import StudySettings


def main(smk) -> None:
    first, stop = smk.params.replicates
    validation_batch(
        smk.wildcards.scenario,
        smk.params.power_sizes,
        range(first, stop),
        StudySettings.from_config(dict(smk.params.settings), smk.input.mapping),
        smk.output[0],
    )


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
