"""Rule prepare_unselected: the checked counts and sample sheet of all samples, before the selection by expression."""

from pathverdict.smk import run_job
from pathverdict.steps.prepare import prepare_dataset

run_job(snakemake, prepare_dataset)  # noqa: F821
