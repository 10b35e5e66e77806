"""The workflow on a real SLURM cluster, through workflow/profiles/slurm, as a cluster user runs
it: three cohorts from a cohorts sheet, each one SLURM job (a group job); then a cohort whose
CSV is broken (--keep-going), the overview of the others that names it, with a small cohort
that report_min_count hides, and the rerun after the fix.

tests/cluster/start_slurm.sh starts a single-node SLURM cluster on this machine (Debian, as
root; it installs the packages if needed). Where that cannot work the tests are skipped with
the script's reason; set MGSURV_REQUIRE_SLURM=1 to make that a failure instead (e.g. in CI on
a machine where it must work). A cluster that was already up is used and left running; one
that this module started is stopped at the end.
"""

from __future__ import annotations

import collections
import html
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mgsurv.validation.replicates import StudySettings, run_replicates
from mgsurv.validation.scenarios import scenarios
from support import MAPPING_FILE, ROOT, SYNTHETIC_400, run_workflow, shipped_config

CLUSTER_SCRIPTS = ROOT / "tests" / "cluster"
PROFILE = ROOT / "workflow" / "profiles" / "slurm"
COHORTS = {"north": (250, 11), "south": (200, 12), "east": (220, 13)}
SLURM_OPTIONS = (
    "--profile",
    str(PROFILE),
    "--jobs",
    "4",
    "--slurm-init-seconds-before-status-checks",
    "2",
)
pytestmark = pytest.mark.cluster


def unavailable(reason: str) -> None:
    """Skip, or fail when MGSURV_REQUIRE_SLURM is set."""
    if os.environ.get("MGSURV_REQUIRE_SLURM"):
        pytest.fail(f"SLURM is required (MGSURV_REQUIRE_SLURM) but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running single-node SLURM cluster; stopped afterwards only if started here."""
    if sys.platform != "linux" or os.geteuid() != 0:
        unavailable("the SLURM test cluster needs Linux and root (tests/cluster/start_slurm.sh)")
    if shutil.which("apt-get") is None:
        unavailable("the SLURM test cluster needs a Debian-like system with apt-get")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        unavailable("snakemake-executor-plugin-slurm is not installed in this environment")
    start = subprocess.run(
        ["bash", str(CLUSTER_SCRIPTS / "start_slurm.sh")],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=1200,
    )
    started_here = "already up" not in start.stdout
    if start.returncode != 0:
        if started_here:
            stop_cluster()
        message = (start.stderr.strip() or start.stdout.strip()).splitlines()
        unavailable(
            f"SLURM could not be started (start_slurm.sh exit {start.returncode}): "
            + " | ".join(message[-12:])
        )
    yield
    if started_here:
        stop_cluster()


def stop_cluster() -> None:
    subprocess.run(
        ["bash", str(CLUSTER_SCRIPTS / "stop_slurm.sh")],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def write_sheet(workdir: Path, extra_rows: tuple[str, ...] = ()) -> Path:
    """A cohorts sheet with the synthetic COHORTS (and any extra rows)."""
    rows = [f"{name}\tsynthetic\t{n}\t{seed}" for name, (n, seed) in COHORTS.items()]
    sheet = workdir / "cohorts.tsv"
    sheet.write_text(
        "cohort\tsource\tn\tseed\n" + "\n".join([*rows, *extra_rows]) + "\n", encoding="utf-8"
    )
    return sheet


def sheet_run(
    workdir: Path, *options: str, cores: int | None = None, target: str | None = None, **extra
) -> subprocess.CompletedProcess:
    """Run the workflow from workdir with the shipped config, workdir's cohorts sheet and any
    extra config (no --cores unless given: the SLURM profile's options say how to run)."""
    config = {"cohorts_sheet": str(workdir / "cohorts.tsv"), "mapping": str(MAPPING_FILE)}
    return run_workflow(
        workdir, *options, cores=cores, target=target, timeout=1200, cwd=workdir, **config, **extra
    )


def remote_jobs(output: str) -> list[str]:
    """From Snakemake's output, the SLURM comment of each job it sent to the cluster.

    Snakemake announces a job run on the submit node as 'localrule NAME:', one sent to the
    executor as 'rule NAME:' and a group job as 'Group job GROUP ...:' followed by its jobs,
    indented (between them, unindented, each job's 'Shell command' and other threads'
    messages), up to the next event (a line starting with its time in brackets). The plugin
    comments a job rule_NAME_wildcards_VALUES, a group job rule_GROUP_RULES (its rules'
    names, sorted, joined by '_').
    """
    comments = []
    lines = output.splitlines()
    for index, line in enumerate(lines):
        group = re.search(r"\] Group job (\w+) \(jobs in lexicogr\. order\):$", line)
        if group:
            rules = set()
            for detail in lines[index + 1 :]:
                if detail.startswith(("[", "Job ", "Select jobs")):
                    break
                if match := re.fullmatch(r"    rule (\w+):", detail):
                    rules.add(match.group(1))
            comments.append(f"rule_{group.group(1)}_{'_'.join(sorted(rules))}")
            continue
        match = re.fullmatch(r"rule (\w+):", line)
        if not match:
            continue
        values = ""
        for detail in lines[index + 1 :]:
            if not detail.startswith("    "):
                break
            if detail.strip().startswith("wildcards: "):
                pairs = detail.strip().removeprefix("wildcards: ").split(", ")
                values = "_".join(pair.split("=", 1)[1] for pair in pairs)
        name = match.group(1)
        comments.append(f"rule_{name}_wildcards_{values}" if values else f"rule_{name}")
    return comments


# The SLURM comment of a cohort's group job: of a synthetic cohort, and of a CSV's.
SYNTHETIC_COHORT_JOB = "rule_cohort_analyse_endpoint_prepare_synthetic_cohort_render_report"
CSV_COHORT_JOB = "rule_cohort_analyse_endpoint_prepare_cohort_render_report"


def sacct_jobs(run_id: str, since: str) -> list[dict[str, str]]:
    fields = ["JobID", "JobName", "State", "ExitCode", "Comment", "SubmitLine"]
    result = subprocess.run(
        [
            "sacct",
            "--allusers",
            "--allocations",
            "--parsable2",
            "--noheader",
            "--starttime",
            since,
            "--name",
            run_id,
            f"--format={','.join(fields)}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [
        dict(zip(fields, line.split("|", len(fields) - 1), strict=True))
        for line in result.stdout.splitlines()
        if line.strip()
    ]


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory):
    """The workflow run through the SLURM profile; its output and its SLURM jobs."""
    workdir = tmp_path_factory.mktemp("slurm")
    write_sheet(workdir)
    run, jobs = run_on_slurm(workdir)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    return workdir, output, jobs


def run_on_slurm(
    workdir: Path, *options: str, target: str | None = None, **extra
) -> tuple[subprocess.CompletedProcess, list]:
    """One run through the SLURM profile and the SLURM jobs it submitted (from sacct)."""
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 120))
    run = sheet_run(workdir, *SLURM_OPTIONS, *options, target=target, **extra)
    output = run.stdout + run.stderr
    run_id = re.search(r"SLURM run ID: (\S+)", output)
    assert run_id, "the SLURM executor did not report its run ID:\n" + output[-3000:]
    return run, sacct_jobs(run_id.group(1), since)


def test_every_non_local_job_ran_as_a_completed_slurm_job(slurm_run):
    _, output, jobs = slurm_run
    expected = remote_jobs(output)
    assert expected, "Snakemake sent no job to SLURM:\n" + output[-3000:]
    assert collections.Counter(job["Comment"] for job in jobs) == collections.Counter(expected)
    not_completed = [job for job in jobs if (job["State"], job["ExitCode"]) != ("COMPLETED", "0:0")]
    assert not not_completed, not_completed
    local = set(re.findall(r"^localrule (\w+):", output, flags=re.MULTILINE))
    assert not any(job["Comment"].startswith(f"rule_{name}_") for job in jobs for name in local)


def test_each_small_cohort_is_one_slurm_job(slurm_run):
    """Grouping: one SLURM job per cohort, from generating it to its report; the overview
    runs on the submit node."""
    _, output, jobs = slurm_run
    assert sorted(job["Comment"] for job in jobs) == [SYNTHETIC_COHORT_JOB] * len(COHORTS)
    assert re.search(r"^localrule render_overview:", output, flags=re.MULTILINE)


def test_a_large_cohorts_steps_stay_separate_jobs(slurm_cluster, tmp_path):
    """Above cluster_group_below_mb a cohort's steps are jobs of their own: its preparation,
    each endpoint's analysis, its report (a dry run through the profile)."""
    write_sheet(tmp_path)
    north_mb = COHORTS["north"][0] * 60 / 1e6  # the synthetic cohort's size estimate
    run = sheet_run(
        tmp_path, "--profile", str(PROFILE), "--dry-run", cluster_group_below_mb=north_mb
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    remote = [job for job in remote_jobs(output) if "rule_graph" not in job]
    remote = [job for job in remote if job not in ("rule_all", "rule_render_overview")]
    assert sorted(remote) == sorted(
        [
            SYNTHETIC_COHORT_JOB,
            SYNTHETIC_COHORT_JOB,
            "rule_prepare_synthetic_cohort_wildcards_north",
            "rule_analyse_endpoint_wildcards_north_pfs",
            "rule_analyse_endpoint_wildcards_north_os",
            "rule_render_report_wildcards_north",
        ]
    )


def test_slurm_jobs_run_snakemake_with_this_python(slurm_run):
    _, _, jobs = slurm_run
    for job in jobs:
        assert f"{sys.executable} -m snakemake" in job["SubmitLine"], job["SubmitLine"][:500]


def result_tables(workdir: Path) -> dict[str, Path]:
    """Every result table of a run (each cohort's and the overview's), by relative path."""
    results = workdir / "results"
    return {
        str(p.relative_to(results)): p
        for p in sorted(results.rglob("*.tsv"))
        if "/endpoints/" not in str(p)
    }


def assert_same_table(left: Path, right: Path, name: str) -> None:
    if left.read_bytes() == right.read_bytes():
        return
    pd.testing.assert_frame_equal(
        pd.read_csv(left, sep="\t"),
        pd.read_csv(right, sep="\t"),
        check_exact=False,
        rtol=0,
        atol=1e-12,
        obj=name,
    )


def test_results_equal_those_of_a_local_run(slurm_run, tmp_path_factory):
    slurm_dir, _, _ = slurm_run
    local_dir = tmp_path_factory.mktemp("local")
    write_sheet(local_dir)
    run = sheet_run(local_dir, cores=2)
    assert run.returncode == 0, run.stderr[-5000:]
    local, remote = result_tables(local_dir), result_tables(slurm_dir)
    assert set(remote) == set(local)
    assert {name.split("/")[0] for name in local} == {*COHORTS, "overview"}
    for name in local:
        assert_same_table(remote[name], local[name], name)
    assert (slurm_dir / "results" / "index.html").exists()


def test_a_failing_cohort_on_the_cluster_then_its_fix(slurm_cluster, tmp_path_factory):
    """With --keep-going the broken cohort's job fails as a SLURM job, is named with its
    input error, and the other cohorts complete; the overview is built from those and names
    the failed cohort, while a 40-patient cohort's small groups stay hidden in it
    (report_min_count); after the fix only that cohort (and the overview) is redone."""
    workdir = tmp_path_factory.mktemp("slurm-failure")
    good = SYNTHETIC_400.read_text()
    header, *rows = good.splitlines()
    broken = workdir / "west.csv"
    broken.write_text("\n".join([header.replace("os_event", "os_status"), *rows]) + "\n")
    write_sheet(workdir, (f"west\t{broken}\t\t", "tiny\tsynthetic\t40\t7"))
    private = {"report_min_count": 10}
    run, jobs = run_on_slurm(workdir, "--keep-going", **private)
    output = run.stdout + run.stderr
    message = "column 'os_event' (mapped as os_event) is not in the file"
    assert run.returncode != 0
    assert "mgsurv: cohort west failed:" in output and message in output
    failed = [job for job in jobs if job["State"] != "COMPLETED"]
    assert [job["Comment"] for job in failed] == [CSV_COHORT_JOB], jobs
    log = (workdir / "logs" / "west" / "prepare_cohort.log").read_text(encoding="utf-8")
    assert "ERROR rule prepare_cohort: mgsurv: input error:" in log and message in log
    assert "mgsurv: mgsurv:" not in log
    results = workdir / "results"
    for name in [*COHORTS, "tiny"]:
        assert (results / name / "report.html").exists()
    assert not (results / "west" / "report.html").exists()
    before = {name: (results / name / "report.html").stat().st_mtime_ns for name in COHORTS}

    overview = (results / "index.html").read_text(encoding="utf-8")
    failed_section = re.search(r'<section class="caution" id="failed".*?</section>', overview, re.S)
    assert failed_section
    assert "west" in failed_section.group() and message in html.unescape(failed_section.group())
    assert (results / "index.html").stat().st_mtime == 0
    estimates = pd.read_csv(results / "overview" / "cohort_estimates.tsv", sep="\t")
    assert set(estimates["cohort"]) == {*COHORTS, "tiny"}
    tiny = estimates[estimates["cohort"] == "tiny"]
    assert tiny["excluded"].str.contains("report_min_count").all()
    tiny_row = re.search(
        r'<tr><td><a href="tiny/report.html">tiny</a></td>(.*?)</tr>', overview, re.S
    )
    assert tiny_row and "suppressed" in tiny_row.group(1)
    for _, row in tiny.iterrows():
        assert f"{row['hr']:.2f} ({row['hr_lower']:.2f}" not in overview
    groups = pd.read_csv(results / "tiny" / "tables" / "km_summary.tsv", sep="\t")
    small = groups[(groups["n"] > 0) & (groups["n"] < 10)]
    assert not small.empty
    low_share = groups[(groups["subset"] == "all") & (groups["grouping"] == "mg_clinical")]
    low_share = low_share[low_share["endpoint"] == "pfs"].set_index("group")["n"]
    assert f"{100 * low_share['low'] / low_share.sum():.1f}" not in tiny_row.group(1)

    broken.write_text(good)
    rerun, rerun_jobs = run_on_slurm(workdir, **private)
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-5000:]
    assert [(job["Comment"], job["State"]) for job in rerun_jobs] == [(CSV_COHORT_JOB, "COMPLETED")]
    for name in COHORTS:
        assert (results / name / "report.html").stat().st_mtime_ns == before[name]
    assert (results / "west" / "report.html").exists()
    overview = (results / "index.html").read_text(encoding="utf-8")
    assert 'id="failed"' not in overview and (results / "index.html").stat().st_mtime > 0
    assert "west" in set(
        pd.read_csv(results / "overview" / "cohort_estimates.tsv", sep="\t")["cohort"]
    )


VALIDATION_STUDY = {"replicates": 2, "batch_size": 1, "seed": 5, "power_sizes": [300]}


def test_the_validation_study_spreads_its_batches_over_slurm(slurm_cluster, tmp_path_factory):
    """`snakemake validation` with the SLURM profile: every batch is a completed SLURM job,
    and the replicates are the ones the same code gives here directly."""
    workdir = tmp_path_factory.mktemp("slurm-validation")
    write_sheet(workdir)
    run, jobs = run_on_slurm(workdir, target="validation", validation=VALIDATION_STUDY)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    chosen = scenarios(VALIDATION_STUDY["power_sizes"])
    batches = sorted(
        j["Comment"] for j in jobs if j["Comment"].startswith("rule_validation_batch_")
    )
    assert batches == sorted(
        f"rule_validation_batch_wildcards_{name}_{batch}" for name in chosen for batch in (0, 1)
    )
    assert all((j["State"], j["ExitCode"]) == ("COMPLETED", "0:0") for j in jobs), jobs
    results = workdir / "results" / "validation"
    assert (results / "validation.html").exists()
    rows = pd.read_csv(results / "replicates.tsv", sep="\t")
    settings = StudySettings.from_config(
        shipped_config() | {"seed": VALIDATION_STUDY["seed"]}, str(MAPPING_FILE)
    )
    direct = run_replicates(chosen["effect"], range(2), settings)
    remote = rows[rows["scenario"] == "effect"].reset_index(drop=True)
    pd.testing.assert_series_equal(remote["io_coef"], direct["io_coef"], rtol=1e-12)
    pd.testing.assert_series_equal(remote["p_logrank"], direct["p_logrank"], rtol=1e-12)
