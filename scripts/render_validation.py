"""Rule validation_report: the validation study's summaries and its HTML page."""

from datetime import UTC, datetime

import pandas as pd

from mgsurv.files.tables import read_tsv, write_text, write_tsv
from mgsurv.stages.runner import run_step
from mgsurv.validation.page import render_validation
from mgsurv.validation.scenarios import power_sizes, scenarios
from mgsurv.validation.summary import (
    estimate_summary,
    power_curve,
    rejection_summary,
    size_for_power,
)


def main(smk) -> None:
    chosen = scenarios(smk.params.power_sizes)
    rows = pd.concat([read_tsv(path) for path in smk.input], ignore_index=True)
    estimates = estimate_summary(rows)
    rejections = rejection_summary(rows)
    curve = power_curve(rejections, power_sizes(chosen))
    needed = {e: size_for_power(part) for e, part in curve.groupby("endpoint", sort=False)}
    html = render_validation(
        estimates,
        rejections,
        curve,
        needed,
        chosen,
        settings=dict(smk.params.study),
        generated=datetime.now(UTC).replace(microsecond=0).isoformat(),
    )
    write_tsv(rows, smk.output.replicates)
    write_tsv(estimates, smk.output.estimates)
    write_tsv(rejections, smk.output.rejections)
    write_tsv(curve.assign(n_for_80_percent=curve["endpoint"].map(needed)), smk.output.power)
    write_text(html, smk.output.html)


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
