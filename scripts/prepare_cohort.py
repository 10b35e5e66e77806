"""Rule prepare_cohort: validate the cohort CSV and write the analysis-ready cohort."""

from mgsurv.cohort.prepare import prepare
from mgsurv.files.tables import write_json, write_parquet, write_tsv
from mgsurv.settings import CutpointSettings
from mgsurv.stages.runner import run_step


def main(smk) -> None:
    result = prepare(
        source=smk.input.source,
        mapping_path=smk.input.mapping,
        covariates=smk.params.covariates,
        threshold_mmol_l=smk.params.threshold,
        origin=smk.params.origin,
        cutpoint=CutpointSettings(**smk.params.cutpoint),
    )
    write_tsv(result.flow, smk.output.flow)
    write_tsv(result.excluded, smk.output.excluded)
    write_tsv(result.groups, smk.output.groups)
    write_tsv(result.cutpoint, smk.output.cutpoint)
    write_tsv(result.baseline, smk.output.baseline)
    write_tsv(result.mg_distribution, smk.output.mg_distribution)
    write_tsv(result.cutpoint_candidates, smk.output.cutpoint_candidates)
    write_json(result.provenance, smk.output.provenance)
    write_parquet(result.cohort, smk.output.cohort)


run_step(snakemake, main)  # noqa: F821 (injected by Snakemake)
