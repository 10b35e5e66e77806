"""mgsurv: survival analysis of immunotherapy cohorts by baseline serum magnesium.

One sub-package per stage, imports flowing from later stages to earlier ones (README
"Development"): the results contract, settings and files; ``stats`` (each statistic,
tested against R); ``cohort`` (reading, validating, simulating, grouping a cohort);
``analysis`` (every estimate of an endpoint); ``report``; ``overview`` and ``validation``;
``stages`` (each workflow step as a function of files, called by the Snakemake rule scripts
in ``scripts/`` and by the benchmark). The stages exchange plain pandas DataFrames and
dataclasses.
"""

__version__ = "0.1.0"
