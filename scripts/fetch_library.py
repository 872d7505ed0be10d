"""Snakemake adapter: download (or take from the cache) a named gene-set library."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.sources.steps import fetch_library  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: fetch_library(
        sm.wildcards.library,
        sm.params.source,
        sm.params.downloads,
        sm.params.base_urls,
        sm.output.library,
        sm.output.info,
    ),
)
