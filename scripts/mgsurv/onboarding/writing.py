"""A proposal as the two files a run of the cohort needs, each line commented with what it
was based on and CHECK where unsure: the column mapping (config/mapping.yaml documents its
keys) and a study config that replaces the data-dependent keys of config/config.yaml (the
cohort, its mapping, the reference arm and the covariates the file has).

Neither file is ever written over unless asked (``force``); both are checked before
either is written.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from mgsurv.cohort.mapping import IMMUNOTHERAPY_ARMS_KEY, OTHER_ARMS_KEY
from mgsurv.errors import InputError
from mgsurv.onboarding.proposal import Proposal, propose
from mgsurv.onboarding.values import REFERENCE_ARM, Guess


def _scalar(value: object) -> str:
    """JSON text is valid YAML: quotes, tabs and non-ASCII headers survive."""
    return json.dumps(value, ensure_ascii=False)


def _comment(guess: Guess) -> str:
    return f"  # {'' if guess.sure else 'CHECK: '}{guess.why}"


def _line(key: str, guess: Guess, indent: str = "  ") -> str:
    return f"{indent}{key}: {_scalar(guess.value)}{_comment(guess)}"


def safe_name(source: str | Path) -> str:
    """The file's name without extension, as a results folder may be named."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(source).stem).strip("_") or "cohort"


def snakemake_program() -> str:
    """How to call this environment's snakemake from the working directory (the path of the
    virtual environment's, e.g. .venv/bin/snakemake; plain ``snakemake`` outside one)."""
    installed = Path(sys.executable).parent / "snakemake"
    if not installed.exists():
        return "snakemake"
    relative = os.path.relpath(installed)
    return str(installed) if relative.startswith("..") else relative


def run_command(study: str | Path) -> str:
    """The command that runs the workflow on the proposed study config."""
    return f"{snakemake_program()} --cores all --configfile {study}"


def _event_lines(proposal: Proposal) -> list[str]:
    """event_codes: one shared list when both endpoints take the same codes, else each
    endpoint's own."""
    if not proposal.events:
        return []
    if proposal.shared_codes():
        event, censored = next(iter(proposal.events.values()))
        return ["event_codes:", _line("event", event), _line("censored", censored)]
    lines = ["event_codes:  # the endpoints are coded differently: each has its own codes"]
    for endpoint, (event, censored) in proposal.events.items():
        lines += [
            f"  {endpoint}:",
            _line("event", event, "    "),
            _line("censored", censored, "    "),
        ]
    return lines


def mapping_yaml(proposal: Proposal, study: str | Path) -> str:
    """The proposed column mapping as commented YAML."""
    arms = proposal.arms
    lines = [
        f"# Column mapping proposed by `mgsurv init` for {proposal.source}, used by {study}.",
        "# Review every line (those marked CHECK especially); config/mapping.yaml documents"
        " each key.",
        *(["csv:", *(_line(k, g) for k, g in proposal.csv.items())] if proposal.csv else []),
        *([_line("sheet", proposal.sheet, "")] if proposal.sheet else []),
        "columns:",
        *(_line(k, g) for k, g in proposal.columns.items()),
        *([_line("date_format", proposal.date_format, "")] if proposal.date_format else []),
        "covariate_columns:" + ("" if proposal.covariates else " {}"),
        *(f"  {c.name}: {_scalar(c.column)}  # header '{c.column}'" for c in proposal.covariates),
        "units:",
        *(_line(k, g) for k, g in proposal.units.items()),
        *_event_lines(proposal),
        *(
            ["arms:", *(_line(key, arms[key]) for key in (IMMUNOTHERAPY_ARMS_KEY, OTHER_ARMS_KEY))]
            if arms and arms[IMMUNOTHERAPY_ARMS_KEY].value
            else []
        ),
    ]
    return "\n".join(lines) + "\n"


def _reference_line(proposal: Proposal) -> str:
    if proposal.arms and proposal.arms[REFERENCE_ARM].value is not None:
        return _line(REFERENCE_ARM, proposal.arms[REFERENCE_ARM], "")
    return f"{REFERENCE_ARM}: null  # one arm: no reference arm to compare against"


def study_yaml(proposal: Proposal, mapping: str | Path, study: str | Path) -> str:
    """The proposed study config: the keys of config/config.yaml that depend on the file."""
    covariates = [
        f"  - {_scalar(c.config_entry())}  # header '{c.column}': {c.guess.why}"
        for c in proposal.covariates
    ]
    unused = ", ".join(f"'{h}'" for h in proposal.unused) or "none"
    lines = [
        f"# Study settings proposed by `mgsurv init` for {proposal.source}. They replace these",
        "# keys of config/config.yaml (which documents every key; the others keep its values).",
        "# Review the lines marked CHECK and the primary analysis there, then run",
        f"#   {run_command(study)}",
        f"cohort: {_scalar(proposal.source)}",
        f"cohort_name: {_scalar(safe_name(proposal.source))}  # results/<cohort_name>/",
        f"mapping: {_scalar(str(mapping))}",
        _reference_line(proposal),
        "# Covariates found in the file: the type from its values; a categorical's reference is"
        " its most frequent level.",
        f"# Columns not used: {unused}. To adjust for one, add it here and under"
        " covariate_columns in the mapping.",
        "covariates:" + ("" if covariates else " []"),
        *covariates,
    ]
    return "\n".join(lines) + "\n"


def unsure(proposal: Proposal) -> list[str]:
    """The keys marked CHECK and the required ones without a column, for the summary."""
    sections = {
        "csv": proposal.csv,
        "columns": proposal.columns,
        "units": proposal.units,
        "arms": {k: g for k, g in proposal.arms.items() if k != REFERENCE_ARM},
    }
    flagged = [
        f"{section}.{key}"
        for section, guesses in sections.items()
        for key, guess in guesses.items()
        if not guess.sure
    ]
    flagged += [
        f"event_codes.{endpoint}"
        for endpoint, guesses in proposal.events.items()
        if not all(g.sure for g in guesses)
    ]
    if proposal.date_format is not None and not proposal.date_format.sure:
        flagged.append("date_format")
    if proposal.arms and not proposal.arms[REFERENCE_ARM].sure:
        flagged.append(f"{REFERENCE_ARM} (study config)")
    return flagged + [
        f"columns.{k}" for k in proposal.missing_columns() if f"columns.{k}" not in flagged
    ]


def write_proposal(
    source: str | Path, mapping: str | Path, study: str | Path, force: bool = False
) -> Proposal:
    """Propose the mapping and study config of ``source`` and write them to ``mapping`` and
    ``study`` (never over an existing file unless ``force``)."""
    mapping, study = Path(mapping), Path(study)
    for out in (mapping, study):
        if out.exists() and not force:
            raise InputError(
                "the file exists already",
                file=str(out),
                fix="choose other --out / --study-out paths, or pass --force to replace them",
            )
    proposal = propose(source)
    for out, text in (
        (mapping, mapping_yaml(proposal, study)),
        (study, study_yaml(proposal, mapping, study)),
    ):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return proposal
