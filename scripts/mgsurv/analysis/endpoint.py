"""All estimates of one endpoint (PFS or OS): the endpoint tables of the results contract
(:data:`mgsurv.contract.ENDPOINT_TABLES`), from the analysis-ready cohort.

The survival tables (Kaplan-Meier, follow-up, log-rank, RMST) come from
:mod:`mgsurv.analysis.survival`, the Cox models and their proportional-hazards checks from
:mod:`mgsurv.analysis.cox_models`, Mg as a spline from :mod:`mgsurv.analysis.spline_tables`.
Degenerate but valid cohorts never raise here: what cannot be estimated is NaN in the tables,
with the reason in ``cox_models.note``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mgsurv.analysis.cox_models import cox_models
from mgsurv.analysis.imputation import imputation_table
from mgsurv.analysis.iptw import iptw_tables
from mgsurv.analysis.spline_tables import spline_tables
from mgsurv.analysis.subgroups import subgroup_table
from mgsurv.analysis.survival import survival_tables
from mgsurv.analysis.threshold_grid import threshold_grid
from mgsurv.contract import (
    ARM_COLUMN,
    ENDPOINT_TABLES,
    ENDPOINTS,
    GROUPINGS,
    MG_COLUMN,
    endpoint_table,
    event_column,
    time_column,
)
from mgsurv.settings import AnalysisSettings


def analysis_columns(endpoint: str, settings: AnalysisSettings) -> list[str]:
    """The cohort columns the endpoint's analyses use, each once (the other endpoint's
    too when covariates are imputed: both outcomes are predictors of the imputation)."""
    endpoints = (endpoint, *ENDPOINTS) if settings.multiple_imputation is not None else (endpoint,)
    keep = [
        *(column for e in endpoints for column in (time_column(e), event_column(e))),
        MG_COLUMN,
        ARM_COLUMN,
        *GROUPINGS,
        *(spec["name"] for spec in settings.covariates),
        *settings.strata,
    ]
    return list(dict.fromkeys(keep))


def compact(data: pd.DataFrame, endpoint: str, settings: AnalysisSettings) -> pd.DataFrame:
    """The cohort columns the endpoint's analyses use, text columns as categoricals.

    The same values (a categorical's categories are its sorted distinct texts, so level
    orders do not change), in a tenth of the memory: at 10^6 patients the prepared cohort's
    text columns take about 600 MB as Python strings, and every subset (Mg group, arm,
    complete cases) copies them.
    """
    data = data[analysis_columns(endpoint, settings)]
    text = [c for c in data.columns if data[c].dtype == object]
    return data.astype(dict.fromkeys(text, "category"))


def read_endpoint_cohort(
    path: str | Path, endpoint: str, settings: AnalysisSettings
) -> pd.DataFrame:
    """The prepared cohort's parquet file as :func:`compact` makes it, read that way.

    Only the endpoint's columns are read, text columns dictionary-decoded straight into
    categoricals (categories then sorted, as ``astype("category")`` sorts them): the same
    frame as ``compact(pd.read_parquet(path), ...)`` without first building every text as a
    Python string (at 10^6 patients ~640 MB). Arrow's memory pool keeps what the read used
    unless told to release it, which would stay in the process beside the analyses.
    """
    columns = analysis_columns(endpoint, settings)
    schema = pq.read_schema(path)
    text = [c for c in columns if _is_text(schema.field(c).type)]
    data = pq.read_table(path, columns=columns, read_dictionary=text).to_pandas()
    pa.default_memory_pool().release_unused()
    for column in text:
        # not astype(CategoricalDtype(sorted)): unordered dtypes with the same categories
        # compare equal, so that would keep the parquet dictionary's order
        values = data[column].cat.remove_unused_categories()
        data[column] = values.cat.reorder_categories(sorted(values.cat.categories))
    return data


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def analyse_endpoint(
    data: pd.DataFrame, endpoint: str, settings: AnalysisSettings
) -> dict[str, pd.DataFrame]:
    """Every endpoint table of the results contract, by name, for one endpoint (from the
    cohort's columns it needs, see :func:`compact`)."""
    data = compact(data, endpoint, settings)
    cox = cox_models(data, endpoint, settings)
    spline = spline_tables(data, endpoint, settings)
    cox["cox"] = endpoint_table(
        [cox["cox"].drop(columns="endpoint"), spline.pop("spline_cox")],
        endpoint,
        ENDPOINT_TABLES["cox"][1:],
    )
    spline_model = spline.pop("spline_model")
    if spline_model is not None:
        cox["cox_models"] = endpoint_table(
            [cox["cox_models"].drop(columns="endpoint"), pd.DataFrame([spline_model])],
            endpoint,
            ENDPOINT_TABLES["cox_models"][1:],
        )
    return {
        **survival_tables(data, endpoint, settings),
        **cox,
        **spline,
        "thresholds": threshold_grid(data, endpoint, settings),
        "subgroups": subgroup_table(data, endpoint, settings),
        **iptw_tables(data, endpoint, settings),
        "imputation": imputation_table(data, endpoint, settings),
    }
