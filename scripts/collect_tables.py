"""Rule collect_tables: stack the per-endpoint tables into results/<cohort>/tables/."""

from mgsurv.stages.collect import collect
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    collect(smk.input, smk.output)


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
