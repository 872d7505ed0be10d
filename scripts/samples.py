"""Rule samples: one dataset's sample QC, confounding and leave-one-sample-out."""

from pathverdict.smk import run_job
from pathverdict.steps.samples import check_samples

run_job(snakemake, check_samples)  # noqa: F821
