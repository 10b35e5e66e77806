# Per endpoint: Kaplan-Meier, log-rank and Cox tables; then one table per kind.


rule analyse_endpoint:
    input:
        cohort="results/{cohort}/cohort.parquet",
    output:
        **{
            table: f"results/{{cohort}}/endpoints/{{endpoint}}/{table}.tsv"
            for table in TABLES
        },
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
        settings=analysis_settings(),
    script:
        "../../scripts/analyse_endpoint.py"


rule collect_tables:
    input:
        expand(
            "results/{{cohort}}/endpoints/{endpoint}/{table}.tsv",
            endpoint=ENDPOINTS,
            table=TABLES,
        ),
    output:
        **{table: f"results/{{cohort}}/tables/{table}.tsv" for table in TABLES},
    log:
        "logs/{cohort}/collect_tables.log",
    localrule: True
    conda:
        "../../environment.yml"
    script:
        "../../scripts/collect_tables.py"
