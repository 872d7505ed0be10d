"""Random-effects meta-analysis: what R metafor's ``rma(yi, sei = sei, method = "REML")`` computes for an
intercept-only model (metafor 3.8, GPL >= 2; this project is GPL-3.0-or-later), step by step.

Why our own code: scipy has no random-effects meta-analysis, and statsmodels'
``combine_effects`` estimates tau^2 by the DerSimonian-Laird and Paule-Mandel moment estimators
only -- neither gives REML's tau^2, and none follows metafor's conventions (its starting value, its
stopping rule, the check of the likelihood at tau^2 = 0, its I^2 from the "typical" within-study
variance). We follow ``metafor:::rma.uni`` (docs/replication.md lists which line follows which step):

1. start: the Hedges (HE) moment estimate ``(sum((y - mean(y))^2) - tr(P V)) / (k - 1)`` with the
   unweighted projection ``P = I - J/k``, truncated at 0;
2. Fisher scoring: with ``w = 1 / (v + tau2)`` and ``P = W - w w' / sum(w)``, the step is
   ``(y' P P y - tr(P)) / tr(P P)``, halved while it would take tau2 below 0; stop when a step changes
   tau2 by at most ``threshold`` (metafor: 1e-5). Where it takes more than ``maxiter`` (100) steps, metafor
   stops with an error; we take the maximum of the same likelihood by Brent's method (:func:`root_of_score`;
   ``last_change`` -1 says so) -- near a maximum at tau2 = 0 Fisher scoring can crawl for hundreds of steps;
3. the REML log-likelihood at tau2 = 0 is compared with that at the estimate: when it is larger by more
   than ``tol`` (``.Machine$double.eps^0.25``) and tau2 > threshold, tau2 is set to 0 (a local maximum);
4. pooled estimate ``sum(w y) / sum(w)``, SE ``1 / sqrt(sum(w))``, Wald z test and interval
   (``test = "z"``); ``se.tau2 = sqrt(2 / sum(P * P))``;
5. heterogeneity from the fixed-effect weights ``1 / v``: ``QE = y' P y`` (chi-square, k - 1 df), the
   typical within-study variance ``vt = (k - 1) / tr(P)``, ``I2 = 100 tau2 / (vt + tau2)`` and
   ``H2 = tau2 / vt + 1`` (metafor's ``i2def = "1"``);
6. the prediction interval of ``predict.rma``: ``estimate -/+ z * sqrt(SE^2 + tau2)``.

:func:`leave_one_out` refits without each study in turn (metafor's ``leave1out``); with k = 2 the
remaining study alone is its own estimate (metafor's k = 1 fit: tau2 = 0).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special

# metafor's control defaults (rma.uni): threshold, maxiter, tol = .Machine$double.eps^0.25
THRESHOLD = 1e-5
MAXITER = 100
LL_TOL = float(np.finfo(float).eps) ** 0.25


@dataclass(frozen=True)
class MetaResult:
    """One random-effects fit: ``k`` studies; ``estimate`` (metafor ``b``), ``se``, ``zval``, ``pvalue``,
    ``ci_low``/``ci_high`` (``ci.lb``/``ci.ub``), ``tau2``, ``se_tau2``, ``i2`` (percent), ``h2``, ``q``
    / ``q_pvalue`` (``QE``/``QEp``), ``pi_low``/``pi_high`` (the prediction interval), ``iterations``
    of Fisher scoring and the ``last_change`` of tau2 (0 when no iteration ran; -1 when Fisher scoring did not
    converge in ``maxiter`` steps and tau2 is the root of the likelihood's derivative, :func:`root_of_score`)."""

    k: int
    estimate: float
    se: float
    zval: float
    pvalue: float
    ci_low: float
    ci_high: float
    tau2: float
    se_tau2: float
    i2: float
    h2: float
    q: float
    q_pvalue: float
    pi_low: float
    pi_high: float
    iterations: int = 0
    last_change: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def _check(yi, sei) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float).ravel()
    s = np.asarray(sei, dtype=float).ravel()
    if len(y) != len(s):
        raise ValueError(f"{len(y)} estimates but {len(s)} standard errors")
    if len(y) < 1:
        raise ValueError("no study to pool")
    if not (np.isfinite(y).all() and np.isfinite(s).all()):
        raise ValueError("every estimate and standard error must be a finite number")
    if (s <= 0).any():
        raise ValueError("every standard error must be > 0")
    return y, s * s


def _projection(w: np.ndarray) -> np.ndarray:
    """``P = W - W X (X' W X)^-1 X' W`` of an intercept-only model."""
    return np.diag(w) - np.outer(w, w) / w.sum()


def _reml_loglik(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """metafor's REML log-likelihood (``REMLf = TRUE``) of an intercept-only model."""
    k = len(y)
    w = 1.0 / (v + tau2)
    mu = float(np.sum(w * y) / np.sum(w))
    rss = float(np.sum(w * (y - mu) ** 2))
    return (
        -0.5 * (k - 1) * math.log(2 * math.pi)
        - 0.5 * float(np.sum(np.log(v + tau2)))
        - 0.5 * math.log(float(np.sum(w)))
        - 0.5 * rss
    )


def reml_tau2(y: np.ndarray, v: np.ndarray, threshold: float = THRESHOLD, maxiter: int = MAXITER):
    """(tau2, iterations, last change) by metafor's Fisher scoring from the HE start (steps 1-3)."""
    k = len(y)
    ymc = y - y.mean()
    # 1. start: Hedges' estimator with the unweighted projection, truncated at 0
    rss = float(ymc @ ymc)
    tr_pv = float(np.sum(v) - np.sum(v) / k)
    tau2 = max(0.0, (rss - tr_pv) / (k - 1))
    change, iterations = threshold + 1.0, 0
    last = 0.0
    while change > threshold:
        iterations += 1
        old = tau2
        p = _projection(1.0 / (v + tau2))
        pp = p @ p
        adj = (float(ymc @ pp @ ymc) - float(np.trace(p))) / float(np.trace(pp))
        if math.isnan(adj):
            adj = 0.0
        while tau2 + adj < 0.0:  # step halving: tau2 stays >= tau2.min = 0
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        last = change
        if iterations > maxiter:
            return root_of_score(y, v), iterations, -1.0
    # 3. a local maximum: the likelihood at tau2 = 0 is larger
    if tau2 > threshold and _reml_loglik(y, v, 0.0) - _reml_loglik(y, v, tau2) > LL_TOL:
        tau2 = 0.0
    return max(0.0, tau2), iterations, last


def reml_score(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """The derivative of the REML log-likelihood in tau2: ``(y' P P y - tr(P)) / 2``."""
    p = _projection(1.0 / (v + tau2))
    py = p @ (y - y.mean())
    return 0.5 * (float(py @ py) - float(np.trace(p)))


def root_of_score(y: np.ndarray, v: np.ndarray) -> float:
    """The REML estimate where Fisher scoring does not converge in ``maxiter`` steps (metafor then stops with
    an error; its help suggests a smaller ``stepadj``, which crawls to the same maximum): 0 when the
    likelihood decreases from tau2 = 0, else the zero of its derivative by Brent's method on [0, tau2_max]
    (metafor's ``tau2.max``: ``max(100, 10 mad(y)^2)``), to 1e-12."""
    from scipy import optimize

    if reml_score(y, v, 0.0) <= 0:
        return 0.0
    mad = 1.4826 * float(np.median(np.abs(y - np.median(y))))
    upper = max(100.0, 10.0 * mad * mad)
    while reml_score(y, v, upper) > 0 and upper < 1e12:
        upper *= 10.0
    return float(optimize.brentq(lambda t: reml_score(y, v, t), 0.0, upper, xtol=1e-14, rtol=1e-12))


def rma_reml(yi, sei, level: float = 0.95, threshold: float = THRESHOLD, maxiter: int = MAXITER) -> MetaResult:
    """metafor's ``rma(yi, sei = sei, method = "REML")`` (intercept only, ``test = "z"``): see the module
    docs. One study (k = 1) gives tau2 = 0 and that study's own estimate, as metafor."""
    y, v = _check(yi, sei)
    k = len(y)
    if k == 1:
        tau2, iterations, last = 0.0, 0, 0.0
    else:
        tau2, iterations, last = reml_tau2(y, v, threshold, maxiter)
    w = 1.0 / (v + tau2)
    estimate = float(np.sum(w * y) / np.sum(w))
    se = float(1.0 / math.sqrt(np.sum(w)))
    zval = estimate / se
    pvalue = float(2.0 * special.ndtr(-abs(zval)))
    crit = float(special.ndtri(1.0 - (1.0 - level) / 2.0))
    if k > 1:
        p_re = _projection(w)
        se_tau2 = float(math.sqrt(2.0 / np.sum(p_re * p_re)))
        p_fe = _projection(1.0 / v)
        ymc = y - y.mean()
        q = max(0.0, float(ymc @ p_fe @ ymc))
        q_pvalue = float(special.chdtrc(k - 1, q))
        vt = (k - 1) / float(np.trace(p_fe))
        i2 = 100.0 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1.0
    else:
        se_tau2, q, q_pvalue, i2, h2 = float("nan"), 0.0, 1.0, 0.0, 1.0
    half_pi = crit * math.sqrt(se * se + tau2)
    return MetaResult(
        k=k,
        estimate=estimate,
        se=se,
        zval=zval,
        pvalue=pvalue,
        ci_low=estimate - crit * se,
        ci_high=estimate + crit * se,
        tau2=tau2,
        se_tau2=se_tau2,
        i2=i2,
        h2=h2,
        q=q,
        q_pvalue=q_pvalue,
        pi_low=estimate - half_pi,
        pi_high=estimate + half_pi,
        iterations=iterations,
        last_change=last,
    )


def leave_one_out(yi, sei, level: float = 0.95, **kwargs) -> list[MetaResult]:
    """The fit without each study in turn, in the order of the studies (metafor's ``leave1out``)."""
    y, v = _check(yi, sei)
    s = np.sqrt(v)
    keep = ~np.eye(len(y), dtype=bool)
    return [rma_reml(y[m], s[m], level, **kwargs) for m in keep]
