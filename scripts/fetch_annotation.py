"""Rule fetch_annotation: download (or take from the cache) the gene annotation."""

from pathverdict.smk import run_job
from pathverdict.steps.download import fetch_annotation

run_job(snakemake, fetch_annotation)  # noqa: F821
