"""Snakemake adapter: heatmap of the target pathway genes' log2FC across datasets."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import plot_target_heatmap  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: plot_target_heatmap(
        sm.params.datasets,
        list(sm.input.de),
        sm.params.target,
        sm.params.alpha,
        sm.params.libraries,
        sm.output.heatmap,
        simulated=sm.params.simulated,
    ),
)
