"""Rule render_overview: results/index.html comparing and pooling all cohorts."""

from mgsurv.settings import AnalysisSettings
from mgsurv.stages.overview import overview
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    overview(
        cohorts=list(smk.params.cohorts),
        cox=smk.input.cox,
        km_summary=smk.input.km_summary,
        flow=smk.input.flow,
        arms=smk.input.arms,
        cohort_files=smk.input.cohort,
        settings=AnalysisSettings.from_config(smk.params.settings),
        outputs=smk.output,
    )


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
