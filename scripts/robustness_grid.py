"""Snakemake adapter: the target's rank over the grid of DE thresholds, for one dataset."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.robustness import grid_from_files  # noqa: E402
from pathverdict.smk import run_step  # noqa: E402

sm = snakemake  # noqa: F821
r, e, v = sm.params.robustness, sm.params.enrichment, sm.params.verdict
run_step(
    sm,
    lambda: grid_from_files(
        sm.wildcards.dataset,
        sm.input.de,
        sm.params.libraries,
        sm.params.target,
        sm.output.grid,
        gsea_path=sm.input.gsea,
        padj_grid=r["padj"],
        lfc_grid=r["lfc"],
        ora_min_size=e["ora_min_size"],
        ora_max_size=e["ora_max_size"],
        top_n=v["top_n"],
        max_fdr=v["max_fdr"],
        min_overlap=v["min_overlap"],
        min_de_genes=v["min_de_genes"],
    ),
)
