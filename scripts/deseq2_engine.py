"""Rule deseq2_engine: differential expression with the other DE engine, for the engine sensitivity."""

from pathverdict.smk import run_job
from pathverdict.steps.de import run_de

run_job(snakemake, run_de)  # noqa: F821
