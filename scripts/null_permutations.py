"""Snakemake adapter: DE + enrichment on permuted sample labels, for one dataset."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.null import null_from_files  # noqa: E402
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import de_params  # noqa: E402

sm = snakemake  # noqa: F821
n, v = sm.params.null, sm.params.verdict
run_step(
    sm,
    lambda: null_from_files(
        sm.wildcards.dataset,
        sm.input.counts,
        sm.input.samples,
        sm.input.genes,
        {sm.params.library: sm.input.gmt},
        sm.params.target,
        sm.input.verdict,
        de_params(sm.params.dataset, {"de": sm.params.de}, sm.threads),
        sm.params.enrichment,
        out_permutations=sm.output.permutations,
        out_summary=sm.output.summary,
        methods=n["methods"],
        max_permutations=n["max_permutations"],
        seed=n["seed"],
        threads=sm.threads,
        top_n=v["top_n"],
        max_fdr=v["max_fdr"],
        selection=sm.params.selection or None,
    ),
)
