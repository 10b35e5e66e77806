"""Does the association hold in every subgroup? The low-vs-normal Mg hazard ratio within each
level of each configured covariate and of the arm (exploratory), as the classic oncology
subgroup forest plot shows it: ``coxph(Surv(time, event) ~ mg_clinical)`` on the subgroup's
patients, and per variable the interaction p, the likelihood-ratio test of
``mg_clinical * variable`` against ``mg_clinical + variable`` on the patients with the
variable recorded (R: ``anova(fit0, fit1)``).

A numeric covariate is split at its median (below; at or above; or, when no value is below
the median, at or below; above), a data-driven split said in the level's name. One row
per level (table ``subgroups``), each with the level's patients and events; a level
without patients in both Mg groups gives NA.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mgsurv.analysis.cox_models import grouping_term, key_estimate
from mgsurv.contract import (
    ARM_COLUMN,
    CLINICAL_GROUPING,
    ENDPOINT_TABLES,
    event_column,
    time_column,
)
from mgsurv.settings import AnalysisSettings
from mgsurv.stats.cox import Interaction, Term, fit_cox
from mgsurv.stats.distributions import chi2_sf

COLUMNS = ENDPOINT_TABLES["subgroups"]
# The column a subgroup variable is read from while its models are fitted.
SUBGROUP_COLUMN = "subgroup"


# A median split's two levels (their names carry the median).
BELOW, AT_OR_ABOVE, AT_OR_BELOW, ABOVE = "below", "or above", "or below", "above"


def subgroup_levels(data: pd.DataFrame, spec: dict) -> pd.Series:
    """Each patient's subgroup of one variable as text (missing where the variable is): a
    categorical covariate's level, a numeric one's side of its median (below it, or at or
    above; when no value is below the median, at or below it, or above)."""
    values = data[spec["name"]]
    if spec["type"] != "numeric":
        return values.astype(str).where(values.notna())
    median = float(values.median())
    shown = np.format_float_positional(median, trim="-")
    if (values < median).any():
        low, high, lower = f"{BELOW} {shown}", f"{shown} {AT_OR_ABOVE}", values < median
    else:
        low, high, lower = f"{shown} {AT_OR_BELOW}", f"{ABOVE} {shown}", values <= median
    return pd.Series(np.where(lower, low, high), index=data.index).where(values.notna())


def _variables(data: pd.DataFrame, settings: AnalysisSettings) -> list[dict]:
    """The covariates, then the arm when the cohort has several."""
    arm = [{"name": ARM_COLUMN, "type": "categorical"}] if data[ARM_COLUMN].nunique() > 1 else []
    return [*settings.covariates, *arm]


def _order(levels: pd.Series, spec: dict) -> list[str]:
    """The levels as the report lists them: a median split's lower side first; otherwise
    the reference first, then the config's ``levels`` order, then the rest sorted."""
    present = sorted(levels.dropna().unique())
    if spec["type"] == "numeric":
        return sorted(
            present, key=lambda level: not level.startswith(BELOW) and AT_OR_BELOW not in level
        )
    listed = [str(level) for level in spec.get("levels") or []]
    first = [level for level in listed if level in present]
    reference = [str(spec["reference"])] if str(spec.get("reference")) in present else []
    return list(dict.fromkeys([*reference, *first, *present]))


def interaction_p(data: pd.DataFrame, time: str, event: str) -> float:
    """The LR test of the Mg x subgroup interaction on the rows with a subgroup."""
    key = grouping_term(CLINICAL_GROUPING)
    subgroup = Term(SUBGROUP_COLUMN, "categorical", reference=None)
    used = data[data[SUBGROUP_COLUMN].notna()]
    if used[SUBGROUP_COLUMN].nunique() < 2:
        return np.nan
    main = fit_cox(used, time, event, [key, subgroup])
    full = fit_cox(used, time, event, [key, subgroup, Interaction(key, subgroup)])
    added = int(full.stats["parameters"]) - int(main.stats["parameters"])
    if added < 1 or not (main.stats["converged"] and full.stats["converged"]):
        return np.nan
    return float(chi2_sf(2 * (full.stats["loglik"] - main.stats["loglik"]), added))


def subgroup_table(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> pd.DataFrame:
    """The subgroups table of one endpoint (empty when switched off: config subgroups)."""
    if not settings.subgroups:
        return pd.DataFrame(columns=list(COLUMNS))
    time, event = time_column(endpoint), event_column(endpoint)
    key = grouping_term(CLINICAL_GROUPING)
    rows = []
    for spec in _variables(data, settings):
        levels = subgroup_levels(data, spec)
        if levels.dropna().nunique() < 2:
            continue
        with_levels = data.assign(**{SUBGROUP_COLUMN: levels})
        p_interaction = interaction_p(with_levels, time, event)
        for level in _order(levels, spec):
            fit = fit_cox(with_levels[levels == level], time, event, [key])
            rows.append(
                {
                    "endpoint": endpoint,
                    "variable": spec["name"],
                    "level": level,
                    **key_estimate(fit),
                    "interaction_p": p_interaction,
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))
