"""Rule collect_tables: stack the per-endpoint tables into results/<cohort>/tables/.

One job writes every table (rather than one job per table): each job costs a Python
start-up, which dominated this step on the default cohort.
"""

from pathlib import Path

import pandas as pd

from mgsurv.runner import run_step
from mgsurv.tables import read_tsv, write_tsv


def main(smk) -> None:
    for table, output in smk.output.items():
        parts = [path for path in smk.input if Path(path).name == f"{table}.tsv"]
        write_tsv(pd.concat([read_tsv(path) for path in parts], ignore_index=True), output)


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
