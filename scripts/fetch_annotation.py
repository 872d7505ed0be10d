"""Snakemake adapter: download (or take from the cache) the gene annotation."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.sources.steps import fetch_annotation  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: fetch_annotation(
        sm.params.source, sm.params.downloads, sm.params.base_urls, sm.output.annotation, sm.output.info
    ),
)
