"""The bad-input battery (tests/bad_inputs/): every messy export stops with a message that
names the file, the column, the rows and the fix; what is accepted when configured reads
correctly; config errors are named. A subset runs through the real workflow: non-zero exit,
the message on the terminal, no traceback, no result files.

Cases and expectations are data: tests/bad_inputs/cases.yaml (see its header); the files
are written by tests/bad_inputs/make_cases.py.
"""

from __future__ import annotations

import logging
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml

from mgsurv.cohort.prepare import RESERVED_COLUMNS, prepare
from mgsurv.contract import GROUPINGS
from mgsurv.errors import InputError, format_rows
from mgsurv.schemas import config_error
from mgsurv.settings import CutpointSettings, PrepareSettings
from support import AGE_AND_SEX, BATTERY, ROOT, shipped_config

CASES = yaml.safe_load((BATTERY / "cases.yaml").read_text(encoding="utf-8"))
ERRORS: dict[str, dict] = CASES["errors"]
ACCEPTED: dict[str, dict] = CASES["accepted"]
CONFIG: dict[str, dict] = CASES["config"]
# The prepared cohort's columns taken from the file: mgsurv's own columns but the Mg
# groupings it adds, then the covariates.
COHORT_COLUMNS = [
    *sorted(RESERVED_COLUMNS - set(GROUPINGS)),
    *(covariate["name"] for covariate in AGE_AND_SEX),
]


def csv_of(name: str, case: dict) -> Path:
    return BATTERY / "csv" / f"{case.get('csv', name)}.csv"


def mapping_of(case: dict) -> Path:
    return BATTERY / "mappings" / f"{case.get('mapping', 'base')}.yaml"


def run_prepare(
    csv: Path | str,
    mapping: Path,
    covariates: list[dict] = AGE_AND_SEX,
    threshold: float = 0.70,
    reference_arm: str | None = "chemotherapy",
):
    settings = PrepareSettings(
        covariates=tuple(covariates),
        reference_arm=reference_arm,
        mg_threshold_mmol_l=threshold,
        cutpoint=CutpointSettings(),
    )
    return prepare(str(csv), str(mapping), settings, "test")


def test_the_battery_has_at_least_40_distinct_cases_and_no_stray_files():
    assert len(ERRORS) + len(CONFIG) >= 40
    used = {case.get("csv", name) for name, case in {**ERRORS, **ACCEPTED}.items()}
    written = {path.stem for path in (BATTERY / "csv").glob("*.csv")}
    assert written == used | {"base", "base_dates"}
    for name, case in ERRORS.items():
        assert csv_of(name, case).exists(), name
        assert case["problem"] and case["fix"], name


@pytest.mark.parametrize("name", list(ERRORS))
def test_bad_input_is_named_with_file_column_rows_and_fix(name, caplog):
    case = ERRORS[name]
    csv, mapping = csv_of(name, case), mapping_of(case)
    with caplog.at_level(logging.CRITICAL), pytest.raises(InputError) as caught:
        run_prepare(csv, mapping)
    err = caught.value
    for words in case["problem"]:
        assert words in err.problem, (words, err.problem)
    for words in case["fix"]:
        assert words in err.fix, (words, err.fix)
    assert err.column == case.get("column")
    assert err.rows == case.get("rows", [])
    assert err.file == str(mapping if case.get("file") == "mapping" else csv)
    message = err.message()
    assert message.startswith("mgsurv: input error: ") and "\n  fix:    " in message


def base_cohort() -> pd.DataFrame:
    return run_prepare(BATTERY / "csv" / "base.csv", BATTERY / "mappings" / "base.yaml").cohort


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_accepted_input_reads_correctly(name):
    case = ACCEPTED[name]
    result = run_prepare(csv_of(name, case), mapping_of(case))
    data = result.cohort
    if case.get("same_as_base"):
        pd.testing.assert_frame_equal(data[COHORT_COLUMNS], base_cohort()[COHORT_COLUMNS])
    for column, values in case.get("values", {}).items():
        got = data[column].tolist()[: len(values)]
        if isinstance(values[0], float):
            np.testing.assert_allclose(got, values, rtol=0, atol=1e-12)
        else:
            assert got == values, column
    if "excluded" in case:
        excluded = dict(zip(result.excluded["line"], result.excluded["reason"], strict=True))
        assert excluded == {int(line): reason for line, reason in case["excluded"].items()}
        assert len(data) == 12 - len(excluded)


def merged_config(override: dict) -> dict:
    return {**shipped_config(), **override}


def config_override(case: dict) -> dict:
    return yaml.safe_load((BATTERY / "configs" / f"{case['config']}.yaml").read_text())


@pytest.mark.parametrize(
    "name", [name for name, case in CONFIG.items() if not case.get("workflow_only")]
)
def test_config_error_is_named(name):
    """What Snakemake's validate() (the same JSON schema) or the prepare step rejects;
    :func:`config_error` gives the one-line message the Snakefile can show instead of
    jsonschema's dump."""
    case = CONFIG[name]
    config = merged_config(config_override(case))
    schema = ROOT / "workflow" / "schemas" / "config.schema.yaml"
    problems = [
        e.message
        for e in jsonschema.Draft202012Validator(yaml.safe_load(schema.read_text())).iter_errors(
            config
        )
    ]
    text = config_error(config, schema)
    assert (text is None) == (not problems)  # the same verdict as Snakemake's validate()
    if text is not None:
        assert text.startswith("mgsurv: config error at '") and "\n  fix: " in text
    else:
        source = config["cohort"] if config["cohort"] != "synthetic" else BATTERY / "csv/base.csv"
        with pytest.raises(InputError) as caught:
            run_prepare(
                source,
                BATTERY / "mappings" / "base.yaml",
                config["covariates"],
                config["mg_threshold_mmol_l"],
                config["reference_arm"],
            )
        text = caught.value.message()
    for words in case["problem"]:
        assert words in text, (words, text)


# --- through the workflow ---------------------------------------------------------------

WORKFLOW_CASES = [("errors", n) for n, c in ERRORS.items() if c.get("workflow")] + [
    ("config", n) for n, c in CONFIG.items() if c.get("workflow")
]


def workflow_overrides(kind: str, name: str) -> dict:
    case = ERRORS[name] if kind == "errors" else CONFIG[name]
    csv = csv_of(name, case) if kind == "errors" else BATTERY / "csv" / "base.csv"
    overrides = {"cohort": str(csv), "mapping": str(mapping_of(case)), "covariates": AGE_AND_SEX}
    if kind == "config":
        overrides |= config_override(case)
    return overrides


@pytest.fixture(scope="module")
def workflow_runs(
    run_workflow, tmp_path_factory
) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """Every workflow case, run in parallel (each in its own directory)."""
    base = tmp_path_factory.mktemp("bad_inputs")

    def run(kind_name):
        kind, name = kind_name
        workdir = base / name
        return name, (workdir, run_workflow(workdir, timeout=600, **workflow_overrides(kind, name)))

    with ThreadPoolExecutor(max_workers=6) as pool:
        return dict(pool.map(run, WORKFLOW_CASES))


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.workflow
def test_workflow_subset_covers_a_config_error_and_an_excel_file():
    names = [name for _, name in WORKFLOW_CASES]
    assert len(names) >= 8
    assert "excel_xlsx_named_csv" in names and any(n.startswith("config_") for n in names)


@pytest.mark.workflow
@pytest.mark.parametrize("kind_name", WORKFLOW_CASES, ids=[n for _, n in WORKFLOW_CASES])
def test_workflow_stops_with_the_message_and_writes_no_results(workflow_runs, kind_name):
    kind, name = kind_name
    workdir, run = workflow_runs[name]
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-2000:]
    assert "Traceback" not in output, output[-4000:]
    case = ERRORS[name] if kind == "errors" else CONFIG[name]
    for words in case["problem"]:
        assert words in output, (words, output[-3000:])
    if kind == "errors":
        assert "mgsurv: input error: " in output
        named = mapping_of(case) if case.get("file") == "mapping" else csv_of(name, case)
        assert f"  file:   {named}\n" in output
        if case.get("column"):
            assert f"  column: {case['column']}\n" in output
        if case.get("rows"):
            assert f"  rows:   {format_rows(case['rows'])} (" in output
        for words in case["fix"]:
            assert words in output, words
        cohort = csv_of(name, case).stem
        assert files_under(workdir / "results" / cohort) == []
    else:  # the run's rule graph may be drawn beside the cohort's jobs; no cohort result
        assert files_under(workdir / "results" / "base") == []


# --- the README lists every message ------------------------------------------------------


def readme_message_patterns() -> list[re.Pattern]:
    """The messages quoted in the README's "Troubleshooting your CSV" section, as patterns
    ('…' stands for any text; a line break inside a quote for any white space; a quote
    without a letter, such as '…' itself, is not a message)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Troubleshooting your CSV", 1)[1].split("\n## ", 1)[0]
    quoted = [text for text in re.findall(r"`([^`]+)`", section) if re.search("[a-z]", text)]
    return [
        re.compile(
            r"\s+".join(re.escape(word).replace("…", ".*") for word in text.split()),
            re.DOTALL,
        )
        for text in quoted
    ]


def test_readme_troubleshooting_lists_every_message_of_the_battery(caplog):
    patterns = readme_message_patterns()
    unlisted = []
    for name, case in ERRORS.items():
        with caplog.at_level(logging.CRITICAL), pytest.raises(InputError) as caught:
            run_prepare(csv_of(name, case), mapping_of(case))
        if not any(pattern.fullmatch(caught.value.problem) for pattern in patterns):
            unlisted.append(f"{name}: {caught.value.problem}")
    assert not unlisted, "README 'Troubleshooting your CSV' lacks:\n" + "\n".join(unlisted)
