"""The ``mgsurv`` command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd


def mgsurv(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mgsurv", *args], capture_output=True, text=True, timeout=120
    )


def test_simulate_writes_cohort_and_truth(tmp_path):
    out, truth = tmp_path / "c.csv", tmp_path / "t.json"
    run = mgsurv(
        "simulate",
        "--n",
        "50",
        "--seed",
        "3",
        "--hr-low-mg-immunotherapy",
        "2.0",
        "--out",
        str(out),
        "--truth",
        str(truth),
    )
    assert run.returncode == 0, run.stderr
    assert len(pd.read_csv(out)) == 50
    assert json.loads(truth.read_text())["true_hr_low_mg"]["immunotherapy"] == 2.0


def test_simulate_rejects_bad_parameters_with_a_message(tmp_path):
    run = mgsurv(
        "simulate",
        "--n",
        "1",
        "--out",
        str(tmp_path / "c.csv"),
        "--truth",
        str(tmp_path / "t.json"),
    )
    assert run.returncode == 2
    assert "mgsurv: input error" in run.stderr and "fix:" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "c.csv").exists()


def test_help_says_what_the_command_is_in_whole_sentences():
    run = mgsurv("--help")
    assert run.returncode == 0
    said = " ".join(run.stdout.split())
    assert "tools around the workflow (the workflow itself runs with snakemake)." in said
    assert "``" not in said
