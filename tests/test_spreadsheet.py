"""Spreadsheets read directly (.xlsx, .ods): the same table as the CSV they were made from,
Excel dates and numbers stored as text handled, the sheet chosen by the mapping, and the
same messages with the sheet's row numbers."""

from __future__ import annotations

import datetime
from dataclasses import replace
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from mgsurv.cohort.mapping import load_mapping
from mgsurv.cohort.reader import read_cohort
from mgsurv.errors import InputError
from mgsurv.onboarding.writing import unsure, write_proposal
from support import AGE_AND_SEX, BATTERY

BASE = BATTERY / "csv" / "base.csv"
BASE_DATES = BATTERY / "csv" / "base_dates.csv"
MAPPING = load_mapping(BATTERY / "mappings" / "base.yaml")


def typed(value: str, as_text: set[str], column: str) -> object:
    """A CSV cell as a spreadsheet holds it: a number (int or float) unless the column is
    in ``as_text`` (numbers stored as text), an ISO date as a date cell, else text."""
    if column in as_text or value == "":
        return value or None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return int(value) if value.lstrip("-").isdigit() else float(value)
    except ValueError:
        return value


def workbook(csv: Path, path: Path, *, as_text: frozenset = frozenset(), edit=None) -> Path:
    """The CSV as an .xlsx: a notes sheet first, the cohort on sheet 'Cohort'."""
    rows = [line.split(",") for line in csv.read_text().splitlines()]
    if edit is not None:
        row, column, value = edit
        rows[row - 1][rows[0].index(column)] = value
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active["A1"] = "exported from the hospital system"
    sheet = book.create_sheet("Cohort")
    sheet.append(rows[0])
    for row in rows[1:]:
        sheet.append([typed(v, as_text, c) for v, c in zip(row, rows[0], strict=True)])
    book.save(path)
    return path


def test_an_xlsx_reads_as_its_csv(tmp_path):
    """Numbers as numbers or stored as text, integers written without .0, sheet by name."""
    xlsx = workbook(BASE, tmp_path / "cohort.xlsx", as_text=frozenset({"mg_mmol_l", "age"}))
    expected = read_cohort(BASE, MAPPING, AGE_AND_SEX)
    for sheet in ("Cohort", 2):
        read = read_cohort(xlsx, replace(MAPPING, sheet=sheet), AGE_AND_SEX)
        pd.testing.assert_frame_equal(read.data, expected.data)
        pd.testing.assert_frame_equal(read.flow, expected.flow)


def test_excel_dates_and_dates_as_text_read_alike(tmp_path):
    """Date cells need no format; the ones typed as text follow date_format."""
    mapping = load_mapping(BATTERY / "mappings" / "dates.yaml")
    text_dates = BASE_DATES.read_text().replace("2020-01-15", "15.01.2020")
    european = tmp_path / "dates.csv"
    european.write_text(text_dates)
    xlsx = workbook(european, tmp_path / "dates.xlsx")
    read = read_cohort(xlsx, replace(mapping, sheet="Cohort", date_format="%d.%m.%Y"), [])
    expected = read_cohort(BASE_DATES, mapping, [])
    pd.testing.assert_frame_equal(read.data, expected.data)
    assert read.data_cutoff == expected.data_cutoff


def test_an_ods_reads_as_its_csv(tmp_path):
    ods = tmp_path / "cohort.ods"
    pd.read_csv(BASE).to_excel(ods, index=False, engine="odf")
    read = read_cohort(ods, MAPPING, AGE_AND_SEX)
    pd.testing.assert_frame_equal(read.data, read_cohort(BASE, MAPPING, AGE_AND_SEX).data)


def test_messages_name_the_sheet_rows(tmp_path):
    xlsx = workbook(BASE, tmp_path / "bad.xlsx", edit=(5, "mg_mmol_l", "low"))
    with pytest.raises(InputError) as caught:
        read_cohort(xlsx, replace(MAPPING, sheet="Cohort"), AGE_AND_SEX)
    assert caught.value.problem == "serum Mg is not a number ('low')"
    assert caught.value.rows == [5] and caught.value.column == "mg_mmol_l"


def test_a_missing_sheet_or_broken_workbook_is_named(tmp_path):
    xlsx = workbook(BASE, tmp_path / "cohort.xlsx")
    with pytest.raises(InputError, match="no sheet 'Data'; its sheets are 'Notes', 'Cohort'"):
        read_cohort(xlsx, replace(MAPPING, sheet="Data"), AGE_AND_SEX)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(InputError, match="the workbook cannot be read"):
        read_cohort(broken, MAPPING, AGE_AND_SEX)


def test_init_proposes_a_mapping_for_a_workbook(tmp_path):
    """mgsurv init reads the first sheet of a workbook; the mapping it writes reads it."""
    xlsx = tmp_path / "cohort.xlsx"
    pd.read_csv(BASE).to_excel(xlsx, index=False, sheet_name="Cohort")
    proposal = write_proposal(xlsx, tmp_path / "m.yaml", tmp_path / "s.yaml")
    assert unsure(proposal) == [] and proposal.csv == {}
    mapping = load_mapping(tmp_path / "m.yaml")
    assert mapping.sheet == 1
    study = yaml.safe_load((tmp_path / "s.yaml").read_text())
    read = read_cohort(xlsx, mapping, study["covariates"])
    expected = read_cohort(BASE, MAPPING, AGE_AND_SEX)
    pd.testing.assert_frame_equal(read.data[expected.data.columns], expected.data)


@pytest.mark.workflow
def test_a_workbook_runs_through_the_workflow(run_workflow, tmp_path):
    """cohort= an .xlsx: results/<its name>/ with the same cohort as its CSV."""
    xlsx = workbook(BASE, tmp_path / "site_x.xlsx")
    mapping = yaml.safe_load((BATTERY / "mappings" / "base.yaml").read_text())
    mapping["sheet"] = "Cohort"
    (tmp_path / "mapping.yaml").write_text(yaml.safe_dump(mapping))
    run = run_workflow(
        tmp_path,
        cohort=str(xlsx),
        mapping=str(tmp_path / "mapping.yaml"),
        covariates=AGE_AND_SEX,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    cohort = pd.read_parquet(tmp_path / "results" / "site_x" / "cohort.parquet")
    expected = read_cohort(BASE, MAPPING, AGE_AND_SEX).data
    pd.testing.assert_series_equal(cohort["mg_mmol_l"], expected["mg_mmol_l"])
    assert (tmp_path / "results" / "site_x" / "report.html").exists()
