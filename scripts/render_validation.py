"""Rule validation_report: the validation study's summaries and its HTML page."""

from mgsurv.stages.runner import run_step
from mgsurv.stages.validation import validation_report


def main(smk) -> None:
    validation_report(smk.input, smk.params.power_sizes, smk.params.study, smk.output)


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
