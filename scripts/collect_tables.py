"""Rule collect_tables: stack the per-endpoint tables into results/<cohort>/tables/.

One job writes every table (rather than one job per table), as text without pandas
(mgsurv.files.stacking): each job's start-up dominated this step on the default cohort.
"""

from pathlib import Path

from mgsurv.files.stacking import stack_tsv
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    for table, output in smk.output.items():
        stack_tsv([path for path in smk.input if Path(path).name == f"{table}.tsv"], output)


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
