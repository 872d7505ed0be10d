"""Dispersion estimation as DESeq2's ``estimateDispersions()`` does it.

Gene-wise estimates (:func:`gene_dispersions`: rough/moments start, linear-model or GLM
means, the C++ ``fitDisp`` Armijo line search on log(alpha) with the Cox-Reid term, the
"no increase" and "one step" rules, the ``fitDispGrid`` fallback); the trend
(:func:`fit_dispersion_trend`: ``parametricDispersionFit``, an iterated Gamma(identity) GLM
fitted with R's ``glm.fit`` IRLS, and R's local fit when it fails); the prior variance
(:func:`dispersion_prior_var`, with R's histogram-matching rule for residual df <= 3,
:func:`kl_prior_var`); MAP dispersions and the dispersion-outlier rule
(:func:`map_dispersions`); and :class:`DispersionTrend` with the matching variance-stabilising
transformation. Source: DESeq2 1.38 (LGPL >= 3).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from .glm import MINMU, _linear_model_mu, _xtwx, fit_nbinom_glms
from .locfit import LocalFit
from .rstats import loess_interpolate, r_quantile

log = logging.getLogger(__name__)

MIN_DISP = 1e-8


# The log posterior of log(alpha) and its derivative (DESeq2.cpp's log_posterior / dlog_posterior),
# over genes x samples arrays. The terms are formed in place, in R's order of operations (a product or
# sum is only ever swapped with its mirror image, which IEEE arithmetic rounds identically), so the
# numbers are those of the plain numpy expressions. The weights of the Cox-Reid term are formed as
# samples x genes, the layout _xtwx sums them in; ``inv_mu_t`` (1 / mu, transposed) may be passed
# when the caller keeps it across calls.


def _log_posterior(log_alpha, y, mu, X, prior_mean, prior_var, use_prior, inv_mu_t=None):
    alpha = np.exp(log_alpha)
    a = alpha[:, None]
    wt = ((1.0 / mu).T if inv_mu_t is None else inv_mu_t) + alpha
    np.divide(1.0, wt, out=wt)  # w = 1 / (1 / mu + alpha), transposed
    cr = -0.5 * np.log(np.linalg.det(_xtwx(wt, X, transposed=True)))
    an1 = 1.0 / alpha
    an1c = an1[:, None]
    # gammaln(y + 1/alpha) - gammaln(1/alpha) - y log(mu + 1/alpha) - 1/alpha log(1 + mu alpha)
    t = y + an1c
    special.gammaln(t, out=t)
    t -= special.gammaln(an1)[:, None]
    u = mu + an1c
    np.log(u, out=u)
    u *= y
    t -= u
    u = mu * a
    u += 1.0
    np.log(u, out=u)
    u *= an1c
    t -= u
    ll = np.sum(t, axis=1)
    if use_prior:
        d = log_alpha - prior_mean
        return ll + (-0.5 * (d * d) / prior_var) + cr
    return ll + cr


def _dlog_posterior(log_alpha, y, mu, X, prior_mean, prior_var, use_prior, inv_mu_t=None):
    alpha = np.exp(log_alpha)
    a = alpha[:, None]
    inv = ((1.0 / mu).T if inv_mu_t is None else inv_mu_t) + alpha  # transposed, as the weights
    w = 1.0 / inv
    dw = inv * inv
    np.divide(-1.0, dw, out=dw)  # dw = -1 / (inv * inv)
    b = _xtwx(w, X, transposed=True)
    db = _xtwx(dw, X, transposed=True)
    cr = -0.5 * np.einsum("gij,gji->g", np.linalg.inv(b), db)
    an1 = 1.0 / alpha
    an2 = 1.0 / (alpha * alpha)
    an1c = an1[:, None]
    ma = mu * a
    # digamma(1/alpha) + log(1 + ma) - ma / (1 + ma) - digamma(y + 1/alpha) + y / (mu + 1/alpha)
    t = ma + 1.0
    s = np.log(t)
    s += special.digamma(an1)[:, None]
    np.divide(1.0, t, out=t)
    t *= ma
    s -= t
    t = y + an1c
    special.digamma(t, out=t)
    s -= t
    t = mu + an1c
    np.divide(1.0, t, out=t)
    t *= y
    s += t
    ll = an2 * np.sum(s, axis=1)
    res = (ll + cr) * alpha
    if use_prior:
        res = res + (-1.0 * (log_alpha - prior_mean) / prior_var)
    return res


@dataclass
class DispFit:
    log_alpha: np.ndarray
    iter: np.ndarray
    initial_lp: np.ndarray
    last_lp: np.ndarray


def fit_disp(
    y,
    mu,
    X,
    log_alpha,
    prior_mean,
    prior_var: float,
    use_prior: bool,
    min_log_alpha: float,
    kappa_0: float = 1.0,
    tol: float = 1e-6,
    maxit: int = 100,
) -> DispFit:
    """DESeq2's ``fitDisp``: maximise the (Cox-Reid adjusted) log posterior of log(alpha)
    by gradient steps with an Armijo line search, for all genes at once.

    Steps along the derivative with size kappa (start ``kappa_0``; log alpha kept in
    [-30, 10]); a step is accepted when the objective improves by at least
    ``1e-4 * kappa * dlp^2``, otherwise kappa is halved; after an accepted step kappa
    grows by 1.1 (capped at kappa_0) and is halved every 5th acceptance. A gene stops when
    an accepted step improves the log posterior by less than ``tol`` or when log alpha
    drops below ``min_log_alpha``.
    """
    y = np.asarray(y, dtype=float)
    mu = np.asarray(mu, dtype=float)
    X = np.asarray(X, dtype=float)
    G = y.shape[0]
    a = np.array(log_alpha, dtype=float)
    prior_mean = np.broadcast_to(np.asarray(prior_mean, dtype=float), (G,)).copy()
    with np.errstate(all="ignore"):
        inv_mu_t = np.ascontiguousarray((1.0 / mu).T)
        lp = _log_posterior(a, y, mu, X, prior_mean, prior_var, use_prior, inv_mu_t)
        dlp = _dlog_posterior(a, y, mu, X, prior_mean, prior_var, use_prior, inv_mu_t)
    initial_lp = lp.copy()
    kappa = np.full(G, float(kappa_0))
    iters = np.zeros(G, dtype=int)
    accepts = np.zeros(G, dtype=int)
    active = np.ones(G, dtype=bool)
    eps = 1.0e-4
    rows = None  # the active genes' y, mu, 1/mu, prior mean, gathered again only when genes stop
    with np.errstate(all="ignore"):
        for _ in range(maxit):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            if rows is None or rows[0].shape[0] != idx.size:  # genes only ever stop: same size, same genes
                rows = (y[idx], mu[idx], inv_mu_t[:, idx], prior_mean[idx])
            yi, mui, inv_i, pmi = rows
            iters[idx] += 1
            ai, di, ki = a[idx], dlp[idx], kappa[idx].copy()
            prop = ai + ki * di
            low, high = prop < -30.0, prop > 10.0
            ki[low] = (-30.0 - ai[low]) / di[low]
            ki[high] = (10.0 - ai[high]) / di[high]
            new_a = ai + ki * di
            theta_k = -1.0 * _log_posterior(new_a, yi, mui, X, pmi, prior_var, use_prior, inv_i)
            theta_hat = -1.0 * lp[idx] - ki * eps * (di * di)
            acc = theta_k <= theta_hat
            # rejected proposals: halve the step
            rej = idx[~acc]
            kappa[rej] = ki[~acc] / 2.0
            # accepted proposals
            gi = idx[acc]
            if gi.size == 0:
                continue
            accepts[gi] += 1
            a[gi] = new_a[acc]
            lpnew = -theta_k[acc]
            change = lpnew - lp[gi]
            done = change < tol
            lp[gi[done]] = lpnew[done]
            active[gi[done]] = False
            rest = ~done
            stop_low = rest & (a[gi] < min_log_alpha)
            active[gi[stop_low]] = False
            go = rest & ~stop_low
            g2 = gi[go]
            if g2.size:
                lp[g2] = lpnew[go]
                if g2.size == idx.size:  # every active gene goes on (g2 is a subset of idx, in its order)
                    dlp[g2] = _dlog_posterior(a[g2], yi, mui, X, pmi, prior_var, use_prior, inv_i)
                else:
                    dlp[g2] = _dlog_posterior(
                        a[g2], y[g2], mu[g2], X, prior_mean[g2], prior_var, use_prior, inv_mu_t[:, g2]
                    )
                k2 = np.minimum(ki[acc][go] * 1.1, kappa_0)
                k2 = np.where(accepts[g2] % 5 == 0, k2 / 2.0, k2)
                kappa[g2] = k2
    return DispFit(log_alpha=a, iter=iters, initial_lp=initial_lp, last_lp=lp)


def fit_disp_grid(y, mu, X, prior_mean, prior_var: float, use_prior: bool) -> np.ndarray:
    """``fitDispGridWrapper``: coarse grid of 20 log alphas from log(1e-8) to
    log(max(10, n)), then a fine grid of 20 around the best; returns alpha."""
    y = np.asarray(y, dtype=float)
    G, n = y.shape
    if G == 0:
        return np.zeros(0)
    prior_mean = np.broadcast_to(np.asarray(prior_mean, dtype=float), (G,)).copy()
    grid = np.linspace(math.log(1e-8), math.log(max(10, n)), 20)
    delta = grid[1] - grid[0]

    def best(points):  # points: (G, 20)
        vals = np.empty_like(points)
        with np.errstate(all="ignore"):
            for t in range(points.shape[1]):
                vals[:, t] = _log_posterior(points[:, t], y, mu, X, prior_mean, prior_var, use_prior)
        vals = np.where(np.isnan(vals), -np.inf, vals)
        return points[np.arange(G), np.argmax(vals, axis=1)]

    a_hat = best(np.broadcast_to(grid, (G, grid.size)).copy())
    fine = np.linspace(a_hat - delta, a_hat + delta, 20, axis=1)
    return np.exp(best(fine))


def _dispersion_start(y, X, sf, base_mean, base_var, minmu: float = MINMU):
    """Start of ``estimateDispersionsGeneEst``: the rough / moments initial alpha and the fitted
    means mu the dispersion fits use (float counts of genes that are not all zero)."""
    m, p = X.shape
    if m == p:
        raise ValueError(
            "the number of samples equals the number of model coefficients: no replicates to estimate the dispersion"
        )
    norm = y / sf[None, :]
    lin = np.maximum(_linear_model_mu(norm, X), 1.0)
    rough = np.maximum(np.sum(((norm - lin) ** 2 - lin) / lin**2, axis=1) / (m - p), 0.0)
    xim = float(np.mean(1.0 / sf))
    moments = (base_var - xim * base_mean) / base_mean**2
    max_disp = max(10.0, float(m))
    alpha_init = np.clip(np.minimum(rough, moments), MIN_DISP, max_disp)
    linear_mu = np.unique(X, axis=0).shape[0] == p
    if linear_mu:
        mu = _linear_model_mu(norm, X) * sf[None, :]
    else:
        mu = fit_nbinom_glms(y, X, sf, alpha_init, minmu=minmu).mu
    return alpha_init, np.maximum(mu, minmu)


def gene_dispersions(counts, X, sf, base_mean, base_var, minmu: float = MINMU, maxit: int = 100):
    """``estimateDispersionsGeneEst`` (niter = 1) for genes that are not all zero.

    Returns (dispGeneEst, mu) where mu is the fitted mean used for the dispersion fits.
    """
    y = np.asarray(counts, dtype=float)
    X = np.asarray(X, dtype=float)
    m = X.shape[0]
    max_disp = max(10.0, float(m))
    alpha_init, mu = _dispersion_start(y, X, sf, base_mean, base_var, minmu)
    log_init = np.log(alpha_init)
    res = fit_disp(y, mu, X, log_init, log_init, 1.0, False, math.log(MIN_DISP / 10), maxit=maxit)
    est = np.minimum(np.exp(res.log_alpha), max_disp)
    no_increase = res.last_lp < res.initial_lp + np.abs(res.initial_lp) / 1e6
    est[no_increase] = alpha_init[no_increase]
    conv = (res.iter < maxit) & (res.iter != 1)
    refit = ~conv & (est > MIN_DISP * 10)
    if refit.any():
        est[refit] = fit_disp_grid(y[refit], mu[refit], X, 0.0, 1.0, False)
    return np.clip(est, MIN_DISP, max_disp), mu


def _glm_gamma_identity(x: np.ndarray, y: np.ndarray, start: np.ndarray, maxit: int = 25, epsilon: float = 1e-8):
    """``glm(y ~ I(1/x), family = Gamma(link = "identity"), start = start)`` via R's glm.fit IRLS.

    Returns (coefficients, converged). Raises ValueError where R would stop with an error.
    """
    D = np.column_stack([np.ones_like(x), 1.0 / x])

    def deviance(mu):
        ratio = np.where(y == 0, 1.0, y / mu)
        return float(np.sum(-2.0 * (np.log(ratio) - (y - mu) / mu)))

    coefold = np.asarray(start, dtype=float)
    eta = D @ coefold
    mu = eta
    if not np.all(np.isfinite(mu) & (mu > 0)):
        raise ValueError("cannot find valid starting values")
    devold = deviance(mu)
    coef = coefold
    conv = False
    for _ in range(maxit):
        z = eta + (y - mu)  # mu.eta = 1 for the identity link
        wts = 1.0 / mu  # sqrt(1 / variance), variance = mu^2
        start_new, *_ = np.linalg.lstsq(D * wts[:, None], z * wts, rcond=None)
        eta = D @ start_new
        mu = eta
        dev = deviance(mu) if np.all(mu > 0) else np.inf
        if not np.isfinite(dev) or not np.all(np.isfinite(mu) & (mu > 0)):
            for _ in range(maxit):  # step halving towards the previous coefficients
                start_new = (start_new + coefold) / 2
                eta = D @ start_new
                mu = eta
                if np.all(np.isfinite(mu) & (mu > 0)):
                    dev = deviance(mu)
                    if np.isfinite(dev):
                        break
            else:
                raise ValueError("inner loop; cannot correct step size")
        if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
            conv = True
            coef = start_new
            break
        devold = dev
        coef = coefold = start_new
    return coef, conv


@dataclass
class DispersionTrend:
    """Fitted dispersion-mean relation (``dispersionFunction``)."""

    fit_type: str  # "parametric", "local" or "mean"
    asympt_disp: float = float("nan")
    extra_pois: float = float("nan")
    mean_disp: float = float("nan")
    local: LocalFit | None = None

    def __call__(self, means) -> np.ndarray:
        means = np.asarray(means, dtype=float)
        if self.fit_type == "parametric":
            return self.asympt_disp + self.extra_pois / means
        if self.fit_type == "local":
            return np.exp(self.local(np.log(means))).reshape(means.shape)
        return np.full(means.shape, self.mean_disp)

    def vst(self, normalized, size_factors) -> np.ndarray:
        """``getVarianceStabilizedData`` for this trend (as ``vst(dds, blind = FALSE)``).

        For the local trend R integrates 1/sqrt(variance) on a grid and interpolates with
        ``splinefun`` (FMM end conditions); we use scipy's not-a-knot cubic spline there.
        """
        q = np.asarray(normalized, dtype=float)
        if self.fit_type == "parametric":
            a0, a1 = self.asympt_disp, self.extra_pois
            return np.log((1 + a1 + 2 * a0 * q + 2 * np.sqrt(a0 * q * (1 + a1 + a0 * q))) / (4 * a0)) / math.log(2)
        if self.fit_type == "local":
            from scipy.interpolate import CubicSpline

            xg = np.sinh(np.linspace(np.arcsinh(0.0), np.arcsinh(q.max()), 1000))[1:]
            xim = float(np.mean(1.0 / np.asarray(size_factors, dtype=float)))
            integrand = 1.0 / np.sqrt(self(xg) * xg**2 + xim * xg)
            knots = np.arcsinh((xg[1:] + xg[:-1]) / 2)
            spline = CubicSpline(knots, np.cumsum((xg[1:] - xg[:-1]) * (integrand[1:] + integrand[:-1]) / 2))
            h1, h2 = r_quantile(q.mean(axis=1), [0.95, 0.999])
            eta = (math.log2(h2) - math.log2(h1)) / (spline(np.arcsinh(h2)) - spline(np.arcsinh(h1)))
            xi = math.log2(h1) - eta * spline(np.arcsinh(h1))
            return eta * spline(np.arcsinh(q)) + xi
        a = self.mean_disp
        return (2 * np.arcsinh(np.sqrt(a * q)) - math.log(a) - math.log(4)) / math.log(2)


def parametric_dispersion_fit(means, disps) -> tuple[float, float]:
    """``parametricDispersionFit``: disp = a0 + a1/mean by an iterated Gamma(identity) GLM,
    refitting on the genes whose ratio to the current curve lies in (1e-4, 15)."""
    means = np.asarray(means, dtype=float)
    disps = np.asarray(disps, dtype=float)
    coefs = np.array([0.1, 1.0])
    it = 0
    while True:
        residuals = disps / (coefs[0] + coefs[1] / means)
        good = (residuals > 1e-4) & (residuals < 15)
        fit, converged = _glm_gamma_identity(means[good], disps[good], coefs)
        old = coefs
        coefs = np.asarray(fit, dtype=float)
        if not np.all(coefs > 0):
            raise ValueError("parametric dispersion fit failed")
        if np.sum(np.log(coefs / old) ** 2) < 1e-6 and converged:
            break
        it += 1
        if it > 10:
            raise ValueError("dispersion fit did not converge")
    return float(coefs[0]), float(coefs[1])


def fit_dispersion_trend(base_mean, disp_gene_est, notes: list | None = None) -> DispersionTrend:
    """``estimateDispersionsFit(fitType = "parametric")`` on genes with dispGeneEst > 1e-6,
    falling back to R's local fit when the parametric fit fails."""
    use = disp_gene_est > 100 * MIN_DISP
    if not use.any():
        raise ValueError(
            "all gene-wise dispersion estimates are within 2 orders of magnitude from the minimum "
            "value; the dispersion trend cannot be fitted"
        )
    try:
        a0, a1 = parametric_dispersion_fit(base_mean[use], disp_gene_est[use])
        return DispersionTrend("parametric", asympt_disp=a0, extra_pois=a1)
    except (ValueError, np.linalg.LinAlgError) as exc:
        msg = (
            f"the dispersion trend was not well captured by the function y = a/x + b ({exc}); a local "
            "regression fit was substituted, as R's DESeq2 does"
        )
        log.info(msg)
        if notes is not None:
            notes.append(msg)
    # localDispersionFit(baseMean[useForFit], dispGeneEst[useForFit]) keeps disps >= 10 * minDisp of those
    means, disps = base_mean[use], disp_gene_est[use]
    keep = disps >= 10 * MIN_DISP
    return DispersionTrend("local", local=LocalFit(np.log(means[keep]), np.log(disps[keep]), means[keep]))


def kl_prior_var(log_residuals, df: int) -> float:
    """R's dispersion prior variance for residual df <= 3 (``estimateDispersionsPriorVar``).

    R compares the histogram of the log dispersion residuals (bins of 0.5 on (-10, 10))
    with histograms of ``log(chisq_df / df) + N(0, v)`` simulated (10,000 draws, R's RNG
    with ``set.seed(2)``) for 200 values of v in [0, 8], smooths the Kullback-Leibler
    divergences with ``loess(span = 0.2)`` and takes the minimising v on a grid of 1000,
    floored at 0.25. R's random draws cannot be reproduced here, so we use the exact
    expected histogram of that distribution (numerical convolution) instead of a simulated
    one; the loess step is R's (:func:`loess_interpolate`).
    """
    from scipy import stats  # here, not at the top: only this path needs it (import ~0.5 s)
    from scipy.signal import fftconvolve

    brks = np.arange(-20, 21) / 2.0
    obs = np.asarray(log_residuals, dtype=float)
    obs = obs[(obs > brks[0]) & (obs < brks[-1])]
    if obs.size == 0:
        return 0.25
    idx = np.clip(np.searchsorted(brks, obs, side="left") - 1, 0, brks.size - 2)  # hist(): (a, b] bins
    obs_d = np.bincount(idx, minlength=brks.size - 1) / (obs.size * 0.5)
    dz = 0.002
    z = np.arange(-45.0, 8.0, dz)
    xz = df * np.exp(z)
    g = stats.chi2.pdf(xz, df) * xz  # density of log(chisq_df / df)
    edges = np.concatenate([[z[0] - dz / 2], z + dz / 2])
    grid = np.linspace(0, 8, 200)
    kl = np.empty(grid.size)
    for i, v in enumerate(grid):
        if v == 0:
            f = g
        else:
            half = int(math.ceil(10 * math.sqrt(v) / dz))
            kern = stats.norm.pdf(np.arange(-half, half + 1) * dz, 0, math.sqrt(v)) * dz
            f = fftconvolve(g, kern, mode="full")[half : half + g.size]
        cdf = np.interp(brks, edges, np.concatenate([[0.0], np.cumsum(f) * dz]))
        inside = cdf[-1] - cdf[0]
        rand_d = np.diff(cdf) / (inside * 0.5)
        # R adds the smallest positive density of either histogram; a simulated one has no bin
        # below one count in 10,000 draws
        small = min(obs_d[obs_d > 0].min(), 1.0 / (10000 * inside * 0.5))
        kl[i] = np.sum(obs_d * (np.log(obs_d + small) - np.log(np.maximum(rand_d, 0.0) + small)))
    fine = np.linspace(0, 8, 1000)
    smooth = loess_interpolate(grid, kl, fine, span=0.2)
    return max(float(fine[np.argmin(smooth)]), 0.25)


def dispersion_prior_var(
    var_log_disp_ests: float, n_samples: int, n_coefs: int, log_residuals=None, notes: list | None = None
) -> float:
    """``estimateDispersionsPriorVar`` (see :func:`kl_prior_var` for residual df <= 3)."""
    m, p = n_samples, n_coefs
    if m > p:
        df = m - p
        if df <= 3 and log_residuals is not None:
            value = kl_prior_var(log_residuals, df)
            msg = (
                f"residual degrees of freedom = {df} <= 3: dispersion prior variance {value:.4g} from R's "
                "histogram-matching rule, with the expected instead of a simulated histogram"
            )
            log.info(msg)
            if notes is not None:
                notes.append(msg)
            return value
        return max(var_log_disp_ests - float(special.polygamma(1, df / 2)), 0.25)
    return var_log_disp_ests


def map_dispersions(
    counts, mu, X, disp_gene_est, disp_fit, prior_var: float, var_log_disp_ests: float, maxit: int = 100
):
    """``estimateDispersionsMAP``; returns (dispersion, dispMAP, dispOutlier)."""
    y = np.asarray(counts, dtype=float)
    m = X.shape[0]
    max_disp = max(10.0, float(m))
    init = np.where(disp_gene_est > 0.1 * disp_fit, disp_gene_est, disp_fit)
    init = np.where(np.isnan(init), disp_fit, init)
    log_fit = np.log(disp_fit)
    res = fit_disp(y, mu, X, np.log(init), log_fit, prior_var, True, math.log(MIN_DISP / 10), maxit=maxit)
    disp_map = np.exp(res.log_alpha)
    refit = ~(res.iter < maxit)
    if refit.any():
        disp_map[refit] = fit_disp_grid(y[refit], mu[refit], X, log_fit[refit], prior_var, True)
    disp_map = np.clip(disp_map, MIN_DISP, max_disp)
    with np.errstate(invalid="ignore", divide="ignore"):
        outlier = np.log(disp_gene_est) > np.log(disp_fit) + 2 * math.sqrt(var_log_disp_ests)
    outlier = np.where(np.isnan(outlier), False, outlier).astype(bool)
    return np.where(outlier, disp_gene_est, disp_map), disp_map, outlier
