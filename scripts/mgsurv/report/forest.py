"""Forest plots of hazard ratios: one row per estimate, pooled rows as diamonds, reference
levels as "reference" rows (as R survminer's ggforest).

Used by the multi-cohort overview (per-cohort low-Mg HRs with the pooled estimates) and by
the cohort report (every term of the multivariable Cox model). The x axis is logarithmic
with a reference line at HR = 1; the HR with its CI (and the p-value, when the rows have
one) is printed beside each row so the figure reads without the table.

``rows`` columns: label, hr, hr_lower, hr_upper, kind ("pooled": a diamond; "prediction
interval": a dashed line from hr_lower to hr_upper, where a new cohort's HR is expected;
"reference": the reference level of a categorical variable, no estimate; anything else: a
square with its CI), and optionally ``variable`` (a left column naming the variable on the
first of its rows, with alternate variables shaded) and ``p``.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import NullLocator
from matplotlib.transforms import blended_transform_factory

from mgsurv.report.figures import OKABE_ITO, figure_svg
from mgsurv.report.formatting import format_p

ROW_HEIGHT_INCHES = 0.38
HR_TICKS = (0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10)
# Over a wide range (highest / lowest above WIDE) the ticks thin out so labels never touch.
WIDE_TICKS = (0.1, 0.25, 0.5, 1, 2, 5, 10)
WIDE = 8.0
POOLED = "pooled"
PREDICTION = "prediction interval"
REFERENCE = "reference"
DEFAULT_XLABEL = "Hazard ratio, low vs normal serum Mg (log scale)"
SHADE = "#f0f0f0"
MUTED = "#555555"


class TextKwargs(TypedDict, total=False):
    """Text properties passed as keyword arguments (``ax.text(x, y, s, **style)``)."""

    color: str
    style: str


def _diamond(ax: Axes, y: float, hr: float, lower: float, upper: float, colour: str) -> None:
    ax.fill([lower, hr, upper, hr], [y, y + 0.28, y, y - 0.28], color=colour, zorder=3)


def _estimate_text(row) -> str:
    if row.kind == REFERENCE:
        return "reference"
    if row.kind == PREDICTION:
        return f"({row.hr_lower:.2f}–{row.hr_upper:.2f})"
    if not np.isfinite(row.hr):
        return "NE"
    return f"{row.hr:.2f} ({row.hr_lower:.2f}–{row.hr_upper:.2f})"


def _x_range(rows: pd.DataFrame) -> tuple[float, float]:
    finite = rows[["hr_lower", "hr_upper"]].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    low = min(0.5, finite.min() * 0.9) if finite.size else 0.5
    high = max(2.0, finite.max() * 1.1) if finite.size else 2.0
    return low, high


def _draw_row(ax: Axes, row, y: float) -> None:
    if row.kind == REFERENCE:
        ax.plot([1.0], [y], "o", mfc="white", mec=MUTED, ms=5, zorder=3)
    elif row.kind == PREDICTION:
        ax.plot([row.hr_lower, row.hr_upper], [y, y], color=OKABE_ITO[1], lw=1.5, ls="--")
        ax.plot([row.hr_lower, row.hr_upper], [y, y], "|", color=OKABE_ITO[1], ms=8)
    elif not np.isfinite(row.hr):
        ax.text(1.0, y, "not estimable", ha="center", va="center", fontsize=8)
    elif row.kind == POOLED:
        _diamond(ax, y, row.hr, row.hr_lower, row.hr_upper, OKABE_ITO[1])
    else:
        ax.plot([row.hr_lower, row.hr_upper], [y, y], color=OKABE_ITO[0], lw=1.5)
        ax.plot([row.hr], [y], "s", color=OKABE_ITO[0], ms=6)


def _variable_column(fig: Figure, ax: Axes, rows: pd.DataFrame) -> None:
    """Each variable's name on its first row, alternate variables shaded."""
    n = len(rows)
    on_figure = blended_transform_factory(fig.transFigure, ax.transData)
    variables = rows["variable"].astype(str).tolist()
    block = -1
    for i, variable in enumerate(variables):
        y = n - 1 - i
        first = i == 0 or variable != variables[i - 1]
        block += first
        if block % 2 == 1:
            band = Rectangle((0.005, y - 0.5), 0.99, 1.0, transform=on_figure, color=SHADE,
                             lw=0, zorder=0, clip_on=False)  # fmt: skip
            ax.add_patch(band)
        if first:
            ax.text(0.015, y, variable, transform=on_figure, va="center", fontsize=9, weight="bold")


def forest_figure(
    rows: pd.DataFrame,
    title: str,
    *,
    xlabel: str = DEFAULT_XLABEL,
    variable_header: str = "Variable",
    left: float | None = None,
) -> Figure:
    """Forest plot of ``rows`` top to bottom (module docstring); a Figure to save or inline.
    ``variable_header`` heads the variable column (when the rows have one); ``left`` (a
    fraction of the width) is where the plot starts, for longer labels than usual."""
    n = len(rows)
    with_variable = "variable" in rows.columns
    with_p = "p" in rows.columns
    fig = Figure(figsize=(9.0 if with_variable else 7.5, 1.3 + ROW_HEIGHT_INCHES * n))
    ax = fig.subplots()
    default_left, right = (0.36, 0.74) if with_variable else (0.3, 0.78 if not with_p else 0.7)
    left = default_left if left is None else left
    fig.subplots_adjust(
        left=left, right=right, bottom=0.6 / fig.get_figheight(), top=1 - 0.7 / fig.get_figheight()
    )
    low, high = _x_range(rows)
    text_size = 9 if with_variable else 8
    on_figure = blended_transform_factory(fig.transFigure, ax.transData)
    for i, row in enumerate(rows.itertuples()):
        y = n - 1 - i
        _draw_row(ax, row, y)
        muted: TextKwargs = {"color": MUTED, "style": "italic"} if row.kind == REFERENCE else {}
        ax.text(right + 0.015, y, _estimate_text(row), transform=on_figure, va="center",
                fontsize=text_size, **muted)  # fmt: skip
        if with_p and row.kind != REFERENCE:
            ax.text(right + 0.165, y, format_p(row.p), transform=on_figure, va="center",
                    fontsize=text_size)  # fmt: skip
    if with_variable:
        _variable_column(fig, ax, rows)
    header_y = n - 0.3 + 0.25
    headers = [(right + 0.015, "HR (95% CI)")] + ([(right + 0.165, "p")] if with_p else [])
    if with_variable:
        headers.append((0.015, variable_header))
    for x, text in headers:
        ax.text(x, header_y, text, transform=on_figure, va="bottom", fontsize=text_size,
                weight="bold")  # fmt: skip
    ax.axvline(1.0, color="0.4", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ticks = [t for t in (WIDE_TICKS if high / low > WIDE else HR_TICKS) if low <= t <= high]
    ax.set_xticks(ticks, labels=[f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_yticks(range(n - 1, -1, -1), labels=list(rows["label"]))
    ax.tick_params(axis="y", length=0, labelsize=9)
    ax.set_xlabel(xlabel)
    if with_variable:
        fig.text(0.015, 1 - 0.1 / fig.get_figheight(), title, va="top", fontsize=10)
    else:
        ax.set_title(title, fontsize=10, pad=18)
    ax.spines[["top", "right", "left"] if with_variable else ["top", "right"]].set_visible(False)
    return fig


def forest_svg(rows: pd.DataFrame, title: str, id_prefix: str = "", **options: Any) -> str:
    """:func:`forest_figure` as inline SVG text (``id_prefix`` makes its ids unique)."""
    return figure_svg(forest_figure(rows, title, **options), id_prefix)
