r"""The fast path of the cohort reader: a CSV whose quoting is simple, parsed by pyarrow.

:mod:`mgsurv.cohort.csv_file` reads a file with Python's csv module, which knows the quoting rules,
counts the lines of records that span lines, skips blank lines and lets every error be
named. On a large export that costs most of the prepare stage's time and memory (a Python
list per row, a str per cell). Most exports need none of it: a record is one line, and a
field is the text between two delimiters, or such a text in quotes (R's write.csv quotes
every text). :func:`read_plain` reads such a file with pyarrow's CSV parser and returns what
the csv module path would (header, line numbers, stripped cells), or None when it cannot
show that the two agree; the caller then takes the csv module path, which also words every
error. Conditions, each checked:

* every ``"`` opens or closes a quoted field on one line (:func:`simple_quotes`): an opening
  quote starts a field (after a delimiter or at a line start), its closing quote is the next
  ``"`` on the same line and ends the field (before a delimiter or a line end). The quoted
  text thus holds no quote and no line break, and both parsers read it alike (a delimiter
  inside is text to both); a doubled quote, a quote after a space or within a field, or a
  quoted line break sends the file to the csv module;
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


QUOTE, LINE_FEED, CARRIAGE_RETURN = ord('"'), ord("\n"), ord("\r")
# The quotes are checked in blocks of about this many bytes, cut at line ends (the check's
# temporary arrays stay small however large the file).
QUOTE_CHECK_BLOCK = 1 << 24


def _simple_quotes_in(block: np.ndarray, delimiter: int) -> bool:
    """:func:`simple_quotes` for a block of whole lines."""
    quotes = np.flatnonzero(block == QUOTE)
    if len(quotes) % 2:
        return False
    opening, closing = quotes[0::2], quotes[1::2]
    before = block[np.maximum(opening - 1, 0)]
    starts_field = (opening == 0) | (before == delimiter) | (before == LINE_FEED)
    after = block[np.minimum(closing + 1, len(block) - 1)]
    ends_field = (
        (closing == len(block) - 1)
        | (after == delimiter)
        | (after == LINE_FEED)
        | (after == CARRIAGE_RETURN)
    )
    line_ends = np.flatnonzero(block == LINE_FEED)
    same_line = np.searchsorted(line_ends, opening) == np.searchsorted(line_ends, closing)
    return bool(starts_field.all() and ends_field.all() and same_line.all())


def simple_quotes(data: bytes, delimiter: bytes) -> bool:
    """Whether every quote of the text opens or closes a quoted field within one line
    (the module docstring's first condition)."""
    if b'"' not in data:
        return True
    array = np.frombuffer(data, dtype=np.uint8)
    start = 0
    while start < len(data):
        end = data.find(b"\n", start + QUOTE_CHECK_BLOCK)
        end = len(data) if end < 0 else end + 1
        if not _simple_quotes_in(array[start:end], delimiter[0]):
            return False
        start = end
    return True


def read_plain(text: str, delimiter: str) -> PlainTable | None:
    """The table of a CSV text whose quotes, if any, each enclose a whole field on one line,
    or None unless every condition of the module docstring holds (the text must then be
    read with the csv module)."""
    if delimiter not in DELIMITERS or text.count("\r") != text.count("\r\n"):
        return None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not UTF-8, so not for pyarrow
        return None
    if not simple_quotes(data, delimiter.encode()):
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
                quote_char='"',
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
