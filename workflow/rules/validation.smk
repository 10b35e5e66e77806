# The validation study (`snakemake validation`): replicates of the synthetic generator under
# several scenarios, analysed by the workflow's own code, in batches (one job each, so the
# study spreads over a cluster), summarised in results/validation/validation.html.


rule validation_batch:
    input:
        mapping=Path(workflow.basedir) / "config" / "mapping.yaml",
    output:
        validation_batch_file("{scenario}", "{batch}"),
    log:
        "logs/validation/{scenario}/{batch}.log",
    wildcard_constraints:
        scenario="|".join(VALIDATION_SCENARIOS),
        batch=r"\d+",
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        code=CODE_VERSION,
        replicates=batch_replicates,
        power_sizes=VALIDATION["power_sizes"],
        settings=study_settings(),
    script:
        "../../scripts/validation_batch.py"


rule validation_report:
    input:
        [
            validation_batch_file(scenario, batch)
            for scenario in VALIDATION_SCENARIOS
            for batch in VALIDATION_BATCHES
        ],
    output:
        **validation_files(),
    log:
        "logs/validation/validation_report.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        code=CODE_VERSION,
        power_sizes=VALIDATION["power_sizes"],
        study={"replicates": VALIDATION["replicates"], "seed": VALIDATION["seed"]},
    script:
        "../../scripts/render_validation.py"


rule validation:
    input:
        VALIDATION_PAGE,
    localrule: True
