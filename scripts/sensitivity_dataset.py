"""Snakemake adapter: the sensitivity of the target's status, for one dataset."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821
from pathverdict.sensitivity import sensitivity_from_files  # noqa: E402
from pathverdict.smk import run_step  # noqa: E402
from pathverdict.steps import verdict_settings  # noqa: E402

sm = snakemake  # noqa: F821
settings = verdict_settings({"verdict": sm.params.verdict, "de": {"alpha": sm.params.alpha}})
run_step(
    sm,
    lambda: sensitivity_from_files(
        sm.wildcards.dataset,
        sm.input.de,
        sm.params.libraries,
        sm.params.target,
        sm.output.tsv,
        settings=settings,
        enrichment_cfg=sm.params.enrichment,
        gsea_path=sm.input.gsea,
        genes_path=sm.input.genes,
        rerun_gsea=sm.params.sensitivity["gsea"],
        threads=sm.threads,
    ),
)
