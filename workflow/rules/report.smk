# The self-contained HTML report, built only from the result tables; its figures also as
# PNG and PDF files.


rule render_report:
    input:
        **{table: f"results/{{cohort}}/tables/{table}.tsv" for table in TABLES},
        flow="results/{cohort}/flow.tsv",
        groups="results/{cohort}/tables/mg_groups.tsv",
        baseline="results/{cohort}/tables/baseline.tsv",
        mg_distribution="results/{cohort}/tables/mg_distribution.tsv",
        cutpoint="results/{cohort}/tables/cutpoint.tsv",
        cutpoint_candidates="results/{cohort}/tables/cutpoint_candidates.tsv",
        provenance="results/{cohort}/provenance.json",
        rulegraph="results/rulegraph.dot",
    output:
        html=report(
            "results/{cohort}/report.html",
            caption="../report/report.rst",
            category="Report",
        ),
        figures=report(
            directory("results/{cohort}/figures"),
            patterns=["{figure}.{format}"],
            caption="../report/figures.rst",
            category="Figures",
            labels={"cohort": "{cohort}", "figure": "{figure}", "format": "{format}"},
        ),
    log:
        "logs/{cohort}/render_report.log",
    conda:
        "../../environment.yml"
    threads: 2
    params:
        code=CODE_VERSION,
        settings=cohort_config(),
    script:
        "../../scripts/render_report.py"
