"""Rule analyse_endpoint: KM, log-rank and Cox tables of one endpoint."""

import pandas as pd

from mgsurv.analysis import AnalysisSettings, analyse_endpoint
from mgsurv.runner import run_step
from mgsurv.tables import write_tsv


def main(smk) -> None:
    settings = AnalysisSettings.from_config(smk.params.settings)
    tables = analyse_endpoint(pd.read_parquet(smk.input.cohort), smk.wildcards.endpoint, settings)
    for name, table in tables.items():
        write_tsv(table, smk.output[name])


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
