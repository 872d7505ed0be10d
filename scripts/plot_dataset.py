"""Rule plot_dataset: per-dataset figures (PCA, MA, volcano, enrichment dot plot)."""

from pathverdict.smk import run_job
from pathverdict.steps.plots import plot_dataset

run_job(snakemake, plot_dataset)  # noqa: F821
