"""Rule null: the label-permutation null of every dataset in one table."""

from pathverdict.smk import run_job
from pathverdict.steps.robustness import combine_null

run_job(snakemake, combine_null)  # noqa: F821
