"""The report's figures as inline-ready, byte-reproducible SVG.

* Kaplan-Meier: one endpoint x grouping, a step curve per group with its 95% CI band,
  censor marks, dashed median lines, the log-rank p and a number-at-risk table;
* spline: the hazard ratio by serum Mg with its 95% CI band, on a log scale;
* cut-point: the standardised log-rank statistic of every candidate cut;
* Schoenfeld: a Cox term's scaled Schoenfeld residuals against time, with a running mean.

The SVG is returned as text (no XML prolog, fonts drawn as paths, no date, ids prefixed)
so the report can inline several figures in one HTML page without external fonts, files
or clashing ids, and two runs on the same input give identical bytes.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FormatStrFormatter

# Headless, file-only rendering; pyplot switches to it as no figure exists yet.
matplotlib.use("Agg")

# Okabe & Ito (2008) colour-blind-safe palette (black left out: it reads as an axis line).
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
# Line styles as a second channel so groups stay distinct in greyscale print.
LineStyle = str | tuple[int, tuple[int, ...]]
LINE_STYLES: tuple[LineStyle, ...] = (
    "-",
    "--",
    "-.",
    ":",
    (0, (5, 1, 1, 1, 1, 1)),
    (0, (1, 3)),
    (0, (8, 2)),
)
CI_ALPHA = 0.15
P_FLOOR = 0.001
# Room either side of the time range: the first risk-table column stays clear of the
# group labels and censor marks at the last time are not clipped.
X_PAD = 0.03
# Deterministic SVG: fixed hash salt for clip-path ids, text drawn as paths (no font
# files needed), and no metadata (no date, no creator URL).
SVG_RC = {"svg.hashsalt": "mgsurv", "svg.fonttype": "path"}
SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
# Size of the small single-panel figures (spline, cut-point, Schoenfeld), in inches.
SMALL_FIGURE = (6.4, 4.2)
REFERENCE_LINE = {"color": "#555555", "lw": 0.8}
# Hazard-ratio axis ticks: the ones inside the plotted range are used (log scale).
HR_TICKS = (0.1, 0.2, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 5.0, 10.0)
# Scatter plots keep at most this many points (vector SVG stays a few hundred kB).
MAX_SCATTER_POINTS = 2000
TIME_TICKS = 6
# Characters per line of a figure title before it wraps (long grouping names).
TITLE_WIDTH = 75


def format_p(p: float) -> str:
    """Format a p-value as '<0.001' or with 3 significant digits ('NA' if missing)."""
    if p is None or math.isnan(p):
        return "NA"
    if p < P_FLOOR:
        return f"<{P_FLOOR:g}"
    return f"{p:#.3g}"


def p_phrase(p: float | None) -> str:
    """A p-value as words in a sentence: 'p = 0.0123' or 'p < 0.001'."""
    text = format_p(float("nan") if p is None else p)
    return f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"


def group_order(curves: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Groups in the order of the summary table, then any only present in the curves."""
    groups = list(dict.fromkeys(summary["group"].astype(str)))
    return groups + [g for g in dict.fromkeys(curves["group"].astype(str)) if g not in groups]


def group_colour(index: int) -> str:
    """Colour of the index-th group; the palette repeats if there are more groups."""
    return OKABE_ITO[index % len(OKABE_ITO)]


def number_at_risk(group_curve: pd.DataFrame, t: float) -> int:
    """Patients still at risk at time t: n_risk of the first curve row with time >= t.

    A curve row carries the number at risk just before its time, and nobody enters or
    leaves between two observed times, so this is exact. When t is after the group's last
    observed time nobody is followed any more and the answer is 0 (shown as 0 rather
    than blank so every column of the table is filled).
    """
    later = group_curve.loc[group_curve["time"] >= t, "n_risk"]
    return int(later.iloc[0]) if len(later) else 0


def with_origin(group_curve: pd.DataFrame) -> pd.DataFrame:
    """Prepend the (time 0, survival 1) point that survfit-style tables leave out."""
    origin = pd.DataFrame({"time": [0.0], "surv": [1.0], "lower": [1.0], "upper": [1.0]})
    body = group_curve[["time", "surv", "lower", "upper"]].astype(float)
    return pd.concat([origin, body], ignore_index=True)


def draw_group(
    ax: Axes, group_curve: pd.DataFrame, label: str, colour: str, style: LineStyle
) -> None:
    """Draw one group's step curve, CI band and censor marks."""
    steps = with_origin(group_curve.sort_values("time"))
    ax.step(steps["time"], steps["surv"], where="post", color=colour, ls=style, lw=1.6, label=label)
    ax.fill_between(
        steps["time"],
        steps["lower"],
        steps["upper"],
        step="post",
        color=colour,
        alpha=CI_ALPHA,
        lw=0,
    )
    censored = group_curve[group_curve["n_censor"] > 0]
    ax.plot(censored["time"], censored["surv"], ls="none", marker="+", ms=6, color=colour)


def draw_median(ax: Axes, median: float, colour: str) -> None:
    """Dashed guide lines to the median survival time, if it was reached."""
    if math.isnan(median):
        return
    guide = {"color": colour, "ls": (0, (3, 2)), "lw": 0.8}
    ax.plot([0, median], [0.5, 0.5], **guide)
    ax.plot([median, median], [0, 0.5], **guide)


def draw_risk_table(
    ax: Axes, curves: pd.DataFrame, groups: list[str], risk_times: list[float]
) -> None:
    """Number-at-risk table: one row per group, one column per risk time (shared x axis)."""
    ax.set_gid("risk-table")
    for row, group in enumerate(groups):
        group_curve = curves[curves["group"].astype(str) == group].sort_values("time")
        for t in risk_times:
            ax.text(t, row, str(number_at_risk(group_curve, t)), ha="center", va="center", size=8)
    ax.set_ylim(len(groups) - 0.5, -0.5)
    ax.set_yticks(range(len(groups)), groups)
    for index, tick in enumerate(ax.get_yticklabels()):
        tick.set_color(group_colour(index))
    ax.tick_params(left=False, bottom=False, labelbottom=False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title("Number at risk", loc="left", size=9)


def wrapped(title: str) -> str:
    """A title broken into lines of at most TITLE_WIDTH characters, so it is never clipped."""
    return "\n".join(textwrap.wrap(title, TITLE_WIDTH, break_on_hyphens=False))


def x_limit(curves: pd.DataFrame, risk_times: list[float]) -> float:
    """Right edge of the x axis: the later of the last risk time and the last curve time."""
    return max([*risk_times, *curves["time"].astype(float), 1.0])


def svg_text(fig: plt.Figure) -> str:
    """Serialise a figure to reproducible SVG text, without the XML prolog and doctype."""
    buffer = io.StringIO()
    with matplotlib.rc_context(SVG_RC):
        fig.savefig(buffer, format="svg", metadata=SVG_METADATA)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def prefix_ids(svg: str, prefix: str) -> str:
    """Prefix every id and internal reference so several SVGs can share one HTML page.

    matplotlib names glyphs and markers by content ('DejaVuSans-30'), so two inline
    figures would otherwise define the same ids twice.
    """
    if not prefix:
        return svg
    svg = re.sub(r'\bid="', f'id="{prefix}', svg)
    svg = re.sub(r'href="#', f'href="#{prefix}', svg)
    return re.sub(r"url\(#", f"url(#{prefix}", svg)


def km_figure_svg(
    curves: pd.DataFrame,
    summary: pd.DataFrame,
    logrank_p: float | None,
    title: str,
    risk_times: list[float],
    *,
    id_prefix: str = "",
    p_note: str = "",
) -> str:
    """Kaplan-Meier figure of one endpoint x grouping as inline SVG text.

    ``curves`` and ``summary`` are the km_curves / km_summary rows of that endpoint and
    grouping; ``id_prefix`` makes the SVG's ids unique within a page; ``p_note`` follows
    the log-rank p (e.g. to say it is not corrected for a cut-point search).
    """
    groups = group_order(curves, summary)
    stats = summary.assign(group=summary["group"].astype(str)).set_index("group")
    fig, (ax, ax_risk) = plt.subplots(
        2,
        1,
        sharex=True,
        figsize=(7.0, 4.4 + 0.25 * len(groups)),
        height_ratios=[4.0, 0.5 + 0.25 * len(groups)],
        layout="constrained",
    )
    try:
        for index, group in enumerate(groups):
            colour, style = group_colour(index), LINE_STYLES[index % len(LINE_STYLES)]
            group_curve = curves[curves["group"].astype(str) == group]
            n = f" (n = {int(stats.at[group, 'n'])})" if group in stats.index else ""
            draw_group(ax, group_curve, f"{group}{n}", colour, style)
            if group in stats.index:
                draw_median(ax, float(stats.at[group, "median"]), colour)
        ax.set(title=wrapped(title), xlabel="Months", ylabel="Survival probability", ylim=(0, 1.02))
        right = x_limit(curves, risk_times)
        ax.set_xlim(-X_PAD * right, (1 + X_PAD) * right)
        if risk_times:
            ax.set_xticks(risk_times)
        ax.xaxis.set_tick_params(labelbottom=True)
        # The p-value is the legend title, so "best" placement keeps both off the curves.
        ax.legend(
            loc="best",
            frameon=False,
            fontsize=9,
            title=f"Log-rank {p_phrase(logrank_p)}{p_note}",
            title_fontsize=9,
            alignment="left",
        )
        ax.spines[["top", "right"]].set_visible(False)
        draw_risk_table(ax_risk, curves, groups, risk_times)
        return prefix_ids(svg_text(fig), id_prefix)
    finally:
        plt.close(fig)


@contextmanager
def small_figure() -> Iterator[tuple[Figure, Axes]]:
    """A single-panel figure of SMALL_FIGURE size, closed however drawing ends."""
    fig, ax = plt.subplots(figsize=SMALL_FIGURE, layout="constrained")
    try:
        yield fig, ax
    finally:
        plt.close(fig)


def finish_axes(fig: Figure, ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    """Title, axis labels, no top/right spines, and the legend under the plot, where it
    cannot hide a band or a point."""
    ax.set(title=wrapped(title), xlabel=xlabel, ylabel=ylabel)
    ax.title.set_size(10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=8)


def hr_axis(ax: Axes, lowest: float, highest: float) -> None:
    """A log-scale hazard-ratio axis over [lowest, highest] (always including 1), with
    the HR_TICKS inside that range as plain-number labels."""
    bottom, top = min(lowest, 1.0) / 1.05, max(highest, 1.0) * 1.05
    ax.set_yscale("log")
    ax.set_ylim(bottom, top)
    ax.yaxis.set_major_locator(FixedLocator([t for t in HR_TICKS if bottom <= t <= top]))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_locator(FixedLocator([]))


def spline_figure_svg(
    curve: pd.DataFrame,
    reference: float,
    threshold: float,
    title: str,
    *,
    id_prefix: str = "",
) -> str:
    """Hazard ratio by serum Mg (the spline table of one endpoint: mg_mmol_l, hr,
    hr_lower, hr_upper) with its 95% CI band on a log axis, a line at HR 1, the reference
    value marked and the clinical threshold as a dotted vertical line."""
    curve = curve.sort_values("mg_mmol_l")
    colour = group_colour(0)
    with small_figure() as (fig, ax):
        ax.fill_between(
            curve["mg_mmol_l"],
            curve["hr_lower"],
            curve["hr_upper"],
            color=colour,
            alpha=2 * CI_ALPHA,
            lw=0,
            label="95% CI",
        )
        ax.plot(curve["mg_mmol_l"], curve["hr"], color=colour, lw=1.8, label="Hazard ratio")
        ax.axhline(1.0, **REFERENCE_LINE)
        ax.plot(
            [reference],
            [1.0],
            ls="none",
            marker="o",
            ms=5,
            color="#1a1a1a",
            label=f"Reference {reference:g} mmol/L (HR 1)",
        )
        ax.axvline(
            threshold,
            ls=":",
            lw=1.4,
            color=group_colour(1),
            label=f"Clinical threshold {threshold:g} mmol/L",
        )
        hr_axis(ax, float(curve["hr_lower"].min()), float(curve["hr_upper"].max()))
        finish_axes(fig, ax, title, "Serum Mg (mmol/L)", "Hazard ratio (log scale)")
        return prefix_ids(svg_text(fig), id_prefix)


def cutpoint_figure_svg(
    candidates: pd.DataFrame,
    cut: float,
    threshold: float,
    title: str,
    *,
    id_prefix: str = "",
) -> str:
    """The standardised log-rank statistic of every candidate cut (cutpoint_candidates:
    cut, statistic), the chosen cut (the maximum) and the clinical threshold marked."""
    candidates = candidates.sort_values("cut")
    with small_figure() as (fig, ax):
        ax.plot(
            candidates["cut"],
            candidates["statistic"],
            color=group_colour(0),
            lw=1.2,
            marker="o",
            ms=2.5,
            label="Candidate cuts",
        )
        ax.axvline(cut, color=group_colour(1), lw=1.4, label=f"Chosen cut {cut:g} mmol/L")
        ax.axvline(
            threshold,
            ls=":",
            lw=1.4,
            color="#1a1a1a",
            label=f"Clinical threshold {threshold:g} mmol/L",
        )
        ax.set_ylim(bottom=0)
        finish_axes(
            fig,
            ax,
            title,
            "Cut: low = serum Mg at or below it (mmol/L)",
            "Standardised log-rank statistic",
        )
        return prefix_ids(svg_text(fig), id_prefix)


def thinned(points: pd.DataFrame, limit: int = MAX_SCATTER_POINTS) -> pd.DataFrame:
    """At most ``limit`` rows, evenly spaced in the given order (deterministic)."""
    if len(points) <= limit:
        return points
    return points.iloc[np.linspace(0, len(points) - 1, limit).round().astype(int)]


def smoothing_window(n: int) -> int:
    """Points in the running mean of a residual plot: a tenth of them, at least 5."""
    return max(5, n // 10)


def time_ticks(residuals: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Ticks evenly spaced on the transformed-time axis, labelled with the time in months
    there (as R's plot.cox.zph labels its axis), so labels never pile up where the
    transform compresses late times."""
    times = residuals.drop_duplicates("time").sort_values("time")
    positions = np.linspace(
        times["transformed_time"].min(), times["transformed_time"].max(), TIME_TICKS
    )
    months = np.interp(positions, times["transformed_time"], times["time"])
    return positions, [f"{m:.1f}" for m in months]


def schoenfeld_figure_svg(
    residuals: pd.DataFrame,
    title: str,
    ylabel: str,
    *,
    id_prefix: str = "",
) -> str:
    """Scaled Schoenfeld residuals of one Cox term (schoenfeld rows: time, transformed_time,
    residual = beta(t), as R's cox.zph ``y``) against transformed time, with a running mean,
    a dashed line at their mean (the Cox estimate: beta(t) is flat under proportional
    hazards) and a grey line at 0 (no effect). Points beyond MAX_SCATTER_POINTS are thinned;
    the running mean uses all of them."""
    residuals = residuals.sort_values(["transformed_time", "time"], kind="stable")
    window = smoothing_window(len(residuals))
    smooth = residuals["residual"].rolling(window, center=True, min_periods=window // 2).mean()
    shown = thinned(residuals)
    with small_figure() as (fig, ax):
        ax.plot(
            shown["transformed_time"],
            shown["residual"],
            ls="none",
            marker="o",
            ms=1.6,
            alpha=0.45,
            color="#777777",
            label="Residuals",
        )
        ax.plot(
            residuals["transformed_time"],
            smooth,
            color=group_colour(0),
            lw=1.8,
            label=f"Running mean of {window}",
        )
        ax.axhline(
            residuals["residual"].mean(),
            ls="--",
            lw=1.2,
            color=group_colour(1),
            label="Cox estimate (flat if hazards are proportional)",
        )
        ax.axhline(0.0, label="No effect", **REFERENCE_LINE)
        ax.set_xticks(*time_ticks(residuals))
        finish_axes(fig, ax, title, "Months (axis spaced by the test's time transform)", ylabel)
        return prefix_ids(svg_text(fig), id_prefix)
