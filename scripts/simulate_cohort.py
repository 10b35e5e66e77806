"""Rule simulate_cohort: write the built-in synthetic cohort CSV and its truth file."""

from mgsurv.stages.runner import run_step
from mgsurv.stages.simulate import simulate


def main(smk) -> None:
    simulate(smk.params.synthetic, smk.output.cohort, smk.output.truth)


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
