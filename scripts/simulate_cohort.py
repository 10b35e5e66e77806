"""Rule simulate_cohort: write the built-in synthetic cohort CSV and its truth file."""

from mgsurv.cohort.simulate import SyntheticParams, simulate_cohort, write_cohort
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    cohort, truth = simulate_cohort(SyntheticParams(**smk.params.synthetic))
    write_cohort(cohort, truth, smk.output.cohort, smk.output.truth)


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
