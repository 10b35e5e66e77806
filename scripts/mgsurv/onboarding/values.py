"""Guesses from a column's values, each with the evidence behind it (:class:`Guess`).

Units from value ranges (serum Mg around 0.8 means mmol/L, around 2 mg/dL; survival times
in the hundreds mean days), event codes from the distinct values (0/1, R's 1/2, words),
the date format from the dates themselves, the treatment arms from their names (which one
is an immunotherapy), and a covariate's type and most frequent level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mgsurv.cohort.cells import MISSING_TOKENS
from mgsurv.cohort.mapping import IMMUNOTHERAPY_ARMS_KEY, OTHER_ARMS_KEY, normalise_code


@dataclass
class Guess:
    """One proposed value with the evidence behind it; ``sure`` False marks it CHECK."""

    value: object
    why: str
    sure: bool = True


def present(values: pd.Series) -> pd.Series:
    """The stripped text of the cells that are not missing-value tokens."""
    text = values.astype(str).str.strip()
    return text[~text.str.lower().isin(MISSING_TOKENS)]


def numbers(values: pd.Series, decimal: str) -> pd.Series:
    """The cells as numbers (NaN where missing or not a number)."""
    text = present(values)
    if decimal == ",":
        text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce")


def guess_mg_unit(mg: pd.Series) -> Guess:
    """mmol/L around 0.8, mEq/L around 1.6, mg/dL around 2 (normal serum Mg 0.70-1.00 mmol/L)."""
    median = float(mg.median())
    if np.isnan(median):
        return Guess("mmol/L", "no serum Mg value is a number: set the unit", sure=False)
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
    if np.isnan(median):
        return Guess("months", "no survival time is a number: set the unit", sure=False)
    for limit, unit in ((3, "years"), (30, "months"), (150, "weeks")):
        if median < limit:
            return Guess(unit, f"median time {median:g} looks like {unit}", sure=unit != "weeks")
    return Guess("days", f"median time {median:g} (in the hundreds) looks like days")


EVENT_WORDS = frozenset(
    {"1", "dead", "died", "death", "deceased", "event", "yes", "true", "progressed"}
    | {"progression", "pd", "relapse", "relapsed", "recurrence", "y"}
)
CENSOR_WORDS = frozenset(
    {"0", "alive", "censored", "no", "false", "living", "nopd", "n"}
    | {"no progression", "no relapse"}
)


def guess_event_codes(values: pd.Series) -> tuple[Guess, Guess]:
    """An event column's event and censoring codes, from its distinct values: 0/1, R's
    Surv() 1/2 (2 = event), or words (dead/alive, yes/no, progressed...); CHECK when a
    value is not recognised."""
    codes = sorted({normalise_code(v) for v in present(values)})
    if set(codes) <= {"1", "2"} and "2" in codes:
        why = "values 1/2: R's Surv() convention, 1 = censored, 2 = event"
        return Guess(["2"], why), Guess(["1"], why)
    event = [c for c in codes if c in EVENT_WORDS]
    censored = [c for c in codes if c in CENSOR_WORDS]
    unknown = [c for c in codes if c not in event and c not in censored]
    why = f"values {'/'.join(codes)}" if codes else "no values (all missing): list the codes"
    why += f"; not recognised: {unknown}" if unknown else ""
    sure = not unknown and bool(event) and bool(censored)
    return Guess(event or ["1"], why, sure), Guess(censored or ["0"], why, sure)


# Dates as exports write them: day, month and year in some order, and maybe a time of day.
DATE_LIKE = re.compile(r"^\d{1,4}([-/.])\d{1,2}\1\d{2,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
# The formats tried, in this order: ISO first; day before month where both read a date.
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d.%m.%y",
    "%d/%m/%y",
    "%m/%d/%y",
)


def looks_like_dates(values: pd.Series) -> bool:
    """Whether every non-missing cell (and at least one) is written like a date."""
    distinct = pd.Series(present(values).unique(), dtype=object)
    return not distinct.empty and bool(distinct.str.fullmatch(DATE_LIKE).all())


def guess_date_format(values: pd.Series) -> Guess:
    """The strftime format that reads every date; CHECK when day and month cannot be told
    apart (no day above 12) or when no format reads them all."""
    dates = pd.Series(present(values).unique())
    reads = [
        fmt
        for fmt in DATE_FORMATS
        if pd.to_datetime(dates, format=fmt, errors="coerce").notna().all()
    ]
    example = dates.iloc[0] if not dates.empty else ""
    if not reads:
        return Guess(
            DATE_FORMATS[0],
            f"no format reads every date (e.g. '{example}'): write the file's format",
            sure=False,
        )
    if len(reads) > 1:
        return Guess(
            reads[0],
            f"dates such as '{example}' read as {reads[0]} or {reads[1]}: day and month"
            " cannot be told apart (no value above 12)",
            sure=False,
        )
    return Guess(reads[0], f"every date reads as {reads[0]} (e.g. '{example}')")


# An arm value naming an immunotherapy: an immune checkpoint inhibitor (INN), CAR T cells, or
# the words for them; "io" and "ici" only as whole words.
IMMUNOTHERAPY_NAME = re.compile(
    r"immun|checkpoint|car[ -]?t\b|\bio\b|\bici\b|pd-?l?1|ctla-?4|"
    r"(atezo|nivo|pembro|ipili|durva|ave|cemipli|dostarli|tisleli|toripali|sintili|"
    r"camreli|spartali|retifanli|tremeli|relat)\w*mab|"
    r"(tisagen|axicabtagene|lisocabtagene|brexucabtagene|idecabtagene|ciltacabtagene)",
    re.IGNORECASE,
)
# An arm value naming another treatment or a trial group: a drug stem (antibody, kinase
# inhibitor, platinum, taxane...) or a word for a regimen or a control.
TREATMENT_NAME = re.compile(
    r"chemo|placebo|control|standard|\bsoc\b|\bbsc\b|supportive|experimental|targeted|"
    r"radio|\barm\b|\w+(mab|nib|platin|taxel|rubicin|citabine|fluorouracil|trexed|"
    r"mustine|fosfamide|tecan)\b",
    re.IGNORECASE,
)
# The config key of the reference arm, proposed beside the mapping's arms.
REFERENCE_ARM = "reference_arm"
# A treatment column has a few distinct values.
MAX_ARMS = 8


def distinct_values(values: pd.Series) -> list[str]:
    """The column's distinct non-missing values, sorted."""
    return sorted(set(present(values)))


def names_treatments(values: pd.Series) -> bool:
    """Whether a column's values look like treatment arms: 2 to MAX_ARMS distinct values, one
    or more naming an immunotherapy or another treatment."""
    arms = distinct_values(values)
    return 2 <= len(arms) <= MAX_ARMS and any(
        IMMUNOTHERAPY_NAME.search(arm) or TREATMENT_NAME.search(arm) for arm in arms
    )


def guess_arms(values: pd.Series) -> dict[str, Guess]:
    """Which arm is immunotherapy, from the arm column's distinct values: the one value that
    names an immunotherapy (a checkpoint inhibitor, CAR T cells, "immunotherapy"); CHECK when
    none or several do. The reference arm is the first other arm (the control)."""
    arms = distinct_values(values)
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
        REFERENCE_ARM: Guess(
            others[0] if others else None,
            "the first arm that is not immunotherapy: the models compare against it",
            sure and len(others) == 1,
        ),
    }


# A numeric column with at most this many distinct values is taken as categories (ECOG 0-4,
# a 0/1 flag); more levels than MAX_LEVELS are not proposed as a categorical covariate.
MAX_CATEGORY_NUMBERS = 6
MAX_LEVELS = 10


@dataclass(frozen=True)
class CovariateGuess:
    """A covariate's type and, for a categorical one, its most frequent level."""

    type: str  # "numeric" or "categorical"
    reference: str | None
    levels: int
    why: str


def guess_covariate(values: pd.Series, decimal: str) -> CovariateGuess | None:
    """Numeric when every value is a number and there are more than MAX_CATEGORY_NUMBERS
    distinct ones; otherwise categorical, the reference being the most frequent level (ties:
    the first alphabetically); None when the column is empty or has more than MAX_LEVELS
    levels (free text, not a covariate to adjust for as it stands)."""
    text = present(values)
    if text.empty:
        return None
    counts = text.value_counts()
    as_numbers = numbers(values, decimal)
    if as_numbers.notna().all() and len(counts) > MAX_CATEGORY_NUMBERS:
        return CovariateGuess("numeric", None, len(counts), f"{len(counts)} distinct numbers")
    if len(counts) > MAX_LEVELS:
        return None
    most = counts[counts == counts.max()].index.min()
    return CovariateGuess(
        "categorical",
        str(most),
        len(counts),
        f"{len(counts)} levels; reference '{most}', the most frequent ({counts[most]} patients)",
    )
