"""Stack TSV tables written by :func:`mgsurv.files.tables.write_tsv` into one, as text.

The report job stacks each per-endpoint table into one table per kind
(:mod:`mgsurv.stages.collect`). When the parts share their header (always, for tables
written by the same code and settings) the rows are copied as text: no re-parsing of
numbers, so the stacked table holds exactly the digits the analysis wrote.
Parts whose columns differ are stacked by pandas, aligning the columns by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mgsurv.files.atomic import atomic_write


def stack_tsv(parts: Sequence[str | Path], output: str | Path) -> None:
    """Write the rows of every part, in order, under one header into ``output`` (atomically)."""
    headers = [_header(part) for part in parts]
    if len(set(headers)) > 1:
        _stack_with_pandas(parts, output)
        return

    def write(temporary: str) -> None:
        with open(temporary, "w", encoding="utf-8", newline="") as target:
            for index, part in enumerate(parts):
                with Path(part).open(encoding="utf-8", newline="") as source:
                    if index > 0:
                        source.readline()  # the header, written once
                    for line in source:
                        target.write(line if line.endswith("\n") else line + "\n")

    atomic_write(output, write)


def _header(path: str | Path) -> str:
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return handle.readline().rstrip("\r\n")


def _stack_with_pandas(parts: Sequence[str | Path], output: str | Path) -> None:
    import pandas as pd  # noqa: PLC0415 (only for parts with different columns)

    from mgsurv.files.tables import read_tsv, write_tsv  # noqa: PLC0415

    write_tsv(pd.concat([read_tsv(part) for part in parts], ignore_index=True), output)
