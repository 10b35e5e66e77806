# Per endpoint: Kaplan-Meier, log-rank and Cox tables.


rule analyse_endpoint:
    input:
        cohort=prepare_files(COHORT_DIR)["cohort"],
    output:
        **endpoint_files(COHORT_DIR, "{endpoint}"),
    log:
        "logs/{cohort}/analyse_endpoint_{endpoint}.log",
    group:
        cohort_job_group
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=memory_mb,
        runtime=60,
    params:
        code=CODE_VERSION,
        settings=cohort_settings(AnalysisSettings),
    script:
        "../../scripts/analyse_endpoint.py"
