"""The R functions DESeq2 relies on, computed the way R computes them.

``p.adjust(method = "BH")`` (:func:`p_adjust_bh`), ``quantile(type = 7)`` (:func:`r_quantile`),
``lowess()`` (:func:`lowess`, a port of R's C ``clowess``), ``predict(loess(...))`` with
``surface = "interpolate"`` (:func:`loess_interpolate`, R's loess k-d tree and vertex
interpolation), ``apply(x, 1, mean, trim = )`` (:func:`trimmed_mean_rows`) and ``mad()``.
Sources: R's ``stats`` package (GPL >= 2); see docs/fidelity.md.
"""

from __future__ import annotations

import math

import numpy as np

R_MAD_CONSTANT = 1.4826


def p_adjust_bh(p) -> np.ndarray:
    """``p.adjust(p, method="BH")``: NA stays NA and does not count towards n."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    n = q.size
    if n <= 1:  # R returns the input unchanged
        out[ok] = q
        return out
    o = np.argsort(-q, kind="stable")  # decreasing
    i = np.arange(n, 0, -1, dtype=float)
    adj = np.minimum(1.0, np.minimum.accumulate((n / i) * q[o]))
    res = np.empty(n)
    res[o] = adj
    out[ok] = res
    return out


def r_quantile(x, probs) -> np.ndarray:
    """``quantile(x, probs)`` with R's default type 7, computed the way R computes it."""
    x = np.sort(np.asarray(x, dtype=float))
    probs = np.atleast_1d(np.asarray(probs, dtype=float))
    n = x.size
    index = 1 + max(n - 1, 0) * probs  # 1-based
    lo = np.floor(index).astype(int)
    hi = np.ceil(index).astype(int)
    qs = x[lo - 1]
    xhi = x[hi - 1]
    h = index - lo
    interp = (index > lo) & (xhi != qs)
    qs = qs.copy()
    qs[interp] = (1 - h[interp]) * qs[interp] + h[interp] * xhi[interp]
    return qs


def _lowest(x, y, n, xs, nleft, nright, use_rw, rw, w):
    """Local weighted linear fit at ``xs`` (0-based port of clowess's ``lowest``)."""
    rng = x[n - 1] - x[0]
    h = max(xs - x[nleft], x[nright] - xs)
    h9 = 0.999 * h
    h1 = 0.001 * h
    a = 0.0
    j = nleft
    while j < n:  # weights; picks up ties on the right
        w[j] = 0.0
        r = abs(x[j] - xs)
        if r <= h9:
            if r <= h1:
                w[j] = 1.0
            else:
                q = r / h
                q = 1.0 - q * q * q
                w[j] = q * q * q
            if use_rw:
                w[j] *= rw[j]
            a += w[j]
        elif x[j] > xs:
            break
        j += 1
    nrt = j - 1
    if a <= 0.0:
        return 0.0, False
    for j in range(nleft, nrt + 1):
        w[j] /= a
    if h > 0.0:
        a = 0.0
        for j in range(nleft, nrt + 1):
            a += w[j] * x[j]
        b = xs - a
        c = 0.0
        for j in range(nleft, nrt + 1):
            d = x[j] - a
            c += w[j] * (d * d)
        if math.sqrt(c) > 0.001 * rng:
            b /= c
            for j in range(nleft, nrt + 1):
                w[j] *= b * (x[j] - a) + 1.0
    ys = 0.0
    for j in range(nleft, nrt + 1):
        ys += w[j] * y[j]
    return ys, True


def _clowess(x: list, y: list, f: float, nsteps: int, delta: float) -> list:
    n = len(x)
    if n < 2:
        return list(y)
    ns = max(2, min(n, int(f * n + 1e-7)))
    ys = [0.0] * n
    rw = [0.0] * n
    w = [0.0] * n
    res = [0.0] * n
    iteration = 1
    while iteration <= nsteps + 1:
        nleft, nright, last, i = 0, ns - 1, -1, 0
        while True:
            if nright < n - 1:
                d1 = x[i] - x[nleft]
                d2 = x[nright + 1] - x[i]
                if d1 > d2:  # move the window right
                    nleft += 1
                    nright += 1
                    continue
            value, ok = _lowest(x, y, n, x[i], nleft, nright, iteration > 1, rw, w)
            ys[i] = value if ok else y[i]
            if last < i - 1:  # interpolate skipped points
                denom = x[i] - x[last]
                for j in range(last + 1, i):
                    alpha = (x[j] - x[last]) / denom
                    ys[j] = alpha * ys[i] + (1.0 - alpha) * ys[last]
            last = i
            cut = x[last] + delta
            i = last + 1
            while i < n:
                if x[i] > cut:
                    break
                if x[i] == x[last]:
                    ys[i] = ys[last]
                    last = i
                i += 1
            i = max(last + 1, i - 1)
            if last >= n - 1:
                break
        for k in range(n):
            res[k] = y[k] - ys[k]
        sc = 0.0
        for k in range(n):
            sc += abs(res[k])
        sc /= n
        if iteration > nsteps:
            break
        absres = sorted(abs(r) for r in res)
        m1 = n // 2
        if n % 2 == 0:
            cmad = 3.0 * (absres[m1] + absres[n - m1 - 1])
        else:
            cmad = 6.0 * absres[m1]
        if cmad < 1e-7 * sc:  # effectively zero
            break
        c9 = 0.999 * cmad
        c1 = 0.001 * cmad
        for k in range(n):
            r = abs(res[k])
            if r <= c1:
                rw[k] = 1.0
            elif r <= c9:
                q = r / cmad
                q = 1.0 - q * q
                rw[k] = q * q
            else:
                rw[k] = 0.0
        iteration += 1
    return ys


def lowess(x, y, f: float = 2 / 3, iter: int = 3, delta: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """R's ``lowess(x, y, f, iter, delta)``: returns (x sorted, fitted y in that order).

    A faithful port of the C routine ``clowess`` (Cleveland 1979) that R calls, including
    its window moving rule, the ``delta`` skipping with linear interpolation, the tie
    handling and the bisquare robustness iterations with 6 * median(|residual|).
    Pure Python loops: meant for the short vectors (50 points) of independent filtering.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError("x and y lengths differ")
    if delta is None:
        delta = 0.01 * (np.max(x) - np.min(x)) if x.size else 0.0
    o = np.argsort(x, kind="stable")
    xs, ysrt = x[o], y[o]
    fit = _clowess([float(v) for v in xs], [float(v) for v in ysrt], float(f), int(iter), float(delta))
    return xs, np.asarray(fit, dtype=float)


def loess_interpolate(x, y, xout, span: float = 0.75, cell: float = 0.2) -> np.ndarray:
    """``predict(loess(y ~ x, span = span), xout)`` for one predictor with R's defaults
    (degree 2, gaussian family, ``surface = "interpolate"``).

    As R's loess Fortran code: a k-d tree over the sorted x (bounding box widened by 0.5% of
    the range on each side; a cell with more than ``floor(n * span * cell)`` points is split
    at its median point), local quadratic fits with tricube weights over the
    ``floor(n * span)`` nearest points at the tree vertices (value and slope), and cubic
    Hermite interpolation inside the cell holding each evaluation point.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    q = int(math.floor(n * span))
    fc = int(math.floor(n * span * cell))
    xs = np.sort(x)
    lo, hi = float(xs[0]), float(xs[-1])
    margin = 0.005 * max(hi - lo, 1e-10 * max(abs(lo), abs(hi)) + 1e-30)
    root = (lo - margin, hi + margin)
    splits: dict[tuple[float, float], float] = {}
    stack = [(0, n - 1, root)]
    while stack:
        left, right, cell_bounds = stack.pop()
        if right - left + 1 <= fc:
            continue
        m = (left + right + 2) // 2 - 1  # R: m = (l + u) / 2 on 1-based indices
        while m + 1 <= right and xs[m] == xs[m + 1] and m > left:  # ties go with the upper cell
            m -= 1
        xi = float(xs[m])
        if xi in cell_bounds:
            continue
        splits[cell_bounds] = xi
        stack.append((left, m, (cell_bounds[0], xi)))
        stack.append((m + 1, right, (xi, cell_bounds[1])))
    vertex: dict[float, tuple[float, float]] = {}

    def fit(v: float) -> tuple[float, float]:
        if v not in vertex:
            d = np.abs(x - v)
            h = np.partition(d, q - 1)[q - 1]
            u = d / h
            sw = np.sqrt(np.where(u < 1, (1 - u**3) ** 3, 0.0))
            design = np.column_stack([np.ones(n), x - v, (x - v) ** 2])
            coef = np.linalg.lstsq(design * sw[:, None], y * sw, rcond=None)[0]
            vertex[v] = (float(coef[0]), float(coef[1]))
        return vertex[v]

    out = np.empty(len(xout))
    for i, z in enumerate(np.asarray(xout, dtype=float)):
        bounds = root
        while bounds in splits:
            xi = splits[bounds]
            bounds = (bounds[0], xi) if z <= xi else (xi, bounds[1])
        (g0, d0), (g1, d1) = fit(bounds[0]), fit(bounds[1])
        width = bounds[1] - bounds[0]
        t = (z - bounds[0]) / width
        phi0 = (1 - t) ** 2 * (1 + 2 * t)
        phi1 = t**2 * (3 - 2 * t)
        psi0 = t * (1 - t) ** 2
        psi1 = t**2 * (t - 1)
        out[i] = phi0 * g0 + phi1 * g1 + (psi0 * d0 + psi1 * d1) * width
    return out


def trimmed_mean_rows(x: np.ndarray, trim: float) -> np.ndarray:
    """``apply(x, 1, mean, trim = trim)``."""
    n = x.shape[1]
    if trim >= 0.5:
        return np.median(x, axis=1)
    lo = int(math.floor(n * trim)) + 1
    hi = n + 1 - lo
    s = np.sort(x, axis=1)
    return s[:, lo - 1 : hi].mean(axis=1)


def _r_mad(x: np.ndarray) -> float:
    center = np.median(x)
    return R_MAD_CONSTANT * float(np.median(np.abs(x - center)))
