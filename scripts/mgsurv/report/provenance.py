"""What the report says about how it was made: source, checksum, settings, versions, date."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

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


def report_meta(cohort: str, provenance: dict, settings: dict) -> dict:
    """The ``meta`` dict of :func:`mgsurv.report.page.render_report`."""
    return {
        "cohort": cohort,
        "source": provenance["source"],
        "input_sha256": provenance["input_sha256"],
        "rows_read": provenance["rows_read"],
        "data_cutoff": provenance["data_cutoff"],
        "generated": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "mg_threshold_mmol_l": settings["mg_threshold_mmol_l"],
        "conf_type": "log-log",
        "risk_table_times": list(settings["risk_table_times"]),
        "versions": package_versions(),
    }
