"""How the report names things: endpoints, Mg groupings, model variables and their
comparisons (Cox term names taken apart by :func:`mgsurv.contract.parse_term`), tests,
models, the exploratory cut-point's mark and caveat, and short phrases of a Cox row."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import pandas as pd

from mgsurv.contract import (
    ARM_COLUMN,
    CLINICAL_GROUPING,
    CONTINUOUS,
    CUTPOINT_GROUPING,
    LOGRANK_TEST,
    LOW,
    MG_TERM_PREFIX,
    MULTIVARIABLE,
    PH_GLOBAL,
    QUARTILE_GROUPING,
    TermName,
    model_arm,
    parse_term,
)
from mgsurv.report.formatting import (
    format_ci,
    format_hr,
    format_mg,
    format_p,
    in_sentence,
    is_missing,
    p_phrase,
)
from mgsurv.report.tables import Tables, rows_of

ENDPOINT_LABELS = {"pfs": "Progression-free survival", "os": "Overall survival"}
ENDPOINT_ABBREVIATIONS = {"pfs": "PFS", "os": "OS"}
EVENT_DEFINITIONS = {
    "pfs": "disease progression or death from any cause, whichever came first",
    "os": "death from any cause",
}
EXPLORATORY = "exploratory, data-driven cut-point"
GROUPING_LABELS = {
    CLINICAL_GROUPING: "clinical serum Mg group",
    QUARTILE_GROUPING: "serum Mg quartile",
    CUTPOINT_GROUPING: f"serum Mg at an {EXPLORATORY}",
}
VARIABLE_LABELS = {
    ARM_COLUMN: "Treatment arm",
    CLINICAL_GROUPING: "Serum Mg group",
    QUARTILE_GROUPING: "Serum Mg quartile",
    CUTPOINT_GROUPING: f"Serum Mg group ({EXPLORATORY})",
    "mg": "Serum Mg",
}
UNIT_LABELS = {"mmol_l": "mmol/L"}
TEST_LABELS = {LOGRANK_TEST: "Log-rank"}
ADJUST_LABELS = {"holm": "Holm", "BH": "Benjamini-Hochberg"}
PH_FLAG = "possible non-proportional hazards"
EXPLORATORY_MARK = "†"
# mg_groups definitions are plain text ("<= 0.69"); shown with the mathematical signs.
INEQUALITIES = {"<=": "≤", ">=": "≥"}
# rmst.tsv's measures (contract.RMST_CONTRASTS), words kept together (no-break space) in the
# narrow Measure column.
RMST_MEASURES = {
    "group": "RMST",
    "difference": "Difference",
    "ratio": "RMST\N{NO-BREAK SPACE}ratio",
    "rmtl_ratio": "RMTL\N{NO-BREAK SPACE}ratio",
}


def endpoint_order(labels: dict[str, str], *tables: pd.DataFrame) -> list[str]:
    """Endpoints present in any table, in label order (PFS before OS), then the rest."""
    present = list(dict.fromkeys(e for t in tables for e in t["endpoint"].astype(str)))
    return [e for e in labels if e in present] + [e for e in present if e not in labels]


def grouping_label(grouping: str, groups: pd.DataFrame) -> str:
    """Readable grouping name; one with a 'low' group states that group's boundary from
    mg_groups, e.g. 'clinical serum Mg group (low: < 0.7 mmol/L)'."""
    label = GROUPING_LABELS.get(grouping, grouping)
    low = rows_of(groups, grouping=grouping, group=LOW)["definition"]
    return f"{label} (low: {definition_text(low.iloc[0])} mmol/L)" if len(low) else label


# The configured covariates' labels (config covariates[].label) while a report is built.
_COVARIATE_LABELS: ContextVar[tuple[tuple[str, str], ...]] = ContextVar(
    "covariate_labels", default=()
)


@contextmanager
def labelling(covariates: Iterable[dict]) -> Iterator[None]:
    """Within the block, covariates are written by their configured ``label``."""
    labels = tuple((spec["name"], spec["label"]) for spec in covariates if spec.get("label"))
    token = _COVARIATE_LABELS.set(labels)
    try:
        yield
    finally:
        _COVARIATE_LABELS.reset(token)


def variable_name(variable: str) -> str:
    """How the report names a variable: its configured label, mgsurv's own label (serum Mg
    groupings), or its name."""
    return dict(_COVARIATE_LABELS.get()).get(variable) or VARIABLE_LABELS.get(variable, variable)


NUMBER = re.compile(r"\d+\.\d+")


def definition_text(definition: str) -> str:
    """An mg_groups definition or a level ('>=50%') with ≤ and ≥ for '<=' and '>=', and
    its Mg values rounded as :func:`format_mg` writes them ('<= 0.711934' -> '≤ 0.712')."""
    for plain, sign in INEQUALITIES.items():
        definition = definition.replace(plain, sign)
    return NUMBER.sub(lambda number: format_mg(float(number[0])), definition)


def threshold_text(threshold_mmol_l: float, units: dict) -> str:
    """The pre-specified threshold in mmol/L and, when the input gave serum Mg in another
    unit, in that unit as well: '0.70 mmol/L (1.70 mg/dL)'."""
    text = f"{format_mg(threshold_mmol_l)} mmol/L"
    if units["mg"] == "mmol/L":
        return text
    return f"{text} ({threshold_mmol_l * units['mg_per_mmol_l']:.2f} {units['mg']})"


def is_exploratory(name: str) -> bool:
    """True for the data-driven cut-point grouping and its Cox term."""
    return name == CUTPOINT_GROUPING or name.startswith(f"{CUTPOINT_GROUPING}[")


def cutpoint_caveat(tables: Tables) -> str:
    """Why p-values of the cut-point grouping are too small, and where the corrected one is."""
    text = (
        f"{EXPLORATORY.capitalize()}: p-values of this grouping are not corrected for the"
        " search over cut-points and are too small"
    )
    if len(tables["cutpoint"]):
        row = tables["cutpoint"].iloc[0]
        endpoint = ENDPOINT_LABELS.get(str(row["endpoint"]), str(row["endpoint"]))
        text += (
            f"; the corrected p (Lausen-Schumacher) for {in_sentence(endpoint)}, the endpoint"
            " searched,"
            f" is {format_p(row['p_lau92'])}"
        )
    return f"{text} (see the data-driven cut-point section)."


def p_cell(p: float, name: str) -> str:
    """A p-value cell, marked when it is an uncorrected p of the exploratory cut-point."""
    marked = is_exploratory(name) and not is_missing(p)
    return f"{format_p(p)} {EXPLORATORY_MARK}" if marked else format_p(p)


def exploratory_notes(names: pd.Series, caveat: str) -> list[str]:
    """The cut-point footnote, when any row of a table belongs to that grouping."""
    return [f"{EXPLORATORY_MARK} {caveat}"] if any(map(is_exploratory, names.astype(str))) else []


def term_parts(term: str) -> tuple[str, str]:
    """Split a Cox term into (variable label, comparison) for display.

    'sex[female vs male]' -> ('sex', 'female vs male');
    'a[x vs y]:b[u vs v]' -> ('a × b', 'x vs y × u vs v') (an interaction);
    '<term> within arm=<arm>' -> the term's parts, comparison suffixed with the arm;
    'mg_per_0.1_mmol_l' -> ('Serum Mg', 'per 0.1 mmol/L higher'); other numeric terms
    ('age') -> ('age', 'per unit higher').
    """
    return name_parts(parse_term(term))


def name_parts(name: TermName) -> tuple[str, str]:
    """:func:`term_parts` of a term name already taken apart."""
    if name.kind == "within_arm":
        variable, comparison = name_parts(name.parts[0])
        return variable, f"{comparison}, in the {name.arm} arm"
    if name.kind == "period":
        variable, comparison = name_parts(name.parts[0])
        return variable, f"{comparison}, {name.comparison}"
    if name.kind == "interaction":
        (left, left_comparison), (right, right_comparison) = map(name_parts, name.parts)
        return f"{left} × {right}", f"{left_comparison} × {right_comparison}"
    if name.kind == "categorical":
        return variable_name(name.variable), definition_text(name.comparison)
    if name.kind == "per_unit":
        unit = UNIT_LABELS.get(name.unit, name.unit)
        return variable_name(name.variable), f"per {name.step} {unit} higher"
    return variable_name(name.variable), "per unit higher"


def arm_models(cox: pd.DataFrame) -> list[str]:
    """The per-arm model names ('arm=<x>') in table order."""
    models = dict.fromkeys(cox["model"].astype(str))
    return [m for m in models if model_arm(m) is not None]


def arms_of(cox: pd.DataFrame) -> list[str]:
    """The arms of the per-arm models, in table order."""
    return [arm for arm in map(model_arm, arm_models(cox)) if arm is not None]


def model_label(model: str) -> str:
    """'multivariable' as is; 'arm=<x>' as 'within the <x> arm'; 'continuous arm=<x>' as
    'continuous, within the <x> arm'."""
    continuous, _, rest = model.partition(" ")
    if continuous == CONTINUOUS and model_arm(rest) is not None:
        return f"{CONTINUOUS}, {model_label(rest)}"
    arm = model_arm(model)
    return model if arm is None else f"within the {arm} arm"


def hr_with_ci(row: pd.Series | None) -> str:
    """'1.87 (1.12–3.10)' for a row with an HR and its CI; "NA" without a row or an HR."""
    if row is None or not np.isfinite(float(row["hr"])):
        return "NA"
    return f"{format_hr(row['hr'])} {format_ci(row['hr_lower'], row['hr_upper'])}"


def hr_text(row: pd.Series) -> str:
    """'HR 1.87 (1.12–3.10), p = 0.0123' for one Cox row."""
    ci = format_ci(row["hr_lower"], row["hr_upper"])
    return f"HR {format_hr(row['hr'])} {ci}, {p_phrase(row['p'])}"


def adjusted_for(cox: pd.DataFrame, model: str = MULTIVARIABLE) -> str:
    """The variables a Cox model adjusts serum Mg for, read from its terms (all but Mg's)."""
    terms = rows_of(cox, model=model)["term"].astype(str)
    variables = dict.fromkeys(
        in_sentence(term_parts(t)[0]) for t in terms if not t.startswith(MG_TERM_PREFIX)
    )
    return ", ".join(variables)


def adjust_label(method: str) -> str:
    """The name of a pairwise p adjustment method (e.g. 'Holm' for holm)."""
    return ADJUST_LABELS.get(method, method)


def knot_count(knots: str) -> int:
    """Number of knots in nonlinearity.tsv's comma-separated knots."""
    return len(str(knots).split(","))


def variable_label(name: str) -> str:
    """A model variable's label; a per-unit term with its unit ('Serum Mg, per 0.1 mmol/L')."""
    if parse_term(name).kind == "per_unit":
        variable, comparison = term_parts(name)
        return f"{variable}, {comparison.removesuffix(' higher')}"
    return variable_name(name)


def ph_term_label(term: str) -> str:
    """A ph_test term for display; interactions as 'a × b', GLOBAL as the global test."""
    if term == PH_GLOBAL:
        return "Global test (all terms)"
    return " × ".join(variable_label(part) for part in term.split(":"))
