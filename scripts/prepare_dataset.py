"""Rule prepare_dataset: validate a dataset's counts + sample sheet and map gene IDs."""

from pathverdict.smk import run_job
from pathverdict.steps.prepare import prepare_dataset

run_job(snakemake, prepare_dataset)  # noqa: F821
