"""Tests for pathverdict.report.plots: synthetic data only, no network, fast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib import image as mpimg

from pathverdict.report import plots
from pathverdict.report.plots.style import _place_labels
from pathverdict.errors import InputError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TARGET = "Mineral absorption"
TARGET_GENES = [f"SLC{i}A{i % 7 + 1}" for i in range(40)]


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert float(img[..., :3].var()) > 0, f"{path} is blank"
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".pathverdict-tmp.")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


# ----------------------------------------------------------------------------- data


def make_de(n=1500, seed=0, n_sig=120, target_genes=TARGET_GENES, shrunk=True):
    rng = np.random.default_rng(seed)
    lfc = rng.normal(0, 0.4, n)
    lfc[:n_sig] += rng.choice([-2.5, 2.5], n_sig)
    se = rng.uniform(0.15, 0.4, n)
    stat = lfc / se
    from math import erfc, sqrt

    pvalue = np.array([erfc(abs(z) / sqrt(2)) for z in stat])
    order = np.argsort(pvalue)
    ranked = pvalue[order] * n / np.arange(1, n + 1)
    padj_sorted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1)
    padj = np.empty(n)
    padj[order] = padj_sorted
    symbols = [f"GENE{i}" for i in range(n)]
    # target genes: some among the significant ones, some not
    for k, g in enumerate(target_genes):
        symbols[(k * 37) % n] = g
    de = pd.DataFrame(
        {
            "gene_id": [f"ENSG{i:011d}" for i in range(n)],
            "symbol": pd.array(symbols, dtype="string"),
            "baseMean": rng.lognormal(5, 2, n),
            "log2FoldChange": lfc,
            "lfcSE": se,
            "stat": stat,
            "pvalue": pvalue,
            "padj": padj,
        }
    )
    de.loc[5, "symbol"] = pd.NA
    de.loc[n - 3 :, "padj"] = np.nan  # independent filtering
    de.loc[n - 1, "baseMean"] = 0.0
    if shrunk:
        de["log2FoldChange_shrunk"] = de["log2FoldChange"] * 0.8
    return de


def make_vst(n_genes=400, per_group=3, seed=1, shift=3.0, n_diff=60):
    rng = np.random.default_rng(seed)
    names = [f"ctrl_{i + 1}" for i in range(per_group)] + [f"treat_{i + 1}" for i in range(per_group)]
    base = rng.normal(8, 2, (n_genes, 1))
    mat = base + rng.normal(0, 0.3, (n_genes, 2 * per_group))
    mat[:n_diff, per_group:] += shift
    vst = pd.DataFrame(mat, index=[f"ENSG{i:011d}" for i in range(n_genes)], columns=names)
    samples = pd.DataFrame(
        {
            "condition": ["control"] * per_group + ["treated"] * per_group,
            "batch": (["b1", "b2"] * per_group)[: 2 * per_group],
        },
        index=pd.Index(names, name="sample"),
    )
    return vst, samples


def make_ora(n=60, target_rank=3, seed=2):
    rng = np.random.default_rng(seed)
    p = np.sort(rng.uniform(0, 0.2, n) ** 3)
    terms = [f"Pathway number {i} with a moderately long KEGG name" for i in range(n)]
    if target_rank is not None:
        terms[target_rank - 1] = TARGET
    set_size = rng.integers(10, 300, n)
    overlap = np.minimum(set_size, rng.integers(1, 40, n))
    return pd.DataFrame(
        {
            "term": terms,
            "rank": np.arange(1, n + 1),
            "pvalue": p,
            "padj": np.minimum(1, p * 20),
            "odds_ratio": rng.uniform(1, 30, n),
            "overlap_size": overlap,
            "set_size": set_size,
            "overlap_genes": ["A;B;C"] * n,
        }
    )


def make_gsea(n=60, target_rank=37, seed=3):
    rng = np.random.default_rng(seed)
    p = np.sort(rng.uniform(0, 0.3, n) ** 2)
    terms = [f"Gene set {i}" for i in range(n)]
    if target_rank is not None:
        terms[target_rank - 1] = TARGET
    fdr = np.minimum(1, p * 10)
    fdr[0] = 0.0  # gseapy reports FDR 0 for the strongest sets
    return pd.DataFrame(
        {
            "term": terms,
            "rank": np.arange(1, n + 1),
            "nes": rng.normal(0, 1.8, n),
            "pvalue": p,
            "fdr": fdr,
            "set_size": rng.integers(15, 400, n),
            "leading_edge": ["A;B"] * n,
        }
    )


ORA_COLUMNS = ["term", "rank", "pvalue", "padj", "odds_ratio", "overlap_size", "set_size", "overlap_genes"]
GSEA_COLUMNS = ["term", "rank", "nes", "pvalue", "fdr", "set_size", "leading_edge"]


def make_heat(n_rows=12, n_cols=3, seed=4):
    rng = np.random.default_rng(seed)
    genes = [f"SLC{i}A1" for i in range(n_rows)]
    cols = [f"GSE{100000 + j}_tissue" for j in range(n_cols)]
    lfc = pd.DataFrame(rng.normal(0, 1.5, (n_rows, n_cols)), index=genes, columns=cols)
    padj = pd.DataFrame(rng.uniform(0, 0.2, (n_rows, n_cols)), index=genes, columns=cols)
    if n_rows > 2 and n_cols > 1:
        lfc.iloc[1, 0] = np.nan
        padj.iloc[1, 0] = np.nan
    return lfc, padj


# ----------------------------------------------------------------------------- PCA


def test_pca_coordinates_separates_planted_groups():
    vst, samples = make_vst()
    coords, var = plots.pca_coordinates(vst, n_top=500)
    assert list(coords.columns) == ["PC1", "PC2"]
    assert list(coords.index) == list(vst.columns)
    group = samples.loc[coords.index, "condition"]
    a, b = coords.loc[group == "control", "PC1"], coords.loc[group == "treated", "PC1"]
    assert (a.max() < b.min()) or (b.max() < a.min())
    assert var["pc1_var"] >= var["pc2_var"] >= 0
    assert var["pc1_var"] + var["pc2_var"] <= 1 + 1e-12
    assert var["pc1_var"] > 0.5


def test_pca_coordinates_matches_centered_svd_and_uses_top_genes():
    vst, _ = make_vst(n_genes=200)
    coords, var = plots.pca_coordinates(vst, n_top=50)
    top = vst.loc[vst.var(axis=1).sort_values(ascending=False).index[:50]]
    x = (top.T - top.T.mean()).to_numpy()
    s = np.linalg.svd(x, compute_uv=False)
    assert var["pc1_var"] == pytest.approx(s[0] ** 2 / (s**2).sum())
    assert np.abs(coords["PC1"]).to_numpy() @ np.ones(len(coords)) > 0
    # scores have the singular values as norms
    assert np.linalg.norm(coords["PC1"]) == pytest.approx(s[0])


def test_pca_coordinates_degenerate():
    vst, _ = make_vst()
    coords, var = plots.pca_coordinates(vst.iloc[:, :1], 500)
    assert np.isnan(var["pc1_var"]) and coords.isna().all().all()
    const = pd.DataFrame(1.0, index=["a", "b"], columns=["s1", "s2", "s3"])
    _, var = plots.pca_coordinates(const, 500)
    assert np.isnan(var["pc1_var"])
    two = vst.iloc[:, [0, 3]]
    _, var = plots.pca_coordinates(two, 500)
    assert var["pc1_var"] == pytest.approx(1.0) and var["pc2_var"] == pytest.approx(0.0, abs=1e-9)


def test_pca_plot_writes_png(tmp_path):
    vst, samples = make_vst()
    vst.iloc[3, 2] = np.nan  # a NaN gene is dropped
    out = tmp_path / "pca.png"
    res = plots.pca_plot(vst, samples, "condition", out, "Test PCA", shape_by="batch")
    assert set(res) == {"pc1_var", "pc2_var"}
    assert res["pc1_var"] >= res["pc2_var"] and res["pc1_var"] + res["pc2_var"] <= 1
    assert_png(out)


def test_pca_plot_two_per_group_and_small(tmp_path):
    vst, samples = make_vst(per_group=2)
    plots.pca_plot(vst, samples, "condition", tmp_path / "a.png", "2 per group")
    assert_png(tmp_path / "a.png")
    res = plots.pca_plot(vst.iloc[:, [0, 2]], samples.iloc[[0, 2]], "condition", tmp_path / "b.png", "2 samples")
    assert res["pc1_var"] == pytest.approx(1.0)
    assert_png(tmp_path / "b.png")
    res = plots.pca_plot(vst.iloc[:, :1], samples.iloc[:1], "condition", tmp_path / "c.png", "1 sample")
    assert np.isnan(res["pc1_var"])
    assert_png(tmp_path / "c.png")


def test_pca_plot_missing_covariate_and_unknown_sample(tmp_path):
    vst, samples = make_vst()
    with pytest.raises(InputError, match="not in the sample sheet"):
        plots.pca_plot(vst, samples, "tissue", tmp_path / "x.png", "x")
    # a sample missing from the sheet is shown as "NA"
    plots.pca_plot(vst, samples.iloc[:-1], "condition", tmp_path / "y.png", "NA level")
    assert_png(tmp_path / "y.png")


# ----------------------------------------------------------------------------- MA


def test_ma_plot(tmp_path):
    de = make_de()
    plots.ma_plot(de, 0.05, tmp_path / "ma.png", "MA plot")
    assert_png(tmp_path / "ma.png")


@pytest.mark.parametrize("case", ["no_sig", "all_nan", "empty", "nan_values", "no_symbol"])
def test_ma_plot_edge_cases(tmp_path, case):
    de = make_de()
    if case == "no_sig":
        de["padj"] = 0.9
    elif case == "all_nan":
        de["padj"] = np.nan
    elif case == "empty":
        de = de.iloc[:0]
    elif case == "nan_values":
        de.loc[::7, ["log2FoldChange", "baseMean", "pvalue"]] = np.nan
    elif case == "no_symbol":
        de = de.drop(columns="symbol").set_index("gene_id")
    out = tmp_path / f"ma_{case}.png"
    plots.ma_plot(de, 0.05, out, f"MA {case}")
    assert_png(out)


# ----------------------------------------------------------------------------- volcano


def test_pick_labels_caps_and_orders():
    de = make_de()
    picked = plots.pick_labels(de, TARGET_GENES, 15)
    assert len(picked) == 15
    assert set(picked["label"]) <= set(TARGET_GENES)
    padj = picked["padj"].to_numpy()
    assert np.all(np.diff(padj[np.isfinite(padj)]) >= 0)
    # the labelled ones are the most significant of the highlighted genes
    hl = de[de["symbol"].isin(TARGET_GENES)]
    assert picked["padj"].max() <= hl["padj"].sort_values().iloc[14]
    assert len(plots.pick_labels(de, TARGET_GENES, 0)) == 0
    assert len(plots.pick_labels(de, [], 15)) == 0
    assert len(plots.pick_labels(de, ["NOT_A_GENE"], 15)) == 0
    assert len(plots.pick_labels(de, TARGET_GENES[:3], 15)) == 3


def test_pick_labels_keeps_rows_of_the_input():
    de = make_de().iloc[::3]  # non-contiguous index
    picked = plots.pick_labels(de, TARGET_GENES, 15)
    assert set(picked.index) <= set(de.index)
    pd.testing.assert_series_equal(picked["padj"], de.loc[picked.index, "padj"])


def test_label_placement_avoids_overlaps():
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    fig, ax = plt.subplots(figsize=(5, 4), dpi=150)
    try:
        ax.set_xlim(-1, 1)
        ax.set_ylim(0, 10)
        xs = np.linspace(-0.1, 0.1, 12)  # a tight cluster of points
        items = [(x, 5.0, f"GENE{i}", x >= 0) for i, x in enumerate(xs)]
        texts = _place_labels(
            fig, ax, items, obstacles=[(x, 5.0) for x in xs], rng=np.random.default_rng(0), fontsize=7
        )
        renderer = fig.canvas.get_renderer()
        boxes = []
        for t in texts:  # the text itself, without its leader line
            t.update_positions(renderer)
            boxes.append(Text.get_window_extent(t, renderer))
        assert len(boxes) == len(items)
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert not boxes[i].overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())
    finally:
        plt.close(fig)


def test_pick_labels_symbol_fallback_and_nan():
    de = pd.DataFrame(
        {
            "gene_id": ["g1", "g2", "g3", "g4"],
            "symbol": pd.array(["A", pd.NA, "C", "D"], dtype="string"),
            "log2FoldChange": [1.0, -2.0, np.nan, 0.5],
            "pvalue": [0.01, 0.001, 0.01, 0.2],
            "padj": [0.02, np.nan, 0.03, 0.3],
        }
    )
    picked = plots.pick_labels(de, ["A", "g2", "C", "D"], 10)
    # C has no log2FC (not plottable); NA padj sorts last
    assert list(picked["label"]) == ["A", "D", "g2"]


def test_volcano_plot(tmp_path):
    de = make_de()
    de.loc[0, "pvalue"] = 0.0
    out = tmp_path / "volcano.png"
    plots.volcano_plot(de, 0.05, out, "Volcano", TARGET_GENES, TARGET, lfc_threshold=1.0)
    assert_png(out)


@pytest.mark.parametrize("case", ["no_sig", "all_nan", "no_target", "empty", "nan_values", "few_target"])
def test_volcano_edge_cases(tmp_path, case):
    de, hl = make_de(), TARGET_GENES
    if case == "no_sig":
        de["padj"] = 0.9
    elif case == "all_nan":
        de["padj"] = np.nan
    elif case == "no_target":
        hl = ["NOPE1", "NOPE2"]
    elif case == "empty":
        de = de.iloc[:0]
    elif case == "nan_values":
        de.loc[::5, ["log2FoldChange", "pvalue", "padj"]] = np.nan
    elif case == "few_target":
        hl = TARGET_GENES[:2]
    out = tmp_path / f"volcano_{case}.png"
    plots.volcano_plot(de, 0.05, out, f"Volcano {case}", hl, TARGET)
    assert_png(out)


# ----------------------------------------------------------------------------- enrichment


def test_enrichment_dotplot_all_methods(tmp_path):
    tables = {
        "ora_up": make_ora(target_rank=1),
        "ora_down": make_ora(target_rank=None, seed=5),
        "ora_all": make_ora(target_rank=12, seed=6),
        "gsea": make_gsea(target_rank=37),
    }
    out = tmp_path / "dot.png"
    plots.enrichment_dotplot(tables, out, "KEGG enrichment", TARGET)
    assert_png(out)


@pytest.mark.parametrize(
    "case", ["single", "empty_tables", "no_tables", "mixed_empty", "nan_padj", "inf_odds", "case_insensitive"]
)
def test_enrichment_dotplot_edge_cases(tmp_path, case):
    if case == "single":
        tables = {"gsea": make_gsea(target_rank=2)}
    elif case == "empty_tables":
        tables = {"ora_up": pd.DataFrame(columns=ORA_COLUMNS), "gsea": pd.DataFrame(columns=GSEA_COLUMNS)}
    elif case == "no_tables":
        tables = {}
    elif case == "mixed_empty":
        tables = {
            "ora_up": make_ora(n=4, target_rank=None),
            "ora_down": pd.DataFrame(columns=ORA_COLUMNS),
            "gsea": make_gsea(n=3, target_rank=3),
        }
    elif case == "nan_padj":
        t = make_ora(target_rank=20)
        t["padj"] = np.nan
        tables = {"ora_all": t}
    elif case == "inf_odds":
        t = make_ora(target_rank=2)
        t.loc[0, "odds_ratio"] = np.inf
        t.loc[1, "odds_ratio"] = np.nan
        tables = {"ora_all": t}
    else:
        t = make_ora(target_rank=15)
        t.loc[14, "term"] = "mineral ABSORPTION "
        tables = {"ora_up": t}
    out = tmp_path / f"dot_{case}.png"
    plots.enrichment_dotplot(tables, out, f"Dot {case}", TARGET, top_n=10)
    assert_png(out)


# ----------------------------------------------------------------------------- heatmap


@pytest.mark.parametrize("shape", [(12, 3), (60, 4), (8, 1), (1, 1)])
def test_target_heatmap_shapes(tmp_path, shape):
    lfc, padj = make_heat(*shape)
    out = tmp_path / f"heat_{shape[0]}x{shape[1]}.png"
    plots.target_heatmap(lfc, padj, 0.05, out, "Mineral absorption genes")
    assert_png(out)


def test_target_heatmap_edge_cases(tmp_path):
    lfc, padj = make_heat(10, 2)
    plots.target_heatmap(lfc.iloc[:0], padj.iloc[:0], 0.05, tmp_path / "none.png", "empty")
    assert_png(tmp_path / "none.png")
    plots.target_heatmap(lfc * np.nan, padj * np.nan, 0.05, tmp_path / "nan.png", "all NaN")
    assert_png(tmp_path / "nan.png")
    # padj with fewer rows / other column order is aligned, not an error
    plots.target_heatmap(lfc, padj.iloc[:5, ::-1], 0.05, tmp_path / "align.png", "aligned")
    assert_png(tmp_path / "align.png")
    plots.target_heatmap(lfc, padj + 1, 0.05, tmp_path / "nosig.png", "no sig")
    assert_png(tmp_path / "nosig.png")


# ----------------------------------------------------------------------------- determinism


def _render_all(d):
    d.mkdir()
    vst, samples = make_vst()
    de = make_de()
    plots.pca_plot(vst, samples, "condition", d / "pca.png", "PCA", shape_by="batch")
    plots.ma_plot(de, 0.05, d / "ma.png", "MA")
    plots.volcano_plot(de, 0.05, d / "volcano.png", "Volcano", TARGET_GENES, TARGET)
    plots.enrichment_dotplot({"ora_up": make_ora(), "gsea": make_gsea()}, d / "dot.png", "Dot", TARGET)
    lfc, padj = make_heat(20, 3)
    plots.target_heatmap(lfc, padj, 0.05, d / "heat.png", "Heat")
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_byte_identical_reruns(tmp_path):
    first = _render_all(tmp_path / "run1")
    second = _render_all(tmp_path / "run2")
    assert set(first) == {"pca.png", "ma.png", "volcano.png", "dot.png", "heat.png"}
    for name in first:
        assert first[name] == second[name], f"{name} differs between runs"


def test_overwrite_and_other_formats(tmp_path):
    de = make_de()
    out = tmp_path / "sub" / "ma.png"
    plots.ma_plot(de, 0.05, out, "MA")
    plots.ma_plot(de, 0.05, out, "MA")  # overwrite in place
    assert_png(out)
    svg1, svg2 = tmp_path / "a.svg", tmp_path / "b.svg"
    lfc, padj = make_heat(5, 2)
    plots.target_heatmap(lfc, padj, 0.05, svg1, "svg")
    plots.target_heatmap(lfc, padj, 0.05, svg2, "svg")
    assert svg1.read_bytes() == svg2.read_bytes()
    with pytest.raises(ValueError, match="unsupported"):
        plots.target_heatmap(lfc, padj, 0.05, tmp_path / "x.bmp", "bad")
