"""Rule rule_graph: the workflow's rule graph (DOT) for the report's appendix."""

from mgsurv.stages.rulegraph import write_rule_graph
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    write_rule_graph(smk.params.snakefile, dict(smk.params.config), smk.output[0])


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
