"""Pre-ranked GSEA for the simulations of the calibration: gseapy's algorithm, vectorised.

``gseapy.prerank`` (what the workflow's GSEA step runs) costs about 12 CPU seconds on 10,000 ranked
genes and KEGG with 1,000 permutations: it evaluates every pathway on every permuted gene order by a
pass over all genes. The per-dataset calibration runs the verdict on hundreds of simulated studies,
so it uses this implementation of the same statistics (GSEA, Subramanian et al. 2005, as gseapy 1.3
computes them for ``prerank``), which needs ~0.1-0.2 s:

* the ranking: genes sorted by the statistic (descending; ties by name, as
  :func:`pathverdict.enrichment.gsea` gives them to gseapy), weights ``|r|`` (gseapy's weight 1, the
  workflow's);
* pathways reduced to the ranked genes and kept with ``min_size``..``max_size`` genes (as gseapy's
  ``load_gmt`` and :func:`pathverdict.enrichment.restrict_sets`);
* the enrichment score: the running sum (hits step up by their weight over the hits' total weight,
  misses step down by ``1 / (N - k)``), ES = its maximum when ``|max| > |min|``, else its minimum --
  evaluated at the hits only, where the extremes lie (the maximum right after a hit, the minimum
  right before one), which gives gseapy's ES to floating-point precision (tests/test_gsea_fast.py);
* the null: ``permutations`` gene-set permutations -- random sets of the pathway's size drawn from
  the ranking, which is what gseapy's ``prerank`` permutes -- but drawn once per *set size*, shared
  by the pathways of that size (their null distributions are the same distribution; gseapy draws
  for each pathway separately). Seeded by ``seed``;
* NES = ES / mean of the null ES of the same sign; nominal p = share of null ES at least as
  extreme, on the side of the observed sign; FDR = gseapy's: the share of all pathways' normalised
  null scores beyond the NES over the share of observed NES beyond it, each within the sign
  (``gseapy.algorithm.gsea_fdr``; a pathway's null counted once per pathway of its size);
* FWER is not computed (NaN): the verdict does not use it, and shared draws would change it.

Rows, ranking by |NES|, p/FDR bounds: :func:`pathverdict.enrichment.rank_gsea`, as for gseapy's table.
What differs from gseapy is only which random sets are drawn (gseapy's own generator cannot be
reproduced): NES, p and FDR agree within the Monte-Carlo error of the permutations, the ES and the
leading edge exactly; tests/test_gsea_fast.py compares the two on real data.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from . import GSEA_COLUMNS, GseaSettings, prerank_input, rank_gsea


@dataclasses.dataclass(frozen=True)
class GseaFast(GseaSettings):
    """The workflow's GSEA settings (:class:`pathverdict.enrichment.GseaSettings`: config ``enrichment``
    sizes, permutations, seed), run by :func:`gsea` instead of gseapy (threads are not used)."""

    def run(self, ranking: pd.Series, lib, lib_name: str) -> pd.DataFrame:
        """:func:`gsea` of ``ranking`` against a prepared library (``GeneSetLibrary``)."""
        return gsea(ranking, lib.sets, lib_name, lib.ids, self)


def _scores(pos: np.ndarray, w: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """ES of sets given their hits' sorted 0-based positions (rows of ``pos``) and the ranking's
    weights ``w`` (``n`` genes); also the index of the hit where the ES is reached (the leading edge
    ends there: positive ES), or of the first hit after it (negative ES)."""
    k = pos.shape[1]
    hw = w[pos]
    total = hw.sum(axis=1, keepdims=True)
    total = np.where(total > 0, total, 1.0)
    h = np.cumsum(hw, axis=1) / total
    j = np.arange(1, k + 1)
    miss = 1.0 / (n - k)
    after = h - (pos + 1 - j) * miss  # the running sum at each hit
    before = (h - hw / total) - (pos - j + 1) * miss  # the running sum just before each hit
    i_max = after.argmax(axis=1)
    i_min = before.argmin(axis=1)
    rows = np.arange(len(pos))
    top = after[rows, i_max]
    low = before[rows, i_min]
    # the running sum at the first gene when it is a miss, and 0 at the end (every step taken)
    top = np.where((pos[:, 0] > 0) & (top < -miss), -miss, top)
    low = np.minimum(low, 0.0)
    neg = ~(np.abs(top) > np.abs(low))
    return np.where(neg, low, top), np.where(neg, i_min, i_max)


def gsea(
    ranking: pd.Series,
    sets: dict[str, list[str]],
    library: str,
    ids: dict[str, str | None] | None = None,
    settings: GseaFast | None = None,
) -> pd.DataFrame:
    """Pre-ranked GSEA of ``ranking`` (symbol -> statistic) with gseapy's statistics (module docs) and
    the workflow's ``settings`` (sizes, permutations, seed); the table of
    :func:`pathverdict.enrichment.gsea` (:data:`GSEA_COLUMNS`, ``fwer`` NaN)."""
    cfg = settings or GseaFast()
    ids = ids or {}
    rnk, usable = prerank_input(ranking, sets, cfg.min_size, cfg.max_size)
    if rnk is None:
        return pd.DataFrame(columns=GSEA_COLUMNS)
    genes = rnk["gene"].astype(str).to_numpy()
    n = len(genes)
    w = np.abs(rnk["score"].to_numpy())  # gseapy's weight 1 (the workflow's): |statistic|
    where = {g: i for i, g in enumerate(genes)}
    terms = sorted(usable)
    positions = {t: np.sort(np.fromiter((where[g] for g in usable[t]), dtype=np.int64)) for t in terms}
    size = np.array([len(positions[t]) for t in terms])
    es = np.empty(len(terms))
    edge: list[str] = []
    for i, t in enumerate(terms):
        p = positions[t][None, :]
        s, at = _scores(p, w, n)
        es[i] = s[0]
        lead = p[0, : at[0] + 1] if s[0] >= 0 else p[0, at[0] :]
        edge.append(";".join(sorted(genes[lead])))
    # the null: each pathway's `permutations` random sets of its size, windows of seeded random orders of the
    # ranking (pathways in one pass over the genes get disjoint windows, as gseapy's shuffled gene labels give
    # pathways without shared genes disjoint positions)
    null = _null(n, size, cfg.permutations, cfg.seed, w.astype(np.float32))
    nes = np.empty(len(terms))
    pval = np.empty(len(terms))
    pos_mean = np.empty(len(terms))
    neg_mean = np.empty(len(terms))
    for i, v in enumerate(null):
        up, down = v[v >= 0], v[v < 0]
        pos_mean[i] = up.mean() if len(up) else np.nan
        neg_mean[i] = -down.mean() if len(down) else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            if es[i] >= 0:
                nes[i] = es[i] / pos_mean[i]
                pval[i] = (v >= es[i]).sum() / len(up)
            else:
                nes[i] = es[i] / neg_mean[i]
                pval[i] = (v < es[i]).sum() / len(down)
    fdr = _fdr(nes, null, pos_mean, neg_mean)
    out = pd.DataFrame(
        {
            "library": library,
            "term": terms,
            "term_id": [ids.get(t) or "" for t in terms],
            "es": es,
            "nes": nes,
            "pvalue": pval,
            "fdr": fdr,
            "fwer": np.nan,
            "set_size": size,
            "leading_edge": edge,
        }
    )
    return rank_gsea(out, cfg.permutations)


def _null_scores(pos: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """:func:`_scores` of the null's many random sets, without the leading edge, in fewer passes over the
    arrays and in single precision (``w`` float32: the running sums differ from double precision by about
    1e-7, far below the permutations' own noise of about 1/sqrt(permutations); the observed ES, NES
    and leading edges are computed in double precision by :func:`_scores`)."""
    k = pos.shape[1]
    miss = np.float32(1.0 / (n - k))
    hw = w[pos]
    total = hw.sum(axis=1, keepdims=True)
    total[total <= 0] = 1.0
    np.divide(hw, total, out=hw)
    run = np.cumsum(hw, axis=1)
    # the running sum at each hit: h_j - (misses before it) / (n - k), misses = pos_j - (j - 1)
    run += (np.arange(k, dtype=np.int32) - pos).astype(np.float32) * miss
    top = run.max(axis=1)
    run -= hw  # just before each hit
    low = np.minimum(run.min(axis=1), 0.0)
    top = np.where((pos[:, 0] > 0) & (top < -miss), -miss, top)
    return np.where(np.abs(top) > np.abs(low), top, low)


def _null(n: int, size: np.ndarray, permutations: int, seed: int, w: np.ndarray) -> list[np.ndarray]:
    """Null ES of every pathway (its size in ``size``): ``permutations`` random sets each."""
    rng = np.random.default_rng(seed)
    dtype = np.uint16 if n <= 2**16 else np.int32  # positions: a small type sorts and gathers faster
    start = np.zeros(len(size), dtype=int)
    offset = 0
    for i, k in enumerate(size):
        if offset + k > n:
            offset = 0
        start[i] = offset
        offset += k
    out = [np.empty(permutations) for _ in size]
    chunk = max(1, 4_000_000 // n)  # random orders held at once
    for lo in range(0, permutations, chunk):
        m = min(chunk, permutations - lo)
        orders = np.stack([rng.permutation(n).astype(dtype) for _ in range(m)])
        for i, k in enumerate(size):
            out[i][lo : lo + m] = _null_scores(np.sort(orders[:, start[i] : start[i] + k], axis=1), w, n)
    return out


def _fdr(nes: np.ndarray, null: list, pos_mean: np.ndarray, neg_mean: np.ndarray) -> np.ndarray:
    """gseapy's FDR (``gsea_fdr``): every pathway's normalised null scores pooled against the observed
    NES, within the sign."""
    vals = np.concatenate([np.where(v >= 0, v / pos_mean[i], v / neg_mean[i]) for i, v in enumerate(null)])
    vals = np.sort(vals)
    total = len(vals)
    obs = np.sort(nes)
    m = len(obs)
    out = np.empty(len(nes))
    for i, x in enumerate(nes):
        if np.isnan(x):
            out[i] = np.nan
            continue
        if x >= 0:
            all_pos = total - np.searchsorted(vals, 0.0, side="left")
            all_higher = total - np.searchsorted(vals, x, side="left")
            obs_pos = m - np.searchsorted(obs, 0.0, side="left")
            obs_higher = m - np.searchsorted(obs, x, side="left")
        else:
            all_pos = np.searchsorted(vals, 0.0, side="left")
            all_higher = np.searchsorted(vals, x, side="right")
            obs_pos = np.searchsorted(obs, 0.0, side="left")
            obs_higher = np.searchsorted(obs, x, side="right")
        with np.errstate(divide="ignore", invalid="ignore"):
            f = (all_higher / all_pos) / (obs_higher / obs_pos)
        out[i] = min(f, 1.0) if np.isfinite(f) else 1.0
    return out
