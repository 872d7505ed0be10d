"""Rule null_permutations: dE + enrichment on permuted sample labels, for one dataset."""

from pathverdict.smk import run_job
from pathverdict.steps.robustness import null_permutations

run_job(snakemake, null_permutations)  # noqa: F821
