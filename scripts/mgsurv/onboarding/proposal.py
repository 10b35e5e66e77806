"""Everything a run of a new cohort file needs, proposed from the file: how to read it, the
column mapping, and the study settings that depend on the data (the covariates it has, the
reference arm).

The file is read once, whole, by the workflow's own reader (every cell as text, the same
column names and messages); each guess carries what it was based on and whether it is
sure (:class:`~mgsurv.onboarding.values.Guess`).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from mgsurv.cohort.csv_file import read_text_table
from mgsurv.cohort.mapping import REQUIRED_DATE_KEYS, TIME_KEYS, Mapping
from mgsurv.cohort.spreadsheet import is_workbook
from mgsurv.contract import ENDPOINTS
from mgsurv.errors import InputError
from mgsurv.onboarding.columns import (
    COVARIATE_LABELS,
    COVARIATE_PATTERNS,
    ColumnFinder,
    match_column,
    propose_columns,
)
from mgsurv.onboarding.values import (
    CovariateGuess,
    Guess,
    guess_arms,
    guess_covariate,
    guess_date_format,
    guess_event_codes,
    guess_mg_unit,
    guess_time_unit,
    numbers,
)

# Encodings tried in this order: UTF-8 (with or without byte-order mark), Windows' cp1252,
# then latin-1, which decodes any bytes.
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


@dataclass(frozen=True)
class ProposedCovariate:
    """A covariate found in the file: its config entry's fields and the evidence."""

    name: str
    column: str
    guess: CovariateGuess

    def config_entry(self) -> dict:
        """The covariate as config.yaml lists it."""
        entry: dict = {"name": self.name, "type": self.guess.type}
        if self.guess.reference is not None:
            entry["reference"] = self.guess.reference
        entry["label"] = COVARIATE_LABELS.get(self.name, self.column)
        if self.name == "age" and self.guess.type == "numeric":
            entry |= {"per": 10, "unit": "years"}
        return entry


@dataclass
class Proposal:
    """The proposed mapping (by its sections) and study settings of one file."""

    source: str
    csv: dict[str, Guess] = field(default_factory=dict)
    columns: dict[str, Guess] = field(default_factory=dict)
    covariates: list[ProposedCovariate] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    units: dict[str, Guess] = field(default_factory=dict)
    # Per endpoint, (event, censored).
    events: dict[str, tuple[Guess, Guess]] = field(default_factory=dict)
    arms: dict[str, Guess] = field(default_factory=dict)
    date_format: Guess | None = None
    sheet: Guess | None = None  # a workbook's sheet (then no csv guesses)

    def missing_columns(self) -> list[str]:
        """Required mapping keys for which no column was found."""
        survival = REQUIRED_DATE_KEYS if self.date_format else TIME_KEYS
        return [k for k in ("patient_id", "mg", *survival) if self.columns[k].value is None]

    def shared_codes(self) -> bool:
        """Whether both endpoints' event columns take the same codes (one shared list)."""
        codes = [[guess.value for guess in pair] for pair in self.events.values()]
        return all(pair == codes[0] for pair in codes)


def sniff_format(path: Path) -> tuple[str, str, str]:
    """Encoding (of the whole file), delimiter (from the header line) and decimal mark
    (from the first rows) of a CSV."""
    raw = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    lines = text[:65536].splitlines() or [""]
    try:
        delimiter = csv.Sniffer().sniff(lines[0], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    body = "\n".join(lines[1:50])
    decimal = "," if delimiter != "," and re.search(r"\d,\d", body) else "."
    return ("utf-8" if encoding == "utf-8-sig" else encoding), delimiter, decimal


# What the reader's messages call the mapping while init is still proposing it.
PROPOSED_MAPPING = "the proposed mapping"


def read_cohort_text(path: Path) -> tuple[pd.DataFrame, dict[str, Guess], str]:
    """The file as the workflow reads it (every cell as text, the same column names and
    the same messages; a workbook's first sheet, its dates as ISO text), with how to read
    it (the csv guesses, none for a workbook) and its decimal mark."""
    mapping = Mapping(path=PROPOSED_MAPPING, columns={})
    if is_workbook(path):
        return read_text_table(path, mapping), {}, "."
    encoding, delimiter, decimal = sniff_format(path)
    mapping = replace(mapping, encoding=encoding, delimiter=delimiter, decimal=decimal)
    guesses = {
        "delimiter": Guess(delimiter, "sniffed from the header line"),
        "decimal": Guess(
            decimal,
            "digits around commas in the data" if decimal == "," else "no decimal commas seen",
        ),
        "encoding": Guess(encoding, "decoded without errors"),
    }
    return read_text_table(path, mapping), guesses, decimal


def propose_covariates(
    table: pd.DataFrame, finder: ColumnFinder, decimal: str
) -> tuple[list[ProposedCovariate], list[str]]:
    """The covariates mgsurv knows by name that the file has, with their types and reference
    levels; and the columns left unused (the user may add them)."""
    found = []
    for name, patterns in COVARIATE_PATTERNS.items():
        header = match_column(finder.headers, patterns, finder.taken)
        if header is None:
            continue
        guess = guess_covariate(table[header], decimal)
        if guess is not None:
            finder.claim(header)
            found.append(ProposedCovariate(name, header, guess))
    unused = [h for h in finder.headers if h not in finder.taken]
    return found, unused


def propose(path: str | Path) -> Proposal:
    """Read the file and propose every part of its mapping and study settings."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=str(path), fix="give the path of the cohort CSV")
    proposal = Proposal(source=str(path))
    table, proposal.csv, decimal = read_cohort_text(path)
    if not proposal.csv:
        proposal.sheet = Guess(1, "the workbook's first sheet")
    _propose_from(proposal, table, decimal)
    return proposal


def _propose_from(proposal: Proposal, table: pd.DataFrame, decimal: str) -> None:
    """Everything but how to read the file, from its table of text cells."""
    proposal.columns, finder = propose_columns(table)
    if "start_date" in proposal.columns:
        dates = [table[g.value] for g in proposal.columns.values() if g.value in finder.dates]
        proposal.date_format = (
            guess_date_format(pd.concat(dates))
            if dates
            else Guess("%Y-%m-%d", "no date column found", sure=False)
        )
    proposal.covariates, proposal.unused = propose_covariates(table, finder, decimal)
    mg_column = proposal.columns["mg"].value
    if mg_column:
        proposal.units["mg"] = guess_mg_unit(numbers(table[mg_column], decimal))
    time_column = proposal.columns["os_time"].value or proposal.columns["pfs_time"].value
    if time_column:
        proposal.units["time"] = guess_time_unit(numbers(table[time_column], decimal))
    arm_column = proposal.columns["arm"].value
    if arm_column:
        proposal.arms = guess_arms(table[arm_column])
    for endpoint in ENDPOINTS:
        column = proposal.columns[f"{endpoint}_event"].value
        if column:
            proposal.events[endpoint] = guess_event_codes(table[column])
