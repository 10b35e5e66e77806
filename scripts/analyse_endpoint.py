"""Rule analyse_endpoint: KM, log-rank and Cox tables of one endpoint."""

from mgsurv.analysis.endpoint import analyse_endpoint, read_endpoint_cohort
from mgsurv.files.tables import write_tsv
from mgsurv.settings import AnalysisSettings
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    settings = AnalysisSettings.from_config(smk.params.settings)
    endpoint = smk.wildcards.endpoint
    tables = analyse_endpoint(
        read_endpoint_cohort(smk.input.cohort, endpoint, settings), endpoint, settings
    )
    for name, table in tables.items():
        write_tsv(table, smk.output[name])


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
