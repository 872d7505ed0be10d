"""What two runs of the DE estimation are guaranteed to agree on, and the checks that assert it.

Two runs of the same fit on the same data -- on another CPU (numpy's OpenBLAS picks its kernels,
and numpy its SIMD code for log/exp, by CPU), with other gene blocks or threads (other matrix
shapes reach BLAS), or R DESeq2 and ours -- do not do the same floating-point operations, so
their last bits differ. Closed-form steps carry that to a few units of rounding; the iterative
solvers carry it further only where a run stops one step earlier or later than the other, which
is bounded by the solver's own stopping rule. Each bound below is derived from that rule (the
derivation sits beside it), so a test using these checks passes on any CPU and still fails when a
number moves by more than the algorithm allows (tests/test_blocks.py perturbs inputs to show it).

Exact agreement is kept where it is guaranteed: counts and flags computed from integers, and the
DE calls (padj < alpha) and verdict statuses and ranks except where a number lies within the
stated tolerance of its threshold (:func:`assert_tables_agree`). Same arithmetic in the same order on
the same machine stays bit-identical (reruns, tests/test_reruns_e2e.py; the shortcuts of
tests/test_rcompat_shortcuts.py): those tests keep exact equality. docs/numerics.md has the table.
"""

from __future__ import annotations

import math

import numpy as np

from pathverdict.de.rcompat.dispersion import MIN_DISP, _dispersion_start, _dlog_posterior, _log_posterior
from pathverdict.de.rcompat.glm import MINMU, _nb_logpmf

# The solvers' own tolerances (DESeq2 1.38 and ours use the same constants):
DISP_TOL = 1e-6  # fitDisp: a gene stops when an accepted line-search step gains < 1e-6 in log posterior
BETA_TOL = 1e-8  # fitBeta (IRLS): stops when |dev - dev_old| / (|dev| + 0.1) < 1e-8
NO_INCREASE = 1e-6  # estimateDispersionsGeneEst: keeps the start when lp gains < |lp_start| / 1e6

# Closed-form steps (size factors, means, variances, Cook's distances given the fit, BH): each
# operation rounds to 1/2 ulp, numpy's SIMD log/exp and libm's differ by <= 1-4 ulp, and BLAS
# kernels add n products in another order (error <= n eps sum|x_i| / |sum x_i|). With n <= 10^4
# terms and a condition number (sum|x_i| / |sum x_i|, or a log ratio of two counts) below ~50:
# <= 10^4 * 2.2e-16 * 50 = 1.1e-10 in the worst case; typical sums are pairwise, O(log n) eps.
CLOSED_RTOL = 1e-10

# The parametric dispersion trend a0 + a1 / mean: R's glm.fit IRLS (Gamma, identity link) stops when
# the relative change of the deviance is < 1e-8. The deviance is quadratic near its minimum,
# D(c) - D(c*) = (c - c*)' I (c - c*) phi, so the stop leaves each coefficient within ~sqrt(1e-8) =
# 1e-4 of its standard error, and a coefficient fitted to N genes (dispersions with a CV ~1 around
# the trend) has a standard error of ~1 / sqrt(N) of its value: ~1e-4 / sqrt(N) relative (x3 for
# safety). The gene-wise estimates it is fitted to move within DISP_TOL's bound, each weighing 1 / N.


def trend_rtol(n_genes: int) -> float:
    return 3e-4 / math.sqrt(max(n_genes, 1))


# The fine grid of fitDispGridWrapper (genes whose line search does not converge): 20 points spanning
# two coarse steps of (log(max(10, n)) - log(1e-8)) / 19 around the best coarse point; two runs may
# pick neighbours (a flat posterior). A grid estimate is recognisable: (log alpha - log 1e-8) is a
# whole multiple of 2 coarse / 19.


def fine_grid_step(n_samples: int) -> float:
    coarse = (math.log(max(10, n_samples)) - math.log(1e-8)) / 19
    return 2 * coarse / 19


def on_fine_grid(alpha, n_samples: int) -> np.ndarray:
    """Estimates from the fine grid (not the lower bound 1e-8, where estimates are clipped)."""
    alpha = np.asarray(alpha, dtype=float)
    k = (np.log(alpha) - math.log(1e-8)) / fine_grid_step(n_samples)
    return (np.abs(k - np.round(k)) < 1e-6) & (alpha > MIN_DISP * (1 + 1e-9))


def map_log_alpha_atol(prior_var: float) -> float:
    """How far two runs' MAP dispersions may lie apart in log(alpha), from the line search's rule.

    Near its maximum the log posterior is lp* - H (a - a*)^2 / 2. The line search stops after an
    accepted step that gained < DISP_TOL; its step size adapts (halved on rejection, x1.1 on
    acceptance) to kappa H in [1/2, 2], where a step gains at least half the remaining gap, so
    the stop is within 2 DISP_TOL of lp*: |a - a*| <= sqrt(4 DISP_TOL / H). The prior adds
    1 / prior_var to H (the likelihood is concave there), so each run is within
    sqrt(4 DISP_TOL prior_var) of a*, and two runs within twice that."""
    return 4.0 * math.sqrt(DISP_TOL * prior_var)


def prior_var_range(fit, e) -> tuple[float, float]:
    """The dispersion prior variance of ``fit`` when each gene's log residual (log gene-wise
    estimate - log trend) may move by up to ``e`` (per gene): the median of x +- e lies between
    the medians of x - e and x + e (order statistics are monotone), each |x - median| within e
    plus that move of its value, so the mad within the medians of those bounds; var = mad^2 and
    prior_var = max(var - trigamma(df / 2), 0.25) is monotone in var. For df <= 3 (R's
    histogram rule: bins of 0.5 on (-10, 10), then the argmin of a smoothed divergence) the value
    is unchanged while no residual comes within e of a bin edge; otherwise it is not bounded."""
    from scipy import special

    from pathverdict.de.rcompat.rstats import R_MAD_CONSTANT

    used = ~fit.all_zero & (fit.disp_gene_est >= 100 * MIN_DISP)
    x = np.log(fit.disp_gene_est[used]) - np.log(fit.disp_fit[used])
    e = np.broadcast_to(np.asarray(e, dtype=float), fit.all_zero.shape)[used]
    n, p = fit.X.shape
    pv = fit.disp_prior_var
    if n - p <= 3:
        edge = np.abs(x * 2 - np.round(x * 2)) / 2  # distance to the nearest multiple of 0.5
        return (pv, pv) if not np.any((edge <= e) & (np.abs(x) < 10)) else (0.25, 8.0)
    m = np.median(x)
    dm = max(m - np.median(x - e), np.median(x + e) - m)
    d = np.abs(x - m)
    mads = (R_MAD_CONSTANT * np.median(np.maximum(d - e - dm, 0.0)), R_MAD_CONSTANT * np.median(d + e + dm))
    trigamma = float(special.polygamma(1, (n - p) / 2))
    lo, hi = (max(v * v - trigamma, 0.25) for v in mads)
    return lo - CLOSED_RTOL * pv, hi + CLOSED_RTOL * pv


def _counts_used(fit) -> np.ndarray:
    """The counts each gene was fitted to (the refit's replaced counts for refitted genes)."""
    y = np.asarray(fit.counts, dtype=float).copy()
    for g, row in fit.replace_counts.items():
        y[g] = row
    return y


def _rel(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(a == b, 0.0, np.abs(a - b) / np.maximum(np.abs(a), np.abs(b)))


def _fail(what: str, bad: np.ndarray, got, want, bound, note: str = "") -> None:
    if not np.any(bad):
        return
    i = np.flatnonzero(bad)
    k = i[0]
    raise AssertionError(
        f"{what}: {i.size} value(s) beyond what the algorithm allows, e.g. index {k}: "
        f"{np.ravel(got)[k]!r} vs {np.ravel(want)[k]!r} (allowed: {np.ravel(bound)[k]:.3g}). {note}".rstrip()
    )


def assert_same_nan(what, a, b) -> None:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert np.array_equal(np.isnan(a), np.isnan(b)), f"{what}: NaN in one run only"


def assert_closed_form(what, a, b, rtol: float = CLOSED_RTOL) -> None:
    """A closed-form quantity: equal to rounding (:data:`CLOSED_RTOL`)."""
    assert_same_nan(what, a, b)
    r = _rel(a, b)
    _fail(what, np.nan_to_num(r) > rtol, a, b, np.full(r.shape, rtol))


def assert_fits_agree(a, b) -> dict:
    """Assert that two ``rcompat.DESeqFit`` of the same counts and design agree as far as the
    algorithm guarantees, stage by stage: each stage within its solver's bound given how far
    its inputs (the earlier stages) actually moved. Returns the per-gene differences found
    as the bounds :func:`assert_tables_agree` takes (``z_tol``, ``dse``)."""
    X = np.asarray(a.X, dtype=float)
    n, p = X.shape
    # exact: computed from integers
    assert np.array_equal(a.all_zero, b.all_zero), "all-zero genes differ"
    assert a.trend.fit_type == b.trend.fit_type, (a.trend.fit_type, b.trend.fit_type)
    for f in ("size_factors", "base_mean", "base_var"):
        assert_closed_form(f, getattr(a, f), getattr(b, f))
    nz = np.flatnonzero(~a.all_zero)
    y = _counts_used(a)[nz]
    sf = np.asarray(a.size_factors, dtype=float)

    # the trend: within trend_rtol (derivation there)
    t_rtol = trend_rtol(nz.size)
    if a.trend.fit_type == "parametric":
        r = _rel([a.trend.asympt_disp, a.trend.extra_pois], [b.trend.asympt_disp, b.trend.extra_pois])
        _fail("trend coefficients", r > t_rtol, [a.trend.asympt_disp], [b.trend.asympt_disp], [t_rtol])
    dlog_fit = np.abs(np.log(a.disp_fit[nz]) - np.log(b.disp_fit[nz]))
    _fail("disp_fit (log)", dlog_fit > t_rtol, a.disp_fit[nz], b.disp_fit[nz], np.full(nz.size, t_rtol))

    # gene-wise dispersions, on the line search's own scale: the log posterior (no prior) at each
    # run's estimate. Each stop is within 2 DISP_TOL of the maximum (map_log_alpha_atol), so the two
    # are within 4 DISP_TOL of each other -- also where the posterior is flat and alpha is not
    # determined (at the lower bound 1e-8: 1e-8 and 1.7e-8 are equally good). The "no increase" rule
    # keeps the start when the gain is < |lp(start)| / 1e6: where a run is on either side of it, the
    # two differ by up to that margin. Genes whose search did not converge take the fine grid:
    # neighbouring grid points.
    with np.errstate(all="ignore"):
        alpha_init, mu = _dispersion_start(y, X, sf, a.base_mean[nz], a.base_var[nz])
        zero = np.zeros(nz.size)

        def lp(alpha):
            return _log_posterior(np.log(alpha), y, mu, X, zero, 1.0, False)

        lp_a, lp_b, lp_init = lp(a.disp_gene_est[nz]), lp(b.disp_gene_est[nz]), lp(alpha_init)
    bound = 4 * DISP_TOL + 2 * NO_INCREASE * np.abs(lp_init)
    dlog_gene = np.abs(np.log(a.disp_gene_est[nz]) - np.log(b.disp_gene_est[nz]))
    grid = on_fine_grid(a.disp_gene_est[nz], n) | on_fine_grid(b.disp_gene_est[nz], n)
    bad = (np.abs(lp_a - lp_b) > bound) & ~(grid & (dlog_gene <= fine_grid_step(n) * 1.000001))
    _fail(
        "gene-wise dispersion (log posterior)", bad, lp_a, lp_b, bound, "The line search stops within 2e-6 of the top."
    )

    # the prior variance: within prior_var_range of the residuals' actual moves (derivation there)
    # (a gene whose estimate crosses 1e-6, the floor of the genes used, counts as moved anywhere)
    crossed = (a.disp_gene_est[nz] >= 100 * MIN_DISP) != (b.disp_gene_est[nz] >= 100 * MIN_DISP)
    moved = np.where(crossed, np.inf, dlog_gene + dlog_fit)
    lo, hi = prior_var_range(a, _scatter(nz, moved, len(a.all_zero)))
    ok_pv = lo <= b.disp_prior_var <= hi
    _fail("prior variance", np.array([not ok_pv]), [a.disp_prior_var], [b.disp_prior_var], [hi - lo])
    dpv = abs(a.disp_prior_var - b.disp_prior_var)
    mad = math.sqrt(a.var_log_disp_ests)
    dmad = abs(mad - math.sqrt(b.var_log_disp_ests))

    # MAP dispersions: map_log_alpha_atol, plus how far the prior moved: its mean (the trend) shifts
    # the maximum by at most as much; its variance by at most |a - mean| dpv / pv (the MAP weighs the
    # prior mean by (1/pv) / H <= 1); genes whose search did not converge: the fine grid.
    la, lb = np.log(a.disp_map[nz]), np.log(b.disp_map[nz])
    map_tol = (
        map_log_alpha_atol(a.disp_prior_var)
        + dlog_fit
        + np.abs(la - np.log(a.disp_fit[nz])) * dpv / a.disp_prior_var
        + CLOSED_RTOL
    )
    dmap = np.abs(la - lb)
    grid = on_fine_grid(a.disp_map[nz], n) | on_fine_grid(b.disp_map[nz], n)
    map_tol = np.where(grid, np.maximum(map_tol, fine_grid_step(n) * 1.000001), map_tol)
    _fail("MAP dispersion (log)", dmap > map_tol, a.disp_map[nz], b.disp_map[nz], map_tol)

    # dispersion outliers (log gene-wise > log trend + 2 sd): the flag may differ only for genes
    # within the two runs' differences of that threshold
    margin = np.log(a.disp_gene_est[nz]) - np.log(a.disp_fit[nz]) - 2 * mad
    may_flip = np.abs(margin) <= dlog_gene + dlog_fit + 2 * dmad + CLOSED_RTOL
    flipped = a.disp_outlier[nz] != b.disp_outlier[nz]
    _fail("dispersion-outlier flag", flipped & ~may_flip, a.disp_outlier[nz], b.disp_outlier[nz], margin)
    for fit in (a, b):  # each run uses the gene-wise estimate for its outliers, the MAP otherwise
        want = np.where(fit.disp_outlier, fit.disp_gene_est, fit.disp_map)
        assert np.array_equal(fit.dispersion, want, equal_nan=True)

    # coefficients: IRLS stops when the deviance changes by < BETA_TOL (|dev| + 0.1); the deviance is
    # quadratic near its minimum, dev - dev* = db' Sigma^-1 db >= (db_j / SE_j)^2, so each run is
    # within sqrt(BETA_TOL (|dev| + 0.1)) standard errors of the optimum for its dispersion. The
    # dispersions differ by dlog_alpha (above): at the optimum d beta / d log alpha = I^-1 sum_i x_i
    # (dw_i / d log alpha) (y_i - mu_i) / mu_i, which by Cauchy-Schwarz is at most sqrt(X2) standard
    # errors per unit of log alpha (X2: the gene's Pearson statistic; |dw / d log alpha| <= w).
    alpha_a = a.dispersion[nz]
    dlog_alpha = np.abs(np.log(alpha_a) - np.log(b.dispersion[nz]))
    beta_a, beta_b = a.beta[nz], b.beta[nz]
    assert_same_nan("beta", beta_a, beta_b)
    with np.errstate(all="ignore"):
        mu_fit = np.maximum(sf[None, :] * np.exp(beta_a @ X.T), MINMU)
        dev = -2.0 * np.sum(_nb_logpmf(y, mu_fit, alpha_a[:, None]), axis=1)
        x2 = np.sum((y - mu_fit) ** 2 / (mu_fit + alpha_a[:, None] * mu_fit**2), axis=1)
        se = np.sqrt(np.diagonal(a.sigma[nz], axis1=1, axis2=2))
        z_tol = 2 * np.sqrt(BETA_TOL * (np.abs(dev) + 0.1)) + np.sqrt(x2) * dlog_alpha
        beta_tol = z_tol[:, None] * se + CLOSED_RTOL * np.abs(beta_a)
        dbeta = np.abs(beta_a - beta_b)
    ok_beta = ~np.isnan(beta_a)
    _fail("beta", ok_beta & (dbeta > beta_tol), beta_a, beta_b, beta_tol, "(in standard errors: IRLS tolerance)")

    # covariance: Sigma = (X'WX)^-1 with w_i = mu_i / (1 + alpha mu_i); |d log w_i| <= |d eta_i| +
    # |d log alpha|, and weights all within a factor (1 +- d) give (X'WX)^-1 within (1 -+ d)^-1:
    # each entry within d / (1 - d) of sqrt(Sigma_jj Sigma_kk), standard errors within d / 2
    with np.errstate(invalid="ignore"):
        deta = np.nanmax(np.abs((beta_a - beta_b) @ X.T), axis=1, initial=0.0)
        d = deta + dlog_alpha + CLOSED_RTOL
        scale = se[:, :, None] * se[:, None, :]
        sig_tol = (d / np.maximum(1 - d, 0.5))[:, None, None] * scale + CLOSED_RTOL * scale
        dsig = np.abs(a.sigma[nz] - b.sigma[nz])
    assert_same_nan("sigma", a.sigma[nz], b.sigma[nz])
    _fail("sigma", ~np.isnan(dsig) & (dsig > sig_tol), a.sigma[nz], b.sigma[nz], sig_tol)

    # Cook's distances D_i = (y_i - mu_i)^2 / (p V_i) h_i / (1 - h_i)^2 at the gene's largest: relative
    # change <= 2 |d mu| / |y - mu| + |d log V| + |d log h| + 2 |dh| / (1 - h), with d mu = mu d eta,
    # |d log V| <= 2 d eta + d log alpha, |d log h| <= 2 (d eta + d log alpha) (the weights and X'WX)
    mc_a, mc_b = a.max_cooks[nz], b.max_cooks[nz]
    assert_same_nan("max_cooks", mc_a, mc_b)
    has = ~np.isnan(mc_a) & (a.cooks_argmax[nz] >= 0)
    if has.any():
        rows = np.flatnonzero(has)
        i = a.cooks_argmax[nz][rows]
        yi, mi = y[rows, i], mu_fit[rows, i]
        de_, da = deta[rows], dlog_alpha[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = 2 * mi * de_ / np.abs(yi - mi) + 2 * de_ + da + 2 * (de_ + da) * (1 + 2 / max(1 - p / n, 0.1))
        rel = np.nan_to_num(rel, nan=np.inf) + CLOSED_RTOL
        r = _rel(mc_a[rows], mc_b[rows])
        _fail("max_cooks", r > rel, mc_a[rows], mc_b[rows], rel)
    # decisions on these numbers: a flip needs a gene at a tie (Cook's cutoff, two samples' distances,
    # an IRLS stop at exactly the 100th iteration), not met by the tests' data
    for f in ("converged", "replace", "cooks_argmax"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert a.n_refit == b.n_refit
    G = len(a.all_zero)
    return {"z_tol": _scatter(nz, z_tol, G), "dse": _scatter(nz, (dlog_alpha + deta) / 2, G)}


def _scatter(idx, values, size):
    out = np.zeros(size)
    out[idx] = values
    return out


def z_tolerance(fit, prior_var: float | None = None) -> dict:
    """A priori bounds (for :func:`assert_tables_agree`) on how far each gene's Wald statistic
    and standard error may differ between two runs of ``fit``'s data, when only the results
    tables are at hand (another process, R): the coefficient's IRLS bound plus the effect of
    the largest dispersion difference the line search allows (:func:`map_log_alpha_atol`), in
    standard errors (``z_tol``, derivation in :func:`assert_fits_agree`); the standard error's
    relative change ``dse`` = (d log alpha + d eta) / 2, with d eta <= z_tol sum_j |x_ij| SE_j."""
    X = np.asarray(fit.X, dtype=float)
    y = _counts_used(fit)
    sf = np.asarray(fit.size_factors, dtype=float)
    da = map_log_alpha_atol(fit.disp_prior_var if prior_var is None else prior_var)
    with np.errstate(all="ignore"):
        alpha = fit.dispersion[:, None]
        mu = np.maximum(sf[None, :] * np.exp(fit.beta @ X.T), MINMU)
        dev = -2.0 * np.sum(_nb_logpmf(y, mu, alpha), axis=1)
        x2 = np.sum((y - mu) ** 2 / (mu + alpha * mu**2), axis=1)
        z_tol = 2 * np.sqrt(BETA_TOL * (np.abs(dev) + 0.1)) + np.sqrt(x2) * da
        se = np.sqrt(np.diagonal(fit.sigma, axis1=1, axis2=2))
        deta = z_tol * np.max(np.abs(X) @ se.T, axis=0)
    z_tol, deta = np.nan_to_num(z_tol), np.nan_to_num(deta)
    return {"z_tol": z_tol, "dse": (da + deta) / 2}


def gene_wise_log_alpha_atol(fit) -> np.ndarray:
    """A priori bound on how far two runs' gene-wise dispersions may lie apart in log(alpha): the
    line search's rule as in :func:`map_log_alpha_atol` without the prior, 2 sqrt(4 DISP_TOL / H),
    with H the curvature of each gene's log posterior at the estimate (central differences of its
    derivative); infinite where the posterior is flat (alpha not determined by the data)."""
    X = np.asarray(fit.X, dtype=float)
    nz = np.flatnonzero(~fit.all_zero)
    y = _counts_used(fit)[nz]
    sf = np.asarray(fit.size_factors, dtype=float)
    out = np.full(len(fit.all_zero), np.nan)
    zero, h = np.zeros(nz.size), 1e-4
    with np.errstate(all="ignore"):
        _, mu = _dispersion_start(y, X, sf, fit.base_mean[nz], fit.base_var[nz])
        la = np.log(fit.disp_gene_est[nz])
        up = _dlog_posterior(la + h, y, mu, X, zero, 1.0, False)
        down = _dlog_posterior(la - h, y, mu, X, zero, 1.0, False)
        curvature = -(up - down) / (2 * h)
        out[nz] = np.where(curvature > 0, 2 * np.sqrt(4 * DISP_TOL / curvature), np.inf)
    return out


def assert_dispersions_agree(fit, dispersion, prior_var: float, trend=None, what: str = "") -> None:
    """Final dispersions and the prior variance of another run (R's) against ``fit``'s, a priori:
    the prior variance within :func:`prior_var_range` of residuals moving by the gene-wise bound
    (:func:`gene_wise_log_alpha_atol`) plus the trend's; the trend within :func:`trend_rtol`; MAP
    dispersions within :func:`map_log_alpha_atol` plus how far the prior moved (its mean, the trend;
    its variance: the MAP weighs the prior mean by (1 / pv) / H <= 1, so |a - mean| dpv / pv);
    dispersion outliers within the gene-wise bound."""
    nz = ~fit.all_zero
    prior_var = float(np.ravel(prior_var)[0])
    t_rtol = trend_rtol(int(nz.sum()))
    lo, hi = prior_var_range(fit, gene_wise_log_alpha_atol(fit) + t_rtol)
    _fail(f"{what} prior variance", np.array([not lo <= prior_var <= hi]), [fit.disp_prior_var], [prior_var], [hi - lo])
    dpv = abs(prior_var - fit.disp_prior_var)
    if trend is not None:
        r = _rel([fit.trend.asympt_disp, fit.trend.extra_pois], trend)
        _fail(f"{what} trend", r > t_rtol, [fit.trend.asympt_disp, fit.trend.extra_pois], trend, [t_rtol] * 2)
    ours = np.asarray(fit.dispersion, dtype=float)
    other = np.asarray(dispersion, dtype=float)
    assert_same_nan(f"{what} dispersion", ours, other)
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = t_rtol + np.abs(np.log(fit.disp_map) - np.log(fit.disp_fit)) * dpv / fit.disp_prior_var
        allowed = np.where(fit.disp_outlier, gene_wise_log_alpha_atol(fit), map_log_alpha_atol(fit.disp_prior_var))
        allowed = allowed + shift + CLOSED_RTOL
        d = np.abs(np.log(ours) - np.log(other))
    _fail(f"{what} dispersion (log)", nz & (d > allowed), ours, other, allowed)


def assert_tables_agree(a, b, bounds: dict, alpha: float = 0.05, what: str = "", slack: dict | None = None) -> int:
    """Two results tables (``RESULT_COLUMNS``, same genes and order) of the same data agree as the
    fit allows (``b`` may hold only some of the columns, as R's values stored in a test; ``a``'s
    statistics then stand for both). ``bounds`` (from :func:`assert_fits_agree` or :func:`z_tolerance`; per gene or
    scalars): ``z_tol``, how far the coefficients may differ in standard errors, and ``dse``, how
    far the standard errors may differ relatively. Then

    * log2FoldChange within z_tol standard errors; lfcSE within dse;
    * stat within dz = z_tol + |stat| dse; p-values: d log p / d|z| = -phi(z) / Phi(-|z|), at most
      |z| + 1 in size (Mills' ratio), so |d log p| <= (|z| + 1) dz;
    * padj_i = min over the genes j with p_j >= p_i (|z_j| <= |z_i|) of p_j n / rank_j, a continuous
      function of the p-values: |d log padj_i| <= (|z_i| + 1) max{dz_j : |z_j| <= |z_i|};
    * the calls padj < alpha identical except for genes within that margin of alpha, and the
      independent filter (a count of such calls per baseMean quantile) identical unless a gene is
      within it.

    ``slack``: a relative tolerance to add per column (``b``'s values stored rounded).
    Returns the number of genes whose call was allowed to differ (within the margin)."""
    slack = slack or {}
    cols = ["baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj"]
    get = {c: (np.asarray(a[c], dtype=float), np.asarray(b[c] if c in b else a[c], dtype=float)) for c in cols}
    assert_closed_form(f"{what} baseMean", *get["baseMean"])
    shape = get["stat"][0].shape
    z_tol = np.broadcast_to(np.asarray(bounds["z_tol"], dtype=float), shape)
    dse = np.broadcast_to(np.asarray(bounds["dse"], dtype=float), shape) + CLOSED_RTOL
    lfc, lfc_b = get["log2FoldChange"]
    se_a, se_b = get["lfcSE"]
    z, z_b = get["stat"]
    p, p_b = get["pvalue"]
    q, q_b = get["padj"]
    for c in ("log2FoldChange", "lfcSE", "stat"):
        assert_same_nan(f"{what} {c}", *get[c])
    # the Cook's filter may set p to NA on one side only for a gene whose max Cook's distance is at
    # its cutoff: not in the tests' data
    assert_same_nan(f"{what} pvalue", p, p_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        lfc_tol = z_tol * se_a + (CLOSED_RTOL + slack.get("log2FoldChange", 0.0)) * np.abs(lfc)
        _fail(f"{what} log2FoldChange", np.abs(lfc - lfc_b) > lfc_tol, lfc, lfc_b, lfc_tol)
        _fail(f"{what} lfcSE", _rel(se_a, se_b) > dse, se_a, se_b, dse)
        dz = z_tol + np.abs(z) * dse + CLOSED_RTOL
        _fail(f"{what} stat", np.abs(z - z_b) > dz, z, z_b, dz)
        both = ~np.isnan(p)
        dlogp = (np.abs(z) + 1) * dz + CLOSED_RTOL + slack.get("pvalue", 0.0)
        _fail(f"{what} pvalue (log)", both & (np.abs(np.log(p) - np.log(p_b)) > dlogp), p, p_b, dlogp)
        order = np.argsort(np.where(both, np.abs(z), np.inf), kind="stable")
        dz_below = np.empty_like(dz)
        dz_below[order] = np.maximum.accumulate(np.where(both, dz, 0.0)[order])
        margin = (np.abs(z) + 1) * dz_below + CLOSED_RTOL + slack.get("padj", 0.0)
        near = np.abs(np.log(q) - math.log(alpha)) <= margin
        n_near = int(np.sum(near))
        if n_near == 0:  # no call can change, so neither can the independent filter
            assert_same_nan(f"{what} padj", q, q_b)
        qq = ~np.isnan(q) & ~np.isnan(q_b)
        _fail(f"{what} padj (log)", qq & (np.abs(np.log(q) - np.log(q_b)) > margin), q, q_b, margin)
        calls_a, calls_b = q < alpha, q_b < alpha
    # (where the filter moved, a gene filtered out in one run only has no call to compare)
    comparable = qq | (np.isnan(q) == np.isnan(q_b))
    _fail(f"{what} DE call (padj < {alpha})", comparable & (calls_a != calls_b) & ~near, q, q_b, margin)
    return n_near
