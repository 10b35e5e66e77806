"""Baseline serum Mg from a lab table (mapping key mg_lab): the measurement closest to
treatment start within the window, converted per row, patients without one excluded and
counted, every bad row named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mgsurv.cohort.mapping import load_mapping
from mgsurv.cohort.reader import read_cohort
from mgsurv.errors import InputError
from support import BATTERY, MAPPING_FILE, SYNTHETIC_400

SOURCE = pd.read_csv(SYNTHETIC_400)
DATES = BATTERY / "mappings" / "dates.yaml"
UNITS = {"mmol/L": 1.0, "mg/dL": 2.4305, "mEq/L": 2.0}  # units per mmol/L


def lab_mapping(tmp_path: Path, lab: dict, base: Path = BATTERY / "mappings" / "base.yaml") -> Path:
    """A mapping (the battery's by default) with Mg from the lab table ``lab`` instead of
    its column."""
    mapping = yaml.safe_load(base.read_text())
    mapping["columns"]["mg"] = None
    mapping["mg_lab"] = lab
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping))
    return path


def long_lab_table(path: Path, seed: int = 7) -> pd.DataFrame:
    """Two to six measurements per patient of the synthetic cohort, from day -90 to day 60,
    in mixed units (a few patients have none, one has none in the window), plus rows of a
    patient not in the cohort."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, patient in enumerate(SOURCE["patient_id"]):
        if i % 50 == 0:
            continue
        days = rng.integers(-90, 61, size=rng.integers(2, 7))
        if i % 50 == 1:
            days = np.array([-45, 10])
        for day in days:
            unit = rng.choice(list(UNITS))
            mmol = float(np.round(rng.normal(0.8, 0.1), 3))
            rows.append((patient, int(day), round(mmol * UNITS[unit], 4), unit))
    rows.append(("NOT-IN-COHORT", -1, 0.8, "mmol/L"))
    table = pd.DataFrame(rows, columns=["Patient", "Day", "Mg", "Unit"])
    table.to_csv(path, index=False)
    return table


def expected_baseline(table: pd.DataFrame, window: int = 30, last: int = 0) -> pd.Series:
    """The rule, spelt out patient by patient."""
    out = {}
    for patient, rows in table.groupby("Patient"):
        inside = rows[(rows["Day"] >= -window) & (rows["Day"] <= last)]
        if inside.empty:
            continue
        distance = inside["Day"].abs()
        nearest = inside[distance == distance.min()]
        day = nearest["Day"].min()  # before treatment start wins a tie
        chosen = nearest[nearest["Day"] == day]
        out[patient] = float((chosen["Mg"] / chosen["Unit"].map(UNITS)).mean())
    return pd.Series(out)


@pytest.mark.parametrize(("window", "last"), [(30, 0), (60, 14)])
def test_a_long_lab_table_gives_each_patient_the_rule_s_baseline(tmp_path, window, last):
    table = long_lab_table(tmp_path / "labs.csv")
    columns = {"patient_id": "Patient", "value": "Mg", "unit": "Unit", "day": "Day"}
    lab = {"file": str(tmp_path / "labs.csv"), "columns": columns}
    lab |= {"window_days": window, "last_day": last}
    mapping = load_mapping(lab_mapping(tmp_path, lab, base=MAPPING_FILE))
    read = read_cohort(SYNTHETIC_400, mapping, [])
    expected = expected_baseline(table, window, last)
    got = read.data.set_index("patient_id")["mg_mmol_l"]
    assert sorted(got.index) == sorted(set(expected.index) & set(SOURCE["patient_id"]))
    np.testing.assert_allclose(
        got[expected.index.drop("NOT-IN-COHORT", errors="ignore")],
        expected.drop("NOT-IN-COHORT", errors="ignore"),
        rtol=1e-12,
    )
    rule = f"the measurement closest to treatment start from day -{window} to day {last}"
    reason = f"no serum Mg in the lab table ({rule})"
    assert read.flow.loc[0, "reason"] == reason
    assert read.flow.loc[0, "n_excluded"] == len(SOURCE) - len(got)
    assert set(read.excluded["reason"]) == {reason}
    assert f"a table of {len(table)} measurements" in read.baseline_mg
    cohort_rows = table[table["Patient"] != "NOT-IN-COHORT"]
    outside = ~cohort_rows["Day"].between(-window, last)
    assert (
        f"Not used: {outside.sum()} measurements outside that window, 0 without a day from"
        " treatment start and 1 of patients not in the cohort." in read.baseline_mg
    )


def test_measurement_dates_count_from_each_patient_s_start_date(tmp_path):
    labs = tmp_path / "labs.csv"
    labs.write_text(
        "id,taken,value\n"
        "D01,2020-01-10,0.61\n"  # 5 days before the start, 2020-01-15
        "D01,2019-11-01,0.90\n"  # outside the window
        "D02,2020-02-03,0.77\n"  # day 0
        "D03,2020-03-20,0.70\n"  # after the start: not before day 0
    )
    lab = {"file": str(labs), "columns": {"patient_id": "id", "value": "value", "date": "taken"}}
    mapping = load_mapping(lab_mapping(tmp_path, lab, base=DATES))
    read = read_cohort(BATTERY / "csv" / "base_dates.csv", mapping, [])
    got = dict(zip(read.data["patient_id"], read.data["mg_mmol_l"], strict=True))
    assert got == {"D01": 0.61, "D02": 0.77}


@pytest.mark.parametrize(
    ("labs", "problem", "column", "rows"),
    [
        ("p,d,v,u\nP01,-1,0.8,mmol\n", "unit(s) ['mmol'] of the lab table", "u", [2]),
        ("p,d,v,u\nP01,-1,low,mmol/L\n", "serum Mg is not a number ('low')", "v", [2]),
        ("p,d,v,u\nP01,-1,0.8,mmol/L\nP02,-2,8,mmol/L\n", "outside the plausible", "v", [3]),
        ("p,d,v,u\nP01,-1,0,mmol/L\n", "serum Mg is zero or negative", "v", [2]),
        ("p,d,v,u\n1,-1,0.8,mmol/L\n2,-1,0.8,\n", "no patient ID of the lab table", "p", []),
    ],
)
def test_bad_rows_of_the_lab_table_are_named(tmp_path, labs, problem, column, rows):
    path = tmp_path / "labs.csv"
    path.write_text(labs)
    columns = {"patient_id": "p", "day": "d", "value": "v", "unit": "u"}
    mapping = load_mapping(lab_mapping(tmp_path, {"file": str(path), "columns": columns}))
    with pytest.raises(InputError) as caught:
        read_cohort(BATTERY / "csv" / "base.csv", mapping, [])
    assert problem in caught.value.problem
    assert (caught.value.file, caught.value.column, caught.value.rows) == (str(path), column, rows)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"mg": "mg_mmol_l"}, "both as a column (columns.mg) and as a lab table"),
        ({"lab_columns": {"date": "t"}}, "needs either date or day (not both)"),
        ({"lab_columns": {"day": None}}, "needs either date or day (not both)"),
        ({"lab_columns": {"day": None, "date": "t"}}, "no start_date to count from"),
        ({"no_lab": True}, "no column mapped for mg"),
    ],
)
def test_the_mapping_says_where_mg_comes_from_once(tmp_path, change, problem):
    columns = {"patient_id": "p", "day": "d", "value": "v"} | change.get("lab_columns", {})
    path = lab_mapping(tmp_path, {"file": "labs.csv", "columns": columns})
    mapping = yaml.safe_load(path.read_text())
    if "mg" in change:
        mapping["columns"]["mg"] = change["mg"]
    if change.get("no_lab"):
        del mapping["mg_lab"]
    path.write_text(yaml.safe_dump(mapping))
    with pytest.raises(InputError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load_mapping(path)


@pytest.mark.workflow
def test_a_run_with_a_lab_table_states_the_rule(run_workflow, tmp_path):
    """Through the workflow: flow.tsv's Mg step and the report's Methods give the rule."""
    long_lab_table(tmp_path / "labs.csv")
    columns = {"patient_id": "Patient", "value": "Mg", "unit": "Unit", "day": "Day"}
    mapping = lab_mapping(
        tmp_path, {"file": str(tmp_path / "labs.csv"), "columns": columns}, base=MAPPING_FILE
    )
    run = run_workflow(tmp_path, cohort=str(SYNTHETIC_400), mapping=str(mapping))
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results" / SYNTHETIC_400.stem
    flow = pd.read_csv(results / "flow.tsv", sep="\t")
    assert flow.loc[0, "reason"].startswith("no serum Mg in the lab table (the measurement")
    html = (results / "report.html").read_text(encoding="utf-8")
    assert "Baseline serum magnesium was taken from a table of" in html
    # the lab table is an input of prepare: a changed table reruns it
    same = run_workflow(tmp_path, "--dry-run", cohort=str(SYNTHETIC_400), mapping=str(mapping))
    assert "prepare_cohort" not in same.stdout, same.stdout[-2000:]
    labs = pd.read_csv(tmp_path / "labs.csv")
    labs.loc[0, "Mg"] = labs.loc[0, "Mg"] * 1.01
    labs.to_csv(tmp_path / "labs.csv", index=False)
    dry = run_workflow(tmp_path, "--dry-run", cohort=str(SYNTHETIC_400), mapping=str(mapping))
    assert "prepare_cohort" in dry.stdout, dry.stdout[-2000:]


def test_a_missing_lab_table_is_named(tmp_path):
    columns = {"patient_id": "p", "day": "d", "value": "v"}
    lab = {"file": str(tmp_path / "no_labs.csv"), "columns": columns}
    mapping = load_mapping(lab_mapping(tmp_path, lab))
    with pytest.raises(InputError, match="lab table file not found") as caught:
        read_cohort(BATTERY / "csv" / "base.csv", mapping, [])
    assert caught.value.file == str(tmp_path / "no_labs.csv")


def test_missing_units_and_blank_ids_are_not_errors(tmp_path):
    """R writes NA for an empty unit (units.mg then applies); the cohort's blank patient IDs
    are named by the reader, not a crash of the lab lookup."""
    labs = tmp_path / "labs.csv"
    labs.write_text("p,taken,v,u\nD01,2020-01-10,0.61,NA\nD02,2020-02-03,1.54,mEq/L\n")
    columns = {"patient_id": "p", "date": "taken", "value": "v", "unit": "u"}
    path = lab_mapping(tmp_path, {"file": str(labs), "columns": columns}, base=DATES)
    read = read_cohort(BATTERY / "csv" / "base_dates.csv", load_mapping(path), [])
    assert dict(zip(read.data["patient_id"], read.data["mg_mmol_l"], strict=True)) == {
        "D01": 0.61,
        "D02": 0.77,
    }
    blank_ids = tmp_path / "blank_ids.csv"
    rows = (BATTERY / "csv" / "base_dates.csv").read_text().splitlines()
    rows[2], rows[3] = "," + rows[2].split(",", 1)[1], "," + rows[3].split(",", 1)[1]
    blank_ids.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError, match="patient ID is empty") as caught:
        read_cohort(blank_ids, load_mapping(path), [])
    assert caught.value.rows == [3, 4]
