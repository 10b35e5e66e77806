"""Property-based fuzzing of the cohort reader (hypothesis): whatever the file holds, reading
it ends in a clean result or a named :class:`InputError` (with line numbers that exist in
the file), never another exception.

Generated inputs: CSV text with random headers (the mapped names, shuffled, dropped,
repeated, or junk), ragged rows, cells that are missing tokens, numbers (negative, huge,
inf, nan, decimal commas), dates, event codes or arbitrary unicode (quotes, delimiters and
line breaks included), in any of three delimiters, with or without a byte-order mark or an
Excel ``sep=`` line, in UTF-8, latin-1, cp1252 or UTF-16; raw bytes; and near-valid
cohorts with one cell corrupted, read through the whole prepare step. The runs are
derandomized (the same examples every time, no example database written); set
``MGSURV_FUZZ_EXAMPLES`` for a longer, random search.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import tempfile
import warnings
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mgsurv.cohort.mapping import load_mapping
from mgsurv.cohort.prepare import prepare
from mgsurv.cohort.reader import read_cohort
from mgsurv.errors import InputError
from mgsurv.settings import CutpointSettings, PrepareSettings
from support import AGE_AND_SEX, BATTERY

MAPPINGS = BATTERY / "mappings"
COLUMNS = [
    "patient_id",
    "arm",
    "age",
    "sex",
    "mg_mmol_l",
    "pfs_months",
    "pfs_event",
    "os_months",
    "os_event",
]
DATE_COLUMNS = ["patient_id", "arm", "age", "sex", "mg", "start", "progression", "death"]
DATE_COLUMNS += ["last_contact"]
EXPLORE = int(os.environ.get("MGSURV_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=EXPLORE or 200,
    deadline=None,
    derandomize=not EXPLORE,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TOKENS = ["", " ", "NA", "nan", "NaN", "n/a", ".", "NULL", "none", "inf", "-inf", "1e400"]
TOKENS += ["0", "-1", "1", "2", "1.0", "0,0", "yes", "no", "dead", "alive", "male", "female"]
TOKENS += ["P1", "P2", '"', '""', ",", ";", "\t", "\n", "\r\n", "sep=;", "\ufeff", "44377"]
CELLS = st.one_of(
    st.sampled_from(TOKENS),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(0, 60).map(lambda x: f"{x:.2f}"),
    st.floats(0, 60).map(lambda x: f"{x:.2f}".replace(".", ",")),
    st.dates().map(str),
    st.dates().map(lambda d: d.strftime("%d.%m.%Y")),
    st.text(max_size=6),
)
HEADERS = st.one_of(
    st.just(COLUMNS),
    st.just(DATE_COLUMNS),
    st.permutations(COLUMNS),
    st.lists(st.sampled_from([*COLUMNS, *DATE_COLUMNS, "", "x", " mg_mmol_l "]), max_size=12),
    st.lists(st.text(max_size=5), min_size=1, max_size=10),
)


@st.composite
def csv_files(draw) -> bytes:
    """CSV-like bytes: a header, rows of roughly its width, written with or without quoting,
    in one delimiter and encoding, sometimes with a BOM or Excel's sep= line."""
    header = draw(HEADERS)
    width = max(len(header), 1)
    rows = draw(st.lists(st.lists(CELLS, min_size=width - 1, max_size=width + 1), max_size=12))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    if draw(st.booleans()):
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows([header, *rows])
        text = buffer.getvalue()
    else:
        text = "\n".join(delimiter.join(r) for r in [header, *rows]) + "\n"
    if draw(st.booleans()):
        text = f"sep={draw(st.sampled_from([',', ';', '', 'x']))}\n" + text
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "latin-1", "cp1252", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    if encoding == "utf-8" and draw(st.booleans()):
        data = codecs.BOM_UTF8 + data
    return data


@st.composite
def near_valid_cohorts(draw) -> bytes:
    """A valid cohort of 0-15 patients with at most one cell replaced by anything."""
    n = draw(st.integers(0, 15))
    rows = []
    for i in range(n):
        os_months = draw(st.floats(0.1, 40).map(lambda x: round(x, 1)))
        pfs_months = round(draw(st.floats(0.05, 1.0)) * os_months, 1) or 0.1
        rows.append(
            [
                f"P{i}",
                draw(st.sampled_from(["immunotherapy", "chemotherapy"])),
                str(draw(st.integers(30, 90))),
                draw(st.sampled_from(["male", "female", ""])),
                f"{draw(st.floats(0.4, 1.2)):.2f}",
                f"{pfs_months}",
                draw(st.sampled_from(["0", "1"])),
                f"{os_months}",
                draw(st.sampled_from(["0", "1"])),
            ]
        )
    if rows and draw(st.booleans()):
        row = draw(st.integers(0, len(rows) - 1))
        rows[row][draw(st.integers(0, len(COLUMNS) - 1))] = draw(CELLS)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([COLUMNS, *rows])
    return buffer.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@pytest.fixture(scope="module")
def mappings():
    return {name: load_mapping(MAPPINGS / f"{name}.yaml") for name in MAPPING_NAMES}


MAPPING_NAMES = ["base", "semicolon_decimal_comma", "tab", "latin1", "utf16", "dates"]


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        yield
        logging.disable(logging.NOTSET)


def lines_in(data: bytes) -> int:
    """An upper bound of the file's line count (\n, \r\n or a lone \r end a line)."""
    return data.count(b"\n") + data.count(b"\r") + 1


def read_or_named_error(path: Path, data: bytes, call) -> None:
    path.write_bytes(data)
    try:
        call(path)
    except InputError as err:
        message = err.message()
        assert message.startswith("mgsurv: input error: ") and "\n  fix:    " in message
        assert all(1 <= row <= lines_in(data) for row in err.rows), (err.rows, message)


@FUZZ
@given(data=csv_files(), mapping=st.sampled_from(MAPPING_NAMES))
def test_any_csv_text_is_read_or_named(scratch, mappings, data, mapping):
    read_or_named_error(
        scratch / "fuzz.csv",
        data,
        lambda path: read_cohort(path, mappings[mapping], AGE_AND_SEX),
    )


@settings(FUZZ, max_examples=EXPLORE or 100)
@given(data=st.binary(max_size=400), mapping=st.sampled_from(MAPPING_NAMES))
def test_any_bytes_are_read_or_named(scratch, mappings, data, mapping):
    read_or_named_error(
        scratch / "bytes.csv",
        data,
        lambda path: read_cohort(path, mappings[mapping], AGE_AND_SEX),
    )


@settings(FUZZ, max_examples=EXPLORE or 100)
@given(data=near_valid_cohorts())
def test_near_valid_cohorts_are_prepared_or_named(scratch, data):
    mapping = MAPPINGS / "base.yaml"
    read_or_named_error(
        scratch / "cohort.csv",
        data,
        lambda path: prepare(
            str(path),
            str(mapping),
            PrepareSettings(
                covariates=tuple(AGE_AND_SEX), mg_threshold_mmol_l=0.70, cutpoint=CutpointSettings()
            ),
            "fuzz",
        ),
    )


def test_the_fuzz_mappings_exist():
    for name in MAPPING_NAMES:
        assert yaml.safe_load((MAPPINGS / f"{name}.yaml").read_text())["columns"]
