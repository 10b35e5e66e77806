"""Step analyse_endpoint: every estimate of one endpoint, from the analysis-ready cohort."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mgsurv.analysis.endpoint import analyse_endpoint, read_endpoint_cohort
from mgsurv.files.tables import write_tsv
from mgsurv.settings import AnalysisSettings


def analyse(
    cohort: str | Path,
    endpoint: str,
    settings: AnalysisSettings,
    outputs: Mapping[str, str | Path],
) -> None:
    """Write the endpoint's tables (:func:`mgsurv.contract.endpoint_files`: ``outputs`` by
    table name) from the cohort's parquet file."""
    data = read_endpoint_cohort(cohort, endpoint, settings)
    for name, table in analyse_endpoint(data, endpoint, settings).items():
        write_tsv(table, outputs[name])
