"""Which column of a new cohort file holds what: from its header, and from its values
where headers say nothing (dates, treatment arms).

Headers are compared lower case with separators removed ("PFS days" is ``pfsdays``). The
progression endpoint goes by many names: PFS, and RFS, EFS, DFS or TTP in cohorts that
record relapse, events or time to progression; all are proposed as mgsurv's PFS, saying so.
"""

from __future__ import annotations

import re

import pandas as pd

from mgsurv.cohort.mapping import TIME_KEYS
from mgsurv.onboarding.values import (
    MAX_ARMS,
    Guess,
    distinct_values,
    looks_like_dates,
    names_treatments,
)

# Names of the progression endpoint (mapped to mgsurv's PFS) and their time-unit suffixes.
PROGRESSION = r"(pfs|rfs|efs|dfs|ttp)"
TIME_SUFFIX = r"(time|months?|days?|weeks?|years?|m|d|w|y|mo|mos)?"
EVENT_SUFFIX = r"(event|status|stat|cens|censor|censored|ind|indicator|flag)"
# Header patterns per mapping key, most specific first.
COLUMN_PATTERNS = {
    "patient_id": [r"^(patient|subject|case)?(id|no|number|nr)$", r"^patient", r"^subject"]
    + [r"^pid$", r"^case", r"^usubjid$"],
    "mg": [r"magnes", r"^mg$", r"^mg(mmol|mgdl|meq|serum|baseline|bl)", r"^(serum|baseline)mg"],
    "arm": [r"^arm$", r"^(study)?arm", r"treat", r"therap", r"^group$", r"regimen", r"drug"]
    + [r"^rx$", r"^tx$", r"chemo"],
    "pfs_time": [rf"^{PROGRESSION}{TIME_SUFFIX}$", r"(progression|relapse|event|disease)free"]
    + [r"timetoprogression"],
    "pfs_event": [rf"^{PROGRESSION}{EVENT_SUFFIX}", r"^(progress(ed|ion)?|relapse|recurrence)"],
    "os_time": [rf"^os{TIME_SUFFIX}$", r"overallsurv", rf"^survival{TIME_SUFFIX}$"],
    "os_event": [rf"^os{EVENT_SUFFIX}", r"^(vital|death|dead|died|deceased)"],
}
# Date columns, among the columns whose values are dates.
DATE_PATTERNS = {
    "start_date": [r"start", r"begin", r"(treatment|therapy|tx|ici|io)(date)?$", r"firstdose"]
    + [r"index", r"baseline"],
    "progression_date": [r"progr", rf"^{PROGRESSION}", r"relapse", r"recurr", r"^pd"],
    "death_date": [r"death", r"died", r"^dod", r"deceased"],
    "last_followup_date": [r"last", r"lfu", r"followup", r"contact", r"seen", r"visit"]
    + [r"censor"],
}
# Covariates mgsurv knows by name (config key: header patterns) and their report labels.
COVARIATE_PATTERNS = {
    "age": [r"^age(years?|yrs?|y|at\w*|baseline|bl)?$"],
    "sex": [r"^(sex|gender)"],
    "ecog": [r"ecog", r"^ps$", r"performance"],
    "histology": [r"histo"],
    "pdl1": [r"pdl1", r"tps"],
    "smoking": [r"smok"],
    "stage": [r"stage"],
    "prior_lines": [r"^prior", r"^(n|no|num|number)?(of)?lines"],
}
COVARIATE_LABELS = {
    "age": "Age",
    "sex": "Sex",
    "ecog": "ECOG PS",
    "histology": "Histology",
    "pdl1": "PD-L1 TPS",
    "smoking": "Smoking",
    "stage": "Stage",
    "prior_lines": "Prior lines",
}


def squash(name: str) -> str:
    """A header as compared: lower case, only letters, digits and %."""
    return re.sub(r"[^a-z0-9%]", "", name.lower())


def match_column(headers: list[str], patterns: list[str], taken: set[str]) -> str | None:
    """The first header not taken that matches a pattern (patterns in order)."""
    for pattern in patterns:
        for header in headers:
            if header not in taken and re.search(pattern, squash(header)):
                return header
    return None


def _why(header: str, key: str) -> str:
    """What a header match was based on; a non-PFS name of the progression endpoint is said."""
    named = re.match(PROGRESSION, squash(header))
    if key.startswith("pfs") and named and named.group(1) != "pfs":
        return f"header '{header}' ({named.group(1).upper()} taken as the progression endpoint)"
    return f"header '{header}'"


class ColumnFinder:
    """Claims the file's columns one mapping key at a time (a column serves one key)."""

    def __init__(self, table: pd.DataFrame):
        self.table = table
        self.headers = list(table.columns)
        self.taken: set[str] = set()
        self.dates = {h for h in self.headers if looks_like_dates(table[h])}

    def claim(self, header: str | None) -> str | None:
        if header is not None:
            self.taken.add(header)
        return header

    def by_header(self, key: str, patterns: list[str], among: set[str] | None = None) -> Guess:
        """The column whose header matches, among ``among`` (default: every column)."""
        headers = [h for h in self.headers if among is None or h in among]
        header = self.claim(match_column(headers, patterns, self.taken))
        if header is None:
            return Guess(None, "no header matched", sure=False)
        return Guess(header, _why(header, key))

    def arm(self) -> Guess:
        """The treatment arm: a matching header with a few distinct values that are not
        dates, else the first column whose values name treatments; CHECK when none is found
        (null analyses the file as one single-arm cohort)."""
        few = {
            h
            for h in self.headers
            if h not in self.dates and len(distinct_values(self.table[h])) <= MAX_ARMS
        }
        guess = self.by_header("arm", COLUMN_PATTERNS["arm"], among=few)
        if guess.value is not None:
            return guess
        for header in self.headers:
            if header not in self.taken and names_treatments(self.table[header]):
                shown = ", ".join(distinct_values(self.table[header])[:4])
                return Guess(
                    self.claim(header),
                    f"values of '{header}' ({shown}) look like treatment arms",
                    sure=False,
                )
        return Guess(
            None,
            "no header or values look like a treatment arm: null reads the file as one"
            " single-arm cohort; name the arm column if the file has one",
            sure=False,
        )


def propose_columns(table: pd.DataFrame) -> tuple[dict[str, Guess], ColumnFinder]:
    """Every column key of the mapping: ID, Mg, arm, then survival as times and events, or
    (when no time column matches) as dates found among the date-valued columns."""
    finder = ColumnFinder(table)
    not_dates = set(finder.headers) - finder.dates
    columns = {
        "patient_id": finder.by_header("patient_id", COLUMN_PATTERNS["patient_id"]),
        "mg": finder.by_header("mg", COLUMN_PATTERNS["mg"], among=not_dates),
        "arm": finder.arm(),
    }
    for key in ("pfs_time", "os_time"):
        columns[key] = finder.by_header(key, COLUMN_PATTERNS[key], among=not_dates)
    times = columns["pfs_time"].value or columns["os_time"].value
    for key in ("pfs_event", "os_event"):
        columns[key] = (
            finder.by_header(key, COLUMN_PATTERNS[key], among=not_dates)
            if times
            else Guess(None, "survival is derived from the dates below")
        )
    if not times:
        for key in ("pfs_time", "os_time"):
            columns[key] = Guess(None, "survival is derived from the dates below")
    columns = {key: columns[key] for key in ("patient_id", "mg", "arm", *TIME_KEYS)}
    if times:
        return columns, finder
    for key, patterns in DATE_PATTERNS.items():
        columns[key] = finder.by_header(key, patterns, among=finder.dates)
        if columns[key].value is None and key in ("progression_date", "death_date"):
            columns[key].why = "no date column matched: null if the file records none"
    return columns, finder
