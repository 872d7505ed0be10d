"""Rule sensitivity_dataset: the sensitivity of the target's status, for one dataset."""

from pathverdict.smk import run_job
from pathverdict.steps.robustness import sensitivity_dataset

run_job(snakemake, sensitivity_dataset)  # noqa: F821
