"""The declared primary analysis, found in the results: which arm is immunotherapy, and the
low-vs-normal Mg hazard ratios that answer the report's question, each with the model it
comes from.

The question (Lötscher et al., Cell 2022) is low vs normal serum Mg *within the
immunotherapy-treated patients*, and whether the association differs under the other
treatment. The config's ``primary`` names the endpoint and whether the within-immunotherapy
HR comes from the arm's own Cox model or from the Mg x arm interaction model; arms.tsv says
which arm is immunotherapy (from the mapping's ``arms``; a single-arm cohort is the primary
population as a whole). Every result is then primary (that one HR), secondary (the same
contrast on the other endpoint, in the other arms, from the other model, pooled over the
arms, and the interaction test) or exploratory (everything else: quartiles, the
data-driven cut-point, continuous Mg, covariate effects).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from mgsurv.contract import (
    ARM_COLUMN,
    CONTINUOUS,
    CONTINUOUS_INTERACTION,
    IMMUNOTHERAPY_TREATMENT,
    INTERACTION,
    KEY_TERM,
    MG_CONTINUOUS_TERM,
    MULTIVARIABLE,
    OTHER_TREATMENT,
    arm_model,
    continuous_arm_model,
    parse_term,
    within_arm_term,
)
from mgsurv.report.forest import DEFAULT_XLABEL
from mgsurv.report.formatting import in_sentence
from mgsurv.report.labels import ENDPOINT_LABELS
from mgsurv.report.tables import Tables, rows_of
from mgsurv.settings import PrimarySettings

PRIMARY, SECONDARY = "primary", "secondary"
# The config's primary.model: where the within-arm HR comes from.
ARM_SOURCE, INTERACTION_SOURCE = "arm", "interaction"


@dataclass(frozen=True)
class Contrast:
    """One primary contrast (config ``primary.contrast``): its Mg term in cox.tsv, the models
    that estimate it (of all patients, with the Mg x arm interaction, of one arm), the sign
    of the log HR the Mg-LFA-1 hypothesis predicts, and how the report words it."""

    term: str
    pooled_model: str
    interaction_model: str
    arm_model: Callable[[str], str]
    expected_sign: int
    name: str  # "the low-vs-normal hazard ratio"
    found: str  # what an HR in the predicted direction means, "{rate}" to fill in
    opposite: str  # what one in the other direction means
    absent: str  # what "no association" is about
    heading: str  # the HR in a caption, "{threshold}" to fill in
    reading: str  # how to read its HRs
    axis: str  # a forest plot's x axis


CONTRASTS = {
    "low_vs_normal": Contrast(
        KEY_TERM,
        MULTIVARIABLE,
        INTERACTION,
        arm_model,
        1,
        "the low-vs-normal hazard ratio",
        "low serum Mg was associated with a higher rate of {rate}",
        "low serum Mg went with a lower rate of {rate}",
        "an association of low serum Mg with the rate of {rate}",
        "Hazard ratio (HR) of low vs normal serum Mg (below {threshold})",
        "HRs above 1: a higher rate of the event with low Mg.",
        DEFAULT_XLABEL,
    ),
    "per_0.1_mmol_l": Contrast(
        MG_CONTINUOUS_TERM,
        CONTINUOUS,
        CONTINUOUS_INTERACTION,
        continuous_arm_model,
        -1,
        "the hazard ratio per 0.1 mmol/L higher serum Mg",
        "higher serum Mg was associated with a lower rate of {rate}",
        "higher serum Mg went with a higher rate of {rate}",
        "an association of serum Mg with the rate of {rate}",
        "Hazard ratio (HR) per 0.1 mmol/L higher serum Mg",
        "HRs below 1: a lower rate of the event with higher Mg (per 0.1 mmol/L).",
        "Hazard ratio per 0.1 mmol/L higher serum Mg (log scale)",
    ),
}


@dataclass(frozen=True)
class Treatments:
    """The cohort's arms by treatment (arms.tsv): the immunotherapy arm (None when the
    mapping does not declare it) and the other arms; ``single_arm`` when the cohort has
    one arm, which is then the primary population as a whole."""

    immunotherapy: str | None
    others: tuple[str, ...]
    single_arm: bool

    @property
    def declared(self) -> bool:
        """True when the primary population is known."""
        return self.immunotherapy is not None


def treatments(arms: pd.DataFrame) -> Treatments:
    """The treatments of arms.tsv's arms."""
    names = arms[ARM_COLUMN].astype(str)
    kinds = arms["treatment"].astype(str)
    immunotherapy = names[kinds == IMMUNOTHERAPY_TREATMENT].tolist()
    others = tuple(names[kinds == OTHER_TREATMENT])
    return Treatments(immunotherapy[0] if immunotherapy else None, others, len(arms) == 1)


def arm_heading(arm: str, arms: Treatments) -> str:
    """How the report heads an arm: 'All patients' in a single-arm cohort; the
    immunotherapy arm as 'Immunotherapy (Atezolizumab)' ('Immunotherapy' when the arm is
    named so); any other arm by its name, capitalised."""
    if arms.single_arm:
        return "All patients"
    name = arm[:1].upper() + arm[1:]
    if arm != arms.immunotherapy or arm.lower() == IMMUNOTHERAPY_TREATMENT:
        return name
    return f"Immunotherapy ({arm})"


@dataclass(frozen=True)
class Estimate:
    """One low-vs-normal HR: its cox.tsv row (None: not in the results), the model it comes
    from, in words, and whether it pools the arms."""

    row: pd.Series | None
    source: str
    pooled: bool = False

    @property
    def estimable(self) -> bool:
        return self.row is not None and bool(pd.notna(self.row["hr"]))


MODEL_SOURCES = {
    ARM_SOURCE: "Cox model of this arm's patients alone",
    INTERACTION_SOURCE: "Mg × arm interaction model of all patients (covariate effects shared"
    " by the arms)",
    MULTIVARIABLE: "Cox model of all patients, adjusted for arm",
}


def section_levels(arms: Treatments, primary: PrimarySettings) -> dict[str, str]:
    """What each section of the report holds, as primary, secondary or exploratory results
    (or descriptive, or checks), in a line under its heading."""
    endpoint = in_sentence(ENDPOINT_LABELS.get(primary.endpoint, primary.endpoint))
    where = "in the cohort" if arms.single_arm else "within the immunotherapy arm"
    name = CONTRASTS[primary.contrast].name
    first = (
        f"Primary: {name} on {endpoint} {where}. Secondary: the rest."
        if arms.declared
        else "Secondary: no primary population is declared (see Methods)."
    )
    if arms.single_arm:
        cox = (
            f"Primary: {name} of the model of all patients (on {endpoint})."
            " Secondary: the other hazard ratios of serum Mg. Exploratory:"
        )
    else:
        cox = (
            "Secondary: the low-vs-normal hazard ratios, pooled over the arms and per arm."
            " Exploratory:"
        )
    pooled = "" if arms.single_arm else ", pooled over the arms"
    return {
        "arms": first,
        "flow": "Descriptive.",
        "baseline": "Descriptive.",
        "followup": "Descriptive.",
        "km": f"Secondary: the clinical Mg groups{pooled}. Exploratory: the quartiles and"
        " the data-driven cut-point.",
        "rmst": f"Secondary{pooled}.",
        "cox": f"{cox} continuous serum Mg, the quartiles, the cut-point and the covariates'"
        " own hazard ratios.",
        "ph": "Checks of the Cox models' assumption.",
        "continuous": "Exploratory.",
        "sensitivity": "Secondary: how robust the primary estimate is.",
    }


def cox_row(cox: pd.DataFrame, endpoint: str, model: str, term: str) -> pd.Series | None:
    """The cox.tsv row of one endpoint, model and term; None when it is not there."""
    rows = rows_of(cox, endpoint=endpoint, model=model, term=term)
    return rows.iloc[0] if len(rows) else None


LOW_VS_NORMAL = CONTRASTS["low_vs_normal"]


def within_arm(
    cox: pd.DataFrame,
    endpoint: str,
    arm: str,
    source: str,
    single_arm: bool,
    contrast: Contrast = LOW_VS_NORMAL,
) -> Estimate:
    """The contrast's HR within one arm from the ``source`` model (for a single-arm
    cohort: the adjusted model of all its patients)."""
    if single_arm:
        row = cox_row(cox, endpoint, contrast.pooled_model, contrast.term)
        return Estimate(row, "Cox model of all patients")
    if source == INTERACTION_SOURCE:
        term = within_arm_term(contrast.term, arm)
        row = cox_row(cox, endpoint, contrast.interaction_model, term)
    else:
        row = cox_row(cox, endpoint, contrast.arm_model(arm), contrast.term)
    return Estimate(row, MODEL_SOURCES[source])


def interaction_rows(
    cox: pd.DataFrame, endpoint: str, contrast: Contrast = LOW_VS_NORMAL
) -> pd.DataFrame:
    """The Mg x arm interaction terms of the endpoint (one per arm besides the reference)."""
    rows = rows_of(cox, endpoint=endpoint, model=contrast.interaction_model)
    return rows[rows["term"].astype(str).str.startswith(f"{contrast.term}:")]


@dataclass(frozen=True)
class InteractionTerm:
    """The interaction model's row that compares the contrast between two arms, and whether
    it is of the second arm against the first (``reversed``: the first is the reference)."""

    row: pd.Series
    reversed: bool


def interaction_term(rows: pd.DataFrame, arm: str, other: str) -> InteractionTerm | None:
    """The interaction term (of :func:`interaction_rows`) that compares the contrast between
    ``arm`` and ``other``: one against the other as the model's reference arm. None when the
    model has no such term (with three or more arms, when neither is the reference)."""
    for _, row in rows.iterrows():
        name = parse_term(str(row["term"]))
        if name.kind != "interaction":
            continue
        level, _, reference = name.parts[1].comparison.partition(" vs ")
        if {level, reference} == {arm, other}:
            return InteractionTerm(row, reversed=level != arm)
    return None


def interaction_p(rows: pd.DataFrame, immunotherapy: str, other: str) -> float | None:
    """The p of the interaction that compares the low-Mg effect between the immunotherapy
    arm and ``other`` (None: that comparison is not tested)."""
    term = interaction_term(rows, immunotherapy, other)
    return None if term is None else float(term.row["p"])


@dataclass(frozen=True)
class EndpointAnswer:
    """What the headline shows for one endpoint: the HR within immunotherapy (primary on
    the primary endpoint), within each other arm, and for each other arm the p of the
    interaction that compares it with the immunotherapy arm (None: not tested)."""

    endpoint: str
    level: str
    immunotherapy: Estimate | None
    others: list[Estimate]
    interactions: dict[str, float | None]
    pooled: Estimate
    contrast: Contrast = LOW_VS_NORMAL


def endpoint_answer(
    cox: pd.DataFrame, endpoint: str, arms: Treatments, primary: PrimarySettings
) -> EndpointAnswer:
    """The answer's estimates on one endpoint, labelled primary or secondary."""
    level = PRIMARY if endpoint == primary.endpoint else SECONDARY
    contrast = CONTRASTS[primary.contrast]
    io = (
        within_arm(cox, endpoint, arms.immunotherapy, primary.model, arms.single_arm, contrast)
        if arms.immunotherapy is not None
        else None
    )
    others = [within_arm(cox, endpoint, arm, primary.model, False, contrast) for arm in arms.others]
    pooled = Estimate(
        cox_row(cox, endpoint, contrast.pooled_model, contrast.term),
        MODEL_SOURCES[MULTIVARIABLE],
        pooled=True,
    )
    rows = interaction_rows(cox, endpoint, contrast)
    interactions = (
        {arm: interaction_p(rows, arms.immunotherapy, arm) for arm in arms.others}
        if arms.immunotherapy is not None
        else {}
    )
    return EndpointAnswer(endpoint, level, io, others, interactions, pooled, contrast)


def answers(tables: Tables, endpoints: list[str], primary: PrimarySettings) -> list[EndpointAnswer]:
    """The answer on each endpoint, the primary endpoint first."""
    arms = treatments(tables["arms"])
    ordered = sorted(endpoints, key=lambda e: e != primary.endpoint)
    return [endpoint_answer(tables["cox"], e, arms, primary) for e in ordered]
