"""A published DE table as the workflow's DE result (``de.tsv``), for a dataset whose counts are not public.

The table is read by :mod:`pathverdict.sources.de_tables`; this module decides what the rest of the
workflow sees, so that the same genes give the same answer as the counts path:

* **Gene IDs** are detected and mapped to symbols as for counts (:func:`sources.annotation.map_ids`).
* **The ORA background** follows the counts path's rule -- the genes with a non-missing adjusted
  p-value, collapsed to symbols the same way (:func:`pathverdict.enrichment.collapse_to_symbols`, which
  reads ``de.tsv`` as it reads DESeq2's) -- so a DESeq2 ``results()`` table written by R gives the ORA
  rows the counts path gives on the same data (``tests/test_de_tables.py``). A table without adjusted
  p-values gets Benjamini-Hochberg over its p-values (as edgeR's FDR and limma's adj.P.Val are made).
* **A table of significant genes only** (every adjusted p-value below :data:`SIGNIFICANT_ONLY_MAX_PADJ`,
  or fewer than :data:`MIN_ROWS` genes with a p-value) has no background: the genes that were tested and
  found unchanged are missing, and over-representation against the significant genes themselves means
  nothing. It is refused with the fix (``background:`` a gene-list file, or
  ``background: annotation_protein_coding``). With a background, its genes that the table does not list
  enter ``de.tsv`` with empty statistics and ``in_table`` = no (counted as not DE by ORA, never as
  tested by anything else), and the verdict's note says what that does to the p-values.
* **The ranking of GSEA** is the table's test statistic where it has one -- DESeq2's Wald ``stat``,
  limma's moderated ``t``, Cuffdiff's ``test_stat``; edgeR's ``F`` or ``LR`` (and any statistic that is
  never negative while fold changes are, e.g. DESeq2's LRT) as sign(log2FC) x sqrt(statistic) -- else
  sign(log2FC) x -log10(p) (p floored at :data:`P_FLOOR`). It is written as ``stat`` of ``de.tsv``;
  :func:`ranking_statistic` says which, for the methods text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError, preview
from ..sources import annotation as _annotation
from ..sources.de_tables import DETable
from .rcompat.rstats import p_adjust_bh

log = logging.getLogger(__name__)

MIN_ROWS = 2000  # fewer genes with a p-value: not a genome-wide table
SIGNIFICANT_ONLY_MAX_PADJ = 0.5  # a complete table's largest adjusted p is ~1 (BH of its largest p)
P_FLOOR = 1e-300  # -log10(0) is infinite: a p of 0 (below double precision in R) ranks as 1e-300
PROTEIN_CODING = "annotation_protein_coding"
DE_COLUMNS = ["gene_id", "symbol", "baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj"]
NO_COUNTS = "a DE table has no counts"


@dataclass
class ImportedDE:
    """``de`` (the columns of ``de.tsv``: :data:`DE_COLUMNS`, + ``mean_expression`` when the table has
    logCPM or AveExpr, + ``in_table`` with a background), ``genes`` (``input/gene_ids.tsv``: every ID
    mapped) and ``info`` (what was recognised and decided, for ``input/prepare.json``)."""

    de: pd.DataFrame
    genes: pd.DataFrame
    info: dict


def ranking_statistic(frame: pd.DataFrame, kind: str) -> tuple[pd.Series, str]:
    """GSEA's ranking from a table (``stat``, ``log2fc``, ``pvalue`` of :class:`DETable`) and the words
    for it. ``kind``: the statistic the table has (Wald, t, F, LR, test_stat, configured; "" = none)."""
    lfc = frame["log2fc"].astype(float)
    sign = np.sign(lfc).replace(0, 1.0)
    stat = frame["stat"].astype(float)
    if kind and stat.notna().any():
        never_negative = bool((stat.dropna() >= 0).all()) and bool((lfc.dropna() < 0).any())
        if kind in ("F", "LR") or never_negative:
            why = "" if kind in ("F", "LR") else " (it is never negative: a test of any change, without direction)"
            return sign * np.sqrt(stat.clip(lower=0)), f"sign(log2FC) x sqrt({kind} statistic){why}"
        words = {"Wald": "the Wald statistic (DESeq2 stat)", "t": "the moderated t statistic (limma t)"}
        return stat, words.get(kind, f"the table's statistic ({kind})")
    p = frame["pvalue"].astype(float).clip(lower=P_FLOOR)
    return sign * -np.log10(p), f"sign(log2FC) x -log10(p) (the table has no test statistic; p floored at {P_FLOOR:g})"


def significant_only(frame: pd.DataFrame) -> str:
    """Why the table lists significant genes only ("" when it looks genome-wide)."""
    tested = frame["pvalue"].notna()
    n = int(tested.sum())
    padj = frame["padj"].dropna()
    if len(padj) and float(padj.max()) < SIGNIFICANT_ONLY_MAX_PADJ:
        return f"every adjusted p-value is below {SIGNIFICANT_ONLY_MAX_PADJ} (largest {float(padj.max()):.3g})"
    if n < MIN_ROWS:
        return f"only {n} gene(s) have a p-value (a genome-wide table has thousands; fewer than {MIN_ROWS})"
    return ""


def build(
    table: DETable,
    annotation: _annotation.Annotation,
    *,
    id_type: str = "auto",
    background: str | list[str] | None = None,
    background_source: str = "",
    where: str = "",
) -> ImportedDE:
    """``de.tsv``, ``gene_ids.tsv`` and the record of a read DE table (see the module docs).
    ``background``: None, :data:`PROTEIN_CODING`, or the IDs of a gene list (``background_source``: its file)."""
    f = table.table
    mapping = _annotation.map_ids(list(f["map_id"]), annotation, id_type, where=where)
    symbols = mapping.table["symbol"].to_numpy()
    genes = mapping.table.copy()
    genes["gene_id"] = f["gene_id"].to_numpy()
    info: dict = {"de_table": table.summary(), "id_mapping": mapping.summary()}
    frame = f.copy()
    padj_source = f"the table's column {table.columns['padj']!r}" if "padj" in table.columns else ""
    if not padj_source:
        why = significant_only(frame)
        if why:
            raise InputError(
                f"{where}{table.where}: the table has no adjusted p-values and lists significant genes only ({why}): "
                "the adjusted p-values cannot be computed from it. Fix: give the complete table (every gene tested), "
                "or name its adjusted p-value column with `columns: {padj: NAME}`."
            )
        frame["padj"] = np.nan
        ok = frame["pvalue"].notna().to_numpy()
        frame.loc[ok, "padj"] = p_adjust_bh(frame.loc[ok, "pvalue"].to_numpy())
        padj_source = f"Benjamini-Hochberg over the table's {int(ok.sum())} p-values (it has no adjusted p-values)"
    info["padj"] = padj_source
    stat, ranking = ranking_statistic(frame, table.statistic)
    info["ranking"] = ranking
    de = pd.DataFrame(
        {
            "gene_id": frame["gene_id"].to_numpy(),
            "symbol": pd.array(symbols, dtype="string"),
            "baseMean": frame["base_mean"].to_numpy(dtype=float),
            "log2FoldChange": frame["log2fc"].to_numpy(dtype=float),
            "lfcSE": frame["lfc_se"].to_numpy(dtype=float),
            "stat": stat.to_numpy(dtype=float),
            "pvalue": frame["pvalue"].to_numpy(dtype=float),
            "padj": frame["padj"].to_numpy(dtype=float),
        }
    )
    if "mean_log2" in table.columns:
        de["mean_expression"] = frame["mean_log2"].to_numpy(dtype=float)
        info["mean_expression"] = f"{table.columns['mean_log2']} (log2 scale, from the table)"
    why = significant_only(frame)
    info["significant_only"] = why
    if why and background is None:
        raise InputError(
            f"{where}{table.where}: the table lists significant genes only ({why}), so it has no background: the "
            "genes that were tested and found unchanged are missing, and over-representation needs them. Fix: give "
            "the complete table (every gene tested), or set `background:` in the dataset's de_table entry to a file "
            "of the genes that were tested (one ID a line) or to `annotation_protein_coding` (every protein-coding "
            "gene of the annotation; this makes the p-values smaller than a background of the genes tested would)."
        )
    if background is not None:
        de, info["background"] = _with_background(de, frame, background, background_source, annotation, id_type, where)
        info["listed_max_padj"] = float(frame["padj"].max()) if why and frame["padj"].notna().any() else None
    order = np.lexsort(
        (
            de["gene_id"].to_numpy().astype(str),
            de["pvalue"].fillna(np.inf).to_numpy(),
            de["padj"].fillna(np.inf).to_numpy(),
        )
    )
    return ImportedDE(de.iloc[order].reset_index(drop=True), genes[["gene_id", "symbol", "mapped", "gene_type"]], info)


def _protein_coding_symbols(annotation: _annotation.Annotation) -> set[str]:
    return {
        s for s, t in annotation.symbol_to_type.items() if str(t).strip().lower().replace("_", "-") == "protein-coding"
    }


def _with_background(de, frame, background, source, annotation, id_type, where) -> tuple[pd.DataFrame, dict]:
    """``de`` with the background's genes that the table does not list (empty statistics, ``in_table`` no)."""
    if background == PROTEIN_CODING:
        if not annotation.has_gene_type:
            raise InputError(
                f"{where}background: {PROTEIN_CODING} needs an annotation with a gene type ({annotation.source} has "
                "none). Fix: use an NCBI gene_info annotation, or give a gene-list file as `background`."
            )
        symbols = _protein_coding_symbols(annotation)
        what = f"the {len(symbols)} protein-coding genes of the annotation ({annotation.source})"
    else:
        ids = [str(g).strip() for g in background if str(g).strip()]
        mapped = _annotation.map_ids(ids, annotation, id_type, where=f"{where}background {source}: ")
        symbols = {s for s in mapped.table["symbol"].dropna()}
        what = f"the {len(symbols)} genes of {source}"
    listed = set(de["symbol"].dropna())
    extra = sorted(symbols - listed)
    outside = sorted(s for s in listed if s not in symbols and not pd.isna(s))
    de = de.copy()
    de["in_table"] = "yes"
    added = pd.DataFrame(
        {"gene_id": extra, "symbol": pd.array(extra, dtype="string"), "in_table": "no"},
        columns=list(de.columns),
    )
    for col in de.columns:
        if col not in ("gene_id", "symbol", "in_table"):
            added[col] = np.nan
    de = pd.concat([de, added], ignore_index=True)
    info = {
        "given": str(background) if background == PROTEIN_CODING else source,
        "genes": len(symbols),
        "added": len(extra),
        "listed_outside": len(outside),
        "note": (
            f"ORA background: {what} (`background`), not the genes the authors tested, which the table does not "
            f"list: {len(extra)} genes it does not list are counted as tested and not DE. A background larger than "
            "the genes tested makes the over-representation p-values smaller (more significant) than the authors' "
            "own test would; read them as a lower bound"
        ),
    }
    if outside:
        info["note"] += (
            f"; {len(outside)} listed gene(s) outside that background are kept in it (e.g. {preview(outside, 3)})"
        )
    log.info("%s%s", where, info["note"])
    return de, info


def summary(imported: ImportedDE, dataset: str, alpha: float) -> dict:
    """``de_summary.json`` of a table dataset: what the table tests, in the counts path's keys."""
    de = imported.de
    listed = de[de["in_table"] != "no"] if "in_table" in de.columns else de
    sig = listed[listed["padj"] < alpha]
    t = imported.info["de_table"]
    return {
        "dataset": dataset,
        "source": "de_table",
        "design": f"from the table ({t['layout']})",
        "contrast": [],
        "genes_in": int(len(listed)),
        "genes_tested": int(listed["padj"].notna().sum()),
        "significant": int(len(sig)),
        "up": int((sig["log2FoldChange"] > 0).sum()),
        "down": int((sig["log2FoldChange"] < 0).sum()),
        "ranking": imported.info["ranking"],
        "padj": imported.info["padj"],
    }


def background_ids(text: str) -> list[str]:
    """Gene IDs of a background file: the first field of each line (tab, comma or space), header and
    comment lines skipped."""
    out = []
    for line in text.splitlines():
        field_ = re.split(r"[\t, ;]", line.strip(), maxsplit=1)[0].strip().strip('"')
        if field_ and not field_.startswith("#"):
            out.append(field_)
    if out and out[0].lower() in ("gene", "gene_id", "geneid", "symbol", "id", "ensembl", "genes"):
        out = out[1:]
    return out
