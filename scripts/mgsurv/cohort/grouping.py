"""Serum-Mg groupings added as columns: the clinical threshold and sample quartiles.

* ``mg_clinical``: ``low`` when Mg < threshold (default 0.70 mmol/L, pre-specified), else
  ``normal``.
* ``mg_quartile``: ``Q1``..``Q4`` split at the sample quartiles (R's default quantile type 7),
  intervals closed on the right as R's ``cut(..., include.lowest = TRUE)``, so patients
  sharing a boundary value fall in the lower quartile.
* ``mg_cutpoint`` (exploratory): ``low`` when Mg <= the data-driven cut-point of
  :mod:`mgsurv.stats.cutpoint` (maximally selected log-rank statistic), else ``high``. Its
  p-value must be the Lausen-Schumacher corrected one; reported beside, never instead of,
  the pre-specified threshold.

The names of the groupings and their groups are the results contract's
(:data:`mgsurv.contract.GROUP_ORDER`). ``mg_groups`` records the boundaries and sizes so the
report can state how each group was defined (REMARK item 11).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mgsurv.contract import (
    CLINICAL_GROUPING,
    COHORT_TABLES,
    CUTPOINT_GROUPING,
    GROUP_ORDER,
    GROUPINGS,
    HIGH,
    LOW,
    MG_COLUMN,
    NORMAL,
    QUARTILE_GROUPING,
)


def quartile_edges(mg: pd.Series) -> np.ndarray:
    """Minimum, the three sample quartiles (type 7) and maximum."""
    return np.quantile(mg.to_numpy(dtype=float), [0.0, 0.25, 0.5, 0.75, 1.0])


def add_groupings(
    data: pd.DataFrame, threshold_mmol_l: float, cutpoint_mmol_l: float = np.nan
) -> pd.DataFrame:
    """Return a copy of data with the mg_clinical, mg_quartile and mg_cutpoint columns
    (mg_cutpoint missing for everyone when no cut-point could be estimated)."""
    out = data.copy()
    mg = out[MG_COLUMN].to_numpy()
    if np.isnan(cutpoint_mmol_l):
        out[CUTPOINT_GROUPING] = pd.Series(None, index=out.index, dtype=object)
    else:
        out[CUTPOINT_GROUPING] = _labels(GROUP_ORDER[CUTPOINT_GROUPING], mg <= cutpoint_mmol_l)
    out[CLINICAL_GROUPING] = clinical_groups(mg, threshold_mmol_l)
    edges = quartile_edges(out[MG_COLUMN])
    out[QUARTILE_GROUPING] = _labels(
        GROUP_ORDER[QUARTILE_GROUPING], np.searchsorted(edges[1:4], mg, side="left")
    )
    return out


def clinical_groups(mg: np.ndarray, threshold_mmol_l: float) -> np.ndarray:
    """Each patient's clinical Mg group at a threshold: low when Mg < threshold."""
    return _labels(GROUP_ORDER[CLINICAL_GROUPING], mg < threshold_mmol_l)


def _labels(labels: list[str], which: np.ndarray) -> np.ndarray:
    """labels[which] per patient, as an object array sharing the label strings (a text
    array would become one new string object per patient in the table)."""
    return np.array(labels, dtype=object)[which.astype(np.intp)]


def group_definitions(
    data: pd.DataFrame, threshold_mmol_l: float, cutpoint_mmol_l: float = np.nan
) -> pd.DataFrame:
    """One row per group: its Mg interval in mmol/L (as text and bounds) and its size."""
    edges = quartile_edges(data[MG_COLUMN])
    rows = [
        (CLINICAL_GROUPING, LOW, np.nan, threshold_mmol_l, f"< {threshold_mmol_l:g}"),
        (CLINICAL_GROUPING, NORMAL, threshold_mmol_l, np.nan, f">= {threshold_mmol_l:g}"),
    ]
    if not np.isnan(cutpoint_mmol_l):
        rows += [
            (CUTPOINT_GROUPING, LOW, np.nan, cutpoint_mmol_l, f"<= {cutpoint_mmol_l:g}"),
            (CUTPOINT_GROUPING, HIGH, cutpoint_mmol_l, np.nan, f"> {cutpoint_mmol_l:g}"),
        ]
    for i, label in enumerate(GROUP_ORDER[QUARTILE_GROUPING]):
        opening = "[" if i == 0 else "("
        rows.append(
            (
                QUARTILE_GROUPING,
                label,
                edges[i],
                edges[i + 1],
                f"{opening}{edges[i]:.3g}, {edges[i + 1]:.3g}]",
            )
        )
    table = pd.DataFrame(rows, columns=list(COHORT_TABLES["mg_groups"][:-1]))
    counts = {(g, v): int(n) for g in GROUPINGS for v, n in data[g].value_counts().items()}
    table["n"] = [
        counts.get((g, v), 0) for g, v in zip(table["grouping"], table["group"], strict=True)
    ]
    return table


def present_groupings(data: pd.DataFrame) -> list[str]:
    """The groupings that place at least one patient (the cut-point may be missing)."""
    return [grouping for grouping in GROUPINGS if data[grouping].notna().any()]


def groups_of(data: pd.DataFrame):
    """(grouping, group, patients) for every non-empty Mg group, in display order."""
    for grouping in GROUPINGS:
        for group in GROUP_ORDER[grouping]:
            subset = data[data[grouping] == group]
            if not subset.empty:
                yield grouping, group, subset
