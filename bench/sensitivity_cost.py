"""What the per-endpoint sensitivity analyses cost the default run, side by side.

    .venv/bin/python bench/sensitivity_cost.py [--repeat 3] [--out bench/results]

The threshold grid (config threshold_grid) and the subgroups (config subgroups) refit Cox
models for every threshold and every subgroup; the weighting (config iptw) fits a
propensity model and a weighted Cox model per arm; multiple imputation (config
multiple_imputation) refits the models m times, but only when a covariate is missing (the
default synthetic cohort has none). The default run (the shipped config: the synthetic
cohort of 1,200 patients, full report) is timed as a user runs it, with them (as shipped)
and without them (threshold_grid: null, subgroups: false, iptw: null,
multiple_imputation: null), alternately
--repeat times in fresh folders (the fastest of each kept; wall time of the Snakemake
command, peak memory as bench/run.py measures a workflow). The analysis of one endpoint
(mgsurv.analysis.endpoint.analyse_endpoint on the same cohort) is timed in this process
too, which is where the added fits run, and once more with a tenth of the patients' age
and ECOG missing, where multiple imputation runs (m = 20 as shipped).

Writes sensitivity_cost.tsv to --out: what, with_seconds, without_seconds, added_seconds,
ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import yaml

from mgsurv.analysis.endpoint import analyse_endpoint
from mgsurv.cohort.grouping import add_groupings
from mgsurv.cohort.simulate import SyntheticParams, simulate_cohort
from mgsurv.settings import AnalysisSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import BENCH, PYTHON, ROOT, measure  # noqa: E402

WITHOUT = {"threshold_grid": None, "subgroups": False, "iptw": None, "multiple_imputation": None}


def workflow_seconds(workdir: Path, overrides: dict) -> float:
    """Wall seconds of the default run in a fresh folder, with the config overrides."""
    workdir.mkdir(parents=True)
    extra = workdir / "overrides.yaml"
    extra.write_text(yaml.safe_dump(overrides), encoding="utf-8")
    command = [PYTHON, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
    command += ["--directory", str(workdir), "--configfile", str(ROOT / "config/config.yaml")]
    command += [str(extra), "--cores", "2"]
    measured = measure(command, workdir / "snakemake.log", tree=True)
    if not measured.ok:
        raise SystemExit(f"bench: the default run failed: {measured.note()}")
    return measured.seconds


def analysis_seconds(settings: AnalysisSettings, repeat: int, missing: bool = False) -> float:
    """The fastest in-process analysis of PFS on the default synthetic cohort (with every
    tenth patient's age and ECOG missing when ``missing``)."""
    cohort, _ = simulate_cohort(SyntheticParams())
    if missing:
        every_tenth = cohort.index % 10 == 0
        cohort["age"] = cohort["age"].astype(float).mask(every_tenth)
        cohort["ecog"] = cohort["ecog"].astype(str).mask(every_tenth)
    data = add_groupings(cohort, 0.70)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        analyse_endpoint(data, "pfs", settings)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    args = parser.parse_args(argv)
    runs: dict[str, list[float]] = {"with": [], "without": []}
    with tempfile.TemporaryDirectory(prefix="mgsurv-sensitivity-") as tmp:
        for round_ in range(args.repeat):
            for name, overrides in (("with", {}), ("without", WITHOUT)):
                print(f"bench: default run {name} the sensitivity analyses ({round_ + 1})")
                runs[name].append(workflow_seconds(Path(tmp) / f"{name}{round_}", overrides))
    shipped = AnalysisSettings()
    without = replace(
        shipped, threshold_grid=None, subgroups=False, iptw=None, multiple_imputation=None
    )
    rows = [
        ("default run (workflow wall time)", min(runs["with"]), min(runs["without"])),
        (
            "analysis of one endpoint (in process)",
            analysis_seconds(shipped, args.repeat),
            analysis_seconds(without, args.repeat),
        ),
        (
            "analysis of one endpoint, a tenth of age and ECOG missing (in process)",
            analysis_seconds(shipped, args.repeat, missing=True),
            analysis_seconds(without, args.repeat, missing=True),
        ),
    ]
    table = pd.DataFrame(
        [
            {
                "what": what,
                "with_seconds": round(with_, 3),
                "without_seconds": round(without, 3),
                "added_seconds": round(with_ - without, 3),
                "ratio": round(with_ / without, 3),
            }
            for what, with_, without in rows
        ]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "sensitivity_cost.tsv", sep="\t", index=False)
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
