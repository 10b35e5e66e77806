"""The report's figures: matplotlib figures, as inline-ready SVG and as PNG/PDF files.

* Kaplan-Meier (KMunicate style): one endpoint x grouping, a step curve per group with
  its 95% CI band, censor marks, dashed median lines, the log-rank p, and under the time
  axis a table of the number at risk, cumulative events and censored per group; curves
  stop at the last time with at least ``min_at_risk`` patients at risk;
* spline: the hazard ratio by serum Mg with its 95% CI band on a log scale, over a
  histogram strip of the observed serum Mg values (binned counts, never patient rows);
* cut-point: the standardised log-rank statistic of every candidate cut;
* Schoenfeld: a Cox term's scaled Schoenfeld residuals against time, one panel per
  coefficient with R's smooth and its band (as ``plot(cox.zph(fit, terms = FALSE))``);
* rule graph: the workflow's rules as boxes in longest-path layers, top to bottom.

Each ``*_figure`` function returns a :class:`~matplotlib.figure.Figure` (created without
pyplot, so nothing has to be closed); :func:`figure_svg` turns it into SVG text (no XML
prolog, fonts drawn as paths, no date, ids prefixed) that the report inlines, and
:func:`write_figure_files` into byte-reproducible PNG and PDF files. Two runs on the same
input give identical bytes.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypedDict

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.ticker import FixedLocator, FormatStrFormatter
from matplotlib.typing import RcKeyType

from mgsurv.contract import MG_COLUMN
from mgsurv.report.disclosure import format_patients, is_active, is_suppressed, min_count
from mgsurv.report.formatting import format_mg, p_phrase

# Headless, file-only rendering.
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


class LineKwargs(TypedDict, total=False):
    """Line properties passed as keyword arguments (``ax.plot(x, y, **style)``)."""

    color: str
    ls: LineStyle
    lw: float


class BarKwargs(TypedDict, total=False):
    """Bar properties passed as keyword arguments (``ax.bar(x, height, **style)``)."""

    color: str
    fill: bool
    edgecolor: str
    lw: float


CI_ALPHA = 0.15
# A Kaplan-Meier curve is drawn from at most two steps per 1/KM_DRAWN_BINS of its time span
# (the first and last in each bin): about a pixel of the figure, however many patients; and
# at most one censoring mark per 1/KM_CENSOR_BINS of it (marks closer overlap anyway).
# These keep the report of a 10^6-patient cohort under 5 MB.
KM_DRAWN_BINS = 400
KM_CENSOR_BINS = 200
# Room either side of the time range: the first risk-table column stays clear of the
# group labels and censor marks at the last time are not clipped.
X_PAD = 0.03
# Deterministic SVG: fixed hash salt for clip-path ids, text drawn as paths (no font
# files needed), and no metadata (no date, no creator URL).
# Text as text (searchable, selectable, read by screen readers), not as glyph outlines.
SVG_RC: dict[RcKeyType, str] = {"svg.hashsalt": "mgsurv", "svg.fonttype": "none"}
SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
# Deterministic PNG and PDF: no software stamp, no creation date.
PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
PNG_DPI = 200
FILE_FORMATS = ("png", "pdf")
# Size of the small single-panel figures (spline, cut-point, Schoenfeld), in inches.
SMALL_FIGURE = (6.4, 4.2)
REFERENCE_LINE: LineKwargs = {"color": "#555555", "lw": 0.8}
# Hazard-ratio axis ticks: the ones inside the plotted range are used (log scale).
HR_TICKS = (0.1, 0.2, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 5.0, 10.0)
# Scatter plots keep at most this many points (an SVG figure stays near 200 kB).
MAX_SCATTER_POINTS = 1000
TIME_TICKS = 6
# Characters per line of a figure title before it wraps (long grouping names).
TITLE_WIDTH = 75
# Rows of the table under a Kaplan-Meier plot; "Censored" only up to this many groups.
RISK_MEASURES = ("At risk", "Events", "Censored")
MAX_GROUPS_WITH_CENSORED = 4
RISK_ROW_INCHES = 0.19
HISTOGRAM_COLOUR = "#7a7a7a"


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


def cumulative_counts(group_curve: pd.DataFrame, t: float) -> tuple[int, int]:
    """(events, censored) before time t: the patients no longer at risk at t, so that
    at risk + events + censored = the group's size at every time."""
    before = group_curve[group_curve["time"] < t]
    return int(before["n_event"].sum()), int(before["n_censor"].sum())


def risk_measures(n_groups: int) -> tuple[str, ...]:
    """The rows per group of the table under a KM plot (censored only if it fits)."""
    return RISK_MEASURES if n_groups <= MAX_GROUPS_WITH_CENSORED else RISK_MEASURES[:2]


def risk_table_rows(
    curves: pd.DataFrame, groups: list[str], risk_times: Sequence[float]
) -> list[tuple[str, str, list[int]]]:
    """(group, measure, counts at each risk time) for every row of the table under a KM
    plot: number at risk, cumulative events and (when it fits) cumulative censored."""
    measures = risk_measures(len(groups))
    rows = []
    for group in groups:
        group_curve = curves[curves["group"].astype(str) == group].sort_values("time")
        counts = {
            t: (number_at_risk(group_curve, t), *cumulative_counts(group_curve, t))
            for t in risk_times
        }
        for index, measure in enumerate(measures):
            rows.append((group, measure, [counts[t][index] for t in risk_times]))
    return rows


def truncation_time(group_curve: pd.DataFrame, min_at_risk: int) -> float | None:
    """The last time at which at least ``min_at_risk`` patients were at risk (the curve is
    drawn up to it); None when the group never had that many. ``min_at_risk`` 0 keeps the
    whole curve."""
    if group_curve.empty:
        return None
    kept = group_curve.loc[group_curve["n_risk"] >= min_at_risk, "time"]
    return float(kept.max()) if len(kept) else None


def with_origin(group_curve: pd.DataFrame) -> pd.DataFrame:
    """Prepend the (time 0, survival 1) point that survfit-style tables leave out."""
    origin = pd.DataFrame({"time": [0.0], "surv": [1.0], "lower": [1.0], "upper": [1.0]})
    body = group_curve[["time", "surv", "lower", "upper"]].astype(float)
    return pd.concat([origin, body], ignore_index=True)


def draw_group(
    ax: Axes,
    group_curve: pd.DataFrame,
    label: str,
    colour: str,
    style: LineStyle,
    stop: float | None,
) -> None:
    """Draw one group's step curve, CI band and censor marks up to time ``stop``."""
    if stop is None:
        ax.plot([], [], color=colour, ls=style, lw=1.6, label=f"{label}: not drawn")
        return
    shown = group_curve[group_curve["time"].astype(float) <= stop].sort_values("time")
    steps = drawn_steps(with_origin(shown), stop)
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
    censored = drawn_steps(shown[shown["n_censor"] > 0], stop, KM_CENSOR_BINS, last=False)
    ax.plot(censored["time"], censored["surv"], ls="none", marker="+", ms=6, color=colour)


def drawn_steps(
    steps: pd.DataFrame, stop: float, bins: int = KM_DRAWN_BINS, last: bool = True
) -> pd.DataFrame:
    """The rows of a step curve (sorted by time) worth drawing: in each of ``bins`` equal
    bins of (0, stop], its first row and (``last``) its last. Between them the curve
    falls within a bin's width in time, about a pixel, so the figure looks the same; but a
    curve of 10^6 patients is drawn from at most 2 x ``bins`` points, not one per time.
    Every row is kept when there are no more rows than bins."""
    if len(steps) <= bins or not stop > 0:
        return steps
    position = (steps["time"].to_numpy(dtype=float) / stop * bins).astype(np.int64)
    position = np.minimum(position, bins - 1)
    first = np.r_[True, position[1:] != position[:-1]]
    keep = first | np.r_[first[1:], True] if last else first
    return steps[keep]


def draw_median(ax: Axes, median: float, colour: str, stop: float | None) -> None:
    """Dashed guide lines to the median survival time, if reached on the drawn curve."""
    if math.isnan(median) or stop is None or median > stop:
        return
    guide: LineKwargs = {"color": colour, "ls": (0, (3, 2)), "lw": 0.8}
    ax.plot([0, median], [0.5, 0.5], **guide)
    ax.plot([median, median], [0, 0.5], **guide)


def draw_risk_table(
    ax: Axes, curves: pd.DataFrame, groups: list[str], risk_times: list[float], panel: int = 0
) -> None:
    """Number at risk, cumulative events and censored: a block of rows per group, one
    column per risk time, on the time axis of the plot above (``panel``: its index in a
    figure of several, which numbers its SVG id from the second on)."""
    ax.set_gid("risk-table" if panel == 0 else f"risk-table-{panel + 1}")
    rows = risk_table_rows(curves, groups, risk_times)
    per_group = len(risk_measures(len(groups)))
    for row, (_group, _measure, counts) in enumerate(rows):
        for t, count in zip(risk_times, counts, strict=True):
            ax.text(t, row, format_patients(count), ha="center", va="center", size=8)
    for boundary in range(per_group, len(rows), per_group):
        ax.axhline(boundary - 0.5, color="#d0d0d0", lw=0.6)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    labels = [
        f"{group}: {measure.lower()}" if row % per_group == 0 else measure.lower()
        for row, (group, measure, _) in enumerate(rows)
    ]
    ax.set_yticks(range(len(rows)), labels)
    for row, tick in enumerate(ax.get_yticklabels()):
        tick.set_color(group_colour(row // per_group))
        tick.set_fontsize(8)
    ax.tick_params(left=False, bottom=False, labelbottom=False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    measures = " and ".join(m.lower() for m in risk_measures(len(groups))[1:])
    ax.set_title(f"Number at risk; cumulative {measures}", loc="left", size=9)


def wrapped(title: str) -> str:
    """A title broken into lines of at most TITLE_WIDTH characters, so it is never clipped."""
    return "\n".join(textwrap.wrap(title, TITLE_WIDTH, break_on_hyphens=False))


def drawn_end(curves: pd.DataFrame, min_at_risk: int) -> float:
    """Where the curves of a figure end: the latest of their truncation times (the last
    time with at least ``min_at_risk`` at risk); 0 when none is drawn."""
    ends = [
        truncation_time(curves[curves["group"].astype(str) == group], min_at_risk)
        for group in dict.fromkeys(curves["group"].astype(str))
    ]
    return max([end for end in ends if end is not None], default=0.0)


def axis_times(curves: pd.DataFrame, risk_times: Sequence[float], min_at_risk: int) -> list[float]:
    """The risk-table times of a figure of these curves (of one endpoint): those up to
    where the curves end, and the first one after it, which closes the axis, unless nobody
    is at risk then. So a PFS figure whose curves end at 20 months has no axis to 36 months
    and no columns of zeros; its OS figure keeps its own times."""
    end = drawn_end(curves, min_at_risk)
    kept = [float(t) for t in risk_times if t <= end]
    later = [float(t) for t in risk_times if t > end]
    if later and (curves["time"].astype(float) >= later[0]).any():
        kept.append(later[0])
    return kept


def x_limit(curves: pd.DataFrame, risk_times: list[float], min_at_risk: int) -> float:
    """Right edge of the x axis: the later of the last risk time and where the curves end."""
    return max([*risk_times, drawn_end(curves, min_at_risk), 1.0])


def svg_text(fig: Figure) -> str:
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


def figure_svg(fig: Figure, id_prefix: str = "") -> str:
    """A figure as inline SVG text with its ids prefixed."""
    return prefix_ids(svg_text(fig), id_prefix)


def labelled_by(svg: str, caption_id: str) -> str:
    """The SVG as an image (role="img") whose accessible name is the element ``caption_id``
    of the page (its caption), as screen readers announce it."""
    return svg.replace("<svg ", f'<svg role="img" aria-labelledby="{caption_id}" ', 1)


def write_figure_files(fig: Figure, directory: str | Path, name: str) -> list[Path]:
    """Write ``name``.png and ``name``.pdf into ``directory`` (created if needed), both
    byte-reproducible (no dates, no software stamps); returns the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for file_format in FILE_FORMATS:
        path = directory / f"{name}.{file_format}"
        metadata = PNG_METADATA if file_format == "png" else PDF_METADATA
        fig.savefig(path, format=file_format, dpi=PNG_DPI, metadata=metadata)
        paths.append(path)
    return paths


class KmPanel(NamedTuple):
    """One Kaplan-Meier plot: the km_curves / km_summary rows of one subset, endpoint and
    grouping, its log-rank p (None: not in the results) and title; ``p_note`` follows the
    p (e.g. to say it is not corrected for a cut-point search); ``test`` names the test of
    the p (the weighted curves' is the weighted Cox model's)."""

    curves: pd.DataFrame
    summary: pd.DataFrame
    logrank_p: float | None
    title: str
    p_note: str = ""
    test: str = "Log-rank"


def km_figure(
    curves: pd.DataFrame,
    summary: pd.DataFrame,
    logrank_p: float | None,
    title: str,
    risk_times: list[float],
    *,
    min_at_risk: int = 0,
    p_note: str = "",
) -> Figure:
    """Kaplan-Meier figure of one endpoint x grouping.

    ``curves`` and ``summary`` are the km_curves / km_summary rows of that endpoint and
    grouping; each curve stops at the last time with at least ``min_at_risk`` patients at
    risk (:func:`truncation_time`); ``p_note`` follows the log-rank p (e.g. to say it is
    not corrected for a cut-point search).
    """
    panel = KmPanel(curves, summary, logrank_p, title, p_note)
    return km_panels_figure([panel], risk_times, min_at_risk=min_at_risk)


def km_panels_figure(
    panels: Sequence[KmPanel], risk_times: list[float], *, min_at_risk: int = 0
) -> Figure:
    """Kaplan-Meier plots side by side (e.g. one per treatment arm), each with its own
    risk table underneath, on one time axis (to the latest panel's end) so that they
    compare."""
    groups = max(len(group_order(p.curves, p.summary)) for p in panels)
    table_rows = groups * len(risk_measures(groups))
    table_height = 0.45 + RISK_ROW_INCHES * table_rows
    width = 7.0 if len(panels) == 1 else 5.6 * len(panels)
    fig = Figure(figsize=(width, 4.2 + table_height), layout="constrained")
    axes = fig.subplots(
        2, len(panels), sharex=True, height_ratios=[4.0, table_height], squeeze=False
    )
    right = max(x_limit(p.curves, risk_times, min_at_risk) for p in panels)
    for column, panel in enumerate(panels):
        draw_km(axes[0, column], axes[1, column], panel, risk_times, right, min_at_risk, column)
    return fig


def draw_km(
    ax: Axes,
    ax_risk: Axes,
    panel: KmPanel,
    risk_times: list[float],
    right: float,
    min_at_risk: int,
    position: int = 0,
) -> None:
    """One Kaplan-Meier plot on ``ax`` (curves to ``right`` months) and its risk table on
    ``ax_risk``; ``position``: the panel's place in its figure."""
    curves, summary = panel.curves, panel.summary
    groups = group_order(curves, summary)
    stats = summary.assign(group=summary["group"].astype(str)).set_index("group")
    for index, group in enumerate(groups):
        colour, style = group_colour(index), LINE_STYLES[index % len(LINE_STYLES)]
        group_curve = curves[curves["group"].astype(str) == group]
        stop = truncation_time(group_curve, min_at_risk)
        n = f" (n = {format_patients(stats.at[group, 'n'])})" if group in stats.index else ""
        draw_group(ax, group_curve, f"{group}{n}", colour, style, stop)
        if group in stats.index:
            draw_median(ax, float(stats.at[group, "median"]), colour, stop)
    ax.set(
        title=wrapped(panel.title), xlabel="Months", ylabel="Survival probability", ylim=(0, 1.02)
    )
    ax.set_xlim(-X_PAD * right, (1 + X_PAD) * right)
    if risk_times:
        ax.set_xticks(risk_times)
    ax.xaxis.set_tick_params(labelbottom=True)
    # The p-value is the legend title, so "best" placement keeps both off the curves.
    ax.legend(
        loc="best",
        frameon=False,
        fontsize=9,
        title=f"{panel.test} {p_phrase(panel.logrank_p)}{panel.p_note}",
        title_fontsize=9,
        alignment="left",
    )
    ax.spines[["top", "right"]].set_visible(False)
    draw_risk_table(ax_risk, curves, groups, risk_times, position)


def small_figure(rows: int = 1, height_ratios: list[float] | None = None) -> Figure:
    """A figure of SMALL_FIGURE width (taller with a second row of axes)."""
    height = SMALL_FIGURE[1] * (1 if rows == 1 else sum(height_ratios or [1]) / 4.0)
    return Figure(figsize=(SMALL_FIGURE[0], height), layout="constrained")


def finish_axes(fig: Figure, ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    """Title, axis labels, no top/right spines, and the legend under the plot, where it
    cannot hide a band or a point."""
    ax.set(title=wrapped(title), xlabel=xlabel, ylabel=ylabel)
    ax.title.set_fontsize(10)
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


def bin_width(centres: pd.Series) -> float:
    """Width of a histogram's bins from their centres (the smallest gap; 0.01 for one)."""
    gaps = np.diff(np.sort(centres.astype(float).unique()))
    return float(gaps.min()) if len(gaps) else 0.01


def draw_distribution(ax: Axes, distribution: pd.DataFrame) -> None:
    """Patients per serum Mg bin (mg_distribution: mg_mmol_l = bin centre, n) as bars; a
    bin of 1 to k - 1 patients (small-count suppression) as an outline up to k, so that
    its height does not tell its count."""
    width = bin_width(distribution[MG_COLUMN])
    hidden = distribution["n"].map(is_suppressed).astype(bool)
    k = min_count()
    bars: tuple[tuple[pd.DataFrame, BarKwargs, str], ...] = (
        (
            distribution[~hidden],
            {"color": HISTOGRAM_COLOUR, "lw": 0},
            f"Patients per {width:g} mmol/L of serum Mg",
        ),
        (
            distribution[hidden].assign(n=k),
            {"fill": False, "edgecolor": HISTOGRAM_COLOUR, "lw": 0.6},
            f"Bins of 1 to {k - 1} patients (drawn to {k})",
        ),
    )
    for bins, style, label in bars:
        if len(bins):
            ax.bar(
                bins[MG_COLUMN].astype(float),
                bins["n"].astype(float),
                width=0.9 * width,
                label=label,
                **style,
            )
    ax.set_ylabel("Patients", size=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)


def draw_hr_band(ax: Axes, rows: pd.DataFrame, x: str, label: str, **line: Any) -> None:
    """A hazard-ratio curve (rows' hr over column ``x``) with its 95% CI band (hr_lower,
    hr_upper) and a line at HR 1."""
    colour = group_colour(0)
    ax.fill_between(
        rows[x], rows["hr_lower"], rows["hr_upper"], color=colour, alpha=2 * CI_ALPHA, lw=0,
        label="95% CI",
    )  # fmt: skip
    ax.plot(rows[x], rows["hr"], color=colour, lw=1.8, label=label, **line)
    ax.axhline(1.0, **REFERENCE_LINE)


def draw_threshold(axes: Sequence[Axes], threshold: float, label: str) -> None:
    """The Mg threshold as a dotted vertical line on each axis, labelled on the first."""
    for i, axis in enumerate(axes):
        axis.axvline(threshold, ls=":", lw=1.4, color=group_colour(1), label=None if i else label)


def spline_figure(
    curve: pd.DataFrame,
    reference: float,
    threshold: float,
    title: str,
    distribution: pd.DataFrame | None = None,
) -> Figure:
    """Hazard ratio by serum Mg (the spline table of one endpoint: mg_mmol_l, hr,
    hr_lower, hr_upper) with its 95% CI band on a log axis, a line at HR 1, the reference
    value marked and the clinical threshold as a dotted vertical line; under it, when
    given, the histogram of observed serum Mg (mg_distribution: bin centre, n)."""
    curve = curve.sort_values(MG_COLUMN)
    with_rug = distribution is not None and not distribution.empty
    ratios = [4.0, 1.0] if with_rug else [4.0]
    fig = small_figure(len(ratios), ratios)
    axes = fig.subplots(len(ratios), 1, sharex=True, height_ratios=ratios, squeeze=False)[:, 0]
    ax = axes[0]
    draw_hr_band(ax, curve, MG_COLUMN, "Hazard ratio")
    ax.plot(
        [reference],
        [1.0],
        ls="none",
        marker="o",
        ms=5,
        color="#1a1a1a",
        label=f"Reference {reference:g} mmol/L (HR 1)",
    )
    draw_threshold(list(axes), threshold, f"Clinical threshold {format_mg(threshold)} mmol/L")
    hr_axis(ax, float(curve["hr_lower"].min()), float(curve["hr_upper"].max()))
    xlabel = "Serum Mg (mmol/L)"
    if with_rug:
        draw_distribution(axes[1], distribution)
        axes[1].set_xlabel(xlabel)
        ax.xaxis.set_tick_params(labelbottom=True)
        xlabel = ""
    finish_axes(fig, ax, title, xlabel, "Hazard ratio (log scale)")
    return fig


def threshold_figure(
    grid: pd.DataFrame,
    threshold: float,
    title: str,
    outlined: Sequence[bool],
    spline: SplineView | None = None,
) -> Figure:
    """The adjusted low-Mg hazard ratio at each threshold of the grid (thresholds.tsv rows of
    one subset: threshold_mmol_l, hr, hr_lower, hr_upper, n_low, in threshold order) with
    its 95% CI band on a log axis, a line at HR 1 and the pre-specified threshold as a
    dotted vertical line; under it, the number of patients below each threshold (bars
    ``outlined`` are small counts drawn at the sharing threshold, not at their value).
    Beside it, when given, the ``spline`` view of serum Mg without any cut (its own HR
    axis), with the observed Mg under it, and the all-patients grid as a dashed line in the
    left panel: whether the result hangs on one cut reads at once."""
    estimable = grid.dropna(subset=["hr", "hr_lower", "hr_upper"])
    columns = 1 if spline is None else 2
    fig = Figure(
        figsize=(SMALL_FIGURE[0] * (1 if spline is None else 1.8), SMALL_FIGURE[1] * 1.25),
        layout="constrained",
    )
    axes = fig.subplots(2, columns, height_ratios=[4.0, 1.0], squeeze=False)
    ax, sizes = axes[0, 0], axes[1, 0]
    sizes.sharex(ax)
    draw_hr_band(
        ax, estimable, "threshold_mmol_l", "HR of Mg below the threshold", marker="o", ms=3
    )
    draw_threshold([ax, sizes], threshold, f"Pre-specified threshold {format_mg(threshold)} mmol/L")
    lowest = [estimable["hr_lower"].min()] if not estimable.empty else []
    highest = [estimable["hr_upper"].max()] if not estimable.empty else []
    step = float(np.diff(grid["threshold_mmol_l"]).min()) if len(grid) > 1 else 0.01
    sizes.bar(
        grid["threshold_mmol_l"],
        grid["n_low"],
        width=0.8 * step,
        color=["none" if hidden else "#8c8c8c" for hidden in outlined],
        edgecolor="#8c8c8c",
    )
    sizes.set_ylabel("Patients\nbelow")
    sizes.set_xlabel("Threshold: serum Mg below (mmol/L)")
    ax.xaxis.set_tick_params(labelbottom=True)
    if spline is not None:
        curve = spline.curve.sort_values(MG_COLUMN)
        right, rug = axes[0, 1], axes[1, 1]
        rug.sharex(right)
        pooled = spline.pooled_grid
        if pooled is not None and not pooled.empty:
            ax.plot(
                pooled["threshold_mmol_l"], pooled["hr"], color="#8c8c8c", ls="--", lw=1.2,
                label="HR below the threshold, all patients (as the spline)",
            )  # fmt: skip
        right.fill_between(
            curve[MG_COLUMN], curve["hr_lower"], curve["hr_upper"], color=group_colour(2),
            alpha=2 * CI_ALPHA, lw=0,
        )  # fmt: skip
        right.plot(curve[MG_COLUMN], curve["hr"], color=group_colour(2), lw=1.8, label=spline.label)
        right.axhline(1.0, **REFERENCE_LINE)
        draw_threshold([right, rug], threshold, "")
        right.set_title(wrapped(spline.title), fontsize=10)
        right.set_xlabel("Serum Mg (mmol/L)")
        right.xaxis.set_tick_params(labelbottom=True)
        right.spines[["top", "right"]].set_visible(False)
        hr_axis(right, float(curve["hr_lower"].min()), float(curve["hr_upper"].max()))
        if spline.distribution is not None and not spline.distribution.empty:
            draw_distribution(rug, spline.distribution)
            rug.set_xlabel("Serum Mg (mmol/L)")
        else:
            rug.set_visible(False)
    if lowest:
        hr_axis(ax, float(min(lowest)), float(max(highest)))
    finish_axes(fig, ax, title, "", "Hazard ratio (log scale)")
    return fig


class SplineView(NamedTuple):
    """Serum Mg without a cut, beside the threshold grid: the spline table's curve of one
    endpoint (all patients), its legend label and title, the observed Mg (mg_distribution)
    under it, and the grid of all patients (thresholds.tsv rows), drawn beside the primary
    population's grid so that the spline has its like for like."""

    curve: pd.DataFrame
    label: str
    title: str
    distribution: pd.DataFrame | None = None
    pooled_grid: pd.DataFrame | None = None


def cutpoint_figure(
    candidates: pd.DataFrame,
    cut: float,
    threshold: float,
    threshold_cut: float,
    title: str,
) -> Figure:
    """The standardised log-rank statistic of every candidate cut (cutpoint_candidates:
    cut, statistic), the chosen cut (the maximum) and the clinical threshold marked at the
    candidate cut that makes its split (``threshold_cut``: low = Mg at or below it)."""
    candidates = candidates.sort_values("cut")
    fig = small_figure()
    ax = fig.subplots()
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
        threshold_cut,
        ls=":",
        lw=1.4,
        color="#1a1a1a",
        label=f"Clinical threshold < {format_mg(threshold)} mmol/L"
        + (f" (the cut at {format_mg(threshold_cut)})" if threshold_cut != threshold else ""),
    )
    ax.set_ylim(bottom=0)
    finish_axes(
        fig,
        ax,
        title,
        "Cut: low = serum Mg at or below it (mmol/L)",
        "Standardised log-rank statistic",
    )
    return fig


def thinned(points: pd.DataFrame, limit: int = MAX_SCATTER_POINTS) -> pd.DataFrame:
    """At most ``limit`` rows, evenly spaced in the given order (deterministic)."""
    if len(points) <= limit:
        return points
    return points.iloc[np.linspace(0, len(points) - 1, limit).round().astype(int)]


def time_ticks(smooth: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Ticks evenly spaced on the transformed-time axis, labelled with the time in months
    there (as R's plot.cox.zph labels its axis), so labels never pile up where the
    transform compresses late times (schoenfeld_smooth rows: transformed_time, time)."""
    points = smooth.drop_duplicates("transformed_time").sort_values("transformed_time")
    positions = np.linspace(
        points["transformed_time"].min(), points["transformed_time"].max(), TIME_TICKS
    )
    months = np.interp(positions, points["transformed_time"], points["time"])
    return positions, [f"{m:.1f}" for m in months]


# Panels per row of a residual figure (one panel per coefficient).
PANELS_PER_ROW = 3


def schoenfeld_figure(
    residuals: pd.DataFrame, smooth: pd.DataFrame, titles: dict[str, str], title: str
) -> Figure:
    """The PH plot of one Cox term as R's ``plot(cox.zph(fit, terms = FALSE))``: one panel
    per coefficient (``titles``: coefficient -> panel title), its scaled Schoenfeld
    residuals (schoenfeld rows; beta(t), thinned beyond MAX_SCATTER_POINTS, left out when
    suppressing small counts: each is one patient's event) against transformed time, R's
    smooth with its +-2 SE band (schoenfeld_smooth rows), the Cox estimate as a dashed line
    (beta(t) is flat at it under proportional hazards) and 0 (no effect) in grey."""
    coefficients = list(titles)
    columns = min(len(coefficients), PANELS_PER_ROW)
    rows = math.ceil(len(coefficients) / columns)
    fig = Figure(
        figsize=(SMALL_FIGURE[0] * (1 if columns == 1 else 0.75 * columns), 3.6 * rows + 0.8),
        layout="constrained",
    )
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, coefficient in zip(axes, coefficients, strict=False):
        points = residuals[residuals["term"].astype(str) == coefficient]
        curve = smooth[smooth["term"].astype(str) == coefficient]
        if not is_active():
            shown = thinned(points.sort_values(["transformed_time", "time"], kind="stable"))
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
        ax.fill_between(
            curve["transformed_time"],
            curve["lower"],
            curve["upper"],
            color=group_colour(0),
            alpha=CI_ALPHA,
            lw=0,
            label="±2 SE",
        )
        ax.plot(curve["transformed_time"], curve["fit"], color=group_colour(0), lw=1.8,
                label="Smooth (spline, 4 df)")  # fmt: skip
        ax.axhline(
            float(curve["coef"].iloc[0]),
            ls="--",
            lw=1.2,
            color=group_colour(1),
            label="Cox estimate (flat if hazards are proportional)",
        )
        ax.axhline(0.0, label="No effect", **REFERENCE_LINE)
        ax.set_xticks(*time_ticks(curve))
        panel = titles[coefficient] if len(coefficients) > 1 else f"{title}: {titles[coefficient]}"
        ax.set(
            title=wrapped(panel),
            ylabel="β(t)",
            xlabel="Months (spaced by the test's time transform)",
        )
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes[len(coefficients) :]:
        ax.set_visible(False)
    if len(coefficients) > 1:
        fig.suptitle(wrapped(title), size=11)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False, fontsize=8)
    return fig


def longest_path_layers(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Layer of each node of a DAG: one below the lowest of its inputs (longest path from a
    source); a node without inputs sits just above its first consumer."""
    layers: dict[str, int] = {}
    parents = {node: [a for a, b in edges if b == node] for node in nodes}

    def layer(node: str, seen: frozenset[str] = frozenset()) -> int:
        if node not in layers:
            if node in seen:
                raise ValueError(f"the rule graph has a cycle through {node}")
            layers[node] = max((layer(p, seen | {node}) + 1 for p in parents[node]), default=0)
        return layers[node]

    for node in nodes:
        layer(node)
    # A source feeding only late rules sits just above its first consumer, not at the top.
    for node in nodes:
        children = [layers[b] for a, b in edges if a == node]
        if not parents[node] and children:
            layers[node] = min(children) - 1
    return layers


def layered_layout(
    nodes: Sequence[str], edges: Sequence[tuple[str, str]]
) -> tuple[dict[str, tuple[float, float]], list[list[tuple[float, float]]]]:
    """Positions (x, layer) of the nodes and a polyline per edge, Sugiyama-style: longest
    path layers, a waypoint in every layer an edge crosses (so that long edges go round
    the boxes in between), and each layer ordered by the mean position of its parents."""
    layers = longest_path_layers(nodes, edges)
    # Every edge as a chain of slots, one per layer from its tail to its head.
    chains = [[a, *(f"{a}->{b}#{k}" for k in range(layers[a] + 1, layers[b])), b] for a, b in edges]
    slot_layer = dict(layers)
    for (a, _b), chain in zip(edges, chains, strict=True):
        for k, slot in enumerate(chain[1:-1], start=1):
            slot_layer[slot] = layers[a] + k
    parents: dict[str, list[str]] = {slot: [] for slot in slot_layer}
    for chain in chains:
        for upper, lower in zip(chain, chain[1:], strict=False):
            parents[lower].append(upper)
    x: dict[str, float] = {}
    for depth in range(max(slot_layer.values(), default=-1) + 1):
        here = [s for s in slot_layer if slot_layer[s] == depth]
        here.sort(key=lambda s: (np.mean([x[p] for p in parents[s]]) if parents[s] else 0.0, s))
        for index, slot in enumerate(here):
            x[slot] = index - (len(here) - 1) / 2
    positions = {node: (x[node], float(layers[node])) for node in nodes}
    paths = [[(x[s], float(slot_layer[s])) for s in chain] for chain in chains]
    return positions, paths


def rulegraph_figure(labels: dict[str, str], edges: Sequence[tuple[str, str]]) -> Figure:
    """The workflow's rules (``labels``: node id -> rule name) and their dependencies
    (``edges``: producer -> consumer), top to bottom in longest-path layers."""
    nodes = list(labels)
    positions, paths = layered_layout(nodes, edges)
    width = max((len(label) for label in labels.values()), default=4) * 0.095 + 0.35
    spacing = width + 0.35
    depth = max((y for _, y in positions.values()), default=0) + 1
    reach = max((abs(x) for path in paths for x, _ in path), default=0.0)
    reach = max([reach, *(abs(x) for x, _ in positions.values())]) * spacing + width / 2 + 0.2
    fig = Figure(figsize=(max(4.0, 2 * reach), 0.75 * depth + 0.4))
    ax = fig.add_axes((0, 0, 1, 1))
    box_height = 0.42
    for path in paths:
        points = [(x * spacing, y) for x, y in path]
        start = (points[0][0], points[0][1] + box_height / 2)
        end = (points[-1][0], points[-1][1] - box_height / 2)
        line = [start, *points[1:-1], end]
        xs, ys = zip(*line, strict=True)
        ax.plot(xs[:-1], ys[:-1], color="#888888", lw=1.2)
        ax.annotate(
            "",
            xy=line[-1],
            xytext=line[-2],
            arrowprops={"arrowstyle": "-|>", "color": "#888888", "lw": 1.2, "shrinkA": 0},
        )
    for node, (x, y) in positions.items():
        ax.add_patch(
            FancyBboxPatch(
                (x * spacing - width / 2, y - box_height / 2),
                width,
                box_height,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor="#e8f1f8",
                edgecolor=OKABE_ITO[0],
                lw=1.4,
                zorder=3,
            )
        )
        ax.text(x * spacing, y, labels[node], ha="center", va="center", size=9, zorder=4)
    ax.set_xlim(-max(reach, 2.0), max(reach, 2.0))
    ax.set_ylim(depth - 0.5, -0.5)
    ax.set_axis_off()
    return fig
