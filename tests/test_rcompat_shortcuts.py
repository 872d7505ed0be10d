"""The shortcuts that make the DE fit cheaper compute exactly what the generic code computed:
each is compared bit for bit with the computation it replaces, on many shapes. Exact equality is
guaranteed on every CPU (issue 24, docs/numerics.md): both sides run in the same process and do the
same IEEE operations in the same order (sums of rows in sample order as the einsum's loop; the same
numpy and scipy functions on the same values), so another CPU's kernels change both alike."""

import numpy as np
import pytest

from pathverdict.de.rcompat.glm import _xtwx


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
        want = _einsum_xtwx(w, X)
        for got in (_xtwx(w, X), _xtwx(np.ascontiguousarray(w.T), X, transposed=True), _xtwx(w.T, X, transposed=True)):
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
    assert np.array_equal(_xtwx(w.T.copy(), X, transposed=True), _einsum_xtwx(w, X), equal_nan=True)
    X = np.column_stack([np.ones(10), rng.normal(size=10)])
    w = np.exp(rng.normal(0, 2, (40, 10)))
    assert np.array_equal(_xtwx(w.T.copy(), X, transposed=True), _einsum_xtwx(w, X))


def test_norm_logpdf_equals_scipy_bit_for_bit():
    from scipy import stats

    from pathverdict.de.rcompat.glm import _norm_logpdf

    rng = np.random.default_rng(7)
    for lam in (1e-6, 1e-3, 0.5, 1.0, 4.0):
        sd = np.sqrt(1.0 / np.full(3, lam / np.log(2) ** 2))
        for _ in range(300):
            x = rng.uniform(-30, 30, 3) * rng.choice([1e-8, 1e-3, 1.0])
            assert np.array_equal(_norm_logpdf(x, sd), stats.norm.logpdf(x, 0.0, sd))
        edge = np.array([-30.0, 30.0, 0.0])
        assert np.array_equal(_norm_logpdf(edge, sd), stats.norm.logpdf(edge, 0.0, sd))


@pytest.mark.parametrize(
    "formula", ["~condition", "~batch + condition", "~batch * condition", "~0 + condition", "~batch:condition"]
)
def test_design_from_the_level_template_equals_formulaic(formula):
    """Designs of factors after the first one for a formula and set of levels come from the template of
    every combination of the levels: the matrix formulaic builds (values, dtypes, columns, index,
    type) and the same contrast vectors, for any sheet with those levels."""
    import pandas as pd
    from formulaic_contrasts import FormulaicContrasts

    from pathverdict.de.rcompat import design as dm

    rng = np.random.default_rng(len(formula))
    dm._TEMPLATES.clear()
    n = 12
    for trial in range(15):
        meta = pd.DataFrame(
            {"batch": rng.permutation(list("xyz") * 4), "condition": rng.permutation(["ctl", "KO"] * 6)},
            index=pd.Index([f"s{i}" for i in rng.permutation(n)], name="sample"),
        )
        ref = FormulaicContrasts(meta, formula)
        got = dm.design_matrix(meta, formula)
        pd.testing.assert_frame_equal(got.matrix, ref.design_matrix, check_exact=True)
        assert type(got.matrix) is type(ref.design_matrix)
        want = np.asarray(ref.contrast(column="condition", baseline="ctl", group_to_compare="KO"), dtype=float)
        assert np.array_equal(got.contrast("condition", "KO", "ctl"), want)
        with pytest.raises(ValueError):
            got.contrast("condition", "KO", "nope")
    key = dm._template_key(meta, formula)
    assert dm._TEMPLATES[key] is not None  # the template was used


def test_design_template_not_used_for_numeric_columns_or_other_levels():
    import pandas as pd

    from pathverdict.de.rcompat import design as dm

    dm._TEMPLATES.clear()
    meta = pd.DataFrame({"depth": [1.0, 2.0, 3.0, 4.0], "condition": ["a", "b", "a", "b"]})
    assert dm._template_key(meta, "~depth + condition") is None
    dm.design_matrix(meta, "~depth + condition")
    assert not dm._TEMPLATES
    one = pd.DataFrame({"condition": ["a", "b", "a", "b"]})
    two = pd.DataFrame({"condition": ["a", "c", "a", "c"]})
    assert dm.design_matrix(one, "~condition").columns == ["Intercept", "condition[T.b]"]
    assert dm.design_matrix(two, "~condition").columns == ["Intercept", "condition[T.c]"]
    assert len(dm._TEMPLATES) == 2


def test_filtered_p_equals_bh_of_each_subset_bit_for_bit():
    """filtered_p sorts once; each column must be p_adjust_bh of its genes, as it was computed before."""
    from pathverdict.de.rcompat.results import filtered_p
    from pathverdict.de.rcompat.rstats import p_adjust_bh, r_quantile

    rng = np.random.default_rng(17)
    for n in (1, 2, 5, 60, 3000):
        for _ in range(5):
            base_mean = np.where(rng.random(n) < 0.2, 0.0, np.exp(rng.normal(3, 2, n)))
            p = rng.random(n) ** 3
            p[rng.random(n) < 0.1] = np.nan
            p[rng.random(n) < 0.05] = 1.0  # ties
            p[rng.random(n) < 0.05] = 0.0
            theta = np.linspace(float(np.mean(base_mean == 0)), 0.95, 50)
            got = filtered_p(base_mean, p, theta)
            want = np.full_like(got, np.nan)
            for k, cut in enumerate(r_quantile(base_mean, theta)):
                use = base_mean >= cut
                if use.any():
                    want[use, k] = p_adjust_bh(p[use])
            assert np.array_equal(got, want, equal_nan=True)


def _plain_log_posterior(log_alpha, y, mu, X, prior_mean, prior_var, use_prior):
    """The log posterior as plain numpy expressions (the code before the in-place version)."""
    from scipy import special

    alpha = np.exp(log_alpha)
    a = alpha[:, None]
    w = 1.0 / (1.0 / mu + a)
    cr = -0.5 * np.log(np.linalg.det(np.einsum("gn,ni,nj->gij", w, X, X)))
    an1 = 1.0 / alpha
    ll = np.sum(
        special.gammaln(y + an1[:, None])
        - special.gammaln(an1)[:, None]
        - y * np.log(mu + an1[:, None])
        - an1[:, None] * np.log(1.0 + mu * a),
        axis=1,
    )
    if use_prior:
        d = log_alpha - prior_mean
        return ll + (-0.5 * (d * d) / prior_var) + cr
    return ll + cr


def _plain_dlog_posterior(log_alpha, y, mu, X, prior_mean, prior_var, use_prior):
    from scipy import special

    alpha = np.exp(log_alpha)
    a = alpha[:, None]
    inv = 1.0 / mu + a
    w = 1.0 / inv
    dw = -1.0 / (inv * inv)
    b = np.einsum("gn,ni,nj->gij", w, X, X)
    db = np.einsum("gn,ni,nj->gij", dw, X, X)
    cr = -0.5 * np.einsum("gij,gji->g", np.linalg.inv(b), db)
    an1 = 1.0 / alpha
    an2 = 1.0 / (alpha * alpha)
    ma = mu * a
    ll = an2 * np.sum(
        special.digamma(an1)[:, None]
        + np.log(1.0 + ma)
        - ma * (1.0 / (1.0 + ma))
        - special.digamma(y + an1[:, None])
        + y * (1.0 / (mu + an1[:, None])),
        axis=1,
    )
    res = (ll + cr) * alpha
    if use_prior:
        res = res + (-1.0 * (log_alpha - prior_mean) / prior_var)
    return res


@pytest.mark.parametrize("n_genes", [1, 2, 500])
def test_log_posterior_and_derivative_equal_the_plain_expressions_bit_for_bit(n_genes):
    from pathverdict.de.rcompat import dispersion as disp

    rng = np.random.default_rng(n_genes)
    for n, cols in ((6, 1), (24, 1), (12, 3)):
        X = np.column_stack([np.ones(n)] + [rng.integers(0, 2, n).astype(float) for _ in range(cols)])
        X[:2, 1:] = [[0.0] * cols, [1.0] * cols]
        mu = np.maximum(np.exp(rng.normal(3, 3, (n_genes, n))), 0.5)
        y = rng.poisson(mu).astype(float)
        log_alpha = np.concatenate([rng.uniform(-30, 10, n_genes - 1), [np.nan]])[-n_genes:]
        prior = log_alpha + rng.normal(0, 1, n_genes)
        with np.errstate(all="ignore"):
            for use_prior in (False, True):
                for inv_mu in (None, np.ascontiguousarray((1.0 / mu).T)):
                    got = disp._log_posterior(log_alpha, y, mu, X, prior, 1.7, use_prior, inv_mu)
                    want = _plain_log_posterior(log_alpha, y, mu, X, prior, 1.7, use_prior)
                    assert np.array_equal(got, want, equal_nan=True)
                    got = disp._dlog_posterior(log_alpha, y, mu, X, prior, 1.7, use_prior, inv_mu)
                    want = _plain_dlog_posterior(log_alpha, y, mu, X, prior, 1.7, use_prior)
                    assert np.array_equal(got, want, equal_nan=True)


def test_nb_logpmf_equals_the_plain_expression_bit_for_bit():
    from scipy import special

    from pathverdict.de.rcompat.glm import _nb_logpmf

    rng = np.random.default_rng(23)
    mu = np.maximum(np.exp(rng.normal(3, 3, (300, 12))), 0.5)
    y = rng.poisson(mu).astype(float)
    alpha = np.exp(rng.uniform(-20, 3, (300, 1)))
    alpha[0, 0] = np.nan
    with np.errstate(all="ignore"):
        r = 1.0 / alpha
        want = (
            special.gammaln(y + r)
            - special.gammaln(r)
            - special.gammaln(y + 1.0)
            + r * np.log(r / (r + mu))
            + y * np.log(mu / (r + mu))
        )
        assert np.array_equal(_nb_logpmf(y, mu, alpha), want, equal_nan=True)
        assert np.array_equal(_nb_logpmf(y, mu, alpha, special.gammaln(y + 1.0)), want, equal_nan=True)
        row = _nb_logpmf(y[5], mu[5], float(alpha[5, 0]))  # one gene, as the optim fallback calls it
        assert np.array_equal(row, want[5])
