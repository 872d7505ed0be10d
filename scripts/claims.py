"""Snakemake adapter: the study's claims, from the verdict (and the null, when enabled)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import make_claims  # noqa: E402

sm = snakemake  # noqa: F821
cfg = {
    "verdict": sm.params.verdict,
    "de": {"alpha": sm.params.alpha},
    "target_pathway": sm.params.target,
    "null": sm.params.null,
}
null_path = str(sm.input.null) if sm.params.null["enabled"] else None
sensitivity_path = str(sm.input.sensitivity) if sm.params.sensitivity else None
directions_path = str(sm.input.directions) if sm.params.sensitivity else None
run_step(
    sm,
    lambda: make_claims(
        cfg,
        sm.params.roles,
        sm.input.verdict,
        sm.input.genes,
        sm.output.tsv,
        sm.output.html,
        null_path=null_path,
        selection_paths=list(sm.input.selection),
        selected=list(sm.params.selected),
        library=sm.params.library,
        banner=sm.params.banner,
        sensitivity_path=sensitivity_path,
        directions_path=directions_path,
        calibration_path=str(sm.input.calibration),
    ),
)
