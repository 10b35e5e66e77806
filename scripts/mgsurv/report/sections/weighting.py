"""Sensitivity analysis for confounding beyond regression adjustment: inverse probability
of treatment weighting (:mod:`mgsurv.analysis.iptw`). What a reader sees: one sentence
comparing the weighted HR of the primary population with the covariate-adjusted one; the
weighted HRs of every arm and endpoint beside the adjusted ones; the love plot and the
weights' distribution (does the weighting balance the covariates, and with which
weights?); and the weighted Kaplan-Meier curves of the primary endpoint with their risk
tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mgsurv.contract import CLINICAL_GROUPING, GROUP_ORDER, KEY_TERM, MULTIVARIABLE
from mgsurv.report.balance import BALANCED_SMD, love_figure, weights_figure
from mgsurv.report.disclosure import format_patients, is_suppressed
from mgsurv.report.drawing import Figures
from mgsurv.report.figures import KmPanel, axis_times, km_panels_figure
from mgsurv.report.formatting import (
    format_ci,
    format_hr,
    format_p,
    in_sentence,
    p_phrase,
    trimming_text,
)
from mgsurv.report.labels import ENDPOINT_LABELS, definition_text, hr_with_ci, variable_name
from mgsurv.report.primary import Treatments, arm_heading, cox_row
from mgsurv.report.sections.by_arm import panel_subsets
from mgsurv.report.sections.survival import min_at_risk, risk_table
from mgsurv.report.tables import Tables, blank_repeats, rows_of, table
from mgsurv.settings import ReportSettings

WEIGHTED_TEST = "Weighted Cox (robust)"
QUANTILES = ("min", "median", "max")


def _adjusted_row(tables: Tables, endpoint: str, subset: str, arms: Treatments):
    """The covariate-adjusted low-Mg row beside a weighted one: the arm's own model, or
    the multivariable model of a single-arm cohort."""
    model = MULTIVARIABLE if arms.single_arm else subset
    return cox_row(tables["cox"], endpoint, model, KEY_TERM)


def balance_label(row: pd.Series) -> str:
    """'Age', 'Sex: female', 'PD-L1 TPS: ≥50%'."""
    name = variable_name(str(row["variable"]))
    return f"{name}: {definition_text(str(row['level']))}" if row["level"] else name


def labelled(balance: pd.DataFrame) -> pd.DataFrame:
    """iptw_balance rows with the label the love plot shows."""
    return balance.assign(label=[balance_label(row) for _, row in balance.iterrows()])


def _panels(tables: Tables, arms: Treatments) -> list[tuple[str, str]]:
    """(subset, heading) of the weighted subsets, the immunotherapy arm first."""
    return [(subset, arm_heading(arm, arms)) for subset, arm in panel_subsets(arms, tables)]


def weighting_section(
    tables: Tables, arms: Treatments, settings: ReportSettings, figures: Figures
) -> dict[str, Any]:
    """The IPTW subsection: sentence, HR table, love plot, weights and weighted curves; a
    note when not computed."""
    weighted = tables["iptw_cox"]
    if weighted.empty:
        switched_off = settings.config.get("iptw", {}) is None
        return {
            "note": "Not computed (iptw: null in the config)." if switched_off else "Not computed.",
            "table": None,
        }
    endpoint = settings.primary.endpoint
    panels = _panels(tables, arms)
    result = {
        "note": "",
        "text": _sentence(tables, arms, settings, panels[0]),
        "table": _hr_table(tables, arms, panels),
        "trimming": "The weights were " + trimming_text(settings.config) + ".",
        "balanced": f"{BALANCED_SMD:g}",
        "km_endpoint": ENDPOINT_LABELS.get(endpoint, endpoint).lower(),
        "love": None,
        "weights": None,
        "hidden": False,
        "km": None,
    }
    balance = rows_of(tables["iptw_balance"], endpoint=endpoint)
    shown = [(s, h) for s, h in panels if not rows_of(balance, subset=s).empty]
    if shown:
        love_panels = [(heading, labelled(rows_of(balance, subset=s))) for s, heading in shown]
        result["love"] = figures.add(
            f"iptw-balance-{endpoint}",
            love_figure(love_panels, "Covariate balance before and after weighting"),
        )
        weights = rows_of(tables["iptw_weights"], endpoint=endpoint)
        hidden = weights["n"].map(is_suppressed).astype(bool)
        shared = weights[~hidden]
        result["hidden"] = bool(hidden.any())
        if not shared.empty:
            result["weights"] = figures.add(
                f"iptw-weights-{endpoint}",
                weights_figure(shared, dict(shown), "Stabilised weights per arm and Mg group"),
            )
        result["weights_table"] = _weights_table(weights, dict(shown))
        result["km"] = _km_figure(tables, arms, settings, figures, shown)
    return result


def _sentence(
    tables: Tables, arms: Treatments, settings: ReportSettings, primary: tuple[str, str]
) -> str:
    """The primary population's weighted HR beside its adjusted one, and the balance."""
    endpoint = settings.primary.endpoint
    subset, heading = primary
    label = ENDPOINT_LABELS.get(endpoint, endpoint).lower()
    found = rows_of(tables["iptw_cox"], endpoint=endpoint, subset=subset)
    population = "all patients" if arms.single_arm else f"the {in_sentence(heading)} arm"
    if found.empty or not np.isfinite(float(found["hr"].iloc[0])):
        why = found["note"].iloc[0] if len(found) else "no weighted estimate"
        return f"No weighted hazard ratio in {population} on {label}: {why}."
    row = found.iloc[0]
    adjusted = _adjusted_row(tables, endpoint, subset, arms)
    balance = rows_of(tables["iptw_balance"], endpoint=endpoint, subset=subset)
    before, after = balance["smd"].abs().max(), balance["smd_weighted"].abs().max()
    ci = format_ci(row["hr_lower"], row["hr_upper"]).strip("()")
    verdict = "balanced" if after < BALANCED_SMD else f"not all balanced (|SMD| ≥ {BALANCED_SMD:g})"
    return (
        f"Weighted for the covariates by stabilised inverse probability weights (a logistic"
        f" propensity model of low Mg), low vs normal serum Mg on {label} in {population}:"
        f" HR {format_hr(row['hr'])} (robust 95% CI {ci}),"
        f" {p_phrase(row['p'])}, against {hr_with_ci(adjusted)} from the Cox model"
        f" adjusted for the same covariates. The largest absolute standardised mean"
        f" difference of a covariate is {after:.3f} after weighting ({before:.3f} before):"
        f" the covariates are {verdict} after weighting. Agreement of the two estimates"
        " means that the way of adjusting does not drive the result; neither removes"
        " confounding by what was not measured (see the E-value)."
    )


def _hr_table(tables: Tables, arms: Treatments, panels: list[tuple[str, str]]):
    """Every endpoint and arm: the weighted HR (or why there is none) beside the adjusted
    one."""
    rows = []
    for endpoint in dict.fromkeys(tables["iptw_cox"]["endpoint"]):
        for subset, heading in panels:
            found = rows_of(tables["iptw_cox"], endpoint=endpoint, subset=subset)
            if found.empty:
                continue
            row = found.iloc[0]
            estimable = np.isfinite(float(row["hr"]))
            rows.append(
                [
                    ENDPOINT_LABELS.get(endpoint, endpoint),
                    heading,
                    f"{format_patients(row['n'])} ({format_patients(row['events'])})",
                    hr_with_ci(row) if estimable else f"NA: {row['note']}",
                    format_p(row["p"]) if estimable else "NA",
                    hr_with_ci(_adjusted_row(tables, endpoint, subset, arms)),
                ]
            )
    return table(
        "Low vs normal serum Mg, weighted by inverse probability of treatment weights",
        [
            "Endpoint",
            "Arm",
            "Patients (events)",
            "Weighted HR (95% CI)",
            "p",
            "Adjusted HR (95% CI)",
        ],
        blank_repeats(rows),
        2,
        notes=[
            "Weighted: the Cox model of low vs normal Mg with stabilised inverse probability"
            " weights, its CI and p from the robust (sandwich) SE; adjusted: the arm's Cox"
            " model with the covariates as terms (complete cases)."
        ],
    )


def _weights_table(weights: pd.DataFrame, headings: dict[str, str]):
    """Per arm and Mg group: patients, effective n and the weights' range; for a group
    below the sharing threshold only its count, as "<k" (its effective n and quantiles
    would narrow it down)."""
    rows = []
    for subset, heading in headings.items():
        for _, row in rows_of(weights, subset=subset).iterrows():
            hidden = is_suppressed(row["n"])
            numbers = [f"{row['effective_n']:.1f}", *(f"{row[q]:.3f}" for q in QUANTILES)]
            rows.append(
                [
                    heading,
                    f"{row['group']} Mg",
                    format_patients(row["n"]),
                    *(["–"] * len(numbers) if hidden else numbers),
                    "–" if hidden else format_patients(row["n_trimmed"]),
                ]
            )
    return table(
        "Stabilised weights per arm and Mg group",
        ["Arm", "Group", "Patients", "Effective n", "Smallest", "Median", "Largest", "Trimmed"],
        blank_repeats(rows),
        2,
    )


def _km_figure(
    tables: Tables,
    arms: Treatments,
    settings: ReportSettings,
    figures: Figures,
    shown: list[tuple[str, str]],
) -> dict[str, Any] | None:
    """The weighted curves of the primary endpoint, a panel per arm, the risk tables
    counting patients (unweighted)."""
    endpoint = settings.primary.endpoint
    label = ENDPOINT_LABELS.get(endpoint, endpoint)
    groups = list(GROUP_ORDER[CLINICAL_GROUPING])
    panels = []
    for subset, heading in shown:
        km = rows_of(tables["iptw_km"], endpoint=endpoint, subset=subset)
        if km.empty:
            continue
        curves = pd.DataFrame(
            {
                "group": km["group"],
                "time": km["time"],
                "n_risk": km["patients_at_risk"],
                "n_event": km["patients_with_event"],
                "n_censor": km["patients_censored"],
                "surv": km["surv"],
                "lower": km["surv"],
                "upper": km["surv"],
            }
        )
        weights = rows_of(tables["iptw_weights"], endpoint=endpoint, subset=subset)
        summary = pd.DataFrame({"group": weights["group"], "n": weights["n"], "median": np.nan})
        cox = rows_of(tables["iptw_cox"], endpoint=endpoint, subset=subset)
        p = float(cox["p"].iloc[0]) if len(cox) else None
        panels.append(KmPanel(curves, summary, p, heading, test=WEIGHTED_TEST))
    if not panels:
        return None
    minimum = min_at_risk(settings)
    risk_times = axis_times(
        pd.concat([p.curves for p in panels]), settings.risk_table_times, minimum
    )
    risk_tables = [
        risk_table(panel.curves, groups, risk_times)
        | {"caption": f"{label}, {panel.title}, weighted curves: numbers of patients (unweighted)"}
        for panel in panels
    ]
    figure = km_panels_figure(panels, risk_times, min_at_risk=minimum)
    return figures.add(f"iptw-km-{endpoint}", figure) | {"tables": risk_tables}
