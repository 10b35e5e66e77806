"""The multi-cohort overview page (results/index.html): each cohort's key results side by
side and a forest plot per endpoint of the cohorts' adjusted low-Mg HRs with the pooled
estimates of :mod:`mgsurv.overview.pooled`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from mgsurv.contract import (
    ALL_PATIENTS,
    ARM_COLUMN,
    CLINICAL_GROUPING,
    LOW,
    MULTIVARIABLE,
    REPORT_FILE,
    SUBSET_COLUMN,
    arm_model,
)
from mgsurv.overview.pooled import META_ANALYSIS, cohort_estimates, pooled_estimates
from mgsurv.report.forest import POOLED, forest_svg
from mgsurv.report.formatting import format_p
from mgsurv.report.labels import ENDPOINT_LABELS
from mgsurv.report.primary import treatments
from mgsurv.settings import AnalysisSettings


def forest_rows(estimates: pd.DataFrame, pooled: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """One row per cohort (multivariable low-Mg HR), then the pooled estimates."""
    cohorts = estimates[(estimates["endpoint"] == endpoint) & (estimates["model"] == MULTIVARIABLE)]
    pooled_rows = pooled[pooled["endpoint"] == endpoint]
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "label": cohorts["cohort"],
                    "hr": cohorts["hr"],
                    "hr_lower": cohorts["hr_lower"],
                    "hr_upper": cohorts["hr_upper"],
                    "kind": "cohort",
                }
            ),
            pd.DataFrame(
                {
                    "label": pooled_rows["method"].str.replace(f"{META_ANALYSIS}, ", "pooled, "),
                    "hr": pooled_rows["hr"],
                    "hr_lower": pooled_rows["hr_lower"],
                    "hr_upper": pooled_rows["hr_upper"],
                    "kind": POOLED,
                }
            ),
        ],
        ignore_index=True,
    )


def heterogeneity_text(row: dict) -> str:
    """'Q = 4.04 on 2 df, p = 0.132; I² = 51%' (+ tau² for random effects); '' if none."""
    if pd.isna(row["q"]):
        return ""
    text = (
        f"Q = {row['q']:.2f} on {int(row['q_df'])} df, p = {format_p(row['q_p'])};"
        f" I² = {row['i2_percent']:.0f}%"
    )
    return text + (f"; τ² = {row['tau2']:.3g}" if "random" in row["method"] else "")


def _ci(row) -> str:
    if not np.isfinite(row["hr"]):
        return "not estimable"
    return f"{row['hr']:.2f} ({row['hr_lower']:.2f}–{row['hr_upper']:.2f})"


def immunotherapy_model(arms: pd.DataFrame) -> str | None:
    """The model of a cohort's immunotherapy-treated patients (arms.tsv): its arm's own model,
    or for a single-arm cohort the multivariable model of all patients; None when the
    cohort's mapping does not declare its immunotherapy arm."""
    declared = treatments(arms)
    if declared.immunotherapy is None:
        return None
    return MULTIVARIABLE if declared.single_arm else arm_model(declared.immunotherapy)


def cohort_rows(
    estimates: pd.DataFrame,
    flows: dict[str, pd.DataFrame],
    summaries: dict[str, pd.DataFrame],
    arms: dict[str, pd.DataFrame],
) -> list[dict]:
    """The overview table: per cohort, its report (relative to results/index.html), patients,
    low-Mg share and the key HRs (``hrs``: per endpoint, the multivariable model's and the
    immunotherapy arm's, whatever the cohort calls that arm, in the table's column order)."""
    rows = []
    for cohort, flow in flows.items():
        summary = summaries[cohort]
        clinical = summary[
            (summary[SUBSET_COLUMN] == ALL_PATIENTS)
            & (summary["grouping"] == CLINICAL_GROUPING)
            & (summary["endpoint"] == "os")
        ]
        n = int(clinical["n"].sum())
        low = int(clinical.loc[clinical["group"] == LOW, "n"].sum())
        mine = estimates[estimates["cohort"] == cohort].set_index(["endpoint", "model"])
        hrs = []
        for endpoint in ENDPOINT_LABELS:
            for model in (MULTIVARIABLE, immunotherapy_model(arms[cohort])):
                key = (endpoint, model)
                hrs.append(_ci(mine.loc[key]) if key in mine.index else "—")
        rows.append(
            {
                "cohort": cohort,
                "report": f"{cohort}/{REPORT_FILE}",
                "rows_read": int(flow["n_before"].iloc[0]),
                "analysed": n,
                "low_percent": f"{100 * low / n:.1f}" if n else "—",
                "hrs": hrs,
            }
        )
    return rows


def render_overview(
    cox_tables: dict[str, pd.DataFrame],
    summaries: dict[str, pd.DataFrame],
    flows: dict[str, pd.DataFrame],
    arms: dict[str, pd.DataFrame],
    cohorts: dict[str, pd.DataFrame],
    settings: AnalysisSettings,
    generated: str,
) -> tuple[str, dict]:
    """The overview HTML and its tables (cohort_estimates, pooled), from each cohort's
    tables (by cohort name: cox, km_summary, flow, arms) and analysis-ready cohort."""
    estimates = cohort_estimates(cox_tables)
    pooled = pooled_estimates(estimates, cohorts, settings)
    endpoints = []
    for endpoint, label in ENDPOINT_LABELS.items():
        mine = pooled[pooled["endpoint"] == endpoint]
        endpoints.append(
            {
                "label": label,
                "figure": forest_svg(
                    forest_rows(estimates, pooled, endpoint),
                    f"{label}: adjusted HR of low serum Mg",
                    id_prefix=f"forest-{endpoint}-",
                ),
                "pooled": [
                    {
                        **row,
                        "ci": _ci(row),
                        "p_text": format_p(row["p"]),
                        "q_text": heterogeneity_text(row),
                    }
                    for row in mine.to_dict("records")
                ],
            }
        )
    environment = Environment(
        loader=PackageLoader("mgsurv.overview", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
    )
    html = environment.get_template("overview.html.j2").render(
        generated=generated,
        cohorts=cohort_rows(estimates, flows, summaries, arms),
        endpoints=endpoints,
        adjusted_for=", ".join([ARM_COLUMN] + [c["name"] for c in settings.covariates]),
    )
    return html, {"cohort_estimates": estimates, "pooled": pooled}
