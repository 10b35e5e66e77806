"""Several cohorts on SLURM against the same run locally, side by side.

    sudo bash tests/cluster/start_slurm.sh     # the test cluster (or any SLURM you submit to)
    .venv/bin/python bench/cluster.py [--repeat 3] [--out bench/results]

Runs config/cohorts.tsv (three synthetic cohorts of 500-900 patients) from fresh folders,
in turn --repeat times: locally with --cores 2; through workflow/profiles/slurm as shipped
(each cohort one group job, the first status check after 10 s); the same with the test
cluster's first status check after 2 s; with the three cohorts packed into one SLURM job
(--group-components cohort=3); and with each cohort run as a large one is
(cluster_group_below_mb: 0: its input, each endpoint's analysis and its report a job
each). Wall time is the Snakemake command's; SLURM jobs are those the run submitted.

Writes cluster.tsv to --out: what, slurm_jobs, median_seconds, min_seconds, max_seconds,
ratio (median over the local run's).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import BENCH, PYTHON, ROOT  # noqa: E402

PROFILE = ROOT / "workflow" / "profiles" / "slurm"
LOCAL = "local, --cores 2"
TEST_CHECKS = ["--slurm-init-seconds-before-status-checks", "2"]
# What is run, by name: Snakemake's options and config values besides the cohorts sheet's.
VARIANTS: dict[str, tuple[list[str], list[str]]] = {
    LOCAL: (["--cores", "2"], []),
    "SLURM profile as shipped (a job per cohort, first check after 10 s)": (
        ["--profile", str(PROFILE)],
        [],
    ),
    "SLURM profile, first check after 2 s (the tests' setting)": (
        ["--profile", str(PROFILE), *TEST_CHECKS],
        [],
    ),
    "SLURM profile, first check after 2 s, the three cohorts in one job": (
        ["--profile", str(PROFILE), *TEST_CHECKS, "--group-components", "cohort=3", "--cores", "2"],
        [],
    ),
    "SLURM profile, first check after 2 s, each cohort as a large one (4 jobs)": (
        ["--profile", str(PROFILE), *TEST_CHECKS],
        ["cluster_group_below_mb=0"],
    ),
}
SUBMITTED = re.compile(r"has been submitted with SLURM jobid")


def run_once(workdir: Path, options: list[str], config: list[str]) -> tuple[float, int]:
    """Wall seconds of one run of config/cohorts.tsv in a fresh folder, and its SLURM jobs."""
    workdir.mkdir(parents=True)
    sheet = [f"cohorts_sheet={ROOT / 'config' / 'cohorts.tsv'}"]
    sheet += [f"mapping={ROOT / 'config' / 'mapping.yaml'}"]
    command = [PYTHON, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
    command += ["--directory", str(workdir), "--configfile", str(ROOT / "config/config.yaml")]
    command += [*options, "--config", *sheet, *config]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=workdir)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return seconds, len(SUBMITTED.findall(done.stdout + done.stderr))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    args = parser.parse_args()
    if shutil.which("sbatch") is None:
        raise SystemExit("bench: no sbatch here; start SLURM first (tests/cluster/start_slurm.sh)")
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    jobs: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="mgsurv-bench-cluster-") as scratch:
        for repeat in range(args.repeat):
            for index, (name, (options, config)) in enumerate(VARIANTS.items()):
                took, submitted = run_once(Path(scratch) / f"{repeat}-{index}", options, config)
                seconds[name].append(took)
                jobs[name] = submitted
                print(f"{name}: {took:.1f} s, {submitted} SLURM jobs", flush=True)
    local = statistics.median(seconds[LOCAL])
    table = pd.DataFrame(
        [
            {
                "what": name,
                "slurm_jobs": jobs[name],
                "median_seconds": round(statistics.median(times), 1),
                "min_seconds": round(min(times), 1),
                "max_seconds": round(max(times), 1),
                "ratio": round(statistics.median(times) / local, 2),
            }
            for name, times in seconds.items()
        ]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "cluster.tsv", sep="\t", index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
