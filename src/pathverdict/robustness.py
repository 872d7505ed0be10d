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
) -> pd.DataFrame:
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
    settings = verdict.VerdictSettings(top_n=top_n, max_fdr=max_fdr, min_overlap=min_overlap, min_de_genes=min_de_genes)
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
                            cache[key] = enrichment.ora(
                                query, background, lib.sets, lib_name, lib.ids, ora_min_size, ora_max_size
                            )
                    judged = verdict.judge_method(cache[key], f"ora_{direction}", term, settings, len(query))
                    rows.append(_row(dataset, lib_name, padj, lfc, judged))
        if gsea_tables is not None:
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
    grid = read_tsv(
        path,
        dtype={"dataset": str, "library": str, "method": str, "on_top": str, "status": str, "note": str},
        keep_default_na=False,
        na_values=[""],
    )
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
                note = "never ranked: " + "; ".join(
                    f"{why} ({k} cell{'s' if k > 1 else ''})" for why, k in reasons.items()
                )
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


METHOD_LABELS = {"ora_up": "ORA up", "ora_down": "ORA down", "ora_all": "ORA all", "gsea": "GSEA"}
# the figure is read at the report's width (~700 px): at most this many inches at 150 dpi
HEATMAP_MAX_WIDTH_IN = 6.6


def robustness_heatmap(grid: pd.DataFrame, out: str | Path, title: str) -> None:
    """Heatmap of the target's rank over the grid, written to ``out`` (PNG, atomically).

    One panel per gene-set library, stacked (so the figure stays about 1,000 px wide and
    legible when the report shows it ~700 px wide). In a panel each dataset is a bold
    header row followed by its methods (ORA up, down, all; GSEA); columns are the
    |log2FC| thresholds grouped under their padj threshold, plus one "GSEA" column
    (threshold free) when the grid has GSEA rows. Colour = the target's rank on a log
    scale (dark = rank 1 = best), the rank written in the cell, bold with ``*`` where the
    target is on top. Hatched grey: not ranked in that cell; blank: not applicable (ORA
    rows in the GSEA column and vice versa). Byte-identical output for identical input.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import colors as mcolors
    from matplotlib.patches import Rectangle

    from .plots import _RC, MISSING, fit_title

    row_keys, col_keys, rank, top, applicable = _heatmap_layout(grid)
    libs = list(dict.fromkeys(k[1] for k in row_keys))
    n_cols = len(col_keys)
    finite = rank[np.isfinite(rank)]
    vmax = max(10.0, float(finite.max()) if finite.size else 10.0)
    norm = mcolors.LogNorm(vmin=1.0, vmax=vmax)
    cmap = plt.get_cmap("YlGnBu_r").with_extremes(bad=MISSING)
    # per library: display rows (("header", dataset) or ("row", index into row_keys))
    panels = []
    for lib in libs:
        rows, last = [], None
        for i, k in enumerate(row_keys):
            if k[1] != lib:
                continue
            if k[0] != last:
                rows.append(("header", k[0]))
                last = k[0]
            rows.append(("row", i))
        panels.append((lib, rows))
    longest = max([len(str(k[0])) for k in row_keys] + [10])
    width = min(HEATMAP_MAX_WIDTH_IN, max(4.5, 0.44 * n_cols + 0.075 * longest + 0.9))
    heights = [max(1.0, 0.22 * len(rows) + 0.9) for _, rows in panels] or [2.0]
    title = fit_title(title, width, 10)
    with plt.rc_context(_RC):
        fig = plt.figure(layout="constrained", figsize=(width, sum(heights) + 0.5 + 0.15 * title.count("\n")))
        try:
            fig.suptitle(title, fontsize=10)
            if not panels or n_cols == 0:
                ax = fig.add_subplot()
                ax.set_xticks([])
                ax.set_yticks([])
                ax.text(
                    0.5,
                    0.5,
                    "empty robustness grid: nothing to show",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    fontsize=10,
                    color="#5D4037",
                )
            else:
                axes = fig.subplots(len(panels), 1, height_ratios=heights, squeeze=False)[:, 0]
                for ax, (lib, rows) in zip(axes, panels):
                    _robustness_panel(ax, lib, rows, row_keys, col_keys, rank, top, applicable, cmap, norm, Rectangle)
                fig.supxlabel(
                    "number = rank of the target among the ranked pathways (1 = best, darker = better);\n"
                    "* bold = on top; – hatched = not ranked; columns: DE thresholds for ORA, none for GSEA",
                    fontsize=7.5,
                )
            with atomic_write(out, "wb") as fh:
                fig.savefig(fh, format="png", dpi=150, metadata={"Software": "pathverdict (matplotlib)"})
        finally:
            plt.close(fig)


def _robustness_panel(ax, lib, rows, row_keys, col_keys, rank, top, applicable, cmap, norm, Rectangle) -> None:
    n_rows, n_cols = len(rows), len(col_keys)
    shown = np.full((n_rows, n_cols), np.nan)
    for r, (kind, ref) in enumerate(rows):
        if kind == "row":
            shown[r] = np.where(applicable[ref], rank[ref], np.nan)
    ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    labels = []
    for r, (kind, ref) in enumerate(rows):
        if kind == "header":
            ax.add_patch(Rectangle((-0.5, r - 0.5), n_cols, 1, facecolor="white", edgecolor="none"))
            labels.append(str(ref))
            continue
        labels.append(METHOD_LABELS.get(row_keys[ref][2], row_keys[ref][2]))
        for j in range(n_cols):
            if not applicable[ref, j]:
                ax.add_patch(Rectangle((j - 0.5, r - 0.5), 1, 1, facecolor="white", edgecolor="none"))
                continue
            if not np.isfinite(rank[ref, j]):
                ax.add_patch(
                    Rectangle((j - 0.5, r - 0.5), 1, 1, facecolor="none", hatch="////", edgecolor="#A8A8A8", lw=0)
                )
                ax.text(j, r, "–", ha="center", va="center", fontsize=8, color="#555555")
                continue
            red, green, blue, _ = cmap(norm(rank[ref, j]))
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
            ax.text(
                j,
                r,
                f"{int(rank[ref, j])}{'*' if top[ref, j] else ''}",
                ha="center",
                va="center",
                fontsize=8.5 if top[ref, j] else 8,
                fontweight="bold" if top[ref, j] else "normal",
                color="white" if dark else "black",
            )
    ax.set_yticks(np.arange(n_rows), labels, fontsize=8)
    for tick, (kind, _) in zip(ax.get_yticklabels(), rows):
        if kind == "header":
            tick.set_fontweight("bold")
    lfc_labels = ["GSEA" if c is None else f"≥ {c[1]:g}" for c in col_keys]
    ax.xaxis.tick_top()
    ax.set_xticks(np.arange(n_cols), lfc_labels, fontsize=7.5)
    # the padj threshold above each group of |log2FC| columns
    groups: dict = {}
    for j, c in enumerate(col_keys):
        if c is not None:
            groups.setdefault(c[0], []).append(j)
    for padj, js in groups.items():
        ax.annotate(
            f"padj < {padj:g}",
            xy=(float(np.mean(js)), 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 14),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7.5,
        )
    ax.set_title(f"{lib}   (|log2FC| ≥ … under each padj threshold)", fontsize=8.5, loc="left", pad=26)
    ax.set_xticks(np.arange(n_cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(n_rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=1.0)
    ax.tick_params(which="minor", length=0)
    ax.tick_params(which="major", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


# ----------------------------------------------------------------------------- files


def grid_from_files(
    dataset: str,
    de_path: str | Path,
    libraries: Mapping[str, str | Path],
    target: str,
    out: str | Path | None = None,
    *,
    gsea_path: str | Path | None = None,
    padj_grid: Sequence[float] = (0.01, 0.05, 0.1),
    lfc_grid: Sequence[float] = (0.0, 0.58, 1.0),
    ora_min_size: int = 10,
    ora_max_size: int = 500,
    top_n: int = 1,
    max_fdr: float = 0.05,
    min_overlap: int = 3,
    min_de_genes: int = 5,
) -> pd.DataFrame:
    """:func:`robustness_grid` from the workflow's files; writes the grid TSV to ``out``.

    ``de_path`` is ``results/{dataset}/de.tsv``, ``libraries`` maps library name to its
    prepared GMT (``resources/<study>/genesets/{library}.gmt``), ``gsea_path`` is
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
    grid = robustness_grid(
        read_de(str(de_path)),
        libs,
        target,
        padj_grid=padj_grid,
        lfc_grid=lfc_grid,
        ora_min_size=ora_min_size,
        ora_max_size=ora_max_size,
        gsea_tables=gsea_tables,
        dataset=dataset,
        top_n=top_n,
        max_fdr=max_fdr,
        min_overlap=min_overlap,
        min_de_genes=min_de_genes,
    )
    if out is not None:
        write_tsv(grid, out)
    return grid


def combine_grids(
    grid_paths: Iterable[str | Path],
    out_grid: str | Path | None = None,
    out_summary: str | Path | None = None,
    out_png: str | Path | None = None,
    title: str = "Robustness of the target's rank",
) -> tuple[pd.DataFrame, pd.DataFrame]:
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
