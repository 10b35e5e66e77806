"""Step render_overview: results/index.html comparing and pooling all cohorts, and its
tables (results/overview/); also what a failed run writes instead (:func:`partial_overview`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from mgsurv.contract import OVERVIEW_INPUTS
from mgsurv.files.tables import read_tsv, write_text, write_tsv
from mgsurv.overview.page import render_overview
from mgsurv.overview.pooled import CohortTables
from mgsurv.settings import OverviewSettings


def overview(
    cohort_files: Mapping[str, Mapping[str, str | Path]],
    failed: Mapping[str, str],
    settings: OverviewSettings,
    outputs: Mapping[str, str | Path],
) -> None:
    """From each completed cohort's cox.tsv, km_summary.tsv, arms.tsv and flow.tsv
    (``cohort_files``: by cohort, the paths by OVERVIEW_INPUTS name), write the page
    (``outputs["html"]``) and the overview tables (:data:`mgsurv.contract.OVERVIEW_TABLES`,
    ``outputs`` by name); ``failed`` names each cohort that did not complete, with its
    message."""
    tables = {
        cohort: CohortTables(**{name: read_tsv(files[name]) for name in OVERVIEW_INPUTS})
        for cohort, files in cohort_files.items()
    }
    html, results = render_overview(
        tables,
        dict(failed),
        settings,
        generated=datetime.now(UTC).replace(microsecond=0).isoformat(),
    )
    for name, table in results.items():
        write_tsv(table, outputs[name])
    write_text(html, outputs["html"])


def partial_overview(
    cohort_files: Mapping[str, Mapping[str, str | Path]],
    failed: Mapping[str, str],
    settings: OverviewSettings,
    outputs: Mapping[str, str | Path],
) -> None:
    """The overview of the cohorts that completed when others failed (a run with
    --keep-going), written by the workflow's onerror handler. Its files are dated 1970, so
    that the next run rebuilds them, as it would a rule's output older than its inputs."""
    overview(cohort_files, failed, settings, outputs)
    for path in outputs.values():
        os.utime(path, (0, 0))


def cohort_paths(
    cohorts: Sequence[str], paths: Mapping[str, Sequence[str | Path]]
) -> dict[str, dict[str, str | Path]]:
    """Per cohort, its table paths by name, from the rule's inputs (one list per name, in
    the order of ``cohorts``)."""
    return {
        cohort: {name: paths[name][index] for name in OVERVIEW_INPUTS}
        for index, cohort in enumerate(cohorts)
    }
