"""Rule validation_batch: one batch of replicates of one validation scenario."""

from mgsurv.files.tables import write_tsv
from mgsurv.stages.runner import run_step
from mgsurv.validation.replicates import StudySettings, run_replicates
from mgsurv.validation.scenarios import scenarios


def main(smk) -> None:
    scenario = scenarios(smk.params.power_sizes)[smk.wildcards.scenario]
    settings = StudySettings.from_config(dict(smk.params.settings), smk.input.mapping)
    first, stop = smk.params.replicates
    write_tsv(run_replicates(scenario, range(first, stop), settings), smk.output[0])


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
