"""The JSON schemas of the workflow config and of a column mapping (workflow/schemas/): where
they are, one-line messages for what violates them, and the config's defaults.

The config schema is the one source of every setting's default. Snakemake's ``validate``
fills them into the run's config; :data:`CONFIG_DEFAULTS` gives the same values to the
settings objects of :mod:`mgsurv.settings` (their dataclass defaults, for use outside a
run: tests, the benchmark) and to ``mgsurv simulate``; config/config.yaml states them for
users, and a test keeps it equal to them. The schemas are read from the repository
(workflow/schemas/): mgsurv runs from its clone, installed in editable mode (``pip install
-e .``, as tasks.py and environment.yml do), as the Snakefile, rules and scripts need too.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "workflow" / "schemas"
CONFIG_SCHEMA = SCHEMA_DIR / "config.schema.yaml"
MAPPING_SCHEMA = SCHEMA_DIR / "mapping.schema.yaml"


def read_schema(path: str | Path) -> dict[str, Any]:
    """A schema file (YAML) as a dict."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def schema_problem(instance: object, schema_path: str | Path) -> tuple[str, str, object] | None:
    """The most relevant violation of a JSON schema (YAML file) as (where, message, value):
    where is the key path, e.g. 'units/mg' or '(top level)'; None when the instance is
    valid. Used for mappings and the workflow config (a one-line message instead of
    jsonschema's dump of the whole schema)."""
    problem = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(read_schema(schema_path)).iter_errors(instance)
    )
    if problem is None:
        return None
    where = "/".join(str(p) for p in problem.absolute_path) or "(top level)"
    return where, problem.message, problem.instance


def config_error(config: dict, schema_path: str | Path = CONFIG_SCHEMA) -> str | None:
    """A readable message for an invalid workflow config (None when valid): the key, what
    is wrong, and where the keys are documented."""
    problem = schema_problem(config, schema_path)
    if problem is None:
        return None
    where, message, _ = problem
    return (
        f"mgsurv: config error at '{where}': {message}\n"
        "  fix: correct it in your --configfile or --config (every key is documented in"
        " config/config.yaml)"
    )


def defaults_of(schema: dict[str, Any]) -> dict[str, Any]:
    """The default of every property of an object schema that has one; an object property
    gets the defaults of its own properties (as Snakemake's ``validate`` fills them)."""
    defaults = {}
    for key, spec in schema.get("properties", {}).items():
        if "properties" in spec:
            defaults[key] = copy.deepcopy(spec.get("default", {})) | defaults_of(spec)
        elif "default" in spec:
            defaults[key] = copy.deepcopy(spec["default"])
    return defaults


CONFIG_DEFAULTS: dict[str, Any] = defaults_of(read_schema(CONFIG_SCHEMA))
