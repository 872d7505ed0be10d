"""pathverdict.design.model_matrix: the main-effects designs built without formulaic are formulaic's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pathverdict import design


def _formulaic(formula: str, meta: pd.DataFrame) -> np.ndarray:
    import formulaic

    return np.asarray(formulaic.model_matrix(formula, meta), dtype=float)


@pytest.mark.parametrize("seed", range(40))
def test_main_effects_matrix_is_formulaics(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 14))
    names = ["condition", "sex", "batch", "donor_id"][: int(rng.integers(1, 5))]
    meta = pd.DataFrame(
        {v: rng.choice([f"{v[0]}{k}" for k in range(int(rng.integers(1, 5)))], n) for v in names}
    ).astype(str)
    if len(names) > 1 and seed % 3 == 0:  # confounded: the second column a relabelling of the first
        meta[names[1]] = meta[names[0]] + "x"
    terms = list(names)
    rng.shuffle(terms)
    for formula in ("~" + "+".join(terms), " ~ 1 + " + " + ".join(terms) + " ", "~" + terms[0] + " + " + terms[0]):
        ours, theirs = design.model_matrix(formula, meta), _formulaic(formula, meta)
        assert ours.shape == theirs.shape, formula
        assert np.linalg.matrix_rank(ours) == np.linalg.matrix_rank(theirs), formula
        # the same columns (treatment coding against the first level in sorted order), maybe in another order
        assert sorted(map(tuple, ours.T)) == sorted(map(tuple, theirs.T)), formula


def test_other_designs_go_to_formulaic():
    meta = pd.DataFrame({"condition": ["a", "b"] * 4, "batch": ["x", "x", "y", "y"] * 2})
    for formula in ("~condition:batch", "~condition*batch", "~0 + condition", "~C(condition)"):
        assert np.array_equal(design.model_matrix(formula, meta), _formulaic(formula, meta)), formula
    assert design.model_matrix("~condition + missing_column", meta) is None  # formulaic cannot build it
