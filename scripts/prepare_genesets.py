"""Rule prepare_genesets: read a gene-set library (GMT / Enrichr text) and write it as GMT with provenance."""

from pathverdict.smk import run_job
from pathverdict.steps.prepare import prepare_genesets

run_job(snakemake, prepare_genesets)  # noqa: F821
