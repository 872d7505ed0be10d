"""Rule ora: over-representation analysis of up, down and all DE genes."""

from pathverdict.smk import run_step
from pathverdict.steps.enrichment import run_ora

run_step(snakemake, run_ora)  # noqa: F821
