"""Write the input datasets of the R-parity fixtures (tests/reference/data/*.csv).

Run from the repository root with the project's environment, before make_fixtures.R:
    .venv/bin/python tests/reference/make_datasets.py
Deterministic: the same files every time. R's own lung and veteran data are exported by
make_fixtures.R's companion lines below (they need R), so they are committed as written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mgsurv.cohort.simulate import SyntheticParams, simulate_cohort, write_cohort

DATA = Path(__file__).parent / "data"


def tied_cohort() -> None:
    """The synthetic generator as shipped: times to 0.1 month, so many ties."""
    cohort, truth = simulate_cohort(SyntheticParams(n=400, seed=7))
    write_cohort(cohort, truth, DATA / "synthetic_400.csv", DATA / "synthetic_400_truth.json")


def untied_cohort() -> None:
    """The same kind of cohort with every time made distinct (lifelines' slow, R's fast case).

    A deterministic jitter in (0, 0.1) month is added to each PFS time and OS keeps
    OS >= PFS by adding the same jitter where OS equalled PFS, else its own.
    """
    cohort, _ = simulate_cohort(SyntheticParams(n=300, seed=8))
    rng = np.random.default_rng(8)
    pfs_jitter = rng.uniform(0.0, 0.1, len(cohort))
    os_jitter = np.where(
        cohort["os_months"] == cohort["pfs_months"], pfs_jitter, rng.uniform(0.0, 0.1, len(cohort))
    )
    cohort["pfs_months"] = (cohort["pfs_months"] - 0.1 + pfs_jitter).round(6)
    cohort["os_months"] = np.maximum(
        cohort["os_months"] - 0.1 + os_jitter, cohort["pfs_months"]
    ).round(6)
    assert cohort["pfs_months"].is_unique and (cohort["pfs_months"] > 0).all()
    cohort.to_csv(DATA / "synthetic_untied_300.csv", index=False)


if __name__ == "__main__":
    tied_cohort()
    untied_cohort()
