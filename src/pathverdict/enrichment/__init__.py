"""KEGG enrichment: over-representation (hypergeometric, scipy) and pre-ranked GSEA (gseapy).

* Gene level: DE rows are collapsed to one row per symbol (the row with the smallest
  padj, then smallest p-value, then largest baseMean, then gene ID), so a symbol is
  never counted twice.
* ORA background (universe) = the symbols tested by DESeq2 with a non-missing padj,
  i.e. the genes that could have been called DE (for a published table of significant genes
  only, the ``background`` given with it: :func:`de_gene_lists`). Gene sets are reduced to that
  universe before size filtering. Every set within the size limits (a "usable" set)
  gets a p-value -- a set with no DE gene has p = 1 -- and Benjamini-Hochberg is
  applied over all usable sets. (Enrichr and ``gseapy.enrich`` test only the sets with
  at least one DE gene and adjust over those, so a single hit in a single set gets
  FDR = p; the number of hypotheses is the number of pathways that could have been
  found, not the number that happened to be hit.) The hypergeometric upper tail is
  computed here as ``scipy.stats.hypergeom.sf`` computes it (the same formula gseapy uses,
  P(X >= overlap); :func:`hypergeom_sf`, without importing scipy.stats), as is the odds ratio
  with gseapy's Haldane-Anscombe correction.
* GSEA ranks genes by the Wald statistic (``stat``); permutations use a fixed seed.
  Pathways are ranked by |NES| (largest first), not by the permutation p-value: with
  ``permutations`` gene-set permutations the nominal p and the FDR cannot go below about
  1/permutations, so every strong pathway ties at "0" and an order by p (or FDR) among them
  is decided by permutation noise and changes with the permutation count. NES does not
  saturate. A nominal p (or FDR) of 0 from gseapy means that no permutation reached the
  observed score: it is stored as the bound 1/permutations with ``p_bound`` (``fdr_bound``)
  True, to be read as "p < 1/permutations" (GSEA's own reading of a reported p of 0).
* gseapy is only ever given in-memory gene sets, so it never touches the network.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

ORA_COLUMNS = [
    "library",
    "term",
    "term_id",
    "rank",
    "pvalue",
    "padj",
    "odds_ratio",
    "overlap_size",
    "set_size",
    "query_size",
    "background_size",
    "overlap_genes",
]
GSEA_COLUMNS = [
    "library",
    "term",
    "term_id",
    "rank",
    "es",
    "nes",
    "pvalue",
    "fdr",
    "fwer",
    "set_size",
    "leading_edge",
    "p_bound",
    "fdr_bound",
]
DIRECTIONS = ("up", "down", "all")


def collapse_to_symbols(de: pd.DataFrame) -> pd.DataFrame:
    """One row per symbol (see module docs); rows without a symbol are dropped."""
    if (
        all(str(de[c].dtype) == "float64" for c in ("padj", "pvalue", "baseMean"))
        and pd.api.types.infer_dtype(de["gene_id"], skipna=False) == "string"
        and not {"_padj", "_p"} & set(de.columns)
    ):
        return _collapse_sorted(de)
    return _collapse_with_pandas(de)


def _collapse_with_pandas(de: pd.DataFrame) -> pd.DataFrame:
    """:func:`collapse_to_symbols` for any DE table: pandas' stable sort of a copy with helper columns."""
    d = de[de["symbol"].notna() & (de["symbol"].astype(str) != "")].copy()
    d["_padj"] = d["padj"].fillna(np.inf)
    d["_p"] = d["pvalue"].fillna(np.inf)
    d = d.sort_values(["_padj", "_p", "baseMean", "gene_id"], ascending=[True, True, False, True], kind="mergesort")
    d = d.drop_duplicates("symbol", keep="first").drop(columns=["_padj", "_p"])
    return d.set_index("symbol", drop=False)


def _collapse_sorted(de: pd.DataFrame) -> pd.DataFrame:
    """:func:`collapse_to_symbols` for a DE table with float columns and text gene IDs (the usual case), by one
    ``np.lexsort`` instead of pandas' sort of a copy with helper columns: the same stable order
    (padj, p-value, missing last; baseMean descending; gene ID), the same first row per symbol, the
    same frame (tests/test_enrichment.py compares the two)."""
    sym = de["symbol"]
    pos = np.flatnonzero((sym.notna() & (sym.astype(str) != "")).to_numpy())
    padj = de["padj"].to_numpy()[pos]
    pval = de["pvalue"].to_numpy()[pos]
    order = np.lexsort(
        (
            de["gene_id"].to_numpy()[pos].astype(str),
            -de["baseMean"].to_numpy()[pos],
            np.where(np.isnan(pval), np.inf, pval),
            np.where(np.isnan(padj), np.inf, padj),
        )
    )
    rows = pos[order]
    first = ~pd.Index(sym.to_numpy()[rows]).duplicated(keep="first")
    return de.iloc[rows[first]].set_index("symbol", drop=False)


def de_gene_lists(genes: pd.DataFrame, padj: float, lfc: float) -> tuple[dict[str, list[str]], list[str]]:
    """DE symbols per direction and the background, from a symbol-collapsed DE table. The background
    is the symbols with a padj, and, for a published table of significant genes with a given
    background (column ``in_table``, :mod:`pathverdict.de.imported`), the background's genes it does
    not list (not DE)."""
    tested_mask = genes["padj"].notna()
    if "in_table" in genes.columns:
        tested_mask |= genes["in_table"].astype(str) == "no"
    tested = genes[tested_mask]
    sig = tested[(tested["padj"] < padj) & (tested["log2FoldChange"].abs() >= lfc)]
    lists = {
        "up": sorted(sig.index[sig["log2FoldChange"] > 0]),
        "down": sorted(sig.index[sig["log2FoldChange"] < 0]),
        "all": sorted(sig.index),
    }
    return lists, sorted(tested.index)


def restrict_sets(sets: dict[str, list[str]], universe: set[str], min_size: int, max_size: int) -> dict[str, list[str]]:
    """Gene sets reduced to ``universe``, keeping those with min_size..max_size genes."""
    out = {}
    for term, genes in sets.items():
        kept = [g for g in genes if g in universe]
        if min_size <= len(kept) <= max_size:
            out[term] = kept
    return out


def competition_rank(keys: pd.DataFrame) -> np.ndarray:
    """1-based "1224" ranks of rows already sorted by ``keys`` (ties share the best rank)."""
    ranks = np.arange(1, len(keys) + 1)
    if len(keys) == 0:
        return ranks
    same = (keys.shift(1) == keys).all(axis=1).to_numpy()
    for i in range(1, len(ranks)):
        if same[i]:
            ranks[i] = ranks[i - 1]
    return ranks


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (as R ``p.adjust(method = "BH")``)."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p, kind="mergesort")
    scaled = p[order] * n / np.arange(1, n + 1)
    adj = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adj, 1.0)
    return out


def hypergeom_sf(k, M, n, N) -> np.ndarray:
    """``scipy.stats.hypergeom.sf(k, M, n, N)`` (P(X > k), population M, n successes, N draws), the
    same numbers bit for bit without importing scipy.stats (~0.5 s per job): scipy's own
    ``_hypergeom_sf`` ufunc on the support, 1 below it, 0 above, as ``rv_discrete.sf`` does
    (tests/test_enrichment.py compares the two). Parameters it does not handle (M <= 0, n or N out
    of 0..M, non-integers) go to scipy.stats."""
    k, M, n, N = np.broadcast_arrays(*(np.asarray(v) for v in (k, M, n, N)))
    integral = all(v.dtype.kind in "iu" for v in (k, M, n, N))
    try:
        from scipy.special._ufuncs import _hypergeom_sf
    except ImportError:  # a scipy that lays it out differently
        integral = False
    if not integral or not np.all((M > 0) & (n >= 0) & (N >= 0) & (n <= M) & (N <= M)):
        from scipy.stats import hypergeom

        return np.asarray(hypergeom.sf(k, M, n, N), dtype=float)
    low, high = np.maximum(N - (M - n), 0), np.minimum(n, N)
    out = np.zeros(k.shape)
    out[k < low] = 1.0
    inside = (k >= low) & (k < high)
    if inside.any():
        out[inside] = np.clip(_hypergeom_sf(k[inside], n[inside], N[inside], M[inside]), 0, 1)
    return out


def ora(
    query: list[str],
    background: list[str],
    sets: dict[str, list[str]],
    library: str,
    ids: dict[str, str | None] | None = None,
    min_size: int = 10,
    max_size: int = 500,
) -> pd.DataFrame:
    """Hypergeometric over-representation of ``query`` in ``sets`` against ``background``.

    Every usable set (``min_size`` <= genes in the background <= ``max_size``) is
    tested, also those without a DE gene (p = 1, ``overlap_size`` 0), and ``padj`` is
    Benjamini-Hochberg over all of them. p = P(X >= overlap) for X hypergeometric
    (background size, set size, query size), by ``scipy.stats.hypergeom.sf``'s formula
    (:func:`hypergeom_sf`). Rows are
    sorted by p-value (then term); ``rank`` ties share the best rank. An empty query
    (no DE gene) gives an empty table: nothing can be tested.
    """
    ids = ids or {}
    universe = set(background)
    query_set = set(query) & universe
    usable = restrict_sets(sets, universe, min_size, max_size)
    if not query_set or not usable:
        return pd.DataFrame(columns=ORA_COLUMNS)
    n_bg, n_q = len(universe), len(query_set)
    terms = sorted(usable)
    hits = [sorted(query_set.intersection(usable[t])) for t in terms]
    k = np.array([len(h) for h in hits])
    m = np.array([len(usable[t]) for t in terms])
    p = np.where(k > 0, hypergeom_sf(k - 1, n_bg, m, n_q), 1.0)
    p = np.clip(p, 0.0, 1.0)
    bu = 0.5  # gseapy's Haldane-Anscombe correction of the odds ratio
    odds = ((k + bu) * (n_bg - m - n_q + k + bu)) / ((m - k + bu) * (n_q - k + bu))
    out = pd.DataFrame(
        {
            "library": library,
            "term": terms,
            "term_id": [ids.get(t) or "" for t in terms],
            "pvalue": p,
            "padj": bh_adjust(p),
            "odds_ratio": odds,
            "overlap_size": k,
            "set_size": m,
            "query_size": n_q,
            "background_size": n_bg,
            "overlap_genes": [";".join(h) for h in hits],
        }
    )
    out = out.sort_values(["pvalue", "term"], kind="mergesort").reset_index(drop=True)
    out.insert(3, "rank", competition_rank(out[["pvalue"]]))
    return out[ORA_COLUMNS]


@dataclasses.dataclass(frozen=True)
class GseaSettings:
    """Pre-ranked GSEA as the workflow's ``gsea`` step runs it (config ``enrichment``:
    ``gsea_min_size``, ``gsea_max_size``, ``gsea_permutations``, ``seed``), also for the null and
    the sensitivity re-run."""

    min_size: int = 15
    max_size: int = 500
    permutations: int = 1000
    seed: int = 42
    threads: int = 1

    @classmethod
    def from_config(cls, enrichment: Mapping, threads: int = 1) -> GseaSettings:
        e = enrichment
        return cls(e["gsea_min_size"], e["gsea_max_size"], e["gsea_permutations"], e["seed"], threads)

    def run(self, ranking: pd.Series, lib, lib_name: str) -> pd.DataFrame:
        """:func:`gsea` of ``ranking`` against the prepared library ``lib`` (a ``GeneSetLibrary``)."""
        return gsea(
            ranking,
            lib.sets,
            lib_name,
            lib.ids,
            self.min_size,
            self.max_size,
            self.permutations,
            self.seed,
            self.threads,
        )


def prerank_input(
    ranking: pd.Series, sets: dict[str, list[str]], min_size: int, max_size: int
) -> tuple[pd.DataFrame | None, dict[str, list[str]]]:
    """The ranked list pre-ranked GSEA is given (columns gene, score: missing values and repeated genes
    dropped, sorted by score then name so that ties are broken deterministically) and the gene sets
    reduced to its genes within the size limits; ``(None, {})`` when there is nothing to test."""
    ranking = ranking.dropna()
    ranking = ranking[~ranking.index.duplicated()]
    usable = restrict_sets(sets, set(ranking.index), min_size, max_size)
    if len(ranking) < 2 or not usable:
        return None, {}
    rnk = pd.DataFrame({"gene": ranking.index, "score": ranking.to_numpy(dtype=float)})
    return rnk.sort_values(["score", "gene"], ascending=[False, True], kind="mergesort"), usable


def gsea(
    ranking: pd.Series,
    sets: dict[str, list[str]],
    library: str,
    ids: dict[str, str | None] | None = None,
    min_size: int = 15,
    max_size: int = 500,
    permutations: int = 1000,
    seed: int = 42,
    threads: int = 1,
) -> pd.DataFrame:
    """Pre-ranked GSEA (gseapy.prerank) of ``ranking`` (symbol -> Wald statistic).

    Rows are sorted by |NES| (descending), then term; ``rank`` is the competition rank of
    |NES| (ties share the best rank). ``pvalue``/``fdr`` of 0 (no permutation as extreme)
    are replaced by the bound 1/permutations and flagged in ``p_bound``/``fdr_bound``.
    """
    import gseapy

    ids = ids or {}
    rnk, usable = prerank_input(ranking, sets, min_size, max_size)
    if rnk is None:
        return pd.DataFrame(columns=GSEA_COLUMNS)
    res = gseapy.prerank(
        rnk=rnk,
        gene_sets=usable,
        outdir=None,
        min_size=min_size,
        max_size=max_size,
        permutation_num=permutations,
        seed=seed,
        threads=threads,
        no_plot=True,
        verbose=False,
    ).res2d
    if res is None or len(res) == 0:
        return pd.DataFrame(columns=GSEA_COLUMNS)
    out = pd.DataFrame(
        {
            "library": library,
            "term": res["Term"].astype(str).to_numpy(),
            "term_id": [ids.get(t) or "" for t in res["Term"]],
            "es": res["ES"].to_numpy(dtype=float),
            "nes": res["NES"].to_numpy(dtype=float),
            "pvalue": res["NOM p-val"].to_numpy(dtype=float),
            "fdr": res["FDR q-val"].to_numpy(dtype=float),
            "fwer": res["FWER p-val"].to_numpy(dtype=float),
            "set_size": [len(usable[t]) for t in res["Term"]],
            "leading_edge": [
                ";".join(sorted(str(g).split(";"))) if isinstance(g, str) else "" for g in res["Lead_genes"]
            ],
        }
    )
    return rank_gsea(out, permutations)


def rank_gsea(table: pd.DataFrame, permutations: int) -> pd.DataFrame:
    """Bounds for saturated p/FDR and the |NES| ranking of a GSEA table (see module docs).

    ``table`` has the GSEA_COLUMNS except ``rank``, ``p_bound`` and ``fdr_bound``, with
    gseapy's nominal p and FDR (0 where no permutation reached the observed score).
    """
    out = table.copy()
    bound = 1.0 / permutations
    out["p_bound"] = out["pvalue"].eq(0).to_numpy()
    out["fdr_bound"] = out["fdr"].eq(0).to_numpy()
    out.loc[out["p_bound"], "pvalue"] = bound
    out.loc[out["fdr_bound"], "fdr"] = bound
    out["_absnes"] = out["nes"].abs().fillna(-1.0)  # a missing NES sorts last
    out = out.sort_values(["_absnes", "term"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    out.insert(3, "rank", competition_rank(out[["_absnes"]]))
    return out.drop(columns="_absnes")[GSEA_COLUMNS]
