"""Rule plot_dataset: per-dataset figures (PCA, MA, volcano, enrichment dot plot)."""

from pathverdict.smk import run_step
from pathverdict.steps.plots import plot_dataset

run_step(snakemake, plot_dataset)  # noqa: F821
