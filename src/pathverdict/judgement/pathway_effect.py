"""The standardised effect of the target pathway in one dataset, with its standard error: what the
replication summary (:mod:`.replication`) pools across the datasets of a claim (docs/replication.md).

**The effect.** For a gene g with log fold change ``beta_g`` and within-group standard deviation
``sigma_g`` (log scale), ``d_g = beta_g / sigma_g`` is its standardised mean difference (Cohen's d of the
gene, the per-gene effect size of Choi et al. 2003's meta-analysis of expression studies). The pathway's
effect is **the excess of its genes' mean squared standardised log fold change over the other tested
genes'**::

    theta = mean_{g in set} d_g^2  -  mean_{g not in set} d_g^2

It is two-sided (a pathway with genes up and others down is dysregulated; so is a pathway that goes up
with over-expression and down with loss of function -- the claims' "dysregulated" and the verdict's ORA of
all DE genes), competitive (a study in which every gene moves has theta ~ 0: the pathway must stand out),
and on a scale that does not depend on the number of samples: 0 when the pathway is no more changed than
the other genes, 1 when its genes' squared standardised changes exceed the others' by one squared
within-group standard deviation on average.

**The estimate.** The Wald statistic of a gene is ``z_g ~ N(lambda_g, 1)`` with ``lambda_g = d_g *
sqrt(n_eff)`` and ``n_eff = 1 / (c' (X'X)^-1 c)`` the design's effective sample size for the contrast
(``n1 n2 / (n1 + n2)`` for two groups; covariates lower it). ``E[z_g^2] = 1 + lambda_g^2``, so::

    theta_hat = (mean_set z^2 - mean_other z^2) / n_eff

is unbiased whatever the sample size (the 1 cancels between the two means). Test statistics (CAMERA's t,
the null's set-score z, a mean of Wald statistics) are not effect sizes: they grow with sqrt(n), so a
larger study would look like a stronger effect.

**The standard error** accounts for inter-gene correlation, as CAMERA's variance inflation factor does,
but for squared statistics: with ``R`` the correlation of the set's statistics, Gaussian moments give
``Var(sum_set z^2) = 2 tr(R^2) + 4 lambda' R lambda``. ``R`` is estimated from the residuals of the linear
model of the VST (the ``d = n - p`` residual effects of each gene, as :mod:`pathverdict.enrichment.camera`
computes them; each is a draw of the genes' noise): ``tr(R^2)`` by the U-statistic over pairs of residual
effects, ``lambda' R lambda + tr(R^2)`` by ``z' R_hat z``. The other genes' mean is taken as independent
(as CAMERA; thousands of genes). With only ``d`` residual degrees of freedom the correlation is itself
uncertain, so the standard error is given on the z scale with CAMERA's degrees of freedom: the interval
``effect -/+ t_{d, 0.975} * SE`` is written ``effect -/+ 1.96 * se`` with ``se = SE * t_{d,0.975} / 1.96``
(the "z-equivalent" standard error the meta-analysis pools).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import special

Z975 = float(special.ndtri(0.975))
MIN_GENES = 3  # a mean of fewer genes has no usable variance
MIN_DF = 2  # the U-statistic of tr(R^2) needs two residual effects


class NotTested(ValueError):
    """The effect cannot be computed in this dataset; the message says why (for people)."""


@dataclass(frozen=True)
class PathwayEffect:
    """``effect`` (theta_hat) and ``se`` (z-equivalent, see the module docs); ``se_model`` is the
    model-based SE before the degrees-of-freedom widening; ``n_genes`` / ``n_other`` the set's and the
    other genes' numbers; ``effective_n`` (n_eff); ``df`` (residual df of the correlation estimate);
    ``mean_z2_set`` / ``mean_z2_other``; ``correlation_inflation``: the set sum's variance over its
    variance if its genes were independent (1: no correlation; CAMERA's VIF for squares)."""

    effect: float
    se: float
    se_model: float
    n_genes: int
    n_other: int
    effective_n: float
    df: int
    mean_z2_set: float
    mean_z2_other: float
    correlation_inflation: float

    @property
    def ci(self) -> tuple[float, float]:
        return self.effect - Z975 * self.se, self.effect + Z975 * self.se

    def as_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- the design


def effective_sample_size(design: np.ndarray, contrast: np.ndarray) -> float:
    """``1 / (c' (X'X)^-1 c)``: the number of samples whose mean difference has the contrast's precision
    (``n1 n2 / (n1 + n2)`` for two groups)."""
    x = np.asarray(design, dtype=float)
    c = np.asarray(contrast, dtype=float).ravel()
    xtx = x.T @ x
    if np.linalg.matrix_rank(xtx) < xtx.shape[0]:
        raise NotTested("the design matrix is not of full rank")
    v = float(c @ np.linalg.solve(xtx, c))
    if not v > 0:
        raise NotTested("the contrast has no variance in this design")
    return 1.0 / v


def residual_effects(y: np.ndarray, design: np.ndarray, contrast: np.ndarray) -> np.ndarray:
    """The residual effects of each gene (rows of ``y``, genes x samples) in the linear model of the
    design (QR, as :func:`pathverdict.enrichment.camera.gene_statistics`), each gene's scaled to mean
    square 1: genes x (n - p). A gene without residual variation gets zeros (it adds no correlation)."""
    from ..enrichment.camera import contrast_design

    x = contrast_design(design, contrast)
    n, p = x.shape
    q, _ = np.linalg.qr(x, mode="complete")
    u = (q.T @ np.asarray(y, dtype=float).T)[p:, :]  # (n - p) x genes
    ms = np.mean(u * u, axis=0)
    scale = np.where(ms > 1e-12, 1.0 / np.sqrt(np.where(ms > 1e-12, ms, 1.0)), 0.0)
    return (u * scale).T


# --------------------------------------------------------------------------- the variance


def sum_z2_variance(z: np.ndarray, e: np.ndarray) -> tuple[float, float]:
    """(Var of sum(z^2) with the correlation estimated from ``e``, Var if the genes were independent).

    ``z``: the set's statistics (m); ``e``: their residual effects (m x d, rows of mean square 1).
    ``Var = 2 tr(R^2) + 4 lambda' R lambda`` is estimated by ``4 A - 2 T``: ``A = z' R_hat z`` (diagonal
    1, off-diagonal the residual correlations) estimates ``lambda' R lambda + tr(R^2)``; ``T`` estimates
    ``tr(R^2) = m + sum_{g != h} rho_gh^2`` by the U-statistic over pairs of residual effects
    (unbiased at rho = 0; scaled by (d + 2) / d, the bias of rows scaled by their own mean square, exact
    at rho = 0 and rho = 1). Bounded below by what the model guarantees: tr(R^2) >= m, lambda' R lambda >= 0."""
    z = np.asarray(z, dtype=float)
    e = np.asarray(e, dtype=float)
    m, d = e.shape
    if d < MIN_DF:
        raise ValueError(f"{d} residual degree(s) of freedom: at least {MIN_DF} are needed")
    norms = np.sum(e * e, axis=1)  # d per gene (0 for a gene without residual variation)
    gram = e.T @ e  # d x d
    col = np.sum(e * e, axis=0)
    off_pairs = (np.sum(gram * gram) - np.sum(norms * norms)) - (np.sum(col * col) - np.sum(e**4))
    t = m + (d + 2) / d * off_pairs / (d * (d - 1))
    t = max(t, float(m))
    z2 = float(np.sum(z * z))
    proj = e.T @ z
    a = z2 + (float(proj @ proj) - float(np.sum(z * z * norms))) / d
    var = max(4.0 * a - 2.0 * t, 2.0 * t)
    var_independent = max(4.0 * z2 - 2.0 * m, 2.0 * m)
    return var, var_independent


def pathway_effect(
    z_set: np.ndarray, z_other: np.ndarray, residuals_set: np.ndarray, effective_n: float
) -> PathwayEffect:
    """The effect of one set from its genes' Wald statistics, the other genes' and the set's residual
    effects (:func:`residual_effects`), see the module docs."""
    z_set = np.asarray(z_set, dtype=float)
    z_other = np.asarray(z_other, dtype=float)
    m, n_other = len(z_set), len(z_other)
    if m < MIN_GENES:
        raise NotTested(f"{m} gene(s) of the pathway have a Wald statistic: at least {MIN_GENES} are needed")
    if n_other < MIN_GENES:
        raise NotTested(f"{n_other} gene(s) outside the pathway have a Wald statistic: nothing to compare with")
    df = int(residuals_set.shape[1])
    if df < MIN_DF:
        raise NotTested(
            f"{df} residual degree(s) of freedom: the genes' correlation cannot be estimated (needs {MIN_DF})"
        )
    var_set, var_indep = sum_z2_variance(z_set, residuals_set)
    mean_other = float(np.mean(z_other * z_other))
    var_other = max(4.0 * mean_other - 2.0, 2.0) / n_other
    mean_set = float(np.mean(z_set * z_set))
    se_model = math.sqrt(var_set / m**2 + var_other) / effective_n
    widen = float(special.stdtrit(df, 0.975)) / Z975
    return PathwayEffect(
        effect=(mean_set - mean_other) / effective_n,
        se=se_model * widen,
        se_model=se_model,
        n_genes=m,
        n_other=n_other,
        effective_n=float(effective_n),
        df=df,
        mean_z2_set=mean_set,
        mean_z2_other=mean_other,
        correlation_inflation=var_set / var_indep,
    )


def dataset_effect(
    de: pd.DataFrame, vst: pd.DataFrame, samples: pd.DataFrame, design: str, contrast: list[str], genes
) -> PathwayEffect:
    """The effect of the pathway ``genes`` (symbols) in one dataset: its DE table (``de.tsv``), VST (genes
    x samples by gene ID) and checked sample sheet (indexed by sample), with the DE step's design and
    contrast. The genes are those GSEA and CAMERA rank (one row per symbol, a Wald statistic);
    :class:`NotTested` says why the effect cannot be computed."""
    from ..enrichment import camera, collapse_to_symbols

    ranked = collapse_to_symbols(de)
    ranked = ranked[ranked["stat"].notna()]
    z = pd.Series(ranked["stat"].to_numpy(dtype=float), index=ranked["symbol"].astype(str).to_numpy())
    in_set = z.index.isin(list(genes))
    missing = [s for s in vst.columns if s not in samples.index]
    if missing:
        raise NotTested(f"sample(s) {', '.join(map(str, missing[:5]))} of the VST are not in the sample sheet")
    try:
        y = camera.expression_by_symbol(de, vst)
        x, c, _ = camera.design_and_contrast(samples.loc[list(vst.columns)], design, list(contrast))
    except ValueError as exc:
        raise NotTested(str(exc)) from None
    n_eff = effective_sample_size(x, c)
    set_genes = list(z.index[in_set])
    e = residual_effects(y.loc[set_genes].to_numpy(dtype=float), x, c) if set_genes else np.zeros((0, 0))
    if not set_genes:
        raise NotTested("no gene of the pathway has a Wald statistic")
    return pathway_effect(z[in_set].to_numpy(), z[~in_set].to_numpy(), e, n_eff)
