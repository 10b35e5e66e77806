# The rule graph of this run, for the reports' reproducibility appendix: one per run (every
# cohort's report shows the same workflow), with no input, so that it is drawn at the start
# beside the first cohort's jobs rather than on the path to the report.


rule rule_graph:
    output:
        RULEGRAPH_FILE,
    log:
        "logs/rule_graph.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        code=CODE_VERSION,
        snakefile=workflow.main_snakefile,
        config=cohort_config(),
    script:
        "../../scripts/write_rulegraph.py"
