"""Kaplan-Meier figures as inline-ready, byte-reproducible SVG.

One figure shows one endpoint x grouping: a step curve per group with its 95% CI band,
censor marks, dashed median lines, the log-rank p and a number-at-risk table under the
plot. The SVG is returned as text (no XML prolog, fonts drawn as paths, no date, ids
prefixed) so the report can inline several figures in one HTML page without external
fonts, files or clashing ids, and two runs on the same input give identical bytes.
"""

from __future__ import annotations

import io
import math
import re

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

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
) -> str:
    """Kaplan-Meier figure of one endpoint x grouping as inline SVG text.

    ``curves`` and ``summary`` are the km_curves / km_summary rows of that endpoint and
    grouping; ``id_prefix`` makes the SVG's ids unique within a page.
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
        ax.set(title=title, xlabel="Months", ylabel="Survival probability", ylim=(0, 1.02))
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
            title=f"Log-rank {p_phrase(logrank_p)}",
            title_fontsize=9,
            alignment="left",
        )
        ax.spines[["top", "right"]].set_visible(False)
        draw_risk_table(ax_risk, curves, groups, risk_times)
        return prefix_ids(svg_text(fig), id_prefix)
    finally:
        plt.close(fig)
