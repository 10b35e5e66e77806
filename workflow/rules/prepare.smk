# Validate the cohort CSV through its mapping; exclusions, patient flow, Mg groupings.


rule prepare_cohort:
    input:
        source=cohort_source,
        mapping=mapping_path,
        lab_table=lab_table_file,
    output:
        **prepare_files(COHORT_DIR),
    log:
        "logs/{cohort}/prepare_cohort.log",
    wildcard_constraints:
        cohort=cohort_names(synthetic=False),
    group:
        cohort_job_group
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=memory_mb,
        runtime=30,
    params:
        code=CODE_VERSION,
        settings=cohort_settings(PrepareSettings),
        origin=cohort_origin,
    script:
        "../../scripts/prepare_cohort.py"


# The built-in synthetic cohort (OAK-calibrated, known true effect of low Mg): generated,
# written as its CSV and truth file, and prepared as a CSV cohort is, in one job (one Python
# start fewer than a job each).
rule prepare_synthetic_cohort:
    input:
        mapping=mapping_path,
    output:
        **synthetic_files(COHORT_DIR),
        **prepare_files(COHORT_DIR),
    log:
        "logs/{cohort}/prepare_cohort.log",
    wildcard_constraints:
        cohort=cohort_names(synthetic=True),
    group:
        cohort_job_group
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=synthetic_memory_mb,
        runtime=30,
    params:
        code=CODE_VERSION,
        synthetic=synthetic_params,
        settings=cohort_settings(PrepareSettings),
        origin=cohort_origin,
    script:
        "../../scripts/prepare_synthetic_cohort.py"
