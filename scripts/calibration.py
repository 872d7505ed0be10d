"""Rule calibration: the calibrated false-positive rate and power per dataset (results/calibration.tsv)."""

from pathverdict.smk import run_job
from pathverdict.steps.verdict import make_calibration

run_job(snakemake, make_calibration)  # noqa: F821
