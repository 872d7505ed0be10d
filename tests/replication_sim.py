"""Simulated datasets whose truth is known, run through the workflow's DE, for the replication tests
(tests/test_replication.py): counts from pathverdict.simulation (negative-binomial means and dispersions
fitted on the real LNCaP lanes, li2008), KEGG_2021_Human's Mineral absorption as the target."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

TARGET = "Mineral absorption"
LIBRARY = "KEGG_2021_Human"
DESIGN = "~condition"
CONTRAST = ["condition", "treated", "control"]
MODULES = {
    "metallothioneins": {"pattern": "^MT1[A-Z0-9]*$|^MT2A$|^MT3$|^MT4$", "loading": 0.5, "kind": "normal"},
    # half of the pathway's genes share a latent factor (a co-regulated cluster, no effect)
    "pathway_axis": {"symbols": [], "target_fraction": 0.5, "loading": 1.0, "kind": "normal"},
}
CELLS = {
    "background": {"fraction": 0.1, "log2fc_sd": 0.8},
    "off_target": {"pathways": 3, "fraction": 0.3, "log2fc": 0.8},
}
SPEC = {
    "n_genes": 2000,
    "keep_genes": ["HMOX1", "VDR", "MT2A"],
    "gene_means": {"HMOX1": 400, "VDR": 150, "MT2A": 600},
    "always_plant": [],
    "modules": MODULES,
    "seed": 2019,
}


@dataclass
class Simulated:
    de: pd.DataFrame  # as de.tsv
    vst: pd.DataFrame  # genes x samples by gene ID
    samples: pd.DataFrame  # indexed by sample
    counts: pd.DataFrame


@functools.lru_cache(maxsize=1)
def _source(shared: str):
    from pathverdict import genesets
    from pathverdict.simulation import simulated_study
    from pathverdict.sources import annotation
    from pathverdict.util import quiet_logging

    sh = Path(shared)
    ann = annotation.load_annotation(sh / "annotation" / "human_gene_info.tsv.gz")
    lib = genesets.read_library(sh / "genesets" / "KEGG_2021_Human.txt", LIBRARY)
    term = lib.find(TARGET)
    with quiet_logging():
        src = simulated_study.prepare_source(
            "cells",
            sh / "counts/li2008_lncap/counts.tsv.gz",
            sh / "counts/li2008_lncap/samples.tsv",
            "condition",
            ann,
            lib,
            term,
            SPEC,
            2019,
        )
    return src, lib, term


def library(shared: Path):
    """The library and the target's term."""
    _, lib, term = _source(str(shared))
    return lib, term


def target_genes(shared: Path) -> list[str]:
    lib, term = library(shared)
    return list(lib.sets[term])


def simulate(shared: Path, seed: int, **entry) -> Simulated:
    """One dataset (a ``simulation.datasets`` entry: n_per_group, effect, log2fc, fraction, mixed_direction,
    background, off_target, modules), through the workflow's DE (R-DESeq2-exact)."""
    from pathverdict.de import DEParams, run_deseq2
    from pathverdict.simulation import simulated_study
    from pathverdict.util import quiet_logging

    src, lib, term = _source(str(shared))
    entry.setdefault("n_per_group", 3)
    with quiet_logging():
        counts, sheet, _ = simulated_study.simulate_dataset(f"sim{seed}", entry, src, lib, term, SPEC, seed)
        sheet = sheet.set_index("sample")
        result = run_deseq2(counts, sheet, DEParams(design=DESIGN, contrast=CONTRAST))  # R's defaults
    de = result.results.copy()
    symbols = pd.Series({g: src.symbol_of.get(g) for g in counts.index}, dtype="string")
    de.insert(0, "symbol", symbols.reindex(de.index.astype(str)).to_numpy())
    return Simulated(de.reset_index(), result.vst, sheet, counts)


def effect(shared: Path, seed: int, **entry):
    """The target's standardised effect in one simulated dataset (pathverdict.judgement.pathway_effect)."""
    from pathverdict.judgement.pathway_effect import dataset_effect

    sim = simulate(shared, seed, **entry)
    return dataset_effect(sim.de, sim.vst, sim.samples, DESIGN, CONTRAST, target_genes(shared))
