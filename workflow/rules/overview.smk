# Several cohorts: results/index.html compares them and pools the low-Mg hazard ratios.


rule render_overview:
    input:
        cox=expand("results/{cohort}/tables/cox.tsv", cohort=COHORTS.index),
        km_summary=expand(
            "results/{cohort}/tables/km_summary.tsv", cohort=COHORTS.index
        ),
        flow=expand("results/{cohort}/flow.tsv", cohort=COHORTS.index),
        cohort=expand("results/{cohort}/cohort.parquet", cohort=COHORTS.index),
    output:
        html="results/index.html",
        cohort_estimates="results/overview/cohort_estimates.tsv",
        pooled="results/overview/pooled.tsv",
    log:
        "logs/overview/render_overview.log",
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=memory_mb,
        runtime=30,
    params:
        code=CODE_VERSION,
        cohorts=list(COHORTS.index),
        settings=analysis_settings(),
    script:
        "../../scripts/render_overview.py"
