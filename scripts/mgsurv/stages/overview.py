"""Step render_overview: results/index.html comparing and pooling all cohorts, and its
tables (results/overview/); also what a failed run writes instead (:func:`partial_overview`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from mgsurv.contract import OVERVIEW_INPUTS, cohort_folder, overview_inputs
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


# A cohort that neither failed nor completed: the run stopped before it was done.
NOT_FINISHED = (
    "did not finish: the run stopped at another cohort's failure"
    " (rerun with --keep-going to finish the others)"
)


def partial_overview(
    cohorts: Sequence[str],
    failures: Mapping[str, str],
    settings: OverviewSettings,
    outputs: Mapping[str, str | Path],
) -> bool:
    """After a failed run of several cohorts (the workflow's onerror handler), the overview
    of those that completed, naming the others with their message (``failures``, by
    cohort; NOT_FINISHED for the rest). A cohort that failed in this run never counts as
    complete, whatever tables an earlier run left. The files are dated 1970, so that the
    next run rebuilds them, as it would a rule's output older than its inputs. False when
    there is nothing to write (one cohort, or none completed)."""
    inputs = {cohort: overview_inputs(cohort_folder(cohort)) for cohort in cohorts}
    complete = {
        cohort: files
        for cohort, files in inputs.items()
        if cohort not in failures and all(Path(p).exists() for p in files.values())
    }
    if len(cohorts) < 2 or not complete:
        return False
    failed = {c: failures.get(c, NOT_FINISHED) for c in cohorts if c not in complete}
    overview(complete, failed, settings, outputs)
    for path in outputs.values():
        os.utime(path, (0, 0))
    return True


def cohort_paths(
    cohorts: Sequence[str], paths: Mapping[str, Sequence[str | Path]]
) -> dict[str, dict[str, str | Path]]:
    """Per cohort, its table paths by name, from the rule's inputs (one list per name, in
    the order of ``cohorts``)."""
    return {
        cohort: {name: paths[name][index] for name in OVERVIEW_INPUTS}
        for index, cohort in enumerate(cohorts)
    }
