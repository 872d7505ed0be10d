"""Snakemake adapter: per-dataset figures (PCA, MA, volcano, enrichment dot plot)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import plot_dataset  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: plot_dataset(
        sm.wildcards.dataset,
        sm.params.dataset,
        sm.params.target,
        sm.params.alpha,
        sm.params.libraries,
        sm.input.de,
        sm.input.vst,
        sm.input.samples,
        {"ora_up": sm.input.ora_up, "ora_down": sm.input.ora_down, "ora_all": sm.input.ora_all, "gsea": sm.input.gsea},
        {"pca": sm.output.pca, "ma": sm.output.ma, "volcano": sm.output.volcano, "dotplot": sm.output.dotplot},
        simulated=sm.params.simulated,
    ),
)
