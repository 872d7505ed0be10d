"""Snakemake adapter: tool versions, input checksums and gene-set provenance."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import provenance  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: provenance(
        sm.params.config,
        sm.input.datasets,
        sm.input.de,
        sm.input.ora,
        sm.input.libraries,
        sm.output.json,
        sm.output.html,
        annotation_json=sm.input.get("annotation") or None,
        banner=sm.params.banner,
    ),
)
