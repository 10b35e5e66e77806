# Several cohorts: results/index.html compares them and pools the low-Mg hazard ratios.


rule render_overview:
    input:
        cox=expand(table_path(COHORT_DIR, "cox"), cohort=COHORTS.index),
        km_summary=expand(table_path(COHORT_DIR, "km_summary"), cohort=COHORTS.index),
        flow=expand(prepare_files(COHORT_DIR)["flow"], cohort=COHORTS.index),
        arms=expand(prepare_files(COHORT_DIR)["arms"], cohort=COHORTS.index),
        cohort=expand(prepare_files(COHORT_DIR)["cohort"], cohort=COHORTS.index),
    output:
        **overview_files(),
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
        settings=settings_of(AnalysisSettings),
    script:
        "../../scripts/render_overview.py"
