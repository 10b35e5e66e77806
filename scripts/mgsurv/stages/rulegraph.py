"""The workflow's rule graph for the report's reproducibility appendix.

Snakemake draws it (``snakemake --rulegraph``, Graphviz DOT text). The job runs a second,
read-only Snakemake (``--nolock``) on the same Snakefile and working directory, with this
run's effective config written to a file, so the graph is the one of this run.
"""

from __future__ import annotations

import re
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


# The DOT lines of `snakemake --rulegraph`: '\t3[label = "name", color = ...];', '\t3 -> 1'.
NODE = re.compile(r'^\t(\d+)\[label = "([^"]*)"(.*)$')
EDGE = re.compile(r"^\t(\d+) -> (\d+)$")


def canonical_dot(dot: str) -> str:
    """The DOT text with its nodes numbered in the order of their labels (the rules' names)
    and its edges sorted: Snakemake numbers the rules and lists the edges in an order that
    varies from run to run, and the rule graph and the report's figure of it should be
    byte-identical between runs of the same workflow."""
    lines = [line.rstrip() for line in dot.strip().splitlines()]
    nodes = {m[1]: (m[2], m[3]) for line in lines if (m := NODE.match(line))}
    number = {old: new for new, old in enumerate(sorted(nodes, key=lambda old: nodes[old][0]))}
    header = [line for line in lines if not NODE.match(line) and not EDGE.match(line)]
    header = [line for line in header if line != "}"]
    renumbered = sorted((number[old], label, rest) for old, (label, rest) in nodes.items())
    node_lines = [f'\t{new}[label = "{label}"{rest}' for new, label, rest in renumbered]
    edges = sorted((number[m[1]], number[m[2]]) for line in lines if (m := EDGE.match(line)))
    edge_lines = [f"\t{source} -> {target}" for source, target in edges]
    return "\n".join([*header, *node_lines, *edge_lines, "}"]) + "\n"


def write_rule_graph(snakefile: str, config: dict, output: str | Path) -> None:
    """Step rule_graph: write :func:`rule_graph` (canonical DOT) to ``output``."""
    write_text(rule_graph(snakefile, config), output)
