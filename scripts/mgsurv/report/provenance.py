"""What the report says about how it was made: source, checksum, versions, date, rule graph."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPORTED_PACKAGES = (
    "mgsurv",
    "snakemake",
    "lifelines",
    "pandas",
    "numpy",
    "scipy",
    "matplotlib",
    "jinja2",
    "pyarrow",
)


def package_versions() -> dict[str, str]:
    """Python and the versions of the packages that produce the numbers and the report."""
    versions = {"python": platform.python_version()}
    for name in REPORTED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed as a package"
    return versions


@dataclass(frozen=True)
class RunRecord:
    """How the results the report shows were made: the cohort, its input file (source,
    SHA-256, data cut-off, units and the mapping it was read with, from prepare's
    provenance.json), when the report was generated, with which software, and the
    workflow's rule graph (DOT; "" when not recorded)."""

    cohort: str
    source: str
    input_sha256: str
    data_cutoff: str | None
    generated: str
    versions: dict[str, str] = field(default_factory=dict)
    rulegraph: str = ""
    # provenance.json's units: {"mg": unit, "mg_per_mmol_l": factor, "time": unit or "dates"}
    units: dict = field(
        default_factory=lambda: {"mg": "mmol/L", "mg_per_mmol_l": 1.0, "time": "months"}
    )
    mapping_text: str = ""
    baseline_mg: str = ""  # provenance.json's: how baseline Mg came from a lab table

    @property
    def source_name(self) -> str:
        """The input's file name, without the folders it was read from ("synthetic" for the
        generated cohort): what the report names, the SHA-256 identifying the file."""
        return Path(self.source).name


def run_record(cohort: str, provenance: dict, rulegraph: str) -> RunRecord:
    """The record of this run: prepare's provenance, now as the generation time, the
    installed versions and the rule graph."""
    return RunRecord(
        cohort=cohort,
        source=provenance["source"],
        input_sha256=provenance["input_sha256"],
        data_cutoff=provenance["data_cutoff"],
        generated=datetime.now(UTC).replace(microsecond=0).isoformat(),
        versions=package_versions(),
        rulegraph=rulegraph,
        units=provenance["units"],
        mapping_text=provenance["mapping_text"],
        baseline_mg=provenance["baseline_mg"],
    )
