"""Rule rule_graph: the workflow's rule graph (DOT) for the report's appendix."""

from mgsurv.rulegraph import rule_graph
from mgsurv.runner import run_step
from mgsurv.tables import write_text


def main(smk) -> None:
    write_text(rule_graph(smk.params.snakefile, dict(smk.params.config)), smk.output[0])


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
