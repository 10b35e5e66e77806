"""Rule prepare_cohort: validate the cohort CSV and write the analysis-ready cohort."""

from mgsurv.settings import PrepareSettings
from mgsurv.stages.prepare import prepare_cohort
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    settings = PrepareSettings.from_config(smk.params.settings)
    prepare_cohort(smk.input.source, smk.input.mapping, settings, smk.params.origin, smk.output)


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
