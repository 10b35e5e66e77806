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
    group:
        cohort_job_group("input")
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
