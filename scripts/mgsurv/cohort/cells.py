"""Cells of a cohort file, read as text, to values: numbers, event codes, dates, or an
:class:`~mgsurv.errors.InputError` naming the file, the column, the rows and the fix.

The checks run once per distinct value of a column and are spread back to the rows (a
column repeats a few values over many rows). Rows are named by their line numbers in the
file: a table's index is line - 2 (see :mod:`mgsurv.cohort.csv_file`).
"""

from __future__ import annotations

import datetime
import re

import numpy as np
import pandas as pd

from mgsurv.cohort.mapping import Mapping, normalise_code
from mgsurv.errors import InputError

MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "."})
# Dates before this are not treatment or follow-up dates of an immunotherapy cohort (an
# Excel zero date 1899/1900, or a two-digit year read as 19xx).
EARLIEST_DATE = pd.Timestamp("1980-01-01")


def line_numbers(mask: pd.Series) -> list[int]:
    """File line numbers of the rows where mask is true (a table's index is line - 2, so
    that with one line per row and the header on line 1 the first row is line 2)."""
    return [int(i) + 2 for i in mask.index[mask.to_numpy(dtype=bool)]]


def reject_rows(rows: pd.Series, problem: str, *, file: str, column: str | None, fix: str) -> None:
    """Raise an :class:`InputError` naming the rows where ``rows`` is true, if any (and
    ``column``, unless None: an optional column not mapped, whose rows are all missing)."""
    if rows.any():
        raise InputError(problem, file=file, column=column, rows=line_numbers(rows), fix=fix)


def _loose(name: str) -> str:
    """A column name compared loosely: case, spaces, '_', '-' and '.' ignored."""
    return re.sub(r"[\s_.\-]+", "", name).lower()


def require_columns(
    table: pd.DataFrame, wanted: dict[str, str], path: str, mapping: Mapping
) -> None:
    """Every mapped column must exist in the file."""
    for key, column in wanted.items():
        if column not in table.columns:
            near = [c for c in table.columns if _loose(c) == _loose(column)]
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise InputError(
                f"column '{column}' (mapped as {key}) is not in the file{hint}",
                file=path,
                column=column,
                rows=[table.attrs.get("header_line", 1)],
                fix=f"set {key} in {mapping.path} to one of the file's columns:"
                f" {', '.join(map(str, table.columns))}",
            )


def distinct_codes(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, distinct values), values being distinct[codes] (NaN, if any, is a value of
    its own). A text column repeats a few values (codes, levels, rounded numbers) over many
    rows, so checks and conversions run once per distinct value and are spread back to the
    rows with :func:`spread_back`."""
    codes, distinct = pd.factorize(values.to_numpy(), use_na_sentinel=False)
    return codes, pd.Series(distinct, dtype=object)


def spread_back(per_value: pd.Series | np.ndarray, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """A result per distinct value (see :func:`distinct_codes`) as a result per row."""
    return pd.Series(np.asarray(per_value)[codes], index=index)


def is_missing_token(values: pd.Series) -> pd.Series:
    return values.str.lower().isin(MISSING_TOKENS)


def missing_cells(values: pd.Series) -> pd.Series:
    """Whether each cell is a missing-value token ("", "NA", "null"...)."""
    codes, distinct = distinct_codes(values)
    return spread_back(is_missing_token(distinct), codes, values.index)


def parse_numbers(
    values: pd.Series, *, path: str, column: str, mapping: Mapping, what: str
) -> pd.Series:
    """Text to float; missing tokens become NaN; anything else unparseable is an error."""
    codes, distinct = distinct_codes(values)
    distinct_missing = is_missing_token(distinct)
    text = distinct.str.replace(",", ".", regex=False) if mapping.decimal == "," else distinct
    distinct_numbers = pd.to_numeric(text.where(~distinct_missing), errors="coerce")
    missing = spread_back(distinct_missing, codes, values.index)
    numbers = spread_back(distinct_numbers.astype(float), codes, values.index).rename(values.name)
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
            rows=line_numbers(bad),
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


def parse_events(
    values: pd.Series, *, path: str, column: str, mapping: Mapping, endpoint: str
) -> pd.Series:
    """An endpoint's event codes to 1.0 (event) / 0.0 (censored) / NaN (missing)."""
    listed = mapping.event_codes[endpoint]
    codes, distinct = distinct_codes(values)  # the checks below are per distinct value
    normalised = distinct.map(normalise_code)
    missing = is_missing_token(distinct)
    is_event = normalised.isin(listed.event)
    is_censored = normalised.isin(listed.censored)
    unknown = ~(missing | is_event | is_censored)
    if unknown.any():
        rows = spread_back(unknown, codes, values.index)
        seen = ", ".join(repr(v) for v in values[rows].unique()[:5])
        raise InputError(
            f"{endpoint.upper()} event code(s) {seen} are neither an event nor a censoring code",
            file=path,
            column=column,
            rows=line_numbers(rows),
            fix=_event_codes_fix(set(normalised[~missing]), endpoint, mapping),
        )
    return spread_back(np.where(missing, np.nan, is_event.astype(float)), codes, values.index)


def _event_codes_fix(found: set[str], endpoint: str, mapping: Mapping) -> str:
    """How to list an endpoint's unknown codes without breaking the other endpoint: R's
    1/2 convention becomes the endpoint's own codes; other codes are added where its codes
    are listed."""
    listed = mapping.event_codes[endpoint]
    if found == {"1", "2"}:
        return (
            f"the {endpoint.upper()} codes look like R's Surv() convention (1 = censored,"
            f" 2 = event): add under event_codes in {mapping.path} the line"
            f' \'{endpoint}: {{event: ["2"], censored: ["1"]}}\' (the other endpoint keeps'
            " its codes)"
        )
    where = listed.where(endpoint)
    own = "" if listed.own else f", or give {endpoint.upper()} its own under {endpoint}:"
    return (
        f"add each code to {where}.event or {where}.censored in {mapping.path} (now event:"
        f" {sorted(listed.event)}, censored: {sorted(listed.censored)}){own}"
    )


def parse_dates(values: pd.Series, *, path: str, column: str, mapping: Mapping) -> pd.Series:
    """Text to datetime with the mapping's format; unparseable, future dates and dates
    before 1980 are errors."""
    missing = missing_cells(values)
    dates = pd.to_datetime(values.where(~missing), format=mapping.date_format, errors="coerce")
    bad = dates.isna() & ~missing
    if bad.any():
        examples = ", ".join(repr(v) for v in values[bad].unique()[:3])
        fix = f"set date_format in {mapping.path} to the file's format, e.g. '%d.%m.%Y'"
        if values[bad].str.fullmatch(r"\d{5}(?:[.,]\d+)?").all():
            fix = (
                "these look like Excel serial day numbers: format the column as dates in Excel"
                " before saving the CSV"
            )
        raise InputError(
            f"date(s) {examples} do not match the format {mapping.date_format!r}",
            file=path,
            column=column,
            rows=line_numbers(bad),
            fix=fix,
        )
    today = pd.Timestamp(datetime.date.today())
    reject_rows(
        dates > today,
        f"date(s) in the future (after {today.date().isoformat()})",
        file=path,
        column=column,
        fix="correct these dates (a typo in the year? day and month swapped in date_format?)",
    )
    reject_rows(
        dates < EARLIEST_DATE,
        f"date(s) before {EARLIEST_DATE.year}, impossible for this cohort",
        file=path,
        column=column,
        fix="correct these dates (an Excel zero date such as 1900-01-00, or a two-digit year?)",
    )
    return dates
