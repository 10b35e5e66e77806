# Several cohorts: results/index.html pools each cohort's primary estimate and compares them.
# It reads only the cohorts' small result tables, so it runs on the submit node.


rule render_overview:
    input:
        **{
            name: expand(path, cohort=COHORTS.index)
            for name, path in overview_inputs(COHORT_DIR).items()
        },
    output:
        **overview_files(),
    log:
        "logs/overview/render_overview.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        code=CODE_VERSION,
        cohorts=list(COHORTS.index),
        settings=settings_of(OverviewSettings),
    script:
        "../../scripts/render_overview.py"
