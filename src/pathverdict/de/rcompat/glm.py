"""The negative binomial GLM of DESeq2's ``fitNbinomGLMs`` (no beta prior).

IRLS as the C++ ``fitBeta`` (QR with a ridge of ``1e-6`` on the log2 scale, fitted means
bounded below by ``minmu``, its convergence rule), L-BFGS-B on the log2 scale for the rows
that do not converge (R's ``optim``), and the coefficient covariance as R computes it: the
sandwich ``(X'WX + lambda)^-1 X'WX (X'WX + lambda)^-1`` with ``W = mu / (1 + alpha mu)`` and
mu bounded below by ``minmu`` (:func:`fit_nbinom_glms`). Source: DESeq2 1.38 (LGPL >= 3).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

MINMU = 0.5
LAMBDA_LOG2 = 1e-6  # DESeq2's default ridge on log2-scale coefficients (betaPrior=FALSE)


@functools.lru_cache(maxsize=64)
def _indicator_plan(shape: tuple[int, int], data: bytes) -> tuple | None:
    """For a design of zeros and ones (any design of factors): per distinct product column
    ``X[:, i] * X[:, j]``, the samples where it is 1 and the (i, j) cells it fills; None otherwise."""
    X = np.frombuffer(data, dtype=float).reshape(shape)
    if not np.all((X == 0.0) | (X == 1.0)):
        return None
    groups: dict[bytes, tuple[np.ndarray, list]] = {}
    for i in range(shape[1]):
        for j in range(shape[1]):
            prod = X[:, i] * X[:, j]
            key = prod.tobytes()
            if key not in groups:
                groups[key] = (np.flatnonzero(prod == 1.0), [])
            groups[key][1].append((i, j))
    return tuple((rows, tuple(cells)) for rows, cells in groups.values())


def _xtwx(w: np.ndarray, X: np.ndarray, transposed: bool = False) -> np.ndarray:
    """``X' diag(w_g) X`` for every row g of w: (G, p, p), equal bit for bit to
    ``np.einsum("gn,ni,nj->gij", w, X, X)``.

    That einsum adds the products ``w[g, n] * X[n, i] * X[n, j]`` in sample order; with a design of
    zeros and ones (every design of factors) each cell is the sum of ``w[g, n]`` over the samples
    where both columns are 1, in sample order -- a reduction along the first axis of the transposed
    ``w`` (numpy adds the rows one after the other there), which is what is done here, ~10x faster
    than the einsum. The skipped products are zeros (w finite; otherwise, and for other designs, the
    einsum). tests/test_rcompat_shortcuts.py checks the equality on many shapes. ``transposed``: w is
    given as samples x genes (the caller formed it so, saving the transposition).
    """
    X = np.ascontiguousarray(X, dtype=float)
    G = w.shape[1] if transposed else w.shape[0]
    plan = _indicator_plan(X.shape, X.tobytes()) if w.ndim == 2 and G > 1 else None
    if plan is not None:
        wt = np.ascontiguousarray(w if transposed else w.T, dtype=float)
        total = np.add.reduce(wt, axis=0)  # finite only if every w of the gene is (the einsum gives NaN for inf * 0)
        if not np.all(np.isfinite(total)):
            plan = None
    if plan is None:
        return np.einsum("gn,ni,nj->gij", np.ascontiguousarray(w.T) if transposed else w, X, X)
    p = X.shape[1]
    out = np.empty((G, p, p))
    for rows, cells in plan:
        if rows.size == X.shape[0]:
            cell = total
        elif rows.size == 0:
            cell = 0.0
        else:
            cell = np.add.reduce(wt[rows], axis=0)
        for i, j in cells:
            out[:, i, j] = cell
    return out


def _linear_model_mu(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``linearModelMu``: least-squares fitted values of each row of y on X."""
    q, _ = np.linalg.qr(X)
    return (y @ q) @ q.T


def _nb_logpmf(y, mu, alpha, lgamma_y1=None):
    """log dnbinom(y, mu = mu, size = 1/alpha): ``gammaln(y + r) - gammaln(r) - gammaln(y + 1) +
    r log(r / (r + mu)) + y log(mu / (r + mu))`` with r = 1/alpha, formed in place in that order (the
    same numbers as the plain expression); ``lgamma_y1``: ``gammaln(y + 1.0)`` when the caller has it."""
    r = 1.0 / alpha
    t = np.add(y, r, dtype=float)
    special.gammaln(t, out=t)
    t -= special.gammaln(r)
    t -= special.gammaln(y + 1.0) if lgamma_y1 is None else lgamma_y1
    u = r + mu
    v = r / u
    np.log(v, out=v)
    v *= r
    t += v
    np.divide(mu, u, out=u)
    np.log(u, out=u)
    u *= y
    t += u
    return t


@dataclass
class GLMFit:
    beta: np.ndarray  # natural-log coefficients (G, p)
    sigma: np.ndarray  # covariance of beta (G, p, p), natural-log scale
    mu: np.ndarray  # fitted means, not bounded below (G, n)
    hat: np.ndarray  # hat-matrix diagonals (G, n)
    converged: np.ndarray  # (G,)


def _sandwich(beta, X, sf, alpha, ridge, minmu):
    mu = np.maximum(sf[None, :] * np.exp(beta @ X.T), minmu)
    w = mu / (1.0 + alpha[:, None] * mu)
    xtwx = _xtwx(w, X)
    inv = np.linalg.inv(xtwx + np.diag(ridge))
    return inv @ xtwx @ inv, w, inv


def _fit_beta(y, X, sf, alpha, beta, ridge, minmu, tol=1e-8, maxit=100):
    """IRLS of ``fitBeta`` (DESeq2.cpp), vectorised; returns beta, iterations, hat diagonals."""
    G, n = y.shape
    p = X.shape[1]
    beta = beta.copy()
    mu = np.maximum(sf[None, :] * np.exp(beta @ X.T), minmu)
    dev_old = np.zeros(G)
    iters = np.zeros(G, dtype=int)
    active = np.ones(G, dtype=bool)
    sqrt_ridge = np.diag(np.sqrt(ridge))
    lgamma_y1 = special.gammaln(y + 1.0)  # the same in every iteration
    with np.errstate(all="ignore"):
        for t in range(maxit):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            iters[idx] += 1
            m = mu[idx]
            w = m / (1.0 + alpha[idx, None] * m)
            z = np.log(m / sf[None, :]) + (y[idx] - m) / m
            sw = np.sqrt(w)
            big_x = np.concatenate(
                [sw[:, :, None] * X[None, :, :], np.broadcast_to(sqrt_ridge, (idx.size, p, p))], axis=1
            )
            q, r = np.linalg.qr(big_x)
            big_z = np.concatenate([sw * z, np.zeros((idx.size, p))], axis=1)
            gamma = np.einsum("gki,gk->gi", q, big_z)
            bh = np.linalg.solve(r, gamma[:, :, None])[:, :, 0]
            beta[idx] = bh
            diverged = np.any(np.abs(bh) > 30.0, axis=1) | ~np.all(np.isfinite(bh), axis=1)
            iters[idx[diverged]] = maxit
            active[idx[diverged]] = False
            ok = ~diverged
            gi = idx[ok]
            if gi.size == 0:
                continue
            mnew = np.maximum(sf[None, :] * np.exp(bh[ok] @ X.T), minmu)
            mu[gi] = mnew
            dev = -2.0 * np.sum(_nb_logpmf(y[gi], mnew, alpha[gi, None], lgamma_y1[gi]), axis=1)
            conv = np.abs(dev - dev_old[gi]) / (np.abs(dev) + 0.1)
            bad = np.isnan(conv)
            iters[gi[bad]] = maxit
            active[gi[bad]] = False
            fin = ~bad & (t > 0) & (conv < tol)
            active[gi[fin]] = False
            dev_old[gi] = dev
        w = mu / (1.0 + alpha[:, None] * mu)
        inv = np.linalg.inv(_xtwx(w, X) + np.diag(ridge))
        hat = w * np.einsum("ni,gij,nj->gn", X, inv, X)
    return beta, iters, hat


_NORM_PDF_LOGC = np.log(np.sqrt(2 * np.pi))  # scipy.stats' _norm_pdf_logC


def _norm_logpdf(x, sd):
    """``scipy.stats.norm.logpdf(x, 0.0, sd)`` for finite ``sd > 0``, computed as scipy computes it
    (standardise, ``-x**2 / 2 - log(sqrt(2 pi))``, minus ``log(sd)``), the same numbers bit for bit
    (tests/test_rcompat_shortcuts.py) without importing scipy.stats (~0.5 s)."""
    z = np.asarray((np.asarray(x, dtype=float) - 0.0) / sd, dtype=float)
    return -(z**2) / 2.0 - _NORM_PDF_LOGC - np.log(sd)


def _optim_row(k, X, sf, alpha, start_log2, lam_log2):
    """``fitNbinomGLMsOptim`` for one gene: L-BFGS-B on log2 coefficients within [-30, 30]
    with a normal prior of variance 1/lambda, finite-difference gradient as R's optim."""
    from scipy.optimize import minimize  # here, not at the top: only this fallback needs it

    sd = np.sqrt(1.0 / lam_log2)

    def objective(pvec):
        mu_row = sf * np.power(2.0, X @ pvec)
        with np.errstate(all="ignore"):
            ll = float(np.sum(_nb_logpmf(k, mu_row, alpha)))
            prior = float(np.sum(_norm_logpdf(pvec, sd)))
        v = -1.0 * (ll + prior)
        return v if np.isfinite(v) else 1e300

    def gradient(pvec):  # optim's default: central differences with ndeps = 1e-3, clipped to bounds
        g = np.empty_like(pvec)
        for i in range(pvec.size):
            up = pvec.copy()
            dn = pvec.copy()
            up[i] = min(pvec[i] + 1e-3, 30.0)
            e_up = up[i] - pvec[i]
            dn[i] = max(pvec[i] - 1e-3, -30.0)
            e_dn = pvec[i] - dn[i]
            g[i] = (objective(up) - objective(dn)) / (e_up + e_dn)
        return g

    res = minimize(
        objective,
        np.asarray(start_log2, dtype=float),
        jac=gradient,
        method="L-BFGS-B",
        bounds=[(-30.0, 30.0)] * X.shape[1],
        options={"maxcor": 5, "ftol": 1e7 * np.finfo(float).eps, "gtol": 0.0, "maxiter": 100},
    )
    return res.x, bool(res.status == 0)


def fit_nbinom_glms(
    counts, X, sf, alpha, minmu: float = MINMU, lambda_log2: float = LAMBDA_LOG2, maxit: int = 100
) -> GLMFit:
    """``fitNbinomGLMs`` without a beta prior (ridge ``lambda_log2`` on the log2 scale)."""
    y = np.asarray(counts, dtype=float)
    X = np.asarray(X, dtype=float)
    alpha = np.asarray(alpha, dtype=float)
    G, n = y.shape
    p = X.shape[1]
    lam = np.full(p, lambda_log2)
    ridge = lam / math.log(2) ** 2
    if np.linalg.matrix_rank(X) == p:
        q, r = np.linalg.qr(X)
        ylog = np.log(y / sf[None, :] + 0.1)
        beta0 = np.linalg.solve(r, q.T @ ylog.T).T
    else:
        beta0 = np.zeros((G, p))
        beta0[:, 0] = np.log((y / sf[None, :]).mean(axis=1))
    beta, iters, hat = _fit_beta(y, X, sf, alpha, beta0, ridge, minmu, maxit=maxit)
    converged = iters < maxit
    with np.errstate(all="ignore"):
        sigma, _, _ = _sandwich(beta, X, sf, alpha, ridge, minmu)
    stable = np.all(np.isfinite(beta), axis=1)
    var_pos = np.all(np.diagonal(sigma, axis1=1, axis2=2) > 0, axis=1)
    rows = np.flatnonzero(~converged | ~stable | ~var_pos)
    log2e = 1.0 / math.log(2)
    for i in rows:
        b2 = beta[i] * log2e
        start = b2 if (stable[i] and np.all(np.abs(b2) < 30.0)) else beta0[i]  # R passes the natural-scale init
        par, ok = _optim_row(y[i], X, sf, alpha[i], start, lam)
        beta[i] = par * math.log(2)
        converged[i] = converged[i] or ok
    if rows.size:
        with np.errstate(all="ignore"):
            sigma[rows], _, _ = _sandwich(beta[rows], X, sf, alpha[rows], ridge, minmu)
    mu = sf[None, :] * np.exp(beta @ X.T)
    return GLMFit(beta=beta, sigma=sigma, mu=mu, hat=hat, converged=converged)
