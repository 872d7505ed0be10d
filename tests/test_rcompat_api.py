"""The public entry point of ``pathverdict.de.rcompat`` and where pydeseq2 comes in (issue 13, item 3):
the design matrix built with formulaic is the one pydeseq2 builds (R's model.matrix column order),
the LFC shrinkage adapter gives what pydeseq2's own ``DeseqStats.lfc_shrink`` gives on the same fit,
pydeseq2 is imported only when shrinkage is asked for, and the subpackage's imports point one way."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pathverdict import de
from pathverdict.de import rcompat as rc
from pathverdict.errors import InputError

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "pathverdict" / "de" / "rcompat"


def _meta():
    return pd.DataFrame(
        {
            "condition": ["ctl", "ctl", "ctl", "KO", "KO", "KO", "OE", "OE"],
            "batch": ["b2", "b1", "b2", "b1", "b2", "b1", "b2", "b1"],
            "age": [30.0, 41.5, 52.0, 33.0, 47.0, 60.0, 38.0, 44.0],
        },
        index=[f"s{i}" for i in range(8)],
    )


def test_design_matrix_columns_in_r_model_matrix_order():
    # R: model.matrix(~batch + condition) with levels in C-locale order ("KO" < "OE" < "ctl"):
    # (Intercept) batchb2 conditionOE conditionctl -- the first level is the reference
    d = rc.design_matrix(_meta()[["batch", "condition"]], "~batch + condition")
    assert d.columns == ["Intercept", "batch[T.b2]", "condition[T.OE]", "condition[T.ctl]"]
    expected = np.array(
        [[1, 1, 0, 1], [1, 0, 0, 1], [1, 1, 0, 1], [1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0], [1, 0, 1, 0]]
    )
    np.testing.assert_array_equal(d.matrix.to_numpy(), expected)
    assert list(d.matrix.index) == list(_meta().index) and d.rank == 4
    np.testing.assert_array_equal(d.contrast("condition", "OE", "KO"), [0, 0, 1, 0])
    np.testing.assert_array_equal(d.contrast("condition", "OE", "ctl"), [0, 0, 1, -1])
    assert rc.shrinkable_coefficient(d.contrast("condition", "ctl", "KO")) == 3
    assert rc.shrinkable_coefficient(d.contrast("condition", "OE", "ctl")) is None
    assert rc.shrinkable_coefficient(d.contrast("condition", "KO", "OE")) is None  # -1 on one column


@pytest.mark.parametrize(
    "formula,columns",
    [
        ("~condition", ["condition"]),
        ("~batch + condition", ["batch", "condition"]),
        ("~age + condition", ["age", "condition"]),
        ("~batch + condition + batch:condition", ["batch", "condition"]),
    ],
)
def test_design_matrix_is_pydeseq2s(formula, columns):
    """The matrix and contrast vectors pydeseq2's DeseqDataSet builds from the same sheet."""
    from pydeseq2.dds import DeseqDataSet

    meta = _meta()[columns]
    counts = pd.DataFrame(np.arange(16).reshape(8, 2) + 1, index=meta.index, columns=["g1", "g2"])
    with de._quiet():
        dds = DeseqDataSet(counts=counts, metadata=meta, design=formula, refit_cooks=False, quiet=True)
    ours = rc.design_matrix(meta, formula)
    pd.testing.assert_frame_equal(ours.matrix, dds.obsm["design_matrix"], check_exact=True)
    for tested, reference in [("OE", "KO"), ("ctl", "KO"), ("OE", "ctl")]:
        np.testing.assert_array_equal(
            ours.contrast("condition", tested, reference),
            np.asarray(dds.contrast(column="condition", baseline=reference, group_to_compare=tested), dtype=float),
        )


def test_design_errors_are_input_errors():
    meta = _meta()[["condition"]]
    with pytest.raises(InputError, match="cannot be built"):
        de.design_and_contrast(meta, "~condition", ["condition", "OE", "nonexistent"])
    with pytest.raises(InputError, match="cannot be built"):
        de.design_and_contrast(meta, "~condition + missing_column", ["condition", "OE", "KO"])


def _fitted(gene_pool, tmp_path, contrast=("condition", "Treated", "Control")):
    from conftest import make_tiny_dataset

    ds = make_tiny_dataset(tmp_path, gene_pool, n_genes=150, reps=3)
    counts = ds.counts.copy()
    counts.loc["ALLZERO"] = 0  # a gene pydeseq2 leaves out of the shrinkage
    samples = ds.samples.set_index("sample").loc[counts.columns]
    meta = de._metadata(samples, "~condition")
    design = rc.design_matrix(meta, "~condition")
    fit = rc.fit_deseq(counts.to_numpy(), design.matrix.to_numpy(dtype=float))
    return counts, meta, design, fit, design.contrast(*contrast)


def test_lfc_shrink_equals_pydeseq2_deseqstats(gene_pool, tmp_path):
    """Drift guard: our adapter (pydeseq2's public Inference.lfc_shrink_nbinom_glm + the prior scale
    copied from DeseqStats._fit_prior_var) equals pydeseq2's DeseqStats.lfc_shrink given the same fit.
    Feeding DeseqStats needs a DeseqDataSet with pydeseq2's private fields filled -- the way the DE step
    used it before; done here only to check the adapter."""
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.default_inference import DefaultInference
    from pydeseq2.ds import DeseqStats

    counts, meta, design, fit, contrast = _fitted(gene_pool, tmp_path)
    res = rc.deseq_results(fit, contrast, alpha=0.05)
    ours = rc.lfc_shrink(fit, contrast)
    assert ours.coefficient == 1 and 0 < ours.prior_scale <= 1 and ours.not_updated == 0

    with de._quiet():
        dds = DeseqDataSet(counts=counts.T, metadata=meta, design="~condition", refit_cooks=False, quiet=True)
    genes = dds.var_names
    nz = ~fit.all_zero
    dds.obs["size_factors"] = fit.size_factors
    dds.var["_normed_means"] = fit.base_mean
    dds.var["non_zero"] = nz
    dds.non_zero_idx = np.flatnonzero(nz)
    dds.non_zero_genes = genes[nz]
    dds.var["dispersions"] = fit.dispersion
    dds.varm["LFC"] = pd.DataFrame(fit.beta, index=genes, columns=dds.obsm["design_matrix"].columns)
    with de._quiet():
        stats = DeseqStats(
            dds,
            contrast=["condition", "Treated", "Control"],
            cooks_filter=False,
            independent_filter=False,
            inference=DefaultInference(n_cpus=1),
            quiet=True,
        )
        stats.SE = pd.Series(res.table["lfcSE"] * np.log(2), index=genes)
        stats.lfc_shrink(coeff="condition[T.Treated]")
    theirs_lfc = stats.LFC["condition[T.Treated]"].to_numpy() / np.log(2)
    theirs_se = stats.SE.to_numpy() / np.log(2)
    np.testing.assert_array_equal(ours.log2_fold_change, theirs_lfc)
    np.testing.assert_array_equal(ours.lfc_se, theirs_se)
    assert np.isnan(ours.log2_fold_change[-1]) and np.isnan(ours.lfc_se[-1])  # the all-zero gene
    # shrinkage moved the estimates towards zero
    finite = np.isfinite(res.table["log2FoldChange"]) & np.isfinite(ours.log2_fold_change)
    assert np.mean(np.abs(ours.log2_fold_change[finite]) <= np.abs(res.table["log2FoldChange"][finite]) + 1e-6) > 0.95


def test_apeglm_prior_var():
    # S - D weighted mean: with D = 0 and lfc^2 = 0.5 everywhere the root is a = 0.5
    assert rc.apeglm_prior_var(np.full(20, np.sqrt(0.5)), np.zeros(20)) == pytest.approx(0.5, rel=1e-9)
    # estimates within their noise: the lower bound; NaN estimates are left out
    assert rc.apeglm_prior_var(np.array([0.1, np.nan, -0.1]), np.array([1.0, 1.0, 1.0])) == 1e-6


def test_shrinkage_with_a_contrast_that_is_not_one_coefficient_is_refused(gene_pool, tmp_path):
    """apeGLM shrinks one coefficient; a contrast between two non-reference levels is not one. (The DE
    step used to shrink the tested level's coefficient against the *design's* reference instead.)"""
    from conftest import make_tiny_dataset

    ds = make_tiny_dataset(tmp_path, gene_pool, n_genes=100, reps=3)
    samples = ds.samples.set_index("sample")
    samples.loc[samples.index[:2], "condition"] = "Mid"
    params = de.DEParams(design="~condition", contrast=["condition", "Treated", "Mid"], shrink=True)
    with pytest.raises(
        InputError, match=r"reference level for 'condition', which is 'Control'.*\[condition, Treated, Mid\]"
    ):
        de.run_deseq2(ds.counts, samples, params)
    # the DE step names the dataset and the config key to change (issue 24)
    from pathverdict.steps.de import run_de
    from pathverdict.util import write_tsv

    write_tsv(samples.reset_index(), tmp_path / "sheet.tsv")
    write_tsv(ds.counts.reset_index(), tmp_path / "counts.tsv")
    write_tsv(pd.DataFrame({"gene_id": ds.counts.index, "symbol": ds.counts.index}), tmp_path / "genes.tsv")
    settings = {"alpha": 0.05, "prefilter": {"min_count": 0, "min_samples": None}, "independent_filtering": True}
    settings.update(cooks_filter=True, shrinkage=True)
    outs = {f"out_{k}": str(tmp_path / k) for k in ("de", "normalized", "vst", "summary")}
    with pytest.raises(InputError) as info:
        run_de(
            dataset="kd_lines",
            dataset_config={"design": "~condition", "contrast": ["condition", "Treated", "Mid"]},
            de=settings,
            counts=str(tmp_path / "counts.tsv"),
            samples=str(tmp_path / "sheet.tsv"),
            genes=str(tmp_path / "genes.tsv"),
            **outs,
        )
    msg = str(info.value)
    assert msg.startswith("dataset kd_lines: LFC shrinkage"), msg
    assert "`de.shrinkage: false`" in msg and "datasets.kd_lines.contrast: [condition, Treated, Control]" in msg, msg
    assert not any(Path(v).exists() for v in outs.values())
    with pytest.raises(ValueError, match="one coefficient"):  # checked before the fit is looked at
        rc.lfc_shrink(None, np.array([0.0, 2.0]))


LAZY = """
import sys
import numpy as np, pandas as pd
from pathverdict import de
rng = np.random.default_rng(1)
counts = pd.DataFrame(rng.negative_binomial(5, 0.05, size=(60, 6)), index=[f"g{i}" for i in range(60)],
                      columns=list("abcdef"))
samples = pd.DataFrame({"condition": ["Control"] * 3 + ["Treated"] * 3}, index=list("abcdef"))
params = de.DEParams(design="~condition", contrast=["condition", "Treated", "Control"], shrink=sys.argv[1] == "1")
res = de.run_deseq2(counts, samples, params).results
print(int("pydeseq2" in sys.modules), int("log2FoldChange_shrunk" in res.columns))
"""


@pytest.mark.parametrize("shrink", [0, 1])
def test_pydeseq2_is_imported_only_for_shrinkage(shrink):
    out = subprocess.run(
        [sys.executable, "-c", LAZY, str(shrink)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout.split()
    assert out == [str(shrink), str(shrink)]


def _imports(path: Path) -> set[str]:
    """Modules a file imports, relative ones resolved within pathverdict."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from .x import / from . import x
                base = node.module or ""
                names |= {f"rcompat.{base}" if base else f"rcompat.{a.name}" for a in node.names}
            elif node.level >= 2:  # outside rcompat
                names.add(f"pathverdict.{node.module}")
            elif node.module:
                names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return {n.split(" ")[0] for n in names}


def test_subpackage_imports_point_one_way():
    order = ["rstats", "locfit", "glm", "dispersion", "cooks", "deseq", "results", "design", "shrink"]
    for i, name in enumerate(order):
        path = PKG / f"{name}.py"
        assert len(path.read_text().splitlines()) <= 600, f"{name}.py is over 600 lines"
        imports = _imports(path)
        assert not any(m.startswith("pathverdict") for m in imports), (name, imports)  # nothing outside rcompat
        inner = {m.split(".")[1] for m in imports if m.startswith("rcompat.")}
        assert inner <= set(order[:i]), f"{name} imports {inner - set(order[:i])}: imports must point one way"
        if name != "shrink":
            assert not any(m.startswith("pydeseq2") for m in imports), name
    assert {p.stem for p in PKG.glob("*.py")} == set(order) | {"__init__"}


def test_numeric_covariate_stays_numeric(gene_pool, tmp_path):
    """``DEParams.numeric``: a continuous covariate is one design column, not a factor with a level per
    value (the selection analyses' covariate design runs through run_deseq2 this way)."""
    from conftest import make_tiny_dataset

    ds = make_tiny_dataset(tmp_path, gene_pool, n_genes=120, reps=3)
    samples = ds.samples.set_index("sample")
    samples["depth"] = [0.3, -1.2, 0.8, 1.1, -0.4, -0.6]
    meta = de._metadata(samples, "~depth + condition", numeric=("depth",))
    assert meta["depth"].dtype == float and meta["condition"].dtype == object
    assert rc.design_matrix(meta, "~depth + condition").columns == ["Intercept", "depth", "condition[T.Treated]"]
    as_factor = rc.design_matrix(de._metadata(samples, "~depth + condition"), "~depth + condition")
    assert len(as_factor.columns) == 7  # six distinct values: a factor
    params = de.DEParams(design="~depth + condition", contrast=["condition", "Treated", "Control"], numeric=("depth",))
    res = de.run_deseq2(ds.counts, samples, params).results
    assert len(res) == len(ds.counts) and res["pvalue"].notna().sum() > 0.9 * len(res)
