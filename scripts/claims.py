"""Rule claims: the study's claims, from the verdict (and the null, when enabled)."""

from pathverdict.smk import run_job
from pathverdict.steps.verdict import make_claims

run_job(snakemake, make_claims)  # noqa: F821
