# The built-in synthetic cohort (OAK-calibrated, known true effect of low Mg).


rule simulate_cohort:
    output:
        **synthetic_files(COHORT_DIR),
    log:
        "logs/{cohort}/simulate_cohort.log",
    group:
        cohort_job_group("input")
    conda:
        "../../environment.yml"
    params:
        code=CODE_VERSION,
        synthetic=synthetic_params,
    script:
        "../../scripts/simulate_cohort.py"
