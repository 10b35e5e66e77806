"""The endpoints' tables stacked into results/<cohort>/tables/, by the report job before it
reads them (rule render_report): as text, without pandas (:mod:`mgsurv.files.stacking`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from mgsurv.files.stacking import stack_tsv


def collect(parts: Iterable[str | Path], outputs: Mapping[str, str | Path]) -> None:
    """Stack, for each output (by table name), the parts of that name (``<name>.tsv``), in
    the order given (the endpoints' order)."""
    parts = list(parts)
    for table, output in outputs.items():
        stack_tsv([path for path in parts if Path(path).name == f"{table}.tsv"], output)
