"""Snakemake adapter: differential expression with pydeseq2."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import run_de  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: run_de(
        sm.wildcards.dataset,
        sm.params.dataset,
        {"de": sm.params.de},
        sm.threads,
        sm.input.counts,
        sm.input.samples,
        sm.input.genes,
        sm.output.de,
        sm.output.normalized,
        sm.output.vst,
        sm.output.summary,
    ),
)
