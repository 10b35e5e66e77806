"""Synthetic cohorts for the benchmark: `mgsurv simulate`'s CSV, tied as generated or untied.

The generator records times to 0.1 month, so a large cohort has many tied times. The untied
variant moves every time within its own 0.1-month interval, as tests/reference/make_datasets.py
does for the parity data (a deterministic jitter in (0, 0.1) month: ``t - 0.1 + jitter``),
with two changes that keep it untied at n = 10^6:

* jitters are placed on the 10^-6 month grid (the workflow rounds times to 6 decimals, so
  finer jitters would become ties again) and spread evenly over the interval, in a random
  (seeded) order, so any two times differ by at least 10^-6 month: more than R's ``timefix``
  tolerance (sqrt(machine eps) ~ 1.5e-8 relative, 5.4e-7 at the largest time of 36 months);
* OS >= PFS is kept: where OS equalled PFS (death as the first event) OS takes PFS's new
  time, and the other OS times of that interval take free grid points away from those.

Every PFS time and every OS time is then distinct (checked), positive, and OS >= PFS.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TIES = ("tied", "untied")
GRID = 1e-6  # months: the workflow keeps 6 decimals of a time (mgsurv.cohort.reader.TIME_DECIMALS)
SLOTS = 100_000  # grid points per 0.1-month interval: 0.1 / GRID
TIMEFIX_TOLERANCE = np.sqrt(np.finfo(float).eps)  # R survival's aeqSurv relative tolerance


def simulate(n: int, seed: int, csv: Path) -> None:
    """Write the synthetic cohort with the `mgsurv simulate` command (its truth file beside)."""
    csv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mgsurv",
            "simulate",
            "--n",
            str(n),
            "--seed",
            str(seed),
            "--out",
            str(csv),
            "--truth",
            str(csv.with_suffix(".truth.json")),
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def _tenths(months: pd.Series) -> np.ndarray:
    """Recorded times (multiples of 0.1 month) as integer tenths."""
    return np.rint(months.to_numpy() * 10).astype(np.int64)


def _spread(
    tenths: np.ndarray, rng: np.random.Generator, fixed: np.ndarray | None = None
) -> np.ndarray:
    """Grid offsets in 1..SLOTS-1 (units of GRID) for every patient, distinct within each
    0.1-month interval: ``fixed`` (-1 = free) keeps a patient's offset, the free patients
    of an interval get evenly spread free points (not next to a fixed one) in random order."""
    offsets = np.full(len(tenths), -1, dtype=np.int64) if fixed is None else fixed.copy()
    order = np.argsort(tenths, kind="stable")
    bounds = np.flatnonzero(np.diff(tenths[order])) + 1
    for members in np.split(order, bounds):
        taken = offsets[members][offsets[members] >= 0]
        free = members[offsets[members] < 0]
        if free.size == 0:
            continue
        available = np.ones(SLOTS, dtype=bool)
        available[0] = False  # offset 0 would be the interval's start: t - 0.1 exactly
        for shift in (-2, -1, 0, 1, 2):
            available[np.clip(taken + shift, 0, SLOTS - 1)] = False
        slots = np.flatnonzero(available)
        if slots.size < free.size + 2:
            raise ValueError(f"too many patients ({free.size}) in one 0.1-month interval")
        # evenly spread over the free points, at least one point apart (step >= 1)
        picks = slots[np.linspace(0, slots.size - 1, free.size + 2)[1:-1].round().astype(int)]
        offsets[rng.permutation(free)] = picks
    return offsets


def untie(cohort: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The cohort with every PFS and every OS time distinct (module docstring)."""
    rng = np.random.default_rng(seed)
    pfs, os_ = _tenths(cohort["pfs_months"]), _tenths(cohort["os_months"])
    pfs_offset = _spread(pfs, rng)
    same = os_ == pfs
    os_offset = _spread(os_, rng, np.where(same, pfs_offset, -1))
    untied = cohort.copy()
    untied["pfs_months"] = ((pfs - 1) * SLOTS + pfs_offset) * GRID
    untied["os_months"] = ((os_ - 1) * SLOTS + os_offset) * GRID
    check_untied(untied)
    return untied


def check_untied(cohort: pd.DataFrame) -> None:
    """Distinct, positive times that R's timefix would not merge; OS >= PFS."""
    for column in ("pfs_months", "os_months"):
        times = np.sort(np.round(cohort[column].to_numpy(), 6))
        assert times[0] > 0, f"{column}: a time is not positive"
        gaps = np.diff(times)
        assert (gaps > TIMEFIX_TOLERANCE * times[1:]).all(), f"{column}: near-tied times"
    assert (cohort["os_months"] >= cohort["pfs_months"]).all(), "OS shorter than PFS"


def write_cohort(n: int, ties: str, csv: Path, seed: int = 2022) -> Path:
    """The benchmark cohort of size n as a CSV with the default mapping's column names."""
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, not {ties!r}")
    simulate(n, seed, csv)
    if ties == "untied":
        cohort = untie(pd.read_csv(csv), seed)
        cohort.to_csv(csv, index=False, float_format="%.6f", lineterminator="\n")
    return csv


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--ties", choices=TIES, default="tied")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    write_cohort(args.n, args.ties, args.out, args.seed)
    print(f"wrote {args.out}")
