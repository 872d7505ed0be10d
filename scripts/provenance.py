"""Rule provenance: tool versions, input checksums and gene-set provenance."""

from pathverdict.smk import run_job
from pathverdict.steps.provenance import provenance

run_job(snakemake, provenance)  # noqa: F821
