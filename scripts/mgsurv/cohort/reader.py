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

The file. Errors: not found, empty (or only blank lines), a header without rows, a
spreadsheet workbook (xlsx, xls, ods) or other binary file named .csv, text that is not in
the configured encoding (UTF-16 from Excel's "Unicode text" is named as such; the line of
the first undecodable byte is given), a UTF-8 byte-order mark when another encoding is
configured, a delimiter other than the configured one (the likely one is named), an Excel
``sep=`` first line that disagrees with the mapping, a line with more or fewer fields than
the header (unquoted decimal commas in a comma-separated file are named as the likely
cause: pandas would silently shift such rows by one column), a mapped column missing (a
header differing only in case or spacing is suggested) or present twice. Accepted: a UTF-8
byte-order mark with UTF-8 (removed), an Excel ``sep=`` line that agrees, ``;`` / tab / ``|``
delimiters and decimal commas when the mapping says so, any encoding Python knows when the
mapping names it, blank lines and quoted line breaks (line numbers stay those an editor
shows; ``\n``, ``\r\n`` and a lone ``\r`` end a line), event codes written as ``1.0``
for ``1``, and columns the mapping does not use, even repeated.

The values. Errors: duplicated or empty patient IDs; Mg, times or numeric covariates that
are not numbers (a decimal comma is named), infinite; times zero or negative, beyond 50
years, or with a median beyond 10 years after conversion (a unit mix-up: days labelled
months); event codes that the mapping does not list (R's 1/2 convention is named); Mg zero
or negative, outside 0.1-5 mmol/L after conversion, or whose median
says the unit is wrong (above 1.4 "mmol/L" looks like mg/dL; below 0.45 mmol/L after
converting "mg/dL" or "mEq/L" looks like mmol/L); PFS longer than OS (a progression after
death or after the last follow-up); dates that do not match ``date_format`` (Excel serial
numbers are named), in the future or before 1980, an event or follow-up date before
treatment start, a progression after death or after the last follow-up; a categorical
covariate whose configured reference level never occurs. Missing values of Mg, time, event
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

import codecs
import csv
import datetime
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mgsurv.cohort.mapping import Mapping, normalise_code
from mgsurv.cohort.plain_csv import read_plain
from mgsurv.contract import ENDPOINTS, MG_COLUMN, event_column, time_column
from mgsurv.errors import InputError

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
# A median below this after converting from mg/dL or mEq/L means the values were mmol/L
# (0.8 mmol/L read as mg/dL becomes 0.33 mmol/L; severe hypomagnesaemia is < 0.5).
MG_MEDIAN_SUGGESTS_MMOL_L = 0.45
# No survival or follow-up time after immunotherapy can exceed this (months, 50 years).
MAX_MONTHS = 600.0
# A median PFS or OS time above this (months, 10 years) means days or weeks labelled months.
MAX_MEDIAN_MONTHS = 120.0
# Dates before this are not treatment or follow-up dates of an immunotherapy cohort (an
# Excel zero date 1899/1900, or a two-digit year read as 19xx).
EARLIEST_DATE = pd.Timestamp("1980-01-01")
# Converted times are rounded so that equal durations given in other units stay exact ties.
TIME_DECIMALS = 6

DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
UTF8_BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
DECIMAL_COMMA = re.compile(r"\d,\d")
# Excel's hint line "sep=;" before the header (written by some exports, read by Excel).
EXCEL_SEP_LINE = re.compile(r"^\s*sep=(.?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class PreparedCohort:
    """The analysable patients, the patient flow and the excluded patients with reasons."""

    data: pd.DataFrame
    flow: pd.DataFrame
    excluded: pd.DataFrame
    data_cutoff: str | None = None


def _line_numbers(mask: pd.Series) -> list[int]:
    """File line numbers of the rows where mask is true (a table's index is line - 2, so
    that with one line per row and the header on line 1 the first row is line 2)."""
    return [int(i) + 2 for i in mask.index[mask.to_numpy(dtype=bool)]]


def reject_rows(rows: pd.Series, problem: str, *, file: str, column: str | None, fix: str) -> None:
    """Raise an :class:`InputError` naming the rows where ``rows`` is true, if any (and
    ``column``, unless None: an optional column not mapped, whose rows are all missing)."""
    if rows.any():
        raise InputError(problem, file=file, column=column, rows=_line_numbers(rows), fix=fix)


def _name(delimiter: str) -> str:
    return DELIMITER_NAMES.get(delimiter, repr(delimiter))


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InputError(
            "cohort file not found",
            file=path,
            fix="check the path given as cohort= (relative paths start from the working directory)",
        ) from None
    except IsADirectoryError:
        raise InputError(
            "the cohort path is a folder, not a file", file=path, fix="give the CSV file's path"
        ) from None
    except OSError as err:
        raise InputError(
            f"the cohort file cannot be read ({err.strerror})",
            file=path,
            fix="check the file's permissions and that it is not open in another program",
        ) from None


def _line_of_byte(raw: bytes, position: int) -> int:
    return raw[:position].count(b"\n") + 1


def _decode(raw: bytes, path: str, mapping: Mapping) -> str:
    """The file's text in the configured encoding, or a named error for what it is instead."""
    fix_format = (
        f"save the file as CSV (delimiter {_name(mapping.delimiter)}, encoding"
        f" {mapping.encoding}) or set csv.encoding in {mapping.path}"
    )
    if raw.startswith(WORKBOOK_SIGNATURES):
        raise InputError(
            "the file is a spreadsheet workbook (Excel or LibreOffice), not a CSV",
            file=path,
            fix="open it in Excel or LibreOffice and save it as 'CSV (comma delimited)'"
            " or 'CSV UTF-8'",
        )
    if raw.startswith(b"\x1f\x8b"):
        raise InputError(
            "the file is gzip-compressed, not a CSV", file=path, fix="decompress it first"
        )
    try:
        codec = codecs.lookup(mapping.encoding).name
    except LookupError:
        raise InputError(
            f"unknown encoding {mapping.encoding!r}",
            file=mapping.path,
            fix="set csv.encoding to an encoding name such as utf-8, latin-1 or cp1252",
        ) from None
    if raw.startswith(UTF16_BOMS) and not codec.startswith("utf-16"):
        raise InputError(
            f"the file is UTF-16 text (Excel's 'Unicode Text'), not {mapping.encoding}",
            file=path,
            fix=f"save it as 'CSV UTF-8', or set csv.encoding: utf-16 in {mapping.path}",
        )
    if raw.startswith(UTF8_BOM):
        if codec not in ("utf-8", "utf-8-sig"):
            raise InputError(
                f"the file starts with a UTF-8 byte-order mark but csv.encoding is"
                f" {mapping.encoding}",
                file=path,
                rows=[1],
                fix=f"set csv.encoding: utf-8 in {mapping.path} (the file is UTF-8)",
            )
        raw = raw[len(UTF8_BOM) :]
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as err:
        hint = ""
        if codec == "utf-8":
            hint = " (it may be latin-1 or cp1252, as older Excel versions save)"
        raise InputError(
            f"the file is not valid {mapping.encoding} text: byte"
            f" {raw[err.start : err.start + 1]!r} at position {err.start} cannot be decoded"
            f"{hint}",
            file=path,
            rows=[_line_of_byte(raw, err.start)],
            fix=f"save the file as 'CSV UTF-8', or set csv.encoding in {mapping.path} to its"
            " encoding, e.g. latin-1 or cp1252",
        ) from None
    except UnicodeError as err:  # e.g. a UTF-16 file with an odd number of bytes
        raise InputError(
            f"the file is not valid {mapping.encoding} text ({err})", file=path, fix=fix_format
        ) from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise InputError(
            "the file contains binary data (NUL characters), not CSV text",
            file=path,
            rows=[text[: text.index("\x00")].count("\n") + 1],
            fix=fix_format,
        )
    if not text.strip():
        raise InputError("the file is empty", file=path, fix="export the cohort again")
    return text


def _records(text: str, delimiter: str, path: str) -> list[tuple[int, list[str]]]:
    """(first line number, fields) of every record; blank lines give no record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    records, previous_end = [], 0
    try:
        for fields in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if "".join(fields).strip():  # some field is not blank
                records.append((start, fields))
    except csv.Error as err:
        raise InputError(
            f"the file cannot be read as CSV ({err})",
            file=path,
            rows=[reader.line_num],
            fix="check this line for an unclosed quote or a very long cell",
        ) from None
    return records


def _check_delimiter(header: list[str], line: int, path: str, mapping: Mapping) -> None:
    """A one-column header means the file uses another delimiter (or none)."""
    if len(header) > 1:
        return
    first_line = header[0]
    others = [d for d in DELIMITER_NAMES if d != mapping.delimiter and first_line.count(d) >= 2]
    if others:
        found = max(others, key=first_line.count)
        raise InputError(
            f"the file is delimited by {_name(found)}, not by {_name(mapping.delimiter)}"
            " as the mapping says",
            file=path,
            rows=[line],
            fix=f"set csv.delimiter: {found!r} in {mapping.path}"
            + (" (and csv.decimal: ',' if numbers use decimal commas)" if found == ";" else ""),
        )
    raise InputError(
        f"the header has a single column ({first_line[:60]!r}): no"
        f" {_name(mapping.delimiter)} between the column names",
        file=path,
        rows=[line],
        fix=f"export the cohort as a CSV with one column per variable, or set csv.delimiter"
        f" in {mapping.path}",
    )


def _header_names(header: list[str], line: int, path: str, mapping: Mapping) -> list[str]:
    """Stripped names; unnamed columns get a placeholder; a mapped name must not repeat."""
    names = [h.strip() or f"(unnamed column {i + 1})" for i, h in enumerate(header)]
    mapped = {c for c in mapping.columns.values() if c} | set(mapping.covariate_columns.values())
    unique: list[str] = []
    taken = set(names)
    for name in names:
        if name not in unique:
            unique.append(name)
            continue
        if name in mapped:
            raise InputError(
                f"column '{name}' appears {names.count(name)} times in the header",
                file=path,
                column=name,
                rows=[line],
                fix="rename or delete the extra column so that the mapped name is unique",
            )
        k = 2
        while f"{name} ({k})" in taken:
            k += 1
        unique.append(f"{name} ({k})")
        taken.add(unique[-1])
    return unique


def _check_field_counts(
    records: list[tuple[int, list[str]]], width: int, path: str, mapping: Mapping
) -> None:
    """Every line has as many fields as the header (trailing empty fields are tolerated)."""
    wrong = [
        (line, fields)
        for line, fields in records
        if len(fields) != width and not (len(fields) > width and not "".join(fields[width:]))
    ]
    if not wrong:
        return
    lines = [line for line, _ in wrong]
    more = any(len(fields) > width for _, fields in wrong)
    first_line, first_fields = wrong[0]
    if any("\n" in field for field in first_fields):
        raise InputError(
            f"a quote opened in line {first_line} is never closed: the rest of the file is"
            " read as one cell",
            file=path,
            rows=[first_line],
            fix='remove the stray quote (") in this line, or close it',
        )
    problem = f"line {first_line} has {len(first_fields)} fields but the header has {width}" + (
        f" ({len(lines)} lines differ)" if len(lines) > 1 else ""
    )
    comma_decimals = mapping.delimiter == "," and any(
        DECIMAL_COMMA.search(",".join(fields)) for _, fields in wrong
    )
    if more and comma_decimals:
        fix = (
            "the numbers seem to use decimal commas, which split them into two fields: export"
            f" with ';' as delimiter and set csv.delimiter: ';' and csv.decimal: ',' in"
            f" {mapping.path} (or quote these values)"
        )
    else:
        fix = (
            "each line needs exactly one field per column: look for a stray delimiter, an"
            " unclosed quote or a missing field in these lines"
        )
    raise InputError(problem, file=path, rows=lines, fix=fix)


def _column_names(header: list[str], line: int, path: str, mapping: Mapping) -> list[str]:
    """The table's column names from the header's fields, or a named error."""
    _check_delimiter(header, line, path, mapping)
    return _header_names(header, line, path, mapping)


def _text_frame(
    cells: np.ndarray, names: list[str], index: np.ndarray, header_line: int
) -> pd.DataFrame:
    """The text table from its cells (object array, columns x rows), without a copy."""
    table = pd.DataFrame(cells.T, index=pd.Index(index), columns=names, dtype=object, copy=False)
    table.attrs["header_line"] = header_line
    return table


def _read_records(text: str, path: str, mapping: Mapping) -> pd.DataFrame:
    """The table as the csv module reads the text: any CSV, and every error named."""
    records = _records(text, mapping.delimiter, path)
    if not records:
        raise InputError("the file is empty", file=path, fix="export the cohort again")
    header_line, header = records[0]
    names = _column_names(header, header_line, path, mapping)
    rows = records[1:]
    if not rows:
        raise InputError(
            "the file has a header but no patient rows",
            file=path,
            fix="export the cohort again with its data rows",
        )
    _check_field_counts(rows, len(names), path, mapping)
    index = np.array([line - 2 for line, _ in rows], dtype=np.int64)
    cells = np.empty((len(names), len(rows)), dtype=object)
    for i in range(len(names)):  # str.strip once per distinct value of the column
        codes, distinct = pd.factorize(np.array([fields[i] for _, fields in rows], dtype=object))
        cells[i] = np.array([value.strip() for value in distinct], dtype=object)[codes]
    return _text_frame(cells, names, index, header_line)


def read_text_table(path: str | Path, mapping: Mapping) -> pd.DataFrame:
    """Read the CSV with every cell as stripped text; fail with a named error if unreadable.

    The index is the line number - 2 of each row (so ``index + 2`` is the line an editor
    shows, also after blank lines or quoted line breaks); ``attrs["header_line"]`` is the
    header's line. Duplicated names of columns that are not mapped get a suffix " (2)"...

    A file without quotes or blank lines is parsed by pyarrow (:mod:`mgsurv.cohort.plain_csv`, which
    checks that the result is the csv module's); any other file, and every file with an
    error to name, by the csv module.
    """
    path = str(path)
    text = _decode(_read_bytes(path), path, mapping)
    first_end = text.find("\n")
    first = text if first_end < 0 else text[:first_end]
    if declared := EXCEL_SEP_LINE.match(first):
        delimiter = declared.group(1) or ","
        if delimiter != mapping.delimiter:
            raise InputError(
                f"the file's first line {first.strip()!r} declares the delimiter"
                f" {_name(delimiter)}, but the mapping says {_name(mapping.delimiter)}",
                file=path,
                rows=[1],
                fix=f"set csv.delimiter: {delimiter!r} in {mapping.path}",
            )
        text = text[len(first) :]  # a blank first line: later line numbers stay true
    plain = read_plain(text, mapping.delimiter)
    if plain is None:
        return _read_records(text, path, mapping)
    del text
    names = _column_names(plain.header, plain.header_line, path, mapping)
    return _text_frame(plain.cells, names, plain.index, plain.header_line)


def _loose(name: str) -> str:
    """A column name compared loosely: case, spaces, '_', '-' and '.' ignored."""
    return re.sub(r"[\s_.\-]+", "", name).lower()


def _require_columns(
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


def _distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, distinct values), values being distinct[codes] (NaN, if any, is a value of
    its own). A text column repeats a few values (codes, levels, rounded numbers) over many
    rows, so checks and conversions run once per distinct value and are spread back to the
    rows with :func:`_spread`."""
    codes, distinct = pd.factorize(values.to_numpy(), use_na_sentinel=False)
    return codes, pd.Series(distinct, dtype=object)


def _spread(per_value: pd.Series | np.ndarray, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """A result per distinct value (see :func:`_distinct`) as a result per row."""
    return pd.Series(np.asarray(per_value)[codes], index=index)


def _is_missing_token(values: pd.Series) -> pd.Series:
    return values.str.lower().isin(MISSING_TOKENS)


def _missing(values: pd.Series) -> pd.Series:
    """Whether each cell is a missing-value token ("", "NA", "null"...)."""
    codes, distinct = _distinct(values)
    return _spread(_is_missing_token(distinct), codes, values.index)


def parse_numbers(
    values: pd.Series, *, path: str, column: str, mapping: Mapping, what: str
) -> pd.Series:
    """Text to float; missing tokens become NaN; anything else unparseable is an error."""
    codes, distinct = _distinct(values)
    distinct_missing = _is_missing_token(distinct)
    text = distinct.str.replace(",", ".", regex=False) if mapping.decimal == "," else distinct
    distinct_numbers = pd.to_numeric(text.where(~distinct_missing), errors="coerce")
    missing = _spread(distinct_missing, codes, values.index)
    numbers = _spread(distinct_numbers.astype(float), codes, values.index).rename(values.name)
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
    codes, distinct = _distinct(values)  # the checks below are per distinct value
    normalised = distinct.map(normalise_code)
    missing = _is_missing_token(distinct)
    is_event = normalised.isin(mapping.event_values)
    is_censored = normalised.isin(mapping.censored_values)
    unknown = ~(missing | is_event | is_censored)
    if unknown.any():
        rows = _spread(unknown, codes, values.index)
        seen = ", ".join(repr(v) for v in values[rows].unique()[:5])
        fix = (
            f"add each code to event_codes.event or event_codes.censored in {mapping.path}"
            f" (now event: {sorted(mapping.event_values)},"
            f" censored: {sorted(mapping.censored_values)})"
        )
        if set(normalised[~missing]) == {"1", "2"}:
            fix = (
                "the codes look like R's Surv() convention (1 = censored, 2 = event): set"
                f" event_codes to event: [2], censored: [1] in {mapping.path}"
            )
        raise InputError(
            f"event code(s) {seen} are neither an event nor a censoring code",
            file=path,
            column=column,
            rows=_line_numbers(rows),
            fix=fix,
        )
    return _spread(np.where(missing, np.nan, is_event.astype(float)), codes, values.index)


def parse_dates(values: pd.Series, *, path: str, column: str, mapping: Mapping) -> pd.Series:
    """Text to datetime with the mapping's format; unparseable, future dates and dates
    before 1980 are errors."""
    missing = _missing(values)
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
            rows=_line_numbers(bad),
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
            rows=_line_numbers(months > MAX_MEDIAN_MONTHS),
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
        out[f"{endpoint}_months"] = months
        out[f"{endpoint}_event"] = parse_events(
            table[event_col], path=path, column=event_col, mapping=mapping
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
            rows=_line_numbers(mg > MG_MEDIAN_SUGGESTS_MG_DL),
            fix=f"set units.mg: mg/dL in {mapping.path} if the values are in mg/dL",
        )
    if mapping.mg_unit != "mmol/L" and median < MG_MEDIAN_SUGGESTS_MMOL_L:
        raise InputError(
            f"serum Mg has median {median:.2f} mmol/L after conversion from {mapping.mg_unit}"
            f" (raw median {raw.median():.2f}), which looks like mmol/L, not {mapping.mg_unit}",
            file=path,
            column=column,
            rows=_line_numbers(mg < MG_MEDIAN_SUGGESTS_MMOL_L),
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


def covariate_values(
    table: pd.DataFrame, covariates: list[dict], path: str, mapping: Mapping
) -> pd.DataFrame:
    """The configured covariates: numbers for numeric ones, text (or missing) otherwise.

    A categorical covariate's configured reference level must occur in the data (unless
    the covariate is missing for everyone: it is then left out of the models).
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
        out[name] = values.where(~_missing(values))
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
    longer = survival["pfs_months"] > survival["os_months"]
    if longer.any():
        column = mapping.columns["pfs_time"] or mapping.columns["progression_date"]
        raise InputError(
            "PFS is longer than OS (progression-free time cannot outlast survival: a"
            " progression after death or after the last follow-up?)",
            file=path,
            column=column,
            rows=_line_numbers(longer),
            fix="check PFS and OS times (and units) in these rows",
        )


EXCLUSION_STEPS = (
    ("missing serum Mg", [MG_COLUMN]),
    ("missing PFS time or status", [time_column("pfs"), event_column("pfs")]),
    ("missing OS time or status", [time_column("os"), event_column("os")]),
    ("missing treatment arm", ["arm"]),
)


def apply_exclusions(data: pd.DataFrame) -> PreparedCohort:
    """Drop patients lacking a required value, step by step, recording the patient flow.

    Each step marks the patients it drops among those the earlier steps kept; the table is
    filtered once, at the end (a copy of the whole table per step is costly at 10^6 rows).
    """
    flow_rows, excluded = [], []
    kept = np.ones(len(data), dtype=bool)
    for step, (reason, columns) in enumerate(EXCLUSION_STEPS, start=1):
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
    for column in ("pfs_event", "os_event"):
        result[column] = result[column].astype(int)
    return PreparedCohort(
        data=result, flow=pd.DataFrame(flow_rows), excluded=pd.concat(excluded, ignore_index=True)
    )


def _converted(
    table: pd.DataFrame, path: str, mapping: Mapping, covariates: list[dict]
) -> tuple[pd.DataFrame, str | None]:
    """The text table converted and validated, one row per patient read (before the
    exclusions), and the data cut-off when dates are given."""
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
    id_column = mapping.column("patient_id")
    ids = table[id_column]
    no_id = _missing(ids)
    _check_unique_ids(ids, no_id, path, id_column)
    survival = (survival_from_dates if mapping.uses_dates else survival_from_times)(
        table, path, mapping
    )
    _check_pfs_within_os(survival, path, mapping)
    arm = table[mapping.columns["arm"]] if mapping.columns["arm"] else "all patients"
    data = pd.DataFrame(
        {
            "patient_id": ids.where(~no_id),
            MG_COLUMN: mg_in_mmol_l(table, path, mapping),
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
    return data, latest_date(table, path, mapping) if mapping.uses_dates else None


def read_cohort(path: str | Path, mapping: Mapping, covariates: list[dict]) -> PreparedCohort:
    """Read, convert and validate one cohort CSV, then apply the documented exclusions.

    The text table is passed on without a name here, so that it is freed once converted:
    at 10^6 rows it is the largest object of the prepare step.
    """
    path = str(path)
    data, cutoff = _converted(read_text_table(path, mapping), path, mapping, covariates)
    prepared = apply_exclusions(data)
    return PreparedCohort(prepared.data, prepared.flow, prepared.excluded, cutoff)
