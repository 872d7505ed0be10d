"""Rule prepare_dataset: validate a dataset's counts + sample sheet and map gene IDs."""

from pathverdict.smk import run_step
from pathverdict.steps.prepare import prepare_dataset

run_step(snakemake, prepare_dataset)  # noqa: F821
