"""Figures of pathways: the enrichment dot plot, the target's genes across datasets, the robustness grid."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib import ticker as mticker
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from ...judgement.robustness import typed_grid
from ...util import atomic_file
from .style import (
    TARGET_LABEL,
    MISSING,
    _RC,
    _figure,
    _new_figure,
    _write_png,
    fit_title,
    _note,
    _empty_axes,
)


# ----------------------------------------------------------------------------- enrichment

_METHOD_ORDER = ["ora_up", "ora_down", "ora_all", "gsea"]
_METHOD_TITLES = {
    "ora_up": "ORA: up-regulated genes",
    "ora_down": "ORA: down-regulated genes",
    "ora_all": "ORA: all significant genes",
    "gsea": "GSEA (pre-ranked)",
}


def _wrap(term: str, width: int = 42) -> str:
    lines = textwrap.wrap(str(term), width) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), width, placeholder="…")]
    return "\n".join(lines)


def _panel(fig, spec, method: str, table: pd.DataFrame, target: str, top_n: int) -> None:
    inner = spec.subgridspec(2, 2, width_ratios=[1.0, 0.05], height_ratios=[1.0, 1.0], wspace=0.02)
    ax = fig.add_subplot(inner[:, 0])
    cax = fig.add_subplot(inner[0, 1])
    lax = fig.add_subplot(inner[1, 1])
    lax.axis("off")
    ax.set_title(_METHOD_TITLES.get(method, method), loc="left")
    t = table.copy() if table is not None else pd.DataFrame()
    is_gsea = method == "gsea" or ("nes" in t.columns and "odds_ratio" not in t.columns)
    qcol = "fdr" if is_gsea and "fdr" in t.columns else "padj"
    qname = "FDR" if qcol == "fdr" else "padj"
    size_col = "set_size" if is_gsea else "overlap_size"
    colour_col = "nes" if is_gsea else "odds_ratio"
    if t.empty or "term" not in t.columns:
        cax.axis("off")
        _empty_axes(ax, f"no terms: the enrichment table is empty\n('{target}' not tested)")
        return
    for c in (qcol, size_col, colour_col, "rank"):
        t[c] = pd.to_numeric(t[c], errors="coerce") if c in t.columns else np.nan
    t["term"] = t["term"].astype(str)
    if t["rank"].isna().all():
        t["rank"] = t[qcol].rank(method="first", na_option="bottom")
    t = t.sort_values(["rank", qcol], na_position="last", kind="mergesort").reset_index(drop=True)
    key = str(target).strip().casefold()
    hit = t.index[t["term"].str.strip().str.casefold() == key]
    shown = t.head(max(1, int(top_n)))
    extra = None
    if len(hit) and hit[0] not in shown.index:
        extra = t.loc[[hit[0]]]
    rows = pd.concat([shown, extra]) if extra is not None else shown
    ypos = np.arange(len(shown), dtype=float)
    if extra is not None:
        ypos = np.append(ypos, len(shown) + 0.4)

    q = rows[qcol].to_numpy(dtype=float)
    positive = t[qcol][t[qcol] > 0]
    floor = float(positive.min()) / 10 if len(positive) else 1e-10
    xval = -np.log10(np.clip(np.where(np.isnan(q), 1.0, q), floor, 1.0))
    size_v = rows[size_col].to_numpy(dtype=float)
    smax = np.nanmax(t[size_col].to_numpy(dtype=float)) if t[size_col].notna().any() else 1.0
    smax = smax if np.isfinite(smax) and smax > 0 else 1.0
    area = 25 + 230 * np.nan_to_num(size_v, nan=0.0) / smax
    cv = rows[colour_col].to_numpy(dtype=float)
    if is_gsea:
        vmax = float(np.nanmax(np.abs(cv))) if np.isfinite(cv).any() else 1.0
        vmax = max(vmax, 1.0)
        norm, cmap, clabel = mcolors.Normalize(-vmax, vmax), matplotlib.colormaps["RdBu_r"], "NES"
    else:
        fin = cv[np.isfinite(cv)]
        cv = np.where(np.isposinf(cv), fin.max() if len(fin) else 1.0, cv)
        fin = cv[np.isfinite(cv) & (cv > 0)]
        lo, hi = (float(fin.min()), float(fin.max())) if len(fin) else (1.0, 2.0)
        if hi <= lo:
            lo, hi = lo / 1.5, hi * 1.5
        norm = mcolors.LogNorm(lo, hi) if hi / lo > 10 else mcolors.Normalize(lo, hi)
        cmap, clabel = matplotlib.colormaps["viridis"], "odds ratio"
    cmap = cmap.with_extremes(bad="#9E9E9E")
    is_target = rows["term"].str.strip().str.casefold().to_numpy() == key
    sc = ax.scatter(
        xval,
        ypos,
        s=area,
        c=cv,
        cmap=cmap,
        norm=norm,
        plotnonfinite=True,
        edgecolors=np.where(is_target, TARGET_LABEL, "0.25"),
        linewidths=np.where(is_target, 2.0, 0.5),
        zorder=3,
    )
    na_q = np.isnan(q)
    if na_q.any():
        ax.scatter(
            xval[na_q],
            ypos[na_q],
            s=area[na_q],
            facecolors="white",
            edgecolors=np.where(is_target[na_q], TARGET_LABEL, "0.4"),
            linewidths=np.where(is_target[na_q], 2.0, 0.8),
            zorder=4,
        )

    labels = []
    for (_, r), tgt, qna in zip(rows.iterrows(), is_target, na_q):
        lab = _wrap(r["term"])
        if tgt and extra is not None:
            rank = r["rank"]
            rank_s = f"{int(rank)}" if np.isfinite(rank) else "NA"
            lab = _wrap(f"{r['term']} (rank {rank_s})")
        if qna:
            lab += f" ({qname} NA)"
        labels.append("★ " + lab if tgt else lab)
    ax.set_yticks(ypos, labels)
    for tick, tgt in zip(ax.get_yticklabels(), is_target):
        if tgt:
            tick.set_color(TARGET_LABEL)
            tick.set_fontweight("bold")
    top = ypos.max() if len(ypos) else 0
    ax.set_ylim(top + 0.7, -0.7)
    if extra is not None:
        ax.axhline(len(shown) - 0.3, color="0.45", lw=0.8, ls="--")
    ref = -np.log10(0.05)
    xmax = max(float(np.nanmax(xval)) if len(xval) else 0.0, ref) * 1.12
    ax.set_xlim(-0.04 * xmax, xmax)
    ax.axvline(ref, color="0.5", lw=0.7, ls=":", zorder=0)
    ax.text(
        ref,
        0.005,
        f"{qname} = 0.05 ",
        transform=ax.get_xaxis_transform(),
        fontsize=7,
        color="0.4",
        va="bottom",
        ha="right",
        rotation=90,
    )
    n_zero = int((rows[qcol] == 0).sum())
    ax.set_xlabel(f"-log10 {qname}" + (f"   ({qname} = 0 drawn at {floor:.0e})" if n_zero else ""))
    ax.grid(axis="y", color="0.93", lw=0.6, zorder=0)

    cb = fig.colorbar(sc, cax=cax)
    if isinstance(norm, mcolors.LogNorm):
        cb.ax.yaxis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        cb.ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
        cb.ax.yaxis.set_minor_formatter(mticker.NullFormatter())
    cb.set_label(clabel, fontsize=8)
    cb.ax.tick_params(labelsize=7)
    ref_sizes = sorted({int(round(v)) for v in (smax / 4, smax / 2, smax) if v >= 1})
    handles = [
        Line2D([], [], ls="", marker="o", color="0.55", markersize=np.sqrt(25 + 230 * v / smax), label=str(v))
        for v in ref_sizes
    ]
    lax.legend(
        handles=handles,
        title="set size" if is_gsea else "overlap\n(genes)",
        loc="upper left",
        borderaxespad=0,
        labelspacing=1.1,
        handletextpad=0.8,
        frameon=False,
    )
    notes = []
    if not len(hit):
        notes.append(f"'{target}' is not in this table")
    if t[qcol].notna().sum() == 0:
        notes.append(f"{qname} is NA for all terms")
    elif (t[qcol] < 0.05).sum() == 0:
        notes.append(f"no term with {qname} < 0.05")
    if notes:
        _note(ax, "\n".join(notes), loc="lower right", size=7.5)


def enrichment_dotplot(
    tables: dict[str, pd.DataFrame], out: str | Path, title: str, target: str, top_n: int = 10
) -> None:
    """One dot-plot panel per enrichment method: the ``top_n`` terms by rank, x =
    -log10(padj or FDR), dot size = overlap size (ORA) or set size (GSEA), colour =
    odds ratio (ORA) or NES (GSEA). The target term is shown in bold red with a star;
    when it is not among the top_n it is added below a dashed line with its rank."""
    tables = dict(tables or {})
    methods = [m for m in _METHOD_ORDER if m in tables] + sorted(m for m in tables if m not in _METHOD_ORDER)
    n = len(methods)
    ncols = 1 if n <= 1 else 2
    nrows = max(1, -(-n // ncols))
    heights = []
    for r in range(nrows):
        k = 2
        for m in methods[r * ncols : (r + 1) * ncols]:
            tab = tables[m]
            k = max(k, min(len(tab), top_n) + 1 if tab is not None else 2)
        heights.append(0.36 * k + 1.3)
    with _figure(out, figsize=(7.8 * ncols, sum(heights) + 0.6)) as fig:
        fig.suptitle(f"{title}\ntarget: {target}")
        if n == 0:
            _empty_axes(fig.add_subplot(), "no enrichment results")
            return
        gs = fig.add_gridspec(nrows, ncols, height_ratios=heights)
        for i, m in enumerate(methods):
            _panel(fig, gs[i // ncols, i % ncols], m, tables[m], target, top_n)


# ----------------------------------------------------------------------------- heatmap


def target_heatmap(lfc: pd.DataFrame, padj: pd.DataFrame, alpha: float, out: str | Path, title: str) -> None:
    """Heatmap of log2 fold changes of the target pathway genes (rows) across datasets
    (columns), diverging colours with symmetric limits, asterisk where padj < alpha,
    hatched grey where a gene was not tested. Rows ordered by mean log2FC (highest on
    top); the figure height grows with the number of genes."""
    lfc = lfc.apply(pd.to_numeric, errors="coerce").astype(float)
    padj = (padj if padj is not None else pd.DataFrame()).reindex(index=lfc.index, columns=lfc.columns)
    padj = padj.apply(pd.to_numeric, errors="coerce").astype(float)
    n_rows, n_cols = lfc.shape
    longest_row = max((len(str(i)) for i in lfc.index), default=4)
    longest_col = max((len(str(c)) for c in lfc.columns), default=4)
    width = max(4.8, 0.75 * n_cols + 0.065 * longest_row + 2.6)
    height = max(3.2, 0.22 * n_rows + 0.06 * min(longest_col, 40) + 1.9)
    title = fit_title(title, width * 0.8)  # the colour bar takes the rest
    with _figure(out, figsize=(width, height)) as fig:
        ax = fig.add_subplot()
        ax.set_title(title)
        if n_rows == 0 or n_cols == 0:
            _empty_axes(ax, "no target pathway genes in the data" if n_rows == 0 else "no datasets to show")
            return
        mean = lfc.mean(axis=1, skipna=True).to_numpy()
        # highest mean log2FC on top; genes without any value last
        idx = np.argsort(-np.where(np.isnan(mean), -np.inf, mean), kind="stable")
        v = lfc.to_numpy()[idx]
        q = padj.to_numpy()[idx]
        rows = [str(r) for r in lfc.index[idx]]
        finite = v[np.isfinite(v)]
        vmax = float(np.abs(finite).max()) if finite.size else 1.0
        vmax = vmax if vmax > 0 else 1.0
        cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad=MISSING)
        im = ax.imshow(
            np.ma.masked_invalid(v), cmap=cmap, vmin=-vmax, vmax=vmax, aspect="auto", interpolation="nearest"
        )
        for i, j in zip(*np.where(~np.isfinite(v))):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="none", hatch="////", edgecolor="#A8A8A8", lw=0))
        star = np.isfinite(q) & (q < alpha)
        fs = 9 if n_rows <= 40 else 7.5
        for i, j in zip(*np.where(star)):
            dark = np.isfinite(v[i, j]) and abs(v[i, j]) > 0.6 * vmax
            ax.text(
                j,
                i,
                "*",
                ha="center",
                va="center",
                fontsize=fs + 2,
                color="white" if dark else "black",
                fontweight="bold",
            )
        ax.set_xticks(
            np.arange(n_cols),
            [str(c) for c in lfc.columns],
            rotation=30 if longest_col > 8 else 0,
            ha="right" if longest_col > 8 else "center",
            rotation_mode="anchor",
        )
        ax.set_yticks(np.arange(n_rows), rows, fontsize=8 if n_rows <= 40 else 7)
        ax.set_xticks(np.arange(n_cols + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(n_rows + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", lw=0.8)
        ax.tick_params(which="minor", length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xlabel(f"dataset     (* padj < {alpha:g}; hatched grey: not tested)")
        ax.set_ylabel(f"gene ({n_rows})")
        cb = fig.colorbar(im, ax=ax, shrink=min(1.0, 3.0 / height * 1.4), aspect=18, pad=0.02)
        cb.set_label("log2 fold change")
        if not star.any():
            ax.set_title(f"{title}\nno significant genes at padj < {alpha:g}")


# ----------------------------------------------------------------------------- robustness

METHOD_ORDER = {m: i for i, m in enumerate(("ora_up", "ora_down", "ora_all", "gsea"))}


def _cell_label(padj: float, lfc: float) -> str:
    return f"padj < {padj:g}\n|log2FC| ≥ {lfc:g}"


def _heatmap_layout(grid: pd.DataFrame):
    """Row keys, column keys and the rank / on-top / applicable matrices."""
    grid = typed_grid(grid)
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
    row_keys, col_keys, rank, top, applicable = _heatmap_layout(grid)
    libs = list(dict.fromkeys(k[1] for k in row_keys))
    n_cols = len(col_keys)
    finite = rank[np.isfinite(rank)]
    vmax = max(10.0, float(finite.max()) if finite.size else 10.0)
    norm = mcolors.LogNorm(vmin=1.0, vmax=vmax)
    cmap = matplotlib.colormaps["YlGnBu_r"].with_extremes(bad=MISSING)
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
    with matplotlib.rc_context(_RC):
        fig = _new_figure(figsize=(width, sum(heights) + 0.5 + 0.15 * title.count("\n")))
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
                "* bold = on top; – hatched = not ranked or not tested; columns: DE thresholds for ORA, none for GSEA",
                fontsize=7.5,
            )
        with atomic_file(out) as fh:
            _write_png(fig, fh)


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
