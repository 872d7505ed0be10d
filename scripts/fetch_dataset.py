"""Snakemake adapter: download (or take from the cache) a dataset given by geo: or url:."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.sources.steps import fetch_dataset  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: fetch_dataset(
        sm.wildcards.dataset,
        sm.params.dataset,
        sm.params.downloads,
        sm.params.base_urls,
        sm.output.counts,
        sm.output.samples,
        sm.output.info,
    ),
)
