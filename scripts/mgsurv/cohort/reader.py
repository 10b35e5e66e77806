"""Read a cohort CSV through its mapping into the analysis-ready table, or say exactly why not.

Every cell is read as text first, so that a value that cannot be used is reported with its
column and line number instead of being silently coerced. Three kinds of outcome:

* errors (:class:`InputError`): the file or a value is wrong and the user must fix it.
  Nothing is analysed and no result is written. The message names the file, the column,
  the line numbers (as an editor shows them: the header is usually line 1) and the fix.
* exclusions: a patient cannot be analysed because a required value is missing (no Mg, no
  survival time, no event status, no arm). The patient is left out with a reason, counted in
  the patient flow and listed in the exclusions table.
* valid but degenerate data: analysed, and the result tables say what could not be
  estimated and why (see :mod:`mgsurv.analysis.endpoint`).

The file is read by :mod:`mgsurv.cohort.csv_file` (every cell as text, or a message naming
what is wrong with the file); this module checks the columns and the values, with the
parsers of :mod:`mgsurv.cohort.cells` and the serum Mg checks of
:mod:`mgsurv.cohort.serum_mg`. A mapped column
missing from the file is an error (a header differing only in case or spacing is suggested).
Errors in the values: duplicated or empty patient IDs; Mg, times or numeric covariates that
are not numbers (a decimal comma is named), infinite; times zero or negative, beyond 50
years, or with a median beyond 10 years after conversion (a unit mix-up: days labelled
months); event codes that the mapping does not list (R's 1/2 convention is named; ``1.0``
reads as ``1``); Mg zero or negative, outside 0.1-5 mmol/L after conversion, or whose median
says the unit is wrong (above 1.4 "mmol/L" looks like mg/dL; below 0.45 mmol/L after
converting "mg/dL" or "mEq/L" looks like mmol/L); PFS longer than OS (a progression after
death or after the last follow-up); dates that do not match ``date_format`` (Excel serial
numbers are named), in the future or before 1980, an event or follow-up date before
treatment start, a progression after death or after the last follow-up; a categorical
covariate whose configured reference level never occurs, or with a value not among its
configured levels. Missing values of Mg, time, event
or arm exclude the patient (not an error); a missing covariate is kept (each Cox model uses
its complete cases).

Valid but degenerate (analysed, never an error here): every patient censored on an
endpoint (HRs and medians not estimable; the report says so), no patient on one side of
the Mg threshold (the analyses of that grouping are not estimable), a covariate that is
constant or missing for everyone (left out of the models, with the reason in
``cox_models.note``), very few patients or events. The one exception is a cohort with fewer
than two analysable patients, stopped in :func:`mgsurv.cohort.prepare.prepare`: one patient allows
no comparison and no estimate, and such a "cohort" is nearly always a filter or export
mistake that a report of blank tables would hide.

The output has mgsurv's column names (the results contract, :mod:`mgsurv.contract`): times
in months, Mg in mmol/L, events as 0/1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from mgsurv.cohort.cells import (
    line_numbers,
    missing_cells,
    parse_dates,
    parse_events,
    parse_numbers,
    reject_rows,
    require_columns,
)
from mgsurv.cohort.csv_file import read_text_table
from mgsurv.cohort.lab_mg import baseline_from_lab, baseline_text
from mgsurv.cohort.mapping import Mapping
from mgsurv.cohort.serum_mg import mg_in_mmol_l
from mgsurv.contract import (
    ARM_COLUMN,
    ENDPOINTS,
    EXCLUDED_COLUMNS,
    FLOW_COLUMNS,
    MG_COLUMN,
    event_column,
    time_column,
)
from mgsurv.errors import InputError

DAYS_PER_MONTH = 365.25 / 12
MONTHS_PER_UNIT = {
    "days": 1 / DAYS_PER_MONTH,
    "weeks": 7 / DAYS_PER_MONTH,
    "months": 1.0,
    "years": 12.0,
}
# No survival or follow-up time after immunotherapy can exceed this (months, 50 years).
MAX_MONTHS = 600.0
# A median PFS or OS time above this (months, 10 years) means days or weeks labelled months.
MAX_MEDIAN_MONTHS = 120.0
# Converted times are rounded so that equal durations given in other units stay exact ties.
TIME_DECIMALS = 6


@dataclass(frozen=True)
class PreparedCohort:
    """The analysable patients, the patient flow and the excluded patients with reasons."""

    data: pd.DataFrame
    flow: pd.DataFrame
    excluded: pd.DataFrame
    data_cutoff: str | None = None
    # How baseline Mg was taken from a lab table, for the Methods ("" from the Mg column).
    baseline_mg: str = ""


def _to_months(values: pd.Series, unit: str) -> pd.Series:
    return (values * MONTHS_PER_UNIT[unit]).round(TIME_DECIMALS)


def _check_times(months: pd.Series, *, path: str, column: str, what: str, mapping: Mapping):
    """Times must be positive and shorter than 50 years."""
    reject_rows(
        months <= 0,
        f"{what} must be positive; found zero or negative values",
        file=path,
        column=column,
        fix="check these rows: a time runs from treatment start to the event or last"
        " follow-up and is greater than zero",
    )
    median = months.median() if months.notna().any() else np.nan
    if not mapping.uses_dates and median > MAX_MEDIAN_MONTHS:
        raise InputError(
            f"{what} has median {median:.0f} months after conversion from {mapping.time_unit},"
            f" over {MAX_MEDIAN_MONTHS / 12:.0f} years: the unit looks wrong",
            file=path,
            column=column,
            rows=line_numbers(months > MAX_MEDIAN_MONTHS),
            fix=f"set units.time in {mapping.path} to the unit of these values (days? weeks?)",
        )
    reject_rows(
        months > MAX_MONTHS,
        f"{what} is longer than {MAX_MONTHS / 12:.0f} years after conversion from"
        f" {mapping.time_unit if not mapping.uses_dates else 'dates'}",
        file=path,
        column=column,
        fix=f"check units.time in {mapping.path} (days or weeks labelled months?) and these values",
    )


def survival_from_times(table: pd.DataFrame, path: str, mapping: Mapping) -> pd.DataFrame:
    """PFS and OS in months with 0/1 events, from duration and event columns."""
    out = {}
    for endpoint in ENDPOINTS:
        time_col = mapping.column(f"{endpoint}_time")
        event_col = mapping.column(f"{endpoint}_event")
        raw = parse_numbers(
            table[time_col],
            path=path,
            column=time_col,
            mapping=mapping,
            what=f"{endpoint.upper()} time",
        )
        months = _to_months(raw, mapping.time_unit)
        _check_times(
            months, path=path, column=time_col, what=f"{endpoint.upper()} time", mapping=mapping
        )
        out[time_column(endpoint)] = months
        out[event_column(endpoint)] = parse_events(
            table[event_col], path=path, column=event_col, mapping=mapping, endpoint=endpoint
        )
    return pd.DataFrame(out, index=table.index)


def _check_date_order(dates: dict[str, pd.Series], path: str, mapping: Mapping) -> None:
    """No date before treatment start; no progression after death or last follow-up."""
    start = dates["start_date"]
    for key in ("progression_date", "death_date", "last_followup_date"):
        reject_rows(
            dates[key] < start,
            f"{key.replace('_', ' ')} is before treatment start",
            file=path,
            column=mapping.columns[key],
            fix="check the dates in these rows (and date_format, day and month swapped?)",
        )
    progression = dates["progression_date"]
    reject_rows(
        progression > dates["death_date"],
        "progression date is after the death date",
        file=path,
        column=mapping.columns["progression_date"],
        fix="check the progression and death dates in these rows",
    )
    reject_rows(
        progression > dates["last_followup_date"],
        "progression date is after the last follow-up date (the last contact)",
        file=path,
        column=mapping.columns["progression_date"],
        fix="check these rows: the last follow-up must be on or after every recorded event",
    )


def survival_from_dates(table: pd.DataFrame, path: str, mapping: Mapping) -> pd.DataFrame:
    """PFS and OS in months with 0/1 events, from treatment start and event dates.

    OS ends at death, else last follow-up. PFS ends at the first of progression and death,
    else last follow-up. An event date before treatment start, and a progression after
    death or after the last follow-up, are errors.
    """
    dates = {
        key: parse_dates(table[column], path=path, column=column, mapping=mapping)
        if (column := mapping.columns.get(key))
        else pd.Series(pd.NaT, index=table.index)
        for key in ("start_date", "progression_date", "death_date", "last_followup_date")
    }
    _check_date_order(dates, path, mapping)
    start, death = dates["start_date"], dates["death_date"]
    first_pfs_event = dates["progression_date"].fillna(death)
    os_end = death.fillna(dates["last_followup_date"])
    pfs_end = first_pfs_event.fillna(dates["last_followup_date"])
    out = {}
    for endpoint, end, event in (
        ("os", os_end, death.notna()),
        ("pfs", pfs_end, first_pfs_event.notna()),
    ):
        days = (end - start).dt.days.astype(float)
        months = _to_months(days, "days")
        _check_times(
            months,
            path=path,
            column=mapping.column("start_date"),
            what=f"{endpoint.upper()} time from the dates",
            mapping=mapping,
        )
        out[time_column(endpoint)] = months
        out[event_column(endpoint)] = event.astype(float).where(end.notna() & start.notna())
    return pd.DataFrame(out, index=table.index)[
        [column for e in ENDPOINTS for column in (time_column(e), event_column(e))]
    ]


def latest_date(table: pd.DataFrame, path: str, mapping: Mapping) -> str | None:
    """The data cut-off as the data show it: the latest event or follow-up date (ISO)."""
    latest = [
        parse_dates(table[column], path=path, column=column, mapping=mapping).max()
        for key in ("progression_date", "death_date", "last_followup_date")
        if (column := mapping.columns.get(key))
    ]
    latest = [d for d in latest if pd.notna(d)]
    return max(latest).date().isoformat() if latest else None


def covariate_values(
    table: pd.DataFrame, covariates: list[dict], path: str, mapping: Mapping
) -> pd.DataFrame:
    """The configured covariates: numbers for numeric ones, text (or missing) otherwise.

    A categorical covariate's configured reference level must occur in the data (unless
    the covariate is missing for everyone: it is then left out of the models), and each of
    its values must be one of its configured ``levels`` when it has them.
    """
    out = {}
    for spec in covariates:
        name = spec["name"]
        column = mapping.covariate_columns.get(name)
        if column is None:
            raise InputError(
                f"covariate '{name}' (config.yaml) has no column in the mapping",
                file=mapping.path,
                fix=f"add '{name}: <CSV column>' under covariate_columns in {mapping.path},"
                " or remove it from covariates in the config",
            )
        values = table[column]
        if spec["type"] == "numeric":
            out[name] = parse_numbers(
                values, path=path, column=column, mapping=mapping, what=f"covariate {name}"
            )
            continue
        out[name] = values.where(~missing_cells(values))
        levels = sorted(out[name].dropna().unique())
        reference = spec.get("reference")
        if reference is not None and levels and str(reference) not in levels:
            raise InputError(
                f"covariate {name}: the reference level {str(reference)!r} (config) does not"
                f" occur; the values are {', '.join(map(repr, levels[:8]))}",
                file=path,
                column=column,
                fix=f"set the reference of covariate {name} in the config to one of these"
                " values, or recode the column",
            )
        listed = [str(level) for level in spec.get("levels") or []]
        if listed:
            unlisted = out[name].notna() & ~out[name].astype(str).isin(listed)
            reject_rows(
                unlisted,
                f"covariate {name}: value(s)"
                f" {', '.join(map(repr, sorted(out[name][unlisted].astype(str).unique())[:8]))}"
                f" are not among its levels in the config ({', '.join(map(repr, listed))})",
                file=path,
                column=column,
                fix=f"add them to the levels of covariate {name} in the config, or recode the"
                " column",
            )
    return pd.DataFrame(out, index=table.index)


def _check_unique_ids(ids: pd.Series, missing: pd.Series, path: str, column: str) -> None:
    duplicated = ids.duplicated(keep=False) & ~missing
    reject_rows(
        duplicated,
        f"patient IDs repeat ({', '.join(repr(v) for v in ids[duplicated].unique()[:3])})",
        file=path,
        column=column,
        fix="keep one row per patient (baseline Mg and first-line outcome)",
    )


def _check_pfs_within_os(survival: pd.DataFrame, path: str, mapping: Mapping) -> None:
    longer = survival[time_column("pfs")] > survival[time_column("os")]
    if longer.any():
        column = mapping.columns["pfs_time"] or mapping.columns["progression_date"]
        raise InputError(
            "PFS is longer than OS (progression-free time cannot outlast survival: a"
            " progression after death or after the last follow-up?)",
            file=path,
            column=column,
            rows=line_numbers(longer),
            fix="check PFS and OS times (and units) in these rows",
        )


class ExclusionStep(NamedTuple):
    """A step of the patient flow: its reason, the cohort columns whose missing values
    exclude a patient, and the mapping keys of the CSV columns they come from (with dates:
    ``dated_keys``)."""

    reason: str
    columns: list[str]
    keys: list[str]
    dated_keys: list[str]


DATED = ["start_date", "last_followup_date"]
EXCLUSION_STEPS = (
    ExclusionStep("missing serum Mg", [MG_COLUMN], ["mg"], ["mg"]),
    ExclusionStep(
        "missing PFS time or status",
        [time_column("pfs"), event_column("pfs")],
        ["pfs_time", "pfs_event"],
        DATED,
    ),
    ExclusionStep(
        "missing OS time or status",
        [time_column("os"), event_column("os")],
        ["os_time", "os_event"],
        DATED,
    ),
    ExclusionStep("missing treatment arm", [ARM_COLUMN], ["arm"], ["arm"]),
)


def exclusion_steps(mapping: Mapping) -> list[ExclusionStep]:
    """The exclusion steps of a cohort read with this mapping: every step but the arm's
    when the mapping has no arm column (a single-arm cohort has no arm to be missing); with
    a lab table, the Mg step's reason states the baseline rule."""
    steps = [
        step
        for step in EXCLUSION_STEPS
        if ARM_COLUMN not in step.columns or mapping.columns.get("arm") is not None
    ]
    if mapping.mg_lab is not None:
        reason = f"no serum Mg in the lab table ({mapping.mg_lab.rule()})"
        steps[0] = steps[0]._replace(reason=reason, keys=[], dated_keys=[])
    return steps


def apply_exclusions(
    data: pd.DataFrame, steps: Sequence[ExclusionStep] = EXCLUSION_STEPS
) -> PreparedCohort:
    """Drop patients lacking a required value, step by step, recording the patient flow.

    Each step marks the patients it drops among those the earlier steps kept; the table is
    filtered once, at the end (a copy of the whole table per step is costly at 10^6 rows).
    """
    flow_rows, excluded = [], []
    kept = np.ones(len(data), dtype=bool)
    for step, (reason, columns, _, _) in enumerate(steps, start=1):
        drop = data[columns].isna().any(axis=1).to_numpy() & kept
        n_before, n_excluded = int(kept.sum()), int(drop.sum())
        flow_rows.append(
            {
                "step": step,
                "reason": reason,
                "n_before": n_before,
                "n_excluded": n_excluded,
                "n_after": n_before - n_excluded,
            }
        )
        excluded.append(
            pd.DataFrame(
                {
                    "line": data.index[drop] + 2,
                    "patient_id": data.loc[drop, "patient_id"],
                    "reason": reason,
                }
            )
        )
        kept &= ~drop
    result = data.take(np.flatnonzero(kept))
    result.index = pd.RangeIndex(len(result))
    for column in map(event_column, ENDPOINTS):
        result[column] = result[column].astype(int)
    return PreparedCohort(
        data=result,
        flow=pd.DataFrame(flow_rows)[list(FLOW_COLUMNS)],
        excluded=pd.concat(excluded, ignore_index=True)[list(EXCLUDED_COLUMNS)],
    )


def baseline_mg(table: pd.DataFrame, path: str, mapping: Mapping) -> tuple[pd.Series, str]:
    """Each row's baseline serum Mg in mmol/L: from the Mg column, or from the lab table
    (with the Methods' sentence on how)."""
    lab = mapping.mg_lab
    if lab is None:
        return mg_in_mmol_l(table, path, mapping), ""
    ids = table[mapping.column("patient_id")]
    starts = None
    if lab.date is not None:  # by patient ID (unique once given: checked before)
        column = mapping.column("start_date")
        start = parse_dates(table[column], path=path, column=column, mapping=mapping)
        given = ~missing_cells(ids)
        starts = pd.Series(start[given].to_numpy(), index=ids[given].to_numpy())
    found = baseline_from_lab(ids, starts, mapping)
    return found.mg, baseline_text(lab, found)


def _converted(
    table: pd.DataFrame, path: str, mapping: Mapping, covariates: list[dict]
) -> tuple[pd.DataFrame, str | None, str]:
    """The text table converted and validated, one row per patient read (before the
    exclusions), the data cut-off when dates are given, and how baseline Mg was taken
    from a lab table ("" without one)."""
    mapped = {k: v for k, v in mapping.columns.items() if v is not None}
    require_columns(table, mapped, path, mapping)
    require_columns(
        table,
        {
            f"covariate_columns.{c['name']}": mapping.covariate_columns[c["name"]]
            for c in covariates
            if c["name"] in mapping.covariate_columns
        },
        path,
        mapping,
    )
    id_column = mapping.column("patient_id")
    ids = table[id_column]
    no_id = missing_cells(ids)
    _check_unique_ids(ids, no_id, path, id_column)
    survival = (survival_from_dates if mapping.uses_dates else survival_from_times)(
        table, path, mapping
    )
    _check_pfs_within_os(survival, path, mapping)
    arm = table[mapping.columns["arm"]] if mapping.columns["arm"] else "all patients"
    mg, mg_text = baseline_mg(table, path, mapping)
    data = pd.DataFrame(
        {
            "patient_id": ids.where(~no_id),
            MG_COLUMN: mg,
            **survival,
            ARM_COLUMN: pd.Series(arm, index=table.index),
        }
    )
    data[ARM_COLUMN] = data[ARM_COLUMN].where(~missing_cells(data[ARM_COLUMN].astype(str)))
    check_declared_arms(data[ARM_COLUMN], path, mapping)
    data = data.join(covariate_values(table, covariates, path, mapping))
    missing_ids = data["patient_id"].isna()
    reject_rows(
        missing_ids,
        "patient ID is empty",
        file=path,
        column=id_column,
        fix="give every row a unique ID",
    )
    return data, latest_date(table, path, mapping) if mapping.uses_dates else None, mg_text


def check_declared_arms(arms: pd.Series, path: str, mapping: Mapping) -> None:
    """When the mapping declares the arms (key ``arms``), every arm value must be listed
    and the immunotherapy arm must occur: a typo would otherwise name no primary
    population, or analyse an arm as the wrong treatment."""
    if not mapping.declares_arms:
        return
    column = mapping.column("arm")
    values = arms.dropna().astype(str).str.strip()
    listed = {mapping.immunotherapy_arm, *mapping.other_arms}
    unlisted = ~values.isin(listed)
    found = ", ".join(f"'{v}'" for v in sorted(values.unique()))
    reject_rows(
        unlisted.reindex(arms.index, fill_value=False),
        f"arm value(s) {', '.join(sorted(set(values[unlisted])))} are not listed under arms"
        " in the mapping",
        file=path,
        column=column,
        fix=f"list every value of the arm column ({found}) once in {mapping.path}, under"
        " arms.immunotherapy or arms.other",
    )
    if mapping.immunotherapy_arm not in set(values):
        raise InputError(
            f"the mapping's immunotherapy arm '{mapping.immunotherapy_arm}' does not occur"
            f" in the arm column (its values: {found})",
            file=path,
            column=column,
            fix=f"set arms.immunotherapy in {mapping.path} to the value as the CSV writes it",
        )


def read_cohort(path: str | Path, mapping: Mapping, covariates: list[dict]) -> PreparedCohort:
    """Read, convert and validate one cohort CSV, then apply the documented exclusions.

    The text table is passed on without a name here, so that it is freed once converted:
    at 10^6 rows it is the largest object of the prepare step.
    """
    path = str(path)
    data, cutoff, mg_text = _converted(read_text_table(path, mapping), path, mapping, covariates)
    prepared = apply_exclusions(data, exclusion_steps(mapping))
    return PreparedCohort(prepared.data, prepared.flow, prepared.excluded, cutoff, mg_text)
