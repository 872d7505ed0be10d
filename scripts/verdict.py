"""Snakemake adapter: the cross-dataset verdict on the target pathway."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import make_verdict  # noqa: E402

sm = snakemake  # noqa: F821
cfg = {"verdict": sm.params.verdict, "de": {"alpha": sm.params.alpha}, "target_pathway": sm.params.target}
run_step(
    sm,
    lambda: make_verdict(
        cfg,
        sm.params.datasets,
        list(sm.input.de),
        [str(Path(p).parent) for p in sm.input.ora_all],
        sm.params.libraries,
        sm.output.tsv,
        sm.output.genes,
        sm.output.md,
        sm.output.html,
        banner=sm.params.banner,
        gene_id_paths=list(sm.input.gene_ids),
    ),
)
