"""Snakemake adapter: write the simulated demo study."""

import os
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.simulate import simulate_study  # noqa: E402

sm = snakemake  # noqa: F821
sim = dict(sm.params.simulation)
run_step(
    sm,
    lambda: simulate_study(
        sm.input.counts,
        sm.input.samples,
        sm.input.annotation,
        sm.input.library,
        sm.params.target,
        sim,
        os.path.dirname(sm.output.study),  # the folder of the simulated datasets and study.json
        sim.get("seed", 2019),
        sources=sim.get("sources"),
    ),
)
