"""Read a cohort CSV through its mapping into the analysis-ready table, or say exactly why not.

Every cell is read as text first, so that a value that cannot be used is reported with its
column and line number instead of being silently coerced. Two kinds of problem:

* errors (:class:`InputError`): the file or a value is wrong and the user must fix it, e.g.
  a non-numeric Mg, a negative time, an unknown event code. Nothing is analysed.
* exclusions: a patient cannot be analysed because a required value is missing (no Mg, no
  survival time, no event status, no arm). The patient is left out with a reason, counted in
  the patient flow and listed in the exclusions table.

The output has mgsurv's column names (see the results contract in DESIGN.md): times in
months, Mg in mmol/L, events as 0/1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mgsurv.errors import InputError
from mgsurv.mapping import Mapping

MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "."})

DAYS_PER_MONTH = 365.25 / 12
MONTHS_PER_UNIT = {
    "days": 1 / DAYS_PER_MONTH,
    "weeks": 7 / DAYS_PER_MONTH,
    "months": 1.0,
    "years": 12.0,
}
MMOL_L_PER_UNIT = {"mmol/L": 1.0, "mg/dL": 1 / 2.43, "mEq/L": 0.5}
# Serum Mg outside this range (mmol/L) is not a plausible human value.
MG_PLAUSIBLE_MMOL_L = (0.1, 5.0)
# A median above this "in mmol/L" almost surely means the values are in mg/dL (clinical.md).
MG_MEDIAN_SUGGESTS_MG_DL = 1.4
# Converted times are rounded so that equal durations given in other units stay exact ties.
TIME_DECIMALS = 6

ENDPOINTS = ("pfs", "os")


@dataclass(frozen=True)
class PreparedCohort:
    """The analysable patients, the patient flow and the excluded patients with reasons."""

    data: pd.DataFrame
    flow: pd.DataFrame
    excluded: pd.DataFrame
    data_cutoff: str | None = None


def _line_numbers(mask: pd.Series) -> list[int]:
    """File line numbers (header = line 1) of the rows where mask is true."""
    return [int(i) + 2 for i in mask.index[mask.to_numpy(dtype=bool)]]


def reject_rows(rows: pd.Series, problem: str, *, file: str, column: str, fix: str) -> None:
    """Raise an :class:`InputError` naming the rows where ``rows`` is true, if any."""
    if rows.any():
        raise InputError(problem, file=file, column=column, rows=_line_numbers(rows), fix=fix)


def read_text_table(path: str | Path, mapping: Mapping) -> pd.DataFrame:
    """Read the CSV with every cell as stripped text; fail with a named error if unreadable."""
    path = str(path)
    fix_format = (
        f"save the file as CSV (delimiter '{mapping.delimiter}', encoding {mapping.encoding})"
        f" or set csv.delimiter / csv.encoding in {mapping.path}"
    )
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise InputError(
            "cohort file not found",
            file=path,
            fix="check the path given as cohort= (relative paths start from the working directory)",
        ) from None
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            "the file is an Excel workbook, not a CSV",
            file=path,
            fix="open it in Excel or LibreOffice and save it as 'CSV (comma delimited)'",
        )
    try:
        table = pd.read_csv(
            path,
            sep=mapping.delimiter,
            dtype=str,
            keep_default_na=False,
            encoding=mapping.encoding,
            skipinitialspace=True,
            skip_blank_lines=False,
        )
    except UnicodeDecodeError as err:
        raise InputError(
            f"the file is not valid {mapping.encoding} text ({err.reason} at byte {err.start})",
            file=path,
            fix=fix_format,
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", file=path, fix="export the cohort again") from None
    except pd.errors.ParserError as err:
        raise InputError(
            f"the file cannot be parsed as CSV ({err})", file=path, fix=fix_format
        ) from None
    table.columns = [str(c).strip().lstrip("\ufeff") for c in table.columns]
    table = table.fillna("").apply(lambda col: col.str.strip())
    # Blank lines are skipped but keep their place, so reported line numbers stay true.
    table = table[~(table == "").all(axis=1)]
    if table.empty:
        raise InputError(
            "the file has a header but no patient rows",
            file=path,
            fix="export the cohort again with its data rows",
        )
    return table


def _require_columns(
    table: pd.DataFrame, wanted: dict[str, str], path: str, mapping: Mapping
) -> None:
    """Every mapped column must exist in the file."""
    for key, column in wanted.items():
        if column not in table.columns:
            raise InputError(
                f"column '{column}' (mapped as {key}) is not in the file",
                file=path,
                column=column,
                fix=f"set {key} in {mapping.path} to one of the file's columns:"
                f" {', '.join(map(str, table.columns))}",
            )


def _missing(values: pd.Series) -> pd.Series:
    return values.str.lower().isin(MISSING_TOKENS)


def parse_numbers(
    values: pd.Series, *, path: str, column: str, mapping: Mapping, what: str
) -> pd.Series:
    """Text to float; missing tokens become NaN; anything else unparseable is an error."""
    missing = _missing(values)
    text = values.str.replace(",", ".", regex=False) if mapping.decimal == "," else values
    numbers = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = numbers.isna() & ~missing
    if bad.any():
        examples = ", ".join(repr(v) for v in values[bad].unique()[:3])
        fix = f"correct or blank these cells; {what} must be a number"
        if mapping.decimal == "." and values[bad].str.contains(",").any():
            fix = f"the file seems to use decimal commas: set csv.decimal: ',' in {mapping.path}"
        raise InputError(
            f"{what} is not a number ({examples})",
            file=path,
            column=column,
            rows=_line_numbers(bad),
            fix=fix,
        )
    infinite = np.isinf(numbers)
    reject_rows(
        infinite,
        f"{what} is infinite",
        file=path,
        column=column,
        fix="replace with the measured value",
    )
    return numbers


def parse_events(values: pd.Series, *, path: str, column: str, mapping: Mapping) -> pd.Series:
    """Event codes to 1.0 (event) / 0.0 (censored) / NaN (missing)."""
    codes = values.str.lower()
    missing = codes.isin(MISSING_TOKENS)
    is_event = codes.isin(mapping.event_values)
    is_censored = codes.isin(mapping.censored_values)
    unknown = ~(missing | is_event | is_censored)
    if unknown.any():
        seen = ", ".join(repr(v) for v in values[unknown].unique()[:5])
        raise InputError(
            f"event code(s) {seen} are neither an event nor a censoring code",
            file=path,
            column=column,
            rows=_line_numbers(unknown),
            fix=f"add each code to event_codes.event or event_codes.censored in {mapping.path}"
            f" (now event: {sorted(mapping.event_values)},"
            f" censored: {sorted(mapping.censored_values)})",
        )
    return pd.Series(np.where(missing, np.nan, is_event.astype(float)), index=values.index)


def parse_dates(values: pd.Series, *, path: str, column: str, mapping: Mapping) -> pd.Series:
    """Text to datetime with the mapping's format; unparseable dates are errors."""
    missing = _missing(values)
    dates = pd.to_datetime(values.where(~missing), format=mapping.date_format, errors="coerce")
    bad = dates.isna() & ~missing
    if bad.any():
        examples = ", ".join(repr(v) for v in values[bad].unique()[:3])
        raise InputError(
            f"date(s) {examples} do not match the format {mapping.date_format!r}",
            file=path,
            column=column,
            rows=_line_numbers(bad),
            fix=f"set date_format in {mapping.path} to the file's format, e.g. '%d.%m.%Y'",
        )
    return dates


def _to_months(values: pd.Series, unit: str) -> pd.Series:
    return (values * MONTHS_PER_UNIT[unit]).round(TIME_DECIMALS)


def _check_positive_times(months: pd.Series, *, path: str, column: str, what: str) -> None:
    bad = months <= 0
    reject_rows(
        bad,
        f"{what} must be positive; found zero or negative values",
        file=path,
        column=column,
        fix="check these rows: a time runs from treatment start to the event or last"
        " follow-up and is greater than zero",
    )


def survival_from_times(table: pd.DataFrame, path: str, mapping: Mapping) -> pd.DataFrame:
    """PFS and OS in months with 0/1 events, from duration and event columns."""
    out = {}
    for endpoint in ENDPOINTS:
        time_col = mapping.columns[f"{endpoint}_time"]
        event_col = mapping.columns[f"{endpoint}_event"]
        raw = parse_numbers(
            table[time_col],
            path=path,
            column=time_col,
            mapping=mapping,
            what=f"{endpoint.upper()} time",
        )
        months = _to_months(raw, mapping.time_unit)
        _check_positive_times(months, path=path, column=time_col, what=f"{endpoint.upper()} time")
        out[f"{endpoint}_months"] = months
        out[f"{endpoint}_event"] = parse_events(
            table[event_col], path=path, column=event_col, mapping=mapping
        )
    return pd.DataFrame(out, index=table.index)


def survival_from_dates(table: pd.DataFrame, path: str, mapping: Mapping) -> pd.DataFrame:
    """PFS and OS in months with 0/1 events, from treatment start and event dates.

    OS ends at death, else last follow-up. PFS ends at the first of progression and death,
    else last follow-up. An event date before treatment start is an error.
    """
    dates = {
        key: parse_dates(
            table[mapping.columns[key]], path=path, column=mapping.columns[key], mapping=mapping
        )
        if mapping.columns.get(key)
        else pd.Series(pd.NaT, index=table.index)
        for key in ("start_date", "progression_date", "death_date", "last_followup_date")
    }
    start = dates["start_date"]
    for key in ("progression_date", "death_date", "last_followup_date"):
        before = dates[key] < start
        reject_rows(
            before,
            f"{key.replace('_', ' ')} is before treatment start",
            file=path,
            column=mapping.columns[key],
            fix="check the dates in these rows (and date_format, day and month swapped?)",
        )
    death = dates["death_date"]
    first_pfs_event = dates["progression_date"].where(
        dates["progression_date"].notna() & ~(dates["progression_date"] > death), death
    )
    os_end = death.fillna(dates["last_followup_date"])
    pfs_end = first_pfs_event.fillna(dates["last_followup_date"])
    out = {}
    for endpoint, end, event in (
        ("os", os_end, death.notna()),
        ("pfs", pfs_end, first_pfs_event.notna()),
    ):
        days = (end - start).dt.days.astype(float)
        months = _to_months(days, "days")
        _check_positive_times(
            months,
            path=path,
            column=mapping.columns["start_date"],
            what=f"{endpoint.upper()} time from the dates",
        )
        out[f"{endpoint}_months"] = months
        out[f"{endpoint}_event"] = event.astype(float).where(end.notna() & start.notna())
    return pd.DataFrame(out, index=table.index)[
        ["pfs_months", "pfs_event", "os_months", "os_event"]
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


def mg_in_mmol_l(table: pd.DataFrame, path: str, mapping: Mapping) -> pd.Series:
    """Serum Mg converted to mmol/L, with unit and plausibility checks."""
    column = mapping.columns["mg"]
    raw = parse_numbers(table[column], path=path, column=column, mapping=mapping, what="serum Mg")
    mg = raw * MMOL_L_PER_UNIT[mapping.mg_unit]
    low, high = MG_PLAUSIBLE_MMOL_L
    implausible = (mg < low) | (mg > high)
    reject_rows(
        implausible,
        f"serum Mg outside the plausible {low}-{high} mmol/L after conversion from"
        f" {mapping.mg_unit}",
        file=path,
        column=column,
        fix=f"correct these values, or set units.mg in {mapping.path} (mmol/L, mg/dL or mEq/L)",
    )
    if mapping.mg_unit == "mmol/L" and mg.median() > MG_MEDIAN_SUGGESTS_MG_DL:
        raise InputError(
            f"serum Mg has median {mg.median():.2f}, which looks like mg/dL, not mmol/L",
            file=path,
            column=column,
            fix=f"set units.mg: mg/dL in {mapping.path} if the values are in mg/dL",
        )
    return mg


def covariate_values(
    table: pd.DataFrame, covariates: list[dict], path: str, mapping: Mapping
) -> pd.DataFrame:
    """The configured covariates: numbers for numeric ones, text (or missing) otherwise."""
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
        else:
            out[name] = values.where(~_missing(values))
    return pd.DataFrame(out, index=table.index)


def _check_unique_ids(ids: pd.Series, path: str, column: str) -> None:
    duplicated = ids.duplicated(keep=False) & ~_missing(ids)
    reject_rows(
        duplicated,
        f"patient IDs repeat ({', '.join(repr(v) for v in ids[duplicated].unique()[:3])})",
        file=path,
        column=column,
        fix="keep one row per patient (baseline Mg and first-line outcome)",
    )


def _check_pfs_within_os(survival: pd.DataFrame, path: str, mapping: Mapping) -> None:
    longer = survival["pfs_months"] > survival["os_months"]
    if longer.any():
        column = mapping.columns["pfs_time"] or mapping.columns["progression_date"]
        raise InputError(
            "PFS is longer than OS (progression-free time cannot outlast survival)",
            file=path,
            column=column,
            rows=_line_numbers(longer),
            fix="check PFS and OS times (and units) in these rows",
        )


EXCLUSION_STEPS = (
    ("missing serum Mg", ["mg_mmol_l"]),
    ("missing PFS time or status", ["pfs_months", "pfs_event"]),
    ("missing OS time or status", ["os_months", "os_event"]),
    ("missing treatment arm", ["arm"]),
)


def apply_exclusions(data: pd.DataFrame) -> PreparedCohort:
    """Drop patients lacking a required value, step by step, recording the patient flow."""
    flow_rows, excluded = [], []
    remaining = data
    for step, (reason, columns) in enumerate(EXCLUSION_STEPS, start=1):
        drop = remaining[columns].isna().any(axis=1)
        flow_rows.append(
            {
                "step": step,
                "reason": reason,
                "n_before": len(remaining),
                "n_excluded": int(drop.sum()),
                "n_after": int((~drop).sum()),
            }
        )
        excluded.append(
            pd.DataFrame(
                {
                    "line": remaining.index[drop] + 2,
                    "patient_id": remaining.loc[drop, "patient_id"],
                    "reason": reason,
                }
            )
        )
        remaining = remaining[~drop]
    result = remaining.reset_index(drop=True)
    for column in ("pfs_event", "os_event"):
        result[column] = result[column].astype(int)
    return PreparedCohort(
        data=result, flow=pd.DataFrame(flow_rows), excluded=pd.concat(excluded, ignore_index=True)
    )


def read_cohort(path: str | Path, mapping: Mapping, covariates: list[dict]) -> PreparedCohort:
    """Read, convert and validate one cohort CSV, then apply the documented exclusions."""
    path = str(path)
    table = read_text_table(path, mapping)
    mapped = {k: v for k, v in mapping.columns.items() if v is not None}
    _require_columns(table, mapped, path, mapping)
    _require_columns(
        table,
        {
            f"covariate_columns.{c['name']}": mapping.covariate_columns[c["name"]]
            for c in covariates
            if c["name"] in mapping.covariate_columns
        },
        path,
        mapping,
    )
    id_column = mapping.columns["patient_id"]
    _check_unique_ids(table[id_column], path, id_column)
    survival = (survival_from_dates if mapping.uses_dates else survival_from_times)(
        table, path, mapping
    )
    _check_pfs_within_os(survival, path, mapping)
    arm = table[mapping.columns["arm"]] if mapping.columns["arm"] else "all patients"
    data = pd.DataFrame(
        {
            "patient_id": table[id_column].where(~_missing(table[id_column])),
            "mg_mmol_l": mg_in_mmol_l(table, path, mapping),
            **survival,
            "arm": pd.Series(arm, index=table.index),
        }
    )
    data["arm"] = data["arm"].where(~_missing(data["arm"].astype(str)))
    data = data.join(covariate_values(table, covariates, path, mapping))
    missing_ids = data["patient_id"].isna()
    reject_rows(
        missing_ids,
        "patient ID is empty",
        file=path,
        column=id_column,
        fix="give every row a unique ID",
    )
    prepared = apply_exclusions(data)
    cutoff = latest_date(table, path, mapping) if mapping.uses_dates else None
    return PreparedCohort(prepared.data, prepared.flow, prepared.excluded, cutoff)
