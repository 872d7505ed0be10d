"""The shortcuts that make the DE fit cheaper compute exactly what the generic code computed:
each is compared bit for bit with the computation it replaces, on many shapes."""

import numpy as np
import pytest

from pathverdict.rcompat.glm import _xtwx


def _einsum_xtwx(w, X):
    return np.einsum("gn,ni,nj->gij", w, X, X)


@pytest.mark.parametrize("n_genes", [1, 2, 3, 8, 17, 1000])
@pytest.mark.parametrize("n_samples", [3, 6, 8, 9, 24, 25, 100])
def test_xtwx_of_a_factor_design_equals_the_einsum_bit_for_bit(n_genes, n_samples):
    rng = np.random.default_rng(n_genes * 1000 + n_samples)
    for kind in ("intercept", "negative weights", "empty cell", "no intercept"):
        w = np.exp(rng.normal(0, 4, (n_genes, n_samples)))
        cols = [np.ones(n_samples)] + [rng.integers(0, 2, n_samples).astype(float) for _ in range(3)]
        if kind == "negative weights":
            w = -w  # as the derivative of the weights in the Cox-Reid term
        if kind == "empty cell":
            cols.append(np.zeros(n_samples))
        if kind == "no intercept":
            cols = [cols[1], 1.0 - cols[1], cols[2]]
        X = np.column_stack(cols)
        got, want = _xtwx(w, X), _einsum_xtwx(w, X)
        assert got.shape == want.shape
        assert np.array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))


def test_xtwx_general_design_and_non_finite_weights_take_the_einsum():
    rng = np.random.default_rng(3)
    w = np.exp(rng.normal(0, 2, (40, 10)))
    X = np.column_stack([np.ones(10), rng.normal(size=10)])  # a continuous covariate
    assert np.array_equal(_xtwx(w, X), _einsum_xtwx(w, X))
    X = np.column_stack([np.ones(10), np.arange(10) % 2])
    w[3, 4], w[5, 1] = np.inf, np.nan  # inf * 0 is NaN in the einsum: kept
    assert np.array_equal(_xtwx(w, X), _einsum_xtwx(w, X), equal_nan=True)
    assert np.isnan(_xtwx(w, X)[3]).any()
