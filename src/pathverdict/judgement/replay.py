"""The workflow's verdict on a count matrix held in memory: DE, every enrichment method and the
verdict's rule, as the ``deseq2``, ``enrichment`` and ``verdict`` steps make them from files.

Used where the analysis is re-run many times on simulated studies (the per-dataset calibration,
:mod:`pathverdict.judgement.dataset_calibration`, and ``benchmarks/calibration.py``):

* DE: :func:`pathverdict.de.run_deseq2` with the dataset's design and contrast (no LFC shrinkage:
  no enrichment uses it), genes fitted in blocks;
* ORA of up, down and all DE genes (:func:`pathverdict.enrichment.ora`, the workflow's thresholds
  and size limits); pre-ranked GSEA on the Wald statistic (a ``gsea`` callable: the workflow's
  gseapy run, or :func:`pathverdict.enrichment.gsea_fast.gsea` -- see there); CAMERA on the VST
  of the genes GSEA ranks, with the design and contrast of the DE step
  (:func:`pathverdict.enrichment.camera.camera`);
* the verdict: :func:`pathverdict.judgement.verdict.judge_dataset` with the workflow's settings.

Besides the verdict rows, :func:`replay` returns the pathways ranked at or above the target (and
the best one below it) per method, so other definitions of "on top" can be measured on the same
simulations (benchmarks/README.md, *Another definition of "on top"?*).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import de, enrichment
from ..genesets import GeneSetLibrary
from . import verdict

GseaRunner = Callable[[pd.Series, GeneSetLibrary, str], pd.DataFrame]
# pathways kept per method for the comparison of rules: those ranked at or above the target, at most this many
MAX_COMPETITORS = 25


@dataclasses.dataclass
class ReplaySettings:
    """What the workflow's steps are given: the primary library (name and prepared library), the
    target's name in it, the verdict settings, the ``enrichment`` config section and the methods
    to judge (any of :data:`pathverdict.judgement.verdict.METHODS`)."""

    library_name: str
    library: GeneSetLibrary
    term: str
    settings: verdict.VerdictSettings
    enrichment: Mapping
    methods: Sequence[str] = verdict.METHODS
    gsea: GseaRunner | None = None  # ranking, library, library name -> GSEA table (GSEA_COLUMNS)


def gene_table(result: de.DEResult, symbols: pd.Series) -> pd.DataFrame:
    """The DE results as ``de.tsv`` holds them: gene_id, symbol and the DESeq2 columns."""
    res = result.results.copy()
    res.insert(0, "symbol", symbols.reindex(res.index.astype(str)).astype("string").to_numpy())
    return res.reset_index()


def _competitors(table: pd.DataFrame, term: str, genes_col: str, fdr_col: str) -> list[dict]:
    """Pathways ranked at or above the target and the best one below it (for the comparison of rules)."""
    if table is None or not len(table):
        return []
    hit = table.index[table["term"] == term]
    upto = int(hit[0]) + 2 if len(hit) else 2
    rows = table.iloc[: min(upto, MAX_COMPETITORS)]
    out = []
    for r in rows.itertuples(index=False):
        r = r._asdict()
        out.append(
            {
                "term": r["term"],
                "rank": int(r["rank"]),
                "pvalue": float(r["pvalue"]),
                "fdr": float(r[fdr_col]),
                "score": float(r["nes"]) if "nes" in r else (float(r["mean_z"]) if "mean_z" in r else np.nan),
                "genes": str(r.get(genes_col, "") or ""),
            }
        )
    return out


def replay(
    counts: pd.DataFrame,
    sheet: pd.DataFrame,
    de_params: de.DEParams,
    symbols: pd.Series,
    rs: ReplaySettings,
    *,
    dataset: str = "simulated",
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """The verdict rows (:data:`verdict.VERDICT_COLUMNS`) of ``counts`` (genes x samples, gene IDs)
    and ``sheet`` (indexed by sample); per method the pathways ranked at or above the target
    (``{method: [{term, rank, pvalue, fdr, score, genes}, ...]}``); and the DE table (as ``de.tsv``)."""
    result = de.run_deseq2(counts, sheet, de_params)
    table = gene_table(result, symbols)
    genes = enrichment.collapse_to_symbols(table)
    e = rs.enrichment
    lib = rs.library
    lists, background = enrichment.de_gene_lists(genes, e["padj"], e["lfc"])
    tabs: dict[str, pd.DataFrame] = {}
    sizes: dict[str, int] = {}
    details: dict[str, list[dict]] = {}
    for method in rs.methods:
        if method.startswith("ora_"):
            query = lists[method.removeprefix("ora_")]
            t = enrichment.ora(
                query, background, lib.sets, rs.library_name, lib.ids, e["ora_min_size"], e["ora_max_size"]
            )
            tabs[method], sizes[method] = t, len(query)
            details[method] = _competitors(t, rs.term, "overlap_genes", "padj")
    ranked = genes[genes["stat"].notna()]
    if "gsea" in rs.methods:
        if rs.gsea is None:
            raise ValueError("replay: the gsea method needs a GSEA runner (ReplaySettings.gsea)")
        t = rs.gsea(ranked.set_index("symbol")["stat"].astype(float), lib, rs.library_name)
        tabs["gsea"] = t
        details["gsea"] = _competitors(t, rs.term, "leading_edge", "fdr")
    if "camera" in rs.methods:
        from ..enrichment import camera

        kept = result.counts.loc[ranked["gene_id"].to_numpy()]
        y = result._vst(kept)
        y.index = pd.Index(ranked["symbol"].astype(str).to_numpy(), name="symbol")
        design, contrast, _ = camera.design_and_contrast(
            sheet.loc[list(result.counts.columns)], de_params.design, list(de_params.contrast)
        )
        t = camera.camera(
            y,
            design,
            contrast,
            lib.sets,
            rs.library_name,
            lib.ids,
            e["gsea_min_size"],
            e["gsea_max_size"],
            inter_gene_cor=e.get("camera_inter_gene_cor"),
        )
        tabs["camera"] = t
        details["camera"] = _competitors(t, rs.term, "", "fdr")
    rows = verdict.judge_dataset(dataset, rs.library_name, rs.term, lib.ids.get(rs.term), tabs, sizes, rs.settings)
    return rows, details, table
