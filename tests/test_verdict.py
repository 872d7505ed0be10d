"""Verdict logic: rank, FDR, top N, missing target, zero DE genes, gene status."""
import numpy as np
import pandas as pd

from pathverdict import verdict
from pathverdict.enrichment import ORA_COLUMNS


def ora_table(rows):
    df = pd.DataFrame(rows, columns=["term", "rank", "pvalue", "padj", "overlap_size", "set_size", "overlap_genes"])
    for col in ORA_COLUMNS:
        if col not in df:
            df[col] = "lib" if col == "library" else 0
    return df


def test_on_top_needs_rank_and_fdr():
    t = ora_table([["Mineral absorption", 1, 1e-6, 1e-4, 5, 40, "HMOX1;VDR"], ["B", 2, 1e-3, 0.05, 3, 50, "X"]])
    s = verdict.VerdictSettings(top_n=1, max_fdr=0.05)
    row = verdict.judge_method(t, "ora_all", "Mineral absorption", s, n_query=100)
    assert row["on_top"] == "yes" and row["rank"] == 1 and row["genes"] == "HMOX1;VDR" and row["fdr"] == 1e-4
    strict = verdict.VerdictSettings(top_n=1, max_fdr=1e-5)
    row = verdict.judge_method(t, "ora_all", "Mineral absorption", strict, n_query=100)
    assert row["on_top"] == "no" and "FDR 0.0001 > 1e-05" in row["note"]


def test_top_n():
    t = ora_table([["A", 1, 1e-6, 1e-4, 5, 40, ""], ["B", 2, 1e-5, 1e-3, 5, 40, ""], ["T", 3, 1e-4, 1e-2, 3, 50, ""]])
    assert verdict.judge_method(t, "ora_up", "T", verdict.VerdictSettings(top_n=1), 10)["on_top"] == "no"
    assert verdict.judge_method(t, "ora_up", "T", verdict.VerdictSettings(top_n=3), 10)["on_top"] == "yes"


def test_target_absent_and_zero_de_genes():
    t = ora_table([["A", 1, 1e-6, 1e-4, 5, 40, ""]])
    row = verdict.judge_method(t, "ora_all", "T", verdict.VerdictSettings(), 10)
    assert row["on_top"] == "no" and np.isnan(row["rank"]) and "none of the DE genes" in row["note"]
    empty = ora_table([])
    row = verdict.judge_method(empty, "ora_all", "T", verdict.VerdictSettings(), 0)
    assert row["on_top"] == "no" and row["note"].startswith("no DE genes")


def test_judge_dataset_marks_primary_and_gsea():
    ora = ora_table([["T", 1, 1e-6, 1e-4, 5, 40, "A;B"]])
    gsea = pd.DataFrame({"library": ["lib"], "term": ["T"], "rank": [4], "nes": [-1.8], "pvalue": [0.001],
                         "fdr": [0.02], "set_size": [40], "leading_edge": ["A;B;C"]})
    out = verdict.judge_dataset("ds", "lib", "T", "hsa04978", {"ora_all": ora, "gsea": gsea},
                                {"ora_all": 12}, verdict.VerdictSettings(primary="ora_all"))
    assert list(out["method"]) == ["ora_all", "gsea"]
    assert list(out["primary"]) == [True, False]
    assert list(out["on_top"]) == ["yes", "no"]
    assert out.loc[1, "nes"] == -1.8 and out.loc[0, "target_id"] == "hsa04978"
    assert list(out.columns) == verdict.VERDICT_COLUMNS


def test_gene_status():
    de = pd.DataFrame({
        "gene_id": ["g1", "g2", "g3", "g4", "g5"],
        "symbol": pd.array(["HMOX1", "MT2A", "MT1X", "MT1E", "ACTB"], dtype="string"),
        "baseMean": [100.0, 50.0, 3.0, 20.0, 1000.0],
        "log2FoldChange": [2.0, -1.5, 0.3, 4.0, 0.0],
        "pvalue": [1e-5, 1e-4, 0.3, np.nan, 0.9],
        "padj": [1e-3, 0.01, np.nan, np.nan, 0.95],
    })
    g = verdict.gene_status("ds", de, verdict.VerdictSettings(alpha=0.05)).set_index("symbol")
    assert g.loc["HMOX1", "status"] == "up"
    assert g.loc["MT2A", "status"] == "down"
    assert g.loc["MT1X", "status"].startswith("filtered")
    assert g.loc["MT1E", "status"].startswith("no p-value")
    assert g.loc["VDR", "status"].startswith("not tested")
    assert "ACTB" not in g.index
    assert g.loc["MT2A", "reason"] == "pattern" and g.loc["VDR", "reason"] == "requested"


def test_gene_status_tells_prefiltered_from_absent():
    de = pd.DataFrame({"gene_id": ["g1"], "symbol": pd.array(["MT2A"], dtype="string"), "baseMean": [50.0],
                       "log2FoldChange": [-1.5], "pvalue": [1e-4], "padj": [0.01]})
    input_genes = pd.DataFrame({"gene_id": ["g1", "g2", "g3"],
                                "symbol": pd.array(["MT2A", "HMOX1", "MT1G"], dtype="string")})
    g = verdict.gene_status("ds", de, verdict.VerdictSettings(), input_genes).set_index("symbol")
    assert g.loc["HMOX1", "status"] == "not tested (removed by the pre-filter: too few reads)"
    assert g.loc["HMOX1", "gene_id"] == "g2"
    assert g.loc["VDR", "status"] == "absent from the count matrix"
    # patterns also match genes that were not tested
    assert g.loc["MT1G", "reason"] == "pattern" and g.loc["MT1G", "status"].startswith("not tested")
    assert g.loc["MT2A", "status"] == "down"


def test_gene_status_of_a_gene_without_reads():
    """Without the pre-filter (the default) a gene with no reads is in de.tsv with baseMean 0
    and NA statistics, as in R: it was not tested, it is not a Cook's outlier."""
    de = pd.DataFrame({"gene_id": ["g1", "g2"], "symbol": pd.array(["HMOX1", "VDR"], dtype="string"),
                       "baseMean": [0.0, 80.0], "log2FoldChange": [np.nan, 3.0], "pvalue": [np.nan, np.nan],
                       "padj": [np.nan, np.nan]})
    g = verdict.gene_status("ds", de, verdict.VerdictSettings()).set_index("symbol")
    assert g.loc["HMOX1", "status"] == "not tested (no reads in any sample)"
    assert g.loc["VDR", "status"] == "no p-value (Cook's outlier)"
