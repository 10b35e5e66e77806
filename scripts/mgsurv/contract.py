"""The results contract: the files a cohort's analysis writes and everything that reads them
(report, multi-cohort overview, validation study, benchmark, tests, the workflow's rules)
relies on — table names and columns, Mg groupings, model and term names, and the thresholds
that flag a result.

README "Outputs" describes it for users; this module is its one owner in code. The analysis
writes through it (:func:`endpoint_table`, :func:`model_statistics`, the term-name
builders) and the readers read from it (the same names, :func:`parse_term`), so that no
table, column, model or term name is spelled on both sides of the seam. Principles: one row
per estimate (tidy); ``endpoint`` is ``pfs`` or ``os``; times in months, Mg in mmol/L; term
names say their reference (``mg_clinical[low vs normal]``); the report is built only from
these tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ENDPOINTS = ("pfs", "os")


def time_column(endpoint: str) -> str:
    """The cohort column of an endpoint's time in months (``pfs_months``)."""
    return f"{endpoint}_months"


def event_column(endpoint: str) -> str:
    """The cohort column of an endpoint's event indicator, 1 = event (``pfs_event``)."""
    return f"{endpoint}_event"


# The analysis-ready cohort's treatment arm (one value for a single-arm cohort).
ARM_COLUMN = "arm"
# Serum Mg in the analysis-ready cohort, and the Mg groupings added to it as columns (also
# the values of the tables' ``grouping`` column): the pre-specified clinical threshold,
# sample quartiles, and the exploratory data-driven cut-point.
MG_COLUMN = "mg_mmol_l"
CLINICAL_GROUPING = "mg_clinical"
QUARTILE_GROUPING = "mg_quartile"
CUTPOINT_GROUPING = "mg_cutpoint"
GROUPINGS = (CLINICAL_GROUPING, QUARTILE_GROUPING, CUTPOINT_GROUPING)
LOW, NORMAL, HIGH = "low", "normal", "high"
# Each grouping's groups in display order, and the reference group of its contrasts.
GROUP_ORDER = {
    CLINICAL_GROUPING: [NORMAL, LOW],
    QUARTILE_GROUPING: ["Q1", "Q2", "Q3", "Q4"],
    CUTPOINT_GROUPING: [HIGH, LOW],
}
REFERENCE_GROUP = {CLINICAL_GROUPING: NORMAL, QUARTILE_GROUPING: "Q1", CUTPOINT_GROUPING: HIGH}
# The survival tables' subset of all patients; followup.tsv's grouping and group of the row
# of all patients; baseline.tsv's group of all.
ALL_PATIENTS = "all"

# Cox models (cox.tsv and cox_models.tsv, column ``model``).
UNIVARIABLE = "univariable"
MULTIVARIABLE = "multivariable"
CONTINUOUS = "continuous"
STRATIFIED = "stratified"
INTERACTION = "interaction"
SPLINE = "spline"
TIME_SPLIT = "time-split"
CONTINUOUS_INTERACTION = "continuous-interaction"
ARM_MODEL_PREFIX = "arm="
# The log-rank family (logrank.tsv, column ``test``).
LOGRANK_TEST = "logrank"
STRATIFIED_LOGRANK_TEST = "stratified"
TREND_TEST = "trend"
PAIRWISE_TEST = "pairwise"
# The model whose scaled Schoenfeld residuals schoenfeld.tsv holds.
RESIDUALS_MODEL = MULTIVARIABLE
# ph_test.tsv's row of the global test (R's cox.zph "GLOBAL").
PH_GLOBAL = "GLOBAL"


# arms.tsv's treatment of each arm, as the mapping declares it (a single-arm cohort is taken
# as immunotherapy-treated; a multi-arm cohort whose mapping has no ``arms`` is undeclared).
IMMUNOTHERAPY_TREATMENT = "immunotherapy"
OTHER_TREATMENT = "other"
UNDECLARED_TREATMENT = "not declared"


def arm_model(arm: str) -> str:
    """The name of the model, and of the subset, of one arm's patients
    (``arm=immunotherapy``)."""
    return f"{ARM_MODEL_PREFIX}{arm}"


def continuous_arm_model(arm: str) -> str:
    """The name of the model of one arm's patients with serum Mg per 0.1 mmol/L
    (``continuous arm=immunotherapy``)."""
    return f"{CONTINUOUS} {arm_model(arm)}"


def model_arm(model: str) -> str | None:
    """The arm of a per-arm model's name; None for any other model."""
    return model.removeprefix(ARM_MODEL_PREFIX) if model.startswith(ARM_MODEL_PREFIX) else None


# Thresholds that flag a result: a proportional-hazards test below PH_ALPHA (and then the
# time-split model), fewer events per parameter than MIN_EVENTS_PER_PARAMETER (Peduzzi et
# al. 1995; cox_models.tsv's epv_below_10).
PH_ALPHA = 0.05
MIN_EVENTS_PER_PARAMETER = 10


# Term names (cox.tsv ``term``; ph_test.tsv's terms are the variables), built by these
# functions and taken apart by parse_term. Not covered: the spline model's basis terms
# (``mg_mmol_l``, ``mg_mmol_l'``..., named by mgsurv.stats.spline), which the report shows
# only as a curve.
def categorical_term(variable: str, level: str, reference: str) -> str:
    """A dummy of one level against the reference: ``sex[female vs male]``."""
    return f"{variable}[{level} vs {reference}]"


def interaction_term(left: str, right: str) -> str:
    """The product of two terms' columns: ``a:b``."""
    return f"{left}:{right}"


def per_unit_term(variable: str, step: float, unit: str) -> str:
    """A numeric term whose HR is per ``step`` units: ``mg_per_0.1_mmol_l``."""
    return f"{variable}_per_{step:g}_{unit}"


def within_arm_term(term: str, arm: str) -> str:
    """A term's effect in one arm, derived from the interaction model."""
    return f"{term} within arm={arm}"


def period_terms(term: str, cut: float) -> tuple[str, str]:
    """The time-split model's terms: the effect up to ``cut`` months and after it."""
    return f"{term} in (0, {cut:g}] months", f"{term} after {cut:g} months"


MG_PER = 0.1
KEY_TERM = categorical_term(CLINICAL_GROUPING, LOW, REFERENCE_GROUP[CLINICAL_GROUPING])
MG_CONTINUOUS_TERM = per_unit_term("mg", MG_PER, "mmol_l")
# Terms of serum Mg itself start with this; a model's other terms are its adjusters.
MG_TERM_PREFIX = "mg_"

_WITHIN_ARM = re.compile(r"^(?P<term>.+) within arm=(?P<arm>.+)$")
_PERIOD = re.compile(
    r"^(?P<term>.+) (?:in \(0, (?P<until>[0-9.]+)\]|after (?P<after>[0-9.]+)) months$"
)
_INTERACTION = re.compile(r"^(?P<left>[^:]+)\s*:\s*(?P<right>[^:]+\])$")
_CATEGORICAL = re.compile(r"^(?P<variable>[^\[]+)\[(?P<comparison>.+)\]$")
_PER_UNIT = re.compile(r"^(?P<variable>.+)_per_(?P<step>[0-9.]+)_(?P<unit>.+)$")


@dataclass(frozen=True)
class TermName:
    """A term name taken apart by :func:`parse_term`.

    kind: ``within_arm`` (``parts``: the term; ``arm``), ``period`` (``parts``: the term;
    ``comparison``: "up to 8.4 months" or "after 8.4 months"), ``interaction`` (``parts``:
    left and right), ``categorical`` (``variable``, ``comparison`` "level vs reference"),
    ``per_unit`` (``variable``, ``step``, ``unit``) or ``numeric`` (``variable``: the name).
    """

    kind: str
    variable: str = ""
    comparison: str = ""
    step: str = ""
    unit: str = ""
    arm: str = ""
    parts: tuple[TermName, ...] = ()


def parse_term(name: str) -> TermName:
    """The inverse of the term-name builders (a plain name is a ``numeric`` term)."""
    if match := _WITHIN_ARM.match(name):
        return TermName("within_arm", arm=match["arm"], parts=(parse_term(match["term"]),))
    if match := _PERIOD.match(name):
        period = (
            f"up to {match['until']} months" if match["until"] else f"after {match['after']} months"
        )
        return TermName("period", comparison=period, parts=(parse_term(match["term"]),))
    if match := _INTERACTION.match(name):
        return TermName(
            "interaction", parts=(parse_term(match["left"]), parse_term(match["right"]))
        )
    if match := _CATEGORICAL.match(name):
        return TermName("categorical", variable=match["variable"], comparison=match["comparison"])
    if match := _PER_UNIT.match(name):
        return TermName(
            "per_unit", variable=match["variable"], step=match["step"], unit=match["unit"]
        )
    return TermName("numeric", variable=name)


# rmst.tsv's group column: each group's own RMST, then each other group's contrasts
# against the reference group, labelled by these formats (built by rmst_contrast, taken
# apart by parse_rmst_group).
RMST_CONTRASTS = {
    "difference": "{group} - {reference}",
    "ratio": "{group} / {reference}",
    "rmtl_ratio": "RMTL {group} / {reference}",
}
_RMST_PATTERNS = (
    ("rmtl_ratio", re.compile(r"^RMTL (?P<group>.+) / (?P<reference>.+)$")),
    ("ratio", re.compile(r"^(?P<group>.+) / (?P<reference>.+)$")),
    ("difference", re.compile(r"^(?P<group>.+) - (?P<reference>.+)$")),
)


def rmst_contrast(kind: str, group: str, reference: str) -> str:
    """The rmst.tsv label of a contrast (a kind of RMST_CONTRASTS) of group vs reference."""
    return RMST_CONTRASTS[kind].format(group=group, reference=reference)


def parse_rmst_group(label: str) -> tuple[str, str, str]:
    """(kind, group, reference) of an rmst.tsv group label: a contrast's kind, or
    ``("group", label, "")`` for a group's own row."""
    for kind, pattern in _RMST_PATTERNS:
        if match := pattern.match(label):
            return kind, match["group"], match["reference"]
    return "group", label, ""


# The tables of one endpoint (results/<cohort>/endpoints/<endpoint>/<name>.tsv), stacked
# over the endpoints into results/<cohort>/tables/<name>.tsv. The survival tables
# (SUBSET_TABLES) hold each result for all patients (``subset`` ALL_PATIENTS) and, in a
# cohort of several arms, within each arm (``subset`` arm_model(arm)), in that order.
SUBSET_COLUMN = "subset"
LABEL_COLUMNS = ("endpoint", SUBSET_COLUMN, "grouping", "group")
# One hazard ratio as a row: with its 95% CI, Wald p, and the model's patients and events.
HR_ESTIMATE_COLUMNS = ("hr", "hr_lower", "hr_upper", "p", "n", "events")
COEFFICIENT_COLUMNS = ("term", "coef", "se", "hr", "hr_lower", "hr_upper", "z", "p", "n", "events")
LOGRANK_TEST_COLUMNS = ("test", "groups", "statistic", "df", "p", "p_adjusted")
RMST_COLUMNS = ("group", "tau", "estimate", "se", "lower", "upper", "p")
MODEL_STATISTICS_COLUMNS = (
    "n",
    "events",
    "parameters",
    "events_per_parameter",
    "epv_below_10",
    "converged",
    "loglik",
    "lr_statistic",
    "lr_df",
    "lr_p",
    "concordance",
    "note",
)
PH_TEST_COLUMNS = ("term", "chi2", "df", "p")
# schoenfeld.tsv: scaled Schoenfeld residuals per coefficient (``term``) of the model, with
# the PH-test term (``variable``) it belongs to; schoenfeld_smooth.tsv: R's plot.cox.zph
# smooth of each with its +-2 SE band at 40 points, and the coefficient (``coef``).
SCHOENFELD_COLUMNS = (
    "model",
    "variable",
    "term",
    "time",
    "transformed_time",
    "residual",
    "residuals",
)
SCHOENFELD_SMOOTH_COLUMNS = (
    "model",
    "variable",
    "term",
    "time",
    "transformed_time",
    "fit",
    "lower",
    "upper",
    "coef",
)
SPLINE_CURVE_COLUMNS = (MG_COLUMN, "hr", "hr_lower", "hr_upper")
NONLINEARITY_COLUMNS = ("model", "knots", "reference_mmol_l", "statistic", "df", "p", "n", "events")
ENDPOINT_TABLES: dict[str, tuple[str, ...]] = {
    "km_summary": (*LABEL_COLUMNS, "n", "events", "median", "median_lower", "median_upper"),
    "km_curves": (
        *LABEL_COLUMNS,
        "time",
        "n_risk",
        "n_event",
        "n_censor",
        "surv",
        "lower",
        "upper",
    ),
    "landmarks": (*LABEL_COLUMNS, "time", "surv", "lower", "upper"),
    "followup": (*LABEL_COLUMNS, "median_followup", "lower", "upper"),
    "logrank": ("endpoint", SUBSET_COLUMN, "grouping", *LOGRANK_TEST_COLUMNS),
    "cox": ("endpoint", "model", *COEFFICIENT_COLUMNS),
    "cox_models": ("endpoint", "model", "terms", "strata", *MODEL_STATISTICS_COLUMNS),
    "ph_test": ("endpoint", "model", *PH_TEST_COLUMNS),
    "schoenfeld": ("endpoint", *SCHOENFELD_COLUMNS),
    "schoenfeld_smooth": ("endpoint", *SCHOENFELD_SMOOTH_COLUMNS),
    "rmst": ("endpoint", SUBSET_COLUMN, "grouping", *RMST_COLUMNS),
    "spline": ("endpoint", *SPLINE_CURVE_COLUMNS),
    "nonlinearity": ("endpoint", *NONLINEARITY_COLUMNS),
    "thresholds": (
        "endpoint",
        SUBSET_COLUMN,
        "threshold_mmol_l",
        "n_low",
        "n_normal",
        *HR_ESTIMATE_COLUMNS,
    ),
    "subgroups": ("endpoint", "variable", "level", *HR_ESTIMATE_COLUMNS, "interaction_p"),
    "imputation": (
        "endpoint",
        "model",
        "term",
        "coef",
        "se",
        "hr",
        "hr_lower",
        "hr_upper",
        "p",
        "df",
        "fmi",
        "m",
        "n",
        "events",
    ),
    "iptw_balance": ("endpoint", SUBSET_COLUMN, "variable", "level", "smd", "smd_weighted"),
    "iptw_weights": (
        "endpoint",
        SUBSET_COLUMN,
        "group",
        "n",
        "effective_n",
        "min",
        "q1",
        "median",
        "q3",
        "max",
        "n_trimmed",
    ),
    "iptw_km": (
        "endpoint",
        SUBSET_COLUMN,
        "group",
        "time",
        "n_risk",
        "n_event",
        "surv",
        "patients_at_risk",
        "patients_with_event",
        "patients_censored",
    ),
    "iptw_cox": (
        "endpoint",
        SUBSET_COLUMN,
        "coef",
        "naive_se",
        "robust_se",
        *HR_ESTIMATE_COLUMNS,
        "note",
    ),
}
SUBSET_TABLES = ("km_summary", "km_curves", "landmarks", "followup", "logrank", "rmst")

# The tables of the whole cohort that prepare writes to results/<cohort>/tables/.
CUTPOINT_CANDIDATE_COLUMNS = ("cut", "statistic", "n_low", "n_high")
COHORT_TABLES: dict[str, tuple[str, ...]] = {
    "mg_groups": ("grouping", "group", "mg_from", "mg_to", "definition", "n"),
    "cutpoint": (
        "endpoint",
        "cutpoint_mmol_l",
        "statistic",
        "p_lau92",
        "p_lau94",
        "p_naive",
        "minprop",
        "maxprop",
        "n_low",
        "n_high",
        "events_low",
        "events_high",
        "same_split_as_threshold",
    ),
    "baseline": (
        "variable",
        "kind",
        "level",
        "group",
        "n",
        "percent",
        "median",
        "q1",
        "q3",
        "missing",
        "smd",
    ),
    "mg_distribution": (MG_COLUMN, "n"),
    "arms": (ARM_COLUMN, "treatment", "n"),
    "cutpoint_candidates": CUTPOINT_CANDIDATE_COLUMNS,
}
# The cohort's other files in results/<cohort>/ (flow and excluded are tables as well).
COHORT_FILES = {
    "cohort": "cohort.parquet",
    "flow": "flow.tsv",
    "excluded": "excluded.tsv",
    "provenance": "provenance.json",
}
FLOW_COLUMNS = ("step", "reason", "n_before", "n_excluded", "n_after")
EXCLUDED_COLUMNS = ("line", "patient_id", "reason")
# What the report reads: every table above, and the flow; and what it writes.
REPORT_TABLES = (*ENDPOINT_TABLES, *COHORT_TABLES, "flow")
REPORT_FILE = "report.html"
FIGURES_FOLDER = "figures"

# results/overview/ (several cohorts) and results/validation/ (the validation study).
# The overview's populations (results/overview/, column ``population``): the declared primary
# contrast within each cohort's immunotherapy arm, within its other arm, and the ratio of the
# two (the Mg x arm interaction, immunotherapy over the other arm).
WITHIN_IMMUNOTHERAPY = "within immunotherapy"
WITHIN_OTHER = "within other treatment"
IMMUNOTHERAPY_OVER_OTHER = "interaction"
OVERVIEW_POPULATIONS = (WITHIN_IMMUNOTHERAPY, WITHIN_OTHER, IMMUNOTHERAPY_OVER_OTHER)
# The files of each cohort that the overview reads (cox, km_summary: tables; flow.tsv).
OVERVIEW_INPUTS = ("cox", "km_summary", "arms", "flow")
OVERVIEW_TABLES: dict[str, tuple[str, ...]] = {
    # Per cohort, endpoint and population: the estimate (NaN where there is none), the arm
    # or arms it is of, and ``excluded``: why it is not pooled (empty when it is).
    "cohort_estimates": (
        "cohort",
        "endpoint",
        "population",
        "arm",
        *HR_ESTIMATE_COLUMNS,
        "coef",
        "se",
        "excluded",
    ),
    # Per endpoint, population and method (fixed effect, DerSimonian-Laird, REML with the
    # Hartung-Knapp-Sidik-Jonkman adjustment): the pooled HR with its CI, p and (t test) df,
    # the 95% prediction interval, and the heterogeneity (Q, I^2 and tau^2 with CIs).
    "pooled": (
        "endpoint",
        "population",
        "method",
        "k",
        "hr",
        "hr_lower",
        "hr_upper",
        "p",
        "df",
        "pi_lower",
        "pi_upper",
        "q",
        "q_df",
        "q_p",
        "i2_percent",
        "i2_lower",
        "i2_upper",
        "tau2",
        "tau2_lower",
        "tau2_upper",
        "n",
        "events",
    ),
}
REPLICATE_COLUMNS = (
    "scenario",
    "replicate",
    "seed",
    "n",
    "endpoint",
    "events",
    "io_coef",
    "io_se",
    "io_true",
    "chemo_coef",
    "chemo_se",
    "chemo_true",
    "io_unadjusted_coef",
    "io_unadjusted_se",
    "io_unadjusted_true",
    "io_iptw_coef",
    "io_iptw_se",
    "io_iptw_true",
    "io_mi_coef",
    "io_mi_se",
    "io_mi_true",
    "p_logrank",
    "p_trend",
    "p_cox",
    "p_interaction",
    "p_io",
    "p_io_unadjusted",
    "p_io_iptw",
    "p_io_mi",
    "p_ph",
    "p_cutpoint_naive",
    "p_cutpoint_lau92",
    "p_cutpoint_lau94",
    "note",
)


# Where a run writes: a folder per cohort (the files above, relative to it), and beside them
# the run's rule graph, the multi-cohort overview and the validation study.
RESULTS_FOLDER = "results"
RULEGRAPH_FILE = f"{RESULTS_FOLDER}/rulegraph.dot"
OVERVIEW_PAGE = f"{RESULTS_FOLDER}/index.html"
OVERVIEW_FOLDER = f"{RESULTS_FOLDER}/overview"
VALIDATION_FOLDER = f"{RESULTS_FOLDER}/validation"
# The validation study's tables (replicates.tsv has REPLICATE_COLUMNS; the summaries, the
# columns mgsurv.validation.summary gives them).
VALIDATION_TABLES = ("replicates", "estimates", "rejections", "power")
# provenance.json's source of the generated cohort (otherwise the CSV's path).
SYNTHETIC = "synthetic"
# The synthetic cohort's generated input, under the cohort's folder.
SYNTHETIC_INPUT = {"csv": "input/synthetic_cohort.csv", "truth": "input/truth.json"}


def cohort_folder(cohort: str) -> str:
    """results/<cohort>: where a cohort's files are (a Snakemake wildcard works too)."""
    return f"{RESULTS_FOLDER}/{cohort}"


def synthetic_files(cohort_dir: str | Path) -> dict[str, str]:
    """The synthetic cohort's CSV and truth file under the cohort's folder, by name."""
    return {name: f"{cohort_dir}/{path}" for name, path in SYNTHETIC_INPUT.items()}


def overview_files() -> dict[str, str]:
    """The overview page (html) and its tables, by name."""
    tables = {name: f"{OVERVIEW_FOLDER}/{name}.tsv" for name in OVERVIEW_TABLES}
    return {"html": OVERVIEW_PAGE} | tables


def overview_inputs(cohort_dir: str | Path) -> dict[str, str]:
    """The files of one cohort that the overview reads, by OVERVIEW_INPUTS name."""
    files = prepare_files(cohort_dir) | stacked_table_files(cohort_dir)
    return {name: files[name] for name in OVERVIEW_INPUTS}


def validation_files() -> dict[str, str]:
    """The validation study's page (html) and tables, by name."""
    tables = {name: f"{VALIDATION_FOLDER}/{name}.tsv" for name in VALIDATION_TABLES}
    return {"html": f"{VALIDATION_FOLDER}/validation.html"} | tables


def validation_batch_file(scenario: str, batch: str | int) -> str:
    """One batch of the validation study's replicates."""
    return f"{VALIDATION_FOLDER}/batches/{scenario}/{batch}.tsv"


def table_path(cohort_dir: str | Path, name: str) -> str:
    """results/<cohort>/tables/<name>.tsv, under the cohort's folder."""
    return f"{cohort_dir}/tables/{name}.tsv"


def endpoint_table_path(cohort_dir: str | Path, endpoint: str, name: str) -> str:
    """results/<cohort>/endpoints/<endpoint>/<name>.tsv, under the cohort's folder."""
    return f"{cohort_dir}/endpoints/{endpoint}/{name}.tsv"


def cohort_file_path(cohort_dir: str | Path, name: str) -> str:
    """One of COHORT_FILES under the cohort's folder."""
    return f"{cohort_dir}/{COHORT_FILES[name]}"


def endpoint_table(
    parts: Iterable[pd.DataFrame], endpoint: str, columns: Iterable[str] | None = None
) -> pd.DataFrame:
    """Stack an endpoint's table from its parts and put ``endpoint`` first, then ``columns``
    (when given: also the columns of an empty table) or the parts' own columns."""
    parts = [part for part in parts if not part.empty]
    names = list(columns) if columns is not None else None
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=names)
    names = names or [c for c in table.columns if c != "endpoint"]
    return table.assign(endpoint=endpoint)[["endpoint", *names]]


def model_statistics(
    *,
    n: int,
    events: int,
    parameters: int,
    converged: bool,
    loglik: Any = np.nan,
    lr_statistic: Any = np.nan,
    lr_p: Any = np.nan,
    concordance: Any = np.nan,
    note: str = "",
) -> dict[str, Any]:
    """A Cox model's statistics as cox_models.tsv holds them (MODEL_STATISTICS_COLUMNS, in order):
    events per parameter (NaN without parameters) flagged below MIN_EVENTS_PER_PARAMETER,
    and the likelihood-ratio test on one degree of freedom per parameter."""
    epv = events / parameters if parameters else np.nan
    return {
        "n": n,
        "events": events,
        "parameters": parameters,
        "events_per_parameter": epv,
        "epv_below_10": bool(epv < MIN_EVENTS_PER_PARAMETER),
        "converged": converged,
        "loglik": loglik,
        "lr_statistic": lr_statistic,
        "lr_df": parameters,
        "lr_p": lr_p,
        "concordance": concordance,
        "note": note,
    }


def model_statistics_row(
    model: str, terms: str, strata: str, statistics: dict[str, Any]
) -> dict[str, Any]:
    """One row of cox_models.tsv (without its endpoint): the model's name, its terms and
    strata as text, and its :func:`model_statistics`."""
    return {"model": model, "terms": terms, "strata": strata, **statistics}


def prepare_files(cohort_dir: str | Path) -> dict[str, str]:
    """What prepare writes under the cohort's folder, by name: COHORT_FILES, COHORT_TABLES."""
    files = {name: cohort_file_path(cohort_dir, name) for name in COHORT_FILES}
    return files | {name: table_path(cohort_dir, name) for name in COHORT_TABLES}


def endpoint_files(cohort_dir: str | Path, endpoint: str) -> dict[str, str]:
    """What the analysis of one endpoint writes under the cohort's folder, by table name."""
    return {name: endpoint_table_path(cohort_dir, endpoint, name) for name in ENDPOINT_TABLES}


def endpoint_parts(cohort_dir: str | Path) -> list[str]:
    """Every endpoint's tables, endpoint by endpoint: what the report job stacks."""
    return [path for e in ENDPOINTS for path in endpoint_files(cohort_dir, e).values()]


def stacked_table_files(cohort_dir: str | Path) -> dict[str, str]:
    """The endpoint tables stacked over the endpoints (tables/<name>.tsv), by name."""
    return {name: table_path(cohort_dir, name) for name in ENDPOINT_TABLES}


def prepared_report_tables(cohort_dir: str | Path) -> dict[str, str]:
    """The report's tables that prepare writes, by name: the others are the stacked endpoint
    tables, which the report job writes itself before it reads them."""
    stacked = stacked_table_files(cohort_dir)
    return {k: v for k, v in report_table_files(cohort_dir).items() if k not in stacked}


def report_table_files(cohort_dir: str | Path) -> dict[str, str]:
    """Every table the report reads (REPORT_TABLES) under the cohort's folder, by name."""
    return {
        name: cohort_file_path(cohort_dir, name)
        if name in COHORT_FILES
        else table_path(cohort_dir, name)
        for name in REPORT_TABLES
    }
