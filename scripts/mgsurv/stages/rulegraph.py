"""The workflow's rule graph for the report's reproducibility appendix.

Snakemake draws it (Graphviz DOT text, as ``snakemake --rulegraph`` prints it). The run's
own Snakemake has the graph already: the Snakefile's ``onstart`` handler, which Snakemake
calls with the run's DAG built and before the first job, stages it
(:func:`stage_rule_graph`) and the rule_graph job writes it out. The staging reads
Snakemake's DAG (``dag.jobs``, ``dag.dependencies`` and the DOT writer ``dag._dot``, as
Snakemake's own ``rule_dot`` does; snakemake pinned in requirements.txt):
tests/test_workflow.py checks that a run's graph is the one ``snakemake --rulegraph``
prints, so an upgrade that changes them fails there. Where nothing was staged (a run with
``--no-hooks``) the job runs a second, read-only Snakemake (``--nolock``) on the same
Snakefile and working directory, with this run's effective config written to a file: 1.5 s
of CPU, which the staging saves the run.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from mgsurv.errors import InputError
from mgsurv.files.atomic import atomic_write

# Where the onstart handler leaves the run's rule graph for the rule_graph job, relative to
# the working directory (Snakemake's own folder of the run).
STAGED_RULE_GRAPH = Path(".snakemake", "mgsurv", "rulegraph.dot")


def rule_graph(snakefile: str, config: dict) -> str:
    """DOT text of the rule graph of ``snakefile`` under ``config``, from a second Snakemake."""
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


def stage_rule_graph(dag: Any) -> None:
    """Stage the canonical DOT of the rule graph of a running workflow's DAG (Snakemake's
    ``workflow.dag``, complete when ``onstart`` runs) for the rule_graph job. What an
    earlier run staged is removed first, so that the job never writes a stale graph."""
    STAGED_RULE_GRAPH.unlink(missing_ok=True)
    graph: dict[Any, set[Any]] = defaultdict(set)
    for job in dag.jobs:
        graph[job.rule].update(dependency.rule for dependency in dag.dependencies[job])
    write_dot(canonical_dot(dag._dot(graph)), STAGED_RULE_GRAPH)


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
    """Step rule_graph: write the rule graph this run staged, else :func:`rule_graph`
    (canonical DOT), to ``output``."""
    if STAGED_RULE_GRAPH.is_file():
        dot = STAGED_RULE_GRAPH.read_text(encoding="utf-8")
    else:
        dot = rule_graph(snakefile, config)
    write_dot(dot, output)


def write_dot(dot: str, path: str | Path) -> None:
    """Write the DOT text atomically (without pandas: the rule_graph job imports little)."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(dot, encoding="utf-8"))
