"""``de.engine: pydeseq2`` end to end: the demo and every shipped example run with the pydeseq2 engine
and write the outputs of the default engine, in the same layout; the engine sensitivity then runs
the other engine, r_exact.

pydeseq2 fits gene by gene (3-4 ms of CPU per gene, 12-39x our r_exact fit on the real sets): the
runs here are made small for CI -- the demo simulates 600 genes instead of 4,000 (the target
pathway and the key genes are always kept) with 1 relabeling in the null, and the real count
sets of the examples are cut to about 600 evenly spaced genes plus the target pathway's (the same
files, designs, contrasts and sample sheets otherwise; null and GSEA permutations reduced, one
thread per job); leaving one sample out refits once per dataset instead of up to 6 times. The demo's
run: 126 CPU s (165 with the demo's 6 removals and 200 GSEA permutations; load ~5).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, TARGET, read_enrichr_set, run_snakemake
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


def _assert_pydeseq2_outputs(results: Path, datasets: list[str], default_de: pd.DataFrame | None = None) -> None:
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
    assert eng["detail"].str.match(r"^(same status|status changes)").all()


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
    # the layout of the default engine's run (config/demo.yaml as the other demo tests run it, without
    # the engine sensitivity: its two outputs per dataset aside)
    default = local_demo_run(tmp_path_factory, shared) / "results" / "demo"
    engine_files = {
        f"{ds}/{f}" for ds in DATASETS for f in ["sensitivity_engine.tsv"] + [f"engine_OTHER/{x}" for x in DE_FILES]
    }
    assert _layout(results) - engine_files == _layout(default)
    assert engine_files <= _layout(results)
    # the methods text of the report says which engine ran
    rc, out = run_snakemake(work, cfg, "--report", "report.html", timeout=600)
    assert rc == 0, out[-3000:]
    assert "DE engine <strong>pydeseq2</strong> 0.5." in (work / "report.html").read_text()


def _cut(src: Path, dst: Path, keep_ids: set[str], genes: int = 600) -> None:
    """About ``genes`` genes of a count matrix, evenly spaced, and the genes of ``keep_ids``."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(src, "rt") as fh:
        header, *lines = fh.readlines()
    every = max(1, len(lines) // genes)
    with gzip.open(dst, "wt") as out:
        out.write(header)
        out.writelines(line for i, line in enumerate(lines) if i % every == 0 or line.split("\t", 1)[0] in keep_ids)


@pytest.mark.parametrize("example", ["li2008_lncap", "shared_counts"])
def test_pydeseq2_runs_every_shipped_example(tmp_path, shared, example):
    cfg = yaml.safe_load(
        (REPO / "config" / "examples" / f"{example}.yaml").read_text().replace("../shared/data", str(shared))
    )
    ann = pd.read_csv(shared / "annotation" / "human_gene_info.tsv.gz", sep="\t", dtype=str, keep_default_na=False)
    target = set(read_enrichr_set(shared / "genesets" / "KEGG_2021_Human.txt", TARGET))
    keep = set(ann.loc[ann["Symbol"].isin(target), "Ensembl"].str.split(";").explode())
    for name, ds in cfg["datasets"].items():
        small = tmp_path / "data" / name / "counts.tsv.gz"
        _cut(Path(ds["counts"]), small, keep)
        ds["counts"] = str(small)
    cfg["de"] = {**cfg.get("de", {}), "engine": "pydeseq2"}
    cfg["null"] = {**cfg.get("null", {}), "max_permutations": 1}
    cfg["enrichment"] = {**cfg.get("enrichment", {}), "gsea_permutations": 100}
    cfg["sensitivity"] = {**cfg.get("sensitivity", {}), "leave_one_sample_out": {"max_removals": 1}}
    # one thread: pydeseq2 fits in the job's process (its worker processes, tested in
    # test_pydeseq2_engine.py, cost ~6 s of start-up per job: most of a job on 600 genes)
    cfg["threads"] = {"deseq2": 1, "gsea": 1}
    path = tmp_path / f"{example}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    work = tmp_path / "work"
    work.mkdir()
    rc, out = run_snakemake(work, path, cores=2, timeout=1500)
    assert rc == 0, out[-5000:]
    results = work / "results" / cfg["study"]
    _assert_pydeseq2_outputs(results, list(cfg["datasets"]))
    for ds in cfg["datasets"]:
        assert {f for f in DE_FILES if (results / ds / f).is_file()} == set(DE_FILES)
        assert {f for f in DE_FILES if (results / ds / "engine_r_exact" / f).is_file()} == set(DE_FILES)
