# The rule graph of this run, for the reports' reproducibility appendix: one per run (every
# cohort's report shows the same workflow), with no input, so that it is written at the
# start beside the first cohort's job. The run's Snakemake stages it as it starts (onstart,
# mgsurv.stages.rulegraph) and the job writes it out; if nothing was staged (--no-hooks) the
# job runs a second Snakemake for it, 1.5 s of CPU. It holds no core of the run's
# (threads: 0), so that it never makes a cohort's job wait.


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
