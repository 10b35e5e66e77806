"""Table specs for the report's template, each with its CSV download, and helpers to select
and lay out rows of the result tables.

Every section turns result tables into plain, already formatted strings; :func:`table`
wraps them with a caption, column kinds and notes for the template, and
:func:`name_tables` gives each its download name and CSV once the page is assembled.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from typing import Any, NamedTuple

import pandas as pd

from mgsurv.contract import SUBSET_COLUMN, SUBSET_TABLES

Table = dict[str, Any]


Tables = dict[str, pd.DataFrame]


def slug(text: str) -> str:
    """A string safe to use inside an HTML id."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text)


def rows_of(table: pd.DataFrame, **equal: str) -> pd.DataFrame:
    """Rows of a table whose columns equal the given values (compared as text; a
    categorical column by its categories, without a text copy of every row)."""
    mask = pd.Series(True, index=table.index)
    for column, value in equal.items():
        values = table[column]
        if not isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(str)
        mask &= values == value
    return table[mask]


def subset_view(tables: Tables, subset: str) -> Tables:
    """The tables with each of SUBSET_TABLES cut to one subset's rows (all patients, or one
    arm's), the others as they are: what a section about that subset reads."""
    return {
        name: rows_of(table, **{SUBSET_COLUMN: subset}) if name in SUBSET_TABLES else table
        for name, table in tables.items()
    }


def blank_repeats(rows: list[list[str]]) -> list[list[str]]:
    """Rows whose first cell is left empty where it repeats the row above, so that each
    grouping's (long) name is read once, at the head of its block."""
    return [
        ["" if i and row[0] == rows[i - 1][0] else row[0], *row[1:]] for i, row in enumerate(rows)
    ]


def table(
    caption: str,
    columns: list[str],
    rows: list[list[str]],
    text_columns: int,
    *,
    notes: list[str] | None = None,
    trailing_text: int = 0,
    row_classes: list[str] | None = None,
    numbered: bool = True,
) -> Table:
    """A table spec for the template: the first `text_columns` and the last `trailing_text`
    columns are text, the others numeric (right-aligned); `notes` are printed under it;
    `row_classes` (one per row, "" for none) style rows, e.g. indented levels; `numbered`
    False for a figure's own numbers shown as a table, which take no table number (the
    template numbers the others as it shows them). The CSV download (csv, csv_name) is
    added by :func:`name_tables` once the page is assembled."""
    numeric = [text_columns <= i < len(columns) - trailing_text for i in range(len(columns))]
    return {
        "caption": caption,
        "columns": columns,
        "rows": rows,
        "numeric": numeric,
        "notes": notes or [],
        "row_classes": row_classes or [""] * len(rows),
        "csv": "",
        "csv_name": "",
        "numbered": numbered,
    }


class Link(NamedTuple):
    """A table cell that links to a part of the page (href "#id")."""

    text: str
    href: str

    def __str__(self) -> str:
        return self.text


class Rich(NamedTuple):
    """A table cell of several parts: text and links."""

    parts: tuple[str | Link, ...]

    def __str__(self) -> str:
        return "".join(map(str, self.parts))


def cell_text(cell: Any) -> str:
    """What a table cell shows (a link's text)."""
    return str(cell)


def csv_text(columns: list[str], rows: list[list[Any]]) -> str:
    """A table as CSV text (RFC 4180, CRLF line ends), exactly the cells shown."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows([[cell_text(cell) for cell in row] for row in rows])
    return buffer.getvalue()


def csv_data_uri(text: str) -> str:
    """A data: URI carrying CSV text (UTF-8 with a byte-order mark, so that spreadsheet
    programs read the en dashes and signs right); data: URIs are not network requests."""
    payload = base64.b64encode(("\ufeff" + text).encode("utf-8")).decode("ascii")
    return f"data:text/csv;charset=utf-8;base64,{payload}"


def name_tables(context: Any, prefix: str = "report") -> None:
    """Give every table spec in the context a unique download name and its CSV data URI:
    '<id of the enclosing part>-<first words of its caption>', in the context's order."""
    seen: dict[str, int] = {}

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict) and "columns" in node and "rows" in node:
            known = set(where.split("-"))
            words = [w for w in re.findall(r"[a-z0-9]+", node["caption"].lower()) if w not in known]
            caption_words = "-".join(words[:5])
            name = f"{where}-{caption_words}" if caption_words else where
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name}-{seen[name]}"
            node["csv_name"] = f"{name}.csv"
            node["csv"] = csv_data_uri(csv_text(node["columns"], node["rows"]))
        elif isinstance(node, dict):
            here = str(node.get("id", where))
            for value in node.values():
                visit(value, here)
        elif isinstance(node, list | tuple) and not isinstance(node, Link):
            for item in node:
                visit(item, where)

    if isinstance(context, dict):
        for key, value in context.items():
            visit(value, key)
    else:
        visit(context, prefix)
