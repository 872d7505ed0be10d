"""Snakemake adapter: the calibrated false-positive rate and power per dataset (results/calibration.tsv)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import make_calibration  # noqa: E402

sm = snakemake  # noqa: F821
paths = dict(zip(sm.params.names, map(str, sm.input.samples)))
run_step(sm, lambda: make_calibration(dict(sm.params.datasets), paths, sm.params.primary, sm.output.tsv))
