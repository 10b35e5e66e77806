"""Reading a cohort CSV through a mapping: conversions, exclusions and named errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mgsurv.cohort.mapping import load_mapping, normalise_code
from mgsurv.cohort.prepare import prepare
from mgsurv.cohort.reader import read_cohort
from mgsurv.cohort.serum_mg import MMOL_L_PER_UNIT
from mgsurv.cohort.synthetic_arms import synthetic_reference_arm
from mgsurv.errors import InputError
from mgsurv.settings import PrepareSettings
from mgsurv.validation.replicates import StudySettings
from support import AGE_AND_SEX, MAPPING_FILE, SYNTHETIC_400, shipped_config


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def mapping_file(tmp_path: Path, **changes) -> Path:
    """The shipped default mapping with some top-level or columns.* keys changed."""
    mapping = yaml.safe_load(MAPPING_FILE.read_text())
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            mapping[section][field] = value
        else:
            mapping[section] = value
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return path


GOOD = """
    patient_id,arm,age,sex,mg_mmol_l,pfs_months,pfs_event,os_months,os_event
    P1,immunotherapy,60,male,0.65,2.5,1,10.0,1
    P2,immunotherapy,70,female,0.85,4.0,0,4.0,0
    P3,chemotherapy,55,female,,3.0,1,8.0,1
    P4,chemotherapy,65,male,0.90,,1,8.0,1
    P5,chemotherapy,,male,0.80,1.5,1,6.0,0
"""


def test_default_mapping_reads_canonical_columns(tmp_path):
    mapping = load_mapping(mapping_file(tmp_path))
    cohort = read_cohort(write(tmp_path, "c.csv", GOOD), mapping, AGE_AND_SEX)
    assert list(cohort.data["patient_id"]) == ["P1", "P2", "P5"]
    assert cohort.data["mg_mmol_l"].tolist() == [0.65, 0.85, 0.80]
    assert cohort.data["pfs_event"].tolist() == [1, 0, 1]
    assert np.isnan(cohort.data.loc[2, "age"])  # a missing covariate is kept, not excluded


def test_flow_counts_each_exclusion_with_its_reason(tmp_path):
    cohort = read_cohort(
        write(tmp_path, "c.csv", GOOD), load_mapping(mapping_file(tmp_path)), AGE_AND_SEX
    )
    flow = cohort.flow.set_index("reason")
    assert flow.loc["missing serum Mg", "n_before"] == 5
    assert flow.loc["missing serum Mg", "n_excluded"] == 1
    assert flow.loc["missing PFS time or status", "n_excluded"] == 1
    assert flow["n_after"].iloc[-1] == 3
    assert (flow["n_before"] - flow["n_excluded"] == flow["n_after"]).all()
    assert cohort.excluded.set_index("patient_id").loc["P3", "line"] == 4  # header = line 1


def test_other_names_mg_dl_and_days_are_converted(tmp_path):
    csv = write(
        tmp_path,
        "other.csv",
        """
        ID;Treatment;Age;Gender;Magnesium;PFS_d;Progressed;OS_d;Status
        A;ICI;61;male;1,70;30,4375;yes;365,25;dead
        B;ICI;59;female;2,43;91,3125;no;730,5;alive
    """,
    )
    mapping = load_mapping(
        mapping_file(
            tmp_path,
            csv={"delimiter": ";", "decimal": ","},
            columns={
                "patient_id": "ID",
                "arm": "Treatment",
                "mg": "Magnesium",
                "pfs_time": "PFS_d",
                "pfs_event": "Progressed",
                "os_time": "OS_d",
                "os_event": "Status",
            },
            covariate_columns={"age": "Age", "sex": "Gender"},
            units={"mg": "mg/dL", "time": "days"},
            arms={"immunotherapy": ["ICI"]},
        )
    )
    data = read_cohort(csv, mapping, AGE_AND_SEX).data
    assert data["mg_mmol_l"].tolist() == pytest.approx([1.70 / 2.4305, 2.43 / 2.4305])
    assert data["pfs_months"].tolist() == pytest.approx([1.0, 3.0])
    assert data["os_months"].tolist() == pytest.approx([12.0, 24.0])
    assert data["os_event"].tolist() == [1, 0]
    assert data["pfs_event"].tolist() == [1, 0]


def test_survival_derived_from_dates(tmp_path):
    csv = write(
        tmp_path,
        "dates.csv",
        """
        patient_id,arm,mg,start,prog,death,last
        A,x,0.8,2020-01-01,2020-03-01,2020-07-01,
        B,x,0.8,2020-01-01,,,2021-01-01
        C,x,0.8,2020-01-01,,2020-02-01,
    """,
    )
    mapping = load_mapping(
        mapping_file(
            tmp_path,
            columns={
                "patient_id": "patient_id",
                "arm": "arm",
                "mg": "mg",
                "pfs_time": None,
                "pfs_event": None,
                "os_time": None,
                "os_event": None,
                "start_date": "start",
                "progression_date": "prog",
                "death_date": "death",
                "last_followup_date": "last",
            },
            covariate_columns={},
            arms={"immunotherapy": ["x"]},
        )
    )
    cohort = read_cohort(csv, mapping, [])
    assert cohort.data_cutoff == "2021-01-01"
    data = cohort.data.set_index("patient_id")
    days = 365.25 / 12
    assert data.loc["A", "pfs_months"] == pytest.approx(60 / days)
    assert data.loc["A", "os_months"] == pytest.approx(182 / days)
    assert data.loc["B", ["pfs_event", "os_event"]].tolist() == [0, 0]
    assert data.loc["B", "os_months"] == pytest.approx(366 / days)
    assert data.loc["C", ["pfs_event", "os_event"]].tolist() == [1, 1]  # death ends PFS
    assert data.loc["C", "pfs_months"] == data.loc["C", "os_months"]


@pytest.mark.parametrize(
    ("replace", "by", "column", "line", "words"),
    [
        ("0.85", "abc", "mg_mmol_l", 3, "not a number"),
        ("2.5,1,10.0", "-2.5,1,10.0", "pfs_months", 2, "must be positive"),
        ("4.0,0,4.0,0", "4.0,0,4.0,maybe", "os_event", 3, "neither an event nor a censoring"),
        ("0.65", "7.5", "mg_mmol_l", 2, "plausible"),
        ("2.5,1,10.0", "12.5,1,10.0", "pfs_months", 2, "PFS is longer than OS"),
        ("P2,", "P1,", "patient_id", 2, "repeat"),
    ],
)
def test_bad_values_are_named_with_column_and_line(tmp_path, replace, by, column, line, words):
    csv = write(tmp_path, "bad.csv", GOOD.replace(replace, by, 1))
    with pytest.raises(InputError) as caught:
        read_cohort(csv, load_mapping(mapping_file(tmp_path)), AGE_AND_SEX)
    err = caught.value
    assert words in err.problem
    assert err.column == column
    assert line in err.rows
    assert err.file == str(csv)
    assert "fix:" in err.message()


def test_missing_column_lists_available_columns(tmp_path):
    csv = write(tmp_path, "c.csv", GOOD.replace("mg_mmol_l", "magnesium"))
    with pytest.raises(InputError) as caught:
        read_cohort(csv, load_mapping(mapping_file(tmp_path)), AGE_AND_SEX)
    assert caught.value.column == "mg_mmol_l"
    assert "magnesium" in caught.value.fix and "mapping.yaml" in caught.value.fix


def test_mg_dl_values_under_mmol_l_are_caught(tmp_path):
    csv = write(
        tmp_path,
        "c.csv",
        GOOD.replace("0.65", "1.6")
        .replace("0.85", "2.0")
        .replace("0.90", "1.9")
        .replace("0.80", "2.1"),
    )
    with pytest.raises(InputError, match="looks like mg/dL"):
        read_cohort(csv, load_mapping(mapping_file(tmp_path)), AGE_AND_SEX)


def test_decimal_comma_without_setting_is_named(tmp_path):
    csv = write(
        tmp_path,
        "c.csv",
        GOOD.replace("P1,immunotherapy,60,male,0.65", 'P1,immunotherapy,60,male,"0,65"'),
    )
    with pytest.raises(InputError) as caught:
        read_cohort(csv, load_mapping(mapping_file(tmp_path)), AGE_AND_SEX)
    assert "csv.decimal" in caught.value.fix


def test_r_style_event_codes_via_mapping(tmp_path):
    csv = write(
        tmp_path,
        "c.csv",
        GOOD.replace(",1\n", ",2\n")
        .replace(",0\n", ",1\n")
        .replace(",1,", ",2,")
        .replace(",0,", ",1,"),
    )
    mapping = load_mapping(mapping_file(tmp_path, event_codes={"event": [2], "censored": [1]}))
    data = read_cohort(csv, mapping, AGE_AND_SEX).data
    assert data["os_event"].tolist() == [1, 0, 0]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"units": {"mg": "g/L"}}, "units/mg"),
        ({"columns__pfs_time": None}, "no column mapped for pfs_time"),
        ({"event_codes": {"event": ["1"], "censored": ["1"]}}, "both event and censored"),
        ({"colums": {}}, "(top level)"),
    ],
)
def test_invalid_mapping_names_the_key(tmp_path, changes, words):
    with pytest.raises(InputError) as caught:
        load_mapping(mapping_file(tmp_path, **changes))
    assert words in caught.value.message()
    assert caught.value.file.endswith("mapping.yaml")


def test_excel_file_named_csv_is_recognised(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(InputError, match="Excel"):
        read_cohort(path, load_mapping(mapping_file(tmp_path)), AGE_AND_SEX)


def test_unquoted_decimal_commas_are_an_error_not_a_silent_shift(tmp_path):
    """pandas would read such rows one column to the right (the ID as the index)."""
    csv = write(tmp_path, "c.csv", GOOD.replace("0.65,2.5,1,10.0", "0,65,2,5,1,10,0"))
    with pytest.raises(InputError) as caught:
        read_cohort(csv, load_mapping(mapping_file(tmp_path)), AGE_AND_SEX)
    assert caught.value.rows == [2]
    assert "decimal commas" in caught.value.fix


def test_line_numbers_count_quoted_line_breaks_and_blank_lines(tmp_path):
    text = textwrap.dedent(GOOD).lstrip()
    text = text.replace("P2,immunotherapy", '"P2\nsecond line",immunotherapy')
    text = text.replace("P4,", "\nP4,").replace("0.90", "x.90")
    csv = tmp_path / "c.csv"
    csv.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_cohort(csv, load_mapping(mapping_file(tmp_path)), AGE_AND_SEX)
    # header 1, P1 2, P2 3-4, P3 5, blank 6, P4 7
    assert caught.value.rows == [7]
    assert text.splitlines()[6].startswith("P4,")


@pytest.mark.parametrize(
    ("code", "normalised"),
    [("1", "1"), ("1.0", "1"), ("1,00", "1"), ("01", "1"), (" Dead ", "dead"), (2.0, "2")],
)
def test_event_codes_are_compared_as_spreadsheets_write_them(code, normalised):
    assert normalise_code(code) == normalised


def arms_of_prepared(tmp_path, csv: Path, arms: dict | None, origin: str = "my.csv", **columns):
    """arms.tsv of a cohort prepared with the shipped mapping plus ``arms`` and columns."""
    mapping = yaml.safe_load(MAPPING_FILE.read_text())
    mapping["columns"].update(columns)
    mapping.pop("arms")
    if arms is not None:
        mapping["arms"] = arms
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping))
    settings = PrepareSettings(reference_arm=None)  # the renamed arms have no "chemotherapy"
    return prepare(str(csv), str(path), settings, origin).arms


def test_the_arms_table_says_which_arm_is_immunotherapy(tmp_path):
    csv = tmp_path / "oak.csv"
    data = pd.read_csv(SYNTHETIC_400)
    data.assign(arm=data["arm"].map(RENAMED)).to_csv(csv, index=False)
    declared = arms_of_prepared(
        tmp_path, csv, {"immunotherapy": ["Atezolizumab"], "other": ["Docetaxel"]}
    )
    counts = data["arm"].map(RENAMED).value_counts()
    assert declared.to_dict("list") == {
        "arm": ["Atezolizumab", "Docetaxel"],
        "treatment": ["immunotherapy", "other"],
        "n": [counts["Atezolizumab"], counts["Docetaxel"]],
    }
    undeclared = arms_of_prepared(tmp_path, csv, None)
    assert set(undeclared["treatment"]) == {"not declared"}
    single = arms_of_prepared(tmp_path, csv, None, arm=None)
    assert single.to_dict("list") == {
        "arm": ["all patients"],
        "treatment": ["immunotherapy"],
        "n": [len(data)],
    }


def test_the_synthetic_cohort_declares_its_own_arms(tmp_path):
    """Whatever the mapping says, the generated cohort's immunotherapy arm is its own."""
    wrong = {"immunotherapy": ["chemotherapy"], "other": ["immunotherapy"]}
    arms = arms_of_prepared(tmp_path, SYNTHETIC_400, wrong, origin="synthetic")
    assert dict(zip(arms["arm"], arms["treatment"], strict=True)) == {
        "chemotherapy": "other",
        "immunotherapy": "immunotherapy",
    }


RENAMED = {"immunotherapy": "Atezolizumab", "chemotherapy": "Docetaxel"}


def test_a_declared_immunotherapy_arm_emptied_by_the_exclusions_stops_the_run(tmp_path):
    """Were the chemotherapy arm left alone, it would be reported as the immunotherapy
    arm (a single-arm cohort): the run stops instead, naming the arm and the fix."""
    data = pd.read_csv(SYNTHETIC_400)
    data.loc[data["arm"] == "immunotherapy", "mg_mmol_l"] = None
    csv = tmp_path / "no_io.csv"
    data.to_csv(csv, index=False)
    arms = {"immunotherapy": ["immunotherapy"], "other": ["chemotherapy"]}
    with pytest.raises(InputError) as caught:
        arms_of_prepared(tmp_path, csv, arms)
    assert "no patient of the immunotherapy arm 'immunotherapy' is left" in caught.value.problem
    assert caught.value.column == "arm" and "excluded.tsv" in caught.value.fix


def test_a_single_arm_cohort_has_no_missing_arm_step_in_its_flow(tmp_path):
    data = pd.read_csv(SYNTHETIC_400).drop(columns="arm")
    csv = tmp_path / "single.csv"
    data.to_csv(csv, index=False)
    mapping = yaml.safe_load(MAPPING_FILE.read_text())
    mapping["columns"]["arm"] = None
    del mapping["arms"]
    (tmp_path / "single.yaml").write_text(yaml.safe_dump(mapping))
    single = read_cohort(csv, load_mapping(tmp_path / "single.yaml"), [])
    assert "missing treatment arm" not in set(single.flow["reason"])
    assert list(single.flow["step"]) == [1, 2, 3]
    two_arms = read_cohort(SYNTHETIC_400, load_mapping(MAPPING_FILE), [])
    assert "missing treatment arm" in set(two_arms.flow["reason"])


def test_mg_dl_is_converted_with_the_exact_factor():
    """1 mmol/L = 24.305 mg/L (Mg 24.305 g/mol) = 2.4305 mg/dL."""
    assert MMOL_L_PER_UNIT["mg/dL"] == pytest.approx(1 / 2.4305, rel=1e-15)
    assert MMOL_L_PER_UNIT["mEq/L"] == 0.5


def test_a_generated_cohort_keeps_its_generator_s_reference_arm():
    """A study config naming its cohort's control arm (Docetaxel) must not break the
    validation replicates or a synthetic cohort of a sheet: those keep chemotherapy,
    unless the configured arm is one of the generator's own."""
    config = shipped_config() | {"reference_arm": "Docetaxel", "seed": 1}
    study = StudySettings.from_config(config, str(MAPPING_FILE))
    assert study.prepare.reference_arm == study.analysis.reference_arm == "chemotherapy"
    assert synthetic_reference_arm("immunotherapy") == "immunotherapy"
    assert synthetic_reference_arm(None) is None
    prepared = prepare(str(SYNTHETIC_400), str(MAPPING_FILE), study.prepare, "synthetic")
    assert set(prepared.arms["arm"]) == {"chemotherapy", "immunotherapy"}
