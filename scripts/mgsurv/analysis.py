"""All estimates for one endpoint (PFS or OS): the results-contract tables.

For each Mg grouping: Kaplan-Meier curves and medians per group and the log-rank test.
Cox models (model names as in DESIGN.md):

* ``univariable``: each variable alone (each Mg grouping, continuous Mg, arm, covariates);
* ``multivariable``: Mg low vs normal adjusted for arm and the configured covariates;
* ``continuous``: Mg per 0.1 mmol/L higher, adjusted likewise;
* ``arm=<arm>``: Mg low vs normal adjusted for the covariates, within each arm.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mgsurv.cox import Term, fit_cox
from mgsurv.grouping import GROUP_ORDER, GROUPINGS, REFERENCE_GROUP
from mgsurv.km import km_table, median_with_ci
from mgsurv.logrank import logrank

MG_PER = 0.1
MG_CONTINUOUS = Term("mg_mmol_l", "numeric", per=MG_PER, label="mg_per_0.1_mmol_l")


@dataclass(frozen=True)
class AnalysisSettings:
    """What to adjust for: covariate specs from the config and the reference arm."""

    covariates: tuple[dict, ...] = ()
    reference_arm: str | None = None


def grouping_term(grouping: str) -> Term:
    return Term(
        grouping,
        "categorical",
        reference=REFERENCE_GROUP[grouping],
        levels=tuple(GROUP_ORDER[grouping]),
    )


def covariate_terms(settings: AnalysisSettings) -> list[Term]:
    return [
        Term(spec["name"], "numeric")
        if spec["type"] == "numeric"
        else Term(spec["name"], "categorical", reference=spec.get("reference"))
        for spec in settings.covariates
    ]


def kaplan_meier(data: pd.DataFrame, endpoint: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """KM curves (long) and the per-group summary with medians, for every grouping."""
    curves, summary = [], []
    time, event = f"{endpoint}_months", f"{endpoint}_event"
    for grouping in GROUPINGS:
        for group in GROUP_ORDER[grouping]:
            subset = data[data[grouping] == group]
            if subset.empty:
                continue
            curve = km_table(subset[time].to_numpy(), subset[event].to_numpy())
            median, lower, upper = median_with_ci(curve)
            labels = {"endpoint": endpoint, "grouping": grouping, "group": group}
            curves.append(curve.assign(**labels)[list(labels) + list(curve.columns)])
            summary.append(
                {
                    **labels,
                    "n": len(subset),
                    "events": int(subset[event].sum()),
                    "median": median,
                    "median_lower": lower,
                    "median_upper": upper,
                }
            )
    return pd.concat(curves, ignore_index=True), pd.DataFrame(summary)


def logrank_tests(data: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """The overall log-rank test across the groups of each grouping."""
    rows = []
    for grouping in GROUPINGS:
        present = [g for g in GROUP_ORDER[grouping] if (data[grouping] == g).any()]
        result = logrank(data[f"{endpoint}_months"], data[f"{endpoint}_event"], data[grouping])
        rows.append(
            {
                "endpoint": endpoint,
                "grouping": grouping,
                "test": "logrank",
                "groups": " vs ".join(present),
                **result,
                "p_adjusted": float("nan"),
            }
        )
    return pd.DataFrame(rows)


def cox_models(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> pd.DataFrame:
    """Every Cox model of the endpoint, one row per coefficient, labelled by model."""
    time, event = f"{endpoint}_months", f"{endpoint}_event"
    arm = Term("arm", "categorical", reference=settings.reference_arm)
    covariates = covariate_terms(settings)
    several_arms = data["arm"].nunique() > 1
    arm_terms = [arm] if several_arms else []
    mg_clinical = grouping_term("mg_clinical")
    univariable = [grouping_term(g) for g in GROUPINGS] + [MG_CONTINUOUS] + arm_terms + covariates
    models = [("univariable", data, [term]) for term in univariable]
    models += [
        ("multivariable", data, [mg_clinical] + arm_terms + covariates),
        ("continuous", data, [MG_CONTINUOUS] + arm_terms + covariates),
    ]
    if several_arms:
        models += [
            (f"arm={name}", subset, [mg_clinical] + covariates)
            for name, subset in data.groupby("arm", sort=True)
        ]
    tables = [
        fit_cox(subset, time, event, terms).assign(model=model) for model, subset, terms in models
    ]
    table = pd.concat(tables, ignore_index=True).assign(endpoint=endpoint)
    return table[
        ["endpoint", "model"] + [c for c in table.columns if c not in ("endpoint", "model")]
    ]


def analyse_endpoint(
    data: pd.DataFrame, endpoint: str, settings: AnalysisSettings
) -> dict[str, pd.DataFrame]:
    """The km_curves, km_summary, logrank and cox tables of one endpoint."""
    curves, summary = kaplan_meier(data, endpoint)
    return {
        "km_curves": curves,
        "km_summary": summary,
        "logrank": logrank_tests(data, endpoint),
        "cox": cox_models(data, endpoint, settings),
    }
