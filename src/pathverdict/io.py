"""Readers of the workflow's own files (the tables and libraries its steps write).

One place for how each kind of file is read back, so every step and science module reads
it the same way: names (genes, symbols, samples, terms, libraries) stay text, only empty
cells are missing. Input files a user brings (count matrices, sample sheets) are checked by
:mod:`pathverdict.tables`; the workflow's tables of results by the module that owns them
(``verdict.read_verdict``, ``null.read_summary``, ...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .genesets import GeneSetLibrary, read_prepared_library
from .util import read_tsv


def read_de(path: str | Path) -> pd.DataFrame:
    """A DE table (``de.tsv``): gene IDs and symbols as text."""
    return read_tsv(path, dtype={"gene_id": str, "symbol": "string"})


def read_enrichment(path: str | Path) -> pd.DataFrame:
    """An enrichment table (``ora_*.tsv``, ``gsea.tsv``, ``camera.tsv``): term IDs and gene lists as text."""
    return read_tsv(path, dtype={"term_id": str, "overlap_genes": str, "leading_edge": str}).fillna(
        {"term_id": "", "overlap_genes": "", "leading_edge": ""}
    )


def load_prepared_library(gmt: str | Path, name: str) -> GeneSetLibrary:
    """A GMT written by the prepare_genesets step (KEGG IDs in the description field)."""
    return read_prepared_library(str(gmt), name)


def libraries_of(libraries: list[str], gmts: list[str]) -> dict[str, str]:
    """Library name -> prepared GMT, from a rule's ``libraries`` param and ``gmts`` input (same order)."""
    names, paths = list(libraries), [str(p) for p in gmts]
    if len(names) != len(paths):
        raise ValueError(f"{len(names)} libraries ({', '.join(names)}) but {len(paths)} GMT files")
    return dict(zip(names, paths))


def load_libraries(libraries: Mapping[str, str | Path]) -> dict[str, GeneSetLibrary]:
    """Every prepared library of ``libraries`` (name -> GMT), in that order."""
    return {name: load_prepared_library(path, name) for name, path in libraries.items()}


def read_sample_sheet(path: str | Path) -> pd.DataFrame:
    """A checked sample sheet (``samples.tsv``), every column as text, indexed by sample."""
    return read_tsv(path, dtype=str, keep_default_na=False).set_index("sample")


def read_table(path: str | Path, **kwargs) -> pd.DataFrame:
    """A TSV written by the workflow, with only empty cells read as missing.

    Dataset, term, library, method, sample, gene and symbol names such as ``null``,
    ``NA``, ``None`` or ``nan`` stay strings (pandas' default NA parsing would turn
    them into NaN); numbers written as empty cells are still NaN."""
    return read_tsv(path, keep_default_na=False, na_values=[""], **kwargs)


def read_counts(path: str | Path) -> pd.DataFrame:
    """Prepared counts (``input/counts.tsv.gz``), gene IDs as text, counts as int32 (the prepare
    step refused any count above 2^31 - 1, R's integer limit): a quarter of the memory of float64."""
    names = list(pd.read_csv(path, sep="\t", nrows=0).columns)
    counts = read_table(path, index_col=0, dtype={names[0]: str, **{c: np.int32 for c in names[1:]}})
    counts.index = counts.index.astype(str)
    return counts


def read_symbols(path: str | Path) -> pd.Series:
    """The symbol of each gene ID, from a prepared ``gene_ids.tsv``."""
    return read_table(path, dtype={"gene_id": str, "symbol": "string"}).set_index("gene_id")["symbol"]


def read_gene_ids(path: str | Path) -> pd.DataFrame:
    """A prepared ``gene_ids.tsv`` with gene types (empty symbol: missing; empty type: text)."""
    return read_tsv(
        path,
        dtype={"gene_id": str, "symbol": "string", "gene_type": str},
        keep_default_na=False,
        na_values={"symbol": [""]},
    )


def read_json(path: str | Path) -> dict:
    with open(path) as fh:
        return json.load(fh)
