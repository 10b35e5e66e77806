"""Read one sheet of a spreadsheet workbook (.xlsx, .xlsm, .ods) as the rows of text cells
that :mod:`mgsurv.cohort.csv_file` makes of a CSV, so that every check and message of the
reader is the same, with the sheet's row numbers.

pandas reads the workbook (openpyxl for .xlsx and .xlsm, odfpy for .ods). Each cell becomes
the text a CSV export would hold: an empty cell "", a number as Python writes it (an integer
without ".0", so that event codes and IDs read as typed), a date cell in the mapping's
``date_format`` (so that dates stored as Excel dates and dates typed as text read alike), a
number stored as text as it is, TRUE/FALSE as "true"/"false". The sheet is the mapping's
``sheet`` (a name, or a number counted from 1), by default the first.
"""

from __future__ import annotations

import datetime
import io
import math
import zipfile
from pathlib import Path

import pandas as pd

from mgsurv.cohort.mapping import Mapping
from mgsurv.errors import InputError

# File extensions read as workbooks, with the engine pandas reads each with.
WORKBOOK_ENGINES = {".xlsx": "openpyxl", ".xlsm": "openpyxl", ".ods": "odf"}


def is_workbook(path: str | Path) -> bool:
    """Whether the path names a spreadsheet workbook mgsurv reads directly."""
    return Path(path).suffix.lower() in WORKBOOK_ENGINES


def cell_text(value: object, date_format: str) -> str:
    """A cell's value as a CSV export would write it (see the module docstring)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime | datetime.date):
        return value.strftime(date_format)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _open(path: str, content: bytes, engine: str) -> pd.ExcelFile:
    try:
        return pd.ExcelFile(io.BytesIO(content), engine=engine)
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as err:
        raise InputError(
            f"the workbook cannot be read ({type(err).__name__}: {err})",
            file=path,
            fix="open it in Excel or LibreOffice and save it again as .xlsx (or as CSV)",
        ) from None


def _chosen_sheet(path: str, mapping: Mapping, names: list[str]) -> str:
    """The mapping's sheet (a name, or a number from 1), by default the first."""
    wanted = mapping.sheet
    if wanted is None:
        return names[0]
    if isinstance(wanted, int) and 1 <= wanted <= len(names):
        return names[wanted - 1]
    if wanted in names:
        return str(wanted)
    raise InputError(
        f"the workbook has no sheet {wanted!r}; its sheets are {', '.join(repr(n) for n in names)}",
        file=path,
        fix=f"set sheet in {mapping.path} to one of these names (or a number from 1)",
    )


def read_sheet_rows(path: str, content: bytes, mapping: Mapping) -> list[tuple[int, list[str]]]:
    """(row number, cell texts) of every row that is not empty of the sheet of the workbook
    ``content`` (the file at ``path``), as :func:`mgsurv.cohort.csv_file._records` gives a
    CSV's records (the first is the header)."""
    book = _open(path, content, WORKBOOK_ENGINES[Path(path).suffix.lower()])
    sheet = _chosen_sheet(path, mapping, [str(name) for name in book.sheet_names])
    table = book.parse(sheet_name=sheet, header=None, dtype=object, na_filter=False)
    records = []
    for number, values in enumerate(table.itertuples(index=False, name=None), start=1):
        cells = [cell_text(value, mapping.date_format) for value in values]
        if "".join(cells).strip():
            records.append((number, cells))
    if not records:
        raise InputError(
            f"the workbook's sheet {sheet!r} is empty",
            file=path,
            fix=f"set sheet in {mapping.path} to the sheet that holds the cohort",
        )
    return records
