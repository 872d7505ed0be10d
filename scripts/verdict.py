"""Rule verdict: the cross-dataset verdict on the target pathway."""

from pathverdict.smk import run_step
from pathverdict.steps.verdict import make_verdict

run_step(snakemake, make_verdict)  # noqa: F821
