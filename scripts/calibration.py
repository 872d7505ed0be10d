"""Rule calibration: the calibrated false-positive rate and power per dataset (results/calibration.tsv)."""

from pathverdict.smk import run_step
from pathverdict.steps.verdict import make_calibration

run_step(snakemake, make_calibration)  # noqa: F821
