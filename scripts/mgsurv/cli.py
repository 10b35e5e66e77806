"""The ``mgsurv`` command line: tools around the workflow (the workflow itself runs with
``snakemake``).

    mgsurv simulate --n 1200 --seed 2022 --out cohort.csv --truth truth.json
    mgsurv init my_cohort.csv [--out config/mapping_my_cohort.yaml]
                              [--study-out config/study_my_cohort.yaml]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from mgsurv.cohort.simulate import SyntheticParams, simulate_cohort, write_cohort
from mgsurv.errors import InputError
from mgsurv.onboarding.writing import run_command, safe_name, unsure, write_proposal


def _add_simulate(commands) -> None:
    parser = commands.add_parser(
        "simulate",
        help="write a synthetic OAK-like cohort CSV and its truth file",
        description="Deterministic synthetic NSCLC cohort (immunotherapy vs chemotherapy) with"
        " a known effect of low serum Mg; same seed, same file.",
    )
    parser.add_argument("--out", required=True, help="cohort CSV to write")
    parser.add_argument("--truth", required=True, help="truth JSON to write (true HRs, params)")
    for field in fields(SyntheticParams):
        parser.add_argument(
            f"--{field.name.replace('_', '-')}",
            dest=field.name,
            type=type(field.default),
            default=field.default,
            help=f"(default {field.default})",
        )
    parser.set_defaults(run=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> None:
    params = SyntheticParams(**{f.name: getattr(args, f.name) for f in fields(SyntheticParams)})
    cohort, truth = simulate_cohort(params)
    write_cohort(cohort, truth, args.out, args.truth)
    print(f"wrote {len(cohort)} patients to {args.out} and the truth to {args.truth}")


def _add_init(commands) -> None:
    parser = commands.add_parser(
        "init",
        help="propose the column mapping and study settings for a new cohort file",
        description="Read a cohort file (CSV, .xlsx or .ods) and write, for you to review, a"
        " commented column mapping (columns, units, event codes, arms) and a study config (the"
        " covariates the file has, the reference arm) proposed from its headers and values,"
        " then print the"
        " command that runs them: nothing is guessed when the workflow runs.",
    )
    parser.add_argument("file", help="the cohort file (CSV, .xlsx or .ods)")
    parser.add_argument(
        "--out", help="mapping file to write (default config/mapping_<file name>.yaml)"
    )
    parser.add_argument(
        "--study-out", help="study config to write (default config/study_<file name>.yaml)"
    )
    parser.add_argument("--force", action="store_true", help="replace existing files")
    parser.set_defaults(run=_run_init)


def _run_init(args: argparse.Namespace) -> None:
    name = safe_name(args.file)
    mapping = args.out or f"config/mapping_{name}.yaml"
    study = args.study_out or f"config/study_{name}.yaml"
    proposal = write_proposal(args.file, mapping, study, force=args.force)
    print(f"wrote the proposed mapping to {mapping} and study settings to {study}")
    missing = proposal.missing_columns()
    if missing:
        print(f"no column found for {', '.join(missing)}: fill these in {mapping}")
    check = unsure(proposal)
    if check:
        print(f"review especially: {', '.join(check)} (marked CHECK in the files)")
    print(f"then run: {run_command(study)}")


# What --help says: the docstring's first paragraph, without its reST markup.
DESCRIPTION = " ".join(__doc__.split("\n\n")[0].split()).replace("``", "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mgsurv", description=DESCRIPTION)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _add_simulate(commands)
    _add_init(commands)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except InputError as err:
        print(err.message(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
