"""mgsurv: survival analysis of immunotherapy cohorts by baseline serum magnesium.

Each module owns one stage of the workflow (cohort reading and validation, simulation,
grouping, Kaplan-Meier, log-rank tests, Cox models, figures, report) and exchanges plain
pandas DataFrames and dataclasses; the Snakemake rule scripts in ``scripts/`` only move
files in and out of these functions.
"""

__version__ = "0.1.0"
