"""A fully quoted CSV against the same cohort unquoted: the prepare stage, side by side.

    .venv/bin/python bench/quoted_csv.py [--n 1000000] [--repeat 3] [--out bench/results]

R's write.csv quotes every text cell, and some exports quote every cell; most write no
quotes. The cohort reader parses both with pyarrow when every quote encloses a whole field
on one line (mgsurv.cohort.plain_csv), and the csv module otherwise. The benchmark cohort
(bench/cohorts.py, tied times) is written unquoted, then with every cell and the header
quoted; each is prepared in a process of its own (bench/stage.py prepare), --repeat times,
keeping the fastest time and the largest peak memory (bench/run.py's measure). The goal:
quoted within 1.5 x the unquoted time and memory, with byte-identical analysis-ready
outputs (every file prepare writes but provenance.json, which holds the input's SHA-256).

Writes quoted_csv.tsv to --out: file, n, seconds, peak_mb, ratio_seconds, ratio_peak_mb
(over the unquoted run), identical_outputs. Exit status 1 if a run fails or the outputs
differ.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import pandas as pd

from mgsurv.contract import prepare_files

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cohorts import write_cohort  # noqa: E402
from run import BENCH, PYTHON, effective_config, measure, read_timings, repeated  # noqa: E402

GOAL_RATIO = 1.5


def quoted_copy(source: Path, target: Path) -> Path:
    """The same table with every cell and header name in quotes (csv.QUOTE_ALL)."""
    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    table.to_csv(target, index=False, quoting=csv.QUOTE_ALL, lineterminator="\n")
    return target


def prepare(csv_path: Path, workdir: Path, repeat: int):
    """The prepare stage on csv_path: its Measured, the seconds inside the process, and
    the folder of its outputs (bench/stage.py writes them to workdir)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = effective_config(workdir, {"cohort": str(csv_path)})
    command = [PYTHON, str(BENCH / "stage.py"), "prepare", "--csv", str(csv_path)]
    command += ["--workdir", str(workdir), "--config", str(config)]

    def once():
        measured = measure(command, workdir / "prepare.log")
        return measured, read_timings(workdir / "py_timings.tsv").get("prepare")

    measured, seconds = repeated(repeat, once)
    return measured, seconds, workdir


def same_outputs(first: Path, second: Path) -> bool:
    """Every file prepare writes, but provenance.json, byte for byte."""
    names = [name for name in prepare_files(first) if name != "provenance"]
    return all(
        Path(prepare_files(first)[name]).read_bytes()
        == Path(prepare_files(second)[name]).read_bytes()
        for name in names
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mgsurv-quoted-") as tmp:
        work = Path(tmp)
        plain = write_cohort(args.n, "tied", work / "plain.csv")
        quoted = quoted_copy(plain, work / "quoted.csv")
        runs = {}
        for name, path in (("unquoted", plain), ("quoted", quoted)):
            print(f"bench: n={args.n} prepare, {name} CSV", flush=True)
            runs[name] = prepare(path, work / name, args.repeat)
            if not runs[name][0].ok:
                print(f"bench: {name} failed: {runs[name][0].note()}", file=sys.stderr)
                return 1
        identical = same_outputs(runs["unquoted"][2], runs["quoted"][2])
    base_measured, base_seconds, _ = runs["unquoted"]
    rows = [
        {
            "file": name,
            "n": args.n,
            "seconds": round(seconds, 3),
            "peak_mb": round(measured.peak_mb, 1),
            "ratio_seconds": round(seconds / base_seconds, 3),
            "ratio_peak_mb": round(measured.peak_mb / base_measured.peak_mb, 3),
            "identical_outputs": identical,
        }
        for name, (measured, seconds, _) in runs.items()
    ]
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "quoted_csv.tsv", sep="\t", index=False)
    print(table.to_string(index=False))
    within = (table[["ratio_seconds", "ratio_peak_mb"]] <= GOAL_RATIO).all().all()
    print(f"goal (quoted within {GOAL_RATIO} x unquoted): {'met' if within else 'NOT met'}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
