"""Baseline serum Mg from a lab table: every Mg measurement as a row (patient, when, value,
unit), read beside the cohort file (mapping key ``mg_lab``, :class:`LabTable`).

Each row's value is converted to mmol/L by its own unit (or units.mg), and each patient's
baseline is the measurement closest to treatment start within the window (from
``window_days`` before day 0 to day ``last_day``; before the start wins a tie with after),
the mean of several on that day. A patient without one has no baseline Mg and is excluded
in the flow's Mg step, whose reason states the rule. Measurements outside the window,
without a day (a missing date, or a patient without a start date) or of patients not in
the cohort are not used, and counted for the Methods; rows without a value are skipped. No
lab ID matching a cohort ID at all (e.g. "1" against "001") is an error. Errors name the
lab file, its column and rows: a unit not listed, a value that is not a number, not
positive or implausible after conversion, a measurement date that does not read. Time-
updated Mg (every measurement over follow-up) is out of scope.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from mgsurv.cohort.cells import (
    missing_cells,
    parse_dates,
    parse_numbers,
    reject_rows,
    require_columns,
)
from mgsurv.cohort.csv_file import read_text_table
from mgsurv.cohort.mapping import LabTable, Mapping
from mgsurv.cohort.serum_mg import MG_PLAUSIBLE_MMOL_L, MMOL_L_PER_UNIT
from mgsurv.errors import InputError

# Units as lab systems write them, compared lower case without spaces.
UNIT_NAMES = {unit.lower(): unit for unit in MMOL_L_PER_UNIT} | {
    "mmol/l": "mmol/L",
    "mg/dl": "mg/dL",
    "meq/l": "mEq/L",
}


@dataclass(frozen=True)
class LabBaseline:
    """Each cohort row's baseline Mg (mmol/L, NaN when none) and what the table held."""

    mg: pd.Series
    measurements: int  # rows with a value
    used_patients: int  # cohort patients with a baseline
    outside_window: int  # measurements of cohort patients outside the window
    undated: int  # measurements of cohort patients without a day (no date or start date)
    other_patients: int  # measurements of patients not in the cohort


def _units(table: pd.DataFrame, lab: LabTable, mapping: Mapping) -> pd.Series:
    """Each row's unit as mgsurv names it (units.mg without a unit column)."""
    if lab.unit is None:
        return pd.Series(mapping.mg_unit, index=table.index)
    units = table[lab.unit].str.replace(" ", "").str.lower().map(UNIT_NAMES)
    unknown = units.isna() & ~missing_cells(table[lab.unit])
    reject_rows(
        unknown,
        f"unit(s) {sorted(set(table.loc[unknown, lab.unit]))} of the lab table are not"
        " mmol/L, mg/dL or mEq/L",
        file=lab.file,
        column=lab.unit,
        fix="convert these measurements, or write their unit as mmol/L, mg/dL or mEq/L",
    )
    return units.fillna(mapping.mg_unit)


def _mmol_l(table: pd.DataFrame, lab: LabTable, mapping: Mapping) -> pd.Series:
    """Each measurement in mmol/L (NaN without a value), with the cohort column's checks."""
    raw = parse_numbers(
        table[lab.value], path=lab.file, column=lab.value, mapping=mapping, what="serum Mg"
    )
    reject_rows(
        raw <= 0,
        "serum Mg is zero or negative",
        file=lab.file,
        column=lab.value,
        fix="correct or remove these measurements",
    )
    units = _units(table, lab, mapping)
    mg = raw * units.map(MMOL_L_PER_UNIT)
    low, high = MG_PLAUSIBLE_MMOL_L
    reject_rows(
        (mg < low) | (mg > high),
        f"serum Mg outside the plausible {low}-{high} mmol/L after conversion from its unit",
        file=lab.file,
        column=lab.value,
        fix="correct these values or their unit (mmol/L, mg/dL or mEq/L)",
    )
    return mg


def _days(
    table: pd.DataFrame, lab: LabTable, mapping: Mapping, starts: pd.Series | None
) -> pd.Series:
    """Each measurement's day from treatment start (day 0)."""
    if lab.day is not None:
        return parse_numbers(
            table[lab.day], path=lab.file, column=lab.day, mapping=mapping, what="day"
        )
    assert lab.date is not None and starts is not None  # load_mapping requires start_date
    taken = parse_dates(table[lab.date], path=lab.file, column=lab.date, mapping=mapping)
    start = table[lab.patient_id].map(starts)
    return (taken - start).dt.days.astype(float)


def baseline_from_lab(ids: pd.Series, starts: pd.Series | None, mapping: Mapping) -> LabBaseline:
    """The baseline Mg of each cohort row (``ids``: its patient IDs; ``starts``: treatment
    start dates by patient ID, when the lab table gives dates)."""
    lab = mapping.mg_lab
    assert lab is not None
    if not Path(lab.file).is_file():
        raise InputError(
            "lab table file not found",
            file=lab.file,
            fix=f"check mg_lab.file in {mapping.path} (relative paths start from the working"
            " directory)",
        )
    table = read_text_table(lab.file, replace(mapping, sheet=None))
    wanted = {"patient_id": lab.patient_id, "value": lab.value}
    wanted |= {k: c for k in ("unit", "date", "day") if (c := getattr(lab, k)) is not None}
    require_columns(table, {f"mg_lab.columns.{k}": c for k, c in wanted.items()}, lab.file, mapping)
    mg = _mmol_l(table, lab, mapping)
    days = _days(table, lab, mapping, starts)
    measured = mg.notna() & days.notna()
    in_cohort = table[lab.patient_id].isin(set(ids))
    if mg.notna().any() and not in_cohort.any():
        raise InputError(
            "no patient ID of the lab table occurs in the cohort file (lab:"
            f" {', '.join(map(repr, table[lab.patient_id].unique()[:3]))}; cohort:"
            f" {', '.join(map(repr, ids.unique()[:3]))})",
            file=lab.file,
            column=lab.patient_id,
            fix="write the IDs as the cohort file does (leading zeros, prefixes), or check"
            " mg_lab.columns.patient_id",
        )
    window = days.between(-lab.window_days, lab.last_day)
    used = pd.DataFrame(
        {
            "patient": table[lab.patient_id],
            "distance": days.abs(),
            "day": days,
            "mg": mg,
        }
    )[measured & in_cohort & window]
    closest = used.sort_values(["patient", "distance", "day"]).groupby("patient").head(1)
    on_day = used.merge(closest[["patient", "day"]], on=["patient", "day"])
    baseline = on_day.groupby("patient")["mg"].mean()
    return LabBaseline(
        mg=ids.map(baseline).astype(float),
        measurements=int(mg.notna().sum()),
        used_patients=int(ids.isin(baseline.index).sum()),
        outside_window=int((measured & in_cohort & ~window).sum()),
        undated=int((mg.notna() & in_cohort & days.isna()).sum()),
        other_patients=int((mg.notna() & ~in_cohort).sum()),
    )


def baseline_text(lab: LabTable, baseline: LabBaseline) -> str:
    """What the Methods say about the baseline Mg of a lab table."""
    return (
        f"Baseline serum magnesium was taken from a table of {baseline.measurements}"
        f" measurements: for each patient, {lab.rule()} (day 0 = treatment start; the mean"
        " of several on that day), each converted to mmol/L by its own unit. Patients without"
        f" one were excluded. Not used: {baseline.outside_window} measurements outside that"
        f" window, {baseline.undated} without a day from treatment start and"
        f" {baseline.other_patients} of patients not in the cohort."
    )
