"""The design matrix and contrast vectors, as R's ``model.matrix`` builds them.

:func:`design_matrix` builds the matrix from the sample sheet and a formula with formulaic (via
``formulaic_contrasts.FormulaicContrasts``, exactly the object pydeseq2's ``DeseqDataSet``
builds, so the columns, their names and their order are those pydeseq2 would use): treatment
coding, intercept first, a factor's levels in sorted (C-locale) order with the first one as
the reference -- R's ``model.matrix`` for factors whose levels are in that order (which is how
``tools/deseq2_reference.R`` gives them to R). :meth:`Design.contrast` gives the numeric
contrast vector of ``c(variable, tested, reference)`` (``tested`` minus ``reference``, the
other variables at their reference), as pydeseq2's ``DeseqDataSet.contrast``.

Designs of text columns (factors) are built from a template (:func:`_template`): the design of
every combination of the columns' levels, built once per formula and set of levels; a sample's row
is that of its combination. A factor's coding depends only on its levels, so this is the matrix
formulaic builds (checked against formulaic's own on the first sheet of every template, which is
otherwise not used); it saves formulaic's ~10 ms per design where many designs share the levels
(the label-permutation null builds one per relabeling).

pydeseq2 itself is not imported (it costs about 1.5 s per job and the design is all the DE
step needs from it unless LFC shrinkage is asked for).
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Design:
    """A design matrix (samples x coefficients) and the formula it was built from."""

    formula: str
    matrix: pd.DataFrame  # rows: the samples in the order given; columns: "Intercept", "condition[T.B]", ...
    _contrasts: object = field(repr=False, compare=False)  # formulaic_contrasts.FormulaicContrasts
    _memo: dict = field(default_factory=dict, repr=False, compare=False)  # contrast vectors already built

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.matrix.columns]

    @property
    def rank(self) -> int:
        return int(np.linalg.matrix_rank(self.matrix.to_numpy(dtype=float)))

    def contrast(self, variable: str, tested: str, reference: str) -> np.ndarray:
        """Contrast vector of ``tested`` vs ``reference`` of ``variable`` (R's
        ``results(dds, contrast = c(variable, tested, reference))``)."""
        key = (variable, tested, reference)
        if key not in self._memo:
            vec = self._contrasts.contrast(column=variable, baseline=reference, group_to_compare=tested)
            self._memo[key] = np.asarray(vec, dtype=float)
        return self._memo[key].copy()


def _formulaic(metadata: pd.DataFrame, formula: str):
    from formulaic_contrasts import FormulaicContrasts

    fc = FormulaicContrasts(metadata, formula)
    if fc.design_matrix.isna().any().any():
        raise ValueError("the design has missing values")
    return fc


@dataclass(frozen=True)
class _Template:
    """The design of every combination of the levels (``grid``, one row per combination)."""

    grid: pd.DataFrame  # formulaic's design matrix of the level grid
    position: dict  # tuple of levels -> row of grid
    contrasts: object  # the grid's FormulaicContrasts (same levels, hence the same contrast vectors)
    memo: dict  # contrast vectors, shared by every design built from the template

    def design(self, metadata: pd.DataFrame, formula: str) -> Design:
        rows = [self.position[key] for key in metadata.itertuples(index=False, name=None)]
        matrix = self.grid.iloc[rows].set_axis(metadata.index, axis=0)
        if hasattr(self.grid, "model_spec"):  # formulaic's ModelMatrix wrapper, as formulaic returns it
            matrix = type(self.grid)(matrix, spec=self.grid.model_spec)
        return Design(formula=formula, matrix=matrix, _contrasts=self.contrasts, _memo=self.memo)


GRID_LIMIT = 4096  # combinations of levels beyond which no template is made
_TEMPLATES: OrderedDict = OrderedDict()  # (formula, columns, dtypes, levels) -> _Template, or None: not usable


def _template_key(metadata: pd.DataFrame, formula: str):
    """The template's key: None unless every column holds text only (factors) and the grid is small."""
    levels = []
    for col in metadata.columns:
        values = metadata[col]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            return None
        items = values.tolist()
        if not all(type(v) is str for v in items):
            return None
        levels.append(tuple(sorted(set(items))))
    if not levels or math.prod(len(lv) for lv in levels) > GRID_LIMIT:
        return None
    columns = tuple(str(c) for c in metadata.columns)
    if len(set(columns)) != len(columns) or columns != tuple(metadata.columns):
        return None
    return formula, columns, tuple(str(metadata[c].dtype) for c in columns), tuple(levels)


def _template(key, metadata: pd.DataFrame, built: Design) -> _Template | None:
    """The template of ``key``, checked against ``built`` (formulaic's design of ``metadata``): None
    when it does not give exactly that matrix."""
    formula, columns, dtypes, levels = key
    combos = list(itertools.product(*levels))
    grid = pd.DataFrame(combos, columns=list(columns))
    for col, dtype in zip(columns, dtypes):
        grid[col] = grid[col].astype(dtype)
    try:
        fc = _formulaic(grid, formula)
    except Exception:  # noqa: BLE001 - whatever formulaic raises: no template
        return None
    template = _Template(fc.design_matrix, {c: i for i, c in enumerate(combos)}, fc, {})
    if list(fc.design_matrix.columns) != list(built.matrix.columns):
        return None
    mine = template.design(metadata, formula).matrix
    try:
        pd.testing.assert_frame_equal(mine, built.matrix, check_exact=True)
    except AssertionError:
        return None
    if type(mine) is not type(built.matrix):
        return None
    return template


def design_matrix(metadata: pd.DataFrame, formula: str) -> Design:
    """Design matrix of ``formula`` over the columns of ``metadata`` (one row per sample).

    Text columns are factors (levels sorted, the first one the reference); numeric columns
    are covariates. Raises ValueError when the matrix has missing values."""
    key = _template_key(metadata, formula)
    template = _TEMPLATES.get(key) if key is not None else None
    if template is not None:
        _TEMPLATES.move_to_end(key)
        return template.design(metadata, formula)
    fc = _formulaic(metadata, formula)
    built = Design(formula=formula, matrix=fc.design_matrix, _contrasts=fc)
    if key is not None and key not in _TEMPLATES:
        _TEMPLATES[key] = _template(key, metadata, built)
        while len(_TEMPLATES) > 32:
            _TEMPLATES.popitem(last=False)
    return built
