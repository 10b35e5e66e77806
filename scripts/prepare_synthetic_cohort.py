"""Rule prepare_synthetic_cohort: generate the built-in synthetic cohort (its CSV and truth
file), then validate that CSV and write the analysis-ready cohort as prepare_cohort does."""

from mgsurv.settings import PrepareSettings
from mgsurv.stages.prepare import prepare_synthetic_cohort
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    settings = PrepareSettings.from_config(smk.params.settings)
    prepare_synthetic_cohort(
        smk.params.synthetic, smk.input.mapping, settings, smk.params.origin, smk.output
    )


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
