"""The figures of the weighting analysis: the love plot (each covariate's absolute
standardised mean difference before and after weighting, per arm, with cobalt's usual 0.1
balance line) and the weights' distribution (a box per arm and Mg group, drawn from the
quantiles in iptw_weights: the whiskers reach the smallest and largest weight)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

from mgsurv.contract import CLINICAL_GROUPING, GROUP_ORDER
from mgsurv.report.figures import OKABE_ITO, REFERENCE_LINE, group_colour, wrapped

# |SMD| below this counts as balanced (Austin 2009; cobalt's love.plot thresholds = .1).
BALANCED_SMD = 0.1
ROW_INCHES = 0.28


def love_figure(panels: Sequence[tuple[str, pd.DataFrame]], title: str) -> Figure:
    """One panel per (heading, iptw_balance rows with a ``label`` column): open circles
    before weighting, filled after, a dotted line at BALANCED_SMD."""
    rows = max(len(balance) for _, balance in panels)
    fig = Figure(figsize=(4.2 * len(panels) + 1.6, 1.6 + ROW_INCHES * rows), layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    highest = max(
        float(balance[["smd", "smd_weighted"]].abs().max().max()) for _, balance in panels
    )
    for index, (ax, (heading, balance)) in enumerate(zip(axes, panels, strict=True)):
        y = range(len(balance))
        before, after = balance["smd"].abs(), balance["smd_weighted"].abs()
        ax.hlines(y, before.clip(upper=after), before.clip(lower=after), color="#c8c8c8", lw=1)
        ax.plot(before, y, "o", mfc="white", mec=OKABE_ITO[1], ms=6, label="Before weighting")
        ax.plot(after, y, "o", color=OKABE_ITO[0], ms=6, label="After weighting")
        ax.axvline(BALANCED_SMD, ls=":", **REFERENCE_LINE)
        ax.axvline(0, **REFERENCE_LINE)
        ax.set_yticks(list(y), list(balance["label"]))
        ax.set_ylim(len(balance) - 0.5, -0.5)
        ax.set_xlim(-0.01, max(highest, BALANCED_SMD) * 1.15)
        ax.set_title(heading, size=10)
        ax.set_xlabel("Absolute standardised mean difference")
        ax.spines[["top", "right"]].set_visible(False)
        if index == 0:
            fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=8)
    fig.suptitle(wrapped(title), size=10)
    return fig


def weights_figure(weights: pd.DataFrame, headings: dict[str, str], title: str) -> Figure:
    """A box per arm (``headings``: subset -> heading) and Mg group from the iptw_weights
    quantiles (min, q1, median, q3, max), with a line at weight 1; each group in its
    colour of the Kaplan-Meier figures."""
    stats, labels, colours = [], [], []
    for subset, heading in headings.items():
        for _, row in weights[weights["subset"].astype(str) == subset].iterrows():
            stats.append(
                {
                    "med": row["median"],
                    "q1": row["q1"],
                    "q3": row["q3"],
                    "whislo": row["min"],
                    "whishi": row["max"],
                    "fliers": [],
                }
            )
            labels.append(f"{heading}\n{row['group']} Mg")
            colours.append(group_colour(GROUP_ORDER[CLINICAL_GROUPING].index(row["group"])))
    fig = Figure(figsize=(1.5 * len(stats) + 2.0, 3.6), layout="constrained")
    ax = fig.subplots()
    boxes = ax.bxp(stats, patch_artist=True, widths=0.5, medianprops={"color": "#1a1a1a"})
    for box, colour in zip(boxes["boxes"], colours, strict=True):
        box.set(facecolor=colour, alpha=0.35, edgecolor=colour)
    ax.set_xticks(range(1, len(labels) + 1), labels, size=8)
    ax.axhline(1, **REFERENCE_LINE)
    ax.set_ylabel("Stabilised weight")
    ax.set_title(wrapped(title), size=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig
