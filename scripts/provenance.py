"""Rule provenance: tool versions, input checksums and gene-set provenance."""

from pathverdict.smk import run_step
from pathverdict.steps.provenance import provenance

run_step(snakemake, provenance)  # noqa: F821
