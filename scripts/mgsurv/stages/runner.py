"""Run one workflow step from a Snakemake rule script: logging, and errors a user can read.

A rule script calls :func:`run_step` with its ``snakemake`` object and one function. An
:class:`InputError` is printed (to the terminal and the rule's log) as its message only, no
traceback, and the job exits 1 so Snakemake removes the job's outputs. Any other exception
is a bug in mgsurv: its traceback goes to the log, with a one-line pointer on the terminal.
"""

from __future__ import annotations

import logging
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

from mgsurv.errors import INPUT_ERROR_MARK, InputError

# What a step's log says before the traceback of a bug (the workflow finds failed steps by it).
INTERNAL_ERROR_MARK = "unexpected failure:"


def run_step(smk, step: Callable[[object], None]) -> None:
    """Call ``step(smk)`` with logging to the rule's log file; exit 1 on failure."""
    log_path = smk.log[0] if smk.log else None
    handlers = [logging.FileHandler(log_path, mode="w")] if log_path else []
    logging.basicConfig(
        level=logging.INFO,
        handlers=handlers or None,
        force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.captureWarnings(True)
    warnings.simplefilter("default")
    try:
        step(smk)
    except InputError as err:
        # Logged as the rule's: the message names mgsurv itself ("mgsurv: input error: ...").
        logging.getLogger(f"rule {smk.rule}").error("%s", err.message())
        print(err.message(), file=sys.stderr)
        sys.exit(1)
    except Exception:
        logging.getLogger("mgsurv").error("%s\n%s", INTERNAL_ERROR_MARK, traceback.format_exc())
        print(
            f"mgsurv: internal error in rule {smk.rule}; details in {log_path}."
            " Please report it with that log.",
            file=sys.stderr,
        )
        sys.exit(1)


def logged_failure(log: Path) -> str | None:
    """What a step's log (as :func:`run_step` writes it) says of the step's failure: the
    input error's message, or where a bug's traceback is; None when the step did not fail."""
    text = log.read_text(encoding="utf-8", errors="replace")
    if INPUT_ERROR_MARK in text:
        return INPUT_ERROR_MARK + text.split(INPUT_ERROR_MARK, 1)[1].rstrip()
    if INTERNAL_ERROR_MARK in text:
        return f"mgsurv: internal error; details in {log}"
    return None
