"""The multi-cohort overview page (results/index.html): the pooled answer to the primary
question first, then each cohort's estimates side by side, a forest plot per endpoint of
the cohorts' estimates within immunotherapy with the pooled ones, the pooled estimates of
every population and method with their heterogeneity, and the cohorts that failed.

With ``report_min_count`` = k, counts of 1 to k - 1 patients show as "<k", a cohort's low-Mg
share is hidden when a Mg group is that small, and estimates of such groups are neither
shown nor pooled (:mod:`mgsurv.overview.pooled`), as in each cohort's report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from mgsurv.contract import (
    ALL_PATIENTS,
    CLINICAL_GROUPING,
    ENDPOINTS,
    IMMUNOTHERAPY_OVER_OTHER,
    LOW,
    OVERVIEW_POPULATIONS,
    REPORT_FILE,
    SUBSET_COLUMN,
    WITHIN_IMMUNOTHERAPY,
    WITHIN_OTHER,
)
from mgsurv.overview.pooled import (
    MIN_GROUP_EVENTS,
    CohortTables,
    cohort_estimates,
    pooled_estimates,
)
from mgsurv.report.disclosure import SUPPRESSED, format_patients, is_suppressed, suppressing
from mgsurv.report.forest import POOLED, PREDICTION, forest_svg
from mgsurv.report.formatting import in_sentence, p_phrase
from mgsurv.report.labels import ENDPOINT_LABELS, hr_text, hr_with_ci
from mgsurv.report.primary import ARM_SOURCE, CONTRASTS, INTERACTION_SOURCE
from mgsurv.settings import OverviewSettings
from mgsurv.stats.pooling import FIXED, RANDOM_DL, RANDOM_REML_HKSJ

POPULATION_LABELS = {
    WITHIN_IMMUNOTHERAPY: "Within immunotherapy",
    WITHIN_OTHER: "Within the other treatment",
    IMMUNOTHERAPY_OVER_OTHER: "Ratio of the two (interaction)",
}
METHOD_LABELS = {
    RANDOM_REML_HKSJ: "Random effects, REML with Hartung-Knapp-Sidik-Jonkman (primary)",
    RANDOM_DL: "Random effects, DerSimonian-Laird",
    FIXED: "Fixed effect",
}
# Where each cohort's within-arm HR comes from (config primary.model), in words.
PRIMARY_MODELS = {
    ARM_SOURCE: "Cox model of each arm",
    INTERACTION_SOURCE: "Mg × arm interaction model",
}
# The pooled estimate the page leads with, and the forest's short labels of each method.
PRIMARY_METHOD = RANDOM_REML_HKSJ
FOREST_LABELS = {RANDOM_REML_HKSJ: "REML, HKSJ", RANDOM_DL: "DerSimonian-Laird", FIXED: "fixed"}


def primary_endpoint_first(primary_endpoint: str) -> list[str]:
    return [primary_endpoint] + [e for e in ENDPOINTS if e != primary_endpoint]


def pooled_text(row: dict) -> str:
    """'HR 1.61 (1.20–2.16), p = 0.012; 95% prediction interval 0.95–2.72'."""
    if not np.isfinite(row["hr"]):
        return f"not pooled ({row['k']} cohort{'s' * (row['k'] != 1)} to pool)"
    text = hr_text(pd.Series(row))
    if np.isfinite(row["pi_lower"]):
        text += f"; 95% prediction interval {row['pi_lower']:.2f}–{row['pi_upper']:.2f}"
    return text


def heterogeneity_text(row: dict) -> str:
    """'Q = 4.04 on 2 df, p = 0.13; I² = 51% (0–96%); τ² = 0.021' ('' without one)."""
    if pd.isna(row["q"]):
        return ""
    text = f"Q = {row['q']:.2f} on {int(row['q_df'])} df, {p_phrase(row['q_p'])}"
    text += f"; I² = {row['i2_percent']:.0f}%"
    if np.isfinite(row["i2_lower"]):
        text += f" ({row['i2_lower']:.0f}–{row['i2_upper']:.0f}%)"
    if row["method"] != FIXED:
        text += f"; τ² = {row['tau2']:.3g}"
    return text


def estimate_text(row: pd.Series) -> str:
    """A cohort's estimate as the cohort table shows it: the HR, or why it is not pooled."""
    if row["excluded"] and "report_min_count" in row["excluded"]:
        return SUPPRESSED
    if pd.isna(row["hr"]) or not np.isfinite(row["hr"]):
        return f"— ({row['excluded']})"
    text = hr_with_ci(row)
    return f"{text}, not pooled: {row['excluded']}" if row["excluded"] else text


def cohort_rows(
    tables: dict[str, CohortTables], estimates: pd.DataFrame, endpoints: list[str]
) -> list[dict]:
    """The cohorts table: its report, patients read and analysed, low-Mg share (hidden with
    a suppressed group) and, per endpoint, the estimates within each arm."""
    rows = []
    for cohort, mine in tables.items():
        summary = mine.km_summary
        clinical = summary[
            (summary[SUBSET_COLUMN] == ALL_PATIENTS)
            & (summary["grouping"] == CLINICAL_GROUPING)
            & (summary["endpoint"] == endpoints[0])
        ]
        n = int(clinical["n"].sum())
        low = int(clinical.loc[clinical["group"] == LOW, "n"].sum())
        hidden = any(is_suppressed(count) for count in (n, low, n - low))
        own = estimates[estimates["cohort"] == cohort].set_index(["endpoint", "population"])
        rows.append(
            {
                "cohort": cohort,
                "report": f"{cohort}/{REPORT_FILE}",
                "rows_read": format_patients(mine.flow["n_before"].iloc[0]),
                "analysed": format_patients(n),
                "low_percent": SUPPRESSED if hidden else f"{100 * low / n:.1f}" if n else "—",
                "estimates": [
                    estimate_text(own.loc[(endpoint, population)])
                    for endpoint in endpoints
                    for population in (WITHIN_IMMUNOTHERAPY, WITHIN_OTHER)
                ],
            }
        )
    return rows


def forest_rows(estimates: pd.DataFrame, pooled: pd.DataFrame) -> pd.DataFrame:
    """The pooled cohorts' estimates within immunotherapy, the pooled estimates by method
    and the primary method's prediction interval (rows of one endpoint)."""
    cohorts = estimates[estimates["excluded"] == ""]
    methods = pooled.set_index("method").loc[list(METHOD_LABELS)].reset_index()
    primary = methods.iloc[0]
    prediction = pd.DataFrame(
        {
            "label": ["95% prediction interval"],
            "hr": [np.sqrt(primary["pi_lower"] * primary["pi_upper"])],
            "hr_lower": [primary["pi_lower"]],
            "hr_upper": [primary["pi_upper"]],
            "kind": [PREDICTION],
        }
    )
    return pd.concat(
        [
            cohorts.assign(label=cohorts["cohort"], kind="cohort"),
            methods.assign(label="pooled, " + methods["method"].map(FOREST_LABELS), kind=POOLED),
            prediction if np.isfinite(primary["pi_lower"]) else None,
        ],
        ignore_index=True,
    )[["label", "hr", "hr_lower", "hr_upper", "kind"]]


def headline(pooled: pd.DataFrame, settings: OverviewSettings, n_cohorts: int) -> list[str]:
    """The answer on the primary endpoint, a sentence per population."""
    endpoint = settings.primary.endpoint
    mine = pooled[(pooled["endpoint"] == endpoint) & (pooled["method"] == PRIMARY_METHOD)]
    by_population = mine.set_index("population")
    name = CONTRASTS[settings.primary.contrast].name
    first = by_population.loc[WITHIN_IMMUNOTHERAPY]
    sentences = [
        f"Pooled over {first['k']} of {n_cohorts} cohorts, {name} on"
        f" {in_sentence(ENDPOINT_LABELS[endpoint])} within the immunotherapy-treated patients:"
        f" {pooled_text(first.to_dict())}."
    ]
    sentences.append(
        f"Within the other treatment: {pooled_text(by_population.loc[WITHIN_OTHER].to_dict())}."
    )
    ratio = by_population.loc[IMMUNOTHERAPY_OVER_OTHER].to_dict()
    sentences.append(
        "Ratio of the two hazard ratios (immunotherapy over the other treatment, the Mg × arm"
        f" interaction): {pooled_text(ratio)}."
    )
    return sentences


def endpoint_sections(
    estimates: pd.DataFrame, pooled: pd.DataFrame, settings: OverviewSettings, endpoints: list[str]
) -> list[dict]:
    """Per endpoint: the forest plot, the pooled estimates and the cohorts not pooled."""
    sections = []
    for endpoint in endpoints:
        label = ENDPOINT_LABELS[endpoint]
        own = estimates[estimates["endpoint"] == endpoint]
        pooled_own = pooled[pooled["endpoint"] == endpoint]
        within = own[own["population"] == WITHIN_IMMUNOTHERAPY]
        pooled_within = pooled_own[pooled_own["population"] == WITHIN_IMMUNOTHERAPY]
        rows = []
        for population in OVERVIEW_POPULATIONS:
            for method in METHOD_LABELS:
                row = pooled_own[
                    (pooled_own["population"] == population) & (pooled_own["method"] == method)
                ].iloc[0]
                rows.append(
                    {
                        "population": POPULATION_LABELS[population],
                        "method": METHOD_LABELS[method],
                        "k": int(row["k"]),
                        "estimate": pooled_text(row.to_dict()),
                        "heterogeneity": heterogeneity_text(row.to_dict()),
                    }
                )
        excluded = own[own["excluded"] != ""]
        not_pooled = [
            {
                "cohort": cohort,
                "reason": reason,
                "populations": ", ".join(POPULATION_LABELS[p].lower() for p in rows["population"]),
            }
            for (cohort, reason), rows in excluded.groupby(["cohort", "excluded"], sort=False)
        ]
        sections.append(
            {
                "endpoint": endpoint,
                "label": label,
                "figure": forest_svg(
                    forest_rows(within, pooled_within),
                    f"{label}, within immunotherapy",
                    id_prefix=f"forest-{endpoint}-",
                    xlabel=CONTRASTS[settings.primary.contrast].axis,
                ),
                "pooled": rows,
                "excluded": not_pooled,
            }
        )
    return sections


def render_overview(
    tables: dict[str, CohortTables],
    failed: dict[str, str],
    settings: OverviewSettings,
    generated: str,
) -> tuple[str, dict[str, pd.DataFrame]]:
    """The overview HTML and its tables (cohort_estimates, pooled), from the tables of each
    cohort that completed; ``failed`` names each cohort that did not, with its message."""
    estimates = cohort_estimates(tables, settings)
    pooled = pooled_estimates(estimates)
    endpoints = primary_endpoint_first(settings.primary.endpoint)
    environment = Environment(
        loader=PackageLoader("mgsurv.overview", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
    )
    with suppressing(settings.report_min_count):
        html = environment.get_template("overview.html.j2").render(
            generated=generated,
            headline=headline(pooled, settings, len(tables) + len(failed)),
            failed=failed,
            cohorts=cohort_rows(tables, estimates, endpoints),
            endpoint_labels=[ENDPOINT_LABELS[e] for e in endpoints],
            endpoints=endpoint_sections(estimates, pooled, settings, endpoints),
            adjusted_for=", ".join(c["name"] for c in settings.covariates) or "nothing",
            primary_model=PRIMARY_MODELS[settings.primary.model],
            min_events=MIN_GROUP_EVENTS,
            min_count=settings.report_min_count,
        )
    return html, {"cohort_estimates": estimates, "pooled": pooled}
