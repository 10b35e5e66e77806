"""The run ends with its last job: mgsurv.stages.prompt_exit against the pinned Snakemake.

The hook relies on a Snakemake internal (the scheduler's re-evaluation timer), so this runs a
real Snakemake on a one-rule workflow whose ``onsuccess`` calls it, with a one-minute rate
limiter timespan: the timer is certainly pending when the handler runs. If an upgrade
changes the mechanism, the hook finds no timer and the count below is 0 (and the run takes
a minute longer): the test fails rather than the runs silently ending late again.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from mgsurv.stages.prompt_exit import cancel_scheduler_timers

SNAKEFILE = textwrap.dedent(
    """
    from mgsurv.stages.prompt_exit import cancel_scheduler_timers


    rule done:
        output:
            "done.txt",
        localrule: True
        run:
            open(output[0], "w").close()


    onsuccess:
        print(f"cancelled timers: {cancel_scheduler_timers()}")
    """
)


@pytest.mark.workflow
def test_the_scheduler_timer_is_found_and_cancelled(tmp_path):
    (tmp_path / "Snakefile").write_text(SNAKEFILE, encoding="utf-8")
    command = [sys.executable, "-m", "snakemake", "--cores", "1"]
    command += ["--max-jobs-per-timespan", "100/1m", "--directory", str(tmp_path)]
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "done.txt").exists()
    counts = [line for line in result.stdout.splitlines() if line.startswith("cancelled")]
    assert counts, result.stdout + result.stderr
    assert int(counts[0].split(": ")[1]) >= 1, "no Snakemake scheduler timer was found"


def test_nothing_else_is_cancelled():
    """Timers that are not the scheduler's are left alone."""
    import threading

    other = threading.Timer(60, lambda: None)
    other.start()
    try:
        assert cancel_scheduler_timers() == 0
        assert other.is_alive()
    finally:
        other.cancel()
