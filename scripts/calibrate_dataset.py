"""Rule calibrate_dataset: the verdict on studies simulated from one dataset's own fit (per-dataset calibration)."""

from pathverdict.smk import run_job
from pathverdict.steps.verdict import calibrate_dataset

run_job(snakemake, calibrate_dataset)  # noqa: F821
