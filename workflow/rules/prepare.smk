# Validate the cohort CSV through its mapping; exclusions, patient flow, Mg groupings.


rule prepare_cohort:
    input:
        source=cohort_source,
        mapping=mapping_path,
    output:
        cohort="results/{cohort}/cohort.parquet",
        flow="results/{cohort}/flow.tsv",
        excluded="results/{cohort}/excluded.tsv",
        groups="results/{cohort}/tables/mg_groups.tsv",
        cutpoint="results/{cohort}/tables/cutpoint.tsv",
        baseline="results/{cohort}/tables/baseline.tsv",
        mg_distribution="results/{cohort}/tables/mg_distribution.tsv",
        cutpoint_candidates="results/{cohort}/tables/cutpoint_candidates.tsv",
        provenance="results/{cohort}/provenance.json",
    log:
        "logs/{cohort}/prepare_cohort.log",
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=memory_mb,
        runtime=30,
    params:
        code=CODE_VERSION,
        covariates=config["covariates"],
        threshold=config["mg_threshold_mmol_l"],
        cutpoint=config["cutpoint"],
        origin=cohort_origin,
    script:
        "../../scripts/prepare_cohort.py"
