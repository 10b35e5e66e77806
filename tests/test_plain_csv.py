r"""The pyarrow fast path of the cohort reader (mgsurv.cohort.plain_csv) against the csv path.

read_text_table takes the fast path only for a file that the csv module provably reads
the same way. Here every file is read both ways, the csv module path forced by making
read_plain decline, and the two must agree exactly: the cells (str, stripped), the line
numbers (index), the header line, or the same error message. Each small case also states
which path it takes, so that a fast path which declines everything, or accepts a file it
should not (quotes, blank lines, a lone \r...), fails here.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mgsurv.cohort import csv_file
from mgsurv.cohort.csv_file import read_text_table
from mgsurv.cohort.mapping import load_mapping
from mgsurv.cohort.plain_csv import read_plain
from mgsurv.cohort.reader import PreparedCohort, read_cohort
from mgsurv.cohort.simulate import SyntheticParams, simulate_cohort
from mgsurv.errors import InputError
from support import AGE_AND_SEX, BATTERY, MAPPING_FILE, shipped_config

MAPPINGS = BATTERY / "mappings"
HEADER = "patient_id,arm,age,sex,mg_mmol_l,pfs_months,pfs_event,os_months,os_event"
ROWS = [
    "P1,immunotherapy,60,male,0.65,2.5,1,10.0,1",
    "P2,chemotherapy,70,female,0.85,4.0,0,4.0,0",
    "P3,chemotherapy,55,female,NA,3.0,1,8.0,1",
    "P4,immunotherapy,,male,0.90,1.5,1,6.0,0",
]


def lines(*rows: str, end: str = "\n") -> str:
    return end.join([HEADER, *rows]) + end


def outcome(read):
    """The result of read(), or the message of the InputError it raises."""
    try:
        return read()
    except InputError as err:
        return err.message()


def read_fast(read, path: Path, mapping) -> tuple[object, list[bool]]:
    """read(path, mapping) as it runs, and whether each read_plain call took the file."""
    taken: list[bool] = []

    def spy(text: str, delimiter: str):
        plain = read_plain(text, delimiter)
        taken.append(plain is not None)
        return plain

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_file, "read_plain", spy)
        return outcome(lambda: read(path, mapping)), taken


def read_exact(read, path: Path, mapping):
    """read(path, mapping) with the fast path declined: the csv module reads the file."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_file, "read_plain", lambda text, delimiter: None)
        return outcome(lambda: read(path, mapping))


def assert_same_table(fast, exact) -> None:
    assert type(fast) is type(exact)
    if isinstance(exact, str):
        assert fast == exact
        return
    pd.testing.assert_frame_equal(fast, exact, check_exact=True)
    assert fast.attrs == exact.attrs
    assert all(type(cell) is str for column in fast.columns for cell in fast[column])


def assert_same_cohort(fast, exact) -> None:
    assert type(fast) is type(exact)
    if isinstance(exact, str):
        assert fast == exact
        return
    assert isinstance(exact, PreparedCohort)
    for name in ("data", "flow", "excluded"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(exact, name), check_exact=True)
    assert fast.data_cutoff == exact.data_cutoff


PADDED = "\t P1\u00a0,immunotherapy\x0b, 60 ,\x1cmale,0.65 ,2.5,1\u3000,10.0,1"
LONG_CELL = "x" * (csv.field_size_limit() + 1)

# (case, text, mapping, whether the fast path takes it)
CASES = [
    ("plain", lines(*ROWS), "base", True),
    ("crlf line ends", lines(*ROWS, end="\r\n"), "base", True),
    ("no final line end", lines(*ROWS).rstrip("\n"), "base", True),
    ("cells padded with Python whitespace", lines(PADDED, *ROWS[1:]), "base", True),
    ("empty lines before the header", "\n\r\n\n" + lines(*ROWS), "base", True),
    ("excel sep line", "sep=,\n" + lines(*ROWS), "base", True),
    ("empty lines at the end", lines(*ROWS) + "\n\r\n\n", "base", True),
    ("unicode and missing tokens", lines(ROWS[0], "Pé,chimio,null,—,.,1,0,2,n/a"), "base", True),
    ("repeated id", lines(ROWS[0], ROWS[0]), "base", True),
    (
        "semicolons and decimal commas",
        lines(*ROWS).replace(",", ";").replace(".", ","),
        "semicolon_decimal_comma",
        True,
    ),
    ("quoted cell", lines(ROWS[0], '"P2",chemotherapy,70,female,0.85,4.0,0,4.0,0'), "base", True),
    (
        "R's write.csv: quoted header, row names and texts",
        '"","patient_id","arm","age","sex","mg_mmol_l","pfs_months","pfs_event","os_months",'
        '"os_event"\n"1","P1","immunotherapy",60,"male",0.65,2.5,1,10,1\n'
        '"2","P2","chemotherapy",NA,"female",0.85,4,0,4,0\n',
        "base",
        True,
    ),
    ("quoted delimiter", lines(ROWS[0], 'P2,"chemo, weekly",70,f,0.85,4.0,0,4.0,0'), "base", True),
    ("quoted empty cells", lines(ROWS[0], 'P2,"",70,"",0.85,4.0,0,4.0,0'), "base", True),
    ("quoted padding", lines(ROWS[0], 'P2," chemo\t",70,f,0.85,4.0,0,4.0,0'), "base", True),
    ("doubled quote", lines(ROWS[0], 'P2,"chemo ""A""",70,f,0.85,4.0,0,4.0,0'), "base", False),
    ("quote after a space", lines(ROWS[0], 'P2, "chemo",70,f,0.85,4.0,0,4.0,0'), "base", False),
    ("text after a quote", lines(ROWS[0], 'P2,"chemo"x,70,f,0.85,4.0,0,4.0,0'), "base", False),
    ("quoted line break", lines(ROWS[0], 'P2,"che\nmo",70,f,0.85,4.0,0,4.0,0'), "base", False),
    ("unclosed quote", lines(ROWS[0], 'P2,"chemo,70,f,0.85,4.0,0,4.0,0'), "base", False),
    (
        "quote inside a cell",
        lines(ROWS[0], 'P"2,chemotherapy,70,f,0.85,4.0,0,4.0,0'),
        "base",
        False,
    ),
    ("empty line between rows", lines(ROWS[0], "", *ROWS[1:]), "base", False),
    ("whitespace line between rows", lines(ROWS[0], " \t", *ROWS[1:]), "base", False),
    ("line of delimiters only", lines(ROWS[0], ", ,,,,,,,", *ROWS[1:]), "base", False),
    ("lone carriage returns", lines(*ROWS, end="\r"), "base", False),
    ("lone carriage return before the header", "\r" + lines(*ROWS), "base", False),
    (
        "lone carriage return in a row",
        lines(ROWS[0].replace("e,", "e\r,"), *ROWS[1:]),
        "base",
        False,
    ),
    ("extra empty field", lines(ROWS[0] + ",", *ROWS[1:]), "base", False),
    ("missing field", lines(ROWS[0], "P2,chemotherapy,70,female,0.85,4.0,0,4.0"), "base", False),
    ("extra field", lines(ROWS[0] + ",x", *ROWS[1:]), "base", False),
    ("byte-order mark at a row", lines("\ufeff" + ROWS[0], *ROWS[1:]), "base", False),
    (
        "cell over the csv field limit",
        lines(ROWS[0], "P2," + LONG_CELL + ",1,m,1,1,1,1,1"),
        "base",
        False,
    ),
    ("header only", HEADER + "\n\n", "base", False),
    ("single-column header", HEADER.replace(",", ";") + "\n" + ROWS[0] + "\n", "base", False),
    ("blank header line", " , ,\n" + lines(*ROWS), "base", False),
]


@pytest.mark.parametrize(
    ("text", "mapping_name", "fast"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_fast_and_exact_paths_agree(tmp_path, text, mapping_name, fast):
    path = tmp_path / "cohort.csv"
    path.write_bytes(text.encode("utf-8"))
    mapping = load_mapping(MAPPINGS / f"{mapping_name}.yaml")
    table, taken = read_fast(read_text_table, path, mapping)
    assert taken == [fast]
    assert_same_table(table, read_exact(read_text_table, path, mapping))
    assert_same_cohort(
        read_fast(lambda p, m: read_cohort(p, m, AGE_AND_SEX), path, mapping)[0],
        read_exact(lambda p, m: read_cohort(p, m, AGE_AND_SEX), path, mapping),
    )


def test_fast_path_keeps_line_numbers_after_empty_lines(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text("sep=,\n\n" + lines(*ROWS), encoding="utf-8")
    table, taken = read_fast(read_text_table, path, load_mapping(MAPPINGS / "base.yaml"))
    assert taken == [True]
    assert table.attrs["header_line"] == 3
    assert (table.index + 2).tolist() == [4, 5, 6, 7]


def messy_cohort(n: int, seed: int) -> str:
    """A synthetic cohort written as many exports write it: padded cells, upper-case and
    decimal event codes, missing tokens, CRLF line ends; no quotes, no blank lines."""
    data, _ = simulate_cohort(SyntheticParams(n=n, seed=seed))
    text = data.astype(str)
    rng = np.random.default_rng(seed)
    for column, values in [
        ("pfs_event", ["1.0", "0.0", "NA", " 1", "0 "]),
        ("sex", ["Male", " female", "", "null"]),
        ("age", ["", "NA", " 61 "]),
        ("mg_mmol_l", ["", "  0.80", "0.7\t"]),
    ]:
        rows = rng.choice(n, size=n // 20, replace=False)
        text.loc[rows, column] = rng.choice(values, size=len(rows))
    return text.to_csv(index=False, lineterminator="\r\n")


def test_a_mid_size_file_reads_the_same_both_ways(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text(messy_cohort(30_000, 11), encoding="utf-8")  # several pyarrow batches
    mapping = load_mapping(MAPPING_FILE)
    covariates = shipped_config()["covariates"]
    table, taken = read_fast(read_text_table, path, mapping)
    assert taken == [True]
    assert_same_table(table, read_exact(read_text_table, path, mapping))
    prepared, taken = read_fast(lambda p, m: read_cohort(p, m, covariates), path, mapping)
    assert taken == [True] and isinstance(prepared, PreparedCohort)
    assert 0 < len(prepared.data) < 30_000  # the missing values excluded some patients
    assert_same_cohort(
        prepared, read_exact(lambda p, m: read_cohort(p, m, covariates), path, mapping)
    )


VALUES = st.one_of(
    st.sampled_from(["", "NA", "null", ".", "1", "0", "1.0", "2", "male", "-3", "\ufeff"]),
    st.floats(0, 60).map(lambda x: f"{x:.2f}"),
    st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters='"\r\n,;\x00'),
        min_size=1,
        max_size=5,
    ),
)
# Python's whitespace, some of it not pyarrow's or not ASCII
PADDING = st.sampled_from(["", "", "", " ", "\t", "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u3000"])
CELLS = st.builds(lambda before, value, after: before + value + after, PADDING, VALUES, PADDING)


@st.composite
def quote_free_texts(draw) -> str:
    """Quote-free CSV text of the base mapping's columns, mostly one the fast path takes
    (rows of the header's width, \n or \r\n line ends), sometimes with a short or long
    row, empty or blank lines or lone \r line ends, which it must decline."""
    header = draw(st.sampled_from([HEADER, HEADER.replace("age", " age "), "a,b"]))
    width = header.count(",") + 1
    rows = draw(st.lists(st.lists(CELLS, min_size=width, max_size=width), max_size=8))
    if rows and draw(st.integers(0, 9)) == 0:
        rows[-1] = rows[-1][:-1] if draw(st.booleans()) else [*rows[-1], draw(CELLS)]
    body = [",".join(row) for row in rows]
    for _ in range(draw(st.sampled_from([0] * 7 + [1, 2]))):
        body.insert(draw(st.integers(0, len(body))), draw(st.sampled_from(["", " ", ",,"])))
    end = draw(st.sampled_from(["\n", "\r\n"] * 3 + ["\r"]))
    return draw(st.sampled_from(["", "\n", "sep=,\n"])) + end.join([header, *body]) + end


@st.composite
def quoted_texts(draw) -> str:
    """CSV text whose cells may be quoted as R's write.csv and spreadsheets quote them
    (the fast path takes these), sometimes with a quoting the csv module reads otherwise
    than a plain split (a doubled quote, a quote after a space or within a cell, a quoted
    line break or delimiter, an unclosed quote), which it must decline or read alike."""
    header = draw(st.sampled_from([HEADER, '"' + HEADER.replace(",", '","') + '"']))
    width = HEADER.count(",") + 1
    special = st.sampled_from(['""', ' "x"', 'a"b', '"a\nb"', '"a,b"', '"a', '"a"b'])
    cell = st.one_of(
        CELLS,
        CELLS.map(lambda text: f'"{text}"'),
        special if draw(st.integers(0, 3)) == 0 else CELLS,
    )
    rows = draw(st.lists(st.lists(cell, min_size=width, max_size=width), max_size=6))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return end.join([header, *(",".join(row) for row in rows)]) + end


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=st.one_of(quote_free_texts(), quoted_texts()))
def test_any_text_reads_the_same_both_ways(tmp_path, text):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(text.encode("utf-8"))
    mapping = load_mapping(MAPPINGS / "base.yaml")
    table, _ = read_fast(read_text_table, path, mapping)
    assert_same_table(table, read_exact(read_text_table, path, mapping))
