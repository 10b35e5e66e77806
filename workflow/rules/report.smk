# The self-contained HTML report, built only from the result tables.


rule render_report:
    input:
        **{table: f"results/{{cohort}}/tables/{table}.tsv" for table in TABLES},
        flow="results/{cohort}/flow.tsv",
        groups="results/{cohort}/tables/mg_groups.tsv",
        cutpoint="results/{cohort}/tables/cutpoint.tsv",
        cutpoint_candidates="results/{cohort}/tables/cutpoint_candidates.tsv",
        provenance="results/{cohort}/provenance.json",
    output:
        report(
            "results/{cohort}/report.html",
            caption="../report/report.rst",
            category="Report",
        ),
    log:
        "logs/{cohort}/render_report.log",
    conda:
        "../../environment.yml"
    params:
        code=CODE_VERSION,
        settings=config,
    script:
        "../../scripts/render_report.py"
