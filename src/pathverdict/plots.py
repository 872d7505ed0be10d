"""Figures for the Snakemake HTML report.

Every plotting function takes pandas objects as read from the workflow's TSV outputs,
writes exactly one file (PNG at 150 dpi by default; ``.svg`` and ``.pdf`` work too)
and closes its figure. Files are written atomically (:func:`pathverdict.util.atomic_file`:
a temporary file in the same directory, then a rename) and deterministically (fixed seeds, fixed
``svg.hashsalt``, no timestamps in the metadata), so re-running a step gives
byte-identical files.

Degenerate input (no significant genes, padj all NA, a target pathway with no genes
in the data, empty enrichment tables, a single sample, ...) never raises: the figure
is still written, with a note saying what is missing.

Functions:

* :func:`pca_plot` (with the pure helper :func:`pca_coordinates`)
* :func:`ma_plot`
* :func:`volcano_plot` (with the pure helper :func:`pick_labels`)
* :func:`enrichment_dotplot`
* :func:`target_heatmap`
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib import ticker as mticker  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.offsetbox import AnchoredText  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from .errors import InputError, preview  # noqa: E402
from .util import atomic_file  # noqa: E402

__all__ = [
    "pca_coordinates",
    "pca_plot",
    "ma_plot",
    "pick_labels",
    "volcano_plot",
    "enrichment_dotplot",
    "target_heatmap",
    "MAX_LABELS",
]

DPI = 150
MAX_LABELS = 15
SEED = 20240601

# Colour-blind safe (Okabe-Ito) colours.
UP = "#D55E00"
DOWN = "#0072B2"
NOT_SIG = "#BDBDBD"
TARGET = "#8E24AA"
TARGET_LABEL = "#C62828"
MISSING = "#E6E6E6"
CATEGORICAL = [
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
    "#8C564B",
    "#7F7F7F",
]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]

_RC = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "svg.hashsalt": "pathverdict",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.titlesize": 11,
    "figure.titleweight": "bold",
    "hatch.linewidth": 0.6,
}

# No dates and a fixed producer string, so the bytes only depend on the data.
_METADATA = {
    "png": {"Software": "pathverdict (matplotlib)"},
    "svg": {"Date": None, "Creator": "pathverdict (matplotlib)"},
    "pdf": {"Creator": "pathverdict (matplotlib)", "Producer": None, "CreationDate": None, "ModDate": None},
}


# ----------------------------------------------------------------------------- helpers


def _save(fig, out: str | Path) -> None:
    """Write ``fig`` to ``out`` atomically (temp file in the same directory + rename)."""
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".") or "png"
    if fmt not in _METADATA:
        raise ValueError(f"{out}: unsupported figure format '.{fmt}' (use .png, .svg or .pdf)")
    with atomic_file(out) as fh:
        fig.savefig(fh, format=fmt, dpi=DPI, metadata=_METADATA[fmt])


@contextlib.contextmanager
def _figure(out, **kwargs):
    """A constrained-layout figure under the module's rc settings; saved and closed."""
    with plt.rc_context(_RC):
        fig = plt.figure(layout="constrained", **kwargs)
        try:
            yield fig
            _save(fig, out)
        finally:
            plt.close(fig)


def fit_title(title: str, width_in: float, fontsize: float = 10.0) -> str:
    """``title`` wrapped (at spaces, each line separately) to the width of a ``width_in``
    inch figure, so that a long title is not clipped at the figure's edges (bold DejaVu
    Sans averages ~0.62 em per character; a margin of 0.3 inch is kept)."""
    chars = max(20, int((width_in - 0.3) * 72 / (fontsize * 0.62)))
    return "\n".join(textwrap.fill(line, chars, break_long_words=False) for line in title.split("\n"))


def _note(ax, text: str, loc: str = "upper center", size: float = 8.5) -> AnchoredText:
    """A boxed note inside the axes (for missing / degenerate data)."""
    at = AnchoredText(text, loc=loc, prop={"size": size, "color": "#5D4037"}, frameon=True, pad=0.4, borderpad=0.6)
    at.patch.set_boxstyle("round,pad=0.3")
    at.patch.set_facecolor("#FFF8E1")
    at.patch.set_edgecolor("#BCAAA4")
    at.patch.set_alpha(0.92)
    at.set_zorder(10)
    ax.add_artist(at)
    return at


def _empty_axes(ax, text: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        transform=ax.transAxes,
        fontsize=10,
        color="#5D4037",
        wrap=True,
        bbox={"boxstyle": "round,pad=0.6", "facecolor": "#FFF8E1", "edgecolor": "#BCAAA4"},
    )


def _de_frame(de: pd.DataFrame, need: list[str], what: str) -> pd.DataFrame:
    """Copy of a DE table with numeric columns coerced, gene_id and symbol as strings."""
    missing = [c for c in need if c not in de.columns]
    if missing:
        raise InputError(
            f"{what}: the DE table lacks column(s) {preview(missing)}; it has "
            f"{preview(list(de.columns), 12)}. Pass the results table written "
            "by the differential expression step."
        )
    d = de.copy()
    if "gene_id" not in d.columns:  # gene ids as the index
        d["gene_id"] = d.index.astype(str)
    d["gene_id"] = d["gene_id"].astype(str)
    if "symbol" not in d.columns:
        d["symbol"] = pd.NA
    d["symbol"] = d["symbol"].astype("string")
    for c in ("baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj"):
        if c in d.columns:
            d[c] = pd.to_numeric(d[c], errors="coerce").astype(float)
    return d


def _as_set(items: Iterable[str] | None) -> set[str]:
    if items is None:
        return set()
    if isinstance(items, str):
        items = [items]
    return {str(i).strip() for i in items if i is not None and not pd.isna(i) and str(i).strip()}


def _fmt_int(n: int) -> str:
    return f"{int(n):,}"


_DIRECTIONS = [(1, 1), (1, 0), (0, 1), (1, -1), (-1, 1), (0, -1), (-1, 0), (-1, -1)]


def _place_labels(fig, ax, items, obstacles=None, radius: float = 4.0, avoid=(), rng=None, **text_kw) -> list:
    """Greedy, deterministic label placement (no overlapping labels where avoidable).

    ``items`` are ``(x, y, text, prefer_right)`` in data coordinates, most important
    first. Each label is put at the first candidate position (rings of increasing
    distance around its point, 8 directions, the preferred side first) that overlaps
    no label placed before, no marker in ``obstacles`` (data coordinates, markers of
    about ``radius`` points), none of the artists in ``avoid`` and stays inside the
    axes; if none is free, the least-overlapping candidate. Labels away from their
    point get a leader line. ``rng`` (seeded) adds sub-pixel jitter to break ties
    between coincident points.
    """
    if not items:
        return []
    fig.canvas.draw()  # runs the layout so that positions are final
    renderer = fig.canvas.get_renderer()
    px = fig.dpi / 72.0
    axb = ax.get_window_extent(renderer)
    obs = np.empty((0, 2))
    if obstacles is not None and len(obstacles):
        obs = ax.transData.transform(np.asarray(obstacles, dtype=float).reshape(-1, 2))
        obs = obs[np.isfinite(obs).all(axis=1)]
    r = radius * px
    boxes = [a.get_window_extent(renderer) for a in avoid]
    placed = [(b.x0, b.y0, b.x1, b.y1) for b in boxes]
    rings = sorted({radius + 1.5, radius + 5, radius + 10, 20, 28, 38, 50, 64, 80, 100})
    out = []
    for x, y, label, right in items:
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        t = ax.annotate(
            label, xy=(x, y), xytext=(0, 0), textcoords="offset points", ha="center", va="center", **text_kw
        )
        bb = t.get_window_extent(renderer)
        w, h = bb.width + 2, bb.height + 1
        t.remove()
        p0, p1 = ax.transData.transform((x, y))
        if rng is not None:
            p0, p1 = p0 + rng.uniform(-0.3, 0.3), p1 + rng.uniform(-0.3, 0.3)
        dirs = _DIRECTIONS if right else [(-ux, uy) for ux, uy in _DIRECTIONS]
        best, best_cost = None, np.inf
        for d in rings:
            for ux, uy in dirs:
                cx = p0 + ux * (w / 2 + d * px)
                cy = p1 + uy * (h / 2 + d * px)
                x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
                inside_w = max(0.0, min(x1, axb.x1) - max(x0, axb.x0))
                inside_h = max(0.0, min(y1, axb.y1) - max(y0, axb.y0))
                cost = 10 * (w * h - inside_w * inside_h)
                for q0, q1, q2, q3 in placed:
                    cost += max(0.0, min(x1, q2) - max(x0, q0)) * max(0.0, min(y1, q3) - max(y0, q1))
                if len(obs):
                    ox = np.minimum(x1, obs[:, 0] + r) - np.maximum(x0, obs[:, 0] - r)
                    oy = np.minimum(y1, obs[:, 1] + r) - np.maximum(y0, obs[:, 1] - r)
                    cost += float((ox.clip(min=0) * oy.clip(min=0)).sum())
                if cost < best_cost:
                    best, best_cost = (cx, cy, d, (x0, y0, x1, y1)), cost
                if cost == 0:
                    break
            if best_cost == 0:
                break
        cx, cy, d, box = best
        placed.append(box)
        kw = dict(text_kw)
        if d > radius + 6:
            kw["arrowprops"] = {"arrowstyle": "-", "lw": 0.5, "color": "0.35", "shrinkA": 1, "shrinkB": radius * 0.6}
        t = ax.annotate(
            label,
            xy=(x, y),
            xytext=((cx - p0) / px, (cy - p1) / px),
            textcoords="offset points",
            ha="center",
            va="center",
            **kw,
        )
        t.set_in_layout(False)
        out.append(t)
    return out


def _levels(values: pd.Series) -> list[str]:
    """Distinct values in order of first appearance ("NA" last)."""
    seen = list(dict.fromkeys(values.tolist()))
    if "NA" in seen:
        seen.remove("NA")
        seen.append("NA")
    return seen


def _palette(n: int) -> list[str]:
    if n <= len(CATEGORICAL):
        return CATEGORICAL[:n]
    cmap = plt.get_cmap("tab20")
    return [mcolors.to_hex(cmap(i % 20)) for i in range(n)]


# ----------------------------------------------------------------------------- PCA


def pca_coordinates(vst: pd.DataFrame, n_top: int = 500) -> tuple[pd.DataFrame, dict]:
    """PCA like DESeq2's ``plotPCA``: the ``n_top`` genes with the highest variance
    across samples, centred per gene, not scaled, SVD.

    Returns ``(coords, variance)``: ``coords`` has columns PC1 and PC2, one row per
    sample (vst column order); ``variance`` is ``{"pc1_var": f1, "pc2_var": f2}``,
    the fractions of the selected genes' total variance. Genes with non-finite values
    are dropped. The sign of each PC is fixed (largest loading positive) so results
    are reproducible. With fewer than 2 samples, no usable gene or zero variance the
    coordinates and fractions are NaN.
    """
    samples = [str(c) for c in vst.columns]
    coords = pd.DataFrame(np.nan, index=pd.Index(samples, name="sample"), columns=["PC1", "PC2"])
    nan = {"pc1_var": float("nan"), "pc2_var": float("nan")}
    mat = vst.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if mat.ndim != 2 or mat.shape[1] < 2:
        return coords, nan
    mat = mat[np.isfinite(mat).all(axis=1)]
    if mat.shape[0] == 0:
        return coords, nan
    var = mat.var(axis=1, ddof=1)
    order = np.argsort(-var, kind="stable")[: max(1, int(n_top))]
    x = mat[order].T  # samples x genes
    x = x - x.mean(axis=0, keepdims=True)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    eig = s**2
    total = float(eig.sum())
    if not np.isfinite(total) or total <= 0:
        coords.loc[:, :] = 0.0
        return coords, nan
    for k in range(len(s)):
        if vt[k, np.argmax(np.abs(vt[k]))] < 0:
            u[:, k] *= -1
            vt[k] *= -1
    scores = u * s
    negligible = eig / total < 1e-12  # numerically zero components (e.g. PC2 with 2 samples)
    scores[:, negligible] = 0.0
    eig = np.where(negligible, 0.0, eig)
    coords["PC1"] = scores[:, 0]
    coords["PC2"] = scores[:, 1] if scores.shape[1] > 1 else 0.0
    frac = eig / eig.sum()
    return coords, {"pc1_var": float(frac[0]), "pc2_var": float(frac[1]) if len(frac) > 1 else 0.0}


def pca_plot(
    vst: pd.DataFrame,
    samples: pd.DataFrame,
    color_by: str,
    out: str | Path,
    title: str,
    shape_by: str | None = None,
    n_top: int = 500,
) -> dict:
    """PC1 vs PC2 of the VST matrix, coloured by ``color_by`` (and marker shape by
    ``shape_by``), sample names annotated. Returns ``{"pc1_var", "pc2_var"}`` fractions.
    """
    for col, what in ((color_by, "color_by"), (shape_by, "shape_by")):
        if col is not None and col not in samples.columns:
            raise InputError(
                f"PCA plot: {what} column '{col}' is not in the sample sheet; "
                f"its columns are {preview(list(samples.columns), 12)}. "
                "Fix the PCA setting in the config."
            )
    coords, frac = pca_coordinates(vst, n_top)
    n_samples = len(coords)
    finite_genes = (
        int(np.isfinite(vst.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)).all(axis=1).sum())
        if n_samples
        else 0
    )
    n_used = min(max(1, int(n_top)), finite_genes)
    meta = samples.copy()
    meta.index = meta.index.astype(str)
    meta = meta.reindex(coords.index)

    def labels_of(col):
        if col is None:
            return pd.Series("all", index=coords.index)
        return meta[col].astype("string").fillna("NA").astype(str)

    col_vals, shp_vals = labels_of(color_by), labels_of(shape_by)
    col_levels, shp_levels = _levels(col_vals), _levels(shp_vals)
    colours = dict(zip(col_levels, _palette(len(col_levels))))
    if "NA" in col_levels:
        colours["NA"] = "#9E9E9E"
    markers = {lv: MARKERS[i % len(MARKERS)] for i, lv in enumerate(shp_levels)}

    with _figure(out, figsize=(7.8, 5.6)) as fig:
        ax = fig.add_subplot()
        ok = np.isfinite(frac["pc1_var"])
        ax.set_title(
            f"{title}\nPCA of VST expression, {_fmt_int(n_used)} most variable genes, "
            f"{n_samples} sample{'s' if n_samples != 1 else ''}",
            fontsize=10,
        )
        if not ok:
            _empty_axes(
                ax,
                "PCA not possible: needs at least 2 samples and at least one gene\n"
                f"with finite, non-constant values (got {n_samples} sample(s), "
                f"{_fmt_int(finite_genes)} usable gene(s)).",
            )
            return {"pc1_var": frac["pc1_var"], "pc2_var": frac["pc2_var"]}
        for cl in col_levels:
            for sh in shp_levels:
                m = (col_vals == cl) & (shp_vals == sh)
                if m.any():
                    ax.scatter(
                        coords.loc[m, "PC1"],
                        coords.loc[m, "PC2"],
                        s=70,
                        c=colours[cl],
                        marker=markers[sh],
                        edgecolors="white",
                        linewidths=0.8,
                        zorder=3,
                    )
        ax.axhline(0, color="0.85", lw=0.8, zorder=0)
        ax.axvline(0, color="0.85", lw=0.8, zorder=0)
        ax.set_xlabel(f"PC1: {frac['pc1_var']:.1%} of variance (VST units, log2 scale)")
        ax.set_ylabel(f"PC2: {frac['pc2_var']:.1%} of variance (VST units, log2 scale)")
        # room for labels
        for getter, setter in ((ax.get_xlim, ax.set_xlim), (ax.get_ylim, ax.set_ylim)):
            lo, hi = getter()
            pad = (hi - lo) * 0.08 or 1.0
            setter(lo - pad, hi + pad)

        # one legend (a second, add_artist-ed legend is ignored by constrained layout)
        handles = [Line2D([], [], ls="", marker="o", ms=8, color=colours[cl], label=cl) for cl in col_levels]
        headers = []
        if shape_by is not None:
            handles = [Line2D([], [], ls="", label=color_by)] + handles
            headers = [0, len(handles) + 1]
            handles += [Line2D([], [], ls="", label=" "), Line2D([], [], ls="", label=shape_by)]
            handles += [Line2D([], [], ls="", marker=markers[sh], ms=8, color="0.35", label=sh) for sh in shp_levels]
        leg = ax.legend(
            handles=handles,
            title=None if shape_by is not None else color_by,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0,
        )
        for k in headers:
            leg.get_texts()[k].set_fontweight("bold")
            leg.get_texts()[k].set_position((-22, 0))
        avoid = []
        if n_samples <= 2:
            avoid.append(_note(ax, "only 2 samples: all variance lies on PC1", loc="lower center"))
        if n_samples <= 60:
            xmid = float(np.mean(ax.get_xlim()))
            items = [(row.PC1, row.PC2, name, row.PC1 <= xmid) for name, row in coords.iterrows()]
            _place_labels(
                fig,
                ax,
                items,
                obstacles=coords[["PC1", "PC2"]].to_numpy(),
                radius=5.0,
                avoid=avoid,
                rng=np.random.default_rng(SEED),
                fontsize=7.5,
                color="0.2",
            )
        else:
            _note(ax, f"{n_samples} samples: names not shown", loc="lower center")
    return {"pc1_var": frac["pc1_var"], "pc2_var": frac["pc2_var"]}


# ----------------------------------------------------------------------------- MA plot


def ma_plot(de: pd.DataFrame, alpha: float, out: str | Path, title: str) -> None:
    """log10 mean of normalised counts vs log2 fold change; genes with padj < alpha
    coloured (up / down counted in the legend). Fold changes beyond the y range are
    drawn as triangles at the edge."""
    d = _de_frame(de, ["baseMean", "log2FoldChange", "padj"], "MA plot")
    bm, lfc, padj = d["baseMean"], d["log2FoldChange"], d["padj"]
    plottable = (bm > 0) & np.isfinite(bm) & np.isfinite(lfc)
    sig = (padj < alpha).fillna(False) & plottable
    up, down = sig & (lfc > 0), sig & (lfc < 0)
    ns = plottable & ~sig

    with _figure(out, figsize=(7.2, 5.0)) as fig:
        ax = fig.add_subplot()
        ax.set_title(title)
        ax.set_xlabel("mean of normalised counts (log10 baseMean)")
        ax.set_ylabel("log2 fold change")
        if not plottable.any():
            _empty_axes(
                ax,
                "no genes to plot: the table is empty or has no gene with\nbaseMean > 0 and a finite log2 fold change",
            )
            return
        x = np.log10(bm.where(plottable))
        y = lfc.where(plottable)
        q = float(np.nanquantile(np.abs(y), 0.999))
        lim = min(max(1.0, q * 1.15), max(1.0, float(np.nanmax(np.abs(y))) * 1.05))
        yc = y.clip(-lim, lim)
        beyond = plottable & (y.abs() > lim)

        def draw(mask, colour, size, label, z):
            inside = mask & ~beyond
            ax.scatter(x[inside], yc[inside], s=size, c=colour, lw=0, alpha=0.8, zorder=z, rasterized=True, label=label)
            for sgn, mk in ((1, "^"), (-1, "v")):
                edge = mask & beyond & (np.sign(y) == sgn)
                if edge.any():
                    ax.scatter(x[edge], yc[edge], s=size * 2.5, c=colour, marker=mk, lw=0, zorder=z)

        n_up, n_down = int(up.sum()), int(down.sum())
        draw(ns, NOT_SIG, 4, f"not significant ({_fmt_int(ns.sum())})", 1)
        draw(up, UP, 8, f"up, padj < {alpha:g} ({_fmt_int(n_up)})", 2)
        draw(down, DOWN, 8, f"down, padj < {alpha:g} ({_fmt_int(n_down)})", 2)
        ax.axhline(0, color="0.3", lw=0.8, zorder=3)
        ax.set_ylim(-lim * 1.04, lim * 1.04)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, markerscale=2.0, title="genes")
        notes = []
        if padj.notna().sum() == 0:
            notes.append("padj is NA for all genes: no test results to colour")
        elif n_up + n_down == 0:
            notes.append(f"no significant genes at padj < {alpha:g}")
        n_zero = int((~plottable).sum())
        if n_zero:
            notes.append(
                f"{_fmt_int(n_zero)} gene{'s' if n_zero != 1 else ''} with baseMean = 0 or NA log2FC not shown"
            )
        if beyond.any():
            notes.append(f"{_fmt_int(beyond.sum())} genes beyond ±{lim:.1f} drawn as triangles")
        if notes:
            _note(ax, "\n".join(notes), loc="upper right")


# ----------------------------------------------------------------------------- volcano


def pick_labels(de: pd.DataFrame, highlight: Iterable[str], cap: int = MAX_LABELS) -> pd.DataFrame:
    """Rows of ``de`` to label in the volcano plot: genes whose symbol (or gene_id) is in
    ``highlight`` and that can be plotted (finite log2FoldChange and pvalue), most
    significant first (padj, then pvalue; NA last), at most ``cap`` rows. Adds a
    ``label`` column (symbol, or gene_id where the symbol is missing)."""
    d = _de_frame(de, ["log2FoldChange", "pvalue"], "pick_labels")
    if "padj" not in d.columns:
        d["padj"] = np.nan
    hl = _as_set(highlight)
    is_hl = d["symbol"].isin(hl).fillna(False).astype(bool) | d["gene_id"].isin(hl)
    ok = is_hl & np.isfinite(d["log2FoldChange"]) & np.isfinite(d["pvalue"])
    sub = d[ok].copy()
    sub["label"] = sub["symbol"].fillna(sub["gene_id"]).astype(str)
    sub = sub.sort_values(["padj", "pvalue", "label"], na_position="last", kind="mergesort")
    return sub.head(max(0, int(cap)))


def volcano_plot(
    de: pd.DataFrame,
    alpha: float,
    out: str | Path,
    title: str,
    highlight: Iterable[str],
    highlight_name: str,
    lfc_threshold: float = 0.0,
) -> None:
    """log2 fold change vs -log10 p-value. Genes with padj < alpha (and |log2FC| >
    lfc_threshold) coloured by direction; genes of the highlighted set (the target
    pathway) drawn in purple and the 15 most significant of them labelled."""
    d = _de_frame(de, ["log2FoldChange", "pvalue", "padj"], "volcano plot")
    hl = _as_set(highlight)
    lfc, p, padj = d["log2FoldChange"], d["pvalue"], d["padj"]
    plottable = np.isfinite(lfc) & np.isfinite(p) & (p >= 0)
    big = (lfc.abs() > lfc_threshold) if lfc_threshold > 0 else pd.Series(True, index=d.index)
    sig = (padj < alpha).fillna(False) & big & plottable
    in_set = d["symbol"].isin(hl).fillna(False).astype(bool) | d["gene_id"].isin(hl)
    is_hl = in_set & plottable
    n_hl_data = int(in_set.sum())

    with _figure(out, figsize=(7.6, 5.6)) as fig:
        ax = fig.add_subplot()
        ax.set_title(title)
        ax.set_xlabel("log2 fold change")
        ax.set_ylabel("-log10 p-value")
        if not plottable.any():
            _empty_axes(
                ax, "no genes to plot: the table is empty or no gene has\na finite log2 fold change and p-value"
            )
            return
        positive = p[plottable & (p > 0)]
        floor = float(positive.min()) if len(positive) else 1e-300
        n_zero_p = int((plottable & (p == 0)).sum())
        y = -np.log10(p.where(plottable).clip(lower=floor))
        x = lfc.where(plottable)

        ns = plottable & ~sig & ~is_hl
        up, down = sig & (lfc > 0), sig & (lfc < 0)
        ax.scatter(
            x[ns],
            y[ns],
            s=4,
            c=NOT_SIG,
            lw=0,
            alpha=0.7,
            rasterized=True,
            zorder=1,
            label=f"not significant ({_fmt_int((plottable & ~sig).sum())})",
        )
        ax.scatter(
            x[up & ~is_hl],
            y[up & ~is_hl],
            s=7,
            c=UP,
            lw=0,
            alpha=0.75,
            rasterized=True,
            zorder=2,
            label=f"up, padj < {alpha:g} ({_fmt_int(up.sum())})",
        )
        ax.scatter(
            x[down & ~is_hl],
            y[down & ~is_hl],
            s=7,
            c=DOWN,
            lw=0,
            alpha=0.75,
            rasterized=True,
            zorder=2,
            label=f"down, padj < {alpha:g} ({_fmt_int(down.sum())})",
        )
        hl_sig, hl_ns = is_hl & sig, is_hl & ~sig
        ax.scatter(
            x[hl_sig],
            y[hl_sig],
            s=34,
            c=TARGET,
            edgecolors="black",
            linewidths=0.6,
            zorder=4,
            label=f"{highlight_name}, padj < {alpha:g} ({_fmt_int(hl_sig.sum())})",
        )
        ax.scatter(
            x[hl_ns],
            y[hl_ns],
            s=30,
            facecolors="white",
            edgecolors=TARGET,
            linewidths=1.2,
            zorder=4,
            label=f"{highlight_name}, not significant ({_fmt_int(hl_ns.sum())})",
        )

        ymax = float(np.nanmax(y)) if np.isfinite(np.nanmax(y)) else 1.0
        ax.set_ylim(-0.04 * max(ymax, 1.0), max(ymax, 1.0) * 1.22)
        xm = float(np.nanmax(np.abs(x)))
        xm = max(xm * 1.08, lfc_threshold * 1.5, 1.0)
        ax.set_xlim(-xm, xm)
        if sig.any():
            cut = float(p[(padj < alpha).fillna(False) & plottable].max())
            ax.axhline(
                -np.log10(max(cut, floor)),
                color="0.4",
                lw=0.7,
                ls="--",
                zorder=0,
                label=f"padj = {alpha:g} (p-value cut-off)",
            )
        if lfc_threshold > 0:
            for v in (-lfc_threshold, lfc_threshold):
                ax.axvline(v, color="0.4", lw=0.7, ls=":", zorder=0)
        ax.axvline(0, color="0.85", lw=0.7, zorder=0)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, title="genes", markerscale=1.3)

        labels = pick_labels(d[plottable], hl, MAX_LABELS)
        items = [
            (float(r.log2FoldChange), float(y.loc[i]), r.label, r.log2FoldChange >= 0) for i, r in labels.iterrows()
        ]

        notes = []
        if padj.notna().sum() == 0:
            notes.append("padj is NA for all genes: no test results")
        elif not sig.any():
            thr = f" and |log2FC| > {lfc_threshold:g}" if lfc_threshold > 0 else ""
            notes.append(f"no significant genes at padj < {alpha:g}{thr}")
        if n_hl_data == 0:
            notes.append(f"no {highlight_name} genes in the data")
        elif is_hl.sum() > len(labels):
            notes.append(f"labelled: {len(labels)} most significant of {_fmt_int(is_hl.sum())} {highlight_name} genes")
        if n_zero_p:
            notes.append(f"{n_zero_p} gene(s) with p = 0 drawn at p = {floor:.1e}")
        avoid = [_note(ax, "\n".join(notes), loc="upper center")] if notes else []
        _place_labels(
            fig,
            ax,
            items,
            obstacles=np.column_stack([x[is_hl], y[is_hl]]),
            radius=3.5,
            avoid=avoid,
            rng=np.random.default_rng(SEED),
            fontsize=7.5,
            color=TARGET,
            fontweight="bold",
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
        norm, cmap, clabel = mcolors.Normalize(-vmax, vmax), plt.get_cmap("RdBu_r"), "NES"
    else:
        fin = cv[np.isfinite(cv)]
        cv = np.where(np.isposinf(cv), fin.max() if len(fin) else 1.0, cv)
        fin = cv[np.isfinite(cv) & (cv > 0)]
        lo, hi = (float(fin.min()), float(fin.max())) if len(fin) else (1.0, 2.0)
        if hi <= lo:
            lo, hi = lo / 1.5, hi * 1.5
        norm = mcolors.LogNorm(lo, hi) if hi / lo > 10 else mcolors.Normalize(lo, hi)
        cmap, clabel = plt.get_cmap("viridis"), "odds ratio"
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
        cmap = plt.get_cmap("RdBu_r").with_extremes(bad=MISSING)
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
