"""Snakemake adapter: combine the per-dataset sensitivity tables; directions in the cell datasets."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.sensitivity import combine_from_files  # noqa: E402
from pathverdict.smk import run_step  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: combine_from_files(
        list(sm.input.tables), sm.input.genes, sm.params.roles, sm.output.tsv, sm.output.directions
    ),
)
