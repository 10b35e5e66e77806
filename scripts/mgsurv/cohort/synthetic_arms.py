"""The built-in synthetic cohort's arms, and the reference arm a generated cohort is analysed
with. Kept apart from the generator (:mod:`mgsurv.cohort.simulate`, which needs scipy's root
finder): the workflow's rule files read it whenever Snakemake starts."""

from __future__ import annotations

# The generated cohort's arms.
IMMUNOTHERAPY = "immunotherapy"
CHEMOTHERAPY = "chemotherapy"
ARMS = (IMMUNOTHERAPY, CHEMOTHERAPY)


def synthetic_reference_arm(configured: str | None) -> str | None:
    """The reference arm of a generated cohort: the configured one when it is one of the
    generator's arms (or null), else the generator's control arm. The config names the study
    cohort's control arm (e.g. Docetaxel), which a generated cohort (a validation replicate,
    a synthetic cohort of a cohorts sheet) does not share."""
    return configured if configured is None or configured in ARMS else CHEMOTHERAPY
