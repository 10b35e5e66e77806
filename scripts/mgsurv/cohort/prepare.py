"""The prepare stage: cohort CSV + mapping -> analysis-ready table, patient flow, groupings.

Composes reading/validation (:mod:`mgsurv.cohort.reader`) and the Mg groupings
(:mod:`mgsurv.cohort.grouping`), and records provenance (the input file's SHA-256) for the report.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mgsurv.cohort.baseline import baseline_table
from mgsurv.cohort.grouping import add_groupings, group_definitions
from mgsurv.cohort.mapping import Mapping, load_mapping
from mgsurv.cohort.reader import PreparedCohort, exclusion_steps, read_cohort
from mgsurv.cohort.serum_mg import MMOL_L_PER_UNIT
from mgsurv.cohort.synthetic_arms import CHEMOTHERAPY, IMMUNOTHERAPY
from mgsurv.contract import (
    ARM_COLUMN,
    CLINICAL_GROUPING,
    COHORT_TABLES,
    CUTPOINT_CANDIDATE_COLUMNS,
    CUTPOINT_GROUPING,
    ENDPOINTS,
    GROUPINGS,
    IMMUNOTHERAPY_TREATMENT,
    LOW,
    MG_COLUMN,
    OTHER_TREATMENT,
    SYNTHETIC,
    UNDECLARED_TREATMENT,
    event_column,
    time_column,
)
from mgsurv.errors import InputError
from mgsurv.settings import CutpointSettings, PrepareSettings
from mgsurv.stats.cutpoint import CutpointResult, maxstat_cutpoint

log = logging.getLogger(__name__)

# The analysis-ready cohort's own columns: a covariate may not take one of these names.
RESERVED_COLUMNS = frozenset(
    {
        "patient_id",
        MG_COLUMN,
        *(column for e in ENDPOINTS for column in (time_column(e), event_column(e))),
        ARM_COLUMN,
        *GROUPINGS,
    }
)


@dataclass(frozen=True)
class PreparedOutputs:
    """What prepare makes: the analysis-ready cohort, its tables (fields named as the
    results contract names them) and the provenance record."""

    cohort: pd.DataFrame
    flow: pd.DataFrame
    excluded: pd.DataFrame
    mg_groups: pd.DataFrame
    cutpoint: pd.DataFrame
    cutpoint_candidates: pd.DataFrame
    baseline: pd.DataFrame
    mg_distribution: pd.DataFrame
    arms: pd.DataFrame
    provenance: dict

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables, by name: the flow, the exclusions and the COHORT_TABLES."""
        return {name: getattr(self, name) for name in ("flow", "excluded", *COHORT_TABLES)}


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_covariate_names(covariates: list[dict], config_file: str) -> None:
    for spec in covariates:
        if spec["name"] in RESERVED_COLUMNS:
            raise InputError(
                f"covariate name '{spec['name']}' is one of mgsurv's own columns",
                file=config_file,
                fix="rename the covariate (and its key under covariate_columns in the mapping)",
            )


# Fewer analysable patients than this is an input error, not a report of blanks: one
# patient allows no comparison and no estimate (see the mgsurv.cohort.reader docstring).
MIN_PATIENTS = 2


def _step_columns(reason: str, mapping: Mapping) -> str:
    """The CSV column(s) behind an exclusion step of the patient flow."""
    (step,) = [s for s in exclusion_steps(mapping) if s.reason == reason]
    keys = step.dated_keys if mapping.uses_dates else step.keys
    return ", ".join(c for k in keys if (c := mapping.columns.get(k)))


def check_enough_patients(prepared: PreparedCohort, source: str, mapping: Mapping) -> None:
    """At least MIN_PATIENTS must remain after the exclusions; say which step removed them."""
    n = len(prepared.data)
    if n >= MIN_PATIENTS:
        return
    flow = prepared.flow
    read = int(flow["n_before"].iloc[0])
    steps = flow[flow["n_excluded"] > 0]
    counts = "; ".join(f"{r.n_excluded} for {r.reason}" for r in steps.itertuples())
    if steps.empty:
        raise InputError(
            f"the file holds {read} patient: nothing can be compared or estimated",
            file=source,
            rows=prepared.excluded["line"].astype(int).tolist() or [2],
            fix=f"export the whole cohort (at least {MIN_PATIENTS} patients; check filters)",
        )
    main = steps.loc[steps["n_excluded"].idxmax(), "reason"]
    excluded = prepared.excluded
    rows = excluded.loc[excluded["reason"] == main, "line"].astype(int).tolist()
    left = "no patient is" if n == 0 else "only 1 patient is"
    raise InputError(
        f"{left} left to analyse: {read} read, {counts}",
        file=source,
        column=_step_columns(main, mapping) or None,
        rows=rows,
        fix=f"fill in these values (or check the mapping: are the right columns used?);"
        f" at least {MIN_PATIENTS} patients are needed",
    )


def find_cutpoint(data: pd.DataFrame, settings: CutpointSettings) -> CutpointResult | None:
    """The maxstat cut-point on the chosen endpoint; None when it is not estimable (no
    events, or too few distinct Mg values inside the trimmed range)."""
    time, event = f"{settings.endpoint}_months", f"{settings.endpoint}_event"
    try:
        return maxstat_cutpoint(
            data[time],
            data[event],
            data[MG_COLUMN],
            minprop=settings.minprop,
            maxprop=1 - settings.minprop,
        )
    except ValueError as err:
        log.warning("no data-driven cut-point: %s", err)
        return None


def cutpoint_tables(
    result: CutpointResult | None, settings: CutpointSettings, same_split: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One summary row (cutpoint.tsv) and every candidate cut with its statistic;
    ``same_split``: whether the cut puts exactly the patients below the pre-specified
    threshold in its low group (then its results are the clinical groups' own)."""
    if result is None:
        return pd.DataFrame(columns=list(COHORT_TABLES["cutpoint"])), pd.DataFrame(
            columns=list(CUTPOINT_CANDIDATE_COLUMNS)
        )
    row = {
        "endpoint": settings.endpoint,
        "cutpoint_mmol_l": result.cutpoint,
        **{k: getattr(result, k) for k in COHORT_TABLES["cutpoint"][2:-1]},
        "same_split_as_threshold": same_split,
    }
    return pd.DataFrame([row], columns=list(COHORT_TABLES["cutpoint"])), result.candidates


MG_BIN_MMOL_L = 0.02


def mg_distribution(mg: pd.Series) -> pd.DataFrame:
    """Serum Mg binned (0.02 mmol/L wide): the distribution the report draws as a rug,
    without any patient-level value."""
    bins = np.floor(mg.to_numpy(dtype=float) / MG_BIN_MMOL_L + 1e-9).astype(int)
    counts = pd.Series(bins).value_counts().sort_index()
    return pd.DataFrame(
        {MG_COLUMN: ((counts.index + 0.5) * MG_BIN_MMOL_L).round(6), "n": counts.to_numpy()}
    )


def arm_treatments(cohort: pd.DataFrame, mapping: Mapping, source: str) -> pd.DataFrame:
    """arms.tsv: each analysed arm's patients and treatment as the mapping declares it,
    however many arms the exclusions leave; a declared immunotherapy arm none of whose
    patients is left stops the run (its 'answer' would be another arm's). Without the
    declaration, a single-arm cohort is taken as immunotherapy-treated (mgsurv's question)
    and the arms of a cohort of several are undeclared."""
    counts = cohort[ARM_COLUMN].astype(str).value_counts().sort_index()
    if mapping.declares_arms:
        if mapping.immunotherapy_arm not in counts.index:
            raise InputError(
                f"no patient of the immunotherapy arm '{mapping.immunotherapy_arm}' is left"
                " after the exclusions, so the primary question cannot be answered",
                file=source,
                column=mapping.columns["arm"],
                fix="fill in the missing serum Mg, times or events of that arm's patients"
                " (excluded.tsv lists them with the reason)",
            )
        treatments = [
            IMMUNOTHERAPY_TREATMENT if arm == mapping.immunotherapy_arm else OTHER_TREATMENT
            for arm in counts.index
        ]
    elif len(counts) == 1:
        treatments = [IMMUNOTHERAPY_TREATMENT]
    else:
        treatments = [UNDECLARED_TREATMENT] * len(counts)
    return pd.DataFrame(
        {ARM_COLUMN: counts.index, "treatment": treatments, "n": counts.to_numpy()},
        columns=list(COHORT_TABLES["arms"]),
    )


def check_reference_arm(cohort: pd.DataFrame, reference: str | None, source: str, mapping: Mapping):
    """A configured reference arm must be one of the analysed arms when there are several
    (a single arm needs none), as a covariate's reference level must occur: the models
    would otherwise compare against an arm the config does not name."""
    arms = sorted(cohort[ARM_COLUMN].dropna().astype(str).unique())
    if reference is None or len(arms) < 2 or reference in arms:
        return
    controls = [arm for arm in mapping.other_arms if arm in arms] or arms
    raise InputError(
        f"the reference arm {reference!r} (config reference_arm) is not among the analysed"
        f" arms: {', '.join(map(repr, arms))}",
        file=source,
        column=mapping.columns["arm"],
        fix="set reference_arm in the config to one of these values, usually the control arm"
        f" (e.g. --config reference_arm={controls[0]!r}), or to null for the first in"
        " alphabetical order",
    )


def input_units(mapping: Mapping) -> dict:
    """The input's units as converted (provenance.json ``units``): serum Mg's unit and how
    many of it make 1 mmol/L, and the times' unit ("dates" when derived from dates)."""
    return {
        "mg": mapping.mg_unit,
        "mg_per_mmol_l": 1 / MMOL_L_PER_UNIT[mapping.mg_unit],
        "time": "dates" if mapping.uses_dates else mapping.time_unit,
    }


def describe_cutoff(latest: str | None, origin: str) -> str:
    """The data cut-off for the report: the latest date in the data, when dates were given."""
    if latest:
        return f"{latest} (latest event or follow-up date in the data)"
    if origin == SYNTHETIC:
        return "synthetic cohort: no calendar dates"
    return "not in the data (survival given as durations)"


def prepare(
    source: str, mapping_path: str, settings: PrepareSettings, origin: str
) -> PreparedOutputs:
    """Read and validate ``source`` with the mapping, apply exclusions, add Mg groupings
    (including the exploratory data-driven cut-point), as ``settings`` say.

    ``origin`` is what the report names as the data source ("synthetic" or the CSV path);
    the synthetic cohort's arms are its generator's, whatever the mapping declares.
    """
    covariates, threshold_mmol_l = list(settings.covariates), settings.mg_threshold_mmol_l
    cutpoint = settings.cutpoint
    check_covariate_names(covariates, "config/config.yaml")
    mapping = load_mapping(mapping_path)
    if origin == SYNTHETIC:
        mapping = replace(mapping, immunotherapy_arm=IMMUNOTHERAPY, other_arms=(CHEMOTHERAPY,))
    prepared = read_cohort(source, mapping, covariates)
    check_enough_patients(prepared, source, mapping)
    check_reference_arm(prepared.data, settings.reference_arm, source, mapping)
    found = find_cutpoint(prepared.data, cutpoint)
    cut = found.cutpoint if found is not None else float("nan")
    cohort = add_groupings(prepared.data, threshold_mmol_l, cut)
    same_split = bool((cohort[CUTPOINT_GROUPING] == LOW).equals(cohort[CLINICAL_GROUPING] == LOW))
    summary, candidates = cutpoint_tables(found, cutpoint, same_split)
    provenance = {
        "source": origin,
        "input_sha256": sha256_of(source),
        "mapping": mapping_path,
        "rows_read": int(prepared.flow["n_before"].iloc[0]),
        "patients_analysed": len(cohort),
        "data_cutoff": describe_cutoff(prepared.data_cutoff, origin),
        "units": input_units(mapping),
        # the mapping as the user wrote it (a generated cohort has none of its own)
        "mapping_text": "" if origin == SYNTHETIC else Path(mapping_path).read_text("utf-8"),
        # how baseline Mg was taken from a lab table ("" when read from the Mg column)
        "baseline_mg": prepared.baseline_mg,
    }
    return PreparedOutputs(
        cohort=cohort,
        flow=prepared.flow,
        excluded=prepared.excluded,
        mg_groups=group_definitions(cohort, threshold_mmol_l, cut),
        cutpoint=summary,
        cutpoint_candidates=candidates,
        baseline=baseline_table(cohort, covariates),
        mg_distribution=mg_distribution(cohort[MG_COLUMN]),
        arms=arm_treatments(cohort, mapping, source),
        provenance=provenance,
    )
