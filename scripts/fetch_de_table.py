"""Rule fetch_de_table: a published DE table from a URL or GEO."""

from pathverdict.smk import run_job
from pathverdict.steps.download import fetch_de_table

run_job(snakemake, fetch_de_table)  # noqa: F821
