"""apeGLM-style LFC shrinkage by pydeseq2, fed with our fit (:func:`lfc_shrink`).

This is the only place that uses pydeseq2, and it imports it only when called. What is
pydeseq2's and what is ours:

* the shrinkage itself -- per gene, the MAP of the NB GLM with a Cauchy prior on the shrunk
  coefficient and a wide normal prior (scale 15) on the others, its standard error from the
  inverse Hessian, the grid-search fallback -- is pydeseq2's, reached through its public,
  pluggable inference interface: ``Inference.lfc_shrink_nbinom_glm`` of a
  ``pydeseq2.inference.Inference`` (by default ``pydeseq2.default_inference.DefaultInference``;
  any other implementation can be passed as ``inference``);
* its inputs are our R-faithful fit (:class:`~pathverdict.de.rcompat.deseq.DESeqFit`): size
  factors, final dispersions, coefficients and the Wald standard errors of ``results()``;
* the adaptive prior scale is computed here (:func:`apeglm_prior_var`), a copy of pydeseq2
  0.5.4's ``DeseqStats._fit_prior_var``, and so are the few lines around the inference call,
  as in ``DeseqStats.lfc_shrink``. pydeseq2's public ``DeseqStats.lfc_shrink`` cannot be used
  as is: it needs a ``DeseqDataSet`` fitted by pydeseq2 (it reads the private column
  ``var["_normed_means"]`` and the fit's fields) and takes the standard errors from its own
  Wald test, which differs from R's (docs/fidelity.md, cause 1). ``tests/test_rcompat.py``
  checks that the result equals ``DeseqStats.lfc_shrink`` given the same fit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from .deseq import DESeqFit
from .results import wald_contrast

log = logging.getLogger(__name__)

PRIOR_NO_SHRINK_SCALE = 15.0  # pydeseq2's (and apeglm's) scale of the normal prior on the other coefficients


@dataclass
class ShrunkLFC:
    log2_fold_change: np.ndarray  # shrunk, log2 scale; NaN for genes without reads
    lfc_se: np.ndarray  # its standard error, log2 scale
    coefficient: int  # index of the shrunk column of the design matrix
    prior_scale: float
    not_updated: int  # genes whose shrinkage gave a non-finite value (they keep the unshrunk estimate)


def shrinkable_coefficient(contrast) -> int | None:
    """Index of the design column a contrast vector selects, or None when the contrast is not one
    coefficient (apeGLM shrinks one coefficient: the contrast's reference level must be the
    design's reference level)."""
    c = np.asarray(contrast, dtype=float)
    nonzero = np.flatnonzero(c)
    if nonzero.size == 1 and c[nonzero[0]] == 1.0:
        return int(nonzero[0])
    return None


def apeglm_prior_var(lfc, se, min_var: float = 1e-6, max_var: float = 400.0) -> float:
    """Prior variance of the apeGLM Cauchy prior from the unshrunk estimates (natural log scale):
    the root in [min_var, max_var] of ``sum((S - D) c) / sum(c) - a`` with ``S = lfc^2``,
    ``D = se^2``, ``c = 1 / (2 (a + D)^2)`` over genes with an estimate (``min_var`` when the
    function is negative there) -- pydeseq2 0.5.4 ``DeseqStats._fit_prior_var``."""
    from scipy.optimize import root_scalar

    lfc = np.asarray(lfc, dtype=float)
    keep = ~np.isnan(lfc)
    S = lfc[keep] ** 2
    D = np.asarray(se, dtype=float)[keep] ** 2

    def objective(a: float) -> float:
        coeff = 1 / (2 * (a + D) ** 2)
        return np.nansum((S - D) * coeff) / np.nansum(coeff) - a  # pandas' skipna sums, as pydeseq2

    if objective(min_var) < 0:
        return min_var
    return root_scalar(objective, bracket=(min_var, max_var)).root


def lfc_shrink(fit: DESeqFit, contrast, threads: int = 1, inference=None, adapt: bool = True) -> ShrunkLFC:
    """Shrink the coefficient that ``contrast`` selects (see :func:`shrinkable_coefficient`;
    ValueError otherwise) with pydeseq2's apeGLM-style MAP fit, given our fitted ``fit``.

    ``inference``: a ``pydeseq2.inference.Inference`` (default: ``DefaultInference(n_cpus=threads)``).
    ``adapt``: fit the prior scale to the unshrunk estimates (pydeseq2's default), else 1."""
    k = shrinkable_coefficient(contrast)
    if k is None:
        raise ValueError("LFC shrinkage needs a contrast that is one coefficient of the design")
    if inference is None:
        from pydeseq2.default_inference import DefaultInference

        inference = DefaultInference(n_cpus=threads)
    ln2 = np.log(2)
    # the inputs DeseqStats.lfc_shrink would take from a fitted DeseqDataSet, natural log scale
    _, se_log2, _, _ = wald_contrast(fit, contrast)
    lfc = np.array(fit.beta[:, k], dtype=float)
    se = se_log2 * ln2
    prior_scale = 1.0
    if adapt:
        prior_scale = float(np.minimum(np.sqrt(apeglm_prior_var(lfc, se)), 1))
    nz = np.flatnonzero(~fit.all_zero)
    counts = np.asarray(fit.counts[nz], dtype=np.int64).T  # samples x genes, as DeseqDataSet.X
    lfcs, inv_hessians, _ = inference.lfc_shrink_nbinom_glm(
        design_matrix=np.asarray(fit.X, dtype=float),
        counts=counts,
        size=1.0 / fit.dispersion[nz],
        offset=np.log(fit.size_factors),
        prior_no_shrink_scale=PRIOR_NO_SHRINK_SCALE,
        prior_scale=prior_scale,
        optimizer="L-BFGS-B",
        shrink_index=k,
    )
    new_lfc = np.asarray(lfcs)[:, k]
    new_se = np.array([math.sqrt(abs(h[k, k])) for h in inv_hessians])
    bad = ~np.isfinite(new_lfc) | ~np.isfinite(new_se)
    if bad.any():
        log.warning(
            "LFC shrinkage: %d gene(s) had NaN/infinite values; they keep their unshrunk log2 fold change and lfcSE",
            int(bad.sum()),
        )
    ok = nz[~bad]
    lfc[ok] = new_lfc[~bad]
    se[ok] = new_se[~bad]
    return ShrunkLFC(lfc / ln2, se / ln2, k, prior_scale, int(bad.sum()))
