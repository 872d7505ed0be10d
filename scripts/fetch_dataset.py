"""Rule fetch_dataset: download (or take from the cache) a dataset given by geo: or url:."""

from pathverdict.smk import run_job
from pathverdict.steps.download import fetch_dataset

run_job(snakemake, fetch_dataset)  # noqa: F821
