"""Interrupted runs resume to the same results, and runs are deterministic.

A run is SIGKILLed (with every job it started) once the analysis jobs are under way; then,
as README's troubleshooting says, `snakemake --unlock` and the same command again with
`--rerun-incomplete` (which `python3 tasks.py run` and the SLURM profile always pass). The
resumed results must equal an uninterrupted run's byte for byte, no file may be half
written under its final name, and the report may differ only in its timestamps.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from mgsurv.files.tables import read_tsv
from support import run_workflow, workflow_command

OVERRIDES = {"synthetic": {"n": 3000, "seed": 9}}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
pytestmark = pytest.mark.workflow


def run(workdir: Path, *options: str) -> None:
    result = run_workflow(workdir, *options, **OVERRIDES)
    assert result.returncode == 0, result.stderr[-3000:]


def kill_mid_run(workdir: Path) -> None:
    """Start the workflow and SIGKILL its whole process group once analysis has begun."""
    process = subprocess.Popen(
        workflow_command(workdir, **OVERRIDES),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    started = workdir / "logs" / "synthetic" / "analyse_endpoint_pfs.log"
    deadline = time.time() + 300
    while not started.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be interrupted"
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def result_files(workdir: Path) -> dict[str, Path]:
    results = workdir / "results"
    return {str(p.relative_to(results)): p for p in sorted(results.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("uninterrupted")
    run(workdir)
    return workdir


def test_killed_run_resumes_to_identical_results(uninterrupted, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("killed")
    kill_mid_run(workdir)
    assert not (workdir / "results" / "synthetic" / "report.html").exists()
    for path in result_files(workdir).values():  # under its final name, complete
        if path.suffix == ".tsv":
            read_tsv(path)
    run(workdir, "--unlock")
    run(workdir, "--rerun-incomplete")
    expected, resumed = result_files(uninterrupted), result_files(workdir)
    assert set(resumed) == set(expected)
    for name, path in expected.items():
        if name.endswith(".html"):
            continue
        if name.endswith(".parquet"):
            pd.testing.assert_frame_equal(pd.read_parquet(resumed[name]), pd.read_parquet(path))
            continue
        assert resumed[name].read_bytes() == path.read_bytes(), name


def test_reports_differ_only_in_their_timestamps(uninterrupted, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("again")
    run(workdir)
    for name, path in result_files(uninterrupted).items():
        if name.endswith(".html"):
            again = (workdir / "results" / name).read_text(encoding="utf-8")
            assert TIMESTAMP.sub("T", again) == TIMESTAMP.sub("T", path.read_text("utf-8")), name
        elif name.endswith((".tsv", ".csv", ".json", ".dot")):
            assert (workdir / "results" / name).read_bytes() == path.read_bytes(), name
