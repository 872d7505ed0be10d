"""Snakemake adapter: validate a dataset's counts + sample sheet and map gene IDs."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import prepare_dataset  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: prepare_dataset(
        sm.wildcards.dataset,
        sm.params.dataset,
        sm.input.annotation,
        sm.input.counts,
        sm.input.samples,
        sm.output.counts,
        sm.output.samples,
        sm.output.genes,
        sm.output.info,
        source_json=sm.input.get("source"),
        out_selection=sm.output.selection,
    ),
)
