"""DESeq2's median-of-ratios size factors, shared by the steps that normalise counts
outside the DE step (sample selection by expression, the simulator's fit)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError


def median_of_ratios(counts) -> np.ndarray:
    """Per sample, the median ratio of its counts to each gene's geometric mean over samples
    (genes with a zero in any sample left out), as DESeq2's ``estimateSizeFactors``; the
    DE step's own implementation (:func:`pathverdict.de.rcompat.size_factors_ratio`)."""
    from .rcompat import size_factors_ratio

    try:
        return size_factors_ratio(np.asarray(counts, dtype=float))
    except ValueError as exc:
        raise InputError(f"cannot compute median-of-ratios size factors: {exc}.") from exc
