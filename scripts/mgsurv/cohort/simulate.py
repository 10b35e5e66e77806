"""Deterministic synthetic NSCLC immunotherapy cohort, calibrated to the OAK trial.

Why: the workflow needs a realistic cohort with a *known* answer, so that tests, the
demo run and the benchmark can check that the pipeline recovers the true effect of low
baseline serum magnesium (Mg) on survival under immunotherapy, and finds none under
chemotherapy.

Cohort
    ``n`` second-line NSCLC patients, randomised 1:1 (random permutation) to
    ``immunotherapy`` (atezolizumab-like) or ``chemotherapy`` (docetaxel-like).
    Baseline covariates are drawn independently of each other, of the arm and of Mg, with
    roughly OAK's baseline proportions (see :data:`CATEGORICAL_DISTRIBUTIONS`); age is
    normal(63.5, 9) clipped to [30, 90] years. Serum Mg is normal(mean, sd) clipped to
    [0.30, 1.60] mmol/L and rounded to 0.01; "low Mg" means ``mg_mmol_l < threshold``.

Outcome model
    Time to death ``D`` and time to progression ``P`` are independent given the
    covariates ``x``. Each follows a Weibull proportional-hazards model

        h(t | x) = h0_arm(t) * exp(lp_arm(x)),   H0_arm(t) = (t / scale) ** shape,

    with the same linear predictor for ``P`` and ``D``: the log-HRs in
    :data:`COVARIATE_LOG_HR` (PD-L1 acts under immunotherapy only, smoking has no effect)
    plus ``log(HR_arm)`` for low Mg. Because both hazards share ``lp``, the PFS hazard
    (of ``min(P, D)``) is ``(h0_P + h0_D) * exp(lp)``: PFS and OS are both exactly
    proportional-hazards in every covariate, and low Mg multiplies both by ``HR_arm``
    conditional on the other covariates. Shapes (:data:`WEIBULL_SHAPE`): death 1.3 in
    both arms; progression 1.0 under chemotherapy and 0.8 under immunotherapy (its long
    tail of durable responses).

Calibration
    Per arm, on that arm's own simulated covariates (so it is deterministic), the death
    scale is solved with :func:`scipy.optimize.brentq` so that the *marginal* median of
    ``D``, ``mean_i S_D,i(m) = 0.5``, equals the OAK OS median; then the progression scale
    so that the marginal median of ``min(P, D)``, ``mean_i S_P,i(m) S_D,i(m) = 0.5``,
    equals the OAK PFS median. Changing the Mg HR therefore changes the baseline hazard,
    not the arm's medians.

Censoring and recording
    ``D`` and ``P`` are drawn by inverse transform from uniforms. Accrual is uniform over
    ``accrual_months``; the data cut-off is ``accrual + min_followup`` months, giving
    administrative censoring at ``cutoff - accrual time``; loss to follow-up is exponential
    with ``dropout_per_year``. ``C = min(admin, dropout)``, ``OS = min(D, C)``,
    ``PFS = min(P, D, C)``. Times are recorded in 0.1 months rounded *up*, so no time is 0,
    ``OS >= PFS`` holds, and ties occur as in real data.

Non-proportional hazards (for the validation study)
    With ``low_mg_effect_months`` set, low Mg multiplies both hazards by ``HR_arm`` only up
    to that time and not after (:func:`_weibull_inverse_limited`); the scales are then
    calibrated as if the effect lasted, so the arms' medians come out somewhat longer than
    the targets. Left empty (the default), the draws are exactly those of the
    proportional-hazards model above.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from mgsurv.cohort.synthetic_arms import ARMS, CHEMOTHERAPY, IMMUNOTHERAPY
from mgsurv.errors import InputError
from mgsurv.files.tables import write_text
from mgsurv.schemas import CONFIG_DEFAULTS

COLUMNS = (
    "patient_id",
    "arm",
    "age",
    "sex",
    "ecog",
    "histology",
    "pdl1",
    "smoking",
    "prior_lines",
    "mg_mmol_l",
    "pfs_months",
    "pfs_event",
    "os_months",
    "os_event",
)

AGE_MEAN_YEARS = 63.5
AGE_SD_YEARS = 9.0
AGE_RANGE_YEARS = (30, 90)
MG_RANGE_MMOL_L = (0.30, 1.60)

# Baseline proportions, approximately OAK's (values, probabilities), in drawing order.
CATEGORICAL_DISTRIBUTIONS: dict[str, tuple[tuple[Any, ...], tuple[float, ...]]] = {
    "sex": (("male", "female"), (0.61, 0.39)),
    "ecog": ((0, 1), (0.37, 0.63)),
    "histology": (("non-squamous", "squamous"), (0.74, 0.26)),
    "pdl1": (("<1%", "1-49%", ">=50%"), (0.46, 0.34, 0.20)),
    "smoking": (("never", "current", "former"), (0.18, 0.15, 0.67)),
    "prior_lines": ((1, 2), (0.75, 0.25)),
}

# True conditional log hazard ratios, shared by progression and death in both arms except
# where the key says "immunotherapy". Smoking has no effect.
COVARIATE_LOG_HR: dict[str, float] = {
    "ecog_1_vs_0": math.log(1.5),
    "squamous_vs_non_squamous": math.log(1.3),
    "male_vs_female": math.log(1.1),
    "age_per_10_years_above_63.5": math.log(1.05),
    "prior_lines_2_vs_1": math.log(1.15),
    "pdl1_1-49%_vs_<1%_immunotherapy": math.log(0.85),
    "pdl1_>=50%_vs_<1%_immunotherapy": math.log(0.7),
}

WEIBULL_SHAPE: dict[str, dict[str, float]] = {
    IMMUNOTHERAPY: {"death": 1.3, "progression": 0.8},
    CHEMOTHERAPY: {"death": 1.3, "progression": 1.0},
}


@dataclass(frozen=True)
class SyntheticParams:
    """Everything that determines a synthetic cohort; equal params give identical output."""

    # The workflow's settings (config ``synthetic`` and the threshold), defaults as the schema's.
    n: int = CONFIG_DEFAULTS["synthetic"]["n"]
    seed: int = CONFIG_DEFAULTS["synthetic"]["seed"]
    hr_low_mg_immunotherapy: float = CONFIG_DEFAULTS["synthetic"]["hr_low_mg_immunotherapy"]
    hr_low_mg_chemotherapy: float = CONFIG_DEFAULTS["synthetic"]["hr_low_mg_chemotherapy"]
    mg_threshold_mmol_l: float = CONFIG_DEFAULTS["mg_threshold_mmol_l"]
    mg_mean_mmol_l: float = 0.79
    mg_sd_mmol_l: float = 0.11
    accrual_months: float = 24.0
    min_followup_months: float = 12.0
    dropout_per_year: float = 0.05
    os_median_immunotherapy: float = 13.8
    os_median_chemotherapy: float = 9.6
    pfs_median_immunotherapy: float = 2.8
    pfs_median_chemotherapy: float = 4.0
    # None: low Mg multiplies the hazards throughout (proportional hazards). A number: only
    # until that many months, none after (a proportional-hazards violation, for validation)
    low_mg_effect_months: float | None = None
    # Mean serum Mg of ECOG 1 patients minus that of ECOG 0 ones: below 0, low Mg is more
    # frequent with a poorer performance status, which shortens survival (confounding by
    # ECOG, for validation).
    mg_shift_ecog_mmol_l: float = 0.0
    # The chance that age and ECOG are missing for a low-Mg patient whose PFS event came
    # within EARLY_EVENT_MONTHS (missing at random given Mg and the outcome, for validation).
    missing_covariates_early_event: float = 0.0

    def __post_init__(self) -> None:
        """Reject values the generator cannot honour, naming the field and the fix."""
        for name in ("n", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise InputError(
                    f"simulation parameter {name} must be a whole number, got {value!r}",
                    fix=f"set {name} to an integer",
                )
        if self.n < 2:
            raise InputError(
                f"simulation parameter n must be at least 2 (one patient per arm), got {self.n}",
                fix="set n to 2 or more",
            )
        if self.seed < 0:
            raise InputError(
                f"simulation parameter seed must be non-negative, got {self.seed}",
                fix="set seed to 0 or a positive integer",
            )
        positive = (
            "hr_low_mg_immunotherapy",
            "hr_low_mg_chemotherapy",
            "mg_threshold_mmol_l",
            "mg_mean_mmol_l",
            "mg_sd_mmol_l",
            "accrual_months",
            "min_followup_months",
            "os_median_immunotherapy",
            "os_median_chemotherapy",
            "pfs_median_immunotherapy",
            "pfs_median_chemotherapy",
        )
        for name in positive:
            value = getattr(self, name)
            if not _is_real(value) or not math.isfinite(value) or value <= 0:
                raise InputError(
                    f"simulation parameter {name} must be a finite number > 0, got {value!r}",
                    fix=f"set {name} to a positive number",
                )
        effect_months = self.low_mg_effect_months
        if effect_months is not None and (
            not _is_real(effect_months) or not math.isfinite(effect_months) or effect_months <= 0
        ):
            raise InputError(
                "simulation parameter low_mg_effect_months must be empty or a finite number"
                f" > 0, got {effect_months!r}",
                fix="leave low_mg_effect_months out for a lasting effect, or set it to e.g. 6",
            )
        shift = self.mg_shift_ecog_mmol_l
        if not _is_real(shift) or not math.isfinite(shift) or abs(shift) >= 1:
            raise InputError(
                f"simulation parameter mg_shift_ecog_mmol_l must be a number between -1 and 1"
                f" (mmol/L), got {shift!r}",
                fix="set mg_shift_ecog_mmol_l to e.g. -0.08, or 0 for no confounding",
            )
        missing = self.missing_covariates_early_event
        if not _is_real(missing) or not 0 <= missing < 1:
            raise InputError(
                "simulation parameter missing_covariates_early_event must be a fraction in"
                f" [0, 1), got {missing!r}",
                fix="set missing_covariates_early_event to e.g. 0.6, or 0 for complete data",
            )
        if not _is_real(self.dropout_per_year) or not 0 <= self.dropout_per_year < 1:
            raise InputError(
                "simulation parameter dropout_per_year must be a fraction in [0, 1),"
                f" got {self.dropout_per_year!r}",
                fix="set dropout_per_year to e.g. 0.05 for 5% lost to follow-up per year",
            )
        for arm in ARMS:
            pfs, os_ = getattr(self, f"pfs_median_{arm}"), getattr(self, f"os_median_{arm}")
            if pfs >= os_:
                raise InputError(
                    f"simulation parameter pfs_median_{arm} ({pfs}) must be below"
                    f" os_median_{arm} ({os_}): progression-free survival ends at death",
                    fix=f"set pfs_median_{arm} lower than os_median_{arm}",
                )

    def hr_low_mg(self, arm: str) -> float:
        """The true conditional hazard ratio of low Mg in ``arm``."""
        return getattr(self, f"hr_low_mg_{arm}")

    def os_median(self, arm: str) -> float:
        """The target marginal OS median (months) in ``arm``."""
        return getattr(self, f"os_median_{arm}")

    def pfs_median(self, arm: str) -> float:
        """The target marginal PFS median (months) in ``arm``."""
        return getattr(self, f"pfs_median_{arm}")

    @property
    def data_cutoff_months(self) -> float:
        """Time from first enrolment to the data cut-off."""
        return self.accrual_months + self.min_followup_months


def _is_real(value: Any) -> bool:
    """True for real numbers (including numpy's), False for bools, strings and None."""
    return isinstance(value, Real) and not isinstance(value, bool)


def simulate_cohort(params: SyntheticParams) -> tuple[pd.DataFrame, dict]:
    """Return (cohort table, truth dict) for ``params``; deterministic by ``params.seed``.

    The cohort has exactly the columns in :data:`COLUMNS`; the truth dict records the
    generating parameters, the true effects, the calibrated Weibull scales and a few
    observed counts, all as plain JSON-serialisable values.
    """
    rng = np.random.default_rng(params.seed)
    n = params.n
    arm = _assign_arms(rng, n)
    covariates = _draw_covariates(rng, n)
    mg = _draw_mg(rng, n, params, covariates["ecog"].to_numpy())
    uniform_death = rng.random(n)
    uniform_progression = rng.random(n)
    censoring = _draw_censoring(rng, n, params)

    low_mg = mg < params.mg_threshold_mmol_l
    death = np.empty(n)
    progression = np.empty(n)
    scales: dict[str, dict[str, float]] = {}
    for name in ARMS:
        in_arm = arm == name
        lp = _linear_predictor(covariates[in_arm], name) + np.where(
            low_mg[in_arm], math.log(params.hr_low_mg(name)), 0.0
        )
        shape = WEIBULL_SHAPE[name]
        scale = _calibrate_scales(lp, shape, params.os_median(name), params.pfs_median(name))
        scales[name] = scale
        if params.low_mg_effect_months is None:
            death[in_arm] = _weibull_inverse(
                uniform_death[in_arm], lp, scale["death"], shape["death"]
            )
            progression[in_arm] = _weibull_inverse(
                uniform_progression[in_arm], lp, scale["progression"], shape["progression"]
            )
        else:
            limited = {
                "low": low_mg[in_arm],
                "hr": params.hr_low_mg(name),
                "until": params.low_mg_effect_months,
            }
            lp_without_mg = _linear_predictor(covariates[in_arm], name)
            death[in_arm] = _weibull_inverse_limited(
                uniform_death[in_arm], lp_without_mg, scale["death"], shape["death"], **limited
            )
            progression[in_arm] = _weibull_inverse_limited(
                uniform_progression[in_arm],
                lp_without_mg,
                scale["progression"],
                shape["progression"],
                **limited,
            )

    os_raw = np.minimum(death, censoring)
    pfs_raw = np.minimum(np.minimum(progression, death), censoring)
    cohort = pd.DataFrame(
        {
            "patient_id": _patient_ids(n),
            "arm": arm,
            **{column: covariates[column].to_numpy() for column in covariates.columns},
            "mg_mmol_l": mg,
            "pfs_months": _record_months(pfs_raw),
            "pfs_event": (np.minimum(progression, death) <= censoring).astype(np.int64),
            "os_months": _record_months(os_raw),
            "os_event": (death <= censoring).astype(np.int64),
        },
        columns=list(COLUMNS),
    )
    if params.missing_covariates_early_event:
        cohort = _with_missing_covariates(
            cohort, rng, params.missing_covariates_early_event, params.mg_threshold_mmol_l
        )
    return cohort, _truth(params, cohort, scales)


def _assign_arms(rng: np.random.Generator, n: int) -> np.ndarray:
    """1:1 randomisation by permutation; immunotherapy gets the extra patient if n is odd."""
    n_immunotherapy = (n + 1) // 2
    arms = np.array([IMMUNOTHERAPY] * n_immunotherapy + [CHEMOTHERAPY] * (n - n_immunotherapy))
    return rng.permutation(arms).astype(object)


def _draw_covariates(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Age and the categorical baseline covariates, mutually independent."""
    age = np.clip(np.rint(rng.normal(AGE_MEAN_YEARS, AGE_SD_YEARS, n)), *AGE_RANGE_YEARS)
    columns: dict[str, np.ndarray] = {"age": age.astype(np.int64)}
    for name, (values, probabilities) in CATEGORICAL_DISTRIBUTIONS.items():
        index = rng.choice(len(values), size=n, p=probabilities)
        column = np.array(values, dtype=object)[index]
        is_integer = isinstance(values[0], int)
        columns[name] = column.astype(np.int64) if is_integer else column
    return pd.DataFrame(columns)


def _draw_mg(
    rng: np.random.Generator, n: int, params: SyntheticParams, ecog: np.ndarray
) -> np.ndarray:
    """Baseline serum Mg (mmol/L), normal (its mean shifted by mg_shift_ecog_mmol_l for
    ECOG 1), clipped to a plausible range, to 0.01."""
    mg = rng.normal(params.mg_mean_mmol_l, params.mg_sd_mmol_l, n)
    if params.mg_shift_ecog_mmol_l:
        mg = mg + params.mg_shift_ecog_mmol_l * (ecog == 1)
    return np.round(np.clip(mg, *MG_RANGE_MMOL_L), 2)


# A PFS event this early makes age and ECOG missing with the chance
# missing_covariates_early_event.
EARLY_EVENT_MONTHS = 3.0


def _with_missing_covariates(
    cohort: pd.DataFrame, rng: np.random.Generator, chance: float, threshold: float
) -> pd.DataFrame:
    """Age and ECOG missing, each patient with ``chance``, for the patients with low Mg and
    an early PFS event: missing at random given what is observed (Mg and the outcome), and
    the complete cases lose the low-Mg patients who did worst. Drawn after everything else,
    so complete cohorts are unchanged; whole numbers stay whole."""
    early = (cohort["pfs_event"] == 1) & (cohort["pfs_months"] <= EARLY_EVENT_MONTHS)
    at_risk = early & (cohort["mg_mmol_l"] < threshold)
    gone = at_risk.to_numpy() & (rng.random(len(cohort)) < chance)
    return cohort.assign(
        **{column: cohort[column].astype("Int64").mask(gone) for column in ("age", "ecog")}
    )


def _draw_censoring(rng: np.random.Generator, n: int, params: SyntheticParams) -> np.ndarray:
    """Censoring time: the earlier of the data cut-off and exponential loss to follow-up."""
    administrative = params.data_cutoff_months - rng.uniform(0.0, params.accrual_months, n)
    # Drawn even without dropout, so the random stream does not depend on dropout_per_year.
    exponential = rng.standard_exponential(n)
    if params.dropout_per_year == 0:
        return administrative
    rate_per_month = -math.log1p(-params.dropout_per_year) / 12.0
    return np.minimum(administrative, exponential / rate_per_month)


def _linear_predictor(covariates: pd.DataFrame, arm: str) -> np.ndarray:
    """Log relative hazard from the baseline covariates (without Mg) in ``arm``."""
    effect = COVARIATE_LOG_HR
    lp = (
        effect["ecog_1_vs_0"] * (covariates["ecog"] == 1)
        + effect["squamous_vs_non_squamous"] * (covariates["histology"] == "squamous")
        + effect["male_vs_female"] * (covariates["sex"] == "male")
        + effect["age_per_10_years_above_63.5"] * (covariates["age"] - AGE_MEAN_YEARS) / 10.0
        + effect["prior_lines_2_vs_1"] * (covariates["prior_lines"] == 2)
    )
    if arm == IMMUNOTHERAPY:
        lp = (
            lp
            + effect["pdl1_1-49%_vs_<1%_immunotherapy"] * (covariates["pdl1"] == "1-49%")
            + effect["pdl1_>=50%_vs_<1%_immunotherapy"] * (covariates["pdl1"] == ">=50%")
        )
    return lp.to_numpy(dtype=float)


def _calibrate_scales(
    lp: np.ndarray, shape: dict[str, float], os_median: float, pfs_median: float
) -> dict[str, float]:
    """Weibull scales giving these marginal OS and PFS medians over patients with ``lp``.

    With ``H_i(t) = (t / scale) ** shape * exp(lp_i)`` we solve for
    ``c = (median / scale) ** shape``, the baseline cumulative hazard at the median, whose
    root is strictly bracketed even when all patients share one ``lp``: at
    ``c = ln 2 / (2 max exp(lp))`` every patient's survival is above 1/2, at
    ``c = 2 ln 2 / min exp(lp)`` every one is below 1/2.
    """
    risk = np.exp(lp)
    lower, upper = math.log(2) / (2 * risk.max()), 2 * math.log(2) / risk.min()

    def death_excess(c: float) -> float:
        return float(np.mean(np.exp(-c * risk))) - 0.5

    c_death = brentq(death_excess, lower, upper, xtol=1e-14, rtol=1e-12)
    death_scale = os_median / c_death ** (1.0 / shape["death"])

    # Survival from death at the PFS median; > 1/2 on average because pfs_median < os_median.
    survive_death = np.exp(-((pfs_median / death_scale) ** shape["death"]) * risk)

    def pfs_excess(c: float) -> float:
        return float(np.mean(survive_death * np.exp(-c * risk))) - 0.5

    c_progression = brentq(pfs_excess, 0.0, upper, xtol=1e-14, rtol=1e-12)
    progression_scale = pfs_median / c_progression ** (1.0 / shape["progression"])
    return {"death": float(death_scale), "progression": float(progression_scale)}


def _weibull_inverse(uniform: np.ndarray, lp: np.ndarray, scale: float, shape: float) -> np.ndarray:
    """Event times with ``S(t) = 1 - uniform`` under the Weibull PH model."""
    cumulative_hazard = -np.log1p(-uniform)
    return scale * (cumulative_hazard * np.exp(-lp)) ** (1.0 / shape)


def _weibull_inverse_limited(
    uniform: np.ndarray,
    lp: np.ndarray,
    scale: float,
    shape: float,
    low: np.ndarray,
    hr: float,
    until: float,
) -> np.ndarray:
    """Event times when low Mg multiplies the hazard by ``hr`` only until ``until`` months.

    For a low-Mg patient the cumulative hazard is ``exp(lp) * (hr * H0(t))`` up to
    ``until`` and ``exp(lp) * (hr * H0(until) + H0(t) - H0(until))`` after, with
    ``H0(t) = (t / scale) ** shape``; inverted piecewise. Other patients as
    :func:`_weibull_inverse` with ``lp``.
    """
    target = -np.log1p(-uniform) * np.exp(-lp)  # H0 units, before the Mg effect
    h0_until = (until / scale) ** shape
    early = target <= hr * h0_until
    h0 = np.where(low, np.where(early, target / hr, h0_until + target - hr * h0_until), target)
    return scale * h0 ** (1.0 / shape)


def _record_months(months: np.ndarray) -> np.ndarray:
    """Round times up to 0.1 month (at least 0.1), guarding against float noise.

    Rounding to 1e-9 months first keeps e.g. 2.0000000001 from becoming 2.1. Both
    roundings are monotone, so ``OS >= PFS`` survives them.
    """
    tenths = np.maximum(np.ceil(np.round(months * 10.0, 8)), 1.0)
    return tenths / 10.0


# The generator's name in truth.json: the module's name when the first truth files were
# written (it is now mgsurv.cohort.simulate); kept so that truth files stay comparable.
GENERATOR = "mgsurv.simulate"


def _patient_ids(n: int) -> list[str]:
    """SYN0001, SYN0002, ... zero-padded to the width of n (at least 4 digits)."""
    width = max(4, len(str(n)))
    return [f"SYN{i:0{width}d}" for i in range(1, n + 1)]


def _truth(
    params: SyntheticParams, cohort: pd.DataFrame, scales: dict[str, dict[str, float]]
) -> dict[str, Any]:
    """The generating truth and observed counts, as plain JSON-serialisable values."""
    return {
        "generator": GENERATOR,
        "params": asdict(params),
        "true_hr_low_mg": {arm: float(params.hr_low_mg(arm)) for arm in ARMS},
        "covariate_log_hr": dict(COVARIATE_LOG_HR),
        "weibull_shape": {arm: dict(shapes) for arm, shapes in WEIBULL_SHAPE.items()},
        "calibrated_scale": scales,
        "observed": {
            "n": len(cohort),
            "fraction_low_mg": float(np.mean(cohort["mg_mmol_l"] < params.mg_threshold_mmol_l)),
            "pfs_events": int(cohort["pfs_event"].sum()),
            "os_events": int(cohort["os_event"].sum()),
            "data_cutoff_months": float(params.data_cutoff_months),
        },
    }


def write_cohort(
    cohort: pd.DataFrame, truth: dict, csv_path: str | Path, truth_path: str | Path
) -> None:
    """Write the cohort CSV and the truth JSON, byte-identical for identical inputs.

    Times are written with exactly 1 decimal and Mg with 2, so no float noise such as
    ``2.3000000000000003`` reaches the file; the JSON is indented and key-sorted so diffs
    between runs are readable.
    """
    formatted = cohort.assign(
        pfs_months=cohort["pfs_months"].map("{:.1f}".format),
        os_months=cohort["os_months"].map("{:.1f}".format),
        mg_mmol_l=cohort["mg_mmol_l"].map("{:.2f}".format),
    )
    write_text(formatted.to_csv(index=False, lineterminator="\n"), csv_path)
    write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n", truth_path)
