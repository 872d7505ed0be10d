"""``results(dds, contrast = ..., alpha = ...)``: :func:`deseq_results` -> :class:`Results`.

The Wald test for a numeric contrast (:func:`wald_contrast`), genes with all-zero compared
groups, the Cook's filter, and ``pvalueAdjustment``: independent filtering on baseMean
(:func:`independent_filtering`: R's theta grid, genefilter's ``filtered_p`` with BH, R's
lowess and threshold rule) or plain BH. Sources: DESeq2 1.38 (LGPL >= 3), genefilter
(Artistic-2.0, re-implemented from the algorithm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from .cooks import cooks_cutoff, cooks_outlier_mask
from .deseq import DESeqFit, _blocks, default_block_genes
from .rstats import lowess, p_adjust_bh, r_quantile


def filtered_p(filter_stat, pvalue, theta) -> np.ndarray:
    """``filtered_p(filter, test, theta, method="BH")`` (genefilter, as bundled in DESeq2).

    Column k holds BH-adjusted p-values of the genes with ``filter >= quantile(filter,
    theta[k])`` (NaN for the others).
    """
    filter_stat = np.asarray(filter_stat, dtype=float)
    pvalue = np.asarray(pvalue, dtype=float)
    cutoffs = r_quantile(filter_stat, theta)
    out = np.full((filter_stat.size, cutoffs.size), np.nan)
    # p_adjust_bh(pvalue[use]) for every cutoff, with one sort: the genes with a p-value in decreasing
    # order of p (stable), of which each cutoff keeps a subsequence -- the order p_adjust_bh's stable
    # sort gives that subset -- then its arithmetic; the same numbers bit for bit
    # (tests/test_rcompat_shortcuts.py).
    has_p = np.flatnonzero(~np.isnan(pvalue))
    decreasing = has_p[np.argsort(-pvalue[has_p], kind="stable")]
    for k, cut in enumerate(cutoffs):
        use = filter_stat >= cut
        if not use.any():
            continue
        sel = decreasing[use[decreasing]]
        n = sel.size
        if n <= 1:  # R returns the input unchanged
            out[sel, k] = pvalue[sel]
            continue
        i = np.arange(n, 0, -1, dtype=float)
        out[sel, k] = np.minimum(1.0, np.minimum.accumulate((n / i) * pvalue[sel]))
    return out


@dataclass
class FilterResult:
    padj: np.ndarray
    threshold: float  # baseMean cutoff (metadata filterThreshold)
    theta: float  # chosen quantile (metadata filterTheta)
    theta_grid: np.ndarray
    num_rej: np.ndarray
    lowess_y: np.ndarray


def independent_filtering(base_mean, pvalue, alpha: float, theta=None) -> FilterResult:
    """DESeq2's ``pvalueAdjustment(independentFiltering=TRUE)`` with ``filter = baseMean``.

    theta: 50 quantiles from the fraction of zero baseMeans to 0.95 (1 if that fraction is
    >= 0.95); number of rejections at ``alpha`` for each; a lowess fit (f = 1/5) of those
    counts; the first theta whose count exceeds ``max(fit) - sqrt(mean(residual^2))``
    (residuals over the thetas with at least one rejection) is chosen; theta[0] when no
    theta has more than 10 rejections.
    """
    base_mean = np.asarray(base_mean, dtype=float)
    pvalue = np.asarray(pvalue, dtype=float)
    if theta is None:
        lower = float(np.mean(base_mean == 0))
        upper = 0.95 if lower < 0.95 else 1.0
        theta = np.linspace(lower, upper, 50)
    theta = np.asarray(theta, dtype=float)
    if theta.size < 2:
        raise ValueError("theta needs at least 2 values")
    filt = filtered_p(base_mean, pvalue, theta)
    with np.errstate(invalid="ignore"):
        num_rej = np.sum(filt < alpha, axis=0).astype(float)
    _, lo_y = lowess(theta, num_rej, f=1 / 5)
    if num_rej.max() <= 10:
        j = 0
    else:
        pos = num_rej > 0
        residual = num_rej[pos] - lo_y[pos] if pos.any() else np.array([0.0])
        thresh = lo_y.max() - math.sqrt(float(np.mean(residual**2)))
        above = np.flatnonzero(num_rej > thresh)
        j = int(above[0]) if above.size else 0
    cutoffs = r_quantile(base_mean, theta)
    return FilterResult(
        padj=filt[:, j],
        threshold=float(cutoffs[j]),
        theta=float(theta[j]),
        theta_grid=theta,
        num_rej=num_rej,
        lowess_y=lo_y,
    )


_independent_filtering = independent_filtering  # deseq_results() has a parameter of that name


def wald_contrast(fit: DESeqFit, contrast) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """log2 fold change, its standard error, Wald statistic and p-value for a numeric
    contrast over the coefficients (natural-log scale coefficients, covariance from
    the sandwich with mu >= minmu, as ``fitBeta``/``getContrast``)."""
    c = np.asarray(contrast, dtype=float)
    with np.errstate(invalid="ignore"):
        est = fit.beta @ c
        se = np.sqrt(np.einsum("i,gij,j->g", c, fit.sigma, c))
        stat = est / se
        # = 2 * scipy.stats.norm.sf(|stat|) bit for bit (norm.sf is ndtr(-x)); scipy.special, not
        # scipy.stats, whose import costs every DE job ~0.5 s
        pvalue = 2 * special.ndtr(-np.abs(stat))
    log2e = 1.0 / math.log(2)
    return est * log2e, se * log2e, stat, pvalue


@dataclass
class Results:
    table: dict  # column name -> array, RESULT_COLUMNS order
    cooks_outliers: int
    filter: FilterResult | None


def deseq_results(
    fit: DESeqFit,
    contrast,
    alpha: float = 0.1,
    cooks_filter: bool = True,
    independent_filtering: bool = True,
    single_two_level_factor: bool = False,
    compared_samples=None,
) -> Results:
    """``results(dds, contrast = ..., alpha = alpha)`` for a fitted :class:`DESeqFit`.

    ``compared_samples``: boolean mask of the samples in the two compared groups (for a
    contrast between two levels of a factor); genes with only zero counts there get
    log2FoldChange = 0, stat = 0, pvalue = 1, as in R.
    """
    lfc, se, stat, pvalue = wald_contrast(fit, contrast)
    if compared_samples is not None:
        mask = np.asarray(compared_samples, dtype=bool)
        zero = np.zeros(len(fit.base_mean), dtype=bool)
        for s in _blocks(len(zero), fit.block_genes or default_block_genes(mask.size)):
            zero[s] = ~np.any(fit.counts[s][:, mask] != 0, axis=1)
        zero &= ~fit.all_zero
        lfc[zero], stat[zero], pvalue[zero] = 0.0, 0.0, 1.0
    n_out = 0
    if cooks_filter:
        m, p = fit.X.shape
        out = cooks_outlier_mask(
            fit.max_cooks, cooks_cutoff(m, p), fit.counts, fit.cooks_argmax, single_two_level_factor
        )
        pvalue[out] = np.nan
        n_out = int(out.sum())
    now_zero = fit.replace & (fit.base_mean == 0)
    lfc[now_zero], se[now_zero], stat[now_zero], pvalue[now_zero] = 0.0, 0.0, 0.0, 1.0
    filt = None
    if independent_filtering:
        filt = _independent_filtering(fit.base_mean, pvalue, alpha)
        padj = filt.padj
    else:
        padj = p_adjust_bh(pvalue)
    table = {
        "baseMean": fit.base_mean.copy(),
        "log2FoldChange": lfc,
        "lfcSE": se,
        "stat": stat,
        "pvalue": pvalue,
        "padj": padj,
    }
    return Results(table=table, cooks_outliers=n_out, filter=filt)
