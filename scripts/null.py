"""Rule null: the label-permutation null of every dataset in one table."""

from pathverdict.smk import run_step
from pathverdict.steps.robustness import combine_null

run_step(snakemake, combine_null)  # noqa: F821
