"""Snakemake adapter: pre-ranked GSEA on the Wald statistic."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import run_gsea  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: run_gsea(
        sm.wildcards.dataset,
        {"enrichment": sm.params.enrichment},
        sm.threads,
        sm.input.de,
        sm.params.libraries,
        sm.output.gsea,
    ),
)
