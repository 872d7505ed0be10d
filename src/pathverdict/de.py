"""Differential expression with pydeseq2.

``run_deseq2`` takes a raw count matrix (genes x samples), the sample sheet, a design
formula and a contrast, and returns DESeq2-style results. Steps:

1. pre-filtering (DESeq2 vignette style): keep genes with at least ``min_count`` reads
   in at least ``min_samples`` samples (default: the size of the smaller compared group);
2. pydeseq2 ``DeseqDataSet.deseq2()`` (median-of-ratios size factors, dispersion
   shrinkage, Wald test, Cook's distance outlier replacement for >= 7 replicates);
3. Wald test for the contrast, Cook's filtering and independent filtering of p-values
   by mean expression, then Benjamini-Hochberg;
4. optionally apeGLM-style LFC shrinkage (``log2FoldChange_shrunk``);
5. normalised counts and a variance-stabilising transformation (for PCA).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import InputError

log = logging.getLogger(__name__)

RESULT_COLUMNS = ["baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj"]


@dataclass
class DEParams:
    design: str
    contrast: list[str]
    alpha: float = 0.05
    min_count: int = 10
    min_samples: int | None = None  # None: size of the smaller compared group
    independent_filtering: bool = True
    cooks_filter: bool = True
    shrink: bool = False
    threads: int = 1


@dataclass
class DEResult:
    results: pd.DataFrame  # indexed by gene_id, RESULT_COLUMNS (+ log2FoldChange_shrunk)
    normalized: pd.DataFrame  # genes x samples
    vst: pd.DataFrame  # genes x samples
    size_factors: pd.Series
    summary: dict = field(default_factory=dict)


def prefilter_mask(counts: pd.DataFrame, min_count: int, min_samples: int) -> pd.Series:
    """Genes with at least ``min_count`` reads in at least ``min_samples`` samples."""
    return (counts >= min_count).sum(axis=1) >= min_samples


def smallest_group(samples: pd.DataFrame, contrast: list[str]) -> int:
    var, tested, reference = contrast
    return int(min((samples[var] == tested).sum(), (samples[var] == reference).sum()))


def _metadata(samples: pd.DataFrame, design: str) -> pd.DataFrame:
    from .tables import formula_variables

    meta = samples[formula_variables(design)].copy()
    for col in meta.columns:
        meta[col] = meta[col].astype(str)
    return meta


@contextlib.contextmanager
def _quiet():
    """pydeseq2 prints progress to stdout/stderr; send it to the log instead."""
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        warnings.simplefilter("always")
        yield
    for w in caught:
        log.warning("pydeseq2: %s", w.message)
    for line in (out.getvalue() + err.getvalue()).splitlines():
        if line.strip():
            log.debug("pydeseq2: %s", line)


def run_deseq2(counts: pd.DataFrame, samples: pd.DataFrame, params: DEParams) -> DEResult:
    """Run pydeseq2 on ``counts`` (genes x samples, ints) with ``samples`` indexed by sample."""
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.default_inference import DefaultInference
    from pydeseq2.ds import DeseqStats

    var, tested, reference = params.contrast
    min_samples = params.min_samples or smallest_group(samples, params.contrast)
    keep = prefilter_mask(counts, params.min_count, min_samples)
    n_kept = int(keep.sum())
    log.info("pre-filter: %d of %d genes have >= %d reads in >= %d samples", n_kept, len(keep),
             params.min_count, min_samples)
    if n_kept < 2:
        raise InputError(f"only {n_kept} gene(s) pass the pre-filter (>= {params.min_count} reads in >= "
                         f"{min_samples} samples). Lower `de.prefilter.min_count` or check the count matrix.")
    kept = counts.loc[keep]
    meta = _metadata(samples.loc[kept.columns], params.design)
    inference = DefaultInference(n_cpus=params.threads)
    with _quiet():
        dds = DeseqDataSet(counts=kept.T, metadata=meta, design=params.design, refit_cooks=True,
                           inference=inference, quiet=True)
        dds.deseq2()
        stats = DeseqStats(dds, contrast=[var, tested, reference], alpha=params.alpha,
                           cooks_filter=params.cooks_filter,
                           independent_filter=params.independent_filtering,
                           inference=inference, quiet=True)
        stats.summary()
        res = stats.results_df[RESULT_COLUMNS].copy()
        if params.shrink:
            coeff = _shrink_coefficient(stats.LFC.columns, var, tested, reference)
            stats.lfc_shrink(coeff=coeff)
            res["log2FoldChange_shrunk"] = stats.results_df["log2FoldChange"]
            res["lfcSE_shrunk"] = stats.results_df["lfcSE"]
        dds.vst(use_design=True)
    res.index.name = "gene_id"
    normalized = pd.DataFrame(dds.layers["normed_counts"].T, index=kept.index, columns=kept.columns)
    vst = pd.DataFrame(np.asarray(dds.layers["vst_counts"]).T, index=kept.index, columns=kept.columns)
    size_factors = pd.Series(np.asarray(dds.obs["size_factors"]), index=kept.columns, name="size_factor")
    n_sig = int((res["padj"] < params.alpha).sum())
    summary = {
        "genes_in": int(len(counts)),
        "genes_tested": n_kept,
        "prefilter": {"min_count": params.min_count, "min_samples": int(min_samples)},
        "genes_with_pvalue": int(res["pvalue"].notna().sum()),
        "genes_with_padj": int(res["padj"].notna().sum()),
        "alpha": params.alpha,
        "significant": n_sig,
        "up": int(((res["padj"] < params.alpha) & (res["log2FoldChange"] > 0)).sum()),
        "down": int(((res["padj"] < params.alpha) & (res["log2FoldChange"] < 0)).sum()),
        "cooks_outliers": int((res["pvalue"].isna() & res["baseMean"].gt(0)).sum()),
        "shrinkage": params.shrink,
    }
    return DEResult(res, normalized, vst, size_factors, summary)


def _shrink_coefficient(columns, var: str, tested: str, reference: str) -> str:
    """Name of the LFC column for ``tested`` vs ``reference`` in pydeseq2's design matrix."""
    for col in columns:
        if col.startswith(var) and f"T.{tested}]" in col:
            return col
    raise InputError(
        f"LFC shrinkage needs the contrast's reference level {reference!r} to be the design's reference level for "
        f"{var!r}; coefficients available: {', '.join(map(str, columns))}. Turn off `de.shrinkage` or reorder the "
        "levels.")
