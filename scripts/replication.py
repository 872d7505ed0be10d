"""Rule replication: one answer across the datasets of each claim (effects, meta-analysis, forest plot)."""

from pathverdict.smk import run_job
from pathverdict.steps.replication import make_replication

run_job(snakemake, make_replication)  # noqa: F821
