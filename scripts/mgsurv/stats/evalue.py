"""The E-value of a hazard ratio (VanderWeele & Ding, Ann Intern Med 2017;167:268-274), as R's
EValue package computes it (``evalues.HR``).

The E-value is the smallest risk ratio that an unmeasured confounder would need with both
the exposure (low Mg) and the outcome, above and beyond the measured covariates, to move
the observed estimate to the null; the E-value of the confidence interval, to move its
limit nearer the null to 1 (1 when the interval already includes 1).

A hazard ratio is first put on the risk-ratio scale: as it is when the outcome is rare
(under 15% of patients with the event by the end of follow-up), else by VanderWeele's
square-root approximation RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)) (VanderWeele,
Biometrics 2020;76:746-752), as ``evalues.HR(..., rare = FALSE)`` does. For RR >= 1 the
E-value is RR + sqrt(RR (RR - 1)); for RR < 1, that of 1/RR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# An outcome is "common" (and the HR converted) when more than this share of the patients
# have the event by the end of follow-up (EValue's ``rare`` threshold).
COMMON_OUTCOME = 0.15


def risk_ratio(hr: float, common: bool) -> float:
    """The HR on the risk-ratio scale (the square-root approximation for a common outcome)."""
    if not common:
        return hr
    return (1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr))


def evalue(rr: float) -> float:
    """The E-value of a risk ratio (symmetric: that of RR < 1 is that of 1/RR)."""
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


@dataclass(frozen=True)
class HazardRatioEValue:
    """A hazard ratio's risk ratios (point, CI) and E-values (point, CI limit nearer 1)."""

    common: bool
    rr: float
    rr_lower: float
    rr_upper: float
    point: float
    ci: float


def hazard_ratio_evalue(hr: float, lower: float, upper: float, common: bool) -> HazardRatioEValue:
    """The E-values of a hazard ratio and its 95% CI (``evalues.HR(hr, lower, upper,
    rare = not common)``)."""
    rr, rr_lower, rr_upper = (risk_ratio(x, common) for x in (hr, lower, upper))
    includes_null = rr_lower <= 1 <= rr_upper
    nearer = rr_lower if rr > 1 else rr_upper
    return HazardRatioEValue(
        common=common,
        rr=rr,
        rr_lower=rr_lower,
        rr_upper=rr_upper,
        point=evalue(rr),
        ci=1.0 if includes_null else evalue(nearer),
    )
