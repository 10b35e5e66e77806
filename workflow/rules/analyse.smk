# Per endpoint: Kaplan-Meier, log-rank and Cox tables; then one table per kind.


rule analyse_endpoint:
    input:
        cohort=prepare_files(COHORT_DIR)["cohort"],
    output:
        **endpoint_files(COHORT_DIR, "{endpoint}"),
    log:
        "logs/{cohort}/analyse_endpoint_{endpoint}.log",
    group:
        cohort_job_group()
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


rule collect_tables:
    input:
        endpoint_parts(COHORT_DIR),
    output:
        **stacked_table_files(COHORT_DIR),
    log:
        "logs/{cohort}/collect_tables.log",
    group:
        cohort_job_group("report")
    conda:
        "../../environment.yml"
    script:
        "../../scripts/collect_tables.py"
