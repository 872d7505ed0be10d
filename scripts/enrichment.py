"""Rule enrichment: ORA, CAMERA and pre-ranked GSEA of one dataset, its robustness grid and its sensitivity."""

from pathverdict.smk import run_job
from pathverdict.steps.enrichment import enrich_dataset

run_job(snakemake, enrich_dataset)  # noqa: F821
