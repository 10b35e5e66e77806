"""The public results contract (README "Outputs"), pinned with literals.

Everywhere else the tests read table, column, model and term names from
scripts/mgsurv/contract.py, as the analysis writes through it: a rename there changes the
writer and those tests together, and they keep passing. This module is the deliberate,
independent pin of what users and their scripts read: it spells every name out (the columns
were copied from the headers of a real run's results, site_a's tables and endpoint tables,
overview and validation study) and compares the contract module with them. Changing the
contract means changing this file and README "Outputs" on purpose.
"""

from __future__ import annotations

import pytest

from mgsurv import contract
from mgsurv.contract import (
    KEY_TERM,
    arm_model,
    categorical_term,
    event_column,
    interaction_term,
    parse_rmst_group,
    parse_term,
    period_terms,
    rmst_contrast,
    time_column,
    within_arm_term,
)

# results/<cohort>/endpoints/<endpoint>/<name>.tsv, stacked in results/<cohort>/tables/.
ENDPOINT_TABLES = {
    "km_summary": [
        "endpoint",
        "subset",
        "grouping",
        "group",
        "n",
        "events",
        "median",
        "median_lower",
        "median_upper",
    ],
    "km_curves": [
        "endpoint",
        "subset",
        "grouping",
        "group",
        "time",
        "n_risk",
        "n_event",
        "n_censor",
        "surv",
        "lower",
        "upper",
    ],
    "landmarks": ["endpoint", "subset", "grouping", "group", "time", "surv", "lower", "upper"],
    "followup": ["endpoint", "subset", "grouping", "group", "median_followup", "lower", "upper"],
    "logrank": [
        "endpoint",
        "subset",
        "grouping",
        "test",
        "groups",
        "statistic",
        "df",
        "p",
        "p_adjusted",
    ],
    "cox": [
        "endpoint",
        "model",
        "term",
        "coef",
        "se",
        "hr",
        "hr_lower",
        "hr_upper",
        "z",
        "p",
        "n",
        "events",
    ],
    "cox_models": [
        "endpoint",
        "model",
        "terms",
        "strata",
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
    ],
    "ph_test": ["endpoint", "model", "term", "chi2", "df", "p"],
    "schoenfeld": [
        "endpoint",
        "model",
        "variable",
        "term",
        "time",
        "transformed_time",
        "residual",
        "residuals",
    ],
    "schoenfeld_smooth": [
        "endpoint",
        "model",
        "variable",
        "term",
        "time",
        "transformed_time",
        "fit",
        "lower",
        "upper",
        "coef",
    ],
    "rmst": [
        "endpoint",
        "subset",
        "grouping",
        "group",
        "tau",
        "estimate",
        "se",
        "lower",
        "upper",
        "p",
    ],
    "spline": ["endpoint", "mg_mmol_l", "hr", "hr_lower", "hr_upper"],
    "nonlinearity": [
        "endpoint",
        "model",
        "knots",
        "reference_mmol_l",
        "statistic",
        "df",
        "p",
        "n",
        "events",
    ],
    "thresholds": [
        "endpoint",
        "subset",
        "threshold_mmol_l",
        "n_low",
        "n_normal",
        "hr",
        "hr_lower",
        "hr_upper",
        "p",
        "n",
        "events",
    ],
    "subgroups": [
        "endpoint",
        "variable",
        "level",
        "hr",
        "hr_lower",
        "hr_upper",
        "p",
        "n",
        "events",
        "interaction_p",
    ],
    "imputation": [
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
    ],
    "iptw_balance": ["endpoint", "subset", "variable", "level", "smd", "smd_weighted"],
    "iptw_weights": [
        "endpoint",
        "subset",
        "group",
        "n",
        "effective_n",
        "min",
        "q1",
        "median",
        "q3",
        "max",
        "n_trimmed",
    ],
    "iptw_km": [
        "endpoint",
        "subset",
        "group",
        "time",
        "n_risk",
        "n_event",
        "surv",
        "patients_at_risk",
        "patients_with_event",
        "patients_censored",
    ],
    "iptw_cox": [
        "endpoint",
        "subset",
        "coef",
        "naive_se",
        "robust_se",
        "hr",
        "hr_lower",
        "hr_upper",
        "p",
        "n",
        "events",
        "note",
    ],
}
# results/<cohort>/tables/<name>.tsv of the whole cohort.
COHORT_TABLES = {
    "mg_groups": ["grouping", "group", "mg_from", "mg_to", "definition", "n"],
    "cutpoint": [
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
    ],
    "baseline": [
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
    ],
    "mg_distribution": ["mg_mmol_l", "n"],
    "cutpoint_candidates": ["cut", "statistic", "n_low", "n_high"],
    "arms": ["arm", "treatment", "n"],
}
# results/overview/<name>.tsv.
OVERVIEW_TABLES = {
    "cohort_estimates": [
        "cohort",
        "endpoint",
        "population",
        "arm",
        "hr",
        "hr_lower",
        "hr_upper",
        "p",
        "n",
        "events",
        "coef",
        "se",
        "excluded",
    ],
    "pooled": [
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
    ],
}
# results/validation/replicates.tsv.
REPLICATE_COLUMNS = [
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
]
# results/<cohort>/flow.tsv and excluded.tsv.
FLOW_COLUMNS = ["step", "reason", "n_before", "n_excluded", "n_after"]
EXCLUDED_COLUMNS = ["line", "patient_id", "reason"]


def columns_of(tables: dict) -> dict[str, list[str]]:
    """Each table's columns as a list: the pin is on names and their order, not on the
    container the contract module keeps them in."""
    return {name: list(columns) for name, columns in tables.items()}


@pytest.mark.parametrize(
    "pinned, actual",
    [
        (ENDPOINT_TABLES, contract.ENDPOINT_TABLES),
        (COHORT_TABLES, contract.COHORT_TABLES),
        (OVERVIEW_TABLES, contract.OVERVIEW_TABLES),
    ],
    ids=["endpoint", "cohort", "overview"],
)
def test_every_table_and_its_columns(pinned, actual):
    assert columns_of(actual) == pinned


def test_flow_excluded_and_replicate_columns():
    assert list(contract.FLOW_COLUMNS) == FLOW_COLUMNS
    assert list(contract.EXCLUDED_COLUMNS) == EXCLUDED_COLUMNS
    assert list(contract.REPLICATE_COLUMNS) == REPLICATE_COLUMNS


def test_cohort_files_report_and_figures():
    assert contract.COHORT_FILES == {
        "cohort": "cohort.parquet",
        "flow": "flow.tsv",
        "excluded": "excluded.tsv",
        "provenance": "provenance.json",
    }
    assert contract.REPORT_FILE == "report.html"
    assert contract.FIGURES_FOLDER == "figures"


def test_endpoints_and_cohort_columns():
    assert tuple(contract.ENDPOINTS) == ("pfs", "os")
    assert contract.MG_COLUMN == "mg_mmol_l"
    assert (time_column("pfs"), event_column("pfs")) == ("pfs_months", "pfs_event")
    assert (time_column("os"), event_column("os")) == ("os_months", "os_event")
    assert contract.ALL_PATIENTS == "all"


def test_groupings_their_group_order_and_reference_group():
    assert contract.CLINICAL_GROUPING == "mg_clinical"
    assert contract.QUARTILE_GROUPING == "mg_quartile"
    assert contract.CUTPOINT_GROUPING == "mg_cutpoint"
    assert tuple(contract.GROUPINGS) == ("mg_clinical", "mg_quartile", "mg_cutpoint")
    assert columns_of(contract.GROUP_ORDER) == {
        "mg_clinical": ["normal", "low"],
        "mg_quartile": ["Q1", "Q2", "Q3", "Q4"],
        "mg_cutpoint": ["high", "low"],
    }
    assert contract.REFERENCE_GROUP == {
        "mg_clinical": "normal",
        "mg_quartile": "Q1",
        "mg_cutpoint": "high",
    }


def test_model_names():
    assert contract.UNIVARIABLE == "univariable"
    assert contract.MULTIVARIABLE == "multivariable"
    assert contract.CONTINUOUS == "continuous"
    assert contract.STRATIFIED == "stratified"
    assert contract.INTERACTION == "interaction"
    assert contract.SPLINE == "spline"
    assert contract.TIME_SPLIT == "time-split"
    assert arm_model("immunotherapy") == "arm=immunotherapy"
    assert arm_model("chemotherapy") == "arm=chemotherapy"


def test_logrank_test_names_and_the_global_ph_test():
    assert contract.LOGRANK_TEST == "logrank"
    assert contract.STRATIFIED_LOGRANK_TEST == "stratified"
    assert contract.TREND_TEST == "trend"
    assert contract.PAIRWISE_TEST == "pairwise"
    assert contract.PH_GLOBAL == "GLOBAL"


def test_key_terms():
    assert KEY_TERM == "mg_clinical[low vs normal]"
    assert contract.MG_CONTINUOUS_TERM == "mg_per_0.1_mmol_l"


def test_term_names():
    assert categorical_term("sex", "female", "male") == "sex[female vs male]"
    assert categorical_term("mg_quartile", "Q4", "Q1") == "mg_quartile[Q4 vs Q1]"
    arm = categorical_term("arm", "immunotherapy", "chemotherapy")
    assert arm == "arm[immunotherapy vs chemotherapy]"
    assert interaction_term(KEY_TERM, arm) == (
        "mg_clinical[low vs normal]:arm[immunotherapy vs chemotherapy]"
    )
    assert interaction_term("mg_clinical", "arm") == "mg_clinical:arm"  # ph_test.tsv's term
    assert within_arm_term(KEY_TERM, "immunotherapy") == (
        "mg_clinical[low vs normal] within arm=immunotherapy"
    )
    assert period_terms(KEY_TERM, 4.2) == (
        "mg_clinical[low vs normal] in (0, 4.2] months",
        "mg_clinical[low vs normal] after 4.2 months",
    )
    assert period_terms(KEY_TERM, 6.0) == (
        "mg_clinical[low vs normal] in (0, 6] months",
        "mg_clinical[low vs normal] after 6 months",
    )


def test_term_names_are_read_back():
    within = parse_term("mg_clinical[low vs normal] within arm=immunotherapy")
    assert (within.kind, within.arm) == ("within_arm", "immunotherapy")
    (term,) = within.parts
    assert (term.kind, term.variable, term.comparison) == (
        "categorical",
        "mg_clinical",
        "low vs normal",
    )
    left, right = parse_term("mg_clinical[low vs normal]:arm[immunotherapy vs chemotherapy]").parts
    assert (left.variable, right.variable) == ("mg_clinical", "arm")
    per_unit = parse_term("mg_per_0.1_mmol_l")
    assert (per_unit.kind, per_unit.variable, per_unit.step, per_unit.unit) == (
        "per_unit",
        "mg",
        "0.1",
        "mmol_l",
    )
    assert parse_term("age").kind == "numeric"


def test_rmst_contrast_labels():
    assert rmst_contrast("difference", "Q4", "Q1") == "Q4 - Q1"
    assert rmst_contrast("ratio", "Q4", "Q1") == "Q4 / Q1"
    assert rmst_contrast("rmtl_ratio", "Q4", "Q1") == "RMTL Q4 / Q1"
    assert parse_rmst_group("Q4 - Q1") == ("difference", "Q4", "Q1")
    assert parse_rmst_group("Q4 / Q1") == ("ratio", "Q4", "Q1")
    assert parse_rmst_group("RMTL Q4 / Q1") == ("rmtl_ratio", "Q4", "Q1")
    assert parse_rmst_group("Q4") == ("group", "Q4", "")


def test_thresholds():
    assert contract.PH_ALPHA == 0.05
    assert contract.MIN_EVENTS_PER_PARAMETER == 10
