r"""The fast path of the cohort reader: a CSV without quotes, parsed by pyarrow.

:mod:`mgsurv.cohort.csv_file` reads a file with Python's csv module, which knows the quoting rules,
counts the lines of records that span lines, skips blank lines and lets every error be
named. On a large export that costs most of the prepare stage's time and memory (a Python
list per row, a str per cell). Most exports need none of it: without a quote character a
record is one line and a field is the text between two delimiters. :func:`read_plain` reads
such a file with pyarrow's CSV parser and returns what the csv module path would (header,
line numbers, stripped cells), or None when it cannot show that the two agree; the caller
then takes the csv module path, which also words every error. Conditions, each checked:

* no ``"`` in the text, so no field is quoted and no record spans lines;
* every ``\r`` is part of ``\r\n`` (the csv module also ends a line at a lone ``\r``);
* the header is the first non-empty line and has two or more fields, not all blank;
* no line after the header is blank (the csv module skips a line whose fields are all
  whitespace; pyarrow keeps it as a row), except empty lines at the end of the file;
* every line has the header's number of fields (pyarrow refuses the file otherwise; the
  csv module path names the lines, or accepts extra fields that are empty);
* no field is as long as ``csv.field_size_limit()`` (the csv module stops there);
* the rows do not start with a UTF-8 byte-order mark (pyarrow would drop it);
* pyarrow returns one row per line after the header.

The cells are stripped with Python's ``str.strip`` (pyarrow's whitespace is not Python's),
once per distinct value of a column: the columns repeat a few values over many rows.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

# The delimiters a mapping may name (workflow/schemas/mapping.schema.yaml): one ASCII byte.
DELIMITERS = frozenset({",", ";", "\t", "|"})
LINE_BREAKS = re.compile(rb"[\r\n]*")


@dataclass(frozen=True)
class PlainTable:
    """A file's header and rows as the csv module path of :mod:`mgsurv.cohort.csv_file` reads
    them."""

    header_line: int  # the header's line number (1 unless empty lines come first)
    header: list[str]  # the header's fields as the csv module splits them (not stripped)
    index: np.ndarray  # line number - 2 of each row
    cells: np.ndarray  # stripped str, one row per column (object array, columns x rows)


def read_plain(text: str, delimiter: str) -> PlainTable | None:
    """The table of a CSV text without quotes, or None unless every condition of the module
    docstring holds (the text must then be read with the csv module)."""
    if delimiter not in DELIMITERS or '"' in text or text.count("\r") != text.count("\r\n"):
        return None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not UTF-8, so not for pyarrow
        return None
    leading = LINE_BREAKS.match(data)  # always a match, empty when no line break leads
    start = leading.end() if leading else 0
    header_end = data.find(b"\n", start)
    if header_end < 0 or data.startswith(codecs.BOM_UTF8, header_end + 1):
        return None
    end = len(data)
    while end > header_end + 1 and data[end - 1] in b"\r\n":
        end -= 1
    limit = csv.field_size_limit()
    header_text = data[start:header_end].decode("utf-8").removesuffix("\r")
    if end == header_end + 1 or len(header_text) >= limit:
        return None
    header = next(csv.reader([header_text], delimiter=delimiter, skipinitialspace=True))
    if len(header) < 2 or not "".join(header).strip():
        return None
    names = [str(i) for i in range(len(header))]
    lines = data.count(b"\n", header_end + 1, end) + 1
    cells = np.empty((len(names), lines), dtype=object)
    blank = np.ones(lines, dtype=bool)
    done = 0
    try:  # batch by batch: the whole file is never held in arrow memory
        for batch in pacsv.open_csv(
            pa.BufferReader(pa.py_buffer(data).slice(header_end + 1, end - header_end - 1)),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char=False,
                double_quote=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        ):
            rows = slice(done, done + batch.num_rows)
            if rows.stop > lines:
                return None
            for i, column in enumerate(batch.columns):
                # str.strip once per distinct value of the column in this batch
                encoded = column.dictionary_encode()
                distinct = encoded.dictionary.to_pylist()
                if max(map(len, distinct), default=0) >= limit:
                    return None
                stripped = np.array([value.strip() for value in distinct], dtype=object)
                codes = encoded.indices.to_numpy()
                cells[i, rows] = stripped[codes]
                blank[rows] &= (stripped == "")[codes]
            done = rows.stop
    except pa.ArrowInvalid:  # a line with another number of fields, or a very long line
        return None
    if done != lines or blank.any():
        return None
    first = data.count(b"\n", 0, start)  # line - 2 of the first row (after the header)
    return PlainTable(first + 1, header, np.arange(first, first + lines, dtype=np.int64), cells)
