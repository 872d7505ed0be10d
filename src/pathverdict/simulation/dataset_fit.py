"""Simulated studies from one dataset's own fit, for its per-dataset calibration.

:func:`fit_dataset` takes what the workflow has for a dataset -- its checked counts and sample sheet
(for a dataset that selects patients by expression: all samples, before the selection) and its DE
table -- and returns a :class:`DatasetFit`:

* **genes**: every gene of the matrix with reads (all-zero genes carry no information and get no
  test, in DESeq2 as here); their symbols;
* **library sizes**: the samples' median-of-ratios size factors;
* **means and dispersions**: :func:`pathverdict.simulation.simulate.fit_nb` on the counts, with the
  variance taken within the groups of the design's variables (a real effect of the condition or of
  a covariate does not inflate the dispersions), shrunk towards the fitted trend;
* **background DE**, estimated from the DE table: the observed log2 fold changes ``b`` and their
  standard errors ``s`` of the genes with an adjusted p-value (the genes DESeq2 tested after
  independent filtering) are modelled as ``b ~ N(beta, s^2)`` with the true effects ``beta`` drawn
  from a mixture of a point mass at 0 and normals N(0, sd_k^2) on a fixed grid of ``sd_k`` (0.1 to
  6.4 log2 units), the weights fitted by maximum likelihood (EM) -- the normal-mixture prior of
  adaptive shrinkage (Stephens 2017, ``ashr`` with a point mass). The target pathway's own genes are
  left out of the fit (they are the hypothesis under test). The fitted prior says how much of the
  transcriptome is DE and by how much (``background`` in the calibration table).

:func:`simulate_fitted` draws one study: every gene outside the target gets a true effect drawn from its
own posterior given its observed fold change (genes without one: from the prior), so each simulated study
has the dataset's amount of background DE, on the genes -- and so in the pathways -- where the data put
it. The target's genes get effects drawn from the prior alone, whatever the data say about them (a null
study: the target is a pathway like any other of the dataset; a target with no DE at all, in a dataset
where a third of the genes are DE, would look depleted), and a planted study replaces them by ``+-log2fc``
on ``fraction`` of its genes, mixed directions. Counts are negative binomial with the gene's dispersion
and mean ``size factor x mean x 2^(effect in the tested group)`` (the control mean chosen so that the mean
over the compared samples is the fitted one); samples of other levels of the contrast variable keep the
mean. The sample sheet is the dataset's own (same samples, design, covariates, group sizes). What is *not*
simulated: effects of covariates and correlation between genes (each gene is drawn independently; the
package table's scenarios with correlated modules measure what correlation does to the verdict). Seeded:
the same seed gives the same study.
"""

from __future__ import annotations

import dataclasses
import numpy as np
import pandas as pd

from ..errors import InputError
from .simulate import fit_nb, plant_effect

# the normal-mixture grid of the background effects' prior (log2 units); 0 is the point mass
PRIOR_SD = (0.0, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4)


@dataclasses.dataclass
class DatasetFit:
    """One dataset's fit (see the module docs)."""

    params: pd.DataFrame  # gene_id -> mean (normalised, over all samples), dispersion
    size_factors: np.ndarray  # in the order of ``sheet``
    sheet: pd.DataFrame  # the sample sheet, indexed by sample
    contrast: list[str]
    symbols: pd.Series  # gene_id -> symbol (genes of ``params``)
    target_ids: list[str]  # genes of the target pathway among ``params``
    prior: dict  # background DE: {"sd": grid, "weight": weights, "genes": genes fitted}
    lfc: np.ndarray  # observed log2FC per gene of ``params`` (NaN: none)
    lfc_se: np.ndarray

    def share_above(self, lfc: float = 0.5) -> float:
        """The share of genes whose true effect exceeds ``|log2FC|`` = ``lfc`` under the fitted prior (the
        mixture's tiny-effect components absorb noise the standard errors miss, so the share of non-zero
        effects alone would overstate how much is DE)."""
        from scipy.special import erfc

        w = np.asarray(self.prior["weight"], dtype=float)
        sd = np.asarray(self.prior["sd"], dtype=float)
        tail = np.where(sd > 0, erfc(lfc / (np.sqrt(2) * np.where(sd > 0, sd, 1.0))), 0.0)
        return float(np.sum(w * tail))

    def background_text(self) -> str:
        return (
            f"background DE estimated from this dataset's DE table: {100 * self.share_above(0.5):.1f}% of the genes "
            f"with a true |log2FC| > 0.5, {100 * self.share_above(1.0):.1f}% > 1 (fitted on {self.prior['genes']} "
            "genes)"
        )


def fit_prior(b: np.ndarray, s: np.ndarray, sd=PRIOR_SD, iterations: int = 500) -> np.ndarray:
    """Maximum-likelihood weights of the mixture ``sum_k w_k N(0, sd_k^2)`` (``sd_0`` = 0: a point
    mass) for ``b ~ N(beta, s^2)``, ``beta`` from the mixture (EM, from equal weights)."""
    sd = np.asarray(sd, dtype=float)
    var = s[:, None] ** 2 + sd[None, :] ** 2
    loglik = -0.5 * (np.log(2 * np.pi * var) + b[:, None] ** 2 / var)
    lik = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    w = np.full(len(sd), 1.0 / len(sd))
    for _ in range(iterations):
        post = lik * w
        post /= post.sum(axis=1, keepdims=True)
        new = post.mean(axis=0)
        if np.max(np.abs(new - w)) < 1e-7:
            w = new
            break
        w = new
    return w


def _group_column(sheet: pd.DataFrame, design: str) -> pd.Series:
    from ..tables import formula_variables

    cols = [v for v in formula_variables(design) if v in sheet.columns]
    if not cols:
        return pd.Series("all", index=sheet.index)
    return sheet[cols].astype(str).agg("|".join, axis=1)


def fit_dataset(
    counts: pd.DataFrame,
    sheet: pd.DataFrame,
    de_table: pd.DataFrame,
    design: str,
    contrast: list[str],
    symbols: pd.Series,
    target_symbols,
) -> DatasetFit:
    """The dataset's fit (module docs). ``counts``: genes x samples (gene IDs), ``sheet`` indexed by
    sample; ``de_table``: the DE step's table (gene_id, log2FoldChange, lfcSE, padj); ``symbols``:
    gene_id -> symbol; ``target_symbols``: the target pathway's genes."""
    sheet = sheet.loc[list(counts.columns)]
    groups = _group_column(sheet, design)
    if groups.value_counts().max() < 2:  # every combination of the design's levels is a single sample
        groups = sheet[contrast[0]].astype(str)
    with_reads = counts.index[counts.to_numpy().sum(axis=1) > 0]
    if len(with_reads) < 100:
        raise InputError(f"calibration: only {len(with_reads)} genes have reads; the dataset cannot be simulated.")
    fit = fit_nb(counts.loc[with_reads], pd.DataFrame({"group": groups}), "group", min_mean=1e-9)
    sf = np.asarray([fit.attrs["size_factors"][str(c)] for c in counts.columns])
    ids = fit.index.astype(str)
    sym = symbols.reindex(ids)
    targets = set(map(str, target_symbols))
    target_ids = [g for g, s_ in zip(ids, sym) if isinstance(s_, str) and s_ in targets]
    d = de_table.assign(gene_id=de_table["gene_id"].astype(str)).drop_duplicates("gene_id").set_index("gene_id")
    lfc = pd.to_numeric(d["log2FoldChange"], errors="coerce").reindex(ids).to_numpy(dtype=float)
    se = pd.to_numeric(d["lfcSE"], errors="coerce").reindex(ids).to_numpy(dtype=float)
    padj = pd.to_numeric(d["padj"], errors="coerce").reindex(ids).to_numpy(dtype=float)
    use = np.isfinite(lfc) & np.isfinite(se) & (se > 0) & np.isfinite(padj) & ~np.isin(ids, target_ids)
    if use.sum() < 50:
        raise InputError(
            f"calibration: only {int(use.sum())} genes have a log2 fold change and an adjusted p-value in the DE "
            "table; too few to estimate the background DE."
        )
    weight = fit_prior(lfc[use], se[use])
    params = fit[["mean", "dispersion"]].copy()
    params.index = pd.Index(ids, name="gene_id")
    return DatasetFit(
        params=params,
        size_factors=sf,
        sheet=sheet,
        contrast=[str(c) for c in contrast],
        symbols=sym,
        target_ids=target_ids,
        prior={"sd": list(PRIOR_SD), "weight": weight, "genes": int(use.sum())},
        lfc=lfc,
        lfc_se=se,
    )


def draw_background(fit: DatasetFit, rng: np.random.Generator) -> np.ndarray:
    """True log2 fold changes of every gene: from each gene's posterior given its observed fold change
    (the fitted prior alone where there is none) -- and for the target's genes from the prior alone,
    whatever the data say about them: with no effect of its own, the target is a pathway like any
    other of the dataset (where a third of the genes are DE, a target with none would look depleted)."""
    sd = np.asarray(fit.prior["sd"], dtype=float)
    w = np.asarray(fit.prior["weight"], dtype=float)
    b, s = fit.lfc, fit.lfc_se
    have = np.isfinite(b) & np.isfinite(s) & (s > 0) & ~fit.params.index.isin(fit.target_ids)
    n, k = len(b), len(sd)
    comp_var = sd[None, :] ** 2
    post_w = np.tile(w, (n, 1))
    mean = np.zeros((n, k))
    var = np.tile(comp_var, (n, 1))
    if have.any():
        bb, ss = b[have, None], s[have, None] ** 2
        tot = ss + comp_var
        loglik = -0.5 * (np.log(tot) + bb**2 / tot) + np.log(np.maximum(w, 1e-300))[None, :]
        pw = np.exp(loglik - loglik.max(axis=1, keepdims=True))
        post_w[have] = pw / pw.sum(axis=1, keepdims=True)
        shrink = comp_var / tot
        mean[have] = shrink * bb
        var[have] = shrink * ss
    u = rng.random(n)
    comp = (post_w.cumsum(axis=1) < u[:, None]).sum(axis=1).clip(0, k - 1)
    rows = np.arange(n)
    return mean[rows, comp] + np.sqrt(var[rows, comp]) * rng.standard_normal(n)


def simulate_fitted(
    fit: DatasetFit, seed, *, log2fc: float = 0.0, fraction: float = 0.0, mixed_direction: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """One simulated study (module docs): counts (genes x the dataset's samples), the dataset's sample
    sheet, and what was planted (``{gene_id: log2FC}`` on the target; empty for a null study)."""
    rng = np.random.default_rng(seed)
    beta = draw_background(fit, rng)
    planted = {}
    if log2fc and fraction:
        folds = plant_effect(fit.target_ids, int(rng.integers(2**31)), fraction, log2fc, mixed_direction)
        planted = {g: float(np.log2(f)) for g, f in folds.items()}
        pos = fit.params.index.get_indexer(list(planted))
        beta[pos] = list(planted.values())
    var, tested, reference = fit.contrast
    labels = fit.sheet[var].astype(str).to_numpy()
    t_mask, r_mask = labels == tested, labels == reference
    n_t, n_r = int(t_mask.sum()), int(r_mask.sum())
    mean = fit.params["mean"].to_numpy(dtype=float)
    # control mean such that the compared samples' mean is the fitted mean
    base = mean * (n_t + n_r) / (n_r + n_t * np.exp2(beta))
    mu = np.where(
        t_mask[None, :], (base * np.exp2(beta))[:, None], np.where(r_mask[None, :], base[:, None], mean[:, None])
    )
    mu = mu * fit.size_factors[None, :]
    size = 1.0 / fit.params["dispersion"].to_numpy(dtype=float)[:, None]
    draws = rng.negative_binomial(np.broadcast_to(size, mu.shape), size / (size + mu))
    # R's integer limit, which the prepare step enforces on real counts (a draw above it is vanishingly rare)
    counts = pd.DataFrame(
        np.minimum(draws, 2**31 - 1).astype(np.int32), index=fit.params.index, columns=fit.sheet.index
    )
    return counts, fit.sheet.copy(), planted
