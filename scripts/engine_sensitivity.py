"""Rule engine_sensitivity: the verdict of one dataset with the other DE engine's DE (engine:<other> rows)."""

from pathverdict.smk import run_job
from pathverdict.steps.robustness import engine_sensitivity

run_job(snakemake, engine_sensitivity)  # noqa: F821
