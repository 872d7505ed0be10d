"""``de.engine: pydeseq2``: pydeseq2's DeseqDataSet + DeseqStats behind ``run_deseq2``, with the same
checks before and after, the same outputs and the VST of its fitted trend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import config_defaults, make_tiny_dataset

from pathverdict import de
from pathverdict.errors import InputError

CONTRAST = ["condition", "Treated", "Control"]


@pytest.fixture(scope="module")
def planted(tmp_path_factory, gene_pool):
    ds = make_tiny_dataset(tmp_path_factory.mktemp("pyd"), gene_pool, n_genes=600, reps=3, seed=5)
    counts = ds.counts.copy()
    counts.loc["ALLZERO"] = 0
    samples = ds.samples.set_index("sample")
    runs = {  # pydeseq2 with its LFC shrinkage (checked in test_shrinkage_with_pydeseq2s_lfc_shrink)
        engine: de.run_deseq2(
            counts,
            samples,
            de.DEParams(design="~condition", contrast=CONTRAST, engine=engine, shrink=engine != "r_exact"),
        )
        for engine in de.ENGINES
    }
    return ds, counts, samples, runs


def test_pydeseq2_finds_the_planted_genes_with_the_outputs_of_r_exact(planted):
    ds, counts, samples, runs = planted
    mine, ref = runs["pydeseq2"], runs["r_exact"]
    res = mine.results
    assert list(res.columns[:6]) == de.RESULT_COLUMNS and list(res.index) == list(counts.index) == list(
        ref.results.index
    )
    sig = res[res["padj"] < 0.05]
    assert len(set(sig.index[sig["log2FoldChange"] > 0]) & set(ds.up)) >= 0.8 * len(ds.up)
    assert len(set(sig.index[sig["log2FoldChange"] < 0]) & set(ds.down)) >= 0.8 * len(ds.down)
    z = res.loc["ALLZERO"]  # a gene without reads: as R reports it, with either engine
    assert z["baseMean"] == 0 and z[res.columns[1:]].isna().all()
    # the same summary keys, saying which engine ran with its version
    assert set(mine.summary) == set(ref.summary) and mine.summary["shrinkage"] is True
    assert mine.summary["engine"] == "pydeseq2" and mine.summary["engine_version"].startswith("pydeseq2 0.5.")
    assert ref.summary["engine"] == "r_exact" and "R DESeq2 1.38" in ref.summary["engine_version"]
    assert mine.summary["genes_all_zero"] == 1 and mine.summary["significant"] == len(sig)
    # normalised counts and VST of the same shape; the two engines estimate nearly the same
    assert mine.normalized.shape == mine.vst.shape == counts.shape
    assert np.isfinite(mine.vst.to_numpy()).all()
    both = res["padj"].notna() & ref.results["padj"].notna()
    agree = ((res["padj"] < 0.05) == (ref.results["padj"] < 0.05))[both].mean()
    assert agree >= 0.95
    lfc = pd.concat([res["log2FoldChange"], ref.results["log2FoldChange"]], axis=1).dropna()
    assert np.corrcoef(lfc.to_numpy().T)[0, 1] > 0.99


def test_vst_is_pydeseq2s_own_vst_with_the_design(planted):
    """Our VST of pydeseq2's fitted trend (no second gene-wise fit) equals pydeseq2's own
    ``DeseqDataSet.vst(use_design=True)``, which refits the gene-wise dispersions and the trend."""
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.default_inference import DefaultInference

    _, counts, samples, runs = planted
    dds = DeseqDataSet(
        counts=counts.T, metadata=samples[["condition"]], design="~condition", inference=DefaultInference(n_cpus=1)
    )
    dds.quiet = True
    dds.deseq2()
    dds.vst(use_design=True)
    theirs = pd.DataFrame(dds.layers["vst_counts"].T, index=counts.index, columns=counts.columns)
    np.testing.assert_allclose(runs["pydeseq2"].vst.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=1e-9)
    assert runs["pydeseq2"].trend.fit_type == dds.uns["disp_function_type"]


def test_shrinkage_with_pydeseq2s_lfc_shrink(planted):
    _, counts, samples, runs = planted
    sub = counts.iloc[:120]
    res = runs["pydeseq2"].results
    assert list(res.columns[6:]) == ["log2FoldChange_shrunk", "lfcSE_shrunk"]
    ok = res[["log2FoldChange", "log2FoldChange_shrunk"]].dropna()
    assert len(ok) > 500 and (ok["log2FoldChange_shrunk"].abs() <= ok["log2FoldChange"].abs() + 1e-6).mean() > 0.95
    # the unshrunk estimate is kept beside the shrunk one (the Wald test is on the unshrunk)
    assert not np.allclose(ok["log2FoldChange_shrunk"], ok["log2FoldChange"])
    # the same refusal as r_exact for a contrast that is not one coefficient
    three = samples.assign(condition=["Control", "Mid", "Mid", "Treated", "Treated", "Treated"])
    with pytest.raises(InputError, match="LFC shrinkage .* shrinks one coefficient of the design"):
        de.run_deseq2(
            sub,
            three,
            de.DEParams(
                design="~condition", contrast=["condition", "Treated", "Mid"], **{"engine": "pydeseq2", "shrink": True}
            ),
        )


def test_a_design_pydeseq2_cannot_express_as_configured_is_refused(planted, monkeypatch):
    """pydeseq2 builds its own design and contrast: a difference from ours (another reference level)
    stops the run before the fit, naming it; a design without full rank too (pydeseq2 only warns).
    Its worker count is the rule's threads."""
    import pydeseq2.dds
    import pydeseq2.default_inference

    _, counts, samples, _ = planted
    sub = counts.iloc[:100]
    seen = []
    original = pydeseq2.default_inference.DefaultInference.__init__

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("n_cpus"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(pydeseq2.default_inference.DefaultInference, "__init__", spy)
    monkeypatch.setattr(pydeseq2.dds.DeseqDataSet, "contrast", lambda self, **kw: np.array([0.0, -1.0]))
    fitted = []
    monkeypatch.setattr(pydeseq2.dds.DeseqDataSet, "deseq2", lambda self, *a, **kw: fitted.append(1))
    params = de.DEParams(design="~condition", contrast=CONTRAST, engine="pydeseq2", threads=2)
    with pytest.raises(InputError) as err:
        de.run_deseq2(sub, samples, params)
    msg = str(err.value)
    assert "cannot express the design '~condition' with contrast [condition, Treated, Control]" in msg
    assert "[0.0, -1.0], ours [0.0, 1.0] (another reference level)" in msg and "de.engine: r_exact" in msg
    assert not fitted and seen == [2]
    confounded = samples.assign(batch=["b1", "b1", "b1", "b2", "b2", "b2"])
    with pytest.raises(InputError, match="is not of full rank"):
        de.run_deseq2(sub, confounded, de.DEParams(design="~batch + condition", contrast=CONTRAST, engine="pydeseq2"))


def test_continuous_covariate_as_the_selection_analyses_use_it(planted):
    """``DEParams.numeric``: pydeseq2 takes a float column as one continuous coefficient, as ours."""
    _, counts, samples, runs = planted
    sub = counts.iloc[:120]
    cov = samples.assign(depth=[0.5, 1.5, 2.0, 0.7, 1.1, 2.5])
    params = de.DEParams(design="~depth + condition", contrast=CONTRAST, engine="pydeseq2", numeric=("depth",))
    res = de.run_deseq2(sub, cov, params).results
    assert res["pvalue"].notna().sum() > 100


def test_the_null_refits_with_the_configured_engine(planted, shared, monkeypatch):
    """The label-permutation null (and so the selection analyses, which share its DE table
    function) fits every relabeling with ``DEParams.engine``."""
    from pathverdict import genesets
    from pathverdict.de import pydeseq2_engine
    from pathverdict.judgement import null

    ds, counts, samples, _ = planted
    calls = []
    real = pydeseq2_engine.fit

    def spy(*args, **kwargs):
        calls.append(len(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(pydeseq2_engine, "fit", spy)
    lib = {"KEGG_2021_Human": genesets.read_library(shared / "genesets" / "KEGG_2021_Human.txt", "KEGG_2021_Human")}
    sub = counts.iloc[:150]  # the target pathway genes come first
    params = de.DEParams(design="~condition", contrast=CONTRAST, engine="pydeseq2")
    _, summary = null.run_null(
        sub,
        samples,
        params,
        lib,
        "Mineral absorption",
        None,
        symbols=pd.Series(ds.symbols),
        methods=("ora_all",),
        enrichment_cfg={"padj": 0.05, "lfc": 0.0, "ora_min_size": 10, "ora_max_size": 500},
        max_permutations=1,
        seed=1,
    )
    assert calls == [len(sub)] * 2  # the observed labels and the relabeling
    assert (summary["n_permutations"] == 1).all()


def test_params_carry_the_engine_from_the_config():
    assert config_defaults("de")["engine"] == "r_exact"  # the default engine
    section = config_defaults("de", engine="pydeseq2")
    p = de.DEParams.from_config(section, {"design": "~condition", "contrast": CONTRAST}, threads=2)
    assert p.engine == "pydeseq2" and p.threads == 2
    with pytest.raises(InputError, match="de.engine is one of r_exact, pydeseq2"):
        de.run_deseq2(pd.DataFrame(), pd.DataFrame(), de.DEParams(design="~c", contrast=CONTRAST, engine="edger"))


def test_worker_processes_end_with_the_job(tmp_path):
    """With more than one thread pydeseq2 fits in joblib worker processes, which idle on for 300 s after
    the last fit; the engine shuts them down when the process ends, so a job's process ends at once
    (it waited for them: a 5-minute stall per DE job before)."""
    import subprocess
    import sys
    import time

    script = tmp_path / "job.py"
    script.write_text(
        "import numpy as np, pandas as pd, psutil\n"
        "from pathverdict import de\n"
        "rng = np.random.default_rng(1)\n"
        "counts = pd.DataFrame(rng.negative_binomial(5, 0.05, size=(150, 6)), index=[f'g{i}' for i in range(150)],"
        " columns=[f's{i}' for i in range(6)])\n"
        "samples = pd.DataFrame({'condition': ['A'] * 3 + ['B'] * 3}, index=counts.columns)\n"
        "params = de.DEParams(design='~condition', contrast=['condition', 'B', 'A'], engine='pydeseq2', threads=2)\n"
        "de.run_deseq2(counts, samples, params)\n"
        "print(sum('LokyProcess' in ' '.join(p.cmdline()) for p in psutil.Process().children()), flush=True)\n"
    )
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=250)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "2"  # the fit ran in 2 worker processes
    assert time.monotonic() - started < 200  # the workers' idle timeout (300 s) did not hold the process


def test_cooks_outliers_per_sample_as_the_sample_qc_reads_them(planted):
    """``cooks_outliers_by_sample`` (de_summary.json, read by the sample QC) from pydeseq2's Cook's
    distances of its first fit, as r_exact counts them: a sample with 15 genes 10 times too high has
    the most (5 or more), the others next to none; a sample in a group of fewer than 3 has none to count (None)."""
    _, counts, samples, runs = planted
    assert list(runs["pydeseq2"].summary["cooks_outliers_by_sample"]) == list(counts.columns)
    sub = counts.iloc[:300].copy()
    spiky = sub.columns[0]
    sub.loc[sub.index[sub.mean(axis=1) > 50][:15], spiky] *= 10
    params = {e: de.DEParams(design="~condition", contrast=CONTRAST, engine=e) for e in de.ENGINES}
    n = {e: de.run_deseq2(sub, samples, p).summary["cooks_outliers_by_sample"] for e, p in params.items()}
    for engine, by_sample in n.items():  # (7 of the 15 with both engines; the others' dispersion absorbs them)
        assert by_sample[spiky] >= 5 and all(v <= 1 for s, v in by_sample.items() if s != spiky), (engine, n)
    assert all(abs(n["pydeseq2"][s] - n["r_exact"][s]) <= 2 for s in sub.columns), n
    small = sub.drop(columns=sub.columns[1])  # 2 vs 3: the group of 2 has no Cook's distances
    n = de.run_deseq2(small, samples.loc[small.columns], params["pydeseq2"]).summary["cooks_outliers_by_sample"]
    groups = samples.loc[small.columns, "condition"]
    assert [n[s] is None for s in small.columns] == list(groups.map(groups.value_counts()) < 3)
