"""End a run as soon as its last job is done: cancel Snakemake's pending scheduler timers.

After every scheduling round Snakemake's job scheduler starts a ``threading.Timer`` that
wakes it again once the job rate limiter's timespan has passed (``--max-jobs-per-timespan``,
default 100 jobs per 1 s). The timer is not a daemon thread, so Python waits for it at exit:
a run used to end 1.0-1.4 s after its last job. A shorter timespan cannot be set instead:
Snakemake 9.27 reads ``100/100ms`` as 100 minutes (bench/README.md has the reproducer), and
``0s`` would wake the scheduler in a loop while jobs wait for cores.

The Snakefile's ``onsuccess`` and ``onerror`` handlers, which Snakemake calls once the
scheduler has returned, cancel those timers. The timer is found by the qualified name of the
function it runs, which is a Snakemake internal (snakemake pinned in requirements.txt):
``tests/test_prompt_exit.py`` runs a real Snakemake and fails if no timer is found, so an
upgrade that changes the mechanism fails there, never silently.
"""

from __future__ import annotations

import threading

# The function of the timer JobScheduler._schedule_reevalutation starts (Snakemake 9.x).
SCHEDULER_TIMER = "JobScheduler._schedule_reevalutation.<locals>.<lambda>"


def cancel_scheduler_timers() -> int:
    """Cancel the scheduler's pending re-evaluation timers; returns how many there were."""
    cancelled = 0
    for thread in threading.enumerate():
        function = getattr(thread, "function", None)
        if isinstance(thread, threading.Timer) and (
            getattr(function, "__qualname__", None) == SCHEDULER_TIMER
        ):
            thread.cancel()
            cancelled += 1
    return cancelled
