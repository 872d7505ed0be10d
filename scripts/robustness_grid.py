"""Rule robustness_grid: the target's rank over the grid of DE thresholds, for one dataset."""

from pathverdict.smk import run_job
from pathverdict.steps.robustness import robustness_grid

run_job(snakemake, robustness_grid)  # noqa: F821
