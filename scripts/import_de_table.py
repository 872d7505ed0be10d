"""Rule import_de_table: the de.tsv of a dataset given as a published DE table."""

from pathverdict.smk import run_job
from pathverdict.steps.prepare import import_de_table

run_job(snakemake, import_de_table)  # noqa: F821
