"""CAMERA: a competitive gene-set test that accounts for inter-gene correlation.

Over-representation and gene-permutation GSEA treat the genes of a set as independent. A
set holding a co-regulated cluster (10 of the 60 genes of KEGG Mineral absorption are
metallothioneins, which move together) then looks far more significant than it is: its
genes' statistics are not 60 independent draws. CAMERA (Wu & Smyth 2012, Nucleic Acids
Res 40:e133) compares the mean statistic of the set's genes with that of the other genes
by a two-sample t-test whose variance is inflated by the variance inflation factor
``VIF = 1 + (m - 1) * rho`` of a mean of ``m`` genes with average pairwise correlation
``rho``, estimated from the residuals of the linear model (or preset).

This is our own numpy/scipy implementation of limma's ``camera.default`` (limma 3.54,
GPL >= 2; this project is GPL-3.0-or-later), without weights and without ranks
(``use.ranks = FALSE``, ``allow.neg.cor = FALSE``, ``trend.var = FALSE``). Which step follows
which limma function is listed in docs/camera.md; ``tools/camera_vs_r.py`` measures the
agreement with R on the real shared count sets.

Steps, per dataset (genes x samples log-expression ``y``, design ``X``, contrast ``c``):

1. reparametrise the design so that the contrast is its last coefficient (the first column
   becomes ``X c / |c|``, the others span the rest of the column space);
2. QR of the design: the effects ``Q' y``; the last coefficient's effect is the unscaled
   t statistic, the last ``n - p`` effects are the residual effects ``U``;
   ``sigma2 = mean(U^2)``;
3. empirical-Bayes moderation of ``sigma2`` (limma's ``squeezeVar``/``fitFDist``): the
   moderated t of every gene, with ``df_residual + df_prior`` degrees of freedom;
4. moderated t -> z score (limma's ``zscoreT``, Hill's approximation);
5. per set: the correlation ``rho`` = (m * mean(colMeans(U_set / sigma)^2) - 1) / (m - 1)
   from the standardised residual effects (``inter_gene_cor=None``), or the preset value;
   VIF = max(1, 1 + (m - 1) rho); the two-sample t of the set's mean z against the other
   genes', with pooled variance and ``G - 2`` (preset) or ``min(n - p, G - 2)`` (estimated)
   degrees of freedom; two-sided p = 2 min(P(T <= t), P(T >= t)); the direction is the
   smaller tail. FDR: Benjamini-Hochberg over all tested sets.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

log = logging.getLogger(__name__)

CAMERA_COLUMNS = [
    "library",
    "term",
    "term_id",
    "rank",
    "n_genes",
    "direction",
    "correlation",
    "pvalue",
    "fdr",
    "mean_z",
    "vif",
    "df",
]


@dataclass
class GeneStatistics:
    """Per-gene quantities camera needs (one entry per row of ``y``)."""

    z: np.ndarray  # moderated t converted to z scores
    moderated_t: np.ndarray
    u_standardised: np.ndarray  # residual effects / sigma, genes x (n - p)
    df_residual: int
    df_prior: float
    var_prior: float
    sigma2: np.ndarray  # residual variances
    var_post: np.ndarray  # moderated (posterior) variances


# --------------------------------------------------------------------- empirical Bayes (limma)


def trigamma_inverse(x: float) -> float:
    """y with trigamma(y) = x, by Newton's method as limma's ``trigammaInverse``."""
    x = float(x)
    if x > 1e7:
        return 1.0 / np.sqrt(x)
    if x < 1e-6:
        return 1.0 / x
    y = 0.5 + 1.0 / x
    for _ in range(50):
        tri = special.polygamma(1, y)
        dif = tri * (1.0 - tri / x) / special.polygamma(2, y)
        y = y + dif
        if -dif / y < 1e-8:
            break
    return float(y)


def fit_f_dist(x: np.ndarray, df1: float) -> tuple[float, float]:
    """Scale and prior df of a scaled F distribution fitted to the variances ``x`` by the
    moments of log(x) (limma's ``fitFDist`` without a covariate)."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x) & (x > -1e-15)
    x = x[ok]
    if len(x) == 0:
        return float("nan"), float("nan")
    if len(x) == 1:
        return float(x[0]), 0.0
    x = np.maximum(x, 0.0)
    m = float(np.median(x))
    if m == 0:
        warnings.warn("more than half of the residual variances are exactly zero: the moderation is unreliable")
        m = 1.0
    x = np.maximum(x, 1e-5 * m)
    e = np.log(x) - special.digamma(df1 / 2) + np.log(df1 / 2)
    emean = float(np.mean(e))
    evar = float(np.sum((e - emean) ** 2) / (len(e) - 1)) - float(special.polygamma(1, df1 / 2))
    if evar > 0:
        df2 = 2 * trigamma_inverse(evar)
        s20 = float(np.exp(emean + special.digamma(df2 / 2) - np.log(df2 / 2)))
    else:
        df2 = float("inf")
        s20 = float(np.mean(x))
    return s20, df2


def squeeze_var(var: np.ndarray, df: float) -> tuple[np.ndarray, float, float]:
    """Posterior variances, prior variance and prior df (limma's ``squeezeVar``)."""
    var = np.asarray(var, dtype=float)
    if len(var) == 1:
        return var.copy(), float(var[0]), 0.0
    s20, df2 = fit_f_dist(var, df)
    if np.isnan(df2):
        raise ValueError("could not estimate the prior degrees of freedom of the gene variances")
    if np.isfinite(df2):
        post = (df * var + df2 * s20) / (df + df2)
    else:
        post = np.full_like(var, s20)
    return post, s20, df2


def zscore_t_hill(t: np.ndarray, df: float) -> np.ndarray:
    """z scores with the same tail probability as t on ``df`` degrees of freedom, by Hill's
    (1970) approximation (limma's ``zscoreT(approx = TRUE, method = "hill")``)."""
    t = np.asarray(t, dtype=float)
    df = min(float(df), 1e100)
    a = df - 0.5
    b = 48 * a * a
    z = a * np.log1p(t / df * t)
    z = (((((-0.4 * z - 3.3) * z - 24) * z - 85.5) / (0.8 * z * z + 100 + b) + z + 3) / b + 1) * np.sqrt(z)
    return z * np.sign(t)


# --------------------------------------------------------------------- linear model


def contrast_design(design: np.ndarray, contrast: np.ndarray) -> np.ndarray:
    """The design reparametrised so that its last coefficient is the contrast (scaled to
    unit length; the t statistic does not depend on the scale)."""
    design = np.asarray(design, dtype=float)
    c = np.asarray(contrast, dtype=float).ravel()
    p = design.shape[1]
    if len(c) != p:
        raise ValueError(f"the contrast has {len(c)} entries but the design {p} columns")
    norm = np.linalg.norm(c)
    if norm == 0:
        raise ValueError("the contrast is all zero")
    # an orthonormal basis whose first vector is c / |c| (Householder QR of c, as R's qr(contrast))
    q, _ = np.linalg.qr(c.reshape(p, 1), mode="complete")
    q[:, 0] = c / norm
    x = design @ q
    return np.column_stack([x[:, 1:], x[:, 0]])


def gene_statistics(y: np.ndarray, design: np.ndarray, contrast: np.ndarray) -> GeneStatistics:
    """Moderated t and z of every gene (rows of ``y``) for the contrast, and the
    standardised residual effects used to estimate inter-gene correlations."""
    y = np.asarray(y, dtype=float)
    if not np.isfinite(y).all():
        raise ValueError("the expression values must all be finite")
    n_genes, n = y.shape
    x = contrast_design(design, contrast)
    if x.shape[0] != n:
        raise ValueError(f"the design has {x.shape[0]} rows but the expression matrix {n} samples")
    p = x.shape[1]
    df_residual = n - p
    if df_residual < 1:
        raise ValueError(
            f"no residual degrees of freedom ({n} samples, {p} coefficients): camera cannot estimate gene variances"
        )
    q, r = np.linalg.qr(x, mode="complete")
    if np.linalg.matrix_rank(x) < p:
        raise ValueError("the design matrix is not of full rank")
    effects = q.T @ y.T  # n x G
    unscaled_t = effects[p - 1, :] * (-1.0 if r[p - 1, p - 1] < 0 else 1.0)
    u = effects[p:, :]
    sigma2 = np.mean(u**2, axis=0)
    u_std = (u / np.sqrt(np.maximum(sigma2, 1e-8))).T  # genes x residual df
    var_post, var_prior, df_prior = squeeze_var(sigma2, df_residual)
    modt = unscaled_t / np.sqrt(var_post)
    df_total = min(df_residual + df_prior, n_genes * df_residual)
    z = zscore_t_hill(modt, df_total)
    return GeneStatistics(
        z=z,
        moderated_t=modt,
        u_standardised=u_std,
        df_residual=df_residual,
        df_prior=float(df_prior),
        var_prior=float(var_prior),
        sigma2=sigma2,
        var_post=var_post,
    )


# --------------------------------------------------------------------- the test


def camera_test(gs: GeneStatistics, index: dict[str, np.ndarray], inter_gene_cor: float | None = None) -> pd.DataFrame:
    """The CAMERA test of every set (``index``: term -> row positions in the gene statistics).

    ``inter_gene_cor`` None estimates each set's correlation from the residuals (limma's
    ``inter.gene.cor = NA``); a number is used for every set (limma's default is 0.01).
    Returns one row per set: n_genes, correlation, mean_z, vif, df, t, p_down, p_up,
    pvalue (two-sided), direction, in the order of ``index``."""
    z = gs.z
    n_genes = len(z)
    if n_genes < 3:
        raise ValueError(f"too few genes ({n_genes}): camera needs at least 3")
    fixed = inter_gene_cor is not None and not (isinstance(inter_gene_cor, float) and np.isnan(inter_gene_cor))
    df_camera = n_genes - 2 if fixed else min(gs.df_residual, n_genes - 2)
    mean_all = float(np.mean(z))
    var_all = float(np.var(z, ddof=1))
    rows = []
    for term, idx in index.items():
        idx = np.asarray(idx, dtype=int)
        m = len(idx)
        m2 = n_genes - m
        if m < 1 or m2 < 1:
            raise ValueError(f"gene set {term!r} has {m} of the {n_genes} genes: camera needs genes in and outside it")
        if fixed:
            correlation = float(inter_gene_cor)
            vif = 1 + (m - 1) * correlation
        elif m > 1:
            vif = m * float(np.mean(np.mean(gs.u_standardised[idx, :], axis=0) ** 2))
            correlation = (vif - 1) / (m - 1)
        else:
            vif, correlation = 1.0, float("nan")
        vif = max(1.0, vif)  # allow.neg.cor = FALSE
        mean_set = float(np.mean(z[idx]))
        delta = n_genes / m2 * (mean_set - mean_all)
        var_pooled = ((n_genes - 1) * var_all - delta**2 * m * m2 / n_genes) / (n_genes - 2)
        t = delta / np.sqrt(var_pooled * (vif / m + 1 / m2))
        # scipy.stats.t.cdf / .sf bit for bit (stdtr(df, t) / stdtr(df, -t)), without importing scipy.stats
        down = float(special.stdtr(df_camera, t))
        up = float(special.stdtr(df_camera, -t))
        rows.append(
            {
                "term": term,
                "n_genes": m,
                "correlation": correlation,
                "mean_z": mean_set,
                "vif": vif,
                "df": df_camera,
                "t": t,
                "p_down": down,
                "p_up": up,
                "pvalue": min(1.0, 2 * min(down, up)),
                "direction": "Down" if down < up else "Up",
            }
        )
    return pd.DataFrame(
        rows,
        columns=["term", "n_genes", "correlation", "mean_z", "vif", "df", "t", "p_down", "p_up", "pvalue", "direction"],
    )


def camera(
    y: pd.DataFrame,
    design: np.ndarray,
    contrast: np.ndarray,
    sets: dict[str, list[str]],
    library: str,
    ids: dict[str, str | None] | None = None,
    min_size: int = 15,
    max_size: int = 500,
    inter_gene_cor: float | None = None,
) -> pd.DataFrame:
    """CAMERA of the sets of one library on ``y`` (genes x samples log-expression, genes named
    by symbol). Sets are reduced to the genes of ``y`` and kept with ``min_size``..``max_size``
    genes (as for GSEA). Rows sorted by p-value then term; ``rank``: competition rank of the
    p-value (ties share the best rank); ``fdr``: Benjamini-Hochberg over the tested sets."""
    from . import bh_adjust, competition_rank, restrict_sets

    ids = ids or {}
    if y.index.has_duplicates:
        raise ValueError("the expression matrix has duplicated gene names")
    usable = restrict_sets(sets, set(y.index), min_size, max_size)
    if not usable or len(y) < 3:
        return pd.DataFrame(columns=CAMERA_COLUMNS)
    gs = gene_statistics(y.to_numpy(dtype=float), design, contrast)
    pos = {g: i for i, g in enumerate(y.index)}
    terms = sorted(usable)
    res = camera_test(gs, {t: np.fromiter((pos[g] for g in usable[t]), dtype=np.int64) for t in terms}, inter_gene_cor)
    res.insert(0, "library", library)
    res.insert(2, "term_id", [ids.get(t) or "" for t in terms])
    res["fdr"] = bh_adjust(res["pvalue"].to_numpy())
    res = res.sort_values(["pvalue", "term"], kind="mergesort").reset_index(drop=True)
    res.insert(3, "rank", competition_rank(res[["pvalue"]]))
    return res[CAMERA_COLUMNS]


# --------------------------------------------------------------------- inputs of the workflow


def design_and_contrast(
    samples: pd.DataFrame, design: str, contrast: list[str]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Design matrix (rows in the order of ``samples``), contrast vector and column names,
    built as the DE step builds them (formulaic treatment coding, via formulaic_contrasts as
    pydeseq2 does); the contrast is tested level minus reference level."""
    from formulaic_contrasts import FormulaicContrasts

    from ..tables import formula_variables

    var, tested, reference = contrast
    meta = samples[formula_variables(design)].copy()
    for col in meta.columns:
        meta[col] = meta[col].astype(str)
    fc = FormulaicContrasts(meta, design)
    dm = fc.design_matrix
    vec = np.asarray(fc.contrast(var, reference, tested), dtype=float)
    return np.asarray(dm, dtype=float), vec, [str(c) for c in dm.columns]


def expression_by_symbol(de: pd.DataFrame, expr: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``expr`` (genes x samples, indexed by gene ID) that camera tests, named by
    symbol: one row per symbol, chosen as for the ORA and GSEA (``collapse_to_symbols``), and
    only genes with a Wald statistic -- the genes GSEA ranks (genes without reads, Cook's
    outliers and genes without a symbol are left out)."""
    from . import collapse_to_symbols

    genes = collapse_to_symbols(de)
    genes = genes[genes["stat"].notna()]
    missing = [g for g in genes["gene_id"] if g not in expr.index]
    if missing:
        raise ValueError(
            f"{len(missing)} gene(s) of the DE table are not in the expression matrix, e.g. "
            f"{', '.join(map(str, missing[:5]))}: the two files are not from the same DE run"
        )
    y = expr.loc[genes["gene_id"].to_numpy()]
    y.index = pd.Index(genes["symbol"].astype(str).to_numpy(), name="symbol")
    return y
