"""Robustness grid: the target's rank across DE thresholds, libraries and ORA directions.

Tiny synthetic dataset (conftest ``make_dataset``: 3 vs 3, 300 real genes, the KEGG
Mineral absorption genes planted up), the real KEGG_2021_Human library. Fast (a few s).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TARGET
from matplotlib import image as mpimg

from pathverdict import de, enrichment, genesets
from pathverdict.report import plots
from pathverdict.judgement import robustness, verdict
from pathverdict.steps.enrichment import robustness_grid
from pathverdict.steps.robustness import combine_robustness
from pathverdict.errors import InputError

LIB = "KEGG_2021_Human"
PADJ = (0.01, 0.05, 0.1)
LFC = (0.0, 0.58, 1.0)


@pytest.fixture(scope="module")
def kegg(shared):
    return genesets.read_library(shared / "genesets" / "KEGG_2021_Human.txt", LIB)


def de_table(ds) -> pd.DataFrame:
    """The DE table as the workflow writes it (gene_id, symbol, DESeq2 columns)."""
    result = de.run_deseq2(
        ds.counts,
        ds.samples.set_index("sample"),
        de.DEParams(design="~condition", contrast=["condition", "Treated", "Control"]),
    )
    res = result.results.copy()
    res.insert(0, "symbol", pd.array([ds.symbols[g] for g in res.index], dtype="string"))
    return res.reset_index()


@pytest.fixture
def planted_de(make_dataset):
    return de_table(make_dataset("planted"))


def gsea_table(rows, library=LIB) -> pd.DataFrame:
    t = pd.DataFrame(rows, columns=["term", "rank", "pvalue", "fdr", "nes"])
    t.insert(0, "library", library)
    t["term_id"], t["es"], t["fwer"], t["set_size"], t["leading_edge"] = "", t["nes"] / 2, 0.5, 30, "A;B"
    t["p_bound"], t["fdr_bound"] = False, False
    return t[enrichment.GSEA_COLUMNS]


def test_grid_shape_and_one_cell_matches_direct_ora(planted_de, kegg):
    grid = robustness.robustness_grid(planted_de, {LIB: kegg}, TARGET, padj_grid=PADJ, lfc_grid=LFC, dataset="planted")
    assert list(grid.columns) == robustness.GRID_COLUMNS
    assert len(grid) == len(PADJ) * len(LFC) * 3  # no GSEA table given: ORA rows only
    assert set(grid["method"]) == {"ora_up", "ora_down", "ora_all"}
    assert (grid["dataset"] == "planted").all() and (grid["library"] == LIB).all()
    cells = grid.groupby(["padj_threshold", "lfc_threshold"]).size()
    assert len(cells) == 9 and (cells == 3).all()
    # row order: padj, lfc as given, then up, down, all
    assert list(grid["method"][:3]) == ["ora_up", "ora_down", "ora_all"]
    assert list(grid["padj_threshold"][::9]) == list(PADJ)

    # two cells against a direct call, exactly as the workflow's ORA step does it
    genes = enrichment.collapse_to_symbols(planted_de)
    for padj, lfc, direction in [(0.05, 0.0, "all"), (0.01, 1.0, "up")]:
        lists, background = enrichment.de_gene_lists(genes, padj, lfc)
        direct = enrichment.ora(lists[direction], background, kegg.sets, LIB, kegg.ids, 10, 500)
        hit = direct[direct["term"] == TARGET].iloc[0]
        row = grid[
            (grid["padj_threshold"] == padj) & (grid["lfc_threshold"] == lfc) & (grid["method"] == f"ora_{direction}")
        ]
        assert len(row) == 1
        row = row.iloc[0]
        assert row["rank"] == hit["rank"] == 1
        assert row["n_terms"] == len(direct)
        assert row["pvalue"] == pytest.approx(hit["pvalue"], rel=1e-12)
        assert row["fdr"] == pytest.approx(hit["padj"], rel=1e-12)
        assert row["overlap_size"] == hit["overlap_size"]
        assert row["de_genes"] == len(lists[direction]) == hit["query_size"]
    # the planted effect is up: the target is on top of ora_up / ora_all everywhere, never ranked by ora_down
    assert (grid.loc[grid["method"] != "ora_down", "on_top"] == "yes").all()
    down = grid[grid["method"] == "ora_down"]
    assert down["rank"].isna().all() and (down["on_top"] == "no").all() and (down["note"] != "").all()
    # stricter thresholds never give more DE genes
    allg = grid[grid["method"] == "ora_all"].set_index(["padj_threshold", "lfc_threshold"])["de_genes"]
    assert allg[(0.01, 1.0)] <= allg[(0.05, 0.58)] <= allg[(0.1, 0.0)]


def test_grid_cell_at_workflow_thresholds_matches_verdict(planted_de, kegg):
    """The cell at the workflow's own thresholds gives the verdict row's rank, FDR and note."""
    genes = enrichment.collapse_to_symbols(planted_de)
    lists, background = enrichment.de_gene_lists(genes, 0.05, 0.0)
    tables = {f"ora_{d}": enrichment.ora(lists[d], background, kegg.sets, LIB, kegg.ids) for d in lists}
    v = verdict.judge_dataset(
        "planted", LIB, TARGET, None, tables, {f"ora_{d}": len(x) for d, x in lists.items()}, verdict.VerdictSettings()
    ).set_index("method")
    grid = robustness.robustness_grid(planted_de, {LIB: kegg}, TARGET, padj_grid=[0.05], lfc_grid=[0.0])
    for r in grid.itertuples():
        want = v.loc[r.method]
        assert (r.on_top, r.status, r.note, r.n_terms) == (
            want["on_top"],
            want["status"],
            want["note"],
            want["n_terms"],
        )
        assert (pd.isna(r.rank) and pd.isna(want["rank"])) or r.rank == want["rank"]


def test_on_top_logic_and_notes(planted_de, kegg):
    base = dict(padj_grid=[0.05], lfc_grid=[0.0, 50.0])
    grid = robustness.robustness_grid(planted_de, {LIB: kegg}, TARGET, **base).set_index(["lfc_threshold", "method"])
    assert grid.loc[(0.0, "ora_all"), "on_top"] == "yes" and grid.loc[(0.0, "ora_all"), "note"] == ""
    # |log2FC| >= 50: no DE gene at all -> rank NA, "no", and the note says why
    none = grid.loc[50.0]
    assert none["rank"].isna().all() and (none["on_top"] == "no").all() and (none["de_genes"] == 0).all()
    assert none["note"].str.contains("no DE genes").all() and (none["status"] == "inconclusive").all()
    assert grid.loc[(0.0, "ora_all"), "status"] == "on_top"
    # a DE list shorter than min_de_genes: inconclusive, never on top
    few = robustness.robustness_grid(planted_de, {LIB: kegg}, TARGET, min_de_genes=10**6, **base).set_index(
        ["lfc_threshold", "method"]
    )
    assert few.loc[(0.0, "ora_all"), "status"] == "inconclusive" and few.loc[(0.0, "ora_all"), "on_top"] == "no"
    # FDR bound: rank 1 but FDR above max_fdr -> not on top
    strict = robustness.robustness_grid(planted_de, {LIB: kegg}, TARGET, max_fdr=1e-300, **base).set_index(
        ["lfc_threshold", "method"]
    )
    r = strict.loc[(0.0, "ora_all")]
    assert r["rank"] == 1 and r["on_top"] == "no" and "FDR" in r["note"]
    # rank bound: with a fake library where the target loses to a stronger set
    genes = enrichment.collapse_to_symbols(planted_de)
    lists, _ = enrichment.de_gene_lists(genes, 0.05, 0.0)
    decoy = genesets.GeneSetLibrary(
        "decoy", {"Decoy": lists["all"][:40] + lists["all"][-5:], TARGET: kegg.sets[TARGET]}
    )
    g2 = robustness.robustness_grid(planted_de, {"decoy": decoy}, TARGET, **base).set_index(["lfc_threshold", "method"])
    r = g2.loc[(0.0, "ora_all")]
    assert r["rank"] == 2 and r["on_top"] == "no" and "rank 2 > top 1" in r["note"]
    g3 = robustness.robustness_grid(planted_de, {"decoy": decoy}, TARGET, top_n=2, **base).set_index(
        ["lfc_threshold", "method"]
    )
    assert g3.loc[(0.0, "ora_all"), "on_top"] == "yes"
    # a target that is not in a library is an input error, as in the verdict
    with pytest.raises(InputError, match="not in gene-set library"):
        robustness.robustness_grid(planted_de, {LIB: kegg}, "No such pathway", **base)


def test_gsea_rows_copied(planted_de, kegg):
    other = gsea_table([[TARGET, 9, 0.5, 0.9, 1.0]], library="other")
    gsea = pd.concat(
        [gsea_table([["Something else", 1, 0.001, 0.01, 2.5], [TARGET, 2, 0.002, 0.03, 2.1]]), other], ignore_index=True
    )
    grid = robustness.robustness_grid(
        planted_de, {LIB: kegg}, TARGET, padj_grid=[0.05], lfc_grid=[0.0, 1.0], gsea_tables={LIB: gsea}, dataset="d"
    )
    assert len(grid) == 2 * 3 + 1
    g = grid[grid["method"] == "gsea"]
    assert len(g) == 1 and grid.index[-1] == g.index[0]  # one row per library, after its ORA rows
    g = g.iloc[0]
    assert g["rank"] == 2 and g["pvalue"] == 0.002 and g["fdr"] == 0.03 and g["n_terms"] == 2
    assert pd.isna(g["padj_threshold"]) and pd.isna(g["lfc_threshold"]) and pd.isna(g["de_genes"])
    assert g["on_top"] == "no" and "rank 2 > top 1" in g["note"]
    assert (
        robustness.robustness_grid(
            planted_de, {LIB: kegg}, TARGET, padj_grid=[0.05], lfc_grid=[0.0], gsea_tables={LIB: gsea}, top_n=2
        ).iloc[-1]["on_top"]
        == "yes"
    )
    # a library without a GSEA table gets a row saying so
    missing = robustness.robustness_grid(
        planted_de, {LIB: kegg}, TARGET, padj_grid=[0.05], lfc_grid=[0.0], gsea_tables={}
    )
    assert missing.iloc[-1]["method"] == "gsea" and "no GSEA table" in missing.iloc[-1]["note"]


def test_summary(planted_de, kegg):
    grid = robustness.robustness_grid(
        planted_de,
        {LIB: kegg},
        TARGET,
        padj_grid=PADJ,
        lfc_grid=(0.0, 50.0),
        gsea_tables={LIB: gsea_table([[TARGET, 3, 0.01, 0.2, 1.9]])},
        dataset="d",
    )
    s = robustness.robustness_summary(grid).set_index("method")
    assert list(robustness.robustness_summary(grid).columns) == robustness.SUMMARY_COLUMNS
    assert list(s.index) == ["ora_up", "ora_down", "ora_all", "gsea"]
    a = s.loc["ora_all"]
    assert (a["cells"], a["ranked_cells"], a["best_rank"], a["worst_rank"], a["on_top_cells"]) == (6, 3, 1, 1, 3)
    assert a["share_on_top"] == pytest.approx(0.5) and "not ranked in 3 of 6" in a["note"]
    d = s.loc["ora_down"]
    assert d["ranked_cells"] == 0 and pd.isna(d["best_rank"]) and d["share_on_top"] == 0
    assert d["note"].startswith("never ranked")
    assert "inconclusive in 3 of 6 cell(s)" in a["note"]  # the cells without any DE gene
    g = s.loc["gsea"]
    assert (g["cells"], g["best_rank"], g["worst_rank"], g["share_on_top"]) == (1, 3, 3, 0.0)


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert float(img[..., :3].var()) > 0, f"{path} is blank"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".pathverdict-tmp.")], (
        "temporary file left behind"
    )


def test_heatmap_png_deterministic(planted_de, kegg, tmp_path):
    gsea = gsea_table([[TARGET, 4, 0.01, 0.2, 1.9]])
    grids = [
        robustness.robustness_grid(planted_de, {LIB: kegg}, TARGET, gsea_tables={LIB: gsea}, dataset=name)
        for name in ("planted_a", "planted_b")
    ]
    grid = pd.concat(grids, ignore_index=True)
    a, b = tmp_path / "a" / "robustness.png", tmp_path / "b.png"
    title = "Target pathway rank across DE thresholds, libraries, methods"  # the workflow's title (rule robustness)
    plots.robustness_heatmap(grid, a, title)
    plots.robustness_heatmap(grid, b, title)
    assert_png(a)
    assert a.read_bytes() == b.read_bytes()
    # file round trip: per-dataset grid TSVs -> combined grid, summary and the same picture
    paths = []
    for g in grids:
        paths.append(tmp_path / f"{g['dataset'].iloc[0]}.tsv")
        from pathverdict.util import write_tsv

        write_tsv(g, paths[-1])
    c_png = tmp_path / "c.png"
    combined, summary = combine_robustness(
        grids=[str(p) for p in paths],
        out_grid=str(tmp_path / "grid.tsv"),
        out_summary=str(tmp_path / "summary.tsv"),
        out_heatmap=str(c_png),
    )
    pd.testing.assert_frame_equal(combined, grid, check_exact=False, rtol=1e-5)
    assert len(summary) == 2 * 4 and (tmp_path / "summary.tsv").is_file()
    assert c_png.read_bytes() == a.read_bytes()
    # degenerate input still gives a picture
    plots.robustness_heatmap(grid.iloc[0:0], tmp_path / "empty.png", "empty")
    assert_png(tmp_path / "empty.png")


def test_grid_step_from_files(planted_de, kegg, tmp_path):
    from pathverdict.util import write_tsv

    de_path, gmt, gsea_path = tmp_path / "de.tsv", tmp_path / f"{LIB}.gmt", tmp_path / "gsea.tsv"
    write_tsv(planted_de, de_path)
    genesets.write_gmt(kegg, gmt)
    write_tsv(gsea_table([[TARGET, 1, 0.001, 0.01, 2.0]]), gsea_path)
    out = tmp_path / "out" / "grid.tsv"
    out.parent.mkdir()
    grid = robustness_grid(
        dataset="d",
        de=str(de_path),
        gmts=[str(gmt)],
        libraries=[LIB],
        target=TARGET,
        robustness={"padj": [0.05], "lfc": [0.0, 1.0]},
        enrichment={"ora_min_size": 10, "ora_max_size": 500},
        verdict_settings={"top_n": 1, "max_fdr": 0.05, "min_overlap": 3, "min_de_genes": 5},
        out_grid=str(out),
        gsea=str(gsea_path),
    )
    direct = robustness.robustness_grid(
        planted_de,
        {LIB: kegg},
        TARGET,
        padj_grid=[0.05],
        lfc_grid=[0.0, 1.0],
        gsea_tables={LIB: gsea_table([[TARGET, 1, 0.001, 0.01, 2.0]])},
        dataset="d",
    )
    pd.testing.assert_frame_equal(grid, direct, check_exact=False, rtol=1e-5)
    back = robustness.read_grid(out)
    assert list(back.columns) == robustness.GRID_COLUMNS and len(back) == 7
    assert back.iloc[-1]["on_top"] == "yes" and np.isnan(back.iloc[-1]["padj_threshold"])
