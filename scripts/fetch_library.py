"""Rule fetch_library: download (or take from the cache) a named gene-set library."""

from pathverdict.smk import run_step
from pathverdict.steps.download import fetch_library

run_step(snakemake, fetch_library)  # noqa: F821
