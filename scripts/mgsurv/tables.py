"""Reading and writing the tidy result tables (TSV) and JSON side files, atomically.

Files are written to a temporary name in the same folder and renamed into place, so a
killed job never leaves a half-written file under its final name.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

NA = "NA"
FLOAT_FORMAT = "%.15g"


def _atomic_write(path: str | Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed run
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_tsv(table: pd.DataFrame, path: str | Path) -> None:
    """Tab-separated, NA for missing, floats with 15 significant digits (deterministic)."""
    _atomic_write(
        path,
        lambda tmp: table.to_csv(tmp, sep="\t", index=False, na_rep=NA, float_format=FLOAT_FORMAT),
    )


def read_tsv(path: str | Path) -> pd.DataFrame:
    """Read a table written by :func:`write_tsv` (NA back to NaN; group labels stay text)."""
    return pd.read_csv(
        path,
        sep="\t",
        na_values=[NA],
        keep_default_na=False,
        dtype={"group": str, "groups": str, "term": str},
    )


def write_parquet(table: pd.DataFrame, path: str | Path) -> None:
    _atomic_write(path, lambda tmp: table.to_parquet(tmp, index=False))


def write_json(data: dict, path: str | Path) -> None:
    def dump(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")

    _atomic_write(path, dump)


def write_text(text: str, path: str | Path) -> None:
    """A UTF-8 text file (e.g. the HTML report), written atomically."""
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
