"""Rule fetch_library: download (or take from the cache) a named gene-set library."""

from pathverdict.smk import run_job
from pathverdict.steps.download import fetch_library

run_job(snakemake, fetch_library)  # noqa: F821
