"""How the report writes numbers: hazard ratios, medians, percentages, confidence intervals,
p-values and counts other than patients (patients:
:func:`mgsurv.report.disclosure.format_patients`), and a few phrases."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd


def is_missing(value: Any) -> bool:
    """True for None and NaN, the contract's markers of 'not estimable'."""
    return value is None or bool(pd.isna(value))


MINUS = "\N{MINUS SIGN}"


def with_minus(text: str) -> str:
    """A formatted number with a typographic minus sign (−), as journals print it, rather
    than the hyphen Python writes."""
    return MINUS + text[1:] if text.startswith("-") else text


def format_number(value: float, decimals: int, missing: str = "NA") -> str:
    """A number with a fixed count of decimals (a negative one with a minus sign);
    `missing` ('NA') when not estimable."""
    if is_missing(value):
        return missing
    text = f"{value:.{decimals}f}"
    return with_minus(text) if float(text) != 0 else text.lstrip("-")


def format_mg(value: float) -> str:
    """A serum Mg value in mmol/L as laboratories report it: 2 decimals (0.70), 3 where a
    computed boundary needs them (a quartile at 0.711934 -> 0.712)."""
    if is_missing(value):
        return "NA"
    two = f"{value:.2f}"
    return two if abs(float(two) - value) < 1e-9 else f"{value:.3f}"


def format_months(value: float) -> str:
    """A time in months with at most 1 decimal (12, 18.4), for times in sentences."""
    return "NA" if is_missing(value) else f"{round(float(value), 1):g}"


def format_hr(value: float) -> str:
    """A hazard ratio with 2 decimals; 'NA' when not estimable."""
    return format_number(value, 2)


def format_median(value: float) -> str:
    """A median time in months with 1 decimal; 'NR' (not reached) when missing."""
    return "NR" if is_missing(value) else f"{value:.1f}"


def format_estimable(value: float) -> str:
    """A time in months with 1 decimal; 'NE' (not estimable) when missing."""
    return format_number(value, 1, missing="NE")


def format_percent(value: float) -> str:
    """A probability as a percentage with 1 decimal; 'NE' (not estimable) when missing."""
    return "NE" if is_missing(value) else f"{100 * value:.1f}"


def format_two(value: float) -> str:
    """An estimate with 2 decimals (RMST and its contrasts); 'NA' when missing."""
    return format_number(value, 2)


def format_ci(lower: float, upper: float, formatter: Callable[[float], str] = format_hr) -> str:
    """A confidence interval as '(lower–upper)' with the estimate's own formatter; with a
    negative bound as '(lower to upper)', so that minus signs and the dash stay apart."""
    negative = any(not is_missing(bound) and bound < 0 for bound in (lower, upper))
    return f"({formatter(lower)}{' to ' if negative else '–'}{formatter(upper)})"


def format_count(value: Any) -> str:
    """A count of something other than patients (degrees of freedom, a step number) as an
    integer; 'NA' when missing. Counts of patients: :func:`format_patients`."""
    return "NA" if is_missing(value) else str(int(value))


def in_sentence(label: str) -> str:
    """A label as it reads inside a sentence ('Overall survival' -> 'overall survival');
    one that starts with an acronym or a single letter keeps its capitals ('ECOG PS',
    'PD-L1 TPS', 'T stage')."""
    first = label.split(" ", 1)[0]
    if label[1:2].isupper() or len(first) == 1:
        return label
    return label[:1].lower() + label[1:]


def word_list(words: list[str]) -> str:
    """'a, b and c' ('a' for one word)."""
    return " and ".join(filter(None, [", ".join(words[:-1]), *words[-1:]]))


P_FLOOR = 0.001


# The significance level a reader compares p-values with: a p-value is never rounded up to
# it (0.0496 is written 0.0496, not 0.050).
ALPHA = 0.05


def format_p(p: float) -> str:
    """Format a p-value as '<0.001' or with 2 significant digits ('NA' if missing), as
    journals ask (0.038, 0.12, 0.80); with 3 where 2 would round it up to ALPHA."""
    if p is None or math.isnan(p):
        return "NA"
    if p < P_FLOOR:
        return f"<{P_FLOOR:g}"
    text = f"{p:#.2g}"
    return f"{p:#.3g}" if p < ALPHA <= float(text) else text


def p_phrase(p: float | None) -> str:
    """A p-value as words in a sentence: 'p = 0.012' or 'p < 0.001'."""
    text = format_p(float("nan") if p is None else p)
    return f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"


def ordinal(number: float) -> str:
    """A percentile's ordinal: '1st', '2nd', '3rd', '11th', '99th', '97.5th'."""
    text = f"{number:g}"
    if not float(number).is_integer():
        return f"{text}th"
    whole = int(number)
    suffix = (
        "th" if whole % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(whole % 10, "th")
    )
    return f"{text}{suffix}"


def trimming_text(config: dict) -> str:
    """How the weights were trimmed (config iptw: trim_percentile), for Methods and captions."""
    trim_percentile = (config.get("iptw") or {}).get("trim_percentile")
    if trim_percentile is None:
        return "not trimmed"
    lower, upper = ordinal(100 - trim_percentile), ordinal(trim_percentile)
    return f"trimmed at the {lower} and {upper} percentiles (as WeightIt's trim)"
