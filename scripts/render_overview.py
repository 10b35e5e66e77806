"""Rule render_overview: results/index.html comparing and pooling all cohorts."""

from mgsurv.settings import OverviewSettings
from mgsurv.stages.overview import cohort_paths, overview
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    overview(
        cohort_files=cohort_paths(smk.params.cohorts, smk.input),
        failed={},
        settings=OverviewSettings.from_config(smk.params.settings),
        outputs=smk.output,
    )


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
