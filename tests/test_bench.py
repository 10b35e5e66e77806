"""The benchmark (bench/) runs end to end on a tiny cohort, so it cannot rot unnoticed.

These tests check the files the benchmark writes and their columns, never a time or an
amount of memory: the figures themselves are measured on purpose (bench/README.md).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mgsurv.cohort.simulate import SyntheticParams, simulate_cohort
from support import ROOT

BENCH = ROOT / "bench"


def _load(name: str):
    """A bench/ module by file (bench/ is not a package), under a name of its own."""
    spec = importlib.util.spec_from_file_location(f"mgsurv_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


cohorts = _load("cohorts")
bench_run = _load("run")
STAGES = {"workflow", "prepare", "analyse_pfs", "analyse_os", "report", "cox_fit"}


default_run = _load("default_run")


@pytest.mark.workflow
def test_default_run_bench_writes_its_table_and_the_runs_timeline(tmp_path):
    out = tmp_path / "results"
    command = [sys.executable, str(BENCH / "default_run.py"), "--repeat", "1", "--skip-r"]
    run = subprocess.run(
        [*command, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    table = pd.read_csv(out / "default_run.tsv", sep="\t")
    assert list(table.columns) == [*default_run.COLUMNS, *default_run.RATIOS]
    assert table[["n", "tool", "runs"]].values.tolist() == [["default", "mgsurv", 1]]
    assert table["median_seconds"].notna().all() and table["ratio_median"].isna().all()

    steps = pd.read_csv(out / "timeline.tsv", sep="\t")
    assert list(steps.columns) == ["part", "start", "end", "seconds"]
    parts = list(steps["part"])
    assert parts[0].startswith("Snakemake start") and parts[-1].startswith("Snakemake exit")
    jobs = {"rule_graph", "prepare_synthetic_cohort", "analyse_endpoint", "render_report"}
    assert jobs <= set(parts), parts
    assert parts.count("analyse_endpoint") == 2
    assert any(part.startswith("figure drawings (") for part in parts)
    assert (steps["end"] >= steps["start"]).all()


@pytest.mark.workflow
def test_benchmark_runs_on_a_tiny_cohort_and_writes_its_tables_and_plot(tmp_path):
    out = tmp_path / "results"
    command = [sys.executable, str(BENCH / "run.py"), "--sizes", "300", "--ties", "tied"]
    run = subprocess.run(
        [*command, "--skip-r", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    table = pd.read_csv(out / "bench.tsv", sep="\t", keep_default_na=False, na_values=["NA"])
    assert list(table.columns) == bench_run.COLUMNS
    assert len(table) == len(STAGES)  # one row per stage, mgsurv only (--skip-r)
    assert set(table["stage"]) == STAGES
    assert set(table["tool"]) == {"mgsurv"}
    assert set(table["n"]) == {300} and set(table["ties"]) == {"tied"}
    assert table[["seconds", "peak_mb"]].notna().all().all(), table.to_string()
    assert (table["note"] == "").all(), table.to_string()
    assert table["ratio"].isna().all()  # no R rows to divide by

    outputs = pd.read_csv(out / "outputs.tsv", sep="\t")
    assert list(outputs.columns) == bench_run.OUTPUT_COLUMNS
    assert len(outputs) == 1 and outputs[bench_run.OUTPUT_COLUMNS[2:]].notna().all().all()

    png = out / "bench.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"date", "cpus", "python"} <= set(json.loads((out / "machine.json").read_text()))
    assert not (out / "work").exists()  # work folders are temporary unless --keep


@pytest.mark.workflow
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_r_reference_script_runs_every_stage(tmp_path):
    """bench/reference.R, all stages in one process, on a small untied cohort."""
    cohort, _ = simulate_cohort(SyntheticParams(n=400, seed=3))
    csv = tmp_path / "cohort.csv"
    cohorts.untie(cohort, 3).to_csv(csv, index=False, float_format="%.6f")
    has_survival = subprocess.run(["Rscript", "-e", "library(survival)"], capture_output=True)
    if has_survival.returncode != 0:
        pytest.skip("R's survival package is not installed")
    workdir = tmp_path / "r"
    for stage in ("all", "prepare", "cox_fit"):
        run = subprocess.run(
            ["Rscript", str(BENCH / "reference.R"), stage, str(csv), str(workdir)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-3000:]
    timings = pd.read_csv(workdir / "r_timings.tsv", sep="\t", header=None, names=["stage", "s"])
    assert list(timings["stage"]) == [
        "prepare",
        "analyse_pfs",
        "analyse_os",
        "report",
        "prepare",
        "cox_fit",
    ]
    for endpoint in ("pfs", "os"):
        cox = pd.read_csv(workdir / "endpoints" / endpoint / "cox.tsv", sep="\t")
        assert {"univariable", "multivariable", "interaction", "stratified"} <= set(cox["model"])
    figures = {path.name for path in (workdir / "figures").glob("*.png")}
    assert {"km_pfs_mg_clinical.png", "km_os_mg_quartile.png", "forest_os.png"} <= figures


def test_untied_cohort_has_distinct_times_within_their_recorded_interval():
    cohort, _ = simulate_cohort(SyntheticParams(n=3000, seed=5))
    untied = cohorts.untie(cohort, 5)
    cohorts.check_untied(untied)  # distinct, positive, not merged by R's timefix, OS >= PFS
    for column in ("pfs_months", "os_months"):
        assert untied[column].is_unique
        shift = cohort[column] - untied[column]
        assert ((shift > 0) & (shift < 0.1)).all()
    same = cohort["os_months"] == cohort["pfs_months"]
    assert np.array_equal(untied.loc[same, "os_months"], untied.loc[same, "pfs_months"])
    assert untied.drop(columns=["pfs_months", "os_months"]).equals(
        cohort.drop(columns=["pfs_months", "os_months"])
    )
    assert cohorts.untie(cohort, 5).equals(untied)  # deterministic


def test_quoted_csv_benchmark_compares_prepare_on_both_files(tmp_path):
    out = tmp_path / "results"
    command = [sys.executable, str(BENCH / "quoted_csv.py"), "--n", "300", "--repeat", "1"]
    run = subprocess.run(
        [*command, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    table = pd.read_csv(out / "quoted_csv.tsv", sep="\t")
    assert table["file"].tolist() == ["unquoted", "quoted"]
    assert table["identical_outputs"].all() and (table["n"] == 300).all()
    assert table.loc[0, "ratio_seconds"] == 1.0
    assert table[["seconds", "peak_mb", "ratio_peak_mb"]].notna().all().all()


@pytest.mark.workflow
def test_sensitivity_cost_benchmark_runs_the_default_run_with_and_without(tmp_path):
    command = [sys.executable, str(BENCH / "sensitivity_cost.py"), "--repeat", "1"]
    run = subprocess.run(
        [*command, "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    table = pd.read_csv(tmp_path / "sensitivity_cost.tsv", sep="\t")
    assert table["what"].str.startswith(("default run", "analysis of one endpoint")).all()
    assert len(table) == 3  # the default run, one endpoint, one endpoint with missing covariates
    assert (table[["with_seconds", "without_seconds"]] > 0).all().all()
