"""``mgsurv init``: propose a column mapping for a new cohort CSV, for the user to confirm.

It reads the file, guesses which column holds what from the headers, the units from the
value ranges (serum Mg around 0.8 means mmol/L, around 2 mg/dL; survival times in the
hundreds mean days) and the event codes from the values, and writes a commented mapping
YAML where every guess says what it was based on and uncertain ones are marked CHECK.
Nothing is guessed at run time: the workflow only ever uses a mapping the user passed.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mgsurv.cohort.mapping import IMMUNOTHERAPY_ARMS_KEY, OTHER_ARMS_KEY
from mgsurv.cohort.reader import MISSING_TOKENS
from mgsurv.errors import InputError

# Header patterns per mapping key, most specific first (matched on lower-case names with
# separators removed).
COLUMN_PATTERNS = {
    "patient_id": [r"^(patient)?id$", r"^patient", r"^subject", r"^pid$", r"^case"],
    "mg": [r"magnes", r"^mg$", r"^mg(mmol|mgdl|meq|serum|baseline)", r"^(serum|baseline)mg"],
    "arm": [r"^arm$", r"treat", r"therap", r"^group$", r"regimen", r"drug"],
    "pfs_time": [r"^pfs(time|months|month|days|day|weeks|years|m|d|w|y)?$", r"progressionfree"],
    "pfs_event": [r"^pfs(event|status|cens|censor|ind)", r"^progress(ed|ion)?(event|status)?$"],
    "os_time": [r"^os(time|months|month|days|day|weeks|years|m|d|w|y)?$", r"overallsurv"],
    "os_event": [r"^os(event|status|cens|censor|ind)", r"^(vital|death|dead|died)"],
}
DATE_PATTERNS = {
    "start_date": [r"start", r"(treatment|therapy|tx)date", r"dateof(treatment|start)"],
    "progression_date": [r"(progression|prog|pd)date", r"dateof(progression|pd)"],
    "death_date": [r"(death|died)date", r"dateofdeath", r"^dod$"],
    "last_followup_date": [r"(last|lfu|followup|contact).*date", r"date.*(last|followup)"],
}
COVARIATE_PATTERNS = {
    "age": [r"^age"],
    "sex": [r"^(sex|gender)"],
    "ecog": [r"ecog", r"^ps$", r"performance"],
    "histology": [r"histo"],
    "pdl1": [r"pdl1", r"tps"],
    "smoking": [r"smok"],
    "prior_lines": [r"prior", r"lines?$"],
}
EVENT_WORDS = {
    "dead",
    "died",
    "death",
    "deceased",
    "event",
    "yes",
    "true",
    "progressed",
    "progression",
    "pd",
    "relapse",
}
CENSOR_WORDS = {"alive", "censored", "no", "false", "none", "living", "nopd"}


# An arm value naming an immunotherapy: an immune checkpoint inhibitor (INN), CAR T cells, or
# the words for them; "io" and "ici" only as whole words.
IMMUNOTHERAPY_NAME = re.compile(
    r"immun|checkpoint|car[ -]?t\b|\bio\b|\bici\b|pd-?l?1|ctla-?4|"
    r"(atezo|nivo|pembro|ipili|durva|ave|cemipli|dostarli|tisleli|toripali|sintili|"
    r"camreli|spartali|retifanli|tremeli|relat)\w*mab",
    re.IGNORECASE,
)


@dataclass
class Guess:
    """One proposed value with the evidence behind it; ``sure`` False marks it CHECK."""

    value: object
    why: str
    sure: bool = True


@dataclass
class Proposal:
    csv: dict[str, Guess] = field(default_factory=dict)
    columns: dict[str, Guess] = field(default_factory=dict)
    covariates: dict[str, Guess] = field(default_factory=dict)
    units: dict[str, Guess] = field(default_factory=dict)
    events: dict[str, Guess] = field(default_factory=dict)
    arms: dict[str, Guess] = field(default_factory=dict)
    date_format: Guess | None = None

    def missing_columns(self) -> list[str]:
        """Required mapping keys for which no column was found."""
        survival = (
            ("start_date", "last_followup_date")
            if self.date_format
            else ("pfs_time", "pfs_event", "os_time", "os_event")
        )
        return [k for k in ("patient_id", "mg", *survival) if self.columns[k].value is None]


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9%]", "", name.lower())


def sniff_format(path: Path) -> tuple[str, str, str]:
    """Encoding, delimiter and decimal mark of a CSV, from its first lines."""
    raw = path.read_bytes()[:65536]
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            "the file is an Excel workbook, not a CSV",
            file=str(path),
            fix="save it as CSV from Excel or LibreOffice, then run mgsurv init",
        )
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    delimiter = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t|").delimiter
    body = "\n".join(text.splitlines()[1:50])
    decimal = "," if delimiter != "," and re.search(r"\d,\d", body) else "."
    return ("utf-8" if encoding == "utf-8-sig" else encoding), delimiter, decimal


def match_column(headers: list[str], patterns: list[str], taken: set[str]) -> str | None:
    for pattern in patterns:
        for header in headers:
            if header not in taken and re.search(pattern, _squash(header)):
                return header
    return None


def numbers(values: pd.Series, decimal: str) -> pd.Series:
    text = values.astype(str).str.strip()
    if decimal == ",":
        text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text.where(~text.str.lower().isin(MISSING_TOKENS)), errors="coerce")


def guess_mg_unit(mg: pd.Series) -> Guess:
    """mmol/L around 0.8, mEq/L around 1.6, mg/dL around 2 (normal serum Mg 0.70-1.00 mmol/L)."""
    median = float(mg.median())
    if median < 1.3:
        return Guess("mmol/L", f"median Mg {median:.2f} is in the mmol/L range (0.7-1.1)")
    if median < 1.75:
        return Guess(
            "mEq/L", f"median Mg {median:.2f}: mEq/L (1.4-2.2) or mg/dL (1.7-2.7)?", sure=False
        )
    return Guess("mg/dL", f"median Mg {median:.2f} is in the mg/dL range (1.7-2.7)")


def guess_time_unit(times: pd.Series) -> Guess:
    """From the median survival time: years < 3 < months < 30 < weeks < 150 < days."""
    median = float(times.median())
    for limit, unit in ((3, "years"), (30, "months"), (150, "weeks")):
        if median < limit:
            return Guess(unit, f"median time {median:g} looks like {unit}", sure=unit != "weeks")
    return Guess("days", f"median time {median:g} (in the hundreds) looks like days")


def guess_event_codes(values: pd.Series) -> tuple[Guess, Guess]:
    """Event and censoring codes from the distinct values of the event columns."""
    codes = sorted({str(v).strip().lower() for v in values.dropna()} - MISSING_TOKENS)
    if set(codes) <= {"0", "1"}:
        return Guess(["1"], "values 0/1"), Guess(["0"], "values 0/1")
    if set(codes) <= {"1", "2"}:
        why = "values 1/2: R's Surv() convention, 2 = event"
        return Guess(["2"], why, sure=False), Guess(["1"], why, sure=False)
    event = [c for c in codes if c in EVENT_WORDS]
    censored = [c for c in codes if c in CENSOR_WORDS]
    unknown = [c for c in codes if c not in event and c not in censored]
    sure = not unknown
    why = f"values {codes}" + (f"; not recognised: {unknown}" if unknown else "")
    return Guess(event or ["1"], why, sure), Guess(censored or ["0"], why, sure)


def guess_arms(values: pd.Series) -> dict[str, Guess]:
    """Which arm is immunotherapy, from the arm column's distinct values: the one value that
    names an immunotherapy (a checkpoint inhibitor, CAR T cells, "immunotherapy"); CHECK when
    none or several do."""
    arms = sorted({text for v in values if (text := str(v).strip()).lower() not in MISSING_TOKENS})
    named = [arm for arm in arms if IMMUNOTHERAPY_NAME.search(arm)]
    chosen: str | None
    if len(named) == 1:
        why = f"'{named[0]}' names an immunotherapy"
        chosen, sure = named[0], True
    elif named:
        why = f"several values name an immunotherapy ({', '.join(named)}): keep one"
        chosen, sure = named[0], False
    else:
        why = f"no value of {arms} names an immunotherapy: put the immunotherapy arm here"
        chosen, sure = arms[0] if arms else None, False
    others = [arm for arm in arms if arm != chosen]
    return {
        IMMUNOTHERAPY_ARMS_KEY: Guess([chosen] if chosen is not None else [], why, sure),
        OTHER_ARMS_KEY: Guess(others, "the arm column's other values", sure),
    }


def propose_columns(headers: list[str]) -> tuple[dict[str, Guess], set[str]]:
    """The survival columns: times and events, or (when no time column matches) dates."""
    columns: dict[str, Guess] = {}
    taken: set[str] = set()

    def claim(key: str, patterns: list[str], why: str = "") -> None:
        header = match_column(headers, patterns, taken)
        columns[key] = (
            Guess(header, f"header '{header}'{why}")
            if header
            else Guess(None, "no header matched", sure=key == "arm")
        )
        if header is not None:
            taken.add(header)

    for key in ("patient_id", "mg", "arm", "pfs_time", "os_time"):
        claim(key, COLUMN_PATTERNS[key])
    if columns["pfs_time"].value or columns["os_time"].value:
        for key in ("pfs_event", "os_event"):
            claim(key, COLUMN_PATTERNS[key])
        return columns, taken
    for key in ("pfs_event", "os_event"):
        columns[key] = Guess(None, "survival is derived from the dates below")
    for key, patterns in DATE_PATTERNS.items():
        claim(key, patterns, " (survival from dates)")
    return columns, taken


def propose(path: str | Path) -> Proposal:
    """Read the CSV and propose every part of its mapping."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=str(path), fix="give the path of the cohort CSV")
    encoding, delimiter, decimal = sniff_format(path)
    table = pd.read_csv(
        path, sep=delimiter, dtype=str, encoding=encoding, keep_default_na=False, nrows=5000
    )
    headers = [h.strip() for h in table.columns]
    table.columns = headers
    proposal = Proposal()
    proposal.csv = {
        "delimiter": Guess(delimiter, "sniffed from the header line"),
        "decimal": Guess(
            decimal,
            "digits around commas in the data" if decimal == "," else "no decimal commas seen",
        ),
        "encoding": Guess(encoding, "decoded without errors"),
    }
    proposal.columns, taken = propose_columns(headers)
    if not any(proposal.columns[k].value for k in ("pfs_time", "os_time")):
        proposal.date_format = Guess("%Y-%m-%d", "ISO dates assumed", sure=False)
    for name, patterns in COVARIATE_PATTERNS.items():
        header = match_column(headers, patterns, taken)
        if header:
            proposal.covariates[name] = Guess(header, f"header '{header}'")
            taken.add(header)
    mg_column = proposal.columns["mg"].value
    if mg_column:
        proposal.units["mg"] = guess_mg_unit(numbers(table[mg_column], decimal))
    time_column = proposal.columns["os_time"].value or proposal.columns["pfs_time"].value
    if time_column:
        proposal.units["time"] = guess_time_unit(numbers(table[time_column], decimal))
    arm_column = proposal.columns["arm"].value
    if arm_column:
        proposal.arms = guess_arms(table[arm_column])
    event_columns = [
        proposal.columns[k].value for k in ("pfs_event", "os_event") if proposal.columns[k].value
    ]
    if event_columns:
        values = pd.concat([table[c] for c in event_columns])
        proposal.events["event"], proposal.events["censored"] = guess_event_codes(values)
    return proposal


def _line(key: str, guess: Guess, indent: str = "  ") -> str:
    value = "null" if guess.value is None else _yaml_scalar(guess.value)
    flag = "" if guess.sure else "CHECK: "
    return f"{indent}{key}: {value}  # {flag}{guess.why}"


def _yaml_scalar(value: object) -> str:
    """JSON text is valid YAML: quotes, tabs and non-ASCII headers survive."""
    return json.dumps(value, ensure_ascii=False)


def mapping_yaml(proposal: Proposal, source: str) -> str:
    """The proposed mapping as commented YAML (config/mapping.yaml documents each key)."""
    lines = [
        f"# Column mapping proposed by `mgsurv init` for {source}.",
        "# Review every line (those marked CHECK especially), then run",
        f"#   snakemake --cores all --config cohort={source} mapping=<this file>",
        "# The keys are documented in config/mapping.yaml.",
        "csv:",
        *(_line(k, g) for k, g in proposal.csv.items()),
        "columns:",
        *(_line(k, g) for k, g in proposal.columns.items()),
        *([_line("date_format", proposal.date_format, indent="")] if proposal.date_format else []),
        "covariate_columns:" + ("" if proposal.covariates else " {}"),
        *(_line(k, g) for k, g in proposal.covariates.items()),
        "units:",
        *(_line(k, g) for k, g in proposal.units.items()),
        *(["event_codes:"] if proposal.events else []),
        *(_line(k, g) for k, g in proposal.events.items()),
        *(["arms:"] if proposal.arms else []),
        *(_line(k, g) for k, g in proposal.arms.items()),
    ]
    return "\n".join(lines) + "\n"


def write_proposal(source: str | Path, out: str | Path, force: bool = False) -> Proposal:
    """Propose a mapping for ``source`` and write it to ``out`` (never over a file unless
    ``force``)."""
    out = Path(out)
    if out.exists() and not force:
        raise InputError(
            "the mapping file exists already",
            file=str(out),
            fix="choose another --out, or pass --force to replace it",
        )
    proposal = propose(source)
    missing = proposal.missing_columns()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(mapping_yaml(proposal, str(source)), encoding="utf-8")
    if missing:
        print(f"mgsurv init: no column found for {', '.join(missing)}: fill these in {out}")
    return proposal


def unsure(proposal: Proposal) -> list[str]:
    """The keys marked CHECK, for the command's summary."""
    parts = {
        "csv": proposal.csv,
        "columns": proposal.columns,
        "units": proposal.units,
        "event_codes": proposal.events,
        "arms": proposal.arms,
    }
    flagged = [
        f"{section}.{k}"
        for section, guesses in parts.items()
        for k, g in guesses.items()
        if not g.sure
    ]
    return flagged + [
        f"columns.{k}" for k in proposal.missing_columns() if f"columns.{k}" not in flagged
    ]
