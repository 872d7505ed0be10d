"""Rule simulate_study: write the simulated demo study."""

from pathverdict.smk import run_step
from pathverdict.steps.simulate import simulate_study

run_step(snakemake, simulate_study)  # noqa: F821
