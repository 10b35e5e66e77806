"""The whole workflow, run by Snakemake in a temporary directory, as a user runs it."""

from __future__ import annotations

import html as html_text
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mgsurv.cohort.prepare import RESERVED_COLUMNS
from mgsurv.contract import (
    CLINICAL_GROUPING,
    COHORT_TABLES,
    CUTPOINT_GROUPING,
    ENDPOINT_TABLES,
    ENDPOINTS,
    EXCLUDED_COLUMNS,
    FLOW_COLUMNS,
    GROUP_ORDER,
    KEY_TERM,
    MULTIVARIABLE,
    QUARTILE_GROUPING,
    RULEGRAPH_FILE,
    arm_model,
    prepare_files,
    table_path,
)
from mgsurv.files.tables import read_tsv
from mgsurv.stages.rulegraph import STAGED_RULE_GRAPH, canonical_dot
from support import MAPPING_FILE, SYNTHETIC_400

# The endpoint tables whose columns are checked against the results contract.
CONTRACT_TABLES = (
    "km_summary",
    "km_curves",
    "landmarks",
    "followup",
    "logrank",
    "cox",
    "ph_test",
    "rmst",
)
pytestmark = pytest.mark.workflow


def result_files(workdir: Path, cohort: str) -> list[Path]:
    folder = workdir / "results" / cohort
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture(scope="module")
def large_synthetic_run(run_workflow, tmp_path_factory) -> Path:
    """The synthetic cohort at n = 6000, large enough to check the estimates against truth."""
    workdir = tmp_path_factory.mktemp("synthetic")
    run = run_workflow(workdir, synthetic={"n": 6000, "seed": 11})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "mgsurv: report written to results/synthetic/report.html" in run.stdout + run.stderr
    return workdir / "results" / "synthetic"


def test_tables_follow_the_results_contract(large_synthetic_run):
    for name in CONTRACT_TABLES:
        table = read_tsv(large_synthetic_run / "tables" / f"{name}.tsv")
        assert list(table.columns) == list(ENDPOINT_TABLES[name]), name
        assert set(table["endpoint"]) == set(ENDPOINTS)
    cohort = pd.read_parquet(large_synthetic_run / "cohort.parquet")
    assert RESERVED_COLUMNS - {CUTPOINT_GROUPING} <= set(cohort.columns)
    assert set(cohort[CLINICAL_GROUPING]) == set(GROUP_ORDER[CLINICAL_GROUPING])
    assert set(cohort[QUARTILE_GROUPING]) == set(GROUP_ORDER[QUARTILE_GROUPING])
    flow = read_tsv(large_synthetic_run / "flow.tsv")
    assert flow["n_before"].iloc[0] == 6000 and flow["n_after"].iloc[-1] == len(cohort)


def test_every_file_of_the_contract_is_written_with_its_columns(large_synthetic_run):
    """Each table mgsurv.contract names exists with exactly its columns, and so do the
    cohort's flow and exclusions."""
    tables = {name: table_path(large_synthetic_run, name) for name in ENDPOINT_TABLES}
    tables |= {name: table_path(large_synthetic_run, name) for name in COHORT_TABLES}
    columns = ENDPOINT_TABLES | COHORT_TABLES
    for name, path in tables.items():
        assert list(read_tsv(path).columns) == list(columns[name]), name
    files = prepare_files(large_synthetic_run)
    assert list(read_tsv(files["flow"]).columns) == list(FLOW_COLUMNS)
    assert list(read_tsv(files["excluded"]).columns) == list(EXCLUDED_COLUMNS)
    assert all(Path(path).is_file() for path in files.values())


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_low_mg_effect_recovered_in_immunotherapy_arm_only(large_synthetic_run, endpoint):
    """Truth: HR 1.6 under immunotherapy, 1.0 under chemotherapy (the generator's defaults)."""
    truth = json.loads((large_synthetic_run / "input" / "truth.json").read_text())
    cox = read_tsv(large_synthetic_run / "tables" / "cox.tsv").set_index(
        ["endpoint", "model", "term"]
    )
    for arm, true_hr in truth["true_hr_low_mg"].items():
        row = cox.loc[(endpoint, arm_model(arm), KEY_TERM)]
        assert row["hr_lower"] < true_hr < row["hr_upper"], (arm, row.to_dict())
    immuno = cox.loc[(endpoint, arm_model("immunotherapy"), KEY_TERM)]
    assert immuno["p"] < 0.001
    chemo = cox.loc[(endpoint, arm_model("chemotherapy"), KEY_TERM)]
    assert 0.8 < chemo["hr"] < 1.25


def test_report_is_self_contained_and_shows_the_tables(large_synthetic_run):
    html = (large_synthetic_run / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "Number at risk" in html
    for marker in ('src="http', "src='http", 'href="http', "<script src", "<link "):
        assert marker not in html
    cox = read_tsv(large_synthetic_run / "tables" / "cox.tsv")
    key = cox[(cox["model"] == MULTIVARIABLE) & (cox["term"] == KEY_TERM)]
    for hr in key["hr"]:
        assert f"{hr:.2f}" in html


def user_mapping(tmp_path: Path) -> Path:
    """A mapping for a CSV with other names, semicolons, decimal commas, mg/dL and days."""
    mapping = yaml.safe_load(MAPPING_FILE.read_text())
    mapping["csv"] = {"delimiter": ";", "decimal": ","}
    mapping["columns"].update(
        {
            "patient_id": "Patient",
            "mg": "Mg_mgdl",
            "arm": "Therapy",
            "pfs_time": "PFS_days",
            "pfs_event": "Progression",
            "os_time": "OS_days",
            "os_event": "Vital_status",
        }
    )
    mapping["covariate_columns"] = {
        "age": "Age_years",
        "sex": "Sex",
        "ecog": "ECOG_PS",
        "histology": "Histology",
        "pdl1": "PDL1_TPS",
    }
    mapping["units"] = {"mg": "mg/dL", "time": "days"}
    mapping["event_codes"] = {"event": ["progressed", "dead"], "censored": ["no", "alive"]}
    mapping["arms"] = {"immunotherapy": ["Atezolizumab"], "other": ["Docetaxel"]}
    path = tmp_path / "mapping_hospital.yaml"
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return path


# The hospital export's names of the synthetic cohort's arms.
DRUGS = {"immunotherapy": "Atezolizumab", "chemotherapy": "Docetaxel"}


def test_user_csv_with_other_names_units_and_codes(run_workflow, tmp_path):
    """A hospital export of the synthetic cohort, its arms named by their drugs, is read back
    to the same analysis cohort, analysed within each arm and answered for the
    immunotherapy arm."""
    source = pd.read_csv(SYNTHETIC_400)
    export = pd.DataFrame(
        {
            "Patient": source["patient_id"],
            "Therapy": source["arm"].map(DRUGS),
            "Age_years": source["age"],
            "Sex": source["sex"],
            "ECOG_PS": source["ecog"],
            "Histology": source["histology"],
            "PDL1_TPS": source["pdl1"],
            "Mg_mgdl": (source["mg_mmol_l"] * 2.4305).round(4),
            "PFS_days": (source["pfs_months"] * 365.25 / 12).round(4),
            "Progression": source["pfs_event"].map({1: "progressed", 0: "no"}),
            "OS_days": (source["os_months"] * 365.25 / 12).round(4),
            "Vital_status": source["os_event"].map({1: "dead", 0: "alive"}),
        }
    )
    csv = tmp_path / "hospital.csv"
    export.to_csv(csv, sep=";", decimal=",", index=False)
    run = run_workflow(
        tmp_path,
        cohort=str(csv),
        mapping=str(user_mapping(tmp_path)),
        reference_arm="Docetaxel",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results" / "hospital"
    cohort = pd.read_parquet(results / "cohort.parquet")
    np.testing.assert_allclose(cohort["mg_mmol_l"], source["mg_mmol_l"], atol=1e-4)
    np.testing.assert_allclose(cohort["os_months"], source["os_months"], atol=1e-5)
    assert cohort["pfs_event"].tolist() == source["pfs_event"].tolist()
    assert cohort["os_event"].tolist() == source["os_event"].tolist()
    summary = read_tsv(results / "tables" / "km_summary.tsv")
    clinical = summary[summary["grouping"] == "mg_clinical"]
    counts = source["arm"].map(DRUGS).value_counts()
    for subset, n in [("all", len(source)), *((f"arm={a}", n) for a, n in counts.items())]:
        assert clinical.loc[clinical["subset"] == subset, "n"].sum() == 2 * n, subset
    arms = read_tsv(results / "tables" / "arms.tsv")
    assert dict(zip(arms["arm"], arms["treatment"], strict=True)) == {
        "Atezolizumab": "immunotherapy",
        "Docetaxel": "other",
    }
    html = (results / "report.html").read_text()
    answer = html[html.index('<section class="headline"') : html.index("<nav")]
    assert "Immunotherapy (Atezolizumab)" in answer and "Docetaxel" in answer
    assert "PFS (primary)" in answer and "Interaction p" in answer
    assert 'id="figure-km-pfs-by-arm"' in html
    # provenance for a real cohort: units and conversion, the mapping, file names only
    assert "Serum magnesium was recorded in mg/dL and converted to mmol/L" in html
    assert "below 0.70 mmol/L (1.70 mg/dL)" in answer
    assert "Times were recorded in days and converted to months" in html
    assert "Column mapping used" in html and "Mg_mgdl" in html
    appendix = html[html.index('<section id="appendix">') :]
    assert "hr_low_mg_immunotherapy" not in appendix  # no synthetic-generator settings
    assert str(tmp_path) not in html and "hospital.csv" in html


def test_single_arm_csv_is_the_primary_population(run_workflow, tmp_path):
    """A single-arm cohort (no arm column): its patients are the primary population, the
    report has no comparison of arms, and Figure 1 is one panel."""
    source = pd.read_csv(SYNTHETIC_400)
    csv = tmp_path / "single.csv"
    source[source["arm"] == "immunotherapy"].drop(columns="arm").to_csv(csv, index=False)
    mapping = yaml.safe_load(MAPPING_FILE.read_text())
    mapping["columns"]["arm"] = None
    del mapping["arms"]
    mapping_path = tmp_path / "mapping_single.yaml"
    mapping_path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    run = run_workflow(tmp_path, cohort=str(csv), mapping=str(mapping_path))
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results" / "single"
    summary = read_tsv(results / "tables" / "km_summary.tsv")
    assert set(summary["subset"]) == {"all"}
    html = (results / "report.html").read_text()
    answer = html[html.index('<section class="headline"') : html.index("<nav")]
    assert "All patients (immunotherapy)" in answer and "Interaction p" not in answer
    assert "a single-arm cohort cannot show whether this is specific" in answer
    figure = html[html.index('id="figure-km-pfs-by-arm"') :]
    assert "risk-table-2" not in figure[: figure.index("</figure>")]


def bad_copy(tmp_path: Path, edit) -> Path:
    """The synthetic_400 CSV with one edit applied to its text lines."""
    lines = SYNTHETIC_400.read_text().splitlines()
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    return path


def replace_field(lines: list[str], line_number: int, column: str, value: str) -> list[str]:
    header = lines[0].split(",")
    fields = lines[line_number - 1].split(",")
    fields[header.index(column)] = value
    return [*lines[: line_number - 1], ",".join(fields), *lines[line_number:]]


BAD_INPUTS = {
    "missing column": (
        lambda lines: [lines[0].replace("os_months", "os_time"), *lines[1:]],
        ["column 'os_months'", "os_time"],
    ),
    "non-numeric Mg": (
        lambda lines: replace_field(lines, 7, "mg_mmol_l", "low"),
        ["serum Mg is not a number", "column: mg_mmol_l", "rows:   7"],
    ),
    "negative time": (
        lambda lines: replace_field(lines, 12, "pfs_months", "-1.5"),
        ["PFS time must be positive", "column: pfs_months", "rows:   12"],
    ),
    "unknown event code": (
        lambda lines: replace_field(lines, 30, "os_event", "9"),
        ["event code(s) '9'", "column: os_event", "rows:   30", "event_codes"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_stops_with_named_message_and_no_results(run_workflow, tmp_path, case):
    edit, expected = BAD_INPUTS[case]
    csv = bad_copy(tmp_path, edit)
    run = run_workflow(tmp_path, cohort=str(csv), mapping=str(MAPPING_FILE))
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert "mgsurv: input error" in output
    assert f"file:   {csv}" in output
    for words in expected:
        assert words in output, words
    assert "Traceback" not in output
    assert result_files(tmp_path, "broken") == []


def test_missing_cohort_file_is_named_before_any_job(run_workflow, tmp_path):
    run = run_workflow(tmp_path, cohort="no/such/file.csv")
    assert run.returncode != 0
    assert "cohort file not found: no/such/file.csv" in run.stdout + run.stderr
    assert not (tmp_path / "results").exists()


def test_missing_mapping_file_is_named_before_any_job(run_workflow, tmp_path):
    csv = bad_copy(tmp_path, lambda lines: lines)
    run = run_workflow(tmp_path, cohort=str(csv), mapping="config/mapping_mine.yaml")
    assert run.returncode != 0
    assert "mapping file not found: config/mapping_mine.yaml" in run.stdout + run.stderr
    assert not (tmp_path / "results").exists()


def write_sheet(workdir: Path, rows: list[str]) -> Path:
    sheet = workdir / "cohorts.tsv"
    sheet.write_text("cohort\tsource\tn\tseed\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return sheet


def test_several_cohorts_one_failing_then_fixed(run_workflow, tmp_path):
    """A bad CSV fails its own cohort only (--keep-going), and the overview of the other two
    names it; after the fix a rerun redoes just that cohort and the overview, which then
    pools all three."""
    broken = bad_copy(tmp_path, lambda lines: replace_field(lines, 9, "mg_mmol_l", "n/d?"))
    sheet = write_sheet(
        tmp_path, ["alpha\tsynthetic\t250\t1", "beta\tsynthetic\t250\t2", f"gamma\t{broken}\t\t"]
    )
    run = run_workflow(
        tmp_path, "--keep-going", cohorts_sheet=str(sheet), mapping=str(MAPPING_FILE)
    )
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert "serum Mg is not a number" in output and "rows:   9" in output
    for good in ("alpha", "beta"):
        assert (tmp_path / "results" / good / "report.html").exists()
    assert result_files(tmp_path, "gamma") == []
    assert "mgsurv: cohort gamma failed:" in output
    partial = tmp_path / "results" / "index.html"
    assert partial.stat().st_mtime == 0
    assert "serum Mg is not a number" in html_text.unescape(partial.read_text(encoding="utf-8"))
    assert set(read_tsv(tmp_path / "results" / "overview" / "pooled.tsv")["k"]) == {2}
    before = {
        good: (tmp_path / "results" / good / "report.html").stat().st_mtime_ns
        for good in ("alpha", "beta")
    }

    fixed = bad_copy(tmp_path, lambda lines: lines)
    assert fixed == broken  # same path, now valid
    rerun = run_workflow(tmp_path, cohorts_sheet=str(sheet), mapping=str(MAPPING_FILE))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    for good in ("alpha", "beta"):
        assert (tmp_path / "results" / good / "report.html").stat().st_mtime_ns == before[good]
    assert (tmp_path / "results" / "gamma" / "report.html").exists()
    pooled = read_tsv(tmp_path / "results" / "overview" / "pooled.tsv")
    assert set(pooled["k"]) == {3}
    html = (tmp_path / "results" / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{name}/report.html"' in html for name in ("alpha", "beta", "gamma"))
    # rows read and patients analysed (counted once, not once per arm subset)
    assert html.count("<td>250</td><td>250</td>") == 2


def test_cohorts_sheet_is_validated(run_workflow, tmp_path):
    sheet = write_sheet(tmp_path, ["alpha\tsynthetic\t250\t1", "alpha\tsynthetic\t250\t2"])
    run = run_workflow(tmp_path, cohorts_sheet=str(sheet))
    assert run.returncode != 0
    assert "cohort names repeat: ['alpha']" in run.stdout + run.stderr
    bad_name = write_sheet(tmp_path, ["al pha\tsynthetic\t250\t1"])
    run = run_workflow(tmp_path, cohorts_sheet=str(bad_name))
    assert run.returncode != 0 and "does not match" in run.stdout + run.stderr


def test_snakemake_report_bundles_the_report_and_figures(run_workflow, large_synthetic_run):
    """`snakemake --report report.zip` (Snakemake's provenance report) works and includes
    the HTML report and the figures marked with report()."""
    workdir = large_synthetic_run.parents[1]
    archive = workdir / "snakemake-report.zip"
    run = run_workflow(workdir, "--report", str(archive), synthetic={"n": 6000, "seed": 11})
    assert run.returncode == 0, run.stderr[-3000:]
    with zipfile.ZipFile(archive) as bundle:
        names = bundle.namelist()
    assert any(name.endswith("/report.html") for name in names)
    assert sum(name.endswith(".png") for name in names) >= 4


def test_the_runs_rule_graph_is_the_one_snakemake_prints(run_workflow, large_synthetic_run):
    """The run stages its rule graph from its own DAG (mgsurv.stages.rulegraph, Snakemake
    internals): it must be what `snakemake --rulegraph` prints for the same config, so that
    a Snakemake upgrade that changes either fails here."""
    workdir = large_synthetic_run.parents[1]
    options = ["--rulegraph", "--forceall", "--nolock", "--quiet"]
    printed = run_workflow(
        workdir, *options, cores=None, target="all", synthetic={"n": 6000, "seed": 11}
    )
    assert printed.returncode == 0, printed.stderr[-3000:]
    dot = printed.stdout[printed.stdout.index("digraph") :]
    written = (workdir / RULEGRAPH_FILE).read_text(encoding="utf-8")
    assert written == canonical_dot(dot)
    assert '[label = "prepare_synthetic_cohort"' in written and "->" in written
    # written from what the run staged, not by the fallback's second Snakemake
    assert (workdir / STAGED_RULE_GRAPH).read_text(encoding="utf-8") == written


def test_without_hooks_the_rule_graph_comes_from_a_second_snakemake(
    run_workflow, large_synthetic_run, tmp_path
):
    """With --no-hooks nothing is staged: the rule_graph job asks a second Snakemake, and
    writes the same graph."""
    run = run_workflow(tmp_path, "--no-hooks", target=RULEGRAPH_FILE, synthetic={"n": 6000})
    assert run.returncode == 0, run.stderr[-3000:]
    assert not (tmp_path / STAGED_RULE_GRAPH).exists()
    written = (tmp_path / RULEGRAPH_FILE).read_text(encoding="utf-8")
    assert written == (large_synthetic_run.parents[1] / RULEGRAPH_FILE).read_text(encoding="utf-8")
