"""The workflow's rule graph for the report's reproducibility appendix.

Snakemake draws it (``snakemake --rulegraph``, Graphviz DOT text). The job runs a second,
read-only Snakemake (``--nolock``) on the same Snakefile and working directory, with this
run's effective config written to a file, so the graph is the one of this run.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from mgsurv.errors import InputError
from mgsurv.files.tables import write_text


def rule_graph(snakefile: str, config: dict) -> str:
    """DOT text of the rule graph of ``snakefile`` under ``config``."""
    with tempfile.TemporaryDirectory() as folder:
        configfile = Path(folder) / "config.yaml"
        configfile.write_text(yaml.safe_dump(config), encoding="utf-8")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--snakefile",
                snakefile,
                "--configfile",
                str(configfile),
                "--rulegraph",
                "--forceall",
                "--nolock",
                "--quiet",
                "all",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    if result.returncode != 0 or "digraph" not in result.stdout:
        raise InputError(
            "snakemake --rulegraph failed: " + result.stderr.strip()[-500:],
            fix="run `snakemake --rulegraph` by hand to see why",
        )
    return canonical_dot(result.stdout[result.stdout.index("digraph") :])


def canonical_dot(dot: str) -> str:
    """The DOT text with its edges sorted: Snakemake lists them in varying order, and the
    report's figure should be byte-identical between runs of the same workflow."""
    lines = [line.rstrip() for line in dot.strip().splitlines()]
    edges = sorted(line for line in lines if "->" in line)
    others = [line for line in lines if "->" not in line and line != "}"]
    return "\n".join([*others, *edges, "}"]) + "\n"


def write_rule_graph(snakefile: str, config: dict, output: str | Path) -> None:
    """Step rule_graph: write :func:`rule_graph` (canonical DOT) to ``output``."""
    write_text(rule_graph(snakefile, config), output)
