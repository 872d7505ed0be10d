"""Rule null_permutations: dE + enrichment on permuted sample labels, for one dataset."""

from pathverdict.smk import run_step
from pathverdict.steps.robustness import null_permutations

run_step(snakemake, null_permutations)  # noqa: F821
