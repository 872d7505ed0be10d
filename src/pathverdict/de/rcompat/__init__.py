"""R DESeq2 1.38 in numpy: ``DESeq()`` and ``results()`` computed as R computes them.

Public entry point (what :func:`pathverdict.de.run_deseq2` calls)::

    from pathverdict.de import rcompat

    design = rcompat.design_matrix(metadata, "~batch + condition")     # R's model.matrix
    contrast = design.contrast("condition", "treated", "control")      # c("condition", "treated", "control")
    fit = rcompat.fit_deseq(counts, design.matrix.to_numpy(float))     # DESeq(dds)           -> DESeqFit
    res = rcompat.deseq_results(fit, contrast, alpha=0.05)             # results(dds, ...)    -> Results
    shrunk = rcompat.lfc_shrink(fit, contrast)                         # optional, by pydeseq2 -> ShrunkLFC

``counts`` is a genes x samples integer array, ``metadata`` the sample sheet's design columns
(text columns are factors). ``fit_deseq`` takes ``block_genes`` and ``threads`` (gene blocks,
issue 14); ``deseq_results`` takes ``cooks_filter``, ``independent_filtering``,
``single_two_level_factor`` and ``compared_samples`` as R's ``results()`` needs them. Every
other name exported here is a building block, public so that the tests can check it against
values printed by R (``tests/test_rcompat.py``).

One module per concern, each following the R source it names (table in docs/fidelity.md):

``rstats``      R's ``p.adjust(BH)``, ``quantile(type = 7)``, ``lowess``, ``loess``, trimmed means, ``mad``
``locfit``      locfit's local regression (the fallback dispersion trend)
``glm``         ``fitNbinomGLMs`` / the C++ ``fitBeta``: the NB GLM and its covariance
``dispersion``  ``estimateDispersions*``: gene-wise, trend, prior variance, MAP
``cooks``       Cook's distances, ``recordMaxCooks``, the Cook's filter of ``results()``
``deseq``       ``DESeq()``: size factors, the two passes over gene blocks, outlier refit
``results``     ``results()``: Wald test, independent filtering, BH
``design``      the design matrix and contrast vectors (formulaic, as pydeseq2 builds them)
``shrink``      apeGLM-style LFC shrinkage by pydeseq2 (imported only there, only when called)

Imports point one way: rstats, locfit, glm -> dispersion; rstats -> cooks; cooks, dispersion,
glm -> deseq -> results -> shrink; design stands alone. Nothing here imports the rest of
pathverdict.
"""

from .cooks import (
    cooks_cutoff,
    cooks_distance,
    cooks_outlier_mask,
    n_or_more_in_cell,
    record_max_cooks,
    robust_method_of_moments_disp,
)
from .deseq import (
    BLOCK_CELLS,
    DESeqFit,
    default_block_genes,
    fit_deseq,
    size_factors_poscounts,
    size_factors_ratio,
)
from .design import Design, design_matrix
from .dispersion import (
    MIN_DISP,
    DispersionTrend,
    dispersion_prior_var,
    fit_disp,
    fit_disp_grid,
    fit_dispersion_trend,
    gene_dispersions,
    kl_prior_var,
    map_dispersions,
    parametric_dispersion_fit,
)
from .glm import LAMBDA_LOG2, MINMU, GLMFit, fit_nbinom_glms
from .locfit import LocalFit
from .results import FilterResult, Results, deseq_results, filtered_p, independent_filtering, wald_contrast
from .rstats import R_MAD_CONSTANT, loess_interpolate, lowess, p_adjust_bh, r_quantile, trimmed_mean_rows
from .shrink import ShrunkLFC, apeglm_prior_var, lfc_shrink, shrinkable_coefficient

__all__ = [
    # the public entry point
    "design_matrix",
    "Design",
    "fit_deseq",
    "DESeqFit",
    "deseq_results",
    "Results",
    "lfc_shrink",
    "ShrunkLFC",
    "shrinkable_coefficient",
    "default_block_genes",
    "BLOCK_CELLS",
    # building blocks
    "apeglm_prior_var",
    "cooks_cutoff",
    "cooks_distance",
    "cooks_outlier_mask",
    "n_or_more_in_cell",
    "record_max_cooks",
    "robust_method_of_moments_disp",
    "size_factors_poscounts",
    "size_factors_ratio",
    "MIN_DISP",
    "DispersionTrend",
    "dispersion_prior_var",
    "fit_disp",
    "fit_disp_grid",
    "fit_dispersion_trend",
    "gene_dispersions",
    "kl_prior_var",
    "map_dispersions",
    "parametric_dispersion_fit",
    "LAMBDA_LOG2",
    "MINMU",
    "GLMFit",
    "fit_nbinom_glms",
    "LocalFit",
    "FilterResult",
    "filtered_p",
    "independent_filtering",
    "wald_contrast",
    "R_MAD_CONSTANT",
    "loess_interpolate",
    "lowess",
    "p_adjust_bh",
    "r_quantile",
    "trimmed_mean_rows",
]
