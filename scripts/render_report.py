"""Rule render_report: the self-contained HTML report from the result tables."""

import json
from pathlib import Path

from mgsurv.provenance import report_meta
from mgsurv.report import render_report
from mgsurv.runner import run_step
from mgsurv.tables import read_tsv, write_text


def main(smk) -> None:
    provenance = json.loads(Path(smk.input.provenance).read_text(encoding="utf-8"))
    meta = report_meta(smk.wildcards.cohort, provenance, smk.params.settings)
    html = render_report(
        flow=read_tsv(smk.input.flow),
        groups=read_tsv(smk.input.groups),
        km_summary=read_tsv(smk.input.km_summary),
        km_curves=read_tsv(smk.input.km_curves),
        logrank=read_tsv(smk.input.logrank),
        cox=read_tsv(smk.input.cox),
        cox_models=read_tsv(smk.input.cox_models),
        meta=meta,
    )
    write_text(html, smk.output[0])


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
