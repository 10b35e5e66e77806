"""Rule analyse_endpoint: KM, log-rank, RMST and Cox tables of one endpoint."""

from mgsurv.settings import AnalysisSettings
from mgsurv.stages.analyse import analyse
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    settings = AnalysisSettings.from_config(smk.params.settings)
    analyse(smk.input.cohort, smk.wildcards.endpoint, settings, smk.output)


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
