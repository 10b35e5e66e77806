"""The package's structure: imports flow one way between its stages, without cycles; the rule
scripts are thin; the results contract is the one owner of its names; every default comes
from the config schema."""

from __future__ import annotations

import ast
import dataclasses
import graphlib
from typing import get_args

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mgsurv import contract
from mgsurv.schemas import CONFIG_DEFAULTS, CONFIG_SCHEMA, read_schema
from mgsurv.settings import (
    AdjustMethod,
    AnalysisSettings,
    ConfType,
    CutpointSettings,
    PhTransform,
    PrepareSettings,
    ReportSettings,
    config_keys,
)
from support import ROOT

PACKAGE = ROOT / "scripts" / "mgsurv"
# Each part of the package may import only from parts of its own rank or below (README
# "Development": the stages, top to bottom).
RANKS = {
    "contract": 0,
    "schemas": 0,
    "settings": 0,
    "errors": 0,
    "files": 0,
    "stats": 1,
    "cohort": 2,
    "analysis": 3,
    "onboarding": 3,
    "report": 4,
    "overview": 5,
    "validation": 5,
    "stages": 6,
    "cli": 7,
    "__main__": 7,
}


def module_name(path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path) -> set[str]:
    """The mgsurv modules a module imports (a name imported from a package counts as the
    submodule when there is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mgsurv"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("mgsurv")}
    return found & MODULES.keys()


def part_of(module: str) -> str:
    return module.split(".")[1] if module != "mgsurv" else ""


GRAPH = {name: imported_modules(path) for name, path in MODULES.items()}


def test_every_part_of_the_package_has_a_rank():
    parts = {part_of(m) for m in MODULES} - {""}
    assert parts == RANKS.keys()


def test_the_import_graph_has_no_cycles():
    graphlib.TopologicalSorter(GRAPH).prepare()  # raises CycleError on a cycle


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "mgsurv"))
def test_imports_flow_from_later_stages_to_earlier_ones(module):
    upward = [
        target
        for target in GRAPH[module]
        if target != "mgsurv" and RANKS[part_of(target)] > RANKS[part_of(module)]
    ]
    assert not upward, f"{module} imports a later stage: {upward}"


@pytest.mark.parametrize("script", sorted((ROOT / "scripts").glob("*.py")), ids=lambda p: p.name)
def test_rule_scripts_call_one_stage_function(script):
    """A rule script reads the snakemake object and calls mgsurv.stages: no logic."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    stages = {m for m in modules if m.startswith("mgsurv.stages.") and m != "mgsurv.stages.runner"}
    assert "mgsurv.stages.runner" in modules and len(stages) == 1, modules
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert [f.name for f in functions] == ["main"]


# Names of the contract that only contract.py may spell (the rest read them from it).
OWNED_LITERALS = [
    contract.KEY_TERM,
    contract.MULTIVARIABLE,
    contract.UNIVARIABLE,
    contract.TIME_SPLIT,
    contract.ARM_MODEL_PREFIX,
    contract.CLINICAL_GROUPING,
    contract.QUARTILE_GROUPING,
    contract.CUTPOINT_GROUPING,
]
SOURCES = [
    *sorted(p for p in PACKAGE.rglob("*.py") if p.name != "contract.py"),
    *sorted((ROOT / "bench").glob("*.py")),
    *sorted((ROOT / "scripts").glob("*.py")),
]


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes of a module and its classes and functions."""
    owners = [n for n in ast.walk(tree) if isinstance(n, ast.Module | ast.ClassDef)]
    owners += [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    return {
        id(owner.body[0].value)
        for owner in owners
        if owner.body
        and isinstance(owner.body[0], ast.Expr)
        and isinstance(owner.body[0].value, ast.Constant)
    }


def spelled(literal: str, path) -> list[int]:
    """Lines of a module where a string (not a docstring) is or starts with the literal."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and builds_on(node.value, literal)
    ]


def builds_on(text: str, literal: str) -> bool:
    """True when a string is the contract's name or builds on it (a term of a grouping, a
    per-arm model name); not prose that starts with the same word."""
    if literal == contract.ARM_MODEL_PREFIX:
        return text.startswith(literal)
    return text == literal or text.startswith((f"{literal}[", f"{literal}:"))


@pytest.mark.parametrize("literal", OWNED_LITERALS)
def test_the_contract_owns_its_names(literal):
    found = [f"{p.relative_to(ROOT)}:{line}" for p in SOURCES for line in spelled(literal, p)]
    rules = "\n".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    assert not found, f"{literal!r} spelled outside mgsurv.contract: {found}"
    assert f'"{literal}' not in rules


def test_readme_outputs_lists_every_table_of_the_contract():
    outputs = (ROOT / "README.md").read_text(encoding="utf-8").split("## Outputs", 1)[1]
    outputs = outputs.split("\n## ", 1)[0]
    for name in [*contract.ENDPOINT_TABLES, *contract.COHORT_TABLES]:
        assert f"{name}.tsv" in outputs, name
    for file in contract.COHORT_FILES.values():
        assert file in outputs, file
    assert "scripts/mgsurv/contract.py" in outputs


word = st.text(st.characters(whitelist_categories=("L", "N"), whitelist_characters="_-<>=%."))
names = word.filter(lambda w: w and ":" not in w and "[" not in w and "]" not in w)


@given(variable=names, level=names, reference=names, other=names, arm=names)
def test_term_names_built_by_the_contract_parse_back(variable, level, reference, other, arm):
    categorical = contract.categorical_term(variable, level, reference)
    parsed = contract.parse_term(categorical)
    assert (parsed.kind, parsed.variable) == ("categorical", variable)
    assert parsed.comparison == f"{level} vs {reference}"
    arm_term = contract.categorical_term("arm", other, reference)
    both = contract.parse_term(contract.interaction_term(categorical, arm_term))
    assert both.kind == "interaction"
    assert both.parts == (parsed, contract.parse_term(arm_term))
    within = contract.parse_term(contract.within_arm_term(categorical, arm))
    assert (within.kind, within.arm, within.parts) == ("within_arm", arm, (parsed,))


@given(cut=st.floats(min_value=0.1, max_value=120.0).map(lambda t: round(t, 1)))
def test_time_split_terms_parse_back(cut):
    early, late = map(contract.parse_term, contract.period_terms(contract.KEY_TERM, cut))
    key = contract.parse_term(contract.KEY_TERM)
    assert (early.kind, early.parts, early.comparison) == (
        "period",
        (key,),
        f"up to {cut:g} months",
    )
    assert (late.kind, late.parts, late.comparison) == ("period", (key,), f"after {cut:g} months")


def test_the_key_and_continuous_terms_read_as_the_report_shows_them():
    key = contract.parse_term(contract.KEY_TERM)
    assert (key.variable, key.comparison) == (contract.CLINICAL_GROUPING, "low vs normal")
    continuous = contract.parse_term(contract.MG_CONTINUOUS_TERM)
    assert (continuous.kind, continuous.step, continuous.unit) == ("per_unit", "0.1", "mmol_l")


@pytest.mark.parametrize("kind", sorted(contract.RMST_CONTRASTS))
def test_rmst_contrast_labels_parse_back(kind):
    label = contract.rmst_contrast(kind, "Q4", "Q1")
    assert contract.parse_rmst_group(label) == (kind, "Q4", "Q1")
    assert contract.parse_rmst_group("Q4") == ("group", "Q4", "")


def test_model_statistics_flag_too_few_events_per_parameter():
    minimum = contract.MIN_EVENTS_PER_PARAMETER
    low = contract.model_statistics(n=50, events=minimum - 1, parameters=1, converged=True)
    enough = contract.model_statistics(n=50, events=minimum, parameters=1, converged=True)
    none = contract.model_statistics(n=50, events=5, parameters=0, converged=False)
    assert low["epv_below_10"] and not enough["epv_below_10"]
    assert none["events_per_parameter"] != none["events_per_parameter"]  # NaN
    assert list(low) == list(contract.MODEL_STATISTICS_COLUMNS)
    row = contract.model_statistics_row("m", "a, b", "", low)
    assert list(row) == list(contract.ENDPOINT_TABLES["cox_models"][1:])


def test_shipped_config_states_the_schema_defaults():
    """config/config.yaml documents every key with its default: the schema's."""
    shipped = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    assert {k: v for k, v in shipped.items() if k in CONFIG_DEFAULTS} == CONFIG_DEFAULTS
    assert shipped.keys() - CONFIG_DEFAULTS.keys() == {"cohort"}


@pytest.mark.parametrize(
    "settings_class", [PrepareSettings, AnalysisSettings, ReportSettings, CutpointSettings]
)
def test_settings_defaults_are_the_schema_defaults(settings_class):
    if settings_class is CutpointSettings:
        built = CutpointSettings(**CONFIG_DEFAULTS["cutpoint"])
    else:
        built = settings_class.from_config(CONFIG_DEFAULTS)
    defaults = settings_class()
    if settings_class is ReportSettings:
        defaults = dataclasses.replace(defaults, config=dict(CONFIG_DEFAULTS))
    assert built == defaults


@pytest.mark.parametrize("settings_class", [PrepareSettings, AnalysisSettings, ReportSettings])
def test_settings_are_built_from_their_config_keys_only(settings_class):
    keys = config_keys(settings_class)
    assert set(keys) <= CONFIG_DEFAULTS.keys()
    only = {key: CONFIG_DEFAULTS[key] for key in keys}
    built, expected = settings_class.from_config(only), settings_class.from_config(CONFIG_DEFAULTS)
    if settings_class is ReportSettings:  # it also keeps the whole config, for the appendix
        built, expected = (dataclasses.replace(s, config={}) for s in (built, expected))
    assert built == expected


@pytest.mark.parametrize(
    ("key", "allowed"),
    [("conf_type", ConfType), ("ph_transform", PhTransform), ("pairwise_adjust", AdjustMethod)],
)
def test_typed_settings_allow_what_the_schema_allows(key, allowed):
    schema = read_schema(CONFIG_SCHEMA)
    assert tuple(schema["properties"][key]["enum"]) == get_args(allowed)
