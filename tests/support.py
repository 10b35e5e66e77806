"""Paths, settings and helpers shared by the test modules, which import them by name
(``from support import ROOT``): the repository's files the tests read, the bad-input battery,
the covariates of the small cohorts and of the R fixtures, and the runner of the Snakemake
workflow as a user runs it. Pytest configuration and fixtures are conftest.py's (its
``run_workflow`` fixture is :func:`run_workflow`).

tests/ has no ``__init__.py``: pytest's default import mode puts tests/ on sys.path, which
makes this module importable as ``support``; --import-mode=importlib needs tests/ in the
``pythonpath`` of pyproject's pytest settings.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEFILE = ROOT / "Snakefile"
CONFIG_FILE = ROOT / "config" / "config.yaml"  # the shipped study settings
MAPPING_FILE = ROOT / "config" / "mapping.yaml"  # the shipped (default) CSV mapping
# R's reference data and fixtures (tests/reference/make_fixtures.R and the other scripts).
REFERENCE = ROOT / "tests" / "reference"
SYNTHETIC_400 = REFERENCE / "data" / "synthetic_400.csv"
# The bad-input battery: csv/, mappings/, configs/, degenerate/ (see its cases.yaml).
BATTERY = ROOT / "tests" / "bad_inputs"

# Covariates of the tests that read the small cohorts of tests/ (the columns age and sex).
AGE_AND_SEX = [
    {"name": "age", "type": "numeric"},
    {"name": "sex", "type": "categorical", "reference": "male"},
]
# The covariates (and reference levels) the R fixtures of tests/reference/ adjust for.
FIXTURE_COVARIATES = (
    {"name": "age", "type": "numeric"},
    {"name": "sex", "type": "categorical", "reference": "male"},
    {"name": "ecog", "type": "categorical", "reference": "0"},
    {"name": "histology", "type": "categorical", "reference": "non-squamous"},
    {"name": "pdl1", "type": "categorical", "reference": "<1%"},
)


def shipped_config() -> dict:
    """config/config.yaml as a dict (a new one on each call)."""
    return yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))


def workflow_command(
    workdir: Path, *options: str, cores: int | None = 2, target: str | None = None, **overrides
) -> list[str]:
    """The Snakemake command line of the workflow in workdir, as a user runs it: the shipped
    config plus ``overrides`` (config keys, written to workdir/overrides.yaml, which this
    creates, with workdir if needed), ``--cores`` (None: leave it to a profile), then
    ``options`` and the ``target`` rule or file (last: an option before it must end
    --configfile's list of files, as --cores or the options do)."""
    workdir.mkdir(parents=True, exist_ok=True)
    overrides_file = workdir / "overrides.yaml"
    overrides_file.write_text(yaml.safe_dump(overrides), encoding="utf-8")
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(SNAKEFILE),
        "--directory",
        str(workdir),
        "--configfile",
        str(CONFIG_FILE),
        str(overrides_file),
        *(["--cores", str(cores)] if cores is not None else []),
        *options,
        *([target] if target is not None else []),
    ]


def run_workflow(
    workdir: Path,
    *options: str,
    cores: int | None = 2,
    target: str | None = None,
    timeout: float = 900,
    cwd: Path | None = None,
    **overrides: Any,
) -> subprocess.CompletedProcess[str]:
    """Run :func:`workflow_command` to its end (stdin closed, stdout and stderr captured as
    text, at most ``timeout`` seconds, from ``cwd`` or this process's directory)."""
    return subprocess.run(
        workflow_command(workdir, *options, cores=cores, target=target, **overrides),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


SVG_TEXT = re.compile(r"<text\b[^>]*>(.*?)</text>", re.S)


def svg_texts(svg: str) -> list[str]:
    """The texts drawn in SVG markup, unescaped (matplotlib writes each line of a text as
    a <text> element)."""
    return [html.unescape(re.sub(r"<[^>]+>", "", text)) for text in SVG_TEXT.findall(svg)]
