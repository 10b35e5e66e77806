"""Rule collect_tables: stack the per-endpoint tables into results/<cohort>/tables/."""

import pandas as pd

from mgsurv.runner import run_step
from mgsurv.tables import read_tsv, write_tsv


def main(smk) -> None:
    write_tsv(pd.concat([read_tsv(path) for path in smk.input], ignore_index=True), smk.output[0])


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
