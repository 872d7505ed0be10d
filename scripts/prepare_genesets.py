"""Snakemake adapter: read a gene-set library (GMT / Enrichr text) and write it as GMT with provenance."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import prepare_library  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: prepare_library(
        sm.wildcards.library,
        sm.input.library,
        sm.output.gmt,
        sm.output.info,
        sm.params.target,
        sm.input.get("download"),
    ),
)
