"""Step prepare_cohort: the cohort CSV, read through its mapping, as the analysis-ready
cohort with its patient flow, exclusions, Mg groups, cut-point, Table 1 and provenance."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mgsurv.cohort.prepare import prepare
from mgsurv.files.tables import write_json, write_parquet, write_tsv
from mgsurv.settings import PrepareSettings


def prepare_cohort(
    source: str | Path,
    mapping: str | Path,
    settings: PrepareSettings,
    origin: str,
    outputs: Mapping[str, str | Path],
) -> None:
    """Validate ``source`` and write what prepare writes
    (:func:`mgsurv.contract.prepare_files`: ``outputs`` by those names). ``origin``: what
    provenance.json names as the source (``synthetic`` or the user's CSV)."""
    result = prepare(
        source=str(source),
        mapping_path=str(mapping),
        covariates=list(settings.covariates),
        threshold_mmol_l=settings.mg_threshold_mmol_l,
        origin=origin,
        cutpoint=settings.cutpoint,
    )
    tables = {
        "flow": result.flow,
        "excluded": result.excluded,
        "mg_groups": result.groups,
        "cutpoint": result.cutpoint,
        "baseline": result.baseline,
        "mg_distribution": result.mg_distribution,
        "cutpoint_candidates": result.cutpoint_candidates,
    }
    for name, table in tables.items():
        write_tsv(table, outputs[name])
    write_json(result.provenance, outputs["provenance"])
    write_parquet(result.cohort, outputs["cohort"])
