"""The pinned dependency lists agree: requirements*.txt, environment.yml, constraints.txt."""

from __future__ import annotations

import re

import yaml

from support import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;#]+)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_pins(filename: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / filename).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-r ")):
            continue
        match = PIN.match(line)
        assert match, f"{filename}: '{line}' is not pinned with =="
        pins[normalise(match.group(1))] = match.group(2)
    return pins


def conda_pins() -> dict[str, str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for entry in environment["dependencies"]:
        assert isinstance(entry, str), "environment.yml: no pip section expected"
        name, _, version = entry.partition("=")
        assert version, f"environment.yml: '{entry}' is not pinned"
        pins[normalise(name)] = version
    return pins


def test_environment_yml_has_the_same_pins_as_the_requirements():
    declared = {**pip_pins("requirements.txt"), **pip_pins("requirements-dev.txt")}
    conda = conda_pins()
    assert conda.pop("python") == "3.11"
    assert conda == declared


def test_constraints_pin_every_requirement_at_the_same_version():
    constraints = pip_pins("constraints.txt")
    for filename in ("requirements.txt", "requirements-dev.txt"):
        for name, version in pip_pins(filename).items():
            assert constraints.get(name) == version, f"{name} in {filename} vs constraints.txt"


def test_lifelines_gets_a_pandas_it_supports():
    """lifelines 0.30.3 declares pandas < 3 (its package metadata)."""
    pins = pip_pins("requirements.txt")
    assert pins["lifelines"] == "0.30.3"
    assert int(pins["pandas"].split(".")[0]) < 3
