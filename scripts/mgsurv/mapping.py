"""The column mapping: how one cohort CSV's columns, units and codes map onto mgsurv's names.

A mapping is a YAML file (``config/mapping.yaml`` documents every key) validated against
``workflow/schemas/mapping.schema.yaml``. Problems are reported as :class:`InputError`
naming the mapping file and the key to change, before the CSV is even opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from mgsurv.errors import InputError

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "mapping.schema.yaml"

TIME_KEYS = ("pfs_time", "pfs_event", "os_time", "os_event")
DATE_KEYS = ("start_date", "progression_date", "death_date", "last_followup_date")
REQUIRED_DATE_KEYS = ("start_date", "last_followup_date")


@dataclass(frozen=True)
class Mapping:
    """A validated column mapping (see config/mapping.yaml for the meaning of each field)."""

    path: str
    columns: dict[str, str | None]
    covariate_columns: dict[str, str] = field(default_factory=dict)
    mg_unit: str = "mmol/L"
    time_unit: str = "months"
    date_format: str = "%Y-%m-%d"
    event_values: frozenset[str] = frozenset({"1"})
    censored_values: frozenset[str] = frozenset({"0"})
    delimiter: str = ","
    decimal: str = "."
    encoding: str = "utf-8"

    @property
    def uses_dates(self) -> bool:
        """True when survival times are derived from dates rather than read as durations."""
        return self.columns.get("start_date") is not None


def _codes(values: list) -> frozenset[str]:
    return frozenset(str(v).strip().lower() for v in values)


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
    except yaml.YAMLError as err:
        raise InputError(
            f"the mapping is not valid YAML ({err})", file=path, fix="correct the YAML syntax"
        ) from None
    schema = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    problem = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(raw)
    )
    if problem is not None:
        where = "/".join(str(p) for p in problem.absolute_path) or "(top level)"
        raise InputError(
            f"the mapping is invalid at '{where}': {problem.message}",
            file=path,
            fix="compare with the documented keys in config/mapping.yaml",
        )
    columns = {key: raw["columns"].get(key) for key in ("patient_id", "mg", "arm")}
    columns.update({key: raw["columns"].get(key) for key in TIME_KEYS + DATE_KEYS})
    _check_time_or_dates(columns, path)
    if raw.get("event_codes") is None and not columns.get("start_date"):
        raise InputError(
            "the mapping has no event_codes, needed to read the event columns",
            file=path,
            fix="add event_codes with the values meaning event and censored"
            " (see config/mapping.yaml)",
        )
    codes = raw.get("event_codes") or {"event": ["1"], "censored": ["0"]}
    event_values = _codes(codes["event"])
    censored_values = _codes(codes["censored"])
    if event_values & censored_values:
        raise InputError(
            f"event codes {sorted(event_values & censored_values)} mean both event and censored",
            file=path,
            fix="list each code under only one of event_codes.event and event_codes.censored",
        )
    csv = raw.get("csv") or {}
    units = raw.get("units") or {}
    return Mapping(
        path=path,
        columns=columns,
        covariate_columns=dict(raw.get("covariate_columns") or {}),
        mg_unit=units.get("mg", "mmol/L"),
        time_unit=units.get("time", "months"),
        date_format=raw.get("date_format", "%Y-%m-%d"),
        event_values=event_values,
        censored_values=censored_values,
        delimiter=csv.get("delimiter", ","),
        decimal=csv.get("decimal", "."),
        encoding=csv.get("encoding", "utf-8"),
    )
