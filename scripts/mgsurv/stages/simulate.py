"""Step simulate_cohort: the built-in synthetic cohort's CSV and its truth file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mgsurv.cohort.simulate import SyntheticParams, simulate_cohort, write_cohort


def simulate(synthetic: dict[str, Any], cohort_csv: str | Path, truth_json: str | Path) -> None:
    """Generate the cohort from the generator's settings and write both files."""
    cohort, truth = simulate_cohort(SyntheticParams(**synthetic))
    write_cohort(cohort, truth, cohort_csv, truth_json)
