"""Rule render_report: the self-contained HTML report from the result tables, and every
figure of it as PNG and PDF."""

import json
from pathlib import Path

from mgsurv.files.tables import write_text
from mgsurv.report.page import read_report_table, render_report, report_settings
from mgsurv.report.provenance import report_meta
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    provenance = json.loads(Path(smk.input.provenance).read_text(encoding="utf-8"))
    settings = dict(smk.params.settings)
    meta = (
        report_meta(smk.wildcards.cohort, provenance, settings)
        | report_settings(settings)
        | {
            "settings": settings,
            "rulegraph": Path(smk.input.rulegraph).read_text(encoding="utf-8"),
        }
    )
    meta.setdefault("data_cutoff", provenance.get("data_cutoff"))
    tables = {Path(p).stem: read_report_table(p) for p in smk.input if p.endswith(".tsv")}
    # forked processes draw the figures while this one builds the page
    html = render_report(tables, meta, smk.output.figures, workers=smk.threads)
    write_text(html, smk.output.html)


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
