"""A seeded generator of simulated RNA-seq studies for offline demos of the workflow.

Counts are negative-binomial with per-gene means and dispersions fitted on a real dataset
(:func:`fit_nb`), drawn for two groups (:func:`simulate`), with a known effect planted on
chosen genes (:func:`plant_effect`) -- in the workflow's use case, on the genes of the target
pathway ("Mineral absorption") -- and none in a null dataset. :func:`simulate_study` does it
all from a real count matrix and writes every dataset, plus ``study.json`` saying what was
planted where. Every sample sheet written here has a column ``simulated`` = ``yes``.

The model, per gene *i* and sample *j* of group *g*::

    K_ij ~ NB(mean = s_j * mean_i * fold_ij * 2^(shift_ig + sum_k l_ik z_kj), dispersion = a_i)
    s_j  ~ lognormal(0, size_factor_sd)                            (library size factors)
    fold_ij = planted[i] in the affected samples of the second group (all, or with
              ``effect_in_reduced`` those whose ``reduce_gene`` is lowered), else 1
    shift_ig = log2FC of background DE (:func:`background_effects`) and off-target effects on
               other pathways (:func:`off_target_effects`) in the second group, else 0
    z_kj = latent factor k of sample j (N(0, 1), or binary: present in a share of the samples);
           l_ik its loading on gene i (the module's genes, :func:`module_members`): genes of a
           module are correlated across samples (e.g. the metallothioneins; MEIS1 with the target
           pathway, the selection-bias scenario)

Means and dispersions can come from several real datasets (:func:`prepare_source`): technical
lanes of one cell line for cells, 85 individuals for tissue. :func:`simulate_dataset` makes one
dataset from a spec entry; ``benchmarks/calibration.py`` uses it for the calibration studies.

Fitting (:func:`fit_nb`), on median-of-ratios normalised counts ``y_ij = K_ij / s_j``:

* ``mean`` = mean of y over samples; with ``group`` the mean of the group means weighted by
  group size (= the overall mean of y), while the *variance* is taken within groups, so a real
  treatment effect does not inflate the dispersions;
* gene-wise method of moments: since ``Var(y) = mu * mean(1/s) + a mu^2``,
  ``a_mom = (s^2 - mu * mean(1/s)) / mu^2`` (pooled within groups: sums of
  ``(n_g - 1)(s_g^2 - m_g xi_g)`` over sums of ``(n_g - 1) m_g^2``);
* a trend ``a(mu) = a1 / mu + a0`` fitted to all genes, negative estimates included, by
  unbiased estimating equations (see :func:`_trend_fit`: a gamma GLM on the positive
  estimates, as DESeq2 fits its own gene-wise estimates, overstated a small ``a1`` ~1.7-fold
  on data simulated with a known trend; plain moment estimates understate it at low counts);
* empirical-Bayes shrinkage on the log scale toward the trend:
  ``log a = w log a_mom + (1 - w) log trend`` with ``w = tau^2 / (tau^2 + v)``, where ``v`` is
  the sampling variance of ``log a_mom``: ``trigamma(df/2)`` (that of ``log(chi2_df/df)``)
  times ``(1 + 1/(mu * trend))^2`` (delta method on the variance of a sample variance; large
  for low counts, whose estimate is mostly Poisson noise, so they get the trend), and
  ``tau^2`` is the spread of the true dispersions around the trend (robust variance of
  ``log(a_mom/trend)`` over well-measured genes minus what sampling noise alone gives, at
  least 0.05); non-positive ``a_mom`` are floored at 1e-4 first. On simulated data with a
  known trend and 8 residual df, the shrunk values have about half the error of the raw
  moments and less than the true trend itself (tests/test_simulate.py);
* clip to [1e-4, 10]; genes with ``mean < min_mean`` are dropped.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.special import polygamma
from scipy.stats import chi2

from ..errors import InputError, preview
from ..de.normalization import median_of_ratios  # noqa: F401  (also part of this module's API)
from ..util import atomic_write, write_tsv

log = logging.getLogger(__name__)

MIN_DISPERSION = 1e-4
MAX_DISPERSION = 10.0
# the least spread of true log dispersions around the trend that shrinkage assumes
MIN_PRIOR_LOG_VAR = 0.05
# default planted effect: 60% of the target genes, half up half down, |log2FC| 1.5 (2.8-fold);
# see plant_effect and the module tests for why this is enough and not much more than enough
DEFAULT_FRACTION = 0.6
DEFAULT_LOG2FC = 1.5
DEFAULT_GROUPS = ("control", "treated")
DATASET_KEYS = {
    "n_per_group",
    "effect",
    "log2fc",
    "fraction",
    "mixed_direction",
    "seed_offset",
    "sample_prefix",
    "reduce_gene",
    "source",
    "background",
    "off_target",
    "modules",
    "effect_in_reduced",
    # sample faults (pathverdict.simulation.faults)
    "effect_in_samples",
    "resequenced",
    "swap_labels",
    "sheet_columns",
}
SIMULATED_NOTE = (
    "SIMULATED data (pathverdict.simulation.simulate): negative-binomial counts with means and dispersions "
    "fitted on a real dataset; not a measurement"
)


# --------------------------------------------------------------------------- fitting


def _trend_fit(
    mean: np.ndarray, num: np.ndarray, den: np.ndarray, den_unbiased: np.ndarray, maxit: int = 100
) -> tuple[float, float]:
    """``a1 / mean + a0`` fitted to the method-of-moments pieces of all genes.

    ``a_mom = num / den`` is biased where counts are low: ``den`` uses squared sample means,
    which overestimate ``mu^2`` by ``Var(mean)`` (a factor ``1 / (1 + (1/mu + a)/n)`` on
    ``a_mom``), and dropping negative estimates (as a gamma GLM must) biases it the other way.
    ``den_unbiased`` subtracts ``s^2 / n``, so ``E[num - a * den_unbiased] = 0`` for every gene;
    the trend solves these estimating equations summed over genes with the weights
    ``(1, 1/mean) / (mean^2 (1/mean + a)^2)`` (``Var(num) ~ mu^4 (1/mu + a)^2``), iterated,
    leaving out genes whose ``a_mom`` is above 15 x the fit (hypervariable genes). When a
    coefficient comes out non-positive, the other one is fitted alone.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        mom = num / den
    ok = np.isfinite(mom) & np.isfinite(den_unbiased) & (mean > 0)
    x, mean, num, den_u, mom = 1.0 / mean[ok], mean[ok], num[ok], den_unbiased[ok], mom[ok]

    def solve(use: np.ndarray, start: np.ndarray) -> np.ndarray:
        coef = start.copy()
        for _ in range(maxit):
            fitted = coef[0] + coef[1] * x
            keep = mom < 15 * fitted
            g = 1.0 / (mean[keep] ** 2 * (x[keep] + fitted[keep]) ** 2)
            Z = np.column_stack([np.ones(keep.sum()), x[keep]])[:, use]
            A = (Z * (g * den_u[keep])[:, None]).T @ Z
            b = Z.T @ (g * num[keep])
            sol = np.zeros(2)
            sol[use] = np.linalg.solve(A, b)
            if not np.all(np.isfinite(sol)) or np.any(sol[use] <= 0):
                return sol
            done = np.allclose(sol, coef, rtol=1e-7, atol=1e-12)
            coef = sol
            if done:
                break
        return coef

    coef = solve(np.array([True, True]), np.array([0.1, 1.0]))
    if np.all(coef > 0):
        return float(coef[0]), float(coef[1])
    for use, start in (
        (np.array([True, False]), np.array([0.1, 0.0])),
        (np.array([False, True]), np.array([0.0, 1.0])),
    ):
        alone = solve(use, start)
        if np.all(alone[use] > 0):
            log.info("dispersion trend: a1/mean + a0 gave %s; fitted %s alone", coef, "a0" if use[0] else "a1")
            return max(float(alone[0]), 0.0), max(float(alone[1]), 0.0)
    log.info("dispersion trend: no positive fit (%s); using the minimum dispersion", coef)
    return MIN_DISPERSION, 0.0


def _log_chi2_mad_var(df: int) -> float:
    """(1.4826 MAD)^2 of log(chi2_df / df): the robust variance that pure sampling noise gives
    the log dispersion estimates (a bit below their variance, trigamma(df/2), as the
    distribution is skewed)."""
    from scipy.optimize import brentq

    dist = chi2(df)
    med = np.log(dist.ppf(0.5))

    def coverage(d: float) -> float:
        return dist.cdf(np.exp(med + d)) - dist.cdf(np.exp(med - d)) - 0.5

    return float((1.4826 * brentq(coverage, 1e-9, 50.0)) ** 2)


def fit_nb(
    counts: pd.DataFrame, samples: pd.DataFrame | None = None, group: str | None = None, min_mean: float = 1.0
) -> pd.DataFrame:
    """Per-gene negative-binomial ``mean`` and ``dispersion`` of a raw count matrix.

    ``counts`` is genes x samples; with ``group`` (a column of ``samples``, indexed by sample)
    variances are taken within groups and pooled (see the module docs). Returns a frame
    indexed like ``counts`` (genes with mean < ``min_mean`` dropped), with columns ``mean``,
    ``dispersion`` and the unshrunk ``dispersion_mom``; ``attrs`` holds the trend
    coefficients, the size factors and the prior spread. Deterministic.
    """
    if counts.shape[1] < 2:
        raise InputError(f"fit_nb needs at least 2 samples; the count matrix has {counts.shape[1]}.")
    if group is not None:
        if samples is None or group not in samples.columns:
            raise InputError(
                f"fit_nb: group column {group!r} is not in the sample sheet "
                f"(columns: {preview([] if samples is None else list(samples.columns))})."
            )
        missing = [s for s in counts.columns if s not in samples.index]
        if missing:
            raise InputError(f"fit_nb: count columns without a sample sheet row: {preview(missing)}.")
        labels = samples.loc[list(counts.columns), group].astype(str).to_numpy()
    else:
        labels = np.array(["all"] * counts.shape[1])
    raw = counts.to_numpy(dtype=float)
    sf = median_of_ratios(raw)
    y = raw / sf[None, :]
    mean = y.mean(axis=1)
    num = np.zeros(len(y))
    den = np.zeros(len(y))
    den_unbiased = np.zeros(len(y))
    df = 0
    for level in sorted(set(labels)):
        cols = labels == level
        n = int(cols.sum())
        if n < 2:
            continue  # a single sample carries no information on the variance
        m = y[:, cols].mean(axis=1)
        v = y[:, cols].var(axis=1, ddof=1)
        xi = float(np.mean(1.0 / sf[cols]))
        num += (n - 1) * (v - m * xi)
        den += (n - 1) * m**2
        den_unbiased += (n - 1) * (m**2 - v / n)
        df += n - 1
    if df == 0:
        raise InputError("fit_nb: no group has 2 or more samples, so dispersions cannot be estimated.")
    keep = (mean >= min_mean) & (mean > 0)
    if not keep.any():
        raise InputError(f"fit_nb: no gene has a mean normalised count >= {min_mean}.")
    mean, num, den, den_unbiased = mean[keep], num[keep], den[keep], den_unbiased[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        mom = np.where(den > 0, num / den, 0.0)
    a0, a1 = _trend_fit(mean, num, den, den_unbiased)
    trend = a1 / mean + a0
    # sampling variance of log(a_mom): that of log(chi2_df / df) where the Poisson part is
    # negligible, inflated by the delta method (Var(s^2) ~ 2 sigma^4 / df, sigma^2 = mu + a mu^2)
    inflation = (1.0 + 1.0 / (mean * trend)) ** 2
    v = float(polygamma(1, df / 2.0)) * inflation
    log_mom = np.log(np.maximum(mom, MIN_DISPERSION))
    resid = log_mom - np.log(trend)
    good = (inflation < 2.25) & (mom > MIN_DISPERSION)
    if good.sum() < 50:
        good = (inflation <= np.quantile(inflation, 0.25)) & (mom > MIN_DISPERSION)
    if good.sum() >= 10:
        med = np.median(resid[good])
        robust_var = (1.4826 * np.median(np.abs(resid[good] - med))) ** 2
        tau2 = max(robust_var - _log_chi2_mad_var(df) * float(np.mean(inflation[good])), MIN_PRIOR_LOG_VAR)
    else:
        tau2 = 0.25
    w = tau2 / (tau2 + v)
    disp = np.exp(w * log_mom + (1 - w) * np.log(trend))
    disp = np.clip(disp, MIN_DISPERSION, MAX_DISPERSION)
    out = pd.DataFrame(
        {"mean": mean, "dispersion": disp, "dispersion_mom": np.where(np.isfinite(mom), mom, np.nan)},
        index=counts.index[keep],
    )
    out.index.name = counts.index.name or "gene_id"
    out.attrs.update(
        trend={"a0": a0, "a1": a1},
        prior_log_var=float(tau2),
        residual_df=int(df),
        size_factors={str(s): float(f) for s, f in zip(counts.columns, sf)},
        genes_in=int(len(counts)),
        genes_kept=int(keep.sum()),
        min_mean=float(min_mean),
        group=group,
    )
    return out


# --------------------------------------------------------------------------- simulation


def simulate(
    params: pd.DataFrame,
    *,
    n_per_group: int,
    groups: tuple[str, str] = DEFAULT_GROUPS,
    planted: dict[str, float] | None = None,
    seed: int,
    size_factor_sd: float = 0.15,
    sample_prefix: str = "S",
    log2fc: dict[str, float] | None = None,
    affected: list[int] | None = None,
    modules: list[dict] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Negative-binomial counts for two groups of ``n_per_group`` samples each.

    ``params`` has columns ``mean`` and ``dispersion`` (from :func:`fit_nb`); ``planted`` maps
    gene ID -> fold change of the second group -- of all its samples, or with ``affected``
    (positions 0..n_per_group-1 within the second group) of those only. ``log2fc`` maps gene
    ID -> log2 fold change of every sample of the second group (background DE, off-target
    effects), on top of ``planted``. ``modules`` are correlated gene modules driven by a latent
    factor of each sample: dicts ``{name, ids, loading, kind: normal | binary, prevalence}``;
    a sample's log2 mean of every gene in ``ids`` moves by ``loading * z_j`` with ``z_j ~ N(0, 1)``
    (``normal``), or ``z_j = Bernoulli(prevalence) + N(0, 0.15)`` (``binary``: e.g. a
    dissection that includes a MEIS1-rich region or not), the same ``z_j`` for every gene of
    the module, so their counts are correlated across samples; the latent values are in
    ``counts.attrs["latent"]``. Returns (counts: genes x samples, int64, index ``gene_id``;
    sample sheet: columns ``sample``, ``condition``). Draws come from
    ``numpy.random.default_rng(seed)``: first the size factors, then all counts (the latent
    factors from ``default_rng([seed, 2])``), so the same seed gives identical output.
    """
    if n_per_group < 1:
        raise InputError(f"n_per_group must be at least 1 (got {n_per_group}).")
    groups = tuple(str(g) for g in groups)
    if len(groups) != 2 or groups[0] == groups[1]:
        raise InputError(f"groups must be two different labels (got {groups!r}).")
    planted = dict(planted or {})
    unknown = [g for g in planted if g not in params.index]
    if unknown:
        raise InputError(f"planted gene(s) not in the simulation parameters: {preview(unknown)}.")
    bad = {g: f for g, f in planted.items() if not (np.isfinite(f) and f > 0)}
    if bad:
        raise InputError(f"planted fold changes must be positive numbers: {preview(bad.items())}.")
    mean = params["mean"].to_numpy(dtype=float)
    disp = params["dispersion"].to_numpy(dtype=float)
    if np.any(~np.isfinite(mean) | (mean < 0)) or np.any(~np.isfinite(disp) | (disp <= 0)):
        raise InputError("simulation parameters need finite means >= 0 and dispersions > 0.")
    fold = params.index.map(lambda g: planted.get(g, 1.0)).to_numpy(dtype=float)
    shift = np.zeros(len(params))
    if log2fc:
        unknown = [g for g in log2fc if g not in params.index]
        if unknown:
            raise InputError(f"log2fc gene(s) not in the simulation parameters: {preview(unknown)}.")
        shift = params.index.map(lambda g: float(log2fc.get(g, 0.0))).to_numpy(dtype=float)
    n = 2 * n_per_group
    width = len(str(n))
    names = [f"{sample_prefix}{i + 1:0{width}d}" for i in range(n)]
    condition = [groups[0]] * n_per_group + [groups[1]] * n_per_group
    rng = np.random.default_rng(seed)
    sf = rng.lognormal(0.0, size_factor_sd, size=n)
    second = np.array([c == groups[1] for c in condition])
    hit = second.copy()
    if affected is not None:
        hit = np.zeros(n, dtype=bool)
        hit[[n_per_group + int(i) for i in affected]] = True
    log_mod = np.zeros((len(params), n))
    latent = {}
    if modules:
        lrng = np.random.default_rng([int(seed), 2])
        pos = {g: i for i, g in enumerate(params.index)}
        for m in modules:
            if m.get("kind", "normal") == "binary":
                z = (lrng.random(n) < float(m.get("prevalence", 0.5))).astype(float) + lrng.normal(0, 0.15, n)
            else:
                z = lrng.normal(0.0, 1.0, n)
            rows = [pos[g] for g in m["ids"] if g in pos]
            log_mod[rows, :] += float(m["loading"]) * z[None, :]
            latent[str(m.get("name", f"module{len(latent) + 1}"))] = [float(v) for v in z]
    mu = (
        mean[:, None]
        * np.where(hit[None, :], fold[:, None], 1.0)
        * np.exp2(np.where(second[None, :], shift[:, None], 0.0) + log_mod)
        * sf[None, :]
    )
    size = 1.0 / disp[:, None]
    draws = rng.negative_binomial(np.broadcast_to(size, mu.shape), size / (size + mu))
    counts = pd.DataFrame(
        draws.astype(np.int64), index=pd.Index(params.index.astype(str), name="gene_id"), columns=names
    )
    counts.attrs["latent"] = latent
    sheet = pd.DataFrame({"sample": names, "condition": condition})
    return counts, sheet


def plant_effect(
    genes: list[str],
    rng_seed: int,
    fraction: float = DEFAULT_FRACTION,
    log2fc: float = DEFAULT_LOG2FC,
    mixed_direction: bool = True,
) -> dict[str, float]:
    """Choose ``round(fraction * n)`` of the (sorted, unique) ``genes`` with
    ``default_rng(rng_seed)`` and give them the fold change ``2**log2fc``; with
    ``mixed_direction`` half of them (the extra one up when odd) get ``2**-log2fc`` instead.
    Returns gene -> fold, sorted by gene."""
    if not 0 <= fraction <= 1:
        raise InputError(f"fraction must be between 0 and 1 (got {fraction}).")
    pool = sorted(set(map(str, genes)))
    k = int(round(fraction * len(pool)))
    rng = np.random.default_rng(rng_seed)
    chosen = rng.choice(len(pool), size=k, replace=False) if k else np.array([], dtype=int)
    # the order of `chosen` is random: its first half goes up, the rest down
    n_up = (k + 1) // 2 if mixed_direction else k
    up = float(2.0**log2fc)
    out = {pool[i]: (up if rank < n_up else 1.0 / up) for rank, i in enumerate(chosen)}
    return dict(sorted(out.items()))


def write_dataset(
    counts: pd.DataFrame, samples: pd.DataFrame, out_counts, out_samples, simulated_note: str = SIMULATED_NOTE
) -> None:
    """Write ``counts`` (tsv.gz, first column ``gene_id``) and the sample sheet (tsv) atomically;
    the sheet gets ``simulated`` = ``yes`` and ``note`` = ``simulated_note`` columns."""
    sheet = samples.reset_index() if "sample" not in samples.columns else samples.copy()
    if list(sheet["sample"]) != list(counts.columns):
        raise InputError("write_dataset: the sample sheet's `sample` column must list the count columns in order.")
    sheet["simulated"] = "yes"
    sheet["note"] = " ".join(str(simulated_note).split())  # one line, no tabs
    table = counts.astype(np.int64)
    table.index = table.index.rename("gene_id")
    with atomic_write(out_counts) as fh:
        table.to_csv(fh, sep="\t", lineterminator="\n")
    write_tsv(sheet, out_samples)


# --------------------------------------------------------------------------- effects of a study's datasets


def reduce_gene(
    counts: pd.DataFrame,
    sheet: pd.DataFrame,
    spec: dict,
    symbol_of: dict,
    group: str,
    seed: int,
    where: str,
    positions: list[int] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Lower one gene in a share of ``group``'s samples (e.g. RLS patients with reduced MEIS1).

    The counts of the chosen samples are binomially thinned with probability ``fold``: a
    thinned negative binomial is again negative binomial with the mean times ``fold`` and
    the same dispersion. The samples are picked by a generator seeded with ``seed``.
    """
    gene, fraction, fold = spec["gene"], float(spec["fraction"]), float(spec["fold"])
    if not 0 < fold <= 1:
        raise InputError(f"{where}.fold: {fold} must be in (0, 1] (a reduction).")
    ids = [g for g in counts.index if isinstance(symbol_of.get(g), str) and symbol_of[g] == gene]
    if not ids:
        raise InputError(
            f"{where}.gene: {gene!r} is not among the simulated genes; add it to `keep_genes` (it needs "
            "a mean count of at least min_mean in the real dataset)."
        )
    members = list(sheet.loc[sheet["condition"] == group, "sample"])
    k = max(1, int(round(fraction * len(members))))
    rng = np.random.default_rng([int(seed), 1])
    if positions is None:
        chosen = sorted(rng.choice(members, size=k, replace=False).tolist())
    else:  # chosen by the caller (same generator, so the same samples): the effect may follow them
        rng.choice(len(members), size=k, replace=False)
        chosen = sorted(members[i] for i in positions)
    out = counts.copy()
    block = out.loc[ids, chosen].to_numpy()
    out.loc[ids, chosen] = rng.binomial(block, fold)
    return out, {"gene": gene, "gene_ids": ids, "fold": fold, "samples": chosen}


def background_effects(ids, exclude, fraction: float, log2fc_sd: float, seed) -> dict[str, float]:
    """Background DE: ``round(fraction * n)`` of ``ids`` not in ``exclude`` (the target pathway,
    the key genes) get a log2 fold change drawn from N(0, ``log2fc_sd``) -- many small effects,
    a few large ones, up and down, as a real perturbation gives. Seeded; returns id -> log2FC."""
    if not 0 <= fraction <= 1:
        raise InputError(f"background.fraction must be between 0 and 1 (got {fraction}).")
    excl = set(exclude)
    pool = [g for g in ids if g not in excl]
    k = int(round(fraction * len(ids)))
    k = min(k, len(pool))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pool), size=k, replace=False) if k else np.array([], dtype=int)
    values = rng.normal(0.0, float(log2fc_sd), size=k)
    return {pool[i]: float(v) for i, v in zip(chosen, values)}


def off_target_effects(
    sets: dict[str, list[str]],
    symbol_of: dict,
    ids,
    target_term: str,
    n_pathways: int,
    fraction: float,
    log2fc: float,
    seed,
    exclude=(),
    min_size: int = 15,
    max_size: int = 150,
) -> tuple[dict[str, float], list[str]]:
    """Effects on other pathways: ``n_pathways`` pathways of the library (other than the target,
    with ``min_size``..``max_size`` of their genes simulated) chosen at random, and in each
    ``round(fraction * n)`` of its simulated genes (never a target or ``exclude`` gene) get
    ``+-log2fc`` (direction at random per gene). Returns (id -> log2FC, the pathways)."""
    rng = np.random.default_rng(seed)
    by_symbol: dict[str, list[str]] = {}
    for g in ids:
        sym = symbol_of.get(g)
        if isinstance(sym, str):
            by_symbol.setdefault(sym, []).append(g)
    target_ids = {g for sym in sets.get(target_term, []) for g in by_symbol.get(sym, [])}
    excl = target_ids | set(exclude)
    eligible = []
    for term in sorted(sets):
        if term == target_term:
            continue
        members = sorted({g for sym in sets[term] for g in by_symbol.get(sym, []) if g not in excl})
        if min_size <= len(members) <= max_size:
            eligible.append((term, members))
    if not eligible or n_pathways <= 0:
        return {}, []
    picked = rng.choice(len(eligible), size=min(int(n_pathways), len(eligible)), replace=False)
    out: dict[str, float] = {}
    terms = []
    for i in sorted(picked):
        term, members = eligible[i]
        terms.append(term)
        k = int(round(fraction * len(members)))
        chosen = rng.choice(len(members), size=k, replace=False)
        signs = rng.choice([-1.0, 1.0], size=k)
        for j, sgn in zip(chosen, signs):
            out.setdefault(members[j], float(sgn * log2fc))
    return out, terms


def module_members(spec: dict, symbol_of: dict, ids, target_ids, seed, where: str) -> list[str]:
    """Gene IDs of a module: ``symbols`` (list), ``pattern`` (regex on symbols) and a share
    ``target_fraction`` of the target pathway's genes (chosen with ``seed``)."""
    import re

    members = set()
    syms = set(map(str, spec.get("symbols") or []))
    pattern = re.compile(spec["pattern"]) if spec.get("pattern") else None
    for g in ids:
        sym = symbol_of.get(g)
        if isinstance(sym, str) and (sym in syms or (pattern is not None and pattern.search(sym))):
            members.add(g)
    frac = float(spec.get("target_fraction", 0) or 0)
    if frac > 0:
        pool = sorted(target_ids)
        k = int(round(frac * len(pool)))
        rng = np.random.default_rng(seed)
        members.update(pool[i] for i in rng.choice(len(pool), size=k, replace=False))
    if not members:
        raise InputError(
            f"{where}: no simulated gene matches this module (symbols {preview(sorted(syms))}, pattern "
            f"{spec.get('pattern')!r}); add its genes to keep_genes."
        )
    return sorted(members)
