"""The study settings as typed objects, each built once from the validated workflow config.

Each stage reads only its own object: prepare :class:`PrepareSettings`, the endpoint
analyses :class:`AnalysisSettings`, the report :class:`ReportSettings`. Their field names
are the config's keys, so a rule passes exactly :func:`config_keys` of its settings (a
change to another key never reruns it), and their defaults are the config schema's
(:data:`mgsurv.schemas.CONFIG_DEFAULTS`, the one source of every default): ``X()`` is what
the shipped config gives, ``X.from_config(config)`` what a run's config gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from mgsurv.schemas import CONFIG_DEFAULTS

# The values the config schema allows for these settings (workflow/schemas/config.schema.yaml):
# the Kaplan-Meier band (R's survfit conf.type), the PH test's time transform (cox.zph) and
# the pairwise log-rank tests' adjustment (p.adjust).
ConfType = Literal["log-log", "log", "plain"]
PhTransform = Literal["km", "rank", "identity", "log"]
AdjustMethod = Literal["holm", "BH"]


def config_keys(settings_class: type) -> list[str]:
    """The config keys a settings class is built from: its field names (in order)."""
    return [f.name for f in fields(settings_class) if f.name != "config"]


def _default(key: str, convert: Any = None) -> Any:
    """A dataclass field whose default is the schema's default of config key ``key``
    (converted, e.g. to a tuple: a dataclass default must not be a shared list)."""
    value = CONFIG_DEFAULTS[key]
    return field(default_factory=lambda: convert(value) if convert else value)


@dataclass(frozen=True)
class CutpointSettings:
    """Which endpoint the exploratory cut-point is searched on, and the trimming (config
    ``cutpoint``)."""

    endpoint: str = CONFIG_DEFAULTS["cutpoint"]["endpoint"]
    minprop: float = CONFIG_DEFAULTS["cutpoint"]["minprop"]


@dataclass(frozen=True)
class PrepareSettings:
    """What prepare needs besides the CSV and its mapping: the covariates to read, the
    pre-specified Mg threshold and the cut-point search."""

    covariates: tuple[dict, ...] = _default("covariates", tuple)
    mg_threshold_mmol_l: float = CONFIG_DEFAULTS["mg_threshold_mmol_l"]
    cutpoint: CutpointSettings = field(default_factory=CutpointSettings)

    @classmethod
    def from_config(cls, config: dict) -> PrepareSettings:
        """From the validated workflow config (see config/config.yaml)."""
        return cls(
            covariates=tuple(config["covariates"]),
            mg_threshold_mmol_l=config["mg_threshold_mmol_l"],
            cutpoint=CutpointSettings(**config["cutpoint"]),
        )


@dataclass(frozen=True)
class AnalysisSettings:
    """What the estimates of an endpoint depend on: the covariates adjusted for, the
    reference arm, strata, KM confidence bands, landmarks, RMST tau, the PH-test transform,
    the pairwise adjustment and the spline's reference Mg."""

    covariates: tuple[dict, ...] = _default("covariates", tuple)
    reference_arm: str | None = CONFIG_DEFAULTS["reference_arm"]
    strata: tuple[str, ...] = _default("strata", tuple)
    conf_type: ConfType = CONFIG_DEFAULTS["conf_type"]
    landmark_months: tuple[float, ...] = _default("landmark_months", tuple)
    rmst_tau_months: float | None = CONFIG_DEFAULTS["rmst_tau_months"]
    ph_transform: PhTransform = CONFIG_DEFAULTS["ph_transform"]
    pairwise_adjust: AdjustMethod = CONFIG_DEFAULTS["pairwise_adjust"]
    spline_reference_mmol_l: float = CONFIG_DEFAULTS["spline_reference_mmol_l"]

    @classmethod
    def from_config(cls, config: dict) -> AnalysisSettings:
        """From the validated workflow config (see config/config.yaml)."""
        return cls(
            covariates=tuple(config["covariates"]),
            reference_arm=config["reference_arm"],
            strata=tuple(config["strata"]),
            conf_type=config["conf_type"],
            landmark_months=tuple(config["landmark_months"]),
            rmst_tau_months=config["rmst_tau_months"],
            ph_transform=config["ph_transform"],
            pairwise_adjust=config["pairwise_adjust"],
            spline_reference_mmol_l=config["spline_reference_mmol_l"],
        )


@dataclass(frozen=True)
class ReportSettings:
    """The settings the report states or applies: how groups, curves and tests were made
    (for its Methods), the figures' at-risk cut-off and times, the small-count threshold
    for sharing, and the whole config (for the reproducibility appendix)."""

    mg_threshold_mmol_l: float = CONFIG_DEFAULTS["mg_threshold_mmol_l"]
    conf_type: ConfType = CONFIG_DEFAULTS["conf_type"]
    landmark_months: tuple[float, ...] = _default("landmark_months", tuple)
    strata: tuple[str, ...] = _default("strata", tuple)
    pairwise_adjust: AdjustMethod = CONFIG_DEFAULTS["pairwise_adjust"]
    rmst_tau_months: float | None = CONFIG_DEFAULTS["rmst_tau_months"]
    ph_transform: PhTransform = CONFIG_DEFAULTS["ph_transform"]
    spline_reference_mmol_l: float = CONFIG_DEFAULTS["spline_reference_mmol_l"]
    cutpoint: CutpointSettings = field(default_factory=CutpointSettings)
    km_min_at_risk: int = CONFIG_DEFAULTS["km_min_at_risk"]
    risk_table_times: tuple[float, ...] = _default("risk_table_times", tuple)
    report_min_count: int = CONFIG_DEFAULTS["report_min_count"]
    # The run's config as the appendix shows it (YAML); empty when not recorded.
    config: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: dict) -> ReportSettings:
        """From the validated workflow config (see config/config.yaml)."""
        return cls(
            mg_threshold_mmol_l=config["mg_threshold_mmol_l"],
            conf_type=config["conf_type"],
            landmark_months=tuple(config["landmark_months"]),
            strata=tuple(config["strata"]),
            pairwise_adjust=config["pairwise_adjust"],
            rmst_tau_months=config["rmst_tau_months"],
            ph_transform=config["ph_transform"],
            spline_reference_mmol_l=config["spline_reference_mmol_l"],
            cutpoint=CutpointSettings(**config["cutpoint"]),
            km_min_at_risk=config["km_min_at_risk"],
            risk_table_times=tuple(config["risk_table_times"]),
            report_min_count=config["report_min_count"],
            config=dict(config),
        )
