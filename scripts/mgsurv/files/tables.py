"""Reading and writing the tidy result tables (TSV) and JSON side files, atomically.

Files are written to a temporary name in the same folder and renamed into place, so a
killed job never leaves a half-written file under its final name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mgsurv.files.atomic import atomic_write

NA = "NA"
FLOAT_FORMAT = "%.15g"


def write_tsv(table: pd.DataFrame, path: str | Path) -> None:
    """Tab-separated, NA for missing, floats with 15 significant digits (deterministic)."""
    atomic_write(
        path,
        lambda tmp: table.to_csv(tmp, sep="\t", index=False, na_rep=NA, float_format=FLOAT_FORMAT),
    )


def read_tsv(path: str | Path, categorical: Sequence[str] = ()) -> pd.DataFrame:
    """Read a table written by :func:`write_tsv` (NA back to NaN; group labels stay text).
    Columns named in ``categorical`` are read as categoricals of their text: a label
    repeated on millions of rows (km_curves.tsv of a large cohort) is then stored once
    rather than once per row."""
    return pd.read_csv(
        path,
        sep="\t",
        na_values=[NA],
        keep_default_na=False,
        dtype={"group": str, "groups": str, "term": str} | dict.fromkeys(categorical, "category"),
    )


def write_parquet(table: pd.DataFrame, path: str | Path) -> None:
    atomic_write(path, lambda tmp: table.to_parquet(tmp, index=False))


def write_json(data: dict, path: str | Path) -> None:
    def dump(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")

    atomic_write(path, dump)


def write_text(text: str, path: str | Path) -> None:
    """A UTF-8 text file (e.g. the HTML report), written atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
