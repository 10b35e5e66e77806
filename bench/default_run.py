"""The default run against the two R yardsticks, paired, and where its time goes.

    .venv/bin/python bench/default_run.py [--repeat 5] [--sizes 100000 ...] [--skip-r]
        [--out bench/results]

Three commands, one after another, --repeat rounds, each in a fresh folder:

* mgsurv: ``snakemake --cores 2`` with the shipped config (the workflow generates its
  1,200-patient synthetic cohort) as a user runs it, wall time of the command;
* R script: ``Rscript bench/reference.R all <that cohort's CSV>``: the same analyses and
  figures in base R and survival, in one process;
* R Markdown: ``Rscript bench/render_report.R <CSV> <folder>``: the report a
  clinician-statistician would write with survminer, rms and maxstat, rendered
  self-contained (bench/report.Rmd).

Each round runs the three in turn, so the paired ratios (mgsurv's seconds over each R
command's of the same round) see the same machine load. With --sizes, the same for
synthetic CSV cohorts of those sizes (bench/cohorts.py, times to 0.1 month), which mgsurv
reads as ``cohort=<csv>``. R runs when Rscript with survival is on the PATH (the R Markdown
report needs rmarkdown, survminer, rms and maxstat too, bench/report.Rmd's header).

Then one more default run, sampled every 20 ms, gives the timeline: when Snakemake starts
its first job, each job's start and end, the report's figure drawings, and how long
Snakemake takes to exit after its last job.

Writes to --out: default_run.tsv (n, tool, runs, median_seconds, min_seconds, max_seconds,
and on the R rows ratio_median, ratio_min, ratio_max: mgsurv over that tool, paired) and
timeline.tsv (part, start, end, seconds).
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
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cohorts import write_cohort  # noqa: E402
from run import BENCH, PYTHON, ROOT, r_available  # noqa: E402

from mgsurv.contract import cohort_folder, synthetic_files  # noqa: E402

DEFAULT = "default"
MGSURV, R_SCRIPT, R_MARKDOWN = "mgsurv", "R script", "R Markdown"
COLUMNS = ["n", "tool", "runs", "median_seconds", "min_seconds", "max_seconds"]
RATIOS = ["ratio_median", "ratio_min", "ratio_max"]
SAMPLE_SECONDS = 0.02
# A job's process: the rule's script, which Snakemake copies to .snakemake/scripts/.
JOB_SCRIPT = re.compile(r"tmp\w*\.(\w+)\.py")


def snakemake_command(folder: Path, overrides: list[str]) -> list[str]:
    command = [PYTHON, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
    command += ["--directory", str(folder), "--configfile", str(ROOT / "config" / "config.yaml")]
    command += ["--cores", "2"]
    return command + (["--config", *overrides] if overrides else [])


def timed(command: list[str], log: Path) -> float:
    """Wall seconds of the command; its output goes to log; a failure stops the benchmark."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        start = time.perf_counter()
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
        seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(command[:4])} ... failed (exit {result.returncode}), see {log}")
    return seconds


def rounds(n: str, csv: Path | None, work: Path, repeat: int, with_r: bool) -> dict:
    """Seconds per tool, one entry per round, all three tools in turn in each round."""
    seconds: dict[str, list[float]] = {MGSURV: [], R_SCRIPT: [], R_MARKDOWN: []}
    for index in range(repeat):
        folder = work / f"{n}_{index}"
        mapping = ROOT / "config" / "mapping.yaml"
        overrides = (
            [] if csv is None else [f"cohort={csv}", "cohort_name=bench", f"mapping={mapping}"]
        )
        print(f"bench: n={n} round {index + 1}/{repeat}: mgsurv", flush=True)
        seconds[MGSURV].append(timed(snakemake_command(folder, overrides), folder / "mgsurv.log"))
        cohort_csv = csv or Path(synthetic_files(folder / cohort_folder("synthetic"))["csv"])
        if not with_r:
            continue
        print(f"bench: n={n} round {index + 1}/{repeat}: R script, R Markdown", flush=True)
        script = ["Rscript", str(BENCH / "reference.R"), "all", str(cohort_csv), str(folder / "r")]
        seconds[R_SCRIPT].append(timed(script, folder / "r.log"))
        markdown = ["Rscript", str(BENCH / "render_report.R"), str(cohort_csv), str(folder / "rmd")]
        seconds[R_MARKDOWN].append(timed(markdown, folder / "rmd.log"))
    return {tool: values for tool, values in seconds.items() if values}


def summary(n: str, seconds: dict[str, list[float]]) -> list[dict]:
    """A row per tool: median and range of its seconds; on R's rows, mgsurv's seconds over
    the tool's of the same round (median and range)."""
    rows = []
    for tool, values in seconds.items():
        row = {
            "n": n,
            "tool": tool,
            "runs": len(values),
            "median_seconds": round(statistics.median(values), 2),
            "min_seconds": round(min(values), 2),
            "max_seconds": round(max(values), 2),
        }
        if tool != MGSURV:
            ratios = [m / r for m, r in zip(seconds[MGSURV], values, strict=True)]
            row |= {
                "ratio_median": round(statistics.median(ratios), 2),
                "ratio_min": round(min(ratios), 2),
                "ratio_max": round(max(ratios), 2),
            }
        rows.append(row)
    return rows


def timeline(folder: Path) -> pd.DataFrame:
    """One default run sampled every 20 ms: Snakemake's start to its first job, each job
    (named by its rule; the rule graph's second Snakemake as rule_graph), the report's
    figure drawings (forks of the report job) as one part, and the exit after the last job."""
    start = time.perf_counter()
    process = subprocess.Popen(
        snakemake_command(folder, []), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    root = psutil.Process(process.pid)
    seen: dict[int, tuple[str, float, float]] = {}
    while process.poll() is None:
        now = time.perf_counter() - start
        try:
            children = root.children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:
            try:
                name = job_name(child)
            except psutil.Error:
                continue
            if name is not None:
                first = seen.get(child.pid, (name, now, now))[1]
                seen[child.pid] = (name, first, now)
        time.sleep(SAMPLE_SECONDS)
    end = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"bench: the timeline's run failed (exit {process.returncode})")
    return timeline_table(list(seen.values()), end)


def job_name(process: psutil.Process) -> str | None:
    """The rule a process runs the script of (a figure drawing: a fork of the report job,
    whose parent runs the same script), or None for a process that is not a job."""
    command = " ".join(process.cmdline())
    if "--rulegraph" in command:
        return None  # the rule graph job's own Snakemake: counted with its job
    match = JOB_SCRIPT.search(command)
    if match is None:
        return None
    parent = process.parent()
    if parent is not None and JOB_SCRIPT.search(" ".join(parent.cmdline())):
        return "figure drawings"
    return {"write_rulegraph": "rule_graph"}.get(match.group(1), match.group(1))


def timeline_table(spans: list[tuple[str, float, float]], end: float) -> pd.DataFrame:
    jobs = [span for span in spans if span[0] != "figure drawings"]
    drawings = [span for span in spans if span[0] == "figure drawings"]
    rows = [("Snakemake start, to its first job", 0.0, min(s[1] for s in jobs))]
    rows += sorted(jobs, key=lambda span: span[1])
    if drawings:
        label = f"figure drawings ({len(drawings)} forks of render_report)"
        rows.append((label, min(s[1] for s in drawings), max(s[2] for s in drawings)))
    rows.append(("Snakemake exit, after its last job", max(s[2] for s in jobs), end))
    table = pd.DataFrame(rows, columns=["part", "start", "end"])
    table["seconds"] = table["end"] - table["start"]
    return table.round(2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="*", default=[], help="CSV cohorts too")
    parser.add_argument("--skip-r", action="store_true", help="mgsurv only")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args(argv)
    with_r = not args.skip_r and r_available()
    work = Path(tempfile.mkdtemp(prefix="mgsurv-default-run-"))  # kept if a command fails
    rows = summary(DEFAULT, rounds(DEFAULT, None, work, args.repeat, with_r))
    for n in args.sizes:
        csv = write_cohort(n, "tied", work / "input" / f"bench_{n}.csv", args.seed)
        rows += summary(str(n), rounds(str(n), csv, work, args.repeat, with_r))
    print("bench: the timeline of one more default run", flush=True)
    steps = timeline(work / "timeline")
    shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows).reindex(columns=[*COLUMNS, *RATIOS])
    table.to_csv(args.out / "default_run.tsv", sep="\t", index=False)
    steps.to_csv(args.out / "timeline.tsv", sep="\t", index=False)
    print(table.to_string(index=False))
    print(steps.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
