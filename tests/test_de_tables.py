"""DE tables as input (issue 20, part 2): the tables papers publish, read as R wrote them, give the
counts path's answer on the same data; what they cannot test is `not tested`; bad tables get one
message naming the file and the fix.

The R-made tables are in tests/data/de_tables (README.md there; make_tables.R makes them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO
from fixtures_http import Reply, http_server, http_server_module  # noqa: F401

from pathverdict.de import imported
from pathverdict.errors import InputError
from pathverdict.io import read_de, read_enrichment, read_json
from pathverdict.judgement import verdict as _verdict
from pathverdict.sources import annotation as _annotation
from pathverdict.sources import de_tables
from pathverdict.steps.de import run_de
from pathverdict.steps.download import fetch_de_table
from pathverdict.steps.enrichment import robustness_grid, run_gsea, run_ora, table_limits
from pathverdict.steps.prepare import import_de_table, prepare_dataset, prepare_genesets

DATA = REPO / "tests" / "data" / "de_tables"
SETS = yaml.safe_load((REPO / "config" / "examples" / "shared_counts.yaml").read_text())["datasets"]
ENRICHMENT = {"padj": 0.05, "lfc": 0, "ora_min_size": 10, "ora_max_size": 500, "gsea_min_size": 15,
              "gsea_max_size": 500, "gsea_permutations": 100, "seed": 42}  # fmt: skip
DE = {"alpha": 0.05, "prefilter": {"min_count": 0, "min_samples": None}, "independent_filtering": True,
      "cooks_filter": True, "shrinkage": False}  # fmt: skip
ORA = ("ora_all", "ora_up", "ora_down")
LIB = "KEGG_2021_Human"
TARGET = "Mineral absorption"


@pytest.fixture(scope="module")
def gmt(tmp_path_factory, shared) -> str:
    out = tmp_path_factory.mktemp("lib")
    prepare_genesets(
        library=str(shared / "genesets" / f"{LIB}.txt"),
        library_name=LIB,
        out_gmt=str(out / "lib.gmt"),
        out_info=str(out / "lib.json"),
        target=TARGET,
    )
    return str(out / "lib.gmt")


@pytest.fixture(scope="module")
def ann(shared) -> str:
    return str(shared / "annotation" / "human_gene_info.tsv.gz")


def from_table(table, ann: str, out: Path, **spec) -> Path:
    """The import step on a table: its de.tsv (and record, gene IDs, summary beside it)."""
    out.mkdir(parents=True, exist_ok=True)
    import_de_table(
        dataset="t",
        dataset_config={"de_table": {"path": str(table), **spec}},
        table=str(table),
        annotation=ann,
        alpha=0.05,
        out_de=str(out / "de.tsv"),
        out_genes=str(out / "gene_ids.tsv"),
        out_info=str(out / "prepare.json"),
        out_summary=str(out / "de_summary.json"),
        background=spec.get("background") if spec.get("background") != imported.PROTEIN_CODING else None,
    )
    return out / "de.tsv"


def verdict_rows(de: Path, gmt: str, out: Path, *, gsea: bool = False, record: Path | None = None) -> pd.DataFrame:
    """The verdict rows of one dataset (first library), as the workflow's ORA (and GSEA) and verdict make them."""
    paths = {d: str(out / f"ora_{d}.tsv") for d in ("up", "down", "all")}
    run_ora(
        dataset="t", de=str(de), gmts=[gmt], libraries=[LIB], enrichment=ENRICHMENT,
        out_up=paths["up"], out_down=paths["down"], out_all=paths["all"], out_info=str(out / "ora.json"),
        record=str(record) if record else None,
    )  # fmt: skip
    tabs = {f"ora_{d}": read_enrichment(p) for d, p in paths.items()}
    info = read_json(out / "ora.json")
    if gsea and "gsea" not in info.get("not_tested", {}):
        run_gsea(
            dataset="t", de=str(de), gmts=[gmt], libraries=[LIB], enrichment=ENRICHMENT, out_gsea=str(out / "g.tsv")
        )
        tabs["gsea"] = read_enrichment(out / "g.tsv")
    return _verdict.judge_dataset(
        "t", LIB, TARGET, "", tabs, {f"ora_{d}": k for d, k in info["de_genes"].items()},
        _verdict.VerdictSettings(), not_tested=info.get("not_tested"), notes=info.get("notes"),
    ).set_index("method")  # fmt: skip


# ----------------------------------------------------------------------------- the same answer as the counts path


@pytest.mark.shared
@pytest.mark.parametrize("name", list(SETS))
def test_r_deseq2_table_gives_the_counts_paths_ora_verdict(name, shared, gmt, ann, tmp_path):
    """write.csv(as.data.frame(results(dds))) of R DESeq2 as the input: the ORA verdict rows (rank, p, FDR,
    status, DE genes) equal those of the counts path (our DESeq2) on the same data."""
    ds = {k: (str(REPO / v) if k in ("counts", "samples") else v) for k, v in SETS[name].items()}
    c = tmp_path / "counts"
    c.mkdir()
    prepare_dataset(
        dataset=name, dataset_config=ds, counts=ds["counts"], samples=ds["samples"], annotation=ann,
        out_counts=str(c / "counts.tsv.gz"), out_samples=str(c / "samples.tsv"), out_genes=str(c / "genes.tsv"),
        out_info=str(c / "prepare.json"),
    )  # fmt: skip
    run_de(
        dataset=name, dataset_config=ds, de=DE, counts=str(c / "counts.tsv.gz"), samples=str(c / "samples.tsv"),
        genes=str(c / "genes.tsv"), out_de=str(c / "de.tsv"), out_normalized=str(c / "n.tsv.gz"),
        out_vst=str(c / "v.tsv.gz"), out_summary=str(c / "s.json"),
    )  # fmt: skip
    counts = verdict_rows(c / "de.tsv", gmt, c)
    t = tmp_path / "table"
    table = verdict_rows(from_table(DATA / f"deseq2_{name}.csv.gz", ann, t), gmt, t)
    assert read_json(t / "ora.json")["background_size"] == read_json(c / "ora.json")["background_size"] > 2000
    assert read_json(t / "ora.json")["de_genes"] == read_json(c / "ora.json")["de_genes"]
    for method in ORA:
        a, b = counts.loc[method], table.loc[method]
        assert (a["status"], a["n_terms"], a["de_genes"]) == (b["status"], b["n_terms"], b["de_genes"]), method
        assert a["rank"] == b["rank"] or (np.isnan(a["rank"]) and np.isnan(b["rank"])), method
        np.testing.assert_allclose([b["pvalue"], b["fdr"]], [a["pvalue"], a["fdr"]], rtol=1e-9, err_msg=method)
        # the whole ORA table, not only the target's row
        ca, ta = read_enrichment(c / f"{method}.tsv"), read_enrichment(t / f"{method}.tsv")
        assert list(ca["term"]) == list(ta["term"]) and list(ca["rank"]) == list(ta["rank"])
        np.testing.assert_allclose(ta["pvalue"], ca["pvalue"], rtol=1e-9)
    record = read_json(t / "prepare.json")
    assert record["de_table"]["layout"] == "DESeq2 results()" and record["de_table"]["columns"]["gene"] == ""
    assert record["ranking"] == "the Wald statistic (DESeq2 stat)"
    assert record["padj"] == "the table's column 'padj'" and not record["significant_only"]


@pytest.mark.shared
@pytest.mark.parametrize(
    "file, layout, ranking, gene, expected",
    [
        ("edger_ql_li2008_lncap.csv.gz", "edgeR topTags()", "sign(log2FC) x sqrt(F statistic)", "KLK3", "up"),
        ("edger_lrt_marioni2008_kidney_liver.tsv.gz", "edgeR topTags()", "sign(log2FC) x sqrt(LR statistic)", "ALB",
         "up"),
        ("limma_voom_geuvadis_lcl_sex.tsv.gz", "limma topTable()", "the moderated t statistic (limma t)", "RPS4Y1",
         "up"),
    ],
)  # fmt: skip
def test_edger_and_limma_tables_made_by_r_give_a_verdict(file, layout, ranking, gene, expected, gmt, ann, tmp_path):
    de = from_table(DATA / file, ann, tmp_path)
    record = read_json(tmp_path / "prepare.json")
    assert record["de_table"]["layout"] == layout and record["ranking"] == ranking
    rows = verdict_rows(de, gmt, tmp_path, gsea=True, record=tmp_path / "prepare.json")
    for method in (*ORA, "gsea"):
        assert rows.loc[method, "status"] in ("on_top", "not_on_top", "inconclusive"), rows.loc[method]
    assert rows.loc["ora_all", "n_terms"] > 150 and rows.loc["gsea", "n_terms"] > 150
    assert rows.loc["camera", "status"] == "not_tested" and "no counts" in rows.loc["camera", "note"]
    genes = _verdict.gene_status("t", read_de(de), _verdict.VerdictSettings(genes=(gene,)))
    assert genes.loc[genes["symbol"] == gene, "status"].tolist() == [expected]  # the known biology


def test_write_table_header_one_field_short_is_read(tmp_path):
    rows = de_tables.read_de_table(DATA / "limma_voom_geuvadis_lcl_sex.tsv.gz")
    assert rows.columns["gene"] == "" and any("write.table" in n for n in rows.notes)
    assert rows.table["gene_id"].iloc[0].startswith("ENSG") and rows.statistic == "t"
    # R's default write.table: space-separated, quoted
    text = '"logFC" "AveExpr" "t" "P.Value" "adj.P.Val" "B"\n"ENSG00000067646" 8.8 0.8 49.6 1.9e-65 1.9e-61 125\n'
    (tmp_path / "x.txt").write_text(text + '"ENSG00000129824" -1.2 2.5 -4.9 7e-5 3e-3 1.1\n')
    t = de_tables.read_de_table(tmp_path / "x.txt")
    assert t.file_format == "space" and list(t.table["log2fc"]) == [8.8, -1.2] and t.layout == "limma topTable()"


# ----------------------------------------------------------------------------- Excel


def _workbook(path: Path, data: pd.DataFrame, *, legend_sheet=True, title_rows=2, data_sheet="DE genes") -> Path:
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        if legend_sheet:
            pd.DataFrame(
                {"Table S2": ["Differential expression, liver vs kidney.", "padj: Benjamini-Hochberg."]}
            ).to_excel(xl, sheet_name="Legend", index=False)
        data.to_excel(xl, sheet_name=data_sheet, startrow=title_rows)
        if title_rows:
            xl.sheets[data_sheet]["A1"] = "Supplementary Table S2. DESeq2 results."
    return path


@pytest.fixture(scope="module")
def marioni_csv() -> pd.DataFrame:
    return pd.read_csv(DATA / "deseq2_marioni2008_kidney_liver.csv.gz", index_col=0)


@pytest.mark.shared
def test_excel_with_a_legend_sheet_before_the_data_sheet_is_read(marioni_csv, ann, tmp_path):
    book = _workbook(tmp_path / "S2.xlsx", marioni_csv)
    read = de_tables.read_de_table(book)
    assert (read.sheet, read.header_row, read.layout, read.file_format) == ("DE genes", 3, "DESeq2 results()", "xlsx")
    assert any("'Legend' skipped" in n for n in read.notes)
    csv = de_tables.read_de_table(DATA / "deseq2_marioni2008_kidney_liver.csv.gz")
    pd.testing.assert_frame_equal(read.table.drop(columns="line"), csv.table.drop(columns="line"))
    # the same sheet named, or by its position counted from 1
    assert de_tables.read_de_table(book, sheet="DE genes").sheet == de_tables.read_de_table(book, sheet=2).sheet
    de = from_table(book, ann, tmp_path / "out", sheet=2)
    assert read_json(tmp_path / "out" / "prepare.json")["de_table"]["sheet"] == "DE genes"
    assert len(read_de(de)) == len(marioni_csv)


def test_excel_sheet_without_a_de_header_is_refused(marioni_csv, tmp_path):
    book = _workbook(tmp_path / "S2.xlsx", marioni_csv.head(50))
    with pytest.raises(InputError) as err:
        de_tables.read_de_table(book, sheet="Legend")
    msg = str(err.value)
    assert "S2.xlsx, sheet 'Legend'" in msg and "no header line that looks like a DE table" in msg
    assert "columns: {gene: Gene, log2fc: log2FC, pvalue: PValue, padj: FDR}" in msg
    with pytest.raises(
        InputError, match=r"`sheet: 3`, but the workbook has 2 sheet\(s\) \(1 = 'Legend', 2 = 'DE genes'\)"
    ):
        de_tables.read_de_table(book, sheet=3)
    only_legend = tmp_path / "legend.xlsx"
    pd.DataFrame({"about": ["nothing here"]}).to_excel(only_legend, index=False)
    with pytest.raises(
        InputError, match=r"legend.xlsx: no sheet has a header that looks like a DE table .*sheet: NAME"
    ):
        de_tables.read_de_table(only_legend)


# ----------------------------------------------------------------------------- significant genes only


@pytest.mark.shared
def test_significant_genes_only_is_refused_with_the_fix(marioni_csv, ann, tmp_path):
    sig = marioni_csv[marioni_csv["padj"] < 0.05]
    sig.to_csv(tmp_path / "sig.csv")
    with pytest.raises(InputError) as err:
        from_table(tmp_path / "sig.csv", ann, tmp_path / "a")
    msg = str(err.value)
    assert "sig.csv" in msg and "lists significant genes only (every adjusted p-value is below 0.5" in msg
    assert "`background:`" in msg and "annotation_protein_coding" in msg
    # a short table (a top-N list) is refused too, whatever its p-values
    marioni_csv.sample(1500, random_state=1).to_csv(tmp_path / "short.csv")
    with pytest.raises(InputError, match=r"only 1500 gene\(s\) have a p-value .*fewer than 2000.*`background:`"):
        from_table(tmp_path / "short.csv", ann, tmp_path / "b")
    assert not (tmp_path / "a" / "de.tsv").exists() and not (tmp_path / "b" / "de.tsv").exists()


@pytest.mark.shared
def test_a_given_background_is_used_and_said(marioni_csv, ann, gmt, tmp_path):
    sig = marioni_csv[marioni_csv["padj"] < 0.01]
    sig.to_csv(tmp_path / "sig.csv")
    out = tmp_path / "pc"
    de = from_table(tmp_path / "sig.csv", ann, out, background=imported.PROTEIN_CODING)
    table = read_de(de)
    added = table[table["in_table"] == "no"]
    assert len(added) > 15000 and added["padj"].isna().all() and (table["in_table"] == "yes").sum() == len(sig)
    rows = verdict_rows(de, gmt, out, gsea=True, record=out / "prepare.json")
    info = read_json(out / "ora.json")
    assert info["background_size"] > 15000  # the protein-coding genes, not the listed ones
    assert (
        "smaller (more significant)" in rows.loc["ora_all", "note"]
        and "annotation_protein_coding" not in rows.loc["ora_all", "note"]
    )
    assert rows.loc["gsea", "status"] == "not_tested" and "significant genes only" in rows.loc["gsea", "note"]
    assert rows.loc["camera", "status"] == "not_tested"
    # DE at padj < 0.05 is the table's own threshold (it lists up to padj < 0.01): said in the note
    assert "lists genes up to padj" in rows.loc["ora_all", "note"]
    # the robustness grid: cells beyond what the table lists are not tested, never computed on what happens to be there
    limits = table_limits(read_json(out / "prepare.json"), 0.05)
    grid = robustness_grid(
        dataset="t", de=str(de), gmts=[gmt], libraries=[LIB], target=TARGET,
        robustness={"padj": [0.001, 0.05], "lfc": [0, 1]}, enrichment=ENRICHMENT,
        verdict_settings={"top_n": 1, "max_fdr": 0.05, "min_overlap": 3, "min_de_genes": 5},
        out_grid=str(out / "grid.tsv"), limits=limits,
    )  # fmt: skip
    untested = grid[grid["status"] == "not_tested"]
    assert set(untested["padj_threshold"].dropna()) == {0.05} and "gsea" in set(untested["method"])
    assert set(grid.loc[grid["padj_threshold"] == 0.001, "status"]) <= {"on_top", "not_on_top", "inconclusive"}
    # gene status: a background gene the table does not list is untested, never "not DE"
    st = _verdict.gene_status("t", table, _verdict.VerdictSettings(genes=(added["symbol"].iloc[0],), gene_patterns=()))
    assert st["status"].tolist() == ["untested"] and "not in the DE table" in st["detail"].iloc[0]


@pytest.mark.shared
def test_a_background_file_is_mapped_like_the_table(marioni_csv, ann, tmp_path):
    sig = marioni_csv[marioni_csv["padj"] < 0.05]
    sig.to_csv(tmp_path / "sig.csv")
    (tmp_path / "tested.txt").write_text("gene_id\n" + "\n".join(marioni_csv.index) + "\n")
    out = tmp_path / "o"
    from_table(tmp_path / "sig.csv", ann, out, background=str(tmp_path / "tested.txt"))
    rec = read_json(out / "prepare.json")
    assert rec["background"]["given"].endswith("tested.txt") and rec["background"]["added"] > 1000
    # the background of every tested gene gives ORA the counts path's universe and more: not fewer genes
    assert rec["background"]["genes"] >= 4000


# ----------------------------------------------------------------------------- layouts and statistics


def test_cuffdiff_gene_exp_diff(tmp_path):
    header = "test_id\tgene_id\tgene\tlocus\tsample_1\tsample_2\tstatus\tvalue_1\tvalue_2\tlog2(fold_change)\t" \
             "test_stat\tp_value\tq_value\tsignificant"  # fmt: skip
    lines = [
        "XLOC_000001\tXLOC_000001\tHMOX1\tchr22:1-2\tq1\tq2\tOK\t10\t40\t2\t3.5\t0.0001\t0.002\tyes",
        "XLOC_000002\tXLOC_000002\tVDR\tchr12:1-2\tq1\tq2\tNOTEST\t0\t0\t0\t0\t1\t1\tno",
        "XLOC_000003\tXLOC_000003\tHMOX1\tchr22:5-9\tq1\tq2\tOK\t5\t1\t-2.3\t-1.1\t0.2\t0.4\tno",
        "XLOC_000004\tXLOC_000004\tMT2A\tchr16:1-2\tq1\tq2\tLOWDATA\t1\t0\t-inf\t0\t1\t1\tno",
    ]
    (tmp_path / "gene_exp.diff").write_text(header + "\n" + "\n".join(lines) + "\n")
    t = de_tables.read_de_table(tmp_path / "gene_exp.diff")
    assert t.layout == "Cuffdiff gene_exp.diff" and t.statistic == "test_stat"
    assert list(t.table["map_id"]) == ["HMOX1", "VDR", "HMOX1", "MT2A"]  # XLOC IDs: matched by the gene names
    assert list(t.table["gene_id"]) == ["XLOC_000001", "XLOC_000002", "XLOC_000003", "XLOC_000004"]
    assert t.table["pvalue"].isna().tolist() == [False, True, False, True]  # not OK: not tested
    assert np.isneginf(t.table["log2fc"].iloc[3])


def test_columns_from_the_config_and_legend_lines_above_the_header(tmp_path):
    text = (
        "Supplementary table 3: genes changed by the knockdown\n\n"
        "Gene;Fold change (log2);P;FDR;Note\nHMOX1;1,5;0,0001;0,01;x\nVDR;-0,25;0,3;0,6;\n"
    )
    (tmp_path / "s3.csv").write_text(text, encoding="cp1252")
    cols = {"gene": "Gene", "log2fc": "Fold change (log2)", "pvalue": "P", "padj": "FDR"}
    t = de_tables.read_de_table(tmp_path / "s3.csv", columns=cols)
    assert t.layout == de_tables.CONFIGURED and t.header_row == 3 and t.file_format == "semicolon"
    assert list(t.table["log2fc"]) == [1.5, -0.25] and "decimal commas" in t.notes
    assert t.statistic == "" and list(t.table["line"]) == [4, 5]
    # without `columns`: one message saying what the header has and the fix
    with pytest.raises(
        InputError, match=r"s3.csv: line 3 has DE columns \(Fold change \(log2\), P, FDR\) but is not a la"
    ):
        de_tables.read_de_table(tmp_path / "s3.csv")


def test_ranking_statistics():
    f = pd.DataFrame({"log2fc": [2.0, -1.0, 0.5], "pvalue": [1e-4, 0.0, 0.5], "stat": [9.0, 4.0, 0.25]})
    r, words = imported.ranking_statistic(f, "F")
    assert list(r) == [3.0, -2.0, 0.5] and words == "sign(log2FC) x sqrt(F statistic)"
    r, words = imported.ranking_statistic(f, "Wald")  # never negative while fold changes are: an LRT statistic
    assert list(r) == [3.0, -2.0, 0.5] and "never negative" in words
    r, words = imported.ranking_statistic(f.assign(stat=[3.0, -2.0, 0.1]), "t")
    assert list(r) == [3.0, -2.0, 0.1] and "limma t" in words
    r, words = imported.ranking_statistic(f.assign(stat=np.nan), "")
    assert list(r) == pytest.approx([4.0, -300.0, -np.log10(0.5) * 1]) and "-log10(p)" in words and "1e-300" in words


# ----------------------------------------------------------------------------- bad input: one message each


def _csv(tmp_path, text: str, name: str = "t.csv") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path / name


@pytest.mark.parametrize(
    "text, expected",
    [
        (',baseMean,log2FoldChange,lfcSE,stat,padj\nENSG1,1,2,0.1,3,0.01\n',
         r"t.csv: line 1 looks like the header of a DE table \(log2FoldChange, padj\) but has no p-value column.*"
         r"columns: \{gene: Gene"),
        (',baseMean,lfcSE,stat,pvalue,padj\nENSG1,1,0.1,3,0.01,0.02\n',
         r"t.csv: line 1 looks like the header .* but has no log2 fold change column"),
        (',baseMean,log2FoldChange,lfcSE,stat,pvalue,padj\nENSG1,1,2,0.1,3,0.01,0.02\nENSG2,1,2,0.1,3,n.s.,0.02\n'
         'ENSG3,1,2,0.1,3,<0.001,0.02\n',
         r"t.csv: line 3, gene ENSG2, column 'pvalue': 'n.s.' is not a number \(2 such value\(s\) in the column: "
         r"line 3 'n.s.'; line 4 '<0.001'\)\. Fix: export the numbers as numbers"),
        (',baseMean,log2FoldChange,lfcSE,stat,pvalue,padj\nENSG1,1,2,0.1,3,0.01,0.02\nENSG1,1,2,0.1,3,0.5,0.6\n',
         r"t.csv: gene ENSG1 is listed twice \(line 2 and line 3\)\. A DE table has one row per gene.*Fix: give a "
         r"table of one comparison, or a column with unique gene IDs"),
        (',baseMean,log2FoldChange,lfcSE,stat,pvalue,padj\nENSG1,1,2,0.1,3,4.2,0.02\n',
         r"t.csv: line 2, gene ENSG1, column 'pvalue': 4.2 is not a p-value \(between 0 and 1.*-log10"),
        (',baseMean,log2FoldChange,lfcSE,stat,pvalue,padj\n,1,2,0.1,3,0.01,0.02\n',
         r"t.csv: line 2 has no gene ID in column ''"),
        ('gene,expression\nA,1\n', r"t.csv: no header line that looks like a DE table in its first 30 rows"),
    ],
)  # fmt: skip
def test_bad_tables_get_one_message_with_the_file_and_the_fix(tmp_path, text, expected):
    with pytest.raises(InputError, match=expected):
        de_tables.read_de_table(_csv(tmp_path, text))


def test_bad_table_options(tmp_path):
    good = _csv(tmp_path, ",baseMean,log2FoldChange,lfcSE,stat,pvalue,padj\nENSG1,1,2,0.1,3,0.01,0.02\n")
    with pytest.raises(InputError, match=r"`columns: \{pvalue: P\.Value\}` names no column of the header"):
        de_tables.read_de_table(good, columns={"pvalue": "P.Value"})
    with pytest.raises(InputError, match=r"`sheet: 2` is given, but the file is a text table"):
        de_tables.read_de_table(good, sheet=2)
    with pytest.raises(InputError, match=r"DE table not found: .*nothing.csv\. Check `de_table`"):
        de_tables.read_de_table(tmp_path / "nothing.csv")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    with pytest.raises(InputError, match=r"old.xls: an Excel 97-2003 workbook .*save it as \.xlsx"):
        de_tables.read_de_table(tmp_path / "old.xls")


def test_config_refuses_what_needs_counts(write_config, tmp_path):
    from pathverdict.config import missing_local_files, validate_config

    def cfg(ds):
        return yaml.safe_load(write_config({"t": ds}).read_text())

    with pytest.raises(
        InputError,
        match=r"datasets\.t: a dataset given as a DE table cannot have `select_by_expression`"
        r" \(selecting samples by expression needs the counts of every sample\)",
    ):
        validate_config(cfg({"de_table": "x.csv", "select_by_expression": {"gene": "MEIS1", "group": "RLS"}}))
    with pytest.raises(InputError, match=r"give exactly one of `path`, `url` or `geo`"):
        validate_config(cfg({"de_table": {"path": "x.csv", "url": "https://x.org/t.csv"}}))
    ok = validate_config(cfg({"de_table": "https://x.org/S2.xlsx", "role": "tissue"}))
    assert ok["datasets"]["t"]["de_table"] == {"url": "https://x.org/S2.xlsx"}
    local = validate_config(cfg({"de_table": {"path": "nothing.csv", "background": "nothing.txt"}}))
    assert missing_local_files(local)[:2] == [
        "datasets.t.de_table.path: nothing.csv",
        "datasets.t.de_table.background: nothing.txt",
    ]  # fmt: skip


# ----------------------------------------------------------------------------- downloads (a server on 127.0.0.1)


@pytest.mark.shared
def test_url_and_geo_sources_are_downloaded_and_read(http_server, marioni_csv, ann, tmp_path):
    book = _workbook(tmp_path / "S2.xlsx", marioni_csv, title_rows=0).read_bytes()
    http_server.route("/paper/S2.xlsx", Reply(200, book))
    suppl = "/geo/series/GSE130nnn/GSE130001/suppl/"
    listing = (REPO / "tests" / "data" / "sources" / "suppl_listing.html").read_text()
    listing = listing.replace("GSE130001_raw_counts.txt.gz", "GSE130001_DESeq2_results.csv.gz")
    http_server.route(suppl, Reply(200, listing, content_type="text/html"))
    table = (DATA / "deseq2_marioni2008_kidney_liver.csv.gz").read_bytes()
    http_server.route(suppl + "GSE130001_DESeq2_results.csv.gz", Reply(200, table))
    downloads = {"cache_dir": str(tmp_path / "cache"), "retries": 1, "backoff": 0.01, "timeout": 5}
    base = {"geo_ftp": http_server.url("/geo/"), "eutils": http_server.url("/eutils/")}
    specs = {
        "url": {"url": http_server.url("/paper/S2.xlsx")},
        "geo": {"geo": {"accession": "GSE130001", "file": "*DESeq2_results*"}},
    }
    for kind, spec in specs.items():
        out = tmp_path / kind
        out.mkdir()
        info = fetch_de_table(
            dataset=kind, dataset_config={"de_table": spec}, downloads=downloads, base_urls=base,
            out_table=str(out / "table"), out_info=str(out / "source.json"),
        )  # fmt: skip
        assert info["downloads"]["de_table"][0]["sha256"]
        import_de_table(
            dataset=kind, dataset_config={"de_table": spec}, table=str(out / "table"), annotation=ann, alpha=0.05,
            out_de=str(out / "de.tsv"), out_genes=str(out / "g.tsv"), out_info=str(out / "prepare.json"),
            out_summary=str(out / "s.json"), source=str(out / "source.json"),
        )  # fmt: skip
        rec = json.loads((out / "prepare.json").read_text())
        assert rec["de_table"]["layout"] == "DESeq2 results()" and len(read_de(out / "de.tsv")) == len(marioni_csv)
        assert rec["source"]["downloads"]["de_table"][0]["url"].startswith(http_server.url("/"))
    assert json.loads((tmp_path / "geo" / "source.json").read_text())["accession"] == "GSE130001"
    assert json.loads((tmp_path / "url" / "prepare.json").read_text())["de_table"]["file"].endswith("/paper/S2.xlsx")
    # a cached download is reused without the network
    http_server.reset()
    out = tmp_path / "again"
    out.mkdir()
    fetch_de_table(
        dataset="url", dataset_config={"de_table": specs["url"]}, downloads=downloads, base_urls=base,
        out_table=str(out / "table"), out_info=str(out / "source.json"),
    )  # fmt: skip
    assert http_server.requests == []


def test_annotation_background_needs_gene_types(tmp_path):
    ann = _annotation.Annotation({"1": "A"}, {}, frozenset({"A"}), "plain.tsv")
    de = pd.DataFrame({"gene_id": ["A"], "symbol": ["A"]})
    with pytest.raises(InputError, match=r"annotation_protein_coding needs an annotation with a gene type"):
        imported._with_background(de, de, imported.PROTEIN_CODING, "", ann, "auto", "dataset t: ")


# ----------------------------------------------------------------------------- what needs counts: not tested, said


def test_verdict_marks_what_a_table_cannot_test():
    ora = pd.DataFrame({"library": LIB, "term": [TARGET, "Other"], "rank": [1, 2], "pvalue": [1e-6, 0.1],
                        "padj": [1e-4, 0.2], "overlap_size": [6, 1], "set_size": [40, 30],
                        "overlap_genes": ["A", "B"]})  # fmt: skip
    limits = table_limits(
        {"de_table": {"layout": "DESeq2 results()"}, "significant_only": "every adjusted p-value is below 0.5",
         "listed_max_padj": 0.01, "background": {"note": "ORA background: the genes of bg.txt ..."}}, 0.05
    )  # fmt: skip
    rows = _verdict.judge_dataset(
        "t", LIB, TARGET, "", {m: ora for m in ORA}, {m: 50 for m in ORA}, _verdict.VerdictSettings(),
        not_tested=limits["not_tested"], notes=limits["notes"],
    ).set_index("method")  # fmt: skip
    assert rows.loc["ora_all", "status"] == "on_top"
    assert "lists genes up to padj 0.01" in rows.loc["ora_all", "note"] and "bg.txt" in rows.loc["ora_up", "note"]
    for method in ("gsea", "camera"):
        assert rows.loc[method, "status"] == "not_tested" and rows.loc[method, "on_top"] == "no"
        assert np.isnan(rows.loc[method, "rank"]) and rows.loc[method, "note"].startswith("not tested: ")
    assert "significant genes only" in rows.loc["gsea", "note"] and "DESeq2 results()" in rows.loc["camera", "note"]
    assert table_limits({"dataset": "counts"}) == {}  # a dataset with counts: nothing


def test_null_calibration_and_claims_say_not_tested(tmp_path):
    from pathverdict.judgement import calibration, claims
    from pathverdict.judgement.claim_specs import parse_claims
    from pathverdict.steps.robustness import combine_null

    table = combine_null(summaries=[], out_summary=str(tmp_path / "null.tsv"), out_html=str(tmp_path / "null.html"),
                         not_tested=["paper"], library=LIB, target=TARGET)  # fmt: skip
    assert table["informative"].tolist() == ["not tested"] and "a DE table has no counts" in table["note"].iloc[0]
    assert "paper: set score: not tested: the label-permutation null" in (tmp_path / "null.html").read_text()
    cal = calibration.dataset_rows({"paper": {"de_table": {"path": "x.csv"}, "role": "cells"}}, {})
    assert set(cal["design"]) == {"DE table"} and set(cal["source"]) == {calibration.NOT_CALIBRATED}
    assert set(cal["note"]) == {"a DE table has no counts to simulate from"} and cal["power"].isna().all()
    # its "not on top" cannot be a "no" by power: the power rule's caveat says the calibration was not tested
    caveat = calibration.caveats_from_power(cal).iloc[0]
    assert (
        caveat["tests"] == "on_top:ora_all" and "calibration not tested (a DE table has no counts" in caveat["reason"]
    )
    v = pd.DataFrame(
        [{"dataset": "paper", "library": LIB, "method": m, "primary": m == "ora_all", "target": TARGET,
          "target_id": "", "on_top": "yes" if m == "ora_all" else "no", "status": st, "rank": 1 if m == "ora_all"
          else np.nan, "n_terms": 200, "pvalue": 1e-5, "p_bound": False, "fdr": 1e-3, "nes": np.nan,
          "overlap_size": 5, "set_size": 40, "genes": "A", "top_term": TARGET, "de_genes": 100, "note": note}
         for m, st, note in (("ora_all", "on_top", ""), ("camera", "not_tested", "not tested: CAMERA needs ..."))]
    )  # fmt: skip
    genes = pd.DataFrame(columns=_verdict.GENE_COLUMNS)
    specs = parse_claims(
        {"c": {"sentence": "{target} on top", "roles": ["cells"],
               "tests": ["on_top", "selection_null", {"kind": "on_top", "method": "camera"}]}},
        {"paper": "cells"},
    )  # fmt: skip
    out = claims.evaluate(v, genes, {"paper": "cells"}, target=TARGET, claims=specs, null=table, tables=["paper"])
    row = out.iloc[0]
    assert row["holds"] == "inconclusive"  # a part not tested is never counted for or against
    assert "selection-aware null: not tested (a DE table has no counts to relabel)" in row["evidence"]
    assert "camera (KEGG_2021_Human): not tested (CAMERA needs ...)" in row["evidence"]
    assert row["null"].startswith("set_score: not tested: the label-permutation null")
