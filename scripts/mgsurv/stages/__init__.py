"""The workflow's steps as functions of files: each reads its inputs, calls the library and
writes its outputs (atomically, :mod:`mgsurv.files`). The Snakemake rule scripts in
``scripts/`` and the benchmark (``bench/stage.py``) call these, so both run the same code;
:mod:`mgsurv.stages.runner` gives a rule script its logging and readable errors."""
