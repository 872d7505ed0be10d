"""DESeq2's median-of-ratios size factors, shared by the steps that normalise counts
outside pydeseq2 (sample selection by expression, the simulator's fit)."""

from __future__ import annotations

import numpy as np

from .errors import InputError


def median_of_ratios(counts) -> np.ndarray:
    """Per sample, the median ratio of its counts to each gene's geometric mean over samples
    (genes with a zero in any sample left out), as DESeq2's ``estimateSizeFactors``."""
    counts = np.asarray(counts, dtype=float)
    with np.errstate(divide="ignore"):
        logc = np.log(counts)
    log_geo = logc.mean(axis=1)
    usable = np.isfinite(log_geo)
    if not usable.any():
        raise InputError("cannot compute median-of-ratios size factors: every gene has a zero count in some "
                         "sample.")
    return np.exp(np.median(logc[usable] - log_geo[usable, None], axis=0))
