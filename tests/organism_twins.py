"""Mouse twins of simulated human data (tests of organisms, issue 23).

A human dataset is simulated from parameters fitted on real counts (LNCaP, li2008); its mouse twin
has the same counts with each human Ensembl ID replaced by the mouse ortholog's (one-to-one HCOP
pairs of tests/data/organisms/, see its README); genes without a one-to-one ortholog are left out of
both. The mouse library is KEGG_2021_Human with every gene replaced by its one-to-one ortholog.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

ORG_DATA = Path(__file__).parent / "data" / "organisms"
ORTHOLOGS = ORG_DATA / "human_mouse_orthologs.tsv.gz"
MOUSE_ANNOTATION = ORG_DATA / "mouse_biomart_genes.tsv.gz"


def one_to_one() -> pd.DataFrame:
    """HCOP pairs where each human and each mouse gene (by Ensembl ID and by symbol) has one partner."""
    t = pd.read_csv(ORTHOLOGS, sep="\t", dtype=str, keep_default_na=False)
    for col in ("human_ensembl", "mouse_ensembl", "human_symbol", "mouse_symbol"):
        t = t[t.groupby(col)[col].transform("size") == 1]
    return t.reset_index(drop=True)


def mouse_library_text(human_library: Path, pairs: pd.DataFrame) -> str:
    """An Enrichr-format library: each human term with its genes' one-to-one mouse orthologs."""
    to_mouse = dict(zip(pairs["human_symbol"], pairs["mouse_symbol"]))
    lines = []
    for line in human_library.read_text().splitlines():
        fields = line.split("\t")
        genes = [to_mouse[g] for g in fields[2:] if g in to_mouse]
        if genes:
            lines.append("\t".join([fields[0], ""] + genes))
    return "\n".join(lines) + "\n"


def human_library_text(human_library: Path, pairs: pd.DataFrame) -> str:
    """The human library restricted to the genes with a one-to-one mouse ortholog (the twin's universe)."""
    keep = set(pairs["human_symbol"])
    lines = []
    for line in human_library.read_text().splitlines():
        fields = line.split("\t")
        genes = [g for g in fields[2:] if g in keep]
        if genes:
            lines.append("\t".join([fields[0], ""] + genes))
    return "\n".join(lines) + "\n"


def simulate_human(shared: Path, out_dir: Path, datasets: dict, n_genes: int = 1500, seed: int = 2019) -> dict:
    """Simulate ``datasets`` (simulation.datasets entries) from li2008 on KEGG_2021_Human; returns
    {name: (counts DataFrame with Ensembl IDs, sheet DataFrame)} restricted to one-to-one genes."""
    from pathverdict.simulation.simulated_study import simulate_study

    pairs = one_to_one()
    lib = out_dir / "KEGG_human_1to1.txt"
    lib.write_text(human_library_text(shared / "genesets" / "KEGG_2021_Human.txt", pairs))
    spec = {
        "n_genes": n_genes,
        "keep_genes": ["HMOX1", "VDR", "MT2A"],
        "gene_means": {"HMOX1": 400, "VDR": 150},
        "always_plant": ["HMOX1", "VDR"],
        "datasets": datasets,
    }
    simulate_study(
        shared / "counts/li2008_lncap/counts.tsv.gz",
        shared / "counts/li2008_lncap/samples.tsv",
        shared / "annotation/human_gene_info.tsv.gz",
        lib,
        "Mineral absorption",
        spec,
        out_dir / "sim",
        seed,
    )
    keep = set(pairs["human_ensembl"])
    out = {}
    for name in datasets:
        counts = pd.read_csv(out_dir / "sim" / name / "counts.tsv.gz", sep="\t", index_col=0)
        sheet = pd.read_csv(out_dir / "sim" / name / "samples.tsv", sep="\t", dtype=str)
        out[name] = (counts[counts.index.isin(keep)], sheet)
    return out


def to_mouse_ids(counts: pd.DataFrame) -> pd.DataFrame:
    """The same counts under the mouse orthologs' Ensembl IDs (one-to-one pairs only)."""
    pairs = one_to_one()
    mapping = dict(zip(pairs["human_ensembl"], pairs["mouse_ensembl"]))
    mouse = counts[counts.index.isin(list(mapping))].copy()
    mouse.index = [mapping[g] for g in mouse.index]
    mouse.index.name = "gene_id"
    return mouse


def write_gz_tsv(frame: pd.DataFrame, path: Path, index: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", compresslevel=1) as fh:
        frame.to_csv(fh, sep="\t", index=index, lineterminator="\n")
    return path
