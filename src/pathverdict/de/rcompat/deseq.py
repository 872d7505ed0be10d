"""``DESeq(dds)`` with default arguments: :func:`fit_deseq` -> :class:`DESeqFit`.

Size factors (median of ratios, ``poscounts`` when every gene has a zero), base means and
variances, gene-wise dispersions, the trend and the prior, MAP dispersions, the NB GLM,
Cook's distances and, for cells with >= 7 replicates, ``replaceOutliers`` and
``refitWithoutOutliers`` -- in blocks of genes, optionally on several threads.
Source: DESeq2 1.38 (LGPL >= 3).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from .cooks import cooks_cutoff, cooks_distance, n_or_more_in_cell, record_max_cooks
from .dispersion import (
    MIN_DISP,
    DispersionTrend,
    _dispersion_start,
    dispersion_prior_var,
    fit_dispersion_trend,
    gene_dispersions,
    map_dispersions,
)
from .glm import MINMU, fit_nbinom_glms
from .rstats import _r_mad, trimmed_mean_rows

log = logging.getLogger(__name__)


def size_factors_ratio(counts: np.ndarray) -> np.ndarray:
    """``estimateSizeFactorsForMatrix(type="ratio")``: median of ratios to the geometric mean."""
    counts = np.asarray(counts, dtype=float)
    with np.errstate(divide="ignore"):
        logc = np.log(counts)
    loggeomeans = logc.mean(axis=1)
    finite = np.isfinite(loggeomeans)
    if not finite.any():
        raise ValueError("every gene contains at least one zero, cannot compute log geometric means")
    sf = np.empty(counts.shape[1])
    for j in range(counts.shape[1]):
        use = finite & (counts[:, j] > 0)
        sf[j] = math.exp(float(np.median(logc[use, j] - loggeomeans[use])))
    return sf


def size_factors_poscounts(counts: np.ndarray) -> np.ndarray:
    """``estimateSizeFactorsForMatrix(type="poscounts")`` (used when every gene has a zero)."""
    counts = np.asarray(counts, dtype=float)
    with np.errstate(divide="ignore"):
        lc = np.log(counts)
    lc[~np.isfinite(lc)] = 0.0
    loggeomeans = lc.mean(axis=1)
    loggeomeans[counts.sum(axis=1) == 0] = -np.inf
    finite = np.isfinite(loggeomeans)
    sf = np.empty(counts.shape[1])
    with np.errstate(divide="ignore"):
        logc = np.log(counts)
    for j in range(counts.shape[1]):
        use = finite & (counts[:, j] > 0)
        sf[j] = math.exp(float(np.median(logc[use, j] - loggeomeans[use])))
    return sf / math.exp(float(np.mean(np.log(sf))))


@dataclass
class DESeqFit:
    counts: np.ndarray  # original counts (G, n), the caller's array (not copied; any numeric dtype)
    X: np.ndarray
    size_factors: np.ndarray
    base_mean: np.ndarray  # after outlier replacement, as in mcols(dds)$baseMean
    base_var: np.ndarray
    all_zero: np.ndarray
    disp_gene_est: np.ndarray
    disp_fit: np.ndarray
    disp_map: np.ndarray
    dispersion: np.ndarray
    disp_outlier: np.ndarray
    trend: DispersionTrend
    var_log_disp_ests: float
    disp_prior_var: float
    beta: np.ndarray  # natural log (G, p); NaN for all-zero genes
    sigma: np.ndarray  # (G, p, p)
    converged: np.ndarray
    max_cooks: np.ndarray
    cooks_argmax: np.ndarray  # per gene: sample with the largest Cook's distance of the original fit (-1: none)
    replace: np.ndarray  # genes that had counts replaced (mcols(dds)$replace); all False without refit
    n_refit: int = 0
    # the counts the refit used, per refitted gene (R: assays(dds)[["replaceCounts"]] of those rows)
    replace_counts: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    block_genes: int = 0  # genes per block the per-gene steps were run in
    # per sample: genes whose Cook's distance (original fit) is above qf(.99, p, m - p), counted for the
    # samples of cells with >= 3 replicates, as DESeq2 considers them (NaN elsewhere); sample QC reads it
    cooks_outliers_per_sample: np.ndarray | None = None


# cells (genes x samples) per block of the per-gene steps: a block's float64 working arrays
# (a few dozen of them in the dispersion and GLM fits) then stay within ~200 MB
BLOCK_CELLS = 500_000


def default_block_genes(n_samples: int) -> int:
    return max(1, BLOCK_CELLS // max(1, n_samples))


def _blocks(G: int, size: int):
    for start in range(0, G, size):
        yield slice(start, min(G, start + size))


def _size_factors(counts: np.ndarray, block: int, notes: list) -> np.ndarray:
    """Median-of-ratios size factors (``poscounts`` when every gene has a zero), computed
    block by block: only per-gene log geometric means and one sample's column at a time
    are held as floats."""
    G, m = counts.shape
    lg_ratio = np.empty(G)
    lg_pos = np.empty(G)
    for s in _blocks(G, block):
        c = np.asarray(counts[s], dtype=float)
        with np.errstate(divide="ignore"):
            lc = np.log(c)
        lg_ratio[s] = lc.mean(axis=1)
        lc[~np.isfinite(lc)] = 0.0
        lg_pos[s] = lc.mean(axis=1)
        lg_pos[s][c.sum(axis=1) == 0] = -np.inf
    poscounts = not np.isfinite(lg_ratio).any()
    if poscounts:
        msg = "every gene contains at least one zero; using poscounts size factors (R's DESeq() would stop here)"
        log.warning(msg)
        notes.append(msg)
    loggeomeans = lg_pos if poscounts else lg_ratio
    finite = np.isfinite(loggeomeans)
    sf = np.empty(m)
    for j in range(m):
        col = np.asarray(counts[:, j], dtype=float)
        use = finite & (col > 0)
        sf[j] = math.exp(float(np.median(np.log(col[use]) - loggeomeans[use])))
    if poscounts:
        sf = sf / math.exp(float(np.mean(np.log(sf))))
    return sf


def _fit_genes(counts, X, sf, base_mean, base_var, trend, prior_var, var_log, minmu):
    """Per-gene part of DESeq() given the trend: gene-wise, MAP dispersions, GLM."""
    disp_gene, mu = gene_dispersions(counts, X, sf, base_mean, base_var, minmu=minmu)
    disp_fit = trend(base_mean)
    dispersion, disp_map, outlier = map_dispersions(counts, mu, X, disp_gene, disp_fit, prior_var, var_log)
    glm = fit_nbinom_glms(counts, X, sf, dispersion, minmu=minmu)
    return disp_gene, disp_fit, disp_map, dispersion, outlier, glm


def _each_block(fn, G: int, block: int, threads: int) -> list:
    """``fn(slice)`` for every block of genes, in order; on ``threads`` > 1 threads (numpy's
    and scipy's kernels release the GIL; every block writes only its own genes' entries)."""
    slices = list(_blocks(G, block))
    if threads <= 1 or len(slices) <= 1:
        return [fn(s) for s in slices]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(threads, len(slices))) as pool:
        return list(pool.map(fn, slices))


def fit_deseq(
    counts,
    X,
    min_replicates_for_replace: int = 7,
    minmu: float = MINMU,
    block_genes: int | None = None,
    threads: int = 1,
) -> DESeqFit:
    """``DESeq(dds)`` with default arguments, for a genes x samples integer matrix and a
    full-rank design matrix X (samples x coefficients).

    Genes are fitted in blocks of ``block_genes`` (default: about ``BLOCK_CELLS`` cells per
    block), on ``threads`` threads: every step is per gene except the dispersion trend and
    prior, which need only per-gene summaries, so only per-gene vectors are kept for the
    whole matrix, and the counts are read in the caller's dtype (keep them as compact
    integers). Two passes: (1) size factors, baseMean/baseVar and gene-wise dispersions; the
    trend and the prior from those; (2) MAP dispersions, the GLM, Cook's distances and the
    refit of genes with replaced outliers. Neither the block size nor the number of threads
    changes a number beyond floating-point noise (tests/test_blocks.py).
    """
    counts = np.asarray(counts)
    if counts.dtype.kind not in "iuf":
        counts = counts.astype(float)
    X = np.asarray(X, dtype=float)
    G, m = counts.shape
    p = X.shape[1]
    block = int(block_genes) if block_genes is not None else default_block_genes(m)
    if block < 1:
        raise ValueError(f"block_genes must be >= 1, got {block_genes}")
    threads = max(1, int(threads))
    notes: list[str] = []
    sf = _size_factors(counts, block, notes)

    base_mean, base_var = np.empty(G), np.empty(G)
    all_zero = np.zeros(G, dtype=bool)
    disp_gene = np.full(G, np.nan)

    def first_pass(s):
        y = np.asarray(counts[s], dtype=float)
        norm = y / sf[None, :]
        bm, bv = norm.mean(axis=1), norm.var(axis=1, ddof=1)
        base_mean[s], base_var[s] = bm, bv
        az = y.sum(axis=1) == 0
        all_zero[s] = az
        nz = ~az
        if nz.any():
            disp_gene[s][nz], _ = gene_dispersions(y[nz], X, sf, bm[nz], bv[nz], minmu=minmu)

    _each_block(first_pass, G, block, threads)
    nz_all = ~all_zero
    gene_nz = disp_gene[nz_all]
    trend = fit_dispersion_trend(base_mean[nz_all], gene_nz, notes)
    disp_fit = np.full(G, np.nan)
    disp_fit[nz_all] = trend(base_mean[nz_all])
    above = gene_nz >= 100 * MIN_DISP
    resid = np.log(gene_nz[above]) - np.log(disp_fit[nz_all][above])
    var_log = _r_mad(resid) ** 2
    prior_var = dispersion_prior_var(var_log, m, p, resid, notes)

    dispersion, disp_map, disp_outlier = np.full(G, np.nan), np.full(G, np.nan), np.zeros(G, dtype=bool)
    beta, sigma, converged = np.full((G, p), np.nan), np.full((G, p, p), np.nan), np.zeros(G, dtype=bool)
    max_cooks, cooks_argmax = np.full(G, np.nan), np.full(G, -1, dtype=np.int64)
    refit = _RefitState(G, X, m, p, min_replicates_for_replace)
    cutoff = cooks_cutoff(m, p) if m > p else np.nan
    outlier_cells = np.zeros((len(range(0, G, block)), m))  # one row per block: blocks may run on threads

    def second_pass(s) -> int:
        nz = ~all_zero[s]
        if not nz.any():
            return 0
        rows = np.arange(s.start, s.stop)[nz]
        y = np.asarray(counts[rows], dtype=float)
        # mu of the gene-wise dispersion step, recomputed (deterministic) instead of kept for all genes
        _, mu = _dispersion_start(y, X, sf, base_mean[rows], base_var[rows], minmu)
        d, dm, o = map_dispersions(y, mu, X, disp_gene[rows], disp_fit[rows], prior_var, var_log)
        del mu
        dispersion[rows], disp_map[rows], disp_outlier[rows] = d, dm, o
        glm = fit_nbinom_glms(y, X, sf, d, minmu=minmu)
        beta[rows], sigma[rows], converged[rows] = glm.beta, glm.sigma, glm.converged
        norm = y / sf[None, :]
        cooks = cooks_distance(y, norm, glm.mu, glm.hat, X)
        del glm
        max_cooks[rows] = record_max_cooks(X, cooks)
        with np.errstate(invalid="ignore"):
            has = ~np.all(np.isnan(cooks), axis=1)
        cooks_argmax[rows[has]] = np.nanargmax(cooks[has], axis=1)
        with np.errstate(invalid="ignore"):
            outlier_cells[s.start // block] = (cooks > cutoff).sum(axis=0)
        if not refit.enabled:
            return 0
        return refit.block(
            rows,
            y,
            cooks,
            sf,
            trend,
            prior_var,
            var_log,
            minmu,
            base_mean,
            base_var,
            disp_gene,
            disp_fit,
            disp_map,
            dispersion,
            disp_outlier,
            beta,
            sigma,
            converged,
        )

    n_refit_rows = sum(_each_block(second_pass, G, block, threads))
    fit = DESeqFit(
        counts=counts,
        X=X,
        size_factors=sf,
        base_mean=base_mean,
        base_var=base_var,
        all_zero=all_zero,
        disp_gene_est=disp_gene,
        disp_fit=disp_fit,
        disp_map=disp_map,
        dispersion=dispersion,
        disp_outlier=disp_outlier,
        trend=trend,
        var_log_disp_ests=var_log,
        disp_prior_var=prior_var,
        beta=beta,
        sigma=sigma,
        converged=converged,
        max_cooks=max_cooks,
        cooks_argmax=cooks_argmax,
        replace=np.zeros(G, dtype=bool),
        notes=notes,
        block_genes=block,
        cooks_outliers_per_sample=np.where(n_or_more_in_cell(X, 3) & (m > p), outlier_cells.sum(axis=0), np.nan),
    )
    if refit.enabled:
        refit.finish(fit, n_refit_rows)
    return fit


class _RefitState:
    """``refitWithoutOutliers`` / ``replaceOutliers`` (trim = 0.2), block by block.

    R decides two things over all genes: whether any gene was refitted (then the genes whose
    replaced counts are all zero get NA coefficients, and maxCooks is recomputed with the
    replaceable samples' distances set to 0) -- so each block keeps both versions of maxCooks
    and :meth:`finish` picks one."""

    def __init__(self, G, X, m, p, min_replicates):
        self.enabled = bool(n_or_more_in_cell(X, min_replicates).any()) and m > p
        if not self.enabled:
            return
        self.X = X
        self.cutoff = cooks_cutoff(m, p)
        self.replaceable = n_or_more_in_cell(X, min_replicates)
        self.replace = np.zeros(G, dtype=bool)
        self.new_all_zero = np.zeros(G, dtype=bool)
        self.max_cooks_replaced = np.full(G, np.nan)
        self.counts = {}  # gene -> the counts its refit used (each block writes its own genes)

    def block(
        self,
        rows,
        y,
        cooks,
        sf,
        trend,
        prior_var,
        var_log,
        minmu,
        base_mean,
        base_var,
        disp_gene,
        disp_fit,
        disp_map,
        dispersion,
        disp_outlier,
        beta,
        sigma,
        converged,
    ) -> int:
        """Refit this block's genes with replaced counts (writing their rows only); returns how many."""
        X = self.X
        with np.errstate(invalid="ignore"):
            over = cooks > self.cutoff
        replace = over.any(axis=1)
        self.replace[rows] = replace
        if not self.replaceable.all():
            replace_cooks = cooks.copy()
            replace_cooks[:, self.replaceable] = 0.0
            self.max_cooks_replaced[rows] = record_max_cooks(X, replace_cooks)
        if not replace.any():
            return 0
        sel = np.flatnonzero(replace)
        yr = y[sel]
        trim_mean = trimmed_mean_rows(yr / sf[None, :], 0.2)
        replacement = np.trunc(trim_mean[:, None] * sf[None, :])
        mask = over[sel] & self.replaceable[None, :]
        new_counts = yr.copy()
        new_counts[mask] = replacement[mask]
        new_norm = new_counts / sf[None, :]
        g = rows[sel]
        base_mean[g] = new_norm.mean(axis=1)
        base_var[g] = new_norm.var(axis=1, ddof=1)
        az = new_counts.sum(axis=1) == 0
        self.new_all_zero[g] = az
        keep = ~az
        if not keep.any():
            return 0
        gr = g[keep]
        self.counts.update(zip(gr.tolist(), new_counts[keep]))
        dg, df, dm, d, o, glm = _fit_genes(
            new_counts[keep], X, sf, base_mean[gr], base_var[gr], trend, prior_var, var_log, minmu
        )
        disp_gene[gr], disp_fit[gr], disp_map[gr], dispersion[gr], disp_outlier[gr] = dg, df, dm, d, o
        beta[gr], sigma[gr], converged[gr] = glm.beta, glm.sigma, glm.converged
        return int(gr.size)

    def finish(self, fit: DESeqFit, n_rows: int) -> None:
        fit.replace = self.replace
        fit.replace_counts = dict(sorted(self.counts.items()))
        if n_rows == 0:
            return
        fit.beta[self.new_all_zero] = np.nan
        fit.sigma[self.new_all_zero] = np.nan
        if self.replaceable.all():
            fit.max_cooks = np.full(len(fit.base_mean), np.nan)
        else:
            fit.max_cooks = self.max_cooks_replaced
        fit.n_refit = n_rows
