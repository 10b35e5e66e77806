"""Rule render_report: the endpoints' tables stacked into results/<cohort>/tables/, then the
self-contained HTML report from the result tables, and every figure of it as PNG and PDF."""

from mgsurv.contract import ENDPOINT_TABLES, REPORT_TABLES
from mgsurv.settings import ReportSettings
from mgsurv.stages.collect import collect
from mgsurv.stages.report import report
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    stacked = {name: smk.output[name] for name in ENDPOINT_TABLES}
    collect(smk.input.parts, stacked)
    report(
        cohort=smk.wildcards.cohort,
        tables={name: stacked.get(name) or smk.input[name] for name in REPORT_TABLES},
        provenance=smk.input.provenance,
        rulegraph=smk.input.rulegraph,
        settings=ReportSettings.from_config(smk.params.settings),
        html=smk.output.html,
        figures=smk.output.figures,
        workers=smk.threads,
    )


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
