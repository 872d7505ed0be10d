"""Simulated studies whose samples go wrong in known ways (issue 19), built with pathverdict.simulation.

Means and dispersions are fitted on real public data, as the demo's (``prepare_source``: cells on
the LNCaP lanes of li2008, tissue on the 85 GEUVADIS individuals), 2,000 genes that always include
every gene of KEGG Mineral absorption; each case is a dataset entry of ``simulate_dataset`` with the
fault keys of :mod:`pathverdict.simulation.faults`. Fitting a source takes about a second; it is done
once per test session (:func:`source`).
"""

from __future__ import annotations

import functools

import pandas as pd
from conftest import TARGET, shared_data_dir

from pathverdict import de, genesets
from pathverdict.config import validate_config
from pathverdict.simulation import simulated_study
from pathverdict.sources import annotation
from pathverdict.util import quiet_logging

LIB = "KEGG_2021_Human"
CONTRAST = ["condition", "treated", "control"]
# a dataset's config, and the config's de and enrichment sections (the schema's defaults; GSEA with 100
# permutations), as the workflow's steps take them
DATASET = {"design": "~condition", "contrast": CONTRAST}
_DEFAULTS = validate_config(
    {
        "datasets": {"x": {"counts": "c.tsv", "samples": "s.tsv", **DATASET}},
        "genesets": "library.gmt",
        "target_pathway": TARGET,
        "annotation": "annotation.tsv",
    },
    "test defaults",
)
DE = _DEFAULTS["de"]
ENRICHMENT = dict(_DEFAULTS["enrichment"], gsea_permutations=100)
PARAMS = de.DEParams(design="~condition", contrast=CONTRAST)
SOURCES = {"cells": ("li2008_lncap", "condition"), "tissue": ("geuvadis_lcl_sex", "sex")}
# the cases of issue 19 (and a clean study), as entries of simulation.datasets
CLEAN = {"n_per_group": 3, "effect": True, "log2fc": 2.0, "fraction": 0.7, "mixed_direction": False}
CASES = {
    "clean": CLEAN,
    # one treated sample carries the whole pathway change; the other two look like controls
    "odd_sample": {**CLEAN, "log2fc": 1.5, "fraction": 0.6, "effect_in_samples": [3]},
    # S5 is S4's library sequenced again, listed as a second biological replicate
    "resequenced": {**CLEAN, "resequenced": {"S5": "S4"}},
    # the tubes of S3 (a control) and S4 (a treated sample) were swapped in the sheet
    "label_swap": {**CLEAN, "background": {"fraction": 0.1, "log2fc_sd": 0.8}, "swap_labels": [["S3", "S4"]]},
    # a sequencing batch aliased with the groups, and one partly associated with them
    "batch_aliased": {**CLEAN, "sheet_columns": {"batch": ["A", "A", "A", "B", "B", "B"]}},
    "batch_partial": {**CLEAN, "sheet_columns": {"batch": ["A", "A", "A", "A", "B", "B"]}},
}


@functools.lru_cache(maxsize=None)
def source(kind: str = "cells", n_genes: int = 2000, seed: int = 5):
    """A fitted simulation source (and the library and target term), cached for the session."""
    shared = shared_data_dir()
    name, group = SOURCES[kind]
    ann = annotation.load_annotation(shared / "annotation" / "human_gene_info.tsv.gz")
    lib = genesets.read_library(shared / "genesets" / "KEGG_2021_Human.txt", LIB)
    term = lib.find(TARGET)
    spec = {"n_genes": n_genes, "seed": seed}
    with quiet_logging():
        src = simulated_study.source_from_folder(kind, shared / "counts" / name, group, ann, lib, term, spec, seed)
    return src, lib, term


def study(
    entry: dict, seed: int = 1, kind: str = "cells", n_genes: int = 2000
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Counts (genes x samples), the sample sheet (indexed by sample) and gene ID -> symbol."""
    src, lib, term = source(kind, n_genes)
    with quiet_logging():
        counts, sheet, _ = simulated_study.simulate_dataset("case", dict(entry), src, lib, term, {}, seed)
    symbols = pd.Series({g: src.symbol_of.get(g) for g in counts.index}, dtype="string")
    return counts, sheet.set_index("sample"), symbols


def case(name: str, seed: int = 1):
    return study(CASES[name], seed)


def fit(counts: pd.DataFrame, sheet: pd.DataFrame) -> de.DEResult:
    with quiet_logging():
        return de.run_deseq2(counts, sheet, PARAMS)


def workflow_files(tmp, counts, sheet, symbols, lib, enrichment: dict, gsea_threads: int = 1) -> dict:
    """A dataset's prepared files, DE and enrichment tables in ``tmp``, made by the workflow's own steps
    (``run_de``, ``run_ora``, ``run_gsea``, ``run_camera``); returns name -> path."""
    from pathverdict.steps.de import run_de
    from pathverdict.steps.enrichment import run_camera, run_gsea, run_ora
    from pathverdict.util import write_tsv

    tmp.mkdir(parents=True, exist_ok=True)
    names = {
        "counts": "counts.tsv.gz", "samples": "samples.tsv", "genes": "gene_ids.tsv", "de": "de.tsv",
        "norm": "norm.tsv.gz", "vst": "vst.tsv.gz", "summary": "de.json", "gmt": f"{LIB}.gmt", "up": "up.tsv",
        "down": "down.tsv", "all": "all.tsv", "info": "ora.json", "gsea": "gsea.tsv", "camera": "camera.tsv",
    }  # fmt: skip
    paths = {k: str(tmp / v) for k, v in names.items()}
    counts.rename_axis("gene_id").to_csv(paths["counts"], sep="\t")
    write_tsv(sheet.rename_axis("sample").reset_index(), paths["samples"])
    write_tsv(pd.DataFrame({"gene_id": symbols.index, "symbol": symbols.to_numpy()}), paths["genes"])
    genesets.write_gmt(lib, paths["gmt"])
    run_de(
        dataset=tmp.name, dataset_config=DATASET, de=DE, counts=paths["counts"], samples=paths["samples"],
        genes=paths["genes"], out_de=paths["de"], out_normalized=paths["norm"], out_vst=paths["vst"],
        out_summary=paths["summary"],
    )  # fmt: skip
    common = {"dataset": tmp.name, "de": paths["de"], "gmts": [paths["gmt"]], "libraries": [LIB]}
    common["enrichment"] = enrichment
    run_ora(**common, out_up=paths["up"], out_down=paths["down"], out_all=paths["all"], out_info=paths["info"])
    run_gsea(**common, out_gsea=paths["gsea"], threads=gsea_threads)
    run_camera(**common, dataset_config=DATASET, vst=paths["vst"], samples=paths["samples"], out_camera=paths["camera"])
    return paths
