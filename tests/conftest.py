"""Pytest configuration and fixtures shared by every test module. The constants and helpers
the modules import by name are support.py's; tests and fixtures may also take
:func:`support.run_workflow` as the ``run_workflow`` fixture.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

import support

# Hypothesis caches what it learns in ./.hypothesis; keep the repository clean.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "mgsurv-hypothesis")


@pytest.fixture(scope="session", name="run_workflow")
def run_workflow_fixture():
    """:func:`support.run_workflow`, for tests and fixtures of any scope."""
    return support.run_workflow
