"""The multi-cohort overview: each cohort's key results side by side, the low-Mg hazard
ratios pooled across cohorts, and their heterogeneity (results/index.html).

Two complementary pooled estimates per endpoint:

* a meta-analysis of the cohorts' multivariable low-Mg log HRs (fixed effect and
  DerSimonian-Laird random effects, with Cochran's Q and I^2; :mod:`mgsurv.meta`);
* a pooled Cox model on all patients, stratified by cohort (each cohort keeps its own
  baseline hazard), with the same adjustment as each cohort's multivariable model.

Everything is computed from the per-cohort tables and analysis-ready cohorts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader

from mgsurv.analysis import AnalysisSettings, covariate_terms, grouping_term, reference_arm
from mgsurv.cox import Term, fit_cox
from mgsurv.figures import format_p
from mgsurv.forest import POOLED, forest_svg
from mgsurv.meta import pool

KEY_TERM = "mg_clinical[low vs normal]"
ENDPOINT_LABELS = {"pfs": "Progression-free survival", "os": "Overall survival"}
ESTIMATE_COLUMNS = [
    "cohort",
    "endpoint",
    "model",
    "hr",
    "hr_lower",
    "hr_upper",
    "p",
    "n",
    "events",
    "coef",
    "se",
]
POOLED_COLUMNS = [
    "endpoint",
    "method",
    "k",
    "hr",
    "hr_lower",
    "hr_upper",
    "p",
    "q",
    "q_df",
    "q_p",
    "i2_percent",
    "tau2",
    "n",
    "events",
]


def cohort_estimates(cox_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each cohort's low-Mg HR rows: multivariable, unadjusted and within each arm."""
    rows = []
    for cohort, cox in cox_tables.items():
        key = cox[(cox["term"] == KEY_TERM) & (cox["model"] != "interaction")]
        rows.append(key.assign(cohort=cohort))
    return pd.concat(rows, ignore_index=True)[ESTIMATE_COLUMNS]


def meta_rows(estimates: pd.DataFrame, endpoint: str) -> list[dict]:
    """Fixed and random-effects pooling of the cohorts' multivariable low-Mg log HRs."""
    chosen = estimates[
        (estimates["endpoint"] == endpoint) & (estimates["model"] == "multivariable")
    ]
    rows = []
    for result in pool(chosen["coef"], chosen["se"]):
        rows.append(
            {
                "endpoint": endpoint,
                "method": f"meta-analysis, {result.method}",
                "k": result.k,
                "hr": np.exp(result.estimate),
                "hr_lower": np.exp(result.lower),
                "hr_upper": np.exp(result.upper),
                "p": result.p,
                "q": result.q,
                "q_df": result.q_df,
                "q_p": result.q_p,
                "i2_percent": result.i2_percent,
                "tau2": result.tau2,
                "n": int(chosen["n"].sum()),
                "events": int(chosen["events"].sum()),
            }
        )
    return rows


def stratified_row(
    cohorts: dict[str, pd.DataFrame], endpoint: str, settings: AnalysisSettings
) -> dict:
    """Low vs normal Mg in one Cox model of all patients, stratified by cohort."""
    data = pd.concat([d.assign(cohort=name) for name, d in cohorts.items()], ignore_index=True)
    terms: list[Term] = [grouping_term("mg_clinical")]
    if data["arm"].nunique() > 1:
        terms.append(Term("arm", "categorical", reference=reference_arm(data, settings)))
    fit = fit_cox(
        data,
        f"{endpoint}_months",
        f"{endpoint}_event",
        terms + covariate_terms(settings),
        strata=("cohort",),
    )
    key = fit.coefficients.set_index("term").reindex([KEY_TERM]).iloc[0]
    return {
        "endpoint": endpoint,
        "method": "Cox stratified by cohort",
        "k": len(cohorts),
        "hr": key["hr"],
        "hr_lower": key["hr_lower"],
        "hr_upper": key["hr_upper"],
        "p": key["p"],
        "n": fit.stats["n"],
        "events": fit.stats["events"],
    }


def pooled_estimates(
    estimates: pd.DataFrame, cohorts: dict[str, pd.DataFrame], settings: AnalysisSettings
) -> pd.DataFrame:
    rows = []
    for endpoint in ENDPOINT_LABELS:
        rows += meta_rows(estimates, endpoint)
        rows.append(stratified_row(cohorts, endpoint, settings))
    return pd.DataFrame(rows).reindex(columns=POOLED_COLUMNS)


def forest_rows(estimates: pd.DataFrame, pooled: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """One row per cohort (multivariable low-Mg HR), then the pooled estimates."""
    cohorts = estimates[
        (estimates["endpoint"] == endpoint) & (estimates["model"] == "multivariable")
    ]
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
                    "label": pooled_rows["method"].str.replace("meta-analysis, ", "pooled, "),
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


def cohort_rows(
    estimates: pd.DataFrame, flows: dict[str, pd.DataFrame], summaries: dict[str, pd.DataFrame]
) -> list[dict]:
    """The overview table: per cohort, patients, low-Mg share and the key HRs."""
    rows = []
    for cohort, flow in flows.items():
        summary = summaries[cohort]
        clinical = summary[(summary["grouping"] == "mg_clinical") & (summary["endpoint"] == "os")]
        n = int(clinical["n"].sum())
        low = int(clinical.loc[clinical["group"] == "low", "n"].sum())
        mine = estimates[estimates["cohort"] == cohort].set_index(["endpoint", "model"])
        hrs = {}
        for endpoint in ENDPOINT_LABELS:
            for model in ("multivariable", "arm=immunotherapy"):
                key = (endpoint, model)
                hrs[f"{endpoint}_{model}"] = _ci(mine.loc[key]) if key in mine.index else "—"
        rows.append(
            {
                "cohort": cohort,
                "rows_read": int(flow["n_before"].iloc[0]),
                "analysed": n,
                "low_percent": f"{100 * low / n:.1f}" if n else "—",
                **hrs,
            }
        )
    return rows


def render_overview(
    cox_tables: dict[str, pd.DataFrame],
    summaries: dict[str, pd.DataFrame],
    flows: dict[str, pd.DataFrame],
    cohorts: dict[str, pd.DataFrame],
    settings: AnalysisSettings,
    generated: str,
) -> tuple[str, dict]:
    """The overview HTML and its tables (cohort_estimates, pooled)."""
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
    environment = Environment(loader=PackageLoader("mgsurv", "templates"), autoescape=True)
    html = environment.get_template("overview.html.j2").render(
        generated=generated,
        cohorts=cohort_rows(estimates, flows, summaries),
        endpoints=endpoints,
        adjusted_for=", ".join(["arm"] + [c["name"] for c in settings.covariates]),
    )
    return html, {"cohort_estimates": estimates, "pooled": pooled}
