"""Rule render_overview: results/index.html comparing and pooling all cohorts."""

from datetime import UTC, datetime

import pandas as pd

from mgsurv.files.tables import read_tsv, write_text, write_tsv
from mgsurv.overview.page import render_overview
from mgsurv.settings import AnalysisSettings
from mgsurv.stages.runner import run_step


def by_cohort(paths: list[str], cohorts: list[str], read) -> dict:
    return {cohort: read(path) for cohort, path in zip(cohorts, paths, strict=True)}


def main(smk) -> None:
    names = list(smk.params.cohorts)
    html, tables = render_overview(
        cox_tables=by_cohort(smk.input.cox, names, read_tsv),
        summaries=by_cohort(smk.input.km_summary, names, read_tsv),
        flows=by_cohort(smk.input.flow, names, read_tsv),
        cohorts=by_cohort(smk.input.cohort, names, pd.read_parquet),
        settings=AnalysisSettings.from_config(smk.params.settings),
        generated=datetime.now(UTC).replace(microsecond=0).isoformat(),
    )
    for name, table in tables.items():
        write_tsv(table, smk.output[name])
    write_text(html, smk.output.html)


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
