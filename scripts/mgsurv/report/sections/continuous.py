"""Serum Mg as a continuous variable: the restricted cubic spline's hazard-ratio curve
over the distribution of observed values, its test of non-linearity, and the exploratory
data-driven cut-point with its corrected p-value."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mgsurv.contract import CUTPOINT_GROUPING, MG_COLUMN, SPLINE, SUBSET_TABLES, parse_term
from mgsurv.report.disclosure import format_patients, is_suppressed, min_count
from mgsurv.report.drawing import Figures
from mgsurv.report.figures import bin_width, cutpoint_figure, spline_figure
from mgsurv.report.formatting import (
    format_count,
    format_mg,
    format_number,
    format_p,
    in_sentence,
    p_phrase,
    word_list,
)
from mgsurv.report.labels import (
    ENDPOINT_LABELS,
    EXPLORATORY,
    adjusted_for,
    knot_count,
)
from mgsurv.report.tables import Tables, rows_of, slug, table
from mgsurv.settings import ReportSettings


def distribution_note(distribution: pd.DataFrame) -> str:
    """What the histogram under a spline curve shows (binned counts from mg_distribution)."""
    if distribution.empty:
        return ""
    total = format_patients(distribution["n"].sum())
    outlined = (
        f" Outlined bars: bins of 1 to {min_count() - 1} patients, drawn to {min_count()}."
        if distribution["n"].map(is_suppressed).any()
        else ""
    )
    return (
        f" Bars under the curve: the {total} observed serum Mg values in bins of"
        f" {bin_width(distribution[MG_COLUMN]):g} mmol/L (counts only; where they are"
        f" sparse the curve rests on few patients).{outlined}"
    )


def spline_section(
    endpoint: str, label: str, tables: Tables, settings: ReportSettings, figures: Figures
) -> dict[str, Any]:
    """The hazard-ratio curve of serum Mg (spline) and its test of non-linearity."""
    curve = rows_of(tables["spline"], endpoint=endpoint)
    tests = rows_of(tables["nonlinearity"], endpoint=endpoint)
    rows = [
        [
            str(row["knots"]),
            f"{row['reference_mmol_l']:g}",
            format_number(row["statistic"], 2),
            format_count(row["df"]),
            format_p(row["p"]),
            format_patients(row["n"]),
            format_patients(row["events"]),
        ]
        for _, row in tests.iterrows()
    ]
    section = {
        "id": f"spline-{slug(endpoint)}",
        "label": label,
        "figure": None,
        "caption": "",
        "table": table(
            "Likelihood-ratio test of non-linearity (spline against linear serum Mg)",
            ["Knots (mmol/L)", "Reference (mmol/L)", "Chi-square", "df", "p", "n", "Events"],
            rows,
            1,
        ),
    }
    if curve.empty or tests.empty:
        return section
    test = tests.iloc[0]
    threshold = settings.mg_threshold_mmol_l
    covariates = adjusted_for(rows_of(tables["cox"], endpoint=endpoint), SPLINE) or "nothing"
    distribution = tables["mg_distribution"]
    figure = spline_figure(
        curve,
        float(test["reference_mmol_l"]),
        threshold,
        f"{label}: hazard ratio by serum Mg",
        distribution,
    )
    section["figure"] = figures.add(f"spline-{endpoint}", figure)
    section["caption"] = (
        f"{label}: hazard ratio against serum Mg {test['reference_mmol_l']:g} mmol/L from a"
        f" restricted cubic spline with {knot_count(test['knots'])} knots"
        f" ({test['knots']} mmol/L), adjusted for {covariates}. Shaded band: pointwise 95% CI;"
        f" dotted line: clinical threshold ({format_mg(threshold)} mmol/L). Test of non-linearity:"
        f" chi-square {format_number(test['statistic'], 2)} on {format_count(test['df'])} df,"
        f" {p_phrase(test['p'])}.{distribution_note(distribution)}"
    )
    return section


def patients_events(row: pd.Series, side: str) -> str:
    """'14 (13)': the patients and events on one side ('low', 'high') of the cut."""
    return f"{format_patients(row[f'n_{side}'])} ({format_patients(row[f'events_{side}'])})"


def cutpoint_rows(row: pd.Series, endpoint: str) -> list[list[str]]:
    """The cut-point result as (quantity, value) rows; the corrected p is the one to use."""
    return [
        ["Endpoint searched", endpoint],
        ["Cut-point (low: serum Mg at or below it)", f"{format_mg(row['cutpoint_mmol_l'])} mmol/L"],
        ["Cuts searched (quantiles of serum Mg)", f"{row['minprop']:g} to {row['maxprop']:g}"],
        ["Patients (events) at or below the cut", patients_events(row, "low")],
        ["Patients (events) above the cut", patients_events(row, "high")],
        ["Maximally selected standardised log-rank statistic", format_number(row["statistic"], 2)],
        [
            "p corrected for the search (Lausen & Schumacher 1992): the p-value to report",
            format_p(row["p_lau92"]),
        ],
        [
            "p, improved Bonferroni bound (Lausen, Sauerbrei & Schumacher 1994)",
            format_p(row["p_lau94"]),
        ],
        [
            "Naive p of the chosen cut: inflated by the search, not a valid p-value",
            format_p(row["p_naive"]),
        ],
    ]


def same_split(tables: Tables) -> bool:
    """Whether the data-driven cut splits the patients exactly as the pre-specified
    threshold does (cutpoint.tsv's same_split_as_threshold)."""
    summary = tables["cutpoint"]
    return bool(len(summary)) and bool(summary["same_split_as_threshold"].iloc[0])


def without_cutpoint_grouping(tables: Tables) -> Tables:
    """The tables without the cut-point grouping's results (its Kaplan-Meier, log-rank,
    RMST, follow-up rows and its Cox model): what the report shows when the cut makes the
    clinical groups' split, whose results they repeat."""
    out = dict(tables)
    for name in SUBSET_TABLES:
        out[name] = tables[name][tables[name]["grouping"].astype(str) != CUTPOINT_GROUPING]
    cox = tables["cox"]
    out["cox"] = cox[[parse_term(t).variable != CUTPOINT_GROUPING for t in cox["term"].astype(str)]]
    models = tables["cox_models"]
    out["cox_models"] = models[models["terms"].astype(str) != CUTPOINT_GROUPING]
    return out


def threshold_cut(candidates: pd.DataFrame, threshold: float) -> float:
    """The candidate cut that makes the threshold's split (low: Mg below the threshold;
    low at a cut: Mg at or below it): the largest candidate below the threshold, which the
    search then scores like any other cut. The threshold itself when it lies outside the
    searched cuts (below the first or above the last: Mg values between the last cut and
    the threshold would make another split)."""
    cuts = candidates["cut"]
    if cuts.empty or not cuts.min() < threshold <= cuts.max():
        return threshold
    return float(cuts[cuts < threshold].max())


def cutpoint_section(tables: Tables, settings: ReportSettings, figures: Figures) -> dict[str, Any]:
    """The exploratory data-driven cut-point: the cut, its corrected p and the search; when
    it splits the patients as the threshold does, one line saying so (its results are
    not repeated)."""
    threshold = settings.mg_threshold_mmol_l
    section = {"threshold": f"{format_mg(threshold)}", "found": not tables["cutpoint"].empty}
    if tables["cutpoint"].empty:
        return section
    row = tables["cutpoint"].iloc[0]
    endpoint = ENDPOINT_LABELS.get(str(row["endpoint"]), str(row["endpoint"]))
    candidates = tables["cutpoint_candidates"]
    at = threshold_cut(candidates, threshold)
    same = (
        f"It puts the same {format_patients(row['n_low'])} patients in the low group as the"
        f" pre-specified threshold (below {format_mg(threshold)} mmol/L), so its Kaplan-Meier"
        " curves, tests and hazard ratios are those of the clinical groups, shown once, there;"
        " what"
        f" the search adds is the corrected {p_phrase(row['p_lau92'])}."
        if same_split(tables)
        else ""
    )
    return section | {
        "same": same,
        "threshold_cut": format_mg(at),
        "endpoint": in_sentence(endpoint),
        "cut": format_mg(row["cutpoint_mmol_l"]),
        "p_corrected": p_phrase(row["p_lau92"]),
        "p_naive": p_phrase(row["p_naive"]),
        "table": table(
            f"Data-driven cut-point ({EXPLORATORY})",
            ["Quantity", "Value"],
            cutpoint_rows(row, endpoint),
            2,
        ),
        "figure": figures.add(
            f"cutpoint-{row['endpoint']}",
            cutpoint_figure(
                candidates,
                float(row["cutpoint_mmol_l"]),
                threshold,
                at,
                f"{endpoint}: log-rank statistic of each candidate cut",
            ),
        ),
    }


def rcs_knot_percentiles(n_knots: int) -> str:
    """Where rms (Hmisc rcspline.eval) puts n knots: equally spaced quantiles from an outer
    one (0.1 for 3 knots, 0.05 for 4-6, 0.025 for 7 or more) to its complement."""
    outer = 0.1 if n_knots == 3 else 0.05 if n_knots <= 6 else 0.025
    return word_list([f"{100 * q:g}th" for q in np.linspace(outer, 1 - outer, n_knots)])


def spline_methods(tables: Tables) -> dict[str, str] | None:
    """Knots, their percentiles and the adjustment of the spline model (None without it)."""
    if tables["nonlinearity"].empty:
        return None
    n_knots = knot_count(tables["nonlinearity"]["knots"].iloc[0])
    return {
        "knots": str(n_knots),
        "percentiles": rcs_knot_percentiles(n_knots),
        "covariates": adjusted_for(tables["cox"], SPLINE) or "nothing",
    }
