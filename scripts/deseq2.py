"""Rule deseq2: differential expression with the configured DE engine (de.engine)."""

from pathverdict.smk import run_job
from pathverdict.steps.de import run_de

run_job(snakemake, run_de)  # noqa: F821
