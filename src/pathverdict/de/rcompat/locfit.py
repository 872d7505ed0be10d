"""locfit's local regression as DESeq2's ``localDispersionFit`` uses it (:class:`LocalFit`).

R's DESeq2 falls back to this local fit of the dispersion trend when the parametric fit
fails. Source: the locfit package (GPL >= 2): its adaptive k-d tree, the cubic Hermite
interpolation of ``predict.locfit`` and its parametric component.
"""

from __future__ import annotations

import numpy as np


class LocalFit:
    """``locfit(y ~ x, weights = w)`` with locfit's defaults as DESeq2's ``localDispersionFit``
    calls it (1-d, degree 2, tricube kernel, nearest-neighbour fraction 0.7, Gaussian
    family), evaluated the way ``predict.locfit`` does it: local fits at the vertices of
    locfit's adaptive tree (cells bisected while longer than 0.8 times the smaller vertex
    bandwidth), cubic Hermite interpolation of value and slope inside a cell, linear outside
    the data range, all relative to the global prior-weighted quadratic fit (locfit's
    "parametric component"), which is added back at the evaluation point.
    """

    def __init__(self, x, y, weights, alpha: float = 0.7, cut: float = 0.8):
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.w = np.asarray(weights, dtype=float)
        n = self.x.size
        self.k = int(n * alpha + 1e-12)
        if self.k < 3:
            raise ValueError("too few points for a local fit")
        self.cut = cut
        self.xbar = float(np.sum(self.w * self.x) / np.sum(self.w))
        self.pc = self._wls(self.x, self.y, self.w, self.xbar)
        self.ll, self.ur = float(self.x.min()), float(self.x.max())
        self.vx: list[float] = []
        self.val: list[float] = []
        self.der: list[float] = []
        self.h: list[float] = []
        self.children: dict[tuple[int, int], int] = {}
        a, b = self._vertex(self.ll), self._vertex(self.ur)
        self._grow(a, b)

    @staticmethod
    def _wls(x, y, w, x0):
        d = x - x0
        basis = np.column_stack([np.ones_like(d), d, d * d / 2])
        sw = np.sqrt(w)
        return np.linalg.lstsq(basis * sw[:, None], y * sw, rcond=None)[0]

    def _global(self, x0: float) -> tuple[float, float]:
        d = x0 - self.xbar
        return self.pc[0] + self.pc[1] * d + self.pc[2] * d * d / 2, self.pc[1] + self.pc[2] * d

    def _vertex(self, x0: float) -> int:
        dist = np.abs(self.x - x0)
        h = float(np.partition(dist, self.k - 1)[self.k - 1])
        u = dist / h if h > 0 else np.where(dist == 0, 0.0, np.inf)
        kern = np.where(u < 1, (1 - u**3) ** 3, 0.0) * self.w
        use = kern > 0
        coef = self._wls(self.x[use], self.y[use], kern[use], x0)
        g0, g1 = self._global(x0)
        self.vx.append(x0)
        self.val.append(float(coef[0] - g0))
        self.der.append(float(coef[1] - g1))
        self.h.append(h)
        return len(self.vx) - 1

    def _split(self, a: int, b: int) -> bool:
        hs = [h for h in (self.h[a], self.h[b]) if h > 0]
        length = self.vx[b] - self.vx[a]
        score = length / min(hs) if hs else 2 * length / (self.ur - self.ll)
        return self.cut < score

    def _grow(self, a: int, b: int) -> None:
        if len(self.vx) > 200 or not self._split(a, b):
            return
        m = self._vertex((self.vx[a] + self.vx[b]) / 2)
        self.children[(a, b)] = m
        self._grow(a, m)
        self._grow(m, b)

    def __call__(self, xq) -> np.ndarray:
        xq = np.atleast_1d(np.asarray(xq, dtype=float))
        out = np.empty(xq.size)
        for i, x in enumerate(xq):
            a, b = 0, 1
            while (a, b) in self.children:
                m = self.children[(a, b)]
                if 2 * (x - self.vx[a]) < (self.vx[b] - self.vx[a]):
                    b = m
                else:
                    a = m
            z = self.vx[b] - self.vx[a]
            t = (x - self.vx[a]) / z
            if t < 0:
                phi = [1.0, 0.0, t, 0.0]
            elif t > 1:
                phi = [0.0, 1.0, 0.0, t - 1]
            else:
                p1 = t * t * (3 - 2 * t)
                phi = [1 - p1, p1, t * (1 - t) * (1 - t), t * t * (t - 1)]
            v = phi[0] * self.val[a] + phi[1] * self.val[b] + phi[2] * z * self.der[a] + phi[3] * z * self.der[b]
            out[i] = v + self._global(x)[0]
        return out
