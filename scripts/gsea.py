"""Rule gsea: pre-ranked GSEA on the Wald statistic."""

from pathverdict.smk import run_step
from pathverdict.steps.enrichment import run_gsea

run_step(snakemake, run_gsea)  # noqa: F821
