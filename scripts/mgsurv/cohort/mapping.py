"""The column mapping: how one cohort CSV's columns, units and codes map onto mgsurv's names.

A mapping is a YAML file (``config/mapping.yaml`` documents every key) validated against
``workflow/schemas/mapping.schema.yaml``. Problems are reported as :class:`InputError`
naming the mapping file and the key to change, before the CSV is even opened: besides the
schema (unknown key, wrong type, unit not listed), an encoding Python does not know, a
date_format that does not read back a day, month and year, event codes listed as both
event and censored, and unquoted yes/no codes (YAML reads them as true/false).

Event codes are compared by :func:`normalise_code`: stripped, lower case, whole numbers
without decimals ("1.0" and "01" are "1", as spreadsheets write integers).
"""

from __future__ import annotations

import codecs
import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mgsurv.contract import ENDPOINTS
from mgsurv.errors import InputError
from mgsurv.schemas import MAPPING_SCHEMA, schema_problem

TIME_KEYS = ("pfs_time", "pfs_event", "os_time", "os_event")
# The mapping's arms key: the immunotherapy arm's value and the other arms' values.
IMMUNOTHERAPY_ARMS_KEY, OTHER_ARMS_KEY = "immunotherapy", "other"
DATE_KEYS = ("start_date", "progression_date", "death_date", "last_followup_date")
REQUIRED_DATE_KEYS = ("start_date", "last_followup_date")


@dataclass(frozen=True)
class EventCodes:
    """The values of one endpoint's event column meaning event and censored (as compared:
    see :func:`normalise_code`), and whether they are the endpoint's own (``event_codes.pfs``
    or ``.os``) rather than the list shared by both endpoints."""

    event: frozenset[str] = frozenset({"1"})
    censored: frozenset[str] = frozenset({"0"})
    own: bool = False

    def where(self, endpoint: str) -> str:
        """The mapping key these codes are listed under."""
        return f"event_codes.{endpoint}" if self.own else "event_codes"


@dataclass(frozen=True)
class LabTable:
    """Serum Mg measurements as rows of a table beside the cohort file (mapping key
    ``mg_lab``), and the rule that picks each patient's baseline: the measurement closest
    to treatment start from ``window_days`` before it to day ``last_day`` (the mean of
    those on that day). Days count from treatment start (day 0): given as a column
    (``day``), or from a measurement ``date`` and the cohort's start_date."""

    file: str
    patient_id: str
    value: str
    unit: str | None = None  # the column of each row's unit; None: units.mg for every row
    date: str | None = None
    day: str | None = None
    window_days: int = 30
    last_day: int = 0

    def rule(self) -> str:
        """The baseline rule in words, as the patient flow and the Methods state it."""
        return (
            f"the measurement closest to treatment start from day -{self.window_days} to day"
            f" {self.last_day}"
        )


@dataclass(frozen=True)
class Mapping:
    """A validated column mapping (see config/mapping.yaml for the meaning of each field)."""

    path: str
    columns: dict[str, str | None]
    covariate_columns: dict[str, str] = field(default_factory=dict)
    mg_unit: str = "mmol/L"
    time_unit: str = "months"
    date_format: str = "%Y-%m-%d"
    # Per endpoint: its own codes (event_codes.pfs / .os) or the shared ones.
    event_codes: dict[str, EventCodes] = field(
        default_factory=lambda: dict.fromkeys(ENDPOINTS, EventCodes())
    )
    delimiter: str = ","
    decimal: str = "."
    encoding: str = "utf-8"
    # The arm column's value of the immunotherapy arm and of the other arms (``arms``);
    # None when the mapping does not declare them.
    immunotherapy_arm: str | None = None
    other_arms: tuple[str, ...] = ()
    # A workbook's sheet: its name or number (from 1); None = the first.
    sheet: str | int | None = None
    # Baseline Mg from a table of measurements instead of the column columns.mg.
    mg_lab: LabTable | None = None

    @property
    def declares_arms(self) -> bool:
        """True when the mapping says which arm is immunotherapy (key ``arms``)."""
        return self.immunotherapy_arm is not None

    @property
    def uses_dates(self) -> bool:
        """True when survival times are derived from dates rather than read as durations."""
        return self.columns.get("start_date") is not None

    def column(self, key: str) -> str:
        """The CSV column of a key that :func:`load_mapping` requires to be mapped:
        patient_id, mg (unless baseline Mg comes from a lab table, ``mg_lab``), and the
        survival times and events or (:attr:`uses_dates`) start_date and
        last_followup_date. KeyError when it is not mapped."""
        name = self.columns[key]
        if name is None:
            raise KeyError(f"{self.path} maps no column to {key!r}")
        return name


INTEGER_CODE = re.compile(r"^[+-]?\d+(?:[.,]0*)?$")
# A date that tells day, month and year apart: date_format must read it back.
PROBE_DATE = datetime.datetime(2021, 11, 28)


def normalise_code(code: object) -> str:
    """An event code as compared: stripped, lower case, and a whole number without its
    decimals ('1.0', '1,0' and '01' are '1')."""
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    text = str(code).strip().lower()
    if INTEGER_CODE.match(text):
        return str(int(re.split(r"[.,]", text)[0]))
    return text


def _codes(values: list) -> frozenset[str]:
    return frozenset(normalise_code(v) for v in values)


def _check_encoding(encoding: str, path: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(
            f"unknown encoding {encoding!r} at 'csv/encoding'",
            file=path,
            fix="set csv.encoding to an encoding name such as utf-8, latin-1 or cp1252",
        ) from None


def _check_date_format(date_format: str, path: str) -> None:
    """The format must write and read back a date with its day, month and year."""
    try:
        back = datetime.datetime.strptime(PROBE_DATE.strftime(date_format), date_format)
    except ValueError as err:
        raise InputError(
            f"date_format {date_format!r} is not a valid format ({err})",
            file=path,
            fix="use strftime codes, e.g. '%Y-%m-%d', '%d.%m.%Y' or '%m/%d/%Y'",
        ) from None
    if back.date() != PROBE_DATE.date():
        raise InputError(
            f"date_format {date_format!r} does not contain a day, a month and a year",
            file=path,
            fix="use strftime codes for all three, e.g. '%Y-%m-%d', '%d.%m.%Y' or '%m/%d/%Y'",
        )


def _check_time_or_dates(columns: dict, path: str) -> None:
    """Exactly one of the two ways to give survival must be filled in completely."""
    given_times = [k for k in TIME_KEYS if columns.get(k)]
    given_dates = [k for k in DATE_KEYS if columns.get(k)]
    if given_times and given_dates:
        raise InputError(
            "the mapping gives both survival times and dates",
            file=path,
            fix=f"set either {', '.join(TIME_KEYS)} or the date keys under 'columns:' to null",
        )
    if given_dates:
        missing = [k for k in REQUIRED_DATE_KEYS if not columns.get(k)]
        if missing:
            raise InputError(
                f"dates are used but {', '.join(missing)} is not mapped",
                file=path,
                fix="name the CSV column for each of start_date and last_followup_date",
            )
        return
    missing = [k for k in TIME_KEYS if not columns.get(k)]
    if missing:
        raise InputError(
            f"no column mapped for {', '.join(missing)}",
            file=path,
            fix="under 'columns:' name the CSV column of each survival time and event,"
            " or map start_date, progression_date, death_date and last_followup_date instead",
        )


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping YAML file."""
    path = str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except FileNotFoundError:
        raise InputError(
            "mapping file not found",
            file=path,
            fix="copy config/mapping.yaml, edit it, and pass its path with --config mapping=...",
        ) from None
    except (IsADirectoryError, UnicodeDecodeError) as err:
        raise InputError(
            f"the mapping cannot be read as UTF-8 text ({type(err).__name__})",
            file=path,
            fix="give the path of a YAML file saved as UTF-8 (copy config/mapping.yaml)",
        ) from None
    except yaml.YAMLError as err:
        raise InputError(
            f"the mapping is not valid YAML ({err})", file=path, fix="correct the YAML syntax"
        ) from None
    if raw is None:
        raise InputError(
            "the mapping file is empty",
            file=path,
            fix="copy config/mapping.yaml and fill in your CSV's columns",
        )
    problem = schema_problem(raw, MAPPING_SCHEMA)
    if problem is not None:
        where, message, value = problem
        fix = "compare with the documented keys in config/mapping.yaml"
        if isinstance(value, bool):
            fix = (
                "YAML reads unquoted yes/no/true/false/on/off as true or false: put the value"
                ' in quotes, e.g. "yes"'
            )
        raise InputError(f"the mapping is invalid at '{where}': {message}", file=path, fix=fix)
    columns = {key: raw["columns"].get(key) for key in ("patient_id", "mg", "arm")}
    columns.update({key: raw["columns"].get(key) for key in TIME_KEYS + DATE_KEYS})
    _check_time_or_dates(columns, path)
    event_codes = _event_codes(raw.get("event_codes"), columns, path)
    immunotherapy_arm, other_arms = _arms(raw.get("arms"), columns["arm"], path)
    csv = raw.get("csv") or {}
    units = raw.get("units") or {}
    _check_encoding(csv.get("encoding", "utf-8"), path)
    _check_date_format(raw.get("date_format", "%Y-%m-%d"), path)
    return Mapping(
        path=path,
        columns=columns,
        covariate_columns=dict(raw.get("covariate_columns") or {}),
        mg_unit=units.get("mg", "mmol/L"),
        time_unit=units.get("time", "months"),
        date_format=raw.get("date_format", "%Y-%m-%d"),
        event_codes=event_codes,
        delimiter=csv.get("delimiter", ","),
        decimal=csv.get("decimal", "."),
        encoding=csv.get("encoding", "utf-8"),
        immunotherapy_arm=immunotherapy_arm,
        other_arms=other_arms,
        sheet=raw.get("sheet"),
        mg_lab=_lab_table(raw.get("mg_lab"), columns, path),
    )


def _event_codes(raw: dict | None, columns: dict, path: str) -> dict[str, EventCodes]:
    """Each endpoint's event codes: its own list (``event_codes.pfs`` / ``.os``) when given,
    else the shared ``event``/``censored`` lists; 1/0 when survival comes from dates (no
    event column is read). A code may not mean both event and censored."""
    if columns.get("start_date"):
        return dict.fromkeys(ENDPOINTS, EventCodes())
    raw = raw or {}
    codes = {}
    for endpoint in ENDPOINTS:
        own = raw.get(endpoint)
        listed = own or raw
        if "event" not in listed:
            raise InputError(
                f"the mapping has no event codes for {endpoint.upper()}, needed to read"
                f" its event column '{columns[f'{endpoint}_event']}'",
                file=path,
                fix="add event_codes with the values meaning event and censored (shared by"
                f" both endpoints), or event_codes.{endpoint} with its own (see"
                " config/mapping.yaml)",
            )
        codes[endpoint] = EventCodes(
            _codes(listed["event"]), _codes(listed["censored"]), own=own is not None
        )
        both = codes[endpoint].event & codes[endpoint].censored
        if both:
            where = codes[endpoint].where(endpoint)
            raise InputError(
                f"event codes {sorted(both)} mean both event and censored",
                file=path,
                fix=f"list each code under only one of {where}.event and {where}.censored",
            )
    return codes


def _lab_table(raw: dict | None, columns: dict, path: str) -> LabTable | None:
    """The lab table of key ``mg_lab`` (the schema has checked its shape): Mg comes from the
    column columns.mg or from this table, never both; its days from a day column or from
    dates, which need the cohort's start_date."""
    if raw is None:
        if not columns.get("mg"):
            raise InputError(
                "no column mapped for mg",
                file=path,
                fix="set columns.mg to the CSV's serum Mg column, or read it from a table of"
                " measurements with mg_lab (see config/mapping.yaml)",
            )
        return None
    if columns.get("mg"):
        raise InputError(
            "the mapping gives serum Mg both as a column (columns.mg) and as a lab table (mg_lab)",
            file=path,
            fix="set columns.mg to null to take the baseline from the lab table, or remove mg_lab",
        )
    lab = LabTable(
        file=raw["file"],
        **raw["columns"],
        window_days=raw.get("window_days", 30),
        last_day=raw.get("last_day", 0),
    )
    if (lab.date is None) == (lab.day is None):
        raise InputError(
            "mg_lab.columns needs either date or day (not both): when each measurement was taken",
            file=path,
            fix="name the lab table's column of measurement dates (date) or of days from"
            " treatment start (day)",
        )
    if lab.date is not None and not columns.get("start_date"):
        raise InputError(
            "mg_lab gives measurement dates, but the cohort has no start_date to count from",
            file=path,
            fix="map columns.start_date (survival from dates), or give the lab table's days"
            " from treatment start as mg_lab.columns.day",
        )
    return lab


def _arms(arms: dict | None, arm_column: str | None, path: str) -> tuple[str | None, tuple]:
    """The declared immunotherapy arm and other arms, as text (the schema has checked the
    shape): none without the key; an arm listed twice, or arms without an arm column,
    stop the run."""
    if arms is None:
        return None, ()
    if arm_column is None:
        raise InputError(
            "the mapping lists arms but maps no arm column (columns.arm is null)",
            file=path,
            fix="set columns.arm to the CSV's treatment column, or remove the arms key"
            " (a single-arm cohort is taken as immunotherapy-treated)",
        )
    (immunotherapy,) = (str(value).strip() for value in arms[IMMUNOTHERAPY_ARMS_KEY])
    other = tuple(str(value).strip() for value in arms.get(OTHER_ARMS_KEY, []))
    repeated = sorted({v for v in (immunotherapy, *other) if (immunotherapy, *other).count(v) > 1})
    if repeated:
        raise InputError(
            f"arm value(s) {repeated} are listed more than once under arms",
            file=path,
            fix="list each value of the arm column once, under immunotherapy or under other",
        )
    return immunotherapy, other
