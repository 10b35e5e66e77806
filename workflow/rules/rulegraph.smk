# The rule graph of this run, for the report's reproducibility appendix.


rule rule_graph:
    input:
        # only for a cohort that passed validation: a failed cohort keeps no results
        "results/{cohort}/provenance.json",
    output:
        "results/{cohort}/rulegraph.dot",
    log:
        "logs/{cohort}/rule_graph.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        code=CODE_VERSION,
        snakefile=workflow.main_snakefile,
        config=config,
    script:
        "../../scripts/write_rulegraph.py"
