"""End to end on real data: LNCaP cells +/- androgen (Li et al. 2008) through DE, enrichment, verdict and report."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import CORE_ONLY

REPO = Path(__file__).resolve().parents[1]
ANDROGEN_TARGETS = ["KLK3", "KLK2", "TMPRSS2", "FKBP5", "NKX3-1"]

pytestmark = [pytest.mark.e2e, pytest.mark.shared]


def snakemake(*args, cwd):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def li2008_run(tmp_path_factory, shared):
    work = tmp_path_factory.mktemp("li2008")
    d = shared / "counts" / "li2008_lncap"
    cfg = {
        "datasets": {
            "li2008_lncap": {
                "counts": str(d / "counts.tsv.gz"),
                "samples": str(d / "samples.tsv"),
                "design": "~condition",
                "contrast": ["condition", "Treated", "Control"],
            }
        },
        "genesets": {
            "KEGG_2021_Human": str(shared / "genesets" / "KEGG_2021_Human.txt"),
            "KEGG_2016": str(shared / "genesets" / "KEGG_2016.gmt"),
        },
        "target_pathway": "Mineral absorption",
        "annotation": str(shared / "annotation" / "human_gene_info.tsv.gz"),
        "enrichment": {"gsea_permutations": 200},
        # DE, enrichment, verdict and report; the null, sensitivity and robustness grid run on li2008 in
        # test_example_study_e2e (its negative control)
        **CORE_ONLY,
        "calibration": {"null_simulations": 4, "planted_simulations": 4, "effects": [1]},
    }
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    run = snakemake("--cores", "2", "--configfile", "config.yaml", cwd=work)
    assert run.returncode == 0, run.stdout + run.stderr
    rep = snakemake("--report", "report.html", "--configfile", "config.yaml", cwd=work)
    assert rep.returncode == 0, rep.stdout + rep.stderr
    return work


def test_de_table_and_known_androgen_biology(li2008_run):
    de = pd.read_csv(li2008_run / "results/config/li2008_lncap/de.tsv", sep="\t")
    for col in ["gene_id", "symbol", "baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj"]:
        assert col in de.columns
    assert de["gene_id"].is_unique
    g = de.dropna(subset=["symbol"]).drop_duplicates("symbol").set_index("symbol")
    for gene in ANDROGEN_TARGETS:
        assert g.loc[gene, "log2FoldChange"] > 1, gene
        assert g.loc[gene, "padj"] < 0.05, gene
    norm = pd.read_csv(li2008_run / "results/config/li2008_lncap/normalized_counts.tsv.gz", sep="\t")
    assert list(norm.columns[:2]) == ["gene_id", "symbol"] and norm.shape[0] == de.shape[0]


def test_enrichment_outputs_and_verdict(li2008_run):
    res = li2008_run / "results" / "config"  # the study is named after config.yaml
    for name in ["ora_up", "ora_down", "ora_all", "gsea", "camera"]:
        t = pd.read_csv(res / f"li2008_lncap/enrichment/{name}.tsv", sep="\t")
        assert set(t["library"]) == {"KEGG_2021_Human", "KEGG_2016"}
        assert (t.groupby("library")["rank"].min() == 1).all()
    info = json.loads((res / "li2008_lncap/enrichment/ora.json").read_text())
    de = pd.read_csv(res / "li2008_lncap/de.tsv", sep="\t")
    # background = tested symbols with a padj, never the genome
    assert info["background_size"] <= de["padj"].notna().sum()
    v = pd.read_csv(res / "verdict.tsv", sep="\t")
    assert len(v) == 2 * 5  # two libraries x five methods
    assert set(v["method"]) == {"ora_all", "ora_up", "ora_down", "gsea", "camera"}
    # CAMERA on the VST with the estimated inter-gene correlation: t on n - p = 7 - 2 df
    cam = pd.read_csv(res / "li2008_lncap/enrichment/camera.tsv", sep="\t")
    assert (cam["df"] == 5).all() and cam["direction"].isin(["Up", "Down"]).all()
    assert cam["n_genes"].between(15, 500).all() and cam["fdr"].ge(cam["pvalue"]).all()
    assert set(v["on_top"]) <= {"yes", "no"}
    # androgen response is not a mineral absorption response: it must not come out on top here
    assert (v["on_top"] == "no").all()
    assert v.loc[v["library"] == "KEGG_2016", "target_id"].eq("hsa04978").all()
    genes = pd.read_csv(res / "verdict_genes.tsv", sep="\t")
    assert {"HMOX1", "VDR"} <= set(genes["symbol"])
    md = (res / "verdict.md").read_text()
    assert "Is Mineral absorption on top?" in md and "li2008_lncap" in md


def test_provenance_and_report(li2008_run, shared):
    prov = json.loads((li2008_run / "results/config/provenance.json").read_text())
    assert prov["tools"]["pydeseq2"] == "0.5.4" and prov["tools"]["gseapy"] == "1.3.1"
    libs = {lib["library"]: lib for lib in prov["gene_set_libraries"]}
    assert libs["KEGG_2021_Human"]["sha256"] == "70576fe499ece65a2f342e5ca9a4e63b5d53f91aee3ab87f7c96123e2f19c594"
    assert len(prov["datasets"][0]["counts_sha256"]) == 64
    report = (li2008_run / "report.html").read_text()
    for text in ["Mineral absorption", "pydeseq2", "KEGG_2021_Human", "70576fe499ece65a"]:
        assert text in report, text
    for png in ["pca", "ma", "volcano", "dotplot"]:
        assert (li2008_run / f"results/config/li2008_lncap/plots/{png}.png").stat().st_size > 1000


def test_rerun_has_nothing_to_do(li2008_run):
    run = snakemake("-n", "--configfile", "config.yaml", cwd=li2008_run)
    assert run.returncode == 0
    assert "Nothing to be done" in run.stdout + run.stderr


def test_lint_is_clean():
    run = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0 and "Congratulations" in run.stdout + run.stderr, run.stdout + run.stderr


@pytest.mark.parametrize(
    "configfile",
    [None]
    + sorted(
        str(p.relative_to(REPO))
        for p in (REPO / "config").rglob("*.yaml")
        if "schemas" not in p.parts and "discover" not in p.parts
    ),
)
def test_dry_run_every_config(configfile, shared):  # shared: the example configs read ../shared/data
    args = ["-n", "--cores", "2"] + (["--configfile", configfile] if configfile else [])
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=REPO, capture_output=True, text=True, env=dict(os.environ)
    )
    assert run.returncode == 0, run.stdout + run.stderr
