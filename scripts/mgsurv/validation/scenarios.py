"""The validation study's scenarios: named settings of the synthetic generator.

Plain data with no numerical imports, so that the Snakefile can list the scenarios (one
folder of batches each) without slowing down every run's start.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

EFFECT_HR = 1.6
EFFECT: dict[str, Any] = {
    "n": 1200,
    "hr_low_mg_immunotherapy": EFFECT_HR,
    "hr_low_mg_chemotherapy": 1.0,
}
NULL_SCENARIO = "no_effect"
NON_PROPORTIONAL = "non_proportional"
CONFOUNDING = "confounding"
MISSING_COVARIATES = "missing_covariates"
POWER_PREFIX = "power_"
ARM_NAMES = ("immunotherapy", "chemotherapy")


@dataclass(frozen=True)
class Scenario:
    """A named setting of the generator (fields of :class:`mgsurv.cohort.simulate.SyntheticParams`
    but the seed and the Mg threshold) and what it shows."""

    name: str
    description: str
    params: dict[str, Any]

    @property
    def n(self) -> int:
        return int(self.params["n"])

    def true_log_hr(self, arm: str) -> float:
        """The generator's conditional low-Mg log-HR in ``arm``; NaN where an effect lasts
        only for a time (the hazards are not proportional: no single HR to recover)."""
        hr = self.params[f"hr_low_mg_{arm}"]
        if hr != 1.0 and self.params.get("low_mg_effect_months") is not None:
            return math.nan
        return math.log(hr)

    @property
    def no_effect(self) -> bool:
        """True when low Mg has no effect in any arm: every rejection is a type-I error."""
        return all(self.params[f"hr_low_mg_{arm}"] == 1.0 for arm in ARM_NAMES)

    @property
    def has_the_effect(self) -> bool:
        """The 'effect' setting at some cohort size (a point of the power curve)."""
        return {**self.params, "n": EFFECT["n"]} == EFFECT


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        NULL_SCENARIO,
        "No effect of low Mg in either arm (HR 1): each test's rejection rate is its type-I error.",
        {**EFFECT, "hr_low_mg_immunotherapy": 1.0},
    ),
    Scenario(
        "effect",
        f"Low-Mg HR {EFFECT_HR} under immunotherapy, none under chemotherapy (the default"
        " synthetic cohort).",
        EFFECT,
    ),
    Scenario("small", "As 'effect', with 150 patients.", {**EFFECT, "n": 150}),
    Scenario(
        "heavy_censoring",
        "As 'effect', with 3 months' minimum follow-up and 40% lost to follow-up per year.",
        {**EFFECT, "min_followup_months": 3.0, "dropout_per_year": 0.4},
    ),
    Scenario(
        NON_PROPORTIONAL,
        "Low-Mg HR 2.5 under immunotherapy for the first 6 months and none after: the"
        " hazards are not proportional.",
        {**EFFECT, "hr_low_mg_immunotherapy": 2.5, "low_mg_effect_months": 6.0},
    ),
    Scenario(
        CONFOUNDING,
        "No effect of low Mg (HR 1), but mean Mg 0.08 mmol/L lower with ECOG 1, which"
        " shortens survival: low Mg goes with ECOG 1 (confounding). The unadjusted estimate"
        " is biased; the adjusted and the weighted (IPTW) ones should not be.",
        {**EFFECT, "hr_low_mg_immunotherapy": 1.0, "mg_shift_ecog_mmol_l": -0.08},
    ),
    Scenario(
        MISSING_COVARIATES,
        "As 'effect', with age and ECOG missing for 80% of the low-Mg patients whose PFS"
        " event came within 3 months (missing at random given Mg and the outcome): complete"
        " cases lose the low-Mg patients who did worst; multiple imputation keeps them.",
        {**EFFECT, "missing_covariates_early_event": 0.8},
    ),
)


def scenarios(power_sizes: Iterable[int] = ()) -> dict[str, Scenario]:
    """Every scenario of the study by name: the fixed ones, then 'effect' at each further
    cohort size of the power curve (sizes a fixed scenario already has are not repeated)."""
    chosen = {s.name: s for s in SCENARIOS}
    covered = {s.n for s in SCENARIOS if s.has_the_effect}
    for n in sorted(set(power_sizes) - covered):
        name = f"{POWER_PREFIX}{n}"
        chosen[name] = Scenario(name, f"As 'effect', with {n:,} patients.", {**EFFECT, "n": n})
    return chosen


def power_sizes(chosen: dict[str, Scenario]) -> dict[str, int]:
    """The scenarios of the power curve (the effect at each size): name -> patients."""
    return {name: s.n for name, s in chosen.items() if s.has_the_effect}
