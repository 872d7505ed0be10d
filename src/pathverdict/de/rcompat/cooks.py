"""Cook's distances as DESeq2 computes and uses them.

``calculateCooksDistance`` with the robust method-of-moments dispersion
(:func:`cooks_distance`), ``recordMaxCooks`` (:func:`record_max_cooks`), and the Cook's filter
of ``results()`` (:func:`cooks_outlier_mask`: ``maxCooks > qf(.99, p, m - p)``, with the
"three or more counts larger than the outlier's" exception only for designs with one
variable that is a two-level factor). Source: DESeq2 1.38 (LGPL >= 3).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .rstats import trimmed_mean_rows


def n_or_more_in_cell(X: np.ndarray, n: int) -> np.ndarray:
    """``nOrMoreInCell``: samples whose design-matrix row occurs at least ``n`` times."""
    X = np.asarray(X, dtype=float)
    _, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    return counts[np.ravel(inverse)] >= n


def cooks_cutoff(n_samples: int, n_coefs: int) -> float:
    """Default Cook's cutoff ``qf(0.99, p, m - p)``."""
    return float(special.fdtri(n_coefs, n_samples - n_coefs, 0.99))  # = scipy.stats.f.ppf, bit for bit


def cooks_outlier_mask(max_cooks, cutoff: float, counts, cooks, single_two_level_factor: bool) -> np.ndarray:
    """Genes whose p-value ``results()`` sets to NA because of a Cook's outlier.

    ``maxCooks > cutoff`` (NA maxCooks never counts). ``cooks``: the (G, n) distances, or
    per gene the index of the sample with the largest one (-1 when all are NA). Only when the design has a single
    variable that is a factor with two levels, a gene is kept anyway if 3 or more of its
    counts are larger than the count of the sample with the largest Cook's distance.
    """
    max_cooks = np.asarray(max_cooks, dtype=float)
    with np.errstate(invalid="ignore"):
        outlier = max_cooks > cutoff
    if single_two_level_factor and outlier.any():
        counts = np.asarray(counts)
        cooks = np.asarray(cooks)
        for i in np.flatnonzero(outlier):
            if cooks.ndim == 2:  # the distances themselves
                row = np.asarray(cooks[i], dtype=float)
                if np.all(np.isnan(row)):
                    continue
                j = int(np.nanargmax(row))
            else:  # per gene, the sample with the largest distance (-1: none)
                j = int(cooks[i])
                if j < 0:
                    continue
            out_count = counts[i, j]
            if np.sum(counts[i] > out_count) >= 3:
                outlier[i] = False
    return outlier


def _trim_class(n: int) -> int:
    return 0 if n <= 3.5 else (1 if n <= 23.5 else 2)


def robust_method_of_moments_disp(normalized: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``robustMethodOfMomentsDisp``: trimmed within-cell variance, floored at 0.04."""
    three = n_or_more_in_cell(X, 3)
    if three.any():
        rows = X[three]
        _, cell = np.unique(rows, axis=0, return_inverse=True)
        cell = np.ravel(cell)
        sub = normalized[:, three]
        var_est = []
        for c in np.unique(cell):
            cols = cell == c
            k = _trim_class(int(cols.sum()))
            trim = (1 / 3, 1 / 4, 1 / 8)[k]
            scale = (2.04, 1.86, 1.51)[k]
            means = trimmed_mean_rows(sub[:, cols], trim)
            sq = (sub[:, cols] - means[:, None]) ** 2
            var_est.append(scale * trimmed_mean_rows(sq, trim))
        v = np.max(np.vstack(var_est), axis=0)
    else:
        rm = trimmed_mean_rows(normalized, 1 / 8)
        v = 1.51 * trimmed_mean_rows((normalized - rm[:, None]) ** 2, 1 / 8)
    mean = normalized.mean(axis=1)
    return np.maximum((v - mean) / mean**2, 0.04)


def cooks_distance(counts, normalized, mu, hat, X) -> np.ndarray:
    """``calculateCooksDistance``."""
    p = X.shape[1]
    disp = robust_method_of_moments_disp(normalized, X)
    V = mu + disp[:, None] * mu**2
    prs = (counts - mu) ** 2 / V
    return prs / p * hat / (1 - hat) ** 2


def record_max_cooks(X: np.ndarray, cooks: np.ndarray) -> np.ndarray:
    """``recordMaxCooks``: max over samples in cells with >= 3 replicates (NA if none)."""
    use = n_or_more_in_cell(X, 3)
    m, p = X.shape
    if m > p and use.any():
        return np.max(cooks[:, use], axis=1)
    return np.full(cooks.shape[0], np.nan)
