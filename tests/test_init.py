"""``mgsurv init``: the proposed mapping reads a user's CSV correctly, and says what to check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mgsurv.cohort.mapping import load_mapping
from mgsurv.cohort.mapping_proposal import guess_arms, propose, unsure, write_proposal
from mgsurv.cohort.reader import read_cohort
from mgsurv.errors import InputError
from support import AGE_AND_SEX, SYNTHETIC_400

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
    proposal = write_proposal(csv, tmp_path / "mapping.yaml")
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
    assert proposal.events["event"].value == ["2"]
    flagged = unsure(proposal)
    assert "event_codes.event" in flagged and "units.mg" in flagged
    text = (write_proposal(csv, tmp_path / "m.yaml"), (tmp_path / "m.yaml").read_text())[1]
    assert "CHECK" in text
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
    write_proposal(csv, tmp_path / "m.yaml")
    assert load_mapping(tmp_path / "m.yaml").uses_dates


def test_init_never_overwrites_and_names_excel_files(tmp_path):
    csv = hospital_export(tmp_path / "hospital.csv")
    (tmp_path / "mapping.yaml").write_text("mine\n")
    with pytest.raises(InputError, match="exists already"):
        write_proposal(csv, tmp_path / "mapping.yaml")
    assert (tmp_path / "mapping.yaml").read_text() == "mine\n"
    workbook = tmp_path / "book.csv"
    workbook.write_bytes(b"PK\x03\x04" + bytes(64))
    with pytest.raises(InputError, match="Excel"):
        propose(workbook)


def test_command_line(tmp_path):
    csv = hospital_export(tmp_path / "hospital.csv")
    out = tmp_path / "proposed.yaml"
    run = subprocess.run(
        [sys.executable, "-m", "mgsurv", "init", str(csv), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert f"mapping={out}" in run.stdout and out.exists()
    again = subprocess.run(
        [sys.executable, "-m", "mgsurv", "init", str(csv), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
