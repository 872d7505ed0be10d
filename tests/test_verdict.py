"""Verdict logic: rank, FDR, top N, minimum evidence (inconclusive), missing target, zero DE
genes, gene status (untested, protein-coding metallothioneins only), p-value bounds."""

import numpy as np
import pandas as pd
import pytest

from pathverdict import enrichment, genesets
from pathverdict.judgement import verdict
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
    assert row["status"] == "on_top"
    strict = verdict.VerdictSettings(top_n=1, max_fdr=1e-5)
    row = verdict.judge_method(t, "ora_all", "Mineral absorption", strict, n_query=100)
    assert row["on_top"] == "no" and "FDR 0.0001 > 1e-05" in row["note"] and row["status"] == "not_on_top"


def test_top_n():
    t = ora_table([["A", 1, 1e-6, 1e-4, 5, 40, ""], ["B", 2, 1e-5, 1e-3, 5, 40, ""], ["T", 3, 1e-4, 1e-2, 3, 50, ""]])
    assert verdict.judge_method(t, "ora_up", "T", verdict.VerdictSettings(top_n=1), 10)["on_top"] == "no"
    assert verdict.judge_method(t, "ora_up", "T", verdict.VerdictSettings(top_n=3), 10)["on_top"] == "yes"


def test_target_absent_and_zero_de_genes():
    t = ora_table([["A", 1, 1e-6, 1e-4, 5, 40, ""]])
    row = verdict.judge_method(t, "ora_all", "T", verdict.VerdictSettings(), 10)
    assert row["on_top"] == "no" and np.isnan(row["rank"]) and row["status"] == "inconclusive"
    assert "target not tested" in row["note"]
    empty = ora_table([])
    row = verdict.judge_method(empty, "ora_all", "T", verdict.VerdictSettings(), 0)
    assert row["on_top"] == "no" and row["status"] == "inconclusive" and "no DE genes" in row["note"]
    # tested with enough DE genes, none of them in the target: a real "not on top"
    t = ora_table([["A", 1, 1e-6, 1e-4, 5, 40, "X"], ["T", 2, 1.0, 1.0, 0, 40, ""]])
    row = verdict.judge_method(t, "ora_all", "T", verdict.VerdictSettings(), 10)
    assert row["status"] == "not_on_top" and "none of the DE genes" in row["note"]
    assert row["top_term"] == "A" and np.isnan(row["rank"])
    # DE genes in no pathway at all: every pathway has p = 1, none is "top"
    t = ora_table([["A", 1, 1.0, 1.0, 0, 40, ""], ["T", 1, 1.0, 1.0, 0, 40, ""]])
    row = verdict.judge_method(t, "ora_all", "T", verdict.VerdictSettings(), 10)
    assert row["top_term"] == "" and row["status"] == "not_on_top"


def test_too_few_de_genes_or_overlap_is_inconclusive():
    s = verdict.VerdictSettings(top_n=1, max_fdr=0.05, min_overlap=3, min_de_genes=5)
    # 4 DE genes, 3 in the target, FDR tiny: still too few DE genes to call anything on top
    t = ora_table([["T", 1, 1e-9, 1e-7, 3, 40, "A;B;C"]])
    row = verdict.judge_method(t, "ora_all", "T", s, n_query=4)
    assert row["status"] == "inconclusive" and row["on_top"] == "no" and "min_de_genes = 5" in row["note"]
    assert row["rank"] == 1 and row["fdr"] == 1e-7  # the numbers are still shown
    assert verdict.judge_method(t, "ora_all", "T", s, n_query=5)["status"] == "on_top"
    # enough DE genes, significant, but only 2 of the target's genes: inconclusive
    t2 = ora_table([["T", 1, 1e-6, 1e-4, 2, 40, "MT1X;MT2A"]])
    row = verdict.judge_method(t2, "ora_all", "T", s, n_query=50)
    assert row["status"] == "inconclusive" and "min_overlap = 3" in row["note"]
    assert verdict.judge_method(t2, "ora_all", "T", verdict.VerdictSettings(min_overlap=2), 50)["status"] == "on_top"
    # 2 genes and not significant: a real "not on top" (the FDR already says no)
    t3 = ora_table([["A", 1, 1e-6, 1e-4, 9, 40, "X"], ["T", 2, 0.2, 0.4, 2, 40, "MT1X;MT2A"]])
    assert verdict.judge_method(t3, "ora_all", "T", s, n_query=50)["status"] == "not_on_top"
    # GSEA is threshold free: no minimum DE list
    g = pd.DataFrame(
        {
            "library": ["lib"],
            "term": ["T"],
            "rank": [1],
            "nes": [2.1],
            "pvalue": [0.001],
            "fdr": [0.01],
            "set_size": [40],
            "leading_edge": ["A;B"],
        }
    )
    assert verdict.judge_method(g, "gsea", "T", s, None)["status"] == "on_top"


def test_single_de_gene_is_inconclusive_on_kegg(kegg_path):
    """Only MT2A is DE (the case of issue 9): before, ORA tested only the one pathway hit and
    called it rank 1 of 1, FDR = p = 0.015, "on top". Now BH runs over every usable pathway and
    the verdict needs minimum evidence."""
    lib = genesets.read_library(kegg_path, "KEGG_2021_Human")
    background = sorted(lib.genes())
    table = enrichment.ora(["MT2A"], background, lib.sets, "KEGG_2021_Human")
    usable = enrichment.restrict_sets(lib.sets, set(background), 10, 500)
    assert len(table) == len(usable) > 250  # every usable pathway is tested, hit or not
    hit = table[table["overlap_size"] > 0]
    t = table.set_index("term").loc["Mineral absorption"]
    assert t["pvalue"] < 0.05 and t["padj"] == 1.0 > t["pvalue"]  # no longer FDR = p
    assert (table.loc[table["overlap_size"] == 0, "pvalue"] == 1).all() and len(hit) < len(table)
    row = verdict.judge_method(table, "ora_all", "Mineral absorption", verdict.VerdictSettings(), n_query=1)
    assert row["status"] == "inconclusive" and row["on_top"] == "no"
    assert row["n_terms"] == len(usable) and row["rank"] == 1
    # even with the BH fixed, a single gene must not make a pathway "on top"
    loose = verdict.VerdictSettings(max_fdr=1.0, min_de_genes=1, min_overlap=1)
    assert verdict.judge_method(table, "ora_all", "Mineral absorption", loose, 1)["status"] == "on_top"
    assert (
        verdict.judge_method(
            table, "ora_all", "Mineral absorption", verdict.VerdictSettings(max_fdr=1.0, min_de_genes=1), 1
        )["status"]
        == "inconclusive"
    )


def test_judge_dataset_marks_primary_and_gsea():
    ora = ora_table([["T", 1, 1e-6, 1e-4, 5, 40, "A;B"]])
    gsea = pd.DataFrame(
        {
            "library": ["lib"],
            "term": ["T"],
            "rank": [4],
            "nes": [-1.8],
            "pvalue": [0.001],
            "fdr": [0.02],
            "set_size": [40],
            "leading_edge": ["A;B;C"],
        }
    )
    out = verdict.judge_dataset(
        "ds",
        "lib",
        "T",
        "hsa04978",
        {"ora_all": ora, "gsea": gsea},
        {"ora_all": 12},
        verdict.VerdictSettings(primary="ora_all"),
    )
    assert list(out["method"]) == ["ora_all", "gsea"]
    assert list(out["primary"]) == [True, False]
    assert list(out["on_top"]) == ["yes", "no"] and list(out["status"]) == ["on_top", "not_on_top"]
    assert out.loc[1, "nes"] == -1.8 and out.loc[0, "target_id"] == "hsa04978"
    assert list(out.columns) == verdict.VERDICT_COLUMNS


def test_gene_status():
    de = pd.DataFrame(
        {
            "gene_id": ["g1", "g2", "g3", "g4", "g5"],
            "symbol": pd.array(["HMOX1", "MT2A", "MT1X", "MT1E", "ACTB"], dtype="string"),
            "baseMean": [100.0, 50.0, 3.0, 20.0, 1000.0],
            "log2FoldChange": [2.0, -1.5, 0.3, 4.0, 0.0],
            "pvalue": [1e-5, 1e-4, 0.3, np.nan, 0.9],
            "padj": [1e-3, 0.01, np.nan, np.nan, 0.95],
        }
    )
    g = verdict.gene_status("ds", de, verdict.VerdictSettings(alpha=0.05)).set_index("symbol")
    assert g.loc["HMOX1", "status"] == "up"
    assert g.loc["MT2A", "status"] == "down"
    assert g.loc["MT1X", "status"] == "untested" and "independent filtering" in g.loc["MT1X", "detail"]
    assert g.loc["MT1E", "status"] == "untested" and "Cook" in g.loc["MT1E", "detail"]
    assert g.loc["VDR", "status"] == "untested"
    assert "ACTB" not in g.index
    assert g.loc["MT2A", "reason"] == "pattern" and g.loc["VDR", "reason"] == "requested"


def test_gene_status_tells_prefiltered_from_absent():
    de = pd.DataFrame(
        {
            "gene_id": ["g1"],
            "symbol": pd.array(["MT2A"], dtype="string"),
            "baseMean": [50.0],
            "log2FoldChange": [-1.5],
            "pvalue": [1e-4],
            "padj": [0.01],
        }
    )
    input_genes = pd.DataFrame(
        {"gene_id": ["g1", "g2", "g3"], "symbol": pd.array(["MT2A", "HMOX1", "MT1G"], dtype="string")}
    )
    g = verdict.gene_status("ds", de, verdict.VerdictSettings(), input_genes).set_index("symbol")
    assert g.loc["HMOX1", "status"] == "untested"
    assert g.loc["HMOX1", "detail"].startswith("removed by the pre-filter")
    assert g.loc["HMOX1", "gene_id"] == "g2"
    assert g.loc["VDR", "status"] == "untested" and g.loc["VDR", "detail"].startswith("absent from the count matrix")
    # patterns also match genes that were not tested
    assert g.loc["MT1G", "reason"] == "pattern" and g.loc["MT1G", "status"] == "untested"
    assert g.loc["MT2A", "status"] == "down"
    assert (g["status"] != "not DE").all()  # an untested gene is never "not DE"


def test_metallothionein_pseudogenes_excluded_by_gene_type():
    de = pd.DataFrame(
        {
            "gene_id": ["g1", "g2", "g3", "g4"],
            "symbol": pd.array(["MT2A", "MT1P3", "MT1L", "MT1HL1"], dtype="string"),
            "baseMean": [50.0, 40.0, 30.0, 20.0],
            "log2FoldChange": [-1.5, 2.0, 2.0, 0.1],
            "pvalue": [1e-4, 1e-6, 1e-6, 0.5],
            "padj": [0.01, 1e-4, 1e-4, 0.7],
        }
    )
    ids = pd.DataFrame(
        {
            "gene_id": ["g1", "g2", "g3", "g4", "g5"],
            "symbol": pd.array(["MT2A", "MT1P3", "MT1L", "MT1HL1", "MT1XP1"], dtype="string"),
            "gene_type": ["protein-coding", "pseudo", "pseudo", "protein-coding", "pseudo"],
        }
    )
    g = verdict.gene_status("ds", de, verdict.VerdictSettings(), ids).set_index("symbol")
    assert g.loc["MT2A", "reason"] == "pattern" and g.loc["MT1HL1", "reason"] == "pattern"
    for pseudo in ("MT1P3", "MT1L", "MT1XP1"):  # MT1L is a pseudogene without a P in its name
        assert g.loc[pseudo, "reason"] == verdict.EXCLUDED, pseudo
    counted = verdict.counted_genes(g.reset_index())
    assert set(counted["symbol"]) == {"HMOX1", "VDR", "MT2A", "MT1HL1"}
    assert g.loc["MT1HL1", "status"] == "not DE"
    # the summary counts MT2A, not the up-regulated pseudogenes
    v = pd.DataFrame(
        [
            {
                "dataset": "ds",
                "library": "L",
                "method": "ora_all",
                "primary": True,
                "target": "T",
                "target_id": "",
                "on_top": "no",
                "status": "inconclusive",
                "rank": np.nan,
                "n_terms": 5,
                "pvalue": np.nan,
                "p_bound": False,
                "fdr": np.nan,
                "nes": np.nan,
                "overlap_size": np.nan,
                "set_size": np.nan,
                "genes": "",
                "top_term": "",
                "de_genes": 1,
                "note": "too few",
            }
        ]
    )
    line = verdict.summary_sentences(v, g.reset_index(), verdict.VerdictSettings())[0]
    assert "MT2A down" in line and "MT1P3" not in line and "MT1L up" not in line
    assert "cannot be judged (inconclusive)" in line


def test_pseudogenes_by_name_without_gene_type():
    de = pd.DataFrame(
        {
            "gene_id": ["g1", "g2", "g3"],
            "symbol": pd.array(["MT2A", "MT1P3", "MT1CP"], dtype="string"),
            "baseMean": [50.0, 40.0, 30.0],
            "log2FoldChange": [1.0, 2.0, 2.0],
            "pvalue": [1e-4, 1e-6, 1e-6],
            "padj": [0.01, 1e-4, 1e-4],
        }
    )
    ids = pd.DataFrame(
        {
            "gene_id": ["g1", "g2", "g3"],
            "symbol": pd.array(["MT2A", "MT1P3", "MT1CP"], dtype="string"),
            "gene_type": ["", "", ""],
        }
    )  # an annotation without gene types
    g = verdict.gene_status("ds", de, verdict.VerdictSettings(), ids).set_index("symbol")
    assert g.loc["MT2A", "reason"] == "pattern" and "gene type unknown" in g.loc["MT2A", "detail"]
    assert g.loc["MT1P3", "reason"] == verdict.EXCLUDED and g.loc["MT1CP", "reason"] == verdict.EXCLUDED
    assert "excluded as a pseudogene by its name" in g.loc["MT1P3", "detail"]


def test_p_bound_shown_as_upper_bound_and_tolerated_when_absent():
    gsea = pd.DataFrame(
        {
            "library": ["lib"],
            "term": ["T"],
            "rank": [1],
            "nes": [2.5],
            "pvalue": [1 / 1001],
            "fdr": [0.001],
            "set_size": [40],
            "leading_edge": ["A;B"],
            "p_bound": [True],
        }
    )
    row = verdict.judge_method(gsea, "gsea", "T", verdict.VerdictSettings(), None)
    # the bound 1/1001 is shown rounded up (still a bound): "< 0.001", never "p = 0"
    assert row["p_bound"] is True and verdict.fmt_p(row["pvalue"], row["p_bound"]) == "< 0.001"
    v = verdict.judge_dataset("ds", "lib", "T", "", {"gsea": gsea}, {}, verdict.VerdictSettings(primary="gsea"))
    html = verdict.to_html(v, pd.DataFrame(columns=verdict.GENE_COLUMNS), verdict.VerdictSettings(primary="gsea"), "t")
    assert "&lt; 0.001" in html
    md = verdict.to_markdown(
        v, pd.DataFrame(columns=verdict.GENE_COLUMNS), verdict.VerdictSettings(primary="gsea"), "t"
    )
    assert "p < 0.001" in md and "| < 0.001 |" in md
    old = gsea.drop(columns="p_bound")  # a gsea.tsv written before the column existed
    row = verdict.judge_method(old, "gsea", "T", verdict.VerdictSettings(), None)
    assert row["p_bound"] is False and verdict.fmt_p(row["pvalue"], row["p_bound"]) == "0.000999"


@pytest.mark.parametrize("name", ["null", "NA", "None", "nan"])
def test_read_verdict_keeps_dataset_names(tmp_path, name):
    from pathverdict.util import write_tsv

    v = verdict.judge_dataset(
        name,
        "lib",
        "T",
        "",
        {"ora_all": ora_table([["T", 1, 1e-6, 1e-4, 5, 40, "A"]])},
        {"ora_all": 12},
        verdict.VerdictSettings(),
    )
    write_tsv(v, tmp_path / "v.tsv")
    back = verdict.read_verdict(tmp_path / "v.tsv")
    assert list(back["dataset"]) == [name] and back["primary"].tolist() == [True]
    assert back.loc[0, "status"] == "on_top" and back.loc[0, "pvalue"] == 1e-6


def _judge_simulated(ds, kegg):
    """DE (the workflow's DESeq2), ORA of all DE genes against KEGG and the verdict, as the workflow does."""
    from pathverdict import de

    result = de.run_deseq2(
        ds.counts,
        ds.samples.set_index("sample"),
        de.DEParams(design="~condition", contrast=["condition", "Treated", "Control"]),
    )
    res = result.results.copy()
    res.insert(0, "symbol", pd.array([ds.symbols[g] for g in res.index], dtype="string"))
    genes = enrichment.collapse_to_symbols(res.reset_index())
    lists, background = enrichment.de_gene_lists(genes, 0.05, 0.0)
    table = enrichment.ora(lists["all"], background, kegg.sets, "KEGG", kegg.ids)
    return lists["all"], verdict.judge_method(
        table, "ora_all", "Mineral absorption", verdict.VerdictSettings(), len(lists["all"])
    )


@pytest.mark.shared
def test_simulated_single_metallothionein_is_not_on_top(make_dataset, kegg_path):
    """A simulated study whose only effect is MT2A 8x up (truth: no pathway response) must not
    put the pathway on top; the same genes with the pathway planted must."""
    kegg = genesets.read_library(kegg_path, "KEGG_2021_Human")
    ds = make_dataset("only_mt2a", n_genes=3000, effect=False, seed=11)
    mt2a = next(g for g, s in ds.symbols.items() if s == "MT2A")
    ds.counts.loc[mt2a, [c for c in ds.counts.columns if c.startswith("trt")]] *= 8
    de_genes, row = _judge_simulated(ds, kegg)
    assert "MT2A" in de_genes and len(de_genes) < 5, de_genes
    assert row["status"] == "inconclusive" and row["on_top"] == "no", row
    # what the old rule (BH over hit pathways only, no minimum evidence) would have said: on top
    assert row["pvalue"] < 0.05 and row["rank"] == 1
    planted = make_dataset("planted", n_genes=3000, effect=True, seed=11)
    _, row = _judge_simulated(planted, kegg)
    assert row["status"] == "on_top" and row["overlap_size"] >= 20, row


def test_gene_status_of_a_gene_without_reads():
    """Without the pre-filter (the default) a gene with no reads is in de.tsv with baseMean 0
    and NA statistics, as in R: it was not tested, it is not a Cook's outlier."""
    de = pd.DataFrame(
        {
            "gene_id": ["g1", "g2"],
            "symbol": pd.array(["HMOX1", "VDR"], dtype="string"),
            "baseMean": [0.0, 80.0],
            "log2FoldChange": [np.nan, 3.0],
            "pvalue": [np.nan, np.nan],
            "padj": [np.nan, np.nan],
        }
    )
    g = verdict.gene_status("ds", de, verdict.VerdictSettings()).set_index("symbol")
    assert g.loc["HMOX1", "status"] == "untested" and g.loc["HMOX1", "detail"] == "no reads in any sample"
    assert g.loc["VDR", "status"] == "untested" and g.loc["VDR", "detail"] == "no p-value (Cook's outlier)"


def test_sentences_of_a_selected_dataset_say_an_on_top_needs_the_selection_aware_null():
    """In a dataset whose patients were selected by expression, GSEA's 'on top' (here beside a headline
    that is not on top) is no evidence until the selection-aware null rejects: its sentence says so (the
    claims' qualification, claim_tests.qualify_by_selection); a dataset without a selection, or not on
    top by any method, gets no such clause."""
    base = {"library": "L", "target": "T", "target_id": "", "n_terms": 300, "p_bound": False, "nes": np.nan}
    base |= {"overlap_size": 5, "set_size": 50, "genes": "A;B", "top_term": "", "de_genes": 40, "note": ""}
    rows = []
    for ds, gsea in (("sel", "on_top"), ("plain", "on_top"), ("sel_no", "not_on_top")):
        head = {"dataset": ds, "method": "ora_all", "primary": True, "on_top": "no", "status": "not_on_top"}
        rows.append(base | head | {"rank": 9, "pvalue": 0.01, "fdr": 0.2})
        yes = gsea == "on_top"
        other = {"dataset": ds, "method": "gsea", "primary": False, "on_top": "yes" if yes else "no", "status": gsea}
        rows.append(base | other | {"rank": 1 if yes else 7, "pvalue": 0.001, "fdr": 0.01})
    v = pd.DataFrame(rows)
    g = pd.DataFrame(columns=["dataset", "symbol", "status", "reason", "gene_type"])
    got = verdict.summary_sentences(v, g, verdict.VerdictSettings(), selected=["sel", "sel_no"])
    sel, plain, sel_no = got
    assert "It is on top by gsea." in sel and "Patients selected by expression" in sel
    assert "the claims count it only then" in sel
    assert "on top by gsea" in plain and "selected by expression" not in plain
    assert "selected by expression" not in sel_no
    md = verdict.to_markdown(v, g, verdict.VerdictSettings(), "Is T on top?", selected=["sel"])
    assert md.count("Patients selected by expression") == 1
