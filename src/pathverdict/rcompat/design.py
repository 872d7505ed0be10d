"""The design matrix and contrast vectors, as R's ``model.matrix`` builds them.

:func:`design_matrix` builds the matrix from the sample sheet and a formula with formulaic (via
``formulaic_contrasts.FormulaicContrasts``, exactly the object pydeseq2's ``DeseqDataSet``
builds, so the columns, their names and their order are those pydeseq2 would use): treatment
coding, intercept first, a factor's levels in sorted (C-locale) order with the first one as
the reference -- R's ``model.matrix`` for factors whose levels are in that order (which is how
``tools/deseq2_reference.R`` gives them to R). :meth:`Design.contrast` gives the numeric
contrast vector of ``c(variable, tested, reference)`` (``tested`` minus ``reference``, the
other variables at their reference), as pydeseq2's ``DeseqDataSet.contrast``.

pydeseq2 itself is not imported (it costs about 1.5 s per job and the design is all the DE
step needs from it unless LFC shrinkage is asked for).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Design:
    """A design matrix (samples x coefficients) and the formula it was built from."""

    formula: str
    matrix: pd.DataFrame  # rows: the samples in the order given; columns: "Intercept", "condition[T.B]", ...
    _contrasts: object = field(repr=False, compare=False)  # formulaic_contrasts.FormulaicContrasts

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.matrix.columns]

    @property
    def rank(self) -> int:
        return int(np.linalg.matrix_rank(self.matrix.to_numpy(dtype=float)))

    def contrast(self, variable: str, tested: str, reference: str) -> np.ndarray:
        """Contrast vector of ``tested`` vs ``reference`` of ``variable`` (R's
        ``results(dds, contrast = c(variable, tested, reference))``)."""
        vec = self._contrasts.contrast(column=variable, baseline=reference, group_to_compare=tested)
        return np.asarray(vec, dtype=float)


def design_matrix(metadata: pd.DataFrame, formula: str) -> Design:
    """Design matrix of ``formula`` over the columns of ``metadata`` (one row per sample).

    Text columns are factors (levels sorted, the first one the reference); numeric columns
    are covariates. Raises ValueError when the matrix has missing values."""
    from formulaic_contrasts import FormulaicContrasts

    fc = FormulaicContrasts(metadata, formula)
    matrix = fc.design_matrix
    if matrix.isna().any().any():
        raise ValueError("the design has missing values")
    return Design(formula=formula, matrix=matrix, _contrasts=fc)
