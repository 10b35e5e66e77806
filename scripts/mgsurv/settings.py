"""The study settings as typed objects, each built once from the validated workflow config.

Each stage reads only its own object: prepare :class:`PrepareSettings`, the endpoint
analyses :class:`AnalysisSettings`, the report :class:`ReportSettings`. Their field names
are the config's keys, so a rule passes exactly :func:`config_keys` of its settings (a
change to another key never reruns it), and their defaults are the config schema's
(:data:`mgsurv.schemas.CONFIG_DEFAULTS`, the one source of every default): ``X()`` is what
the shipped config gives, ``X.from_config(config)`` what a run's config gives.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from mgsurv.schemas import CONFIG_DEFAULTS

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# The values the config schema allows for these settings (workflow/schemas/config.schema.yaml):
# the Kaplan-Meier band (R's survfit conf.type), the PH test's time transform (cox.zph) and
# the pairwise log-rank tests' adjustment (p.adjust).
ConfType = Literal["log-log", "log", "plain"]
Endpoint = Literal["pfs", "os"]
PrimaryModel = Literal["arm", "interaction"]
Contrast = Literal["low_vs_normal", "per_0.1_mmol_l"]
PhTransform = Literal["km", "rank", "identity", "log"]
AdjustMethod = Literal["holm", "BH"]
S = TypeVar("S", bound="DataclassInstance")


# The metadata key of a field that holds the whole config rather than one of its keys.
WHOLE = "whole config"


def config_keys(*settings_classes: type) -> list[str]:
    """The config keys settings classes are built from: their fields' names, in order, each
    once (a ReportSettings' whole ``config`` is not a key)."""
    names = [f.name for c in settings_classes for f in fields(c) if not f.metadata.get(WHOLE)]
    return list(dict.fromkeys(names))


def _default(key: str, convert: Any = None) -> Any:
    """A dataclass field whose default is the schema's default of config key ``key``
    (converted, e.g. to a tuple: a dataclass default must not be a shared list)."""
    value = CONFIG_DEFAULTS[key]
    return field(default_factory=lambda: convert(value) if convert else value)


def _from_config(settings_class: type[S], config: dict) -> S:
    """A settings object from the config's values of its fields (lists as tuples, the
    cut-point as its settings, as the fields' defaults are; a WHOLE field gets the whole
    config)."""
    values: dict[str, Any] = {}
    for settings_field in fields(settings_class):
        if settings_field.metadata.get(WHOLE):
            values[settings_field.name] = dict(config)
            continue
        value = config[settings_field.name]
        default = (
            settings_field.default
            if settings_field.default_factory is MISSING
            else settings_field.default_factory()
        )
        if isinstance(default, tuple):
            value = tuple(value)
        elif isinstance(
            default,
            (
                CutpointSettings,
                PrimarySettings,
                ThresholdGrid,
                IptwSettings,
                ImputationSettings,
            ),
        ):
            value = type(default)(**value) if value is not None else None
        values[settings_field.name] = value
    return settings_class(**values)


@dataclass(frozen=True)
class CutpointSettings:
    """Which endpoint the exploratory cut-point is searched on, and the trimming (config
    ``cutpoint``)."""

    endpoint: str = CONFIG_DEFAULTS["cutpoint"]["endpoint"]
    minprop: float = CONFIG_DEFAULTS["cutpoint"]["minprop"]


@dataclass(frozen=True)
class ThresholdGrid:
    """The thresholds at which the adjusted low-Mg HR is refitted (config
    ``threshold_grid``): from ``lowest`` to ``highest`` mmol/L in steps of ``step``."""

    lowest: float = CONFIG_DEFAULTS["threshold_grid"]["lowest"]
    highest: float = CONFIG_DEFAULTS["threshold_grid"]["highest"]
    step: float = CONFIG_DEFAULTS["threshold_grid"]["step"]

    def thresholds(self) -> list[float]:
        """The grid, never past ``highest`` (empty when lowest is above it), rounded to 1e-6
        mmol/L (so that 0.70 is 0.7, not 0.7000000000000001)."""
        count = math.floor((self.highest - self.lowest) / self.step + 1e-9) + 1
        return [round(self.lowest + i * self.step, 6) for i in range(max(count, 0))]


@dataclass(frozen=True)
class IptwSettings:
    """Inverse probability of treatment weighting of low vs normal Mg (config ``iptw``):
    ``trim_percentile`` (e.g. 99) sets the weights beyond the 1st and 99th percentiles to
    those percentiles; None = no trimming."""

    trim_percentile: float | None = CONFIG_DEFAULTS["iptw"]["trim_percentile"]


@dataclass(frozen=True)
class ImputationSettings:
    """Multiple imputation of missing covariates (config ``multiple_imputation``): ``m``
    imputations, each a chain of ``iterations`` rounds, from the random ``seed`` (the same
    seed gives the same imputations)."""

    m: int = CONFIG_DEFAULTS["multiple_imputation"]["m"]
    iterations: int = CONFIG_DEFAULTS["multiple_imputation"]["iterations"]
    seed: int = CONFIG_DEFAULTS["multiple_imputation"]["seed"]


@dataclass(frozen=True)
class PrimarySettings:
    """The declared primary analysis (config ``primary``): its endpoint, its contrast (low
    vs normal Mg at the threshold, or Mg per 0.1 mmol/L), and whether the HR within
    immunotherapy comes from the arm's own model (``arm``) or from the Mg x arm interaction
    model (``interaction``)."""

    endpoint: Endpoint = CONFIG_DEFAULTS["primary"]["endpoint"]
    contrast: Contrast = CONFIG_DEFAULTS["primary"]["contrast"]
    model: PrimaryModel = CONFIG_DEFAULTS["primary"]["model"]


@dataclass(frozen=True)
class PrepareSettings:
    """What prepare needs besides the CSV and its mapping: the covariates to read, the
    reference arm (it must occur), the pre-specified Mg threshold and the cut-point search."""

    covariates: tuple[dict, ...] = _default("covariates", tuple)
    reference_arm: str | None = CONFIG_DEFAULTS["reference_arm"]
    mg_threshold_mmol_l: float = CONFIG_DEFAULTS["mg_threshold_mmol_l"]
    cutpoint: CutpointSettings = field(default_factory=CutpointSettings)

    @classmethod
    def from_config(cls, config: dict) -> PrepareSettings:
        """From the validated workflow config (see config/config.yaml)."""
        return _from_config(cls, config)


@dataclass(frozen=True)
class AnalysisSettings:
    """What the estimates of an endpoint depend on: the covariates adjusted for, the
    reference arm, strata, KM confidence bands, landmarks, RMST tau, the PH-test transform,
    the pairwise adjustment, the spline's reference Mg, and the sensitivity analyses
    computed per endpoint (the threshold grid, the subgroups, the weighting, the imputation)."""

    covariates: tuple[dict, ...] = _default("covariates", tuple)
    reference_arm: str | None = CONFIG_DEFAULTS["reference_arm"]
    strata: tuple[str, ...] = _default("strata", tuple)
    conf_type: ConfType = CONFIG_DEFAULTS["conf_type"]
    landmark_months: tuple[float, ...] = _default("landmark_months", tuple)
    rmst_tau_months: float | None = CONFIG_DEFAULTS["rmst_tau_months"]
    ph_transform: PhTransform = CONFIG_DEFAULTS["ph_transform"]
    pairwise_adjust: AdjustMethod = CONFIG_DEFAULTS["pairwise_adjust"]
    spline_reference_mmol_l: float = CONFIG_DEFAULTS["spline_reference_mmol_l"]
    threshold_grid: ThresholdGrid | None = field(default_factory=ThresholdGrid)
    subgroups: bool = CONFIG_DEFAULTS["subgroups"]
    iptw: IptwSettings | None = field(default_factory=IptwSettings)
    multiple_imputation: ImputationSettings | None = field(default_factory=ImputationSettings)

    @classmethod
    def from_config(cls, config: dict) -> AnalysisSettings:
        """From the validated workflow config (see config/config.yaml)."""
        return _from_config(cls, config)


@dataclass(frozen=True)
class ReportSettings:
    """The settings the report states or applies: the primary analysis, the covariates'
    labels, how groups, curves and tests were made (for its Methods), the figures' at-risk
    cut-off and times, the small-count threshold for sharing, and the whole config (for the
    reproducibility appendix)."""

    mg_threshold_mmol_l: float = CONFIG_DEFAULTS["mg_threshold_mmol_l"]
    covariates: tuple[dict, ...] = _default("covariates", tuple)
    conf_type: ConfType = CONFIG_DEFAULTS["conf_type"]
    landmark_months: tuple[float, ...] = _default("landmark_months", tuple)
    strata: tuple[str, ...] = _default("strata", tuple)
    pairwise_adjust: AdjustMethod = CONFIG_DEFAULTS["pairwise_adjust"]
    rmst_tau_months: float | None = CONFIG_DEFAULTS["rmst_tau_months"]
    ph_transform: PhTransform = CONFIG_DEFAULTS["ph_transform"]
    spline_reference_mmol_l: float = CONFIG_DEFAULTS["spline_reference_mmol_l"]
    cutpoint: CutpointSettings = field(default_factory=CutpointSettings)
    primary: PrimarySettings = field(default_factory=PrimarySettings)
    km_min_at_risk: int = CONFIG_DEFAULTS["km_min_at_risk"]
    risk_table_times: tuple[float, ...] = _default("risk_table_times", tuple)
    report_min_count: int = CONFIG_DEFAULTS["report_min_count"]
    # The run's config as the appendix shows it (YAML); empty when not recorded.
    config: dict = field(default_factory=dict, metadata={WHOLE: True})

    @classmethod
    def from_config(cls, config: dict) -> ReportSettings:
        """From the validated workflow config (see config/config.yaml)."""
        return _from_config(cls, config)


@dataclass(frozen=True)
class OverviewSettings:
    """The settings the multi-cohort overview applies: the declared primary analysis (what
    it pools), the covariates (what the estimates are adjusted for), the clinical threshold
    (its wording) and the small-count threshold for sharing."""

    primary: PrimarySettings = field(default_factory=PrimarySettings)
    covariates: tuple[dict, ...] = _default("covariates", tuple)
    mg_threshold_mmol_l: float = CONFIG_DEFAULTS["mg_threshold_mmol_l"]
    report_min_count: int = CONFIG_DEFAULTS["report_min_count"]

    @classmethod
    def from_config(cls, config: dict) -> OverviewSettings:
        """From the validated workflow config (see config/config.yaml)."""
        return _from_config(cls, config)
