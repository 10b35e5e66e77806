"""The validation study's replicates: synthetic cohorts with a known truth, analysed by the
same code as a real cohort.

Why: a retrospective association cannot be checked against the truth, except on simulated
cohorts where the truth is known. Each replicate draws a cohort from the built-in generator
(:mod:`mgsurv.cohort.simulate`) under one scenario, writes it as the workflow writes the synthetic
cohort, and runs it through :func:`mgsurv.cohort.prepare.prepare` (validation, exclusions, Mg
groupings, the data-driven cut-point) and, per endpoint, the workflow's log-rank tests and
Cox models (:func:`mgsurv.analysis.survival.logrank_tests`,
:func:`mgsurv.analysis.cox_models.cox_models`) with the run's config. What it keeps per
replicate and endpoint (:data:`mgsurv.contract.REPLICATE_COLUMNS`):

* the low-Mg log-HR and its SE within each arm (models ``arm=immunotherapy`` and
  ``arm=chemotherapy``: low vs normal Mg, adjusted for the covariates), with the truth:
  the generator's conditional log-HR of that arm (NA where the scenario has none, i.e.
  where the hazards are not proportional);
* the p-values of the log-rank test (clinical groups), the log-rank trend test across Mg
  quartiles, the multivariable Cox model's low-Mg term, the Mg x arm interaction, the
  low-Mg term within the immunotherapy arm, and the PH test (cox.zph) of the low-Mg term
  of the multivariable model;
* the low-Mg log-HR within the immunotherapy arm estimated three more ways, with SE and p:
  unadjusted, weighted (IPTW, robust SE) and pooled over multiple imputations (only when
  a covariate is missing); the unadjusted and weighted ones estimate a marginal HR, so
  their truth is known only where low Mg has no effect (:func:`sensitivity_truth`);
* on the cut-point's endpoint: the naive p-value of the optimal cut-point and the
  Lausen-Schumacher corrected ones (Lau92, Lau94).

Replicate r of scenario s has the seed ``SeedSequence([seed, crc32(s), r])``: it does not
depend on how replicates are batched, so a study split over 8 jobs or 80 gives the same
numbers.
"""

from __future__ import annotations

import logging
import math
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mgsurv.analysis.cox_models import cox_models, grouping_term
from mgsurv.analysis.imputation import imputation_table
from mgsurv.analysis.iptw import iptw_tables
from mgsurv.analysis.survival import logrank_tests
from mgsurv.cohort.prepare import prepare
from mgsurv.cohort.simulate import SyntheticParams, simulate_cohort, write_cohort
from mgsurv.cohort.synthetic_arms import CHEMOTHERAPY, IMMUNOTHERAPY, synthetic_reference_arm
from mgsurv.contract import (
    ARM_COLUMN,
    CLINICAL_GROUPING,
    ENDPOINTS,
    INTERACTION,
    KEY_TERM,
    LOGRANK_TEST,
    MULTIVARIABLE,
    QUARTILE_GROUPING,
    REPLICATE_COLUMNS,
    RESIDUALS_MODEL,
    SYNTHETIC,
    TREND_TEST,
    arm_model,
    event_column,
    parse_term,
    time_column,
)
from mgsurv.errors import InputError
from mgsurv.settings import AnalysisSettings, PrepareSettings
from mgsurv.stats.cox import fit_cox
from mgsurv.validation.scenarios import Scenario

log = logging.getLogger(__name__)

ARMS = {"io": IMMUNOTHERAPY, "chemo": CHEMOTHERAPY}


def replicate_seed(seed: int, scenario: str, replicate: int) -> int:
    """The generator's seed for one replicate: independent of batching (module docstring)."""
    sequence = np.random.SeedSequence([seed, zlib.crc32(scenario.encode()), replicate])
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


@dataclass(frozen=True)
class StudySettings:
    """What every replicate shares: the run's prepare and analysis settings, the mapping
    the synthetic cohort is read with, and the study's seed."""

    prepare: PrepareSettings
    analysis: AnalysisSettings
    mapping_path: str
    seed: int

    @classmethod
    def from_config(cls, config: dict, mapping_path: str) -> StudySettings:
        """From the rule's settings: the keys of PrepareSettings and AnalysisSettings
        (``config_keys(PrepareSettings, AnalysisSettings)``, with the generator's reference
        arm unless the configured one is among its arms) and the study's seed."""
        reference = synthetic_reference_arm(config["reference_arm"])
        return cls(
            prepare=replace(PrepareSettings.from_config(config), reference_arm=reference),
            analysis=replace(AnalysisSettings.from_config(config), reference_arm=reference),
            mapping_path=mapping_path,
            seed=config["seed"],
        )


def run_replicates(
    scenario: Scenario, replicates: Iterable[int], settings: StudySettings
) -> pd.DataFrame:
    """The rows (:data:`mgsurv.contract.REPLICATE_COLUMNS`) of these replicates of the
    scenario, in order."""
    rows = [
        row for replicate in replicates for row in replicate_rows(scenario, replicate, settings)
    ]
    return pd.DataFrame(rows, columns=list(REPLICATE_COLUMNS))


def replicate_rows(scenario: Scenario, replicate: int, settings: StudySettings) -> list[dict]:
    """One row per endpoint for one replicate. A replicate the analysis fails on (a cohort
    the workflow rejects, or an error) gives rows with the message as the note and no
    estimates, rather than failing its batch: the summaries count such replicates."""
    seed = replicate_seed(settings.seed, scenario.name, replicate)
    params = SyntheticParams(
        **scenario.params, seed=seed, mg_threshold_mmol_l=settings.prepare.mg_threshold_mmol_l
    )
    base = {"scenario": scenario.name, "replicate": replicate, "seed": seed, "n": params.n}
    truth = {f"{key}_true": scenario.true_log_hr(arm) for key, arm in ARMS.items()}
    truth |= {
        f"io_{way}_true": sensitivity_truth(way, truth["io_true"]) for way in SENSITIVITY_ESTIMATES
    }
    try:
        results = analyse_replicate(params, settings)
    except InputError as err:
        results = {e: {"note": err.problem} for e in ENDPOINTS}
    except Exception as err:  # noqa: BLE001 (recorded and counted, not hidden)
        log.warning("%s replicate %d failed", scenario.name, replicate, exc_info=True)
        results = {e: {"note": f"{type(err).__name__}: {err}"} for e in ENDPOINTS}
    return [base | truth | {"endpoint": e} | results[e] for e in ENDPOINTS]


def analyse_replicate(params: SyntheticParams, settings: StudySettings) -> dict[str, dict]:
    """Per endpoint, what the study keeps of one synthetic cohort analysed as the workflow
    analyses a CSV: written as the synthetic cohort is, prepared, then tested and modelled."""
    cohort, generated = simulate_cohort(params)
    with tempfile.TemporaryDirectory(prefix="mgsurv-validation-") as folder:
        csv = Path(folder) / "synthetic_cohort.csv"
        write_cohort(cohort, generated, csv, Path(folder) / "truth.json")
        prepared = prepare(str(csv), settings.mapping_path, settings.prepare, SYNTHETIC)
    results = {e: endpoint_results(prepared.cohort, e, settings.analysis) for e in ENDPOINTS}
    if not prepared.cutpoint.empty:
        found = prepared.cutpoint.iloc[0]
        results[settings.prepare.cutpoint.endpoint] |= {
            "p_cutpoint_naive": found["p_naive"],
            "p_cutpoint_lau92": found["p_lau92"],
            "p_cutpoint_lau94": found["p_lau94"],
        }
    return results


def is_key_by_arm_interaction(term: str) -> bool:
    """True for the interaction of the key term (low vs normal Mg) with an arm."""
    name = parse_term(term)
    return (
        name.kind == "interaction"
        and name.parts[0] == parse_term(KEY_TERM)
        and name.parts[1].variable == ARM_COLUMN
    )


def endpoint_results(cohort: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> dict:
    """The estimates and p-values this study keeps, from the workflow's own tables."""
    tests = logrank_tests(cohort, endpoint, settings)
    models = cox_models(cohort, endpoint, settings)
    cox, ph = models["cox"], models["ph_test"]
    result = {
        "events": int(cohort[event_column(endpoint)].sum()),
        "p_logrank": _value(tests, "p", grouping=CLINICAL_GROUPING, test=LOGRANK_TEST),
        "p_trend": _value(tests, "p", grouping=QUARTILE_GROUPING, test=TREND_TEST),
        "p_cox": _value(cox, "p", model=MULTIVARIABLE, term=KEY_TERM),
        "p_interaction": _value(
            cox[cox["term"].map(is_key_by_arm_interaction)], "p", model=INTERACTION
        ),
        "p_io": _value(cox, "p", model=arm_model(IMMUNOTHERAPY), term=KEY_TERM),
        "p_ph": _value(ph, "p", model=RESIDUALS_MODEL, term=CLINICAL_GROUPING),
    }
    for key, arm in ARMS.items():
        result[f"{key}_coef"] = _value(cox, "coef", model=arm_model(arm), term=KEY_TERM)
        result[f"{key}_se"] = _value(cox, "se", model=arm_model(arm), term=KEY_TERM)
    return result | sensitivity_results(cohort, endpoint, settings)


# The other estimates of the low-Mg log-HR within immunotherapy the study keeps: the
# unadjusted one (what confounding biases), the weighted one (IPTW, robust SE) and the one
# pooled over multiple imputations (only where a covariate is missing).
SENSITIVITY_ESTIMATES = ("unadjusted", "iptw", "mi")


def sensitivity_truth(way: str, conditional: float) -> float:
    """The truth an estimate is judged against: the generator's conditional log-HR for the
    covariate-adjusted one pooled over imputations; for the unadjusted and the weighted
    ones, which estimate a marginal HR (the Cox HR is non-collapsible: it differs from the
    conditional one whenever there is an effect), only where low Mg has no effect (0 both
    ways), NaN elsewhere."""
    if way == "mi" or conditional == 0.0:
        return conditional
    return math.nan


def sensitivity_results(cohort: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> dict:
    """The unadjusted, weighted and multiply imputed low-Mg estimates (coef, SE, p) within
    the immunotherapy arm, from the workflow's own code; NaN where not computed."""
    model = arm_model(IMMUNOTHERAPY)
    patients = cohort[cohort[ARM_COLUMN] == IMMUNOTHERAPY]
    unadjusted = fit_cox(
        patients, time_column(endpoint), event_column(endpoint), [grouping_term(CLINICAL_GROUPING)]
    ).coefficients
    found = {
        "unadjusted": (unadjusted, "se", {"term": KEY_TERM}),
        "iptw": (
            iptw_tables(cohort, endpoint, settings)["iptw_cox"],
            "robust_se",
            {"subset": model},
        ),
        "mi": (
            imputation_table(cohort, endpoint, settings),
            "se",
            {"model": model, "term": KEY_TERM},
        ),
    }
    result = {}
    for way, (table, se, where) in found.items():
        result[f"io_{way}_coef"] = _value(table, "coef", **where)
        result[f"io_{way}_se"] = _value(table, se, **where)
        result[f"p_io_{way}"] = _value(table, "p", **where)
    return result


def _value(table: pd.DataFrame, column: str, **equal: str) -> float:
    """The one value of ``column`` in the rows matching ``equal``; NaN when there is none
    (a model or test the cohort did not allow)."""
    mask = np.ones(len(table), dtype=bool)
    for key, value in equal.items():
        mask &= (table[key].astype(str) == value).to_numpy()
    values = table.loc[mask, column]
    if len(values) > 1:
        raise ValueError(f"{len(values)} rows match {equal} in the {column} column")
    return float(values.iloc[0]) if len(values) else math.nan
