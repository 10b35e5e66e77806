"""Steps validation_batch and validation_report: the validation study's replicates, batch
by batch, and its summaries and page (results/validation/)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mgsurv.files.tables import read_tsv, write_text, write_tsv
from mgsurv.validation.page import render_validation
from mgsurv.validation.replicates import StudySettings, run_replicates
from mgsurv.validation.scenarios import power_sizes, scenarios
from mgsurv.validation.summary import (
    estimate_summary,
    power_curve,
    rejection_summary,
    size_for_power,
)


def validation_batch(
    scenario: str,
    sizes: Sequence[int],
    replicates: Iterable[int],
    settings: StudySettings,
    output: str | Path,
) -> None:
    """Run these replicates of one scenario (of those with the power curve's ``sizes``)
    and write their rows."""
    write_tsv(run_replicates(scenarios(sizes)[scenario], replicates, settings), output)


def validation_report(
    batches: Iterable[str | Path],
    sizes: Sequence[int],
    study: Mapping[str, Any],
    outputs: Mapping[str, str | Path],
) -> None:
    """Summarise every batch's rows and write the summaries, the rows and the page
    (``outputs``: html, replicates, estimates, rejections, power); ``study``: the
    replicates and seed, stated on the page."""
    chosen = scenarios(sizes)
    rows = pd.concat([read_tsv(path) for path in batches], ignore_index=True)
    estimates = estimate_summary(rows)
    rejections = rejection_summary(rows, [name for name, s in chosen.items() if s.no_effect])
    curve = power_curve(rejections, power_sizes(chosen))
    needed = {e: size_for_power(part) for e, part in curve.groupby("endpoint", sort=False)}
    html = render_validation(
        estimates,
        rejections,
        curve,
        needed,
        chosen,
        settings=dict(study),
        generated=datetime.now(UTC).replace(microsecond=0).isoformat(),
    )
    write_tsv(rows, outputs["replicates"])
    write_tsv(estimates, outputs["estimates"])
    write_tsv(rejections, outputs["rejections"])
    write_tsv(curve.assign(n_for_80_percent=curve["endpoint"].map(needed)), outputs["power"])
    write_text(html, outputs["html"])
