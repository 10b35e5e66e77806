"""Step render_overview: results/index.html comparing and pooling all cohorts, and its
tables (results/overview/)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mgsurv.files.tables import read_tsv, write_text, write_tsv
from mgsurv.overview.page import render_overview
from mgsurv.settings import AnalysisSettings


def _by_cohort(
    cohorts: Sequence[str], paths: Sequence[str | Path], read: Callable[[Any], pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    return {cohort: read(path) for cohort, path in zip(cohorts, paths, strict=True)}


def overview(
    cohorts: Sequence[str],
    cox: Sequence[str | Path],
    km_summary: Sequence[str | Path],
    flow: Sequence[str | Path],
    arms: Sequence[str | Path],
    cohort_files: Sequence[str | Path],
    settings: AnalysisSettings,
    outputs: Mapping[str, str | Path],
) -> None:
    """From each cohort's cox.tsv, km_summary.tsv, flow.tsv, arms.tsv and cohort.parquet (in
    the order of ``cohorts``), write the page (``outputs["html"]``) and the overview tables
    (:data:`mgsurv.contract.OVERVIEW_TABLES`, ``outputs`` by name)."""
    html, tables = render_overview(
        cox_tables=_by_cohort(cohorts, cox, read_tsv),
        summaries=_by_cohort(cohorts, km_summary, read_tsv),
        flows=_by_cohort(cohorts, flow, read_tsv),
        arms=_by_cohort(cohorts, arms, read_tsv),
        cohorts=_by_cohort(cohorts, cohort_files, pd.read_parquet),
        settings=settings,
        generated=datetime.now(UTC).replace(microsecond=0).isoformat(),
    )
    for name, table in tables.items():
        write_tsv(table, outputs[name])
    write_text(html, outputs["html"])
