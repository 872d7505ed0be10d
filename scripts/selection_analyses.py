"""Snakemake adapter: selected vs all patients, low vs high reference, the gene as a covariate."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.selection_analyses import analyses_from_files  # noqa: E402
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import de_params  # noqa: E402

sm = snakemake  # noqa: F821
v = sm.params.verdict
run_step(
    sm,
    lambda: analyses_from_files(
        sm.wildcards.dataset,
        sm.input.counts,
        sm.input.samples,
        sm.input.genes,
        sm.params.libraries,
        sm.params.target,
        sm.params.selection,
        de_params(sm.params.dataset, {"de": sm.params.de}, sm.threads),
        sm.params.enrichment,
        sm.output.analyses,
        methods=sm.params.methods,
        threads=sm.threads,
        top_n=v["top_n"],
        max_fdr=v["max_fdr"],
    ),
)
