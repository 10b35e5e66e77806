# The rule graph of this run, for the reports' reproducibility appendix: one per run (every
# cohort's report shows the same workflow), with no input, so that it is drawn at the start
# beside the first cohort's jobs rather than on the path to the report. It holds no core of
# the run's (threads: 0): a second Snakemake that takes 1.7 s of CPU, it made one endpoint's
# analysis wait for it, and the run end 0.5 s later, while the other endpoint's analysis ran
# on its own; the operating system shares the cores between them instead.


rule rule_graph:
    output:
        RULEGRAPH_FILE,
    log:
        "logs/rule_graph.log",
    localrule: True
    conda:
        "../../environment.yml"
    threads: 0
    params:
        code=CODE_VERSION,
        snakefile=workflow.main_snakefile,
        config=cohort_config(),
    script:
        "../../scripts/write_rulegraph.py"
