"""Rule plot_target_heatmap: heatmap of the target pathway genes' log2FC across datasets."""

from pathverdict.smk import run_job
from pathverdict.steps.plots import plot_target_heatmap

run_job(snakemake, plot_target_heatmap)  # noqa: F821
