"""Step render_report: the endpoints' tables stacked, then the self-contained HTML report
from the result tables, and every figure of it as PNG and PDF."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from mgsurv.contract import ENDPOINT_TABLES
from mgsurv.files.tables import write_text
from mgsurv.report.page import read_report_table, render_report
from mgsurv.report.provenance import run_record
from mgsurv.settings import ReportSettings
from mgsurv.stages.collect import collect


def report(
    cohort: str,
    parts: Sequence[str | Path],
    tables: Mapping[str, str | Path],
    provenance: str | Path,
    rulegraph: str | Path | None,
    settings: ReportSettings,
    html: str | Path,
    figures: str | Path,
    workers: int,
) -> None:
    """Stack the endpoints' tables (``parts``, :func:`mgsurv.contract.endpoint_parts`) into
    the endpoint tables of ``tables`` (:func:`mgsurv.contract.report_table_files`: paths by
    name), then render the report of ``cohort`` from those tables, prepare's provenance.json
    and the rule graph (DOT file; None: not recorded) and write it to ``html``, its figures
    to ``figures``; ``workers`` forked processes draw the figures while this one builds the
    page. Stacking here rather than in a job of its own saves a Python start."""
    collect(parts, {name: tables[name] for name in ENDPOINT_TABLES})
    record = run_record(
        cohort,
        json.loads(Path(provenance).read_text(encoding="utf-8")),
        Path(rulegraph).read_text(encoding="utf-8") if rulegraph is not None else "",
    )
    frames = {name: read_report_table(path) for name, path in tables.items()}
    write_text(render_report(frames, settings, record, figures, workers=workers), html)
