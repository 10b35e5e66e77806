"""Read a cohort CSV as a table of text cells with their line numbers, or say exactly what
is wrong with the file; the values are checked by :mod:`mgsurv.cohort.reader`.

Errors (:class:`~mgsurv.errors.InputError`, naming the file, the line and the fix): not
found, empty (or only blank lines), a header without rows, a spreadsheet workbook (xlsx,
xls, ods) or other binary file named .csv, text that is not in the configured encoding
(UTF-16 from Excel's "Unicode text" is named as such; the line of the first undecodable byte
is given), a UTF-8 byte-order mark when another encoding is configured, a delimiter other
than the configured one (the likely one is named), an Excel ``sep=`` first line that
disagrees with the mapping, a line with more or fewer fields than the header (unquoted
decimal commas in a comma-separated file are named as the likely cause: pandas would
silently shift such rows by one column), a mapped column present twice. Accepted: a UTF-8
byte-order mark with UTF-8 (removed), an Excel ``sep=`` line that agrees, ``;`` / tab /
``|`` delimiters when the mapping says so, any encoding Python knows when the mapping names
it, blank lines and quoted line breaks (line numbers stay those an editor shows; ``\n``,
``\r\n`` and a lone ``\r`` end a line), and columns the mapping does not use, even repeated.

A file whose quotes, if any, each enclose a whole field on one line (R's write.csv, or no
quotes at all) takes the fast path of :mod:`mgsurv.cohort.plain_csv` when it provably
reads the same.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mgsurv.cohort.mapping import Mapping
from mgsurv.cohort.plain_csv import read_plain
from mgsurv.cohort.spreadsheet import is_workbook, read_sheet_rows
from mgsurv.errors import InputError

UTF8_BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
DECIMAL_COMMA = re.compile(r"\d,\d")
# Excel's hint line "sep=;" before the header (written by some exports, read by Excel).
EXCEL_SEP_LINE = re.compile(r"^\s*sep=(.?)\s*$", re.IGNORECASE)


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
            fix="give it its own extension (.xlsx or .ods: mgsurv reads those directly), or"
            " save it as 'CSV UTF-8'"
            if raw.startswith(b"PK")
            else "open it in Excel or LibreOffice and save it as .xlsx (read directly) or as"
            " 'CSV UTF-8'",
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
    if records:
        _check_delimiter(records[0][1], records[0][0], path, mapping)
    return _table_of_records(records, path, mapping)


def _table_of_records(
    records: list[tuple[int, list[str]]], path: str, mapping: Mapping
) -> pd.DataFrame:
    """The text table of a file's records (line or row number, fields), the first being
    the header; an empty file, or one without rows, is an error."""
    if not records:
        raise InputError("the file is empty", file=path, fix="export the cohort again")
    header_line, header = records[0]
    names = _header_names(header, header_line, path, mapping)
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
    """Read the CSV (or the workbook's sheet: :mod:`mgsurv.cohort.spreadsheet`) with every
    cell as stripped text; fail with a named error if unreadable.

    The index is the line number - 2 of each row (so ``index + 2`` is the line an editor
    shows, also after blank lines or quoted line breaks); ``attrs["header_line"]`` is the
    header's line. Duplicated names of columns that are not mapped get a suffix " (2)"...

    A file without blank lines whose quotes each enclose a whole field on one line is parsed
    by pyarrow (:mod:`mgsurv.cohort.plain_csv`, which checks that the result is the csv
    module's); any other file, and every file with an error to name, by the csv module.
    """
    path = str(path)
    if is_workbook(path):
        rows = read_sheet_rows(path, _read_bytes(path), mapping)
        return _table_of_records(rows, path, mapping)
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
