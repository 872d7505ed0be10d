"""Rule fetch_annotation: download (or take from the cache) the gene annotation."""

from pathverdict.smk import run_step
from pathverdict.steps.download import fetch_annotation

run_step(snakemake, fetch_annotation)  # noqa: F821
