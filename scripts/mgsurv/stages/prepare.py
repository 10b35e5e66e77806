"""Step prepare_cohort: the cohort CSV, read through its mapping, as the analysis-ready
cohort with its patient flow, exclusions, Mg groups, cut-point, Table 1 and provenance; and
step prepare_synthetic_cohort, the same for the built-in synthetic cohort, generated first."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mgsurv.cohort.prepare import prepare
from mgsurv.files.tables import write_json, write_parquet, write_tsv
from mgsurv.settings import PrepareSettings
from mgsurv.stages.simulate import simulate


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
    result = prepare(str(source), str(mapping), settings, origin)
    for name, table in result.tables().items():
        write_tsv(table, outputs[name])
    write_json(result.provenance, outputs["provenance"])
    write_parquet(result.cohort, outputs["cohort"])


def prepare_synthetic_cohort(
    synthetic: dict[str, Any],
    mapping: str | Path,
    settings: PrepareSettings,
    origin: str,
    outputs: Mapping[str, str | Path],
) -> None:
    """Generate the synthetic cohort from the generator's settings, write its CSV and truth
    file (:func:`mgsurv.contract.synthetic_files`: ``outputs`` ``csv`` and ``truth``), then
    :func:`prepare_cohort` that CSV, in one process: one Python start fewer than a job each."""
    simulate(synthetic, outputs["csv"], outputs["truth"])
    prepare_cohort(outputs["csv"], mapping, settings, origin, outputs)
