"""Rule camera: cAMERA competitive gene-set test (inter-gene correlation) on the VST."""

from pathverdict.smk import run_step
from pathverdict.steps.enrichment import run_camera

run_step(snakemake, run_camera)  # noqa: F821
