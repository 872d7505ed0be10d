"""Figures of one dataset's differential expression: PCA, MA plot, volcano plot."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from ...errors import InputError, preview
from .style import (
    MAX_LABELS,
    SEED,
    UP,
    DOWN,
    NOT_SIG,
    TARGET,
    MARKERS,
    _figure,
    _note,
    _empty_axes,
    _de_frame,
    _as_set,
    _fmt_int,
    _place_labels,
    _levels,
    _palette,
)


# ----------------------------------------------------------------------------- PCA


def pca_coordinates(vst: pd.DataFrame, n_top: int = 500) -> tuple[pd.DataFrame, dict]:
    """PCA like DESeq2's ``plotPCA`` (:func:`pathverdict.judgement.samples.pca_scores`, which the
    sample QC measures its distances in): the ``n_top`` genes with the highest variance across
    samples, centred per gene, not scaled, SVD.

    Returns ``(coords, variance)``: ``coords`` has columns PC1 and PC2, one row per
    sample (vst column order); ``variance`` is ``{"pc1_var": f1, "pc2_var": f2}``,
    the fractions of the selected genes' total variance. Genes with non-finite values
    are dropped. The sign of each PC is fixed (largest loading positive) so results
    are reproducible. With fewer than 2 samples, no usable gene or zero variance the
    coordinates and fractions are NaN.
    """
    from ...judgement.samples import pca_scores

    samples = [str(c) for c in vst.columns]
    coords = pd.DataFrame(np.nan, index=pd.Index(samples, name="sample"), columns=["PC1", "PC2"])
    nan = {"pc1_var": float("nan"), "pc2_var": float("nan")}
    scores, frac = pca_scores(vst, n_top)
    if scores.shape[1] == 0:
        return coords, nan
    if np.isnan(frac).all():
        coords.loc[:, :] = 0.0
        return coords, nan
    coords["PC1"] = scores[:, 0]
    coords["PC2"] = scores[:, 1] if scores.shape[1] > 1 else 0.0
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


def not_drawn(out: str | Path, title: str, text: str) -> None:
    """A figure that says why it cannot be drawn (e.g. a PCA for a dataset given as a DE table, which has
    no per-sample data): the report shows the reason where the figure would be, never a missing file."""
    with _figure(out, figsize=(7.2, 3.0)) as fig:
        ax = fig.add_subplot()
        ax.set_title(title)
        _empty_axes(ax, text)


def ma_plot(de: pd.DataFrame, alpha: float, out: str | Path, title: str) -> None:
    """log10 mean of normalised counts vs log2 fold change; genes with padj < alpha
    coloured (up / down counted in the legend). Fold changes beyond the y range are
    drawn as triangles at the edge. A published DE table without baseMean but with a mean
    on the log2 scale (edgeR logCPM, limma AveExpr: ``mean_expression``) is drawn against that."""
    log_mean = "mean_expression" in de.columns and de["baseMean"].isna().all()
    d = _de_frame(de, ["baseMean", "log2FoldChange", "padj"], "MA plot")
    bm, lfc, padj = d["baseMean"], d["log2FoldChange"], d["padj"]
    if log_mean:  # already on a log scale (log2 CPM, AveExpr): drawn as it is, negative values included
        mean = pd.to_numeric(d["mean_expression"], errors="coerce")
        plottable = np.isfinite(mean) & np.isfinite(lfc)
    else:
        plottable = (bm > 0) & np.isfinite(bm) & np.isfinite(lfc)
    sig = (padj < alpha).fillna(False) & plottable
    up, down = sig & (lfc > 0), sig & (lfc < 0)
    ns = plottable & ~sig

    with _figure(out, figsize=(7.2, 5.0)) as fig:
        ax = fig.add_subplot()
        ax.set_title(title)
        ax.set_xlabel(
            "mean expression from the DE table (its log2 scale: logCPM or AveExpr)"
            if log_mean
            else "mean of normalised counts (log10 baseMean)"
        )
        ax.set_ylabel("log2 fold change")
        if not plottable.any():
            _empty_axes(
                ax,
                "no genes to plot: the table is empty or has no gene with\nbaseMean > 0 and a finite log2 fold change",
            )
            return
        x = mean.where(plottable) if log_mean else np.log10(bm.where(plottable))
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
