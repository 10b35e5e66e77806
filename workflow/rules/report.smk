# The endpoints' tables stacked into one table per kind (tables/), then the self-contained
# HTML report built only from the result tables, its figures also as PNG and PDF files: one
# job, so that stacking the tables costs no Python start of its own.


rule render_report:
    input:
        **prepared_report_tables(COHORT_DIR),
        parts=endpoint_parts(COHORT_DIR),
        provenance=prepare_files(COHORT_DIR)["provenance"],
        rulegraph=RULEGRAPH_FILE,
    output:
        **stacked_table_files(COHORT_DIR),
        html=report(
            f"{COHORT_DIR}/{REPORT_FILE}",
            caption="../report/report.rst",
            category="Report",
        ),
        figures=report(
            directory(f"{COHORT_DIR}/{FIGURES_FOLDER}"),
            patterns=["{figure}.{format}"],
            caption="../report/figures.rst",
            category="Figures",
            labels={"cohort": "{cohort}", "figure": "{figure}", "format": "{format}"},
        ),
    log:
        "logs/{cohort}/render_report.log",
    group:
        cohort_job_group
    conda:
        "../../environment.yml"
    threads: 2
    params:
        code=CODE_VERSION,
        settings=cohort_config(),
    script:
        "../../scripts/render_report.py"
