"""Rule sensitivity: combine the per-dataset sensitivity tables; directions in the cell datasets."""

from pathverdict.smk import run_job
from pathverdict.steps.robustness import combine_sensitivity

run_job(snakemake, combine_sensitivity)  # noqa: F821
