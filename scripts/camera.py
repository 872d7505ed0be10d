"""Rule camera: cAMERA competitive gene-set test (inter-gene correlation) on the VST."""

from pathverdict.smk import run_job
from pathverdict.steps.enrichment import run_camera

run_job(snakemake, run_camera)  # noqa: F821
