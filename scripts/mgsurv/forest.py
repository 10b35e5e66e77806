"""Forest plots of hazard ratios (inline SVG): one row per estimate, pooled rows as diamonds.

Used by the multi-cohort overview (per-cohort low-Mg HRs with the pooled estimates); the
x axis is logarithmic with a reference line at HR = 1, the HR and CI are printed beside
each row so the figure reads without the table.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import NullLocator  # noqa: E402

from mgsurv.figures import OKABE_ITO, SVG_RC, prefix_ids, svg_text  # noqa: E402

ROW_HEIGHT_INCHES = 0.38
HR_TICKS = (0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10)
POOLED = "pooled"


def _diamond(ax, y: float, hr: float, lower: float, upper: float, colour: str) -> None:
    ax.fill([lower, hr, upper, hr], [y, y + 0.28, y, y - 0.28], color=colour, zorder=3)


def forest_svg(rows: pd.DataFrame, title: str, id_prefix: str = "") -> str:
    """Forest plot of ``rows`` (columns label, hr, hr_lower, hr_upper, kind) top to bottom;
    kind "pooled" rows are drawn as diamonds. Rows without an estimate show "not estimable".
    """
    n = len(rows)
    with plt.rc_context(SVG_RC):
        fig, ax = plt.subplots(figsize=(7.5, 1.2 + ROW_HEIGHT_INCHES * n))
        finite = rows[["hr_lower", "hr_upper"]].to_numpy(dtype=float)
        finite = finite[np.isfinite(finite)]
        low = min(0.5, finite.min() * 0.9) if finite.size else 0.5
        high = max(2.0, finite.max() * 1.1) if finite.size else 2.0
        for i, row in enumerate(rows.itertuples()):
            y = n - 1 - i
            if not np.isfinite(row.hr):
                ax.text(1.0, y, "not estimable", ha="center", va="center", fontsize=8)
            elif row.kind == POOLED:
                _diamond(ax, y, row.hr, row.hr_lower, row.hr_upper, OKABE_ITO[1])
            else:
                ax.plot([row.hr_lower, row.hr_upper], [y, y], color=OKABE_ITO[0], lw=1.5)
                ax.plot([row.hr], [y], "s", color=OKABE_ITO[0], ms=6)
            text = (
                f"{row.hr:.2f} ({row.hr_lower:.2f}–{row.hr_upper:.2f})"
                if np.isfinite(row.hr)
                else "NE"
            )
            ax.annotate(
                text, xy=(1.01, y), xycoords=("axes fraction", "data"), va="center", fontsize=8
            )
        ax.axvline(1.0, color="0.4", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlim(low, high)
        ticks = [t for t in HR_TICKS if low <= t <= high]
        ax.set_xticks(ticks, labels=[f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_yticks(range(n - 1, -1, -1), labels=list(rows["label"]))
        ax.set_xlabel("Hazard ratio, low vs normal serum Mg (log scale)")
        ax.set_title(title, fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
        fig.subplots_adjust(left=0.3, right=0.78, bottom=0.6 / fig.get_figheight())
        svg = svg_text(fig)
        plt.close(fig)
    return prefix_ids(svg, id_prefix)
