"""Differential expression step: pre-filter, planted effects, shrinkage, outputs."""

import numpy as np
import pandas as pd
import pytest

from pathverdict import de


def test_prefilter_mask():
    counts = pd.DataFrame(
        {"a": [0, 10, 10, 50], "b": [0, 9, 10, 0], "c": [100, 10, 10, 0]}, index=["g1", "g2", "g3", "g4"]
    )
    assert list(de.prefilter_mask(counts, 10, 2)) == [False, True, True, False]
    assert list(de.prefilter_mask(counts, 10, 3)) == [False, False, True, False]
    assert list(de.prefilter_mask(counts, 0, 3)) == [True, True, True, True]


def test_smallest_group():
    s = pd.DataFrame({"condition": ["A", "A", "A", "B", "B", "C"]}, index=list("123456"))
    assert de.smallest_group(s, ["condition", "A", "B"]) == 2


def test_params_from_the_config_sections():
    """``DEParams.from_config``: every key of the config's ``de`` section lands in its own field
    (values chosen unlike the defaults and unlike each other), the dataset gives design and contrast."""
    section = {
        "alpha": 0.1,
        "prefilter": {"min_count": 10, "min_samples": 3},
        "independent_filtering": False,
        "cooks_filter": False,
        "shrinkage": True,
    }
    dataset = {"design": "~batch + condition", "contrast": ("condition", "KD", "Ctrl")}
    params = de.DEParams.from_config(section, dataset, threads=2)
    assert params == de.DEParams(
        design="~batch + condition",
        contrast=["condition", "KD", "Ctrl"],
        alpha=0.1,
        min_count=10,
        min_samples=3,
        independent_filtering=False,
        cooks_filter=False,
        shrink=True,
        threads=2,
    )
    cooks_only = dict(section, independent_filtering=True)
    assert de.DEParams.from_config(cooks_only, dataset).independent_filtering is True
    assert de.DEParams.from_config(cooks_only, dataset).cooks_filter is False
    assert de.DEParams.from_config(section, dataset).threads == 1


@pytest.fixture(scope="module")
def planted(tmp_path_factory, gene_pool):
    from conftest import make_tiny_dataset

    ds = make_tiny_dataset(tmp_path_factory.mktemp("planted"), gene_pool, n_genes=400, reps=3)
    samples = ds.samples.set_index("sample")
    params = de.DEParams(design="~condition", contrast=["condition", "Treated", "Control"], shrink=True, threads=1)
    return ds, de.run_deseq2(ds.counts, samples, params)


def test_planted_genes_are_found(planted):
    ds, result = planted
    res = result.results
    assert list(res.columns[:6]) == de.RESULT_COLUMNS
    sig = res[res["padj"] < 0.05]
    up = set(sig.index[sig["log2FoldChange"] > 0])
    down = set(sig.index[sig["log2FoldChange"] < 0])
    planted_up, planted_down = set(ds.up) & set(res.index), set(ds.down) & set(res.index)
    assert len(up & planted_up) >= 0.8 * len(planted_up)
    assert len(down & planted_down) >= 0.8 * len(planted_down)
    # few false positives among the genes without an effect
    null = set(res.index) - planted_up - planted_down
    assert len((up | down) & null) <= 0.05 * len(null) + 2
    # the planted 4-fold change is recovered
    assert res.loc[sorted(planted_up), "log2FoldChange"].median() == pytest.approx(2.0, abs=0.4)


def test_shrinkage_and_side_outputs(planted):
    ds, result = planted
    res = result.results
    assert {"log2FoldChange_shrunk", "lfcSE_shrunk"} <= set(res.columns)
    # shrinkage pulls estimates towards zero, never past the unshrunk estimate
    ok = res[["log2FoldChange", "log2FoldChange_shrunk"]].dropna()
    assert (ok["log2FoldChange_shrunk"].abs() <= ok["log2FoldChange"].abs() + 1e-6).mean() > 0.95
    assert result.normalized.shape == result.vst.shape == (len(res), 6)
    assert np.all(result.size_factors > 0)
    s = result.summary
    assert s["genes_tested"] == len(res) and s["up"] + s["down"] == s["significant"]


def test_no_prefilter_by_default_all_zero_genes_as_in_r(tiny):
    """The default is R's: no pre-filter. A gene with no reads stays in the table with
    baseMean 0 and NA statistics (R's results() for an allZero row); a gene with few reads,
    which the opt-in pre-filter would remove, is tested."""
    assert de.DEParams(design="~condition", contrast=["condition", "Treated", "Control"]).min_count == 0
    samples = tiny.samples.set_index("sample")
    counts = tiny.counts.copy()
    counts.loc["ALLZERO"] = 0
    counts.loc["FEWREADS"] = [0, 1, 2, 3, 0, 1][: counts.shape[1]]
    params = de.DEParams(design="~condition", contrast=["condition", "Treated", "Control"])
    result = de.run_deseq2(counts, samples, params)
    res = result.results
    assert len(res) == len(counts) and result.summary["genes_tested"] == len(counts)
    assert result.summary["prefilter"] is None and result.summary["genes_all_zero"] == 1
    z = res.loc["ALLZERO"]
    assert z["baseMean"] == 0 and z[["log2FoldChange", "lfcSE", "stat", "pvalue", "padj"]].isna().all()
    assert res.loc["FEWREADS", "baseMean"] > 0 and pd.notna(res.loc["FEWREADS", "pvalue"])
    assert np.isfinite(result.vst.loc["ALLZERO"]).all() and (result.normalized.loc["ALLZERO"] == 0).all()
    # the opt-in pre-filter removes both, and says so in the summary
    on = de.run_deseq2(
        counts, samples, de.DEParams(design="~condition", contrast=["condition", "Treated", "Control"], min_count=10)
    )
    assert "ALLZERO" not in on.results.index and "FEWREADS" not in on.results.index
    assert on.summary["prefilter"] == {"min_count": 10, "min_samples": 3}


def test_too_few_genes_messages_name_the_right_cause(tiny):
    from pathverdict.errors import InputError

    samples = tiny.samples.set_index("sample")
    counts = tiny.counts.copy() * 0
    counts.iloc[0] = 5
    params = dict(design="~condition", contrast=["condition", "Treated", "Control"])
    with pytest.raises(InputError) as off:
        de.run_deseq2(counts, samples, de.DEParams(**params))
    assert "have any reads" in str(off.value) and "pre-filter" not in str(off.value)
    with pytest.raises(InputError) as on:
        de.run_deseq2(counts, samples, de.DEParams(**params, min_count=10))
    assert "pass the pre-filter" in str(on.value) and "0 turns the pre-filter off" in str(on.value)
