"""Snakemake adapter: the label-permutation null of every dataset in one table."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import combine_null  # noqa: E402

sm = snakemake  # noqa: F821
run_step(sm, lambda: combine_null(list(sm.input.summaries), sm.output.summary, sm.output.html, sm.params.banner))
