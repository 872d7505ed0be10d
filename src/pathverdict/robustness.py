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
  cell at the workflow's own thresholds reproduces the row of ``results/verdict.tsv``.

Pre-ranked GSEA does not depend on the DE thresholds, so it is not re-run: each
library gets one ``gsea`` row copied from the workflow's ``gsea.tsv`` (thresholds NA).

Functions:

* :func:`robustness_grid` -- one dataset's grid (a DataFrame, :data:`GRID_COLUMNS`);
* :func:`robustness_summary` -- per dataset x library x method: best / worst rank and
  the share of grid cells where the target is on top (:data:`SUMMARY_COLUMNS`);
* :func:`robustness_heatmap` -- PNG heatmap of the target's rank over the grid;
* :func:`grid_from_files`, :func:`combine_grids`, :func:`read_grid` -- file-level
  wrappers for Snakemake rules (read the workflow's outputs, write TSV / PNG atomically):
  one ``grid_from_files`` job per dataset, one ``combine_grids`` job over all of them.

Cost: one ORA per distinct DE list (identical lists at two cells are computed once),
about 0.5-3 s per dataset and library for the default 3 x 3 grid on real data.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import enrichment, verdict
from .genesets import GeneSetLibrary
from .util import atomic_write, read_tsv, write_tsv

log = logging.getLogger(__name__)

__all__ = [
    "GRID_COLUMNS",
    "SUMMARY_COLUMNS",
    "ORA_METHODS",
    "quiet_logging",
    "robustness_grid",
    "robustness_summary",
    "robustness_heatmap",
    "grid_from_files",
    "combine_grids",
]

GRID_COLUMNS = ["dataset", "library", "method", "padj_threshold", "lfc_threshold", "rank", "n_terms", "pvalue",
                "fdr", "de_genes", "overlap_size", "on_top", "status", "note"]
SUMMARY_COLUMNS = ["dataset", "library", "method", "cells", "ranked_cells", "best_rank", "worst_rank",
                   "on_top_cells", "share_on_top", "note"]
ORA_METHODS = tuple(f"ora_{d}" for d in enrichment.DIRECTIONS)  # ora_up, ora_down, ora_all
METHOD_ORDER = {m: i for i, m in enumerate(ORA_METHODS + ("gsea",))}


@contextlib.contextmanager
def quiet_logging(level: int = logging.ERROR):
    """Drop log records at ``level`` and below while many enrichments (or DE fits) run.

    gseapy gives every ``enrich`` call a new logger with its own stderr handler, so
    "No hits returned for all input gene sets!" (a DE list with no gene in any set,
    which :func:`enrichment.ora` turns into an empty table) would be printed once per
    grid cell or permutation; ``logging.disable`` is the only switch that reaches it.
    """
    before = logging.root.manager.disable
    logging.disable(level)
    try:
        yield
    finally:
        logging.disable(before)


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
    return {"dataset": dataset, "library": library, "method": judged["method"], "padj_threshold": padj,
            "lfc_threshold": lfc, "rank": judged["rank"], "n_terms": judged["n_terms"], "pvalue": judged["pvalue"],
            "fdr": judged["fdr"], "de_genes": judged["de_genes"], "overlap_size": judged["overlap_size"],
            "on_top": judged["on_top"], "status": judged["status"], "note": judged["note"]}


def robustness_grid(de: pd.DataFrame, libraries: Mapping[str, GeneSetLibrary], target: str, *,
                    padj_grid: Sequence[float] = (0.01, 0.05, 0.1), lfc_grid: Sequence[float] = (0.0, 0.58, 1.0),
                    ora_min_size: int = 10, ora_max_size: int = 500,
                    gsea_tables: Mapping[str, pd.DataFrame] | None = None, dataset: str = "",
                    top_n: int = 1, max_fdr: float = 0.05, min_overlap: int = 3,
                    min_de_genes: int = 5) -> pd.DataFrame:
    """The target pathway's rank and FDR for every library x padj x |log2FC| x ORA direction.

    Parameters
    ----------
    de
        One dataset's DE table as written by the workflow (``results/{dataset}/de.tsv``,
        read with :func:`pathverdict.steps.read_de`): gene_id, symbol, baseMean,
        log2FoldChange, stat, pvalue, padj.
    libraries
        Library name -> :class:`GeneSetLibrary` (e.g. from
        :func:`pathverdict.steps.load_prepared_library`).
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
    target not tested).
    """
    padj_grid = _unique(padj_grid, "padj_grid")
    lfc_grid = _unique(lfc_grid, "lfc_grid")
    settings = verdict.VerdictSettings(top_n=top_n, max_fdr=max_fdr, min_overlap=min_overlap,
                                       min_de_genes=min_de_genes)
    genes = enrichment.collapse_to_symbols(de)
    terms = {name: lib.find(target) for name, lib in libraries.items()}
    rows = []
    for lib_name, lib in libraries.items():
        term = terms[lib_name]
        cache: dict[tuple[str, ...], pd.DataFrame] = {}
        for padj in padj_grid:
            for lfc in lfc_grid:
                lists, background = enrichment.de_gene_lists(genes, padj, lfc)
                for direction in enrichment.DIRECTIONS:
                    query = lists[direction]
                    key = tuple(query)
                    if key not in cache:  # the same DE genes at two cells give the same table
                        with quiet_logging():
                            cache[key] = enrichment.ora(query, background, lib.sets, lib_name, lib.ids,
                                                        ora_min_size, ora_max_size)
                    judged = verdict.judge_method(cache[key], f"ora_{direction}", term, settings, len(query))
                    rows.append(_row(dataset, lib_name, padj, lfc, judged))
        if gsea_tables is not None:
            table = gsea_tables.get(lib_name)
            if table is None:
                judged = verdict.judge_method(pd.DataFrame(columns=enrichment.GSEA_COLUMNS), "gsea", term,
                                              settings, None)
                judged["note"] = f"no GSEA table given for library {lib_name}"
            else:
                if "library" in table.columns:
                    table = table[table["library"].astype(str) == lib_name]
                judged = verdict.judge_method(table.reset_index(drop=True), "gsea", term, settings, None)
            rows.append(_row(dataset, lib_name, np.nan, np.nan, judged))
    grid = pd.DataFrame(rows, columns=GRID_COLUMNS)
    return _typed(grid)


def _typed(grid: pd.DataFrame) -> pd.DataFrame:
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
    """A grid TSV written by :func:`grid_from_files` / :func:`combine_grids`."""
    grid = read_tsv(path, dtype={"dataset": str, "library": str, "method": str, "on_top": str, "status": str,
                                 "note": str},
                    keep_default_na=False, na_values=[""])
    missing = [c for c in GRID_COLUMNS if c not in grid.columns]
    if missing:
        raise ValueError(f"{path}: not a robustness grid (missing column(s) {', '.join(missing)})")
    return _typed(grid[GRID_COLUMNS])


def robustness_summary(grid: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x library x method: how stable is the target's rank over the grid?

    Columns (:data:`SUMMARY_COLUMNS`): ``cells`` (grid cells; 1 for GSEA),
    ``ranked_cells`` (cells where the target was ranked at all), ``best_rank`` and
    ``worst_rank`` over the ranked cells (NA when never ranked), ``on_top_cells`` and
    ``share_on_top`` (on-top cells / cells), and a ``note`` counting the cells where the
    target was not ranked (such a cell is worse than any rank, so ``worst_rank`` is then
    only the worst *rank*) and the cells whose status is inconclusive. Rows keep the grid's order.
    """
    grid = _typed(grid)
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
                note = "never ranked: " + "; ".join(f"{why} ({k} cell{'s' if k > 1 else ''})"
                                                    for why, k in reasons.items())
        n_inc = int((g["status"] == "inconclusive").sum())
        if n_inc:
            note = "; ".join(x for x in (note, f"inconclusive in {n_inc} of {n} cell(s) (too little evidence)") if x)
        rows.append({"dataset": ds, "library": lib, "method": method, "cells": n, "ranked_cells": len(ranks),
                     "best_rank": ranks.min() if len(ranks) else pd.NA,
                     "worst_rank": ranks.max() if len(ranks) else pd.NA,
                     "on_top_cells": n_top, "share_on_top": n_top / n if n else np.nan, "note": note})
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    for col in ("best_rank", "worst_rank"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    return out


# ----------------------------------------------------------------------------- heatmap

def _cell_label(padj: float, lfc: float) -> str:
    return f"padj < {padj:g}\n|log2FC| ≥ {lfc:g}"


def _heatmap_layout(grid: pd.DataFrame):
    """Row keys, column keys and the rank / on-top / applicable matrices."""
    grid = _typed(grid)
    grid = grid.assign(_m=grid["method"].map(METHOD_ORDER).fillna(len(METHOD_ORDER)))
    row_keys = list(dict.fromkeys(zip(grid["dataset"], grid["library"], grid["method"])))
    # datasets and libraries in order of appearance, methods in the verdict's order
    ds_order = {d: i for i, d in enumerate(dict.fromkeys(grid["dataset"]))}
    lib_order = {x: i for i, x in enumerate(dict.fromkeys(grid["library"]))}
    row_keys.sort(key=lambda k: (ds_order[k[0]], lib_order[k[1]], METHOD_ORDER.get(k[2], 99), k[2]))
    thr = grid[grid["padj_threshold"].notna() & grid["lfc_threshold"].notna()]
    col_keys: list = sorted(set(zip(thr["padj_threshold"], thr["lfc_threshold"])))
    has_free = bool((grid["padj_threshold"].isna() | grid["lfc_threshold"].isna()).any())
    if has_free:
        col_keys.append(None)  # GSEA: does not depend on the thresholds
    rank = np.full((len(row_keys), len(col_keys)), np.nan)
    top = np.zeros(rank.shape, dtype=bool)
    applicable = np.zeros(rank.shape, dtype=bool)
    r_index = {k: i for i, k in enumerate(row_keys)}
    c_index = {k: j for j, k in enumerate(col_keys)}
    for rec in grid.itertuples(index=False):
        i = r_index[(rec.dataset, rec.library, rec.method)]
        free = pd.isna(rec.padj_threshold) or pd.isna(rec.lfc_threshold)
        j = c_index[None if free else (rec.padj_threshold, rec.lfc_threshold)]
        applicable[i, j] = True
        rank[i, j] = np.nan if pd.isna(rec.rank) else float(rec.rank)
        top[i, j] = rec.on_top == "yes"
    return row_keys, col_keys, rank, top, applicable


def robustness_heatmap(grid: pd.DataFrame, out: str | Path, title: str) -> None:
    """Heatmap of the target's rank over the grid, written to ``out`` (PNG, atomically).

    Rows are dataset / library / method (datasets and libraries in the grid's order,
    methods as in the verdict: ora_up, ora_down, ora_all, gsea); columns are the padj x
    |log2FC| cells, plus one "GSEA (no threshold)" column when the grid has GSEA rows.
    Colour = the target's rank on a log scale (dark = rank 1 = best); every cell is
    annotated with the rank, with ``*`` and bold type where the target is on top.
    Hatched grey: target not ranked in that cell; blank: not applicable (ORA rows in the
    GSEA column and vice versa). Output is byte-identical for identical input.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import colors as mcolors
    from matplotlib import ticker as mticker
    from matplotlib.patches import Rectangle

    from .plots import _RC, MISSING

    row_keys, col_keys, rank, top, applicable = _heatmap_layout(grid)
    datasets = list(dict.fromkeys(k[0] for k in row_keys))
    libs = list(dict.fromkeys(k[1] for k in row_keys))
    # leave out label parts that are the same in every row (they go to the subtitle)
    parts = [i for i, vals in enumerate((datasets, libs)) if len(vals) > 1] + [2]
    row_labels = [" / ".join(str(k[i]) for i in parts) for k in row_keys]
    common = []
    if len(datasets) == 1 and datasets[0]:
        common.append(f"dataset {datasets[0]}")
    if len(libs) == 1 and libs[0]:
        common.append(f"library {libs[0]}")
    col_labels = ["GSEA\n(no threshold)" if c is None else _cell_label(*c) for c in col_keys]
    n_rows, n_cols = rank.shape
    longest = max((len(s) for s in row_labels), default=8)
    width = max(5.5, 1.0 * n_cols + 0.07 * longest + 2.4)
    height = max(3.0, 0.34 * n_rows + 2.3)
    finite = rank[np.isfinite(rank)]
    vmax = max(10.0, float(finite.max()) if finite.size else 10.0)
    norm = mcolors.LogNorm(vmin=1.0, vmax=vmax)
    cmap = plt.get_cmap("YlGnBu_r").with_extremes(bad=MISSING)
    with plt.rc_context(_RC):
        fig = plt.figure(layout="constrained", figsize=(width, height))
        try:
            ax = fig.add_subplot()
            subtitle = "; ".join(common)
            ax.set_title(f"{title}\n{subtitle}" if subtitle else title)
            if n_rows == 0 or n_cols == 0:
                ax.set_xticks([])
                ax.set_yticks([])
                ax.text(0.5, 0.5, "empty robustness grid: nothing to show", ha="center", va="center",
                        transform=ax.transAxes, fontsize=10, color="#5D4037")
            else:
                shown = np.where(applicable, rank, np.nan)
                im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, norm=norm, aspect="auto",
                               interpolation="nearest")
                fs = 9 if n_rows <= 30 and n_cols <= 12 else 7
                for i in range(n_rows):
                    for j in range(n_cols):
                        if not applicable[i, j]:
                            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="white", edgecolor="none"))
                            continue
                        if not np.isfinite(rank[i, j]):
                            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="none", hatch="////",
                                                   edgecolor="#A8A8A8", lw=0))
                            ax.text(j, i, "–", ha="center", va="center", fontsize=fs, color="#555555")
                            continue
                        r, g, b, _ = cmap(norm(rank[i, j]))
                        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                        ax.text(j, i, f"{int(rank[i, j])}{'*' if top[i, j] else ''}", ha="center", va="center",
                                fontsize=fs + (1 if top[i, j] else 0),
                                fontweight="bold" if top[i, j] else "normal",
                                color="white" if dark else "black")
                ax.set_xticks(np.arange(n_cols), col_labels, fontsize=7.5)
                ax.set_yticks(np.arange(n_rows), row_labels, fontsize=8 if n_rows <= 40 else 6.5)
                ax.xaxis.tick_top()
                ax.set_xticks(np.arange(n_cols + 1) - 0.5, minor=True)
                ax.set_yticks(np.arange(n_rows + 1) - 0.5, minor=True)
                ax.grid(which="minor", color="white", lw=1.2)
                ax.tick_params(which="minor", length=0)
                for i in range(1, n_rows):  # a dark line between datasets (libraries when one dataset)
                    part = 0 if len(datasets) > 1 else 1
                    if row_keys[i][part] != row_keys[i - 1][part]:
                        ax.axhline(i - 0.5, color="#333333", lw=1.6)
                ax.tick_params(which="major", length=0)
                for spine in ax.spines.values():
                    spine.set_visible(False)
                ax.set_xlabel("number = rank of the target among the ranked pathways (1 = best); * bold = on top; "
                              "– hatched = not ranked", fontsize=7.5)
                cb = fig.colorbar(im, ax=ax, shrink=min(1.0, 0.3 + 0.05 * n_rows), aspect=18, pad=0.02)
                cb.set_label("target rank (log scale)")
                ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if t <= vmax]
                cb.set_ticks(ticks)
                cb.ax.yaxis.set_major_formatter(mticker.FixedFormatter([str(t) for t in ticks]))
                cb.ax.yaxis.set_minor_formatter(mticker.NullFormatter())
                cb.ax.invert_yaxis()  # rank 1 (best) on top
            with atomic_write(out, "wb") as fh:
                fig.savefig(fh, format="png", dpi=150, metadata={"Software": "pathverdict (matplotlib)"})
        finally:
            plt.close(fig)


# ----------------------------------------------------------------------------- files

def grid_from_files(dataset: str, de_path: str | Path, libraries: Mapping[str, str | Path], target: str,
                    out: str | Path | None = None, *, gsea_path: str | Path | None = None,
                    padj_grid: Sequence[float] = (0.01, 0.05, 0.1), lfc_grid: Sequence[float] = (0.0, 0.58, 1.0),
                    ora_min_size: int = 10, ora_max_size: int = 500, top_n: int = 1,
                    max_fdr: float = 0.05, min_overlap: int = 3, min_de_genes: int = 5) -> pd.DataFrame:
    """:func:`robustness_grid` from the workflow's files; writes the grid TSV to ``out``.

    ``de_path`` is ``results/{dataset}/de.tsv``, ``libraries`` maps library name to its
    prepared GMT (``resources/genesets/{library}.gmt``), ``gsea_path`` is
    ``results/{dataset}/enrichment/gsea.tsv`` (``None``: no GSEA rows). Pass the
    workflow's ``enrichment.ora_min_size``/``ora_max_size`` and ``verdict.top_n``/
    ``max_fdr``/``min_overlap``/``min_de_genes`` so the grid agrees with the verdict.
    """
    from .steps import load_prepared_library, read_de, read_enrichment

    libs = {name: load_prepared_library(str(p), name) for name, p in libraries.items()}
    gsea_tables = None
    if gsea_path is not None:
        table = read_enrichment(str(gsea_path))
        gsea_tables = {name: table[table["library"].astype(str) == name] for name in libs}
    grid = robustness_grid(read_de(str(de_path)), libs, target, padj_grid=padj_grid, lfc_grid=lfc_grid,
                           ora_min_size=ora_min_size, ora_max_size=ora_max_size, gsea_tables=gsea_tables,
                           dataset=dataset, top_n=top_n, max_fdr=max_fdr, min_overlap=min_overlap,
                           min_de_genes=min_de_genes)
    if out is not None:
        write_tsv(grid, out)
    return grid


def combine_grids(grid_paths: Iterable[str | Path], out_grid: str | Path | None = None,
                  out_summary: str | Path | None = None, out_png: str | Path | None = None,
                  title: str = "Robustness of the target's rank") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate per-dataset grid TSVs; write the combined grid, its summary and heatmap.

    Any of the outputs may be ``None`` (not written). Returns (grid, summary).
    """
    grids = [read_grid(p) for p in grid_paths]
    grid = _typed(pd.concat(grids, ignore_index=True)) if grids else _typed(pd.DataFrame(columns=GRID_COLUMNS))
    summary = robustness_summary(grid)
    if out_grid is not None:
        write_tsv(grid, out_grid)
    if out_summary is not None:
        write_tsv(summary, out_summary)
    if out_png is not None:
        robustness_heatmap(grid, out_png, title)
    return grid, summary
