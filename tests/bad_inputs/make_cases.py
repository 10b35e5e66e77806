"""Write the bad-input battery: one small file per case, from one valid base cohort.

Run from the repository root (``.venv/bin/python tests/bad_inputs/make_cases.py``); it
rewrites ``csv/``, ``mappings/`` and ``configs/`` next to this file. What each case must
produce (error words, column, rows, fix) is in ``cases.yaml``, read by
``tests/test_bad_inputs.py``. Each case changes one thing in the base cohort below (lines
2-13 are patients P01-P12; the header is line 1), so the expected rows are easy to check.
Binary cases are built here too: a minimal but genuine .xlsx workbook (zip of SpreadsheetML
parts, as Excel writes), the first bytes of an .xls (OLE2) file, gzip, UTF-16 and latin-1.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zipfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

HEADER = "patient_id,arm,age,sex,mg_mmol_l,pfs_months,pfs_event,os_months,os_event"
BASE_ROWS = [
    "P01,immunotherapy,61,male,0.65,2.5,1,10.2,1",
    "P02,immunotherapy,70,female,0.85,4.0,0,4.0,0",
    "P03,chemotherapy,55,female,0.72,3.1,1,8.4,1",
    "P04,chemotherapy,66,male,0.90,5.6,1,12.0,0",
    "P05,immunotherapy,58,male,0.78,1.5,1,6.3,1",
    "P06,chemotherapy,49,female,0.68,2.2,1,5.1,1",
    "P07,immunotherapy,73,male,0.81,7.9,0,15.5,0",
    "P08,chemotherapy,64,female,0.95,3.3,1,9.8,1",
    "P09,immunotherapy,52,female,0.74,6.1,1,11.0,1",
    "P10,chemotherapy,68,male,0.61,1.9,1,3.7,1",
    "P11,immunotherapy,57,female,0.88,9.4,0,14.1,0",
    "P12,chemotherapy,60,male,0.79,2.8,1,7.6,1",
]
DATE_HEADER = "patient_id,arm,age,sex,mg,start,progression,death,last_contact"
DATE_ROWS = [
    "D01,immunotherapy,61,male,0.65,2020-01-15,2020-04-01,2020-11-20,",
    "D02,immunotherapy,70,female,0.85,2020-02-03,,,2021-06-30",
    "D03,chemotherapy,55,female,0.72,2020-03-10,2020-06-12,2021-01-05,",
    "D04,chemotherapy,66,male,0.90,2020-04-22,2020-10-01,,2021-09-15",
    "D05,immunotherapy,58,male,0.78,2020-05-05,,2020-12-24,",
    "D06,chemotherapy,49,female,0.68,2020-06-17,2020-08-30,2021-02-11,",
    "D07,immunotherapy,73,male,0.81,2020-07-01,,,2022-01-10",
    "D08,chemotherapy,64,female,0.95,2020-08-12,2020-11-20,2021-07-07,",
]
COLUMNS = HEADER.split(",")


def cohort(rows=BASE_ROWS, header=HEADER, sep=",", newline="\n") -> str:
    return newline.join([header, *rows]) + newline


def edit(line: int, column: str, value: str, rows=BASE_ROWS, header=HEADER) -> list[str]:
    """The rows with one cell changed (``line`` as in the file: the first patient is 2)."""
    names = header.split(",")
    out = list(rows)
    fields = out[line - 2].split(",")
    fields[names.index(column)] = value
    out[line - 2] = ",".join(fields)
    return out


def column_values(column: str, values: list[str], rows=BASE_ROWS) -> list[str]:
    out = list(rows)
    for i, value in enumerate(values):
        out = edit(i + 2, column, value, out)
    return out


# The base cohort with OS status in R's Surv() convention (1 = censored, 2 = event).
R_CODED_OS = column_values("os_event", ["2", "1", "2", "1", "2", "2", "1", "2", "2", "2", "1", "2"])


def xlsx() -> bytes:
    """A minimal SpreadsheetML workbook with the base cohort's header in row 1."""
    cells = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for i, name in enumerate(COLUMNS)
    )
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://'
        'schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
        'Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+'
        'xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://'
        'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://'
        'schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="cohort" '
        'sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships '
        'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
        'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns='
        f'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
        f"{cells}</row></sheetData></worksheet>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


def xls() -> bytes:
    """The OLE2 compound-file header that every .xls (Excel 97-2003) file starts with."""
    return (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + b"\x3e\x00\x03\x00\xfe\xff"
        + (b"\x00" * 482)
    )


european = [
    ";".join(
        f.replace(".", ",") if f.replace(".", "").isdigit() and "." in f else f
        for f in row.split(",")
    )
    for row in BASE_ROWS
]
latin_rows = [r.replace("immunotherapy", "Immuntherapie-ä") for r in BASE_ROWS]

CSV: dict[str, bytes | str] = {
    # valid files, used with the mapping and config cases
    "base": cohort(),
    "base_dates": cohort(DATE_ROWS, DATE_HEADER),
    # the file
    "empty_file": "",
    "blank_lines_only": "\n\n   \n",
    "header_only": HEADER + "\n",
    "semicolon_not_configured": cohort(
        [r.replace(",", ";") for r in BASE_ROWS], HEADER.replace(",", ";")
    ),
    "tab_not_configured": cohort(
        [r.replace(",", "\t") for r in BASE_ROWS], HEADER.replace(",", "\t")
    ),
    "decimal_comma_not_configured": cohort(european, HEADER.replace(",", ";")),
    "decimal_comma_unquoted": cohort([r.replace(";", ",") for r in european]),
    "ragged_row": cohort([*BASE_ROWS[:3], BASE_ROWS[3].replace("66,", ""), *BASE_ROWS[4:]]),
    "unclosed_quote": cohort(edit(9, "sex", '"female', BASE_ROWS)),
    "excel_sep_line_mismatch": "sep=;\n" + cohort(),
    "utf8_bom_with_latin1": codecs.BOM_UTF8 + cohort().encode(),
    "latin1_not_configured": cohort(latin_rows).encode("latin-1"),
    "utf16_not_configured": codecs.BOM_UTF16_LE + cohort().replace(",", "\t").encode("utf-16-le"),
    "excel_xlsx_named_csv": xlsx(),
    "excel_xls_named_csv": xls(),
    "gzip_named_csv": gzip.compress(cohort().encode(), mtime=0),
    "binary_nul_bytes": cohort().encode()[:200] + b"\x00\x00\x01\x02" + cohort().encode()[200:],
    "duplicated_column_names": cohort([f"{r},0.70" for r in BASE_ROWS], HEADER + ",mg_mmol_l"),
    "missing_required_column": cohort(header=HEADER.replace("os_months", "os_time")),
    "column_name_case_differs": cohort(header=HEADER.replace("mg_mmol_l", "MG_mmol_L")),
    "missing_covariate_column": cohort(
        [",".join(f for i, f in enumerate(r.split(",")) if i != 2) for r in BASE_ROWS],
        HEADER.replace("age,", ""),
    ),
    # patient IDs
    "duplicated_patient_ids": cohort(edit(7, "patient_id", "P03")),
    "empty_patient_id": cohort(edit(4, "patient_id", "")),
    # times
    "time_non_numeric": cohort(edit(6, "pfs_months", "about 2")),
    "time_negative": cohort(edit(8, "os_months", "-5.1")),
    "time_zero": cohort(edit(3, "pfs_months", "0")),
    "time_infinite": cohort(edit(10, "os_months", "inf")),
    "times_in_days_labelled_months": cohort(
        column_values(
            "os_months",
            ["310", "122", "256", "1365", "192", "155", "1472", "298", "335", "113", "1429", "231"],
        )
    ),
    "all_times_missing": cohort(column_values("pfs_months", [""] * 12)),
    # events
    "event_code_unknown": cohort(edit(11, "os_event", "9")),
    "event_codes_r_convention": cohort(R_CODED_OS),
    "event_code_unknown_r_convention": cohort(edit(11, "os_event", "9", R_CODED_OS)),
    # serum Mg
    "mg_non_numeric": cohort(edit(7, "mg_mmol_l", "low")),
    "mg_negative": cohort(edit(12, "mg_mmol_l", "-0.7")),
    "mg_zero": cohort(edit(2, "mg_mmol_l", "0")),
    "mg_implausible_high": cohort(edit(9, "mg_mmol_l", "7.5")),
    "mg_in_mg_dl_labelled_mmol_l": cohort(
        column_values(
            "mg_mmol_l",
            [
                "1.58",
                "2.07",
                "1.75",
                "2.19",
                "1.90",
                "1.65",
                "1.97",
                "2.31",
                "1.80",
                "1.48",
                "2.14",
                "1.92",
            ],
        )
    ),
    "mg_infinite": cohort(edit(5, "mg_mmol_l", "-inf")),
    # consistency of PFS and OS
    "pfs_longer_than_os": cohort(edit(4, "pfs_months", "9.5")),
    "pfs_event_after_death": cohort(edit(2, "pfs_months", "10.9")),
    # covariates
    "covariate_non_numeric": cohort(edit(13, "age", "sixty")),
    "covariate_reference_level_absent": cohort(
        [r.replace(",male,", ",M,").replace(",female,", ",F,") for r in BASE_ROWS]
    ),
    # cohort size
    "single_patient": cohort(BASE_ROWS[:1]),
    "all_patients_missing_mg": cohort(column_values("mg_mmol_l", ["NA"] * 12)),
    "one_patient_left_after_exclusions": cohort(column_values("mg_mmol_l", ["0.65"] + [""] * 11)),
    # dates (with mappings/dates.yaml)
    "date_unparseable": cohort(edit(4, "death", "5 Jan 2021", DATE_ROWS, DATE_HEADER), DATE_HEADER),
    "date_excel_serial_numbers": cohort(
        edit(
            3,
            "last_contact",
            "44377",
            edit(8, "last_contact", "44571", DATE_ROWS, DATE_HEADER),
            DATE_HEADER,
        ),
        DATE_HEADER,
    ),
    "date_in_future": cohort(
        edit(5, "last_contact", "2099-09-15", DATE_ROWS, DATE_HEADER), DATE_HEADER
    ),
    "date_before_1980": cohort(edit(6, "start", "1900-01-01", DATE_ROWS, DATE_HEADER), DATE_HEADER),
    "event_date_before_start": cohort(
        edit(7, "death", "2020-05-01", DATE_ROWS, DATE_HEADER), DATE_HEADER
    ),
    "progression_after_death": cohort(
        edit(2, "progression", "2020-12-01", DATE_ROWS, DATE_HEADER), DATE_HEADER
    ),
    "progression_after_last_followup": cohort(
        edit(5, "progression", "2021-10-01", DATE_ROWS, DATE_HEADER), DATE_HEADER
    ),
    # accepted when configured (or always)
    "ok_semicolon_decimal_comma": cohort(european, HEADER.replace(",", ";")),
    "ok_tab_delimited": cohort(
        [r.replace(",", "\t") for r in BASE_ROWS], HEADER.replace(",", "\t")
    ),
    "ok_utf8_bom": codecs.BOM_UTF8 + cohort().encode(),
    "ok_latin1_configured": cohort(latin_rows).encode("latin-1"),
    "ok_utf16_configured": codecs.BOM_UTF16_LE + cohort().replace(",", "\t").encode("utf-16-le"),
    "ok_excel_sep_line": "sep=,\n" + cohort(),
    "ok_event_codes_as_decimals": cohort(
        [r[: r.rindex(",")] + "," + r[-1] + ".0" for r in BASE_ROWS]
    ),
    "ok_crlf_blank_lines_quotes": (
        HEADER
        + "\r\n"
        + "\r\n".join(BASE_ROWS[:5])
        + "\r\n\r\n,,,,,,,,\r\n"
        + '"P06","chemotherapy",49,"female",0.68,2.2,1,5.1,1\r\n'
        + "\r\n".join(BASE_ROWS[6:])
        + "\r\n"
    ),
    "ok_missing_values_excluded": cohort(edit(6, "os_event", "", edit(9, "mg_mmol_l", "NA"))),
    "ok_unmapped_duplicate_columns": cohort(
        [f"{r},x,y" for r in BASE_ROWS], HEADER + ",comment,comment"
    ),
    "line_numbers_after_blank_lines": "\n".join(
        [HEADER, *BASE_ROWS[:3], "", "", *edit(6, "mg_mmol_l", "abc")[3:]]
    )
    + "\n",
}

BASE_MAPPING = {
    "csv": {"delimiter": ",", "decimal": ".", "encoding": "utf-8"},
    "columns": {
        "patient_id": "patient_id",
        "mg": "mg_mmol_l",
        "arm": "arm",
        "pfs_time": "pfs_months",
        "pfs_event": "pfs_event",
        "os_time": "os_months",
        "os_event": "os_event",
    },
    "covariate_columns": {"age": "age", "sex": "sex"},
    "units": {"mg": "mmol/L", "time": "months"},
    "event_codes": {"event": ["1"], "censored": ["0"]},
}


def mapping(**changes) -> dict:
    out = yaml.safe_load(yaml.safe_dump(BASE_MAPPING))
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            out[section][field] = value
        else:
            out[section] = value
    return out


DATES = {
    "columns": {
        "patient_id": "patient_id",
        "mg": "mg",
        "arm": "arm",
        "start_date": "start",
        "progression_date": "progression",
        "death_date": "death",
        "last_followup_date": "last_contact",
    },
}
MAPPINGS: dict[str, dict | str] = {
    "base": mapping(),
    "semicolon": mapping(csv={"delimiter": ";"}),
    "semicolon_decimal_comma": mapping(csv={"delimiter": ";", "decimal": ","}),
    "tab": mapping(csv={"delimiter": "\t"}),
    "latin1": mapping(csv={"encoding": "latin-1"}),
    "utf16": mapping(csv={"delimiter": "\t", "encoding": "utf-16"}),
    "mg_dl": mapping(units={"mg": "mg/dL", "time": "months"}),
    "dates": mapping(**DATES),
    "event_codes_decimal": mapping(event_codes={"event": [1], "censored": [0]}),
    # PFS 0/1 (shared codes) and OS in R's 1/2 convention (its own codes)
    "event_codes_per_endpoint": mapping(
        event_codes={"event": ["1"], "censored": ["0"], "os": {"event": [2], "censored": [1]}}
    ),
    "event_codes_for_pfs_only": mapping(event_codes={"pfs": {"event": ["1"], "censored": ["0"]}}),
    "event_codes_in_both_for_os": mapping(
        event_codes={
            "event": ["1"],
            "censored": ["0"],
            "os": {"event": ["1", "2"], "censored": ["1"]},
        }
    ),
    # mapping errors
    "unknown_key": mapping(colums={}),
    "unit_not_listed": mapping(units={"mg": "g/L"}),
    "unknown_encoding": mapping(csv={"encoding": "utf-9"}),
    "date_format_without_day": {**mapping(**DATES), "date_format": "%Y-%m"},
    "codes_in_both": mapping(event_codes={"event": ["1", "yes"], "censored": ["0", "1.0"]}),
    "times_and_dates": mapping(columns={**BASE_MAPPING["columns"], "start_date": "start"}),
    "no_event_columns": mapping(columns__pfs_event=None),
    "covariate_not_mapped": mapping(covariate_columns={"age": "age"}),
    "arms_declared": mapping(arms={"immunotherapy": ["immunotherapy"], "other": ["chemotherapy"]}),
    "arm_not_listed": mapping(arms={"immunotherapy": ["immunotherapy"]}),
    "immunotherapy_arm_misspelt": mapping(
        arms={"immunotherapy": ["Immunotherapy"], "other": ["chemotherapy", "immunotherapy"]}
    ),
    "arm_listed_twice": mapping(
        arms={"immunotherapy": ["immunotherapy"], "other": ["immunotherapy", "chemotherapy"]}
    ),
    "arms_without_arm_column": mapping(
        columns__arm=None, arms={"immunotherapy": ["immunotherapy"], "other": ["chemotherapy"]}
    ),
    "two_immunotherapy_arms": mapping(
        arms={"immunotherapy": ["immunotherapy", "chemotherapy"], "other": []}
    ),
    "unquoted_yes": "columns:\n  patient_id: patient_id\n  mg: mg_mmol_l\n  pfs_time: pfs_months\n"
    "  pfs_event: pfs_event\n  os_time: os_months\n  os_event: os_event\nevent_codes:\n"
    "  event: [yes]\n  censored: [no]\n",
    "not_yaml": "columns: {patient_id: patient_id, mg: [\n",
    "empty": "",
}

CONFIGS = {
    "unknown_key": {"mg_treshold_mmol_l": 0.75},
    "wrong_type": {"mg_threshold_mmol_l": "low"},
    "threshold_above_range": {"mg_threshold_mmol_l": 3.5},
    "threshold_below_range": {"mg_threshold_mmol_l": 0.1},
    "landmarks_wrong_type": {"landmark_months": "6, 12"},
    "covariate_without_type": {"covariates": [{"name": "age"}]},
    "missing_cohort_path": {"cohort": "no/such/cohort.csv"},
    "unknown_stratum": {"strata": ["arm", "site"]},
    "reserved_covariate_name": {"covariates": [{"name": "arm", "type": "categorical"}]},
    "per_without_unit": {"covariates": [{"name": "age", "type": "numeric", "per": 10}]},
    "reference_arm_absent": {
        "reference_arm": "Chemotherapy",
        "covariates": [{"name": "age", "type": "numeric"}],
    },
    "covariate_level_not_listed": {
        "covariates": [
            {"name": "sex", "type": "categorical", "reference": "male", "levels": ["male", "f"]}
        ]
    },
    "iptw_trim_below_half": {"iptw": {"trim_percentile": 5}},
    "one_imputation": {"multiple_imputation": {"m": 1, "iterations": 5, "seed": 1}},
    "cluster_group_negative": {"cluster_group_below_mb": -1},
}


def write(path: Path, content: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)


def main() -> None:
    for name, content in CSV.items():
        write(HERE / "csv" / f"{name}.csv", content)
    for name, content in MAPPINGS.items():
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        write(HERE / "mappings" / f"{name}.yaml", text)
    for name, content in CONFIGS.items():
        write(HERE / "configs" / f"{name}.yaml", yaml.safe_dump(content, sort_keys=False))


if __name__ == "__main__":
    main()
