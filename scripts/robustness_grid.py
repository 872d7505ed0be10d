"""Rule robustness_grid: the target's rank over the grid of DE thresholds, for one dataset."""

from pathverdict.smk import run_step
from pathverdict.steps.robustness import robustness_grid

run_step(snakemake, robustness_grid)  # noqa: F821
