"""Serum-Mg groupings added as columns: the clinical threshold and sample quartiles.

* ``mg_clinical``: ``low`` when Mg < threshold (default 0.70 mmol/L, pre-specified), else
  ``normal``.
* ``mg_quartile``: ``Q1``..``Q4`` split at the sample quartiles (R's default quantile type 7),
  intervals closed on the right as R's ``cut(..., include.lowest = TRUE)``, so patients
  sharing a boundary value fall in the lower quartile.
* ``mg_cutpoint`` (exploratory): ``low`` when Mg <= the data-driven cut-point of
  :mod:`mgsurv.cutpoint` (maximally selected log-rank statistic), else ``high``. Its
  p-value must be the Lausen-Schumacher corrected one; reported beside, never instead of,
  the pre-specified threshold.

``mg_groups`` records the boundaries and sizes so the report can state how each group was
defined (REMARK item 11).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUPINGS = ("mg_clinical", "mg_quartile", "mg_cutpoint")
GROUP_ORDER = {
    "mg_clinical": ["normal", "low"],
    "mg_quartile": ["Q1", "Q2", "Q3", "Q4"],
    "mg_cutpoint": ["high", "low"],
}
# Reference group of each grouping in Cox models and in "low vs normal" contrasts.
REFERENCE_GROUP = {"mg_clinical": "normal", "mg_quartile": "Q1", "mg_cutpoint": "high"}


def quartile_edges(mg: pd.Series) -> np.ndarray:
    """Minimum, the three sample quartiles (type 7) and maximum."""
    return np.quantile(mg.to_numpy(dtype=float), [0.0, 0.25, 0.5, 0.75, 1.0])


def add_groupings(
    data: pd.DataFrame, threshold_mmol_l: float, cutpoint_mmol_l: float = np.nan
) -> pd.DataFrame:
    """Return a copy of data with the mg_clinical, mg_quartile and mg_cutpoint columns
    (mg_cutpoint missing for everyone when no cut-point could be estimated)."""
    out = data.copy()
    mg = out["mg_mmol_l"].to_numpy()
    if np.isnan(cutpoint_mmol_l):
        out["mg_cutpoint"] = pd.Series(None, index=out.index, dtype=object)
    else:
        out["mg_cutpoint"] = _labels(["high", "low"], mg <= cutpoint_mmol_l)
    out["mg_clinical"] = _labels(["normal", "low"], mg < threshold_mmol_l)
    edges = quartile_edges(out["mg_mmol_l"])
    out["mg_quartile"] = _labels(
        GROUP_ORDER["mg_quartile"], np.searchsorted(edges[1:4], mg, side="left")
    )
    return out


def _labels(labels: list[str], which: np.ndarray) -> np.ndarray:
    """labels[which] per patient, as an object array sharing the label strings (a text
    array would become one new string object per patient in the table)."""
    return np.array(labels, dtype=object)[which.astype(np.intp)]


def group_definitions(
    data: pd.DataFrame, threshold_mmol_l: float, cutpoint_mmol_l: float = np.nan
) -> pd.DataFrame:
    """One row per group: its Mg interval in mmol/L (as text and bounds) and its size."""
    edges = quartile_edges(data["mg_mmol_l"])
    rows = [
        ("mg_clinical", "low", np.nan, threshold_mmol_l, f"< {threshold_mmol_l:g}"),
        ("mg_clinical", "normal", threshold_mmol_l, np.nan, f">= {threshold_mmol_l:g}"),
    ]
    if not np.isnan(cutpoint_mmol_l):
        rows += [
            ("mg_cutpoint", "low", np.nan, cutpoint_mmol_l, f"<= {cutpoint_mmol_l:g}"),
            ("mg_cutpoint", "high", cutpoint_mmol_l, np.nan, f"> {cutpoint_mmol_l:g}"),
        ]
    for i, label in enumerate(GROUP_ORDER["mg_quartile"]):
        opening = "[" if i == 0 else "("
        rows.append(
            (
                "mg_quartile",
                label,
                edges[i],
                edges[i + 1],
                f"{opening}{edges[i]:.3g}, {edges[i + 1]:.3g}]",
            )
        )
    table = pd.DataFrame(rows, columns=["grouping", "group", "mg_from", "mg_to", "definition"])
    counts = {(g, v): int(n) for g in GROUPINGS for v, n in data[g].value_counts().items()}
    table["n"] = [
        counts.get((g, v), 0) for g, v in zip(table["grouping"], table["group"], strict=True)
    ]
    return table
