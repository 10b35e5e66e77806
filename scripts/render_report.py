"""Rule render_report: the endpoints' tables stacked into results/<cohort>/tables/, then the
self-contained HTML report from the result tables, and every figure of it as PNG and PDF."""

from mgsurv.contract import REPORT_TABLES
from mgsurv.settings import ReportSettings
from mgsurv.stages.report import report
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    outputs_and_inputs = {**smk.input, **smk.output}
    report(
        cohort=smk.wildcards.cohort,
        parts=smk.input.parts,
        tables={name: outputs_and_inputs[name] for name in REPORT_TABLES},
        provenance=smk.input.provenance,
        rulegraph=smk.input.rulegraph,
        settings=ReportSettings.from_config(smk.params.settings),
        html=smk.output.html,
        figures=smk.output.figures,
        workers=smk.threads,
    )


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
