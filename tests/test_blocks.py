"""Neither the gene-block size of ``rcompat.fit_deseq`` (issue 14) nor the number of threads
the blocks run on changes any number beyond floating-point noise: every per-gene step is
independent of the other genes, the trend and the prior use per-gene summaries only.
Checked on real shared sets, one with the Cook's outlier refit (geuvadis_lcl_sex, >= 7
replicates per cell) and one with a two-factor design
whose fitted means come from the GLM (marioni2008_kidney_liver, ``~run + Tissue``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pathverdict import de
from pathverdict.de import rcompat as rc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fidelity_vs_r as fid

FIELDS = [
    "size_factors",
    "base_mean",
    "base_var",
    "disp_gene_est",
    "disp_fit",
    "disp_map",
    "dispersion",
    "beta",
    "sigma",
    "max_cooks",
]


def _real(shared, name: str, n_genes: int | None = None):
    ds = fid.DATASETS[name]
    counts, samples = fid.load_dataset(shared, ds)
    if n_genes is not None:
        counts = counts.iloc[:n_genes]
    return ds, counts, samples


def _close(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    # rtol 1e-9: BLAS products of different block shapes differ in the last bit, and the line
    # searches of the dispersion fits (tolerance 1e-6 on the log posterior) carry that to ~1e-11
    np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("name,n_genes", [("geuvadis_lcl_sex", 1500), ("marioni2008_kidney_liver", 1500)])
def test_block_size_changes_no_number(shared, name, n_genes):
    ds, counts, samples = _real(shared, name, n_genes)
    meta = de._metadata(samples.loc[counts.columns], ds.design)
    X = rc.design_matrix(meta, ds.design).matrix.to_numpy(dtype=float)
    y = counts.to_numpy()
    fits = {
        (b, t): rc.fit_deseq(y, X, block_genes=b, threads=t)
        for b, t in [(None, 1), (7, 1), (1000, 1), (len(y), 1), (7, 2), (100, 3)]
    }
    ref = fits[(len(y), 1)]
    assert ref.block_genes == len(y) and fits[(7, 2)].block_genes == 7
    if name == "geuvadis_lcl_sex":
        assert ref.n_refit > 0  # the outlier refit path is exercised
    for b, fit in fits.items():
        for f in FIELDS:
            _close(getattr(fit, f), getattr(ref, f))
        for f in ["all_zero", "converged", "disp_outlier", "replace", "cooks_argmax"]:
            assert np.array_equal(getattr(fit, f), getattr(ref, f)), (b, f)
        assert fit.n_refit == ref.n_refit
        assert fit.trend.fit_type == ref.trend.fit_type
        _close(
            [fit.trend.asympt_disp, fit.trend.extra_pois, fit.disp_prior_var, fit.var_log_disp_ests],
            [ref.trend.asympt_disp, ref.trend.extra_pois, ref.disp_prior_var, ref.var_log_disp_ests],
        )


def test_block_size_keeps_the_results_table(shared):
    ds, counts, samples = _real(shared, "li2008_lncap", 3000)
    tables = [
        de.run_deseq2(
            counts, samples, de.DEParams(design=ds.design, contrast=list(ds.contrast), block_genes=b, threads=t)
        ).results
        for b, t in [(13, 1), (1000, 2), (None, 1)]
    ]
    for t in tables[:-1]:
        pd.testing.assert_index_equal(t.index, tables[-1].index)
        for col in de.RESULT_COLUMNS:
            _close(t[col], tables[-1][col])
    assert (tables[0]["padj"] < 0.05).sum() > 0


@pytest.mark.parametrize("bad", [0, -2])
def test_block_genes_must_be_positive(bad):
    with pytest.raises(ValueError, match="block_genes"):
        rc.fit_deseq(np.ones((3, 4), dtype=int), np.ones((4, 1)), block_genes=bad)


@pytest.mark.shared
def test_workflow_de_step_writes_the_same_tables_block_by_block(shared, tmp_path, monkeypatch):
    """steps.run_de writes the normalised counts and the VST block by block (issue 14: the DE job
    never holds a genes x samples float matrix); the files are byte-identical to one block."""
    from pathverdict.steps.de import run_de
    from pathverdict.util import write_tsv

    ds, counts, samples = _real(shared, "marioni2008_kidney_liver", n_genes=800)
    counts.index.name = "gene_id"
    write_tsv(counts.reset_index(), tmp_path / "counts.tsv")
    write_tsv(samples.reset_index(), tmp_path / "samples.tsv")
    write_tsv(
        pd.DataFrame({"gene_id": counts.index, "symbol": [f"S{i}" for i in range(len(counts))]}), tmp_path / "genes.tsv"
    )
    cfg = {
        "de": {
            "alpha": 0.05,
            "prefilter": {"min_count": 0, "min_samples": None},
            "independent_filtering": True,
            "cooks_filter": True,
            "shrinkage": False,
        }
    }
    dsc = {"design": ds.design, "contrast": list(ds.contrast)}
    blocks = de.DEResult.blocks
    out = {}
    for label, cells in (("one", 10**9), ("many", 7 * counts.shape[1])):  # 1 block vs blocks of 7 genes
        monkeypatch.setattr(de.DEResult, "blocks", lambda self, max_cells=cells: blocks(self, max_cells))
        d = tmp_path / label
        d.mkdir()
        run_de(
            dataset="m",
            dataset_config=dsc,
            de=cfg["de"],
            counts=str(tmp_path / "counts.tsv"),
            samples=str(tmp_path / "samples.tsv"),
            genes=str(tmp_path / "genes.tsv"),
            out_de=str(d / "de.tsv"),
            out_normalized=str(d / "norm.tsv.gz"),
            out_vst=str(d / "vst.tsv.gz"),
            out_summary=str(d / "de.json"),
        )
        out[label] = d
    for name in ("de.tsv", "norm.tsv.gz", "vst.tsv.gz"):
        assert (out["one"] / name).read_bytes() == (out["many"] / name).read_bytes(), name
    norm = pd.read_csv(out["many"] / "norm.tsv.gz", sep="\t")
    assert len(norm) == 800 and list(norm.columns[:2]) == ["gene_id", "symbol"]
