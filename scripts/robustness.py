"""Snakemake adapter: combine the per-dataset robustness grids; summary and heatmap."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.robustness import combine_grids  # noqa: E402
from pathverdict.smk import run_step  # noqa: E402

sm = snakemake  # noqa: F821
title = ("SIMULATED — " if sm.params.banner else "") + "Target pathway rank across DE thresholds, libraries, methods"
run_step(sm, lambda: combine_grids(list(sm.input.grids), sm.output.grid, sm.output.summary, sm.output.heatmap, title))
