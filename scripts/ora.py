"""Snakemake adapter: over-representation analysis of up, down and all DE genes."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import run_ora  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: run_ora(
        sm.wildcards.dataset,
        {"enrichment": sm.params.enrichment},
        sm.input.de,
        sm.params.libraries,
        {"up": sm.output.up, "down": sm.output.down, "all": sm.output.all},
        sm.output.info,
    ),
)
