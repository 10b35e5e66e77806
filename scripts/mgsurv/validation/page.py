"""The validation study's page (results/validation/validation.html): what the simulated
replicates say about the analysis, as figures and tables, self-contained like the report.

Built only from the summaries of :mod:`mgsurv.validation.summary`: type-I errors under the
null with their binomial bands (the optimal cut-point's naive p beside its corrected
ones), bias, empirical SE and coverage of the low-Mg log-HR per scenario, and power
against cohort size with the size reaching 80%.
"""

from __future__ import annotations

import math
import textwrap

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from matplotlib.figure import Figure

from mgsurv.report.figures import OKABE_ITO, figure_svg, wrapped
from mgsurv.report.labels import ENDPOINT_ABBREVIATIONS
from mgsurv.validation.scenarios import (
    CONFOUNDING,
    EFFECT_HR,
    MISSING_COVARIATES,
    NON_PROPORTIONAL,
    NULL_SCENARIO,
    Scenario,
)
from mgsurv.validation.summary import ALPHA, CONF_LEVEL, ESTIMAND_LABELS, POWER_TARGET, TESTS

MARKERS = {"pfs": "o", "os": "s"}
BAND_COLOUR = "#dddddd"


def _endpoint_offsets(endpoints) -> dict[str, float]:
    return {e: 0.15 * (i - (len(endpoints) - 1) / 2) for i, e in enumerate(endpoints)}


def _point(ax, x, y: float, endpoint: str, colour: str, labelled: bool) -> None:
    """One endpoint's marker on a row (labelled on the first row, for the legend)."""
    label = ENDPOINT_ABBREVIATIONS.get(endpoint, endpoint) if labelled else None
    ax.plot(x, [y], MARKERS.get(endpoint, "o"), color=colour, label=label)


def rates_figure(rejections: pd.DataFrame, scenario: str) -> Figure:
    """Type-I error of every test under the null scenario: a point per endpoint, the
    binomial band of a true 5% shaded, 5% marked."""
    rows = rejections[rejections["scenario"] == scenario]
    tests = [t for t in TESTS if t in set(rows["test"])]
    fig = Figure(figsize=(7.0, 0.45 * len(tests) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    endpoints = list(dict.fromkeys(rows["endpoint"]))
    offsets = _endpoint_offsets(endpoints)
    for y, test in enumerate(tests):
        mine = rows[rows["test"] == test]
        band = mine[["band_lower", "band_upper"]].iloc[0]
        ax.fill_betweenx(
            [y - 0.35, y + 0.35], band["band_lower"], band["band_upper"], color=BAND_COLOUR, lw=0
        )
        for colour, endpoint in zip(OKABE_ITO, endpoints, strict=False):
            point = mine[mine["endpoint"] == endpoint]
            if len(point):
                _point(ax, point["rate"], y + offsets[endpoint], endpoint, colour, y == 0)
    ax.axvline(ALPHA, color="#555555", lw=0.8)
    ax.set_yticks(range(len(tests)), [textwrap.fill(TESTS[t], 36) for t in tests], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(0.12, float(rows["rate"].max()) * 1.1))
    ax.set_xlabel("Rejection rate at p < 0.05 under the null")
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(loc="outside lower center", ncols=len(endpoints), frameon=False, fontsize=8)
    return fig


def coverage_figure(estimates: pd.DataFrame) -> Figure:
    """Coverage of the 95% CI of each estimand with a truth, per scenario and endpoint,
    with the binomial band of a true 95%."""
    rows = estimates[estimates["coverage"].notna()]
    labels = list(dict.fromkeys(zip(rows["scenario"], rows["estimand"], strict=True)))
    fig = Figure(figsize=(7.0, 0.4 * len(labels) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    endpoints = list(dict.fromkeys(rows["endpoint"]))
    offsets = _endpoint_offsets(endpoints)
    for y, (scenario, estimand) in enumerate(labels):
        mine = rows[(rows["scenario"] == scenario) & (rows["estimand"] == estimand)]
        for colour, endpoint in zip(OKABE_ITO, endpoints, strict=False):
            point = mine[mine["endpoint"] == endpoint]
            if len(point):
                band = point.iloc[0]
                ax.fill_betweenx(
                    [y + offsets[endpoint] - 0.07, y + offsets[endpoint] + 0.07],
                    band["coverage_band_lower"],
                    band["coverage_band_upper"],
                    color=BAND_COLOUR,
                    lw=0,
                )
                _point(ax, point["coverage"], y + offsets[endpoint], endpoint, colour, y == 0)
    ax.axvline(CONF_LEVEL, color="#555555", lw=0.8)
    ax.set_yticks(range(len(labels)), [f"{s}: {ESTIMAND_LABELS[e]}" for s, e in labels], fontsize=8)
    ax.invert_yaxis()
    low = min(0.85, float(rows["coverage"].min()) - 0.02)
    ax.set_xlim(low, 1.0)
    ax.set_xlabel("Coverage of the 95% CI of the low-Mg log-HR")
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(loc="outside lower center", ncols=len(endpoints), frameon=False, fontsize=8)
    return fig


def power_figure(curve: pd.DataFrame, sizes_for_80: dict[str, float]) -> Figure:
    """Power of the low-Mg test within the immunotherapy arm against cohort size (log
    scale), per endpoint, with 80% marked and the size reaching it."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for colour, (endpoint, rows) in zip(
        OKABE_ITO, curve.groupby("endpoint", sort=False), strict=False
    ):
        label = ENDPOINT_ABBREVIATIONS.get(endpoint, endpoint)
        ax.plot(
            rows["n"], rows["power"], marker=MARKERS.get(endpoint, "o"), color=colour, label=label
        )
        needed = sizes_for_80.get(endpoint, math.nan)
        if math.isfinite(needed):
            ax.axvline(needed, color=colour, lw=0.8, ls="--")
    ax.axhline(POWER_TARGET, color="#555555", lw=0.8)
    ax.set_xscale("log")
    sizes = sorted(set(curve["n"]))
    ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax.minorticks_off()
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Patients in the cohort (both arms, 1:1)")
    ax.set_ylabel("Power at p < 0.05")
    ax.set_title(
        wrapped(f"Detecting low-Mg HR {EFFECT_HR} within the immunotherapy arm (adjusted Cox)"),
        fontsize=10,
    )
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=8)
    return fig


def _number(value: float, digits: int = 3) -> str:
    return "NA" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _percent(value: float) -> str:
    return "NA" if value is None or pd.isna(value) else f"{100 * value:.1f}%"


def _band(lower: float, upper: float) -> str:
    return "" if pd.isna(lower) else f"{_percent(lower)} to {_percent(upper)}"


def _size_text(needed: float, smallest: int) -> str:
    if not math.isfinite(needed):
        return "more than the largest size studied"
    if needed <= smallest:
        return f"at most {smallest:,}"
    return f"about {round(needed, -1):,.0f}"


def _verdict(value) -> str:
    return "" if value is pd.NA or value is None or pd.isna(value) else ("yes" if value else "NO")


def estimate_rows(estimates: pd.DataFrame) -> list[dict]:
    """The bias and coverage table, formatted."""
    return [
        {
            "scenario": row["scenario"],
            "endpoint": ENDPOINT_ABBREVIATIONS.get(row["endpoint"], row["endpoint"]),
            "estimate": ESTIMAND_LABELS[row["estimand"]],
            "replicates": row["replicates"],
            "truth": "none" if pd.isna(row["truth"]) else f"{row['truth']:.3f}",
            "mean": _number(row["mean"]),
            "bias": "NA"
            if pd.isna(row["bias"])
            else f"{row['bias']:+.3f} ({row['bias_mcse']:.3f})",
            "empirical_se": _number(row["empirical_se"]),
            "model_se": _number(row["model_se"]),
            "coverage": _percent(row["coverage"]),
            "band": _band(row["coverage_band_lower"], row["coverage_band_upper"]),
            "in_band": _verdict(row["coverage_in_band"]),
        }
        for row in estimates.to_dict("records")
    ]


def rejection_rows(rejections: pd.DataFrame) -> list[dict]:
    """The rejection-rate table, formatted."""
    return [
        {
            "scenario": row["scenario"],
            "endpoint": ENDPOINT_ABBREVIATIONS.get(row["endpoint"], row["endpoint"]),
            "test": row["description"],
            "replicates": row["replicates"],
            "rate": _percent(row["rate"]),
            "band": _band(row["band_lower"], row["band_upper"]),
            "in_band": _verdict(row["in_band"]),
        }
        for row in rejections.to_dict("records")
    ]


def _estimate(estimates: pd.DataFrame, scenario: str, endpoint: str, estimand: str) -> str:
    """'bias +0.112, coverage 83.0%' of one estimand (NA where not estimated)."""
    found = estimates[
        (estimates["scenario"] == scenario)
        & (estimates["endpoint"] == endpoint)
        & (estimates["estimand"] == estimand)
    ]
    if found.empty or pd.isna(found["bias"].iloc[0]):
        return "NA"
    row = found.iloc[0]
    return f"bias {row['bias']:+.3f}, coverage {_percent(row['coverage'])}"


def sensitivity_findings(estimates: pd.DataFrame, scenarios: dict[str, Scenario]) -> list[str]:
    """One sentence per endpoint for each scenario that shows why a sensitivity analysis
    exists: confounding (unadjusted vs adjusted vs weighted), covariates missing at random
    (complete cases vs multiple imputation)."""
    compared = {
        CONFOUNDING: ("io_unadjusted", "io", "io_iptw"),
        MISSING_COVARIATES: ("io", "io_mi"),
    }
    found = []
    for scenario, estimands in compared.items():
        if scenario not in scenarios:
            continue
        for endpoint in dict.fromkeys(estimates["endpoint"]):
            parts = "; ".join(
                f"{ESTIMAND_LABELS[e]} {_estimate(estimates, scenario, endpoint, e)}"
                for e in estimands
            )
            abbreviation = ENDPOINT_ABBREVIATIONS.get(endpoint, endpoint)
            found.append(f"{scenario}, {abbreviation}: {parts}.")
    return found


def render_validation(
    estimates: pd.DataFrame,
    rejections: pd.DataFrame,
    curve: pd.DataFrame,
    sizes_for_80: dict[str, float],
    scenarios: dict[str, Scenario],
    settings: dict,
    generated: str,
) -> str:
    """The whole page as one self-contained HTML5 document."""
    null = rejections[rejections["scenario"] == NULL_SCENARIO]
    cut = null[null["test"].str.startswith("cutpoint")].set_index("test")["rate"]
    type_one = null[null["test"] != "cutpoint_naive"]  # the naive p is shown apart
    coverage = estimates[estimates["coverage"].notna()]
    context = {
        "generated": generated,
        "settings": settings,
        "scenarios": [
            {"name": s.name, "n": s.n, "description": s.description} for s in scenarios.values()
        ],
        "rates_svg": figure_svg(rates_figure(rejections, NULL_SCENARIO), "rates-"),
        "coverage_svg": figure_svg(coverage_figure(estimates), "coverage-")
        if len(coverage)
        else "",
        "power_svg": figure_svg(power_figure(curve, sizes_for_80), "power-") if len(curve) else "",
        "estimates": estimate_rows(estimates),
        "rejections": rejection_rows(rejections),
        "power": [
            {
                "endpoint": ENDPOINT_ABBREVIATIONS.get(r["endpoint"], r["endpoint"]),
                "n": f"{r['n']:,}",
                "power": _percent(r["power"]),
                "replicates": r["replicates"],
            }
            for r in curve.to_dict("records")
        ],
        "sizes_for_80": {
            ENDPOINT_ABBREVIATIONS.get(e, e): _size_text(
                n, curve[curve["endpoint"] == e]["n"].min()
            )
            for e, n in sizes_for_80.items()
        },
        "type_one_in_band": int(type_one["in_band"].sum()),
        "type_one_total": len(type_one),
        "coverage_in_band": int(coverage["coverage_in_band"].sum()),
        "coverage_total": len(coverage),
        "cutpoint": {k: _percent(v) for k, v in cut.items()},
        "ph_detection": {
            ENDPOINT_ABBREVIATIONS.get(r["endpoint"], r["endpoint"]): _percent(r["rate"])
            for r in rejections.to_dict("records")
            if r["scenario"] == NON_PROPORTIONAL and r["test"] == "ph"
        },
        "sensitivity": sensitivity_findings(estimates, scenarios),
        "alpha": ALPHA,
        "effect_hr": EFFECT_HR,
        "effect_months": scenarios[NON_PROPORTIONAL].params["low_mg_effect_months"]
        if NON_PROPORTIONAL in scenarios
        else None,
    }
    environment = Environment(
        loader=PackageLoader("mgsurv.validation", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
    )
    return environment.get_template("validation.html.j2").render(**context)
