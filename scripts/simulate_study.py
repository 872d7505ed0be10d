"""Rule simulate_study: write the simulated demo study."""

from pathverdict.smk import run_job
from pathverdict.steps.simulate import simulate_study

run_job(snakemake, simulate_study)  # noqa: F821
