"""Baseline serum magnesium in mmol/L: the units mgsurv converts, and the plausibility
checks that catch a unit mix-up (mg/dL labelled mmol/L, or the reverse)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mgsurv.cohort.cells import line_numbers, parse_numbers, reject_rows
from mgsurv.cohort.mapping import Mapping
from mgsurv.errors import InputError

# Serum Mg in mmol/L per unit of the input. Mg's standard atomic weight is 24.305 g/mol
# (IUPAC, abridged), so 1 mmol/L = 24.305 mg/L = 2.4305 mg/dL; Mg2+ is divalent, so
# 1 mmol/L = 2 mEq/L. (2.43 is the rounded form for prose only.)
MG_DL_PER_MMOL_L = 2.4305
MMOL_L_PER_UNIT = {"mmol/L": 1.0, "mg/dL": 1 / MG_DL_PER_MMOL_L, "mEq/L": 0.5}
# Serum Mg outside this range (mmol/L) is not a plausible human value.
MG_PLAUSIBLE_MMOL_L = (0.1, 5.0)
# A median above this "in mmol/L" almost surely means mg/dL (normal: 0.70-1.00 mmol/L,
# 1.7-2.4 mg/dL).
MG_MEDIAN_SUGGESTS_MG_DL = 1.4
# A median below this after converting from mg/dL or mEq/L means the values were mmol/L
# (0.8 mmol/L read as mg/dL becomes 0.33 mmol/L; severe hypomagnesaemia is < 0.5).
MG_MEDIAN_SUGGESTS_MMOL_L = 0.45


def mg_in_mmol_l(table: pd.DataFrame, path: str, mapping: Mapping) -> pd.Series:
    """Serum Mg converted to mmol/L, with unit and plausibility checks."""
    column = mapping.column("mg")
    raw = parse_numbers(table[column], path=path, column=column, mapping=mapping, what="serum Mg")
    reject_rows(
        raw <= 0,
        "serum Mg is zero or negative",
        file=path,
        column=column,
        fix="correct these values, or blank them if not measured (the patient is then excluded)",
    )
    mg = raw * MMOL_L_PER_UNIT[mapping.mg_unit]
    median = mg.median() if mg.notna().any() else np.nan
    if mapping.mg_unit == "mmol/L" and median > MG_MEDIAN_SUGGESTS_MG_DL:
        raise InputError(
            f"serum Mg has median {median:.2f}, which looks like mg/dL, not mmol/L",
            file=path,
            column=column,
            rows=line_numbers(mg > MG_MEDIAN_SUGGESTS_MG_DL),
            fix=f"set units.mg: mg/dL in {mapping.path} if the values are in mg/dL",
        )
    if mapping.mg_unit != "mmol/L" and median < MG_MEDIAN_SUGGESTS_MMOL_L:
        raise InputError(
            f"serum Mg has median {median:.2f} mmol/L after conversion from {mapping.mg_unit}"
            f" (raw median {raw.median():.2f}), which looks like mmol/L, not {mapping.mg_unit}",
            file=path,
            column=column,
            rows=line_numbers(mg < MG_MEDIAN_SUGGESTS_MMOL_L),
            fix=f"set units.mg: mmol/L in {mapping.path} if the values are in mmol/L",
        )
    low, high = MG_PLAUSIBLE_MMOL_L
    reject_rows(
        (mg < low) | (mg > high),
        f"serum Mg outside the plausible {low}-{high} mmol/L after conversion from"
        f" {mapping.mg_unit}",
        file=path,
        column=column,
        fix=f"correct these values, or set units.mg in {mapping.path} (mmol/L, mg/dL or mEq/L)",
    )
    return mg
