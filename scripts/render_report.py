"""Rule render_report: the self-contained HTML report from the result tables."""

import json
from pathlib import Path

from mgsurv.provenance import report_meta
from mgsurv.report import render_report, report_settings
from mgsurv.runner import run_step
from mgsurv.tables import read_tsv, write_text


def main(smk) -> None:
    provenance = json.loads(Path(smk.input.provenance).read_text(encoding="utf-8"))
    settings = smk.params.settings
    meta = report_meta(smk.wildcards.cohort, provenance, settings) | report_settings(settings)
    tables = {Path(path).stem: read_tsv(path) for path in smk.input if path.endswith(".tsv")}
    write_text(render_report(tables, meta), smk.output[0])


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
