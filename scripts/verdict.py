"""Rule verdict: the cross-dataset verdict on the target pathway."""

from pathverdict.smk import run_job
from pathverdict.steps.verdict import make_verdict

run_job(snakemake, make_verdict)  # noqa: F821
