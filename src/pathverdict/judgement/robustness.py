"""Robustness of the verdict: the target pathway's rank and FDR across analysis choices.

The workflow answers "is the target on top?" at one DE threshold (``enrichment.padj``,
``enrichment.lfc``). :func:`robustness_grid` repeats the over-representation analysis
for every cell of a grid of adjusted-p and |log2FC| thresholds, for each gene-set
library and each ORA direction (up, down, all DE genes), and reports where the target
pathway lands. Everything else is exactly what the workflow does:

* the DE table is collapsed to one row per symbol (:func:`enrichment.collapse_to_symbols`);
* the background is the symbols with a padj, the DE genes are those with
  ``padj < padj_threshold`` and ``|log2FC| >= lfc_threshold``
  (:func:`enrichment.de_gene_lists`);
* :func:`enrichment.ora` with the ORA size limits; the target's rank, p, FDR, overlap,
  "on top" and the explanatory note come from :func:`verdict.judge_method`, so a grid
  cell at the workflow's own thresholds reproduces the row of ``results/<study>/verdict.tsv``.

Pre-ranked GSEA does not depend on the DE thresholds, so it is not re-run: each
library gets one ``gsea`` row copied from the workflow's ``gsea.tsv`` (thresholds NA).

Functions:

* :func:`robustness_grid` -- one dataset's grid (a DataFrame, :data:`GRID_COLUMNS`);
* :func:`robustness_summary` -- per dataset x library x method: best / worst rank and
  the share of grid cells where the target is on top (:data:`SUMMARY_COLUMNS`);
* :func:`read_grid` -- a grid TSV. The heatmap is :func:`pathverdict.report.plots.robustness_heatmap`;
  the workflow's steps are in :mod:`pathverdict.steps.robustness`.

Cost: one ORA per distinct DE list (identical lists at two cells are computed once),
about 0.5-3 s per dataset and library for the default 3 x 3 grid on real data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .. import enrichment
from . import verdict
from ..genesets import GeneSetLibrary
from ..util import quiet_logging, read_tsv

log = logging.getLogger(__name__)

__all__ = [
    "GRID_COLUMNS",
    "SUMMARY_COLUMNS",
    "ORA_METHODS",
    "robustness_grid",
    "robustness_summary",
]

GRID_COLUMNS = [
    "dataset",
    "library",
    "method",
    "padj_threshold",
    "lfc_threshold",
    "rank",
    "n_terms",
    "pvalue",
    "fdr",
    "de_genes",
    "overlap_size",
    "on_top",
    "status",
    "note",
]
SUMMARY_COLUMNS = [
    "dataset",
    "library",
    "method",
    "cells",
    "ranked_cells",
    "best_rank",
    "worst_rank",
    "on_top_cells",
    "share_on_top",
    "note",
]
ORA_METHODS = tuple(f"ora_{d}" for d in enrichment.DIRECTIONS)  # ora_up, ora_down, ora_all


def _unique(values: Iterable[float], what: str) -> list[float]:
    out: list[float] = []
    for v in values:
        v = float(v)
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"{what}: {v!r} is not a non-negative number")
        if v not in out:
            out.append(v)
    if not out:
        raise ValueError(f"{what} is empty")
    return out


def _row(dataset: str, library: str, padj: float, lfc: float, judged: dict) -> dict:
    return {
        "dataset": dataset,
        "library": library,
        "method": judged["method"],
        "padj_threshold": padj,
        "lfc_threshold": lfc,
        "rank": judged["rank"],
        "n_terms": judged["n_terms"],
        "pvalue": judged["pvalue"],
        "fdr": judged["fdr"],
        "de_genes": judged["de_genes"],
        "overlap_size": judged["overlap_size"],
        "on_top": judged["on_top"],
        "status": judged["status"],
        "note": judged["note"],
    }


def robustness_grid(
    de: pd.DataFrame,
    libraries: Mapping[str, GeneSetLibrary],
    target: str,
    *,
    padj_grid: Sequence[float] = (0.01, 0.05, 0.1),
    lfc_grid: Sequence[float] = (0.0, 0.58, 1.0),
    ora_min_size: int = 10,
    ora_max_size: int = 500,
    gsea_tables: Mapping[str, pd.DataFrame] | None = None,
    dataset: str = "",
    top_n: int = 1,
    max_fdr: float = 0.05,
    min_overlap: int = 3,
    min_de_genes: int = 5,
    listed: Mapping[str, float | None] | None = None,
    not_tested: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The target pathway's rank and FDR for every library x padj x |log2FC| x ORA direction.

    Parameters
    ----------
    de
        One dataset's DE table as written by the workflow (``results/{dataset}/de.tsv``,
        read with :func:`pathverdict.io.read_de`): gene_id, symbol, baseMean,
        log2FoldChange, stat, pvalue, padj.
    libraries
        Library name -> :class:`GeneSetLibrary` (e.g. from
        :func:`pathverdict.io.load_prepared_library`).
    target
        The target pathway (name or KEGG ID, resolved per library with
        :meth:`GeneSetLibrary.find`; a library without it raises ``InputError``).
    padj_grid, lfc_grid
        Thresholds: DE genes have ``padj < p`` and ``|log2FC| >= l`` (as the workflow's
        ``enrichment.padj`` / ``enrichment.lfc``). Duplicates are dropped, order is kept.
    ora_min_size, ora_max_size
        ORA pathway size limits (genes in the background), as ``enrichment.ora_*_size``.
    gsea_tables
        Library -> that library's rows of the workflow's ``gsea.tsv`` (a table with a
        ``library`` column is filtered to the library). ``None``: no GSEA rows. A library
        missing from the mapping gets a GSEA row saying so.
    dataset
        Written in the ``dataset`` column.
    top_n, max_fdr, min_overlap, min_de_genes
        "On top" = rank <= top_n and FDR <= max_fdr, with the minimum evidence (the
        workflow's ``verdict`` settings; see :func:`verdict.judge_method`).
    listed
        For a published table of significant genes only: ``padj``, the largest adjusted p it lists.
        A cell whose padj threshold is above it would need genes the table left out: it is
        ``not_tested`` (status and note), never computed on the genes that happen to be listed.
    not_tested
        Method -> reason for methods the dataset's data cannot test (``gsea`` of such a table): its
        row is ``not_tested`` with the reason.

    Returns
    -------
    DataFrame with :data:`GRID_COLUMNS`; rows ordered by library (as given), padj, lfc
    (as given), method (ora_up, ora_down, ora_all), then the library's ``gsea`` row.
    ``method`` uses the verdict's names. ``rank`` is the target's rank among the ranked
    pathways (ties share the best rank), ``n_terms`` the number of ranked pathways,
    ``de_genes`` the ORA query size. When the target is not ranked (no DE gene at the
    thresholds, none of its genes among the DE genes, outside the size limits, not
    tested by GSEA) ``rank`` is NA, ``on_top`` is "no" and ``note`` says why. ``status``
    is the verdict's: on_top / not_on_top / inconclusive (too little evidence, or the
    target not tested), or not_tested (``listed``, ``not_tested``).
    """
    listed = listed or {}
    not_tested = not_tested or {}
    padj_grid = _unique(padj_grid, "padj_grid")
    lfc_grid = _unique(lfc_grid, "lfc_grid")
    settings = verdict.VerdictSettings(top_n=top_n, max_fdr=max_fdr, min_overlap=min_overlap, min_de_genes=min_de_genes)
    genes = enrichment.collapse_to_symbols(de)
    terms = {name: lib.find(target) for name, lib in libraries.items()}
    rows = []
    for lib_name, lib in libraries.items():
        term = terms[lib_name]
        cache: dict[tuple[str, ...], pd.DataFrame] = {}
        for padj in padj_grid:
            for lfc in lfc_grid:
                beyond = _beyond_table(padj, listed)
                if beyond:
                    rows += [
                        _row(dataset, lib_name, padj, lfc, _untested(f"ora_{d}", term, beyond))
                        for d in enrichment.DIRECTIONS
                    ]
                    continue
                lists, background = enrichment.de_gene_lists(genes, padj, lfc)
                for direction in enrichment.DIRECTIONS:
                    query = lists[direction]
                    key = tuple(query)
                    if key not in cache:  # the same DE genes at two cells give the same table
                        with quiet_logging():
                            cache[key] = enrichment.ora(
                                query, background, lib.sets, lib_name, lib.ids, ora_min_size, ora_max_size
                            )
                    judged = verdict.judge_method(cache[key], f"ora_{direction}", term, settings, len(query))
                    rows.append(_row(dataset, lib_name, padj, lfc, judged))
        if "gsea" in not_tested:
            rows.append(_row(dataset, lib_name, np.nan, np.nan, _untested("gsea", term, not_tested["gsea"])))
        elif gsea_tables is not None:
            table = gsea_tables.get(lib_name)
            if table is None:
                judged = verdict.judge_method(
                    pd.DataFrame(columns=enrichment.GSEA_COLUMNS), "gsea", term, settings, None
                )
                judged["note"] = f"no GSEA table given for library {lib_name}"
            else:
                if "library" in table.columns:
                    table = table[table["library"].astype(str) == lib_name]
                judged = verdict.judge_method(table.reset_index(drop=True), "gsea", term, settings, None)
            rows.append(_row(dataset, lib_name, np.nan, np.nan, judged))
    grid = pd.DataFrame(rows, columns=GRID_COLUMNS)
    return typed_grid(grid)


def _beyond_table(padj: float, listed: Mapping[str, float | None]) -> str:
    """Why a grid cell needs genes a table of significant genes left out ("" when it does not)."""
    if listed.get("padj") is None or padj <= listed["padj"]:
        return ""
    return (
        f"the DE table lists significant genes only (up to padj {listed['padj']:.3g}): padj < {padj:g} needs the "
        "genes it does not list"
    )


def _untested(method: str, term: str, reason: str) -> dict:
    judged = verdict.judge_method(pd.DataFrame(columns=["term"]), method, term, verdict.VerdictSettings(), None)
    judged.update(status="not_tested", on_top="no", note=f"not tested: {reason}", de_genes=np.nan, n_terms=np.nan)
    return judged


def typed_grid(grid: pd.DataFrame) -> pd.DataFrame:
    grid = grid.copy()
    for col in ("rank", "n_terms", "de_genes", "overlap_size"):
        grid[col] = pd.to_numeric(grid[col], errors="coerce").round().astype("Int64")
    for col in ("padj_threshold", "lfc_threshold", "pvalue", "fdr"):
        grid[col] = pd.to_numeric(grid[col], errors="coerce").astype(float)
    if "status" not in grid.columns:  # grids written before the status column
        grid["status"] = np.where(grid["on_top"] == "yes", "on_top", "")
    for col in ("dataset", "library", "method", "on_top", "status", "note"):
        grid[col] = grid[col].fillna("").astype(str)
    return grid


def read_grid(path: str | Path) -> pd.DataFrame:
    """A grid TSV written by the robustness steps."""
    grid = read_tsv(
        path,
        dtype={"dataset": str, "library": str, "method": str, "on_top": str, "status": str, "note": str},
        keep_default_na=False,
        na_values=[""],
    )
    missing = [c for c in GRID_COLUMNS if c not in grid.columns]
    if missing:
        raise ValueError(f"{path}: not a robustness grid (missing column(s) {', '.join(missing)})")
    return typed_grid(grid[GRID_COLUMNS])


def robustness_summary(grid: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x library x method: how stable is the target's rank over the grid?

    Columns (:data:`SUMMARY_COLUMNS`): ``cells`` (grid cells; 1 for GSEA),
    ``ranked_cells`` (cells where the target was ranked at all), ``best_rank`` and
    ``worst_rank`` over the ranked cells (NA when never ranked), ``on_top_cells`` and
    ``share_on_top`` (on-top cells / cells), and a ``note`` counting the cells where the
    target was not ranked (such a cell is worse than any rank, so ``worst_rank`` is then
    only the worst *rank*) and the cells whose status is inconclusive. Rows keep the grid's order.
    """
    grid = typed_grid(grid)
    rows = []
    keys = ["dataset", "library", "method"]
    for (ds, lib, method), g in grid.groupby(keys, sort=False):
        ranks = g["rank"].dropna()
        n = len(g)
        n_top = int((g["on_top"] == "yes").sum())
        missing = n - len(ranks)
        note = ""
        if missing and len(ranks):
            note = f"not ranked in {missing} of {n} cell(s)"
        elif missing:
            reasons = g["note"][g["note"] != ""].value_counts(sort=False)
            if len(reasons) == 1:
                note = f"never ranked: {reasons.index[0]}"
            else:
                note = "never ranked: " + "; ".join(
                    f"{why} ({k} cell{'s' if k > 1 else ''})" for why, k in reasons.items()
                )
        n_nt = int((g["status"] == "not_tested").sum())
        if n_nt:
            note = f"not tested in {n_nt} of {n} cell(s): {g.loc[g['status'] == 'not_tested', 'note'].iloc[0]}"
        n_inc = int((g["status"] == "inconclusive").sum())
        if n_inc:
            note = "; ".join(x for x in (note, f"inconclusive in {n_inc} of {n} cell(s) (too little evidence)") if x)
        rows.append(
            {
                "dataset": ds,
                "library": lib,
                "method": method,
                "cells": n,
                "ranked_cells": len(ranks),
                "best_rank": ranks.min() if len(ranks) else pd.NA,
                "worst_rank": ranks.max() if len(ranks) else pd.NA,
                "on_top_cells": n_top,
                "share_on_top": n_top / n if n else np.nan,
                "note": note,
            }
        )
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    for col in ("best_rank", "worst_rank"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    return out
