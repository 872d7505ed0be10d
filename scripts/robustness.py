"""Rule robustness: combine the per-dataset robustness grids; summary and heatmap."""

from pathverdict.smk import run_job
from pathverdict.steps.robustness import combine_robustness

run_job(snakemake, combine_robustness)  # noqa: F821
