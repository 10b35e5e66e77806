"""The validation study's summaries: bias, empirical SE and coverage of the low-Mg log-HR,
rejection rates of every test (type-I error under the null, power otherwise) with their
binomial bands, and power against cohort size.

Conventions (Morris, White and Crowther, Stat Med 2019, "Using simulation studies to
evaluate statistical methods"): bias is the mean estimate minus the truth, with its Monte
Carlo SE (empirical SE / sqrt(replicates)); the empirical SE is the SD of the estimates;
the model SE is the root mean of the squared model SEs; coverage is the share of Wald 95%
CIs (coef +/- z * se, as the report's) holding the truth. A nominal rate p0 (0.95 for
coverage, 0.05 for a type-I error) is judged against its binomial band: the central
interval holding 95% (or ``level``) of the rates R replicates would give if the true rate
were p0. Bias, SEs and coverage use the replicates with an estimate (how many had none is
kept beside); a rejection rate counts every replicate, one without a p-value as not
rejecting.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
import pandas as pd
from scipy.stats import binom

from mgsurv.stats.distributions import normal_quantile
from mgsurv.validation.scenarios import NULL_SCENARIO

ALPHA = 0.05
CONF_LEVEL = 0.95
POWER_TARGET = 0.8
ESTIMANDS = {
    "io": "low-Mg log-HR within the immunotherapy arm",
    "chemo": "low-Mg log-HR within the chemotherapy arm",
    "io_unadjusted": "low-Mg log-HR within the immunotherapy arm, unadjusted",
    "io_iptw": "low-Mg log-HR within the immunotherapy arm, weighted (IPTW)",
    "io_mi": "low-Mg log-HR within the immunotherapy arm, multiple imputation",
}
# How the validation page names each estimand in its tables.
ESTIMAND_LABELS = {
    "io": "immunotherapy, adjusted",
    "chemo": "chemotherapy, adjusted",
    "io_unadjusted": "immunotherapy, unadjusted",
    "io_iptw": "immunotherapy, IPTW",
    "io_mi": "immunotherapy, multiple imputation",
}
# Estimands computed only where they apply (multiple imputation: a covariate is missing):
# a scenario without any estimate has no row for them.
WHERE_THEY_APPLY = ("io_mi",)
TESTS = {
    "logrank": "log-rank test, clinical Mg groups",
    "trend": "log-rank trend test across Mg quartiles",
    "cox": "multivariable Cox model, low Mg",
    "interaction": "Mg x arm interaction (Cox)",
    "io": "low Mg within the immunotherapy arm (Cox)",
    "io_unadjusted": "low Mg within the immunotherapy arm, unadjusted (Cox)",
    "io_iptw": "low Mg within the immunotherapy arm, weighted (IPTW, robust SE)",
    "io_mi": "low Mg within the immunotherapy arm, multiple imputation (pooled)",
    "ph": "PH test of low Mg (cox.zph, multivariable model)",
    "cutpoint_naive": "optimal cut-point, naive p",
    "cutpoint_lau92": "optimal cut-point, Lausen-Schumacher 1992 corrected p",
    "cutpoint_lau94": "optimal cut-point, Lausen et al. 1994 corrected p",
}


REJECTION_COLUMNS = [
    "scenario",
    "endpoint",
    "test",
    "description",
    "replicates",
    "not_tested",
    "rejections",
    "rate",
    "band_lower",
    "band_upper",
    "in_band",
]


def binomial_band(rate: float, replicates: int, level: float = CONF_LEVEL) -> tuple[float, float]:
    """The central interval of observed rates (as fractions) holding ``level`` of the
    binomial(replicates, rate) distribution."""
    if replicates == 0:
        return math.nan, math.nan
    low, high = binom.interval(level, replicates, rate)
    return float(low) / replicates, float(high) / replicates


def estimate_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, endpoint and estimand (:data:`ESTIMANDS`): replicates, truth, mean,
    bias with its Monte Carlo SE, empirical and model SE, coverage and its band."""
    z = float(normal_quantile(0.5 + CONF_LEVEL / 2))
    records = []
    for (scenario, endpoint), group in rows.groupby(["scenario", "endpoint"], sort=False):
        for key, label in ESTIMANDS.items():
            coef, se = group[f"{key}_coef"], group[f"{key}_se"]
            truth = float(group[f"{key}_true"].iloc[0])
            ok = coef.notna() & se.notna() & np.isfinite(se)
            coef, se = coef[ok].to_numpy(), se[ok].to_numpy()
            count = len(coef)
            if not count and key in WHERE_THEY_APPLY:
                continue
            band = binomial_band(CONF_LEVEL, count)
            empirical = float(np.std(coef, ddof=1)) if count > 1 else math.nan
            record = {
                "scenario": scenario,
                "endpoint": endpoint,
                "estimand": key,
                "description": label,
                "replicates": count,
                "not_estimated": int((~ok).sum()),
                "truth": truth,
                "mean": float(np.mean(coef)) if count else math.nan,
                "bias": math.nan,
                "bias_mcse": empirical / math.sqrt(count) if count > 1 else math.nan,
                "empirical_se": empirical,
                "model_se": float(np.sqrt(np.mean(se**2))) if count else math.nan,
                "coverage": math.nan,
                "coverage_band_lower": band[0],
                "coverage_band_upper": band[1],
                "coverage_in_band": pd.NA,
            }
            if math.isfinite(truth) and count:
                covered = np.abs(coef - truth) <= z * se
                record["bias"] = record["mean"] - truth
                record["coverage"] = float(np.mean(covered))
                record["coverage_in_band"] = bool(band[0] <= record["coverage"] <= band[1])
            records.append(record)
    return pd.DataFrame(records)


def rejection_summary(
    rows: pd.DataFrame, null_scenarios: Collection[str] = (NULL_SCENARIO,)
) -> pd.DataFrame:
    """Per scenario, endpoint and test (:data:`TESTS`): how often p < 0.05, out of every
    replicate (one where the test could not be done counts as not rejecting; how many is
    kept as not_tested). Under a scenario without an effect (``null_scenarios``) that rate
    is the type-I error, judged against its binomial band around 0.05; elsewhere it is the
    power (no band)."""
    records = []
    for (scenario, endpoint), group in rows.groupby(["scenario", "endpoint"], sort=False):
        for key, label in TESTS.items():
            p = group[f"p_{key}"]
            tested = p.notna()
            if not tested.any():  # e.g. the cut-point, searched on one endpoint only
                continue
            # a replicate without a p-value (the test could not be done) did not reject
            count = len(p)
            rate = float(np.sum(p[tested] < ALPHA)) / count
            band = binomial_band(ALPHA, count) if scenario in null_scenarios else (math.nan,) * 2
            records.append(
                {
                    "scenario": scenario,
                    "endpoint": endpoint,
                    "test": key,
                    "description": label,
                    "replicates": count,
                    "not_tested": int((~tested).sum()),
                    "rejections": int(np.sum(p[tested] < ALPHA)),
                    "rate": rate,
                    "band_lower": band[0],
                    "band_upper": band[1],
                    "in_band": bool(band[0] <= rate <= band[1])
                    if math.isfinite(band[0])
                    else pd.NA,
                }
            )
    return pd.DataFrame(records, columns=REJECTION_COLUMNS)


def power_curve(rejections: pd.DataFrame, sizes: dict[str, int], test: str = "io") -> pd.DataFrame:
    """The power of ``test`` against cohort size: the rejection rates of the scenarios in
    ``sizes`` (scenario -> n; the effect at different sizes), per endpoint, by n."""
    rows = rejections[(rejections["test"] == test) & rejections["scenario"].isin(sizes)]
    curve = rows.assign(n=rows["scenario"].map(sizes))[
        ["endpoint", "n", "scenario", "rate", "replicates"]
    ]
    return curve.rename(columns={"rate": "power"}).sort_values(["endpoint", "n"], ignore_index=True)


def size_for_power(curve: pd.DataFrame, target: float = POWER_TARGET) -> float:
    """The cohort size reaching ``target`` power, interpolated linearly in log n between the
    two sizes around it (power increases with n); NaN when no size in the curve reaches it;
    the smallest size when that one already does (the size needed is then at most that)."""
    n, power = curve["n"].to_numpy(dtype=float), curve["power"].to_numpy(dtype=float)
    above = np.flatnonzero(power >= target)
    if len(above) == 0:
        return math.nan
    first = above[0]
    if first == 0:
        return float(n[0])
    n0, n1, p0, p1 = n[first - 1], n[first], power[first - 1], power[first]
    fraction = (target - p0) / (p1 - p0)
    return float(math.exp(math.log(n0) + fraction * (math.log(n1) - math.log(n0))))
