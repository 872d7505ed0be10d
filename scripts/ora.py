"""Rule ora: over-representation analysis of up, down and all DE genes."""

from pathverdict.smk import run_job
from pathverdict.steps.enrichment import run_ora

run_job(snakemake, run_ora)  # noqa: F821
