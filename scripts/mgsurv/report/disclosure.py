"""Small-count suppression, for a report shared outside the study team (config
``report_min_count``, k below).

With k >= 2, every count of patients the report shows that lies between 1 and k - 1 is
shown as "<k", and what would give such a count away directly is hidden with it (shown as
"suppressed"): the percentage of a Table 1 level, the events per parameter of a model, a
median of fewer than k values (it is one patient's own value, or nearly). Zero stays 0: a
true zero describes nobody, and hiding it would hide that a group is empty. k = 0 (the
default) or 1 shows every count.

The report sets k once, around the whole rendering (:func:`suppressing`), and every
formatter of a patient count, in the tables, the text and the figures, goes through
:func:`format_patients`; so no count can take a path around the rule, and the result
tables under results/ (the analyst's full results) are never touched.

This is cell-by-cell (primary) suppression only: where a total and all but one of its
parts are shown, the hidden part is their difference. :func:`suppression_note` says so in
the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import pandas as pd

# Shown instead of a value computed from fewer than k patients.
SUPPRESSED = "suppressed"

_MIN_COUNT: ContextVar[int] = ContextVar("report_min_count", default=0)


@contextmanager
def suppressing(min_count: int) -> Iterator[None]:
    """Within the block, counts of 1 to ``min_count`` - 1 patients are suppressed."""
    token = _MIN_COUNT.set(int(min_count))
    try:
        yield
    finally:
        _MIN_COUNT.reset(token)


def min_count() -> int:
    """The k in force (0 or 1: nothing is suppressed)."""
    return _MIN_COUNT.get()


def is_active() -> bool:
    """True when some counts are suppressed (k >= 2)."""
    return min_count() >= 2


def is_suppressed(count: Any) -> bool:
    """True for a count of 1 to k - 1 patients (never for 0 or a missing count)."""
    return not pd.isna(count) and 0 < count < min_count()


def format_patients(count: Any) -> str:
    """A count of patients: '<k' when suppressed, 'NA' when missing, else the integer."""
    if pd.isna(count):
        return "NA"
    return f"<{min_count()}" if is_suppressed(count) else str(int(count))


def suppression_note() -> str:
    """What the report hides, and what suppression cannot prevent, for its Methods."""
    k = min_count()
    if not is_active():
        return (
            f"Every count is shown (report_min_count {k}: no small-count suppression). Before"
            " sharing the report outside the study team, render it with report_min_count"
            " set (e.g. 5 or 10) to show small counts as “<k”."
        )
    return (
        f"Counts of 1 to {k - 1} patients are shown as “<{k}” (report_min_count {k}),"
        " in the tables, the text and the figures; zero is shown as 0, since a true zero"
        " describes nobody. Hidden with them (“suppressed”): the percentage of a suppressed"
        " count, events per parameter computed from suppressed events, and medians and"
        f" quartiles of fewer than {k} values. Kaplan-Meier curves stop where fewer than"
        f" {k} patients remain at risk, bins of the serum Mg histogram with fewer than {k}"
        f" patients are drawn as outlines to {k}, residual plots show no individual"
        " residuals, and quartile boundaries leave out the lowest and highest serum Mg."
        " Suppression is cell by cell: a suppressed count can still be worked out where its"
        " total and the other parts are shown (a group's size from the cohort's and the"
        " other group's, an exclusion from the patient flow, a risk-table cell from at"
        " risk + events + censored = the group's size). Estimates (survival rates, RMST,"
        f" hazard ratios) are shown for every group, also one of fewer than {k} patients,"
        " and the curves step at each event and mark each censoring, as published"
        " Kaplan-Meier plots do. Check these before sharing. The result tables under"
        " results/ keep every count."
    )
