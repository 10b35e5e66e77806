"""``mgsurv init``: the proposed mapping and study config read a user's CSV correctly, say
what to check, and run to a report unedited."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mgsurv.cohort.mapping import load_mapping
from mgsurv.cohort.reader import read_cohort
from mgsurv.errors import InputError
from mgsurv.onboarding.proposal import propose
from mgsurv.onboarding.values import guess_arms
from mgsurv.onboarding.writing import unsure, write_proposal
from support import AGE_AND_SEX, ROOT, SYNTHETIC_400

SOURCE = pd.read_csv(SYNTHETIC_400)


def hospital_export(path: Path) -> Path:
    """The synthetic cohort as a European hospital export: other names, mg/dL, days."""
    export = pd.DataFrame(
        {
            "Patient ID": SOURCE["patient_id"],
            "Treatment": SOURCE["arm"],
            "Age (years)": SOURCE["age"],
            "Gender": SOURCE["sex"],
            "Serum magnesium": (SOURCE["mg_mmol_l"] * 2.4305).round(4),
            "PFS days": (SOURCE["pfs_months"] * 365.25 / 12).round(3),
            "Progressed": SOURCE["pfs_event"].map({1: "yes", 0: "no"}),
            "OS days": (SOURCE["os_months"] * 365.25 / 12).round(3),
            "Vital status": SOURCE["os_event"].map({1: "dead", 0: "alive"}),
        }
    )
    export.to_csv(path, sep=";", decimal=",", index=False)
    return path


def test_proposed_mapping_reads_the_export_back(tmp_path):
    csv = hospital_export(tmp_path / "hospital.csv")
    proposal = write_proposal(csv, tmp_path / "mapping.yaml", tmp_path / "study.yaml")
    assert unsure(proposal) == []
    mapping = load_mapping(tmp_path / "mapping.yaml")
    assert (mapping.delimiter, mapping.decimal) == (";", ",")
    assert (mapping.mg_unit, mapping.time_unit) == ("mg/dL", "days")
    data = read_cohort(csv, mapping, AGE_AND_SEX).data
    np.testing.assert_allclose(data["mg_mmol_l"], SOURCE["mg_mmol_l"], atol=1e-4)
    np.testing.assert_allclose(data["os_months"], SOURCE["os_months"], atol=1e-4)
    assert data["os_event"].tolist() == SOURCE["os_event"].tolist()
    assert data["pfs_event"].tolist() == SOURCE["pfs_event"].tolist()
    assert (mapping.immunotherapy_arm, mapping.other_arms) == ("immunotherapy", ("chemotherapy",))


@pytest.mark.parametrize(
    "values, immunotherapy, other, sure",
    [
        (["Docetaxel", "Atezolizumab", "NA", ""], ["Atezolizumab"], ["Docetaxel"], True),
        (["chemo", "Anti-PD-1", "chemo"], ["Anti-PD-1"], ["chemo"], True),
        (["CAR-T", "standard of care"], ["CAR-T"], ["standard of care"], True),
        (
            ["Nivolumab", "Pembrolizumab", "Docetaxel"],
            ["Nivolumab"],
            ["Docetaxel", "Pembrolizumab"],
            False,
        ),
        (["A", "B"], ["A"], ["B"], False),
        (["radio", "biology"], ["biology"], ["radio"], False),  # "io" only as a word
    ],
)
def test_the_immunotherapy_arm_is_proposed_from_its_name(values, immunotherapy, other, sure):
    arms = guess_arms(pd.Series(values))
    assert arms["immunotherapy"].value == immunotherapy
    assert arms["other"].value == other
    assert arms["immunotherapy"].sure is sure


def test_r_style_codes_and_unclear_units_are_marked_check(tmp_path):
    csv = tmp_path / "r.csv"
    pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "mg": [1.5, 1.7, 1.6],
            "os_time": [10.0, 12.0, 8.0],
            "os_status": [1, 2, 2],
            "pfs_time": [5.0, 6.0, 4.0],
            "pfs_status": [2, 2, 1],
        }
    ).to_csv(csv, index=False)
    proposal = propose(csv)
    assert proposal.events["os"][0].value == ["2"]
    assert unsure(proposal) == ["columns.arm", "units.mg"]
    write_proposal(csv, tmp_path / "m.yaml", tmp_path / "s.yaml")
    text = (tmp_path / "m.yaml").read_text()
    assert "CHECK: median Mg 1.60: mEq/L (1.4-2.2) or mg/dL (1.7-2.7)?" in text
    assert "R's Surv() convention, 1 = censored, 2 = event" in text
    assert yaml.safe_load(text)["event_codes"] == {"event": ["2"], "censored": ["1"]}


def test_dates_are_proposed_when_there_are_no_times(tmp_path):
    csv = tmp_path / "dates.csv"
    pd.DataFrame(
        {
            "patient": ["a"],
            "magnesium": [0.8],
            "start date": ["2020-01-01"],
            "progression date": [""],
            "death date": [""],
            "last follow-up date": ["2021-01-01"],
        }
    ).to_csv(csv, index=False)
    proposal = propose(csv)
    assert proposal.columns["start_date"].value == "start date"
    assert proposal.columns["last_followup_date"].value == "last follow-up date"
    assert proposal.missing_columns() == []
    write_proposal(csv, tmp_path / "m.yaml", tmp_path / "s.yaml")
    assert load_mapping(tmp_path / "m.yaml").uses_dates


def test_init_never_overwrites_and_names_excel_files(tmp_path):
    csv = hospital_export(tmp_path / "hospital.csv")
    (tmp_path / "study.yaml").write_text("mine\n")
    with pytest.raises(InputError, match="exists already"):
        write_proposal(csv, tmp_path / "mapping.yaml", tmp_path / "study.yaml")
    assert (tmp_path / "study.yaml").read_text() == "mine\n"
    assert not (tmp_path / "mapping.yaml").exists()  # neither file is written
    workbook = tmp_path / "book.csv"
    workbook.write_bytes(b"PK\x03\x04" + bytes(64))
    with pytest.raises(InputError, match="spreadsheet workbook .Excel or LibreOffice., not a CSV"):
        propose(workbook)


def test_command_line(tmp_path):
    csv = hospital_export(tmp_path / "hospital.csv")
    out, study = tmp_path / "proposed.yaml", tmp_path / "study.yaml"
    command = [sys.executable, "-m", "mgsurv", "init", str(csv), "--out", str(out)]
    command += ["--study-out", str(study)]
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert f"--configfile {study}" in run.stdout and out.exists() and study.exists()
    again = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr


def r_write_csv(frame: pd.DataFrame, path: Path, *, csv2: bool = False, encoding="utf-8") -> Path:
    """The table as R's write.csv (or write.csv2) writes it: a header led by an empty name,
    row names 1..n, every text quoted, NA for missing; write.csv2 with ';' and decimal
    commas."""
    out = frame.copy()
    out.insert(0, "", [str(i) for i in range(1, len(out) + 1)])
    out.to_csv(
        path,
        index=False,
        sep=";" if csv2 else ",",
        decimal="," if csv2 else ".",
        quoting=csv.QUOTE_NONNUMERIC,
        na_rep="NA",
        encoding=encoding,
    )
    return path


DRUGS = {"immunotherapy": "Atezolizumab", "chemotherapy": "Docetaxel"}


def r_export(path: Path) -> Path:
    """The synthetic cohort as an R user exports it with write.csv: RFS for the progression
    endpoint (0/1), OS status in R's Surv() 1/2 convention, Mg in mg/dL, days, the arm in a
    column 'rx', two missing Mg values, and a column that is not a covariate."""
    mg = (SOURCE["mg_mmol_l"] * 2.4305).round(3).astype(object)
    mg[[5, 17]] = None
    frame = pd.DataFrame(
        {
            "patient": SOURCE["patient_id"],
            "rx": SOURCE["arm"].map(DRUGS),
            "age": SOURCE["age"],
            "sex": SOURCE["sex"],
            "ecog": SOURCE["ecog"],
            "site": np.where(np.arange(len(SOURCE)) % 3 == 0, "Basel", "Bern"),
            "mg_mgdl": mg,
            "rfs_days": (SOURCE["pfs_months"] * 365.25 / 12).round(2),
            "rfs_status": SOURCE["pfs_event"],
            "os_days": (SOURCE["os_months"] * 365.25 / 12).round(2),
            "os_status": SOURCE["os_event"] + 1,
        }
    )
    return r_write_csv(frame, path)


def test_an_r_export_is_proposed_whole(tmp_path):
    """RFS naming, per-endpoint codes (0/1 and R's 1/2), an arm called rx, and the
    covariates with their types and most frequent levels: nothing to check, and it reads."""
    csv_path = r_export(tmp_path / "oak.csv")
    proposal = write_proposal(csv_path, tmp_path / "m.yaml", tmp_path / "s.yaml")
    assert unsure(proposal) == []
    assert proposal.columns["pfs_time"].value == "rfs_days"
    assert "RFS taken as the progression endpoint" in proposal.columns["pfs_time"].why
    mapping = load_mapping(tmp_path / "m.yaml")
    assert mapping.event_codes["pfs"].event == {"1"}
    assert (mapping.event_codes["os"].event, mapping.event_codes["os"].censored) == ({"2"}, {"1"})
    assert (mapping.immunotherapy_arm, mapping.other_arms) == ("Atezolizumab", ("Docetaxel",))
    study = yaml.safe_load((tmp_path / "s.yaml").read_text())
    assert study["reference_arm"] == "Docetaxel"
    assert study["cohort_name"] == "oak" and study["mapping"] == str(tmp_path / "m.yaml")
    sex, ecog = SOURCE["sex"].value_counts(), SOURCE["ecog"].astype(str).value_counts()
    assert study["covariates"] == [
        {"name": "age", "type": "numeric", "label": "Age", "per": 10, "unit": "years"},
        {"name": "sex", "type": "categorical", "reference": sex.idxmax(), "label": "Sex"},
        {"name": "ecog", "type": "categorical", "reference": ecog.idxmax(), "label": "ECOG PS"},
    ]
    assert "Columns not used: '(unnamed column 1)', 'site'" in (tmp_path / "s.yaml").read_text()
    read = read_cohort(csv_path, mapping, study["covariates"])
    kept = SOURCE.drop(index=[5, 17]).reset_index(drop=True)
    assert read.flow["n_excluded"].tolist()[0] == 2
    np.testing.assert_allclose(read.data["mg_mmol_l"], kept["mg_mmol_l"], atol=1e-3)
    np.testing.assert_allclose(read.data["pfs_months"], kept["pfs_months"], atol=1e-3)
    assert read.data["os_event"].tolist() == kept["os_event"].tolist()
    assert read.data["pfs_event"].tolist() == kept["pfs_event"].tolist()


def dated_export(path: Path) -> Path:
    """A European write.csv2 export in latin-1 with dates (day/month/year), accented
    histology, and the arm in a column whose header says nothing ('x3')."""
    days = np.arange(len(SOURCE)) % 400
    start = pd.Series(pd.Timestamp("2019-01-13") + pd.to_timedelta(days, "D"))
    os_end = start + pd.to_timedelta((SOURCE["os_months"] * 365.25 / 12).round(), "D")
    progressed = (SOURCE["pfs_event"] == 1) & (SOURCE["pfs_months"] < SOURCE["os_months"])
    pfs_end = start + pd.to_timedelta((SOURCE["pfs_months"] * 365.25 / 12).round(), "D")
    fmt = "%d/%m/%Y"
    frame = pd.DataFrame(
        {
            "patient": SOURCE["patient_id"],
            "x3": SOURCE["arm"].map({"immunotherapy": "Nivolumab", "chemotherapy": "Docetaxel"}),
            "histologie": SOURCE["histology"].map(
                {"squamous": "épidermoïde", "non-squamous": "non épidermoïde"}
            ),
            "magnesium": SOURCE["mg_mmol_l"],
            "start": start.dt.strftime(fmt),
            "progression": pfs_end.dt.strftime(fmt).where(progressed),
            "death": os_end.dt.strftime(fmt).where(SOURCE["os_event"] == 1),
            "last_contact": os_end.dt.strftime(fmt),
        }
    )
    return r_write_csv(frame, path, csv2=True, encoding="latin-1")


def test_a_latin1_csv2_export_with_dates_and_an_unnamed_arm(tmp_path):
    csv_path = dated_export(tmp_path / "dates.csv")
    proposal = write_proposal(csv_path, tmp_path / "m.yaml", tmp_path / "s.yaml")
    assert proposal.date_format.value == "%d/%m/%Y" and proposal.date_format.sure
    assert proposal.columns["last_followup_date"].value == "last_contact"
    assert proposal.columns["arm"].value == "x3"
    assert "values of 'x3' (Docetaxel, Nivolumab) look like treatment arms" in (
        proposal.columns["arm"].why
    )
    assert unsure(proposal) == ["columns.arm"]
    mapping = load_mapping(tmp_path / "m.yaml")
    assert (mapping.delimiter, mapping.decimal, mapping.encoding) == (";", ",", "cp1252")
    assert mapping.immunotherapy_arm == "Nivolumab"
    study = yaml.safe_load((tmp_path / "s.yaml").read_text(encoding="utf-8"))
    common = (
        "non épidermoïde" if (SOURCE["histology"] == "non-squamous").mean() > 0.5 else "épidermoïde"
    )
    assert study["covariates"] == [
        {"name": "histology", "type": "categorical", "reference": common, "label": "Histology"}
    ]
    read = read_cohort(csv_path, mapping, study["covariates"])
    assert set(read.data["histology"]) == {"épidermoïde", "non épidermoïde"}
    np.testing.assert_allclose(read.data["os_months"], SOURCE["os_months"], atol=0.02)
    assert read.data["os_event"].tolist() == SOURCE["os_event"].tolist()


def test_day_and_month_that_cannot_be_told_apart_are_marked_check(tmp_path):
    csv_path = tmp_path / "dates.csv"
    csv_path.write_text(
        "id,mg,start,death,last_contact\n"
        "a,0.8,01/02/2020,,03/04/2021\n"
        "b,0.7,05/06/2020,07/08/2021,07/08/2021\n"
    )
    proposal = propose(csv_path)
    assert proposal.date_format.value == "%d/%m/%Y" and not proposal.date_format.sure
    assert "day and month cannot be told apart" in proposal.date_format.why
    assert "date_format" in unsure(proposal)


def test_no_arm_found_is_an_explicit_check(tmp_path):
    csv_path = tmp_path / "one.csv"
    SOURCE.drop(columns="arm").to_csv(csv_path, index=False)
    proposal = write_proposal(csv_path, tmp_path / "m.yaml", tmp_path / "s.yaml")
    assert "columns.arm" in unsure(proposal)
    text = (tmp_path / "m.yaml").read_text()
    assert "arm: null  # CHECK: no header or values look like a treatment arm" in text
    assert "reference_arm: null" in (tmp_path / "s.yaml").read_text()


def user_clone(root: Path) -> Path:
    """A directory laid out as a clone of mgsurv (its config a copy, the rest linked)."""
    root.mkdir()
    for name in ("Snakefile", "workflow", "scripts"):
        (root / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "config", root / "config")
    return root


@pytest.mark.workflow
def test_init_then_the_printed_command_unedited_gives_a_report(tmp_path):
    """The whole onboarding: an R export, `mgsurv init`, and the command it prints, run as
    printed from the clone, to a report that answers for the immunotherapy arm."""
    clone = user_clone(tmp_path / "mgsurv")
    (clone / "data").mkdir()
    r_export(clone / "data" / "oak.csv")
    init = subprocess.run(
        [sys.executable, "-m", "mgsurv", "init", "data/oak.csv"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    assert "review especially" not in init.stdout
    (command,) = [line for line in init.stdout.splitlines() if line.startswith("then run: ")]
    run = subprocess.run(
        command.removeprefix("then run: "),
        shell=True,
        cwd=clone,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    html = (clone / "results" / "oak" / "report.html").read_text(encoding="utf-8")
    answer = html[html.index('<section class="headline"') : html.index("<nav")]
    assert "Immunotherapy (Atezolizumab)" in answer and "Docetaxel" in answer
    assert "Times were recorded in days and converted to months" in html


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the file is empty"),
        ("id,mg\n", "the file has a header but no patient rows"),
    ],
)
def test_files_init_cannot_use_are_named_as_the_workflow_names_them(tmp_path, text, problem):
    path = tmp_path / "cohort.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=problem):
        propose(path)


def test_init_reads_what_the_workflow_reads(tmp_path):
    """A header repeated three times, a trailing empty field, a cp1252 byte far into the
    file: named as the reader names them, no traceback, the encoding of the whole file;
    'agent' is not age, 'ldh_baseline' not prior lines; no numeric Mg is a CHECK."""
    rows = [f"P{i},n/a,,Nivolumab,1,{i % 7 * 10},12,1,13,0," for i in range(4000)]
    rows[-1] = rows[-1].replace("n/a,,", "n/a,é,")
    header = "id,mg,note,agent,note,ldh_baseline,pfs_days,pfs_event,os_days,os_event,note"
    path = tmp_path / "cohort.csv"
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode("latin-1"))
    proposal = propose(path)
    assert proposal.csv["encoding"].value == "cp1252"
    assert [c.name for c in proposal.covariates] == []
    assert set(proposal.unused) >= {"note", "note (2)", "note (3)", "agent", "ldh_baseline"}
    assert not proposal.units["mg"].sure and "no serum Mg value is a number" in (
        proposal.units["mg"].why
    )
