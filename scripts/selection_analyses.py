"""Rule selection_analyses: selected vs all patients, low vs high reference, the gene as a covariate."""

from pathverdict.smk import run_job
from pathverdict.steps.robustness import selection_analyses

run_job(snakemake, selection_analyses)  # noqa: F821
