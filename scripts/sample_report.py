"""Rule sample_report: the study's sample QC and confounding tables and the samples page."""

from pathverdict.smk import run_job
from pathverdict.steps.samples import combine_samples

run_job(snakemake, combine_samples)  # noqa: F821
