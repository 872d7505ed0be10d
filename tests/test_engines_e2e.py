"""``de.engine: pydeseq2`` end to end on the demo: it runs with the pydeseq2 engine and writes the
outputs of the default engine, in the same layout; the engine sensitivity then runs the other engine,
r_exact. Every shipped example with pydeseq2: tests/test_engines_examples_e2e.py.

pydeseq2 fits gene by gene (3-4 ms of CPU per gene, 12-39x our r_exact fit on the real sets): the
run here is made small for CI -- the demo simulates 600 genes instead of 4,000 (the target pathway
and the key genes are always kept) with 1 relabeling in the null; leaving one sample out refits
once per dataset instead of up to 6 times; the calibration at its smallest size. The demo's run:
126 CPU s (165 with the demo's 6 removals and 200 GSEA permutations; load ~5).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import smallest_calibration, run_snakemake
from demo_runs import DATASETS, local_demo_run, write_demo_config

pytestmark = [pytest.mark.e2e, pytest.mark.shared]
DE_FILES = ["de.tsv", "normalized_counts.tsv.gz", "vst.tsv.gz", "de_summary.json"]


def _layout(results: Path) -> set[str]:
    """Every file of a study's results folder, with the other engine's folder named generically."""
    return {
        str(p.relative_to(results)).replace("engine_r_exact", "engine_OTHER").replace("engine_pydeseq2", "engine_OTHER")
        for p in results.rglob("*")
        if p.is_file()
    }


def _assert_pydeseq2_outputs(results: Path, datasets: list[str], gsea_rerun: bool = True) -> None:
    """The outputs of a pydeseq2 run with the engine sensitivity; ``gsea_rerun``: the config's
    sensitivity.gsea (false: the GSEA row of the other engine says "not tested" and why)."""
    for ds in datasets:
        summary = json.loads((results / ds / "de_summary.json").read_text())
        assert summary["engine"] == "pydeseq2" and summary["engine_version"].startswith("pydeseq2 0.5."), summary
        other = json.loads((results / ds / "engine_r_exact" / "de_summary.json").read_text())
        assert other["engine"] == "r_exact", other
        de = pd.read_csv(results / ds / "de.tsv", sep="\t")
        assert list(de.columns) == [
            "gene_id",
            "symbol",
            "baseMean",
            "log2FoldChange",
            "lfcSE",
            "stat",
            "pvalue",
            "padj",
        ]
        assert de["pvalue"].notna().mean() > 0.5
    prov = json.loads((results / "provenance.json").read_text())
    assert {d["engine"] for d in prov["differential_expression"]} == {"pydeseq2"}
    assert prov["config"]["de"]["engine"] == "pydeseq2"
    s = pd.read_csv(results / "sensitivity.tsv", sep="\t", keep_default_na=False)
    eng = s[s["variant"] == "engine:r_exact"]
    assert set(eng["dataset"]) == set(datasets), set(eng["dataset"])
    compared = eng["detail"].str.match(r"^(same status|status changes)")
    skipped = (eng["method"] == "gsea") & (eng["status"] == "not tested")
    assert (compared | skipped).all() and skipped.any() != gsea_rerun, eng[["method", "status", "detail"]]
    assert eng.loc[skipped, "detail"].str.contains("sensitivity.gsea: false").all()


def test_pydeseq2_runs_the_demo_with_the_default_layout(tmp_path_factory, shared):
    work = tmp_path_factory.mktemp("demo_pydeseq2")
    cfg = write_demo_config(work / "demo.yaml", shared, max_permutations=1)
    c = yaml.safe_load(cfg.read_text())
    c["simulation"]["n_genes"] = 600
    c["de"] = {"engine": "pydeseq2"}
    c["sensitivity"] = {**c.get("sensitivity", {}), "engine": True}  # the other engine: r_exact
    # leaving one sample out refits with pydeseq2 once per dataset (each removal: one more fit and a GSEA
    # of the first library); fewer GSEA permutations: enrichment jobs 65 -> 27 CPU s
    c["sensitivity"]["leave_one_sample_out"] = {"max_removals": 1}
    c["enrichment"] = {**c.get("enrichment", {}), "gsea_permutations": 50}
    # the calibration (always the r_exact engine: judgement.calibration) at its smallest
    c["calibration"] = smallest_calibration()
    cfg.write_text(yaml.safe_dump(c, sort_keys=False))
    rc, out = run_snakemake(work, cfg, cores=2, timeout=1500)
    assert rc == 0, out[-5000:]
    assert "pathverdict: is Mineral absorption on top?" in out and "Study:" in out
    results = work / "results" / "demo"
    _assert_pydeseq2_outputs(results, DATASETS)
    # the null and the selection analyses refit with the configured engine
    for ds in DATASETS:
        assert "DE engine pydeseq2" in (work / "logs/demo" / ds / "null_permutations.log").read_text()
    assert "(DE engine pydeseq2)" in (work / "logs/demo/demo_tissue/selection_analyses.log").read_text()
    # the layout of the default engine's run (config/demo.yaml as shipped, as the other demo tests run
    # it: with the engine sensitivity, whose folder is named after the other engine)
    default = local_demo_run(tmp_path_factory, shared) / "results" / "demo"
    engine_files = {
        f"{ds}/{f}" for ds in DATASETS for f in ["sensitivity_engine.tsv"] + [f"engine_OTHER/{x}" for x in DE_FILES]
    }
    assert _layout(results) == _layout(default)
    assert engine_files <= _layout(results)
    # the methods text of the report says which engine ran
    rc, out = run_snakemake(work, cfg, "--report", "report.html", timeout=600)
    assert rc == 0, out[-3000:]
    assert "DE engine <strong>pydeseq2</strong> 0.5." in (work / "report.html").read_text()
