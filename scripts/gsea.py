"""Rule gsea: pre-ranked GSEA on the Wald statistic."""

from pathverdict.smk import run_job
from pathverdict.steps.enrichment import run_gsea

run_job(snakemake, run_gsea)  # noqa: F821
