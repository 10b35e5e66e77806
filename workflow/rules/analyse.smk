# Per endpoint: Kaplan-Meier, log-rank and Cox tables; then one table per kind.


rule analyse_endpoint:
    input:
        cohort=prepare_files(COHORT_DIR)["cohort"],
    output:
        **endpoint_files(COHORT_DIR, "{endpoint}"),
    log:
        "logs/{cohort}/analyse_endpoint_{endpoint}.log",
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=memory_mb,
        runtime=60,
    params:
        code=CODE_VERSION,
        settings=settings_of(AnalysisSettings),
    script:
        "../../scripts/analyse_endpoint.py"


rule collect_tables:
    input:
        [path for e in ENDPOINTS for path in endpoint_files(COHORT_DIR, e).values()],
    output:
        **{table: table_path(COHORT_DIR, table) for table in ENDPOINT_TABLES},
    log:
        "logs/{cohort}/collect_tables.log",
    localrule: True
    conda:
        "../../environment.yml"
    script:
        "../../scripts/collect_tables.py"
