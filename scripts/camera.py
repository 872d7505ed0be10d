"""Snakemake adapter: CAMERA competitive gene-set test (inter-gene correlation) on the VST."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import run_camera  # noqa: E402

sm = snakemake  # noqa: F821
run_step(
    sm,
    lambda: run_camera(
        sm.wildcards.dataset,
        sm.params.dataset,
        {"enrichment": sm.params.enrichment},
        sm.input.de,
        sm.input.vst,
        sm.input.samples,
        sm.params.libraries,
        sm.output.camera,
    ),
)
