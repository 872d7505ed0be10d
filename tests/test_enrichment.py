"""Over-representation and GSEA: p-values, background, ranking, determinism, no network."""

import math
import socket

import numpy as np
import pandas as pd
import pytest

from pathverdict import enrichment


def hypergeom_upper_tail(x: int, population: int, successes: int, draws: int) -> float:
    """P(X >= x) for a hypergeometric variable, by exact counting."""
    total = math.comb(population, draws)
    return (
        sum(
            math.comb(successes, i) * math.comb(population - successes, draws - i)
            for i in range(x, min(successes, draws) + 1)
        )
        / total
    )


@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("enrichment tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def universe(n=200):
    return [f"G{i:03d}" for i in range(n)]


def test_ora_pvalue_matches_hand_computed_hypergeometric(no_network):
    bg = universe(200)
    sets = {
        "Target": bg[:20] + ["NOT_IN_BACKGROUND1", "NOT_IN_BACKGROUND2"],  # 20 genes in the background
        "Other": bg[100:130],
        "Tiny": bg[150:153],
    }
    query = bg[:8] + bg[100:102] + bg[190:200] + ["NOT_TESTED"]  # 20 query genes in the background
    res = enrichment.ora(query, bg, sets, "lib", min_size=5, max_size=500).set_index("term")
    # background = the 200 tested genes; query and sets reduced to it; Tiny (3 genes) is below min_size
    assert set(res.index) == {"Target", "Other"}
    t = res.loc["Target"]
    assert (t.overlap_size, t.set_size, t.query_size, t.background_size) == (8, 20, 20, 200)
    assert t.pvalue == pytest.approx(hypergeom_upper_tail(8, 200, 20, 20), rel=1e-9)
    o = res.loc["Other"]
    assert o.pvalue == pytest.approx(hypergeom_upper_tail(2, 200, 30, 20), rel=1e-9)
    # Benjamini-Hochberg over the two tested terms
    p = sorted([t.pvalue, o.pvalue])
    assert t.padj == pytest.approx(min(p[0] * 2, p[1]))
    assert o.padj == pytest.approx(p[1])
    assert t.overlap_genes == ";".join(sorted(bg[:8]))
    assert res["rank"].to_dict() == {"Target": 1, "Other": 2}


def test_ora_empty_query_gives_empty_table():
    out = enrichment.ora([], universe(), {"A": universe()[:20]}, "lib")
    assert out.empty and list(out.columns) == enrichment.ORA_COLUMNS


def test_competition_rank_ties():
    keys = pd.DataFrame({"p": [0.0, 0.0, 0.1, 0.2, 0.2, 0.3]})
    assert list(enrichment.competition_rank(keys)) == [1, 1, 3, 4, 4, 6]


def test_collapse_to_symbols_keeps_best_row():
    de = pd.DataFrame(
        {
            "gene_id": ["E1", "E2", "E3", "E4", "E5"],
            "symbol": pd.array(["A", "A", "B", None, "B"], dtype="string"),
            "baseMean": [10.0, 50.0, 5.0, 7.0, 9.0],
            "log2FoldChange": [1.0, -1.0, 0.5, 2.0, 0.1],
            "pvalue": [0.01, 0.001, np.nan, 0.5, 0.2],
            "padj": [0.05, 0.01, np.nan, 0.6, np.nan],
        }
    )
    g = enrichment.collapse_to_symbols(de)
    assert g.loc["A", "gene_id"] == "E2"  # smaller padj
    assert g.loc["B", "gene_id"] == "E5"  # both padj NA: the one with a p-value
    assert "E4" not in set(g["gene_id"])  # no symbol


def test_de_gene_lists_thresholds_and_background():
    g = pd.DataFrame(
        {
            "symbol": ["A", "B", "C", "D", "E"],
            "log2FoldChange": [2.0, -3.0, 0.2, 1.0, 5.0],
            "padj": [0.01, 0.001, 0.01, 0.2, np.nan],
        }
    ).set_index("symbol", drop=False)
    lists, bg = enrichment.de_gene_lists(g, padj=0.05, lfc=0.5)
    assert lists == {"up": ["A"], "down": ["B"], "all": ["A", "B"]}
    assert bg == ["A", "B", "C", "D"]  # E has no padj: not part of the background


def ranking():
    rng = np.random.default_rng(1)
    genes = universe(300)
    scores = rng.normal(size=300)
    scores[:25] += 4  # the first 25 genes are strongly up
    return pd.Series(scores, index=genes)


def test_gsea_finds_planted_set_and_is_deterministic(no_network):
    r = ranking()
    sets = {"Planted": list(r.index[:25]), "Random1": list(r.index[100:140]), "Random2": list(r.index[200:260])}
    a = enrichment.gsea(r, sets, "lib", min_size=15, max_size=500, permutations=200, seed=7, threads=1)
    b = enrichment.gsea(r, sets, "lib", min_size=15, max_size=500, permutations=200, seed=7, threads=1)
    pd.testing.assert_frame_equal(a, b)
    top = a.iloc[0]
    assert top.term == "Planted" and top["rank"] == 1 and top.nes > 0 and top.pvalue < 0.01
    assert set(a.columns) == set(enrichment.GSEA_COLUMNS)


def planted_saturating_study() -> tuple[pd.Series, dict[str, list[str]]]:
    """A ranking of 3,000 genes where several pathways saturate the permutation p-value.

    The target (15 genes, strong shift) has the largest |NES|; three larger pathways with a
    weak shift and 30 pathways without an effect. With 200 permutations the target and
    several others reach p = 0 (no permutation as extreme); with 1000 the target's p is
    resolved (> 0) while weaker but larger pathways still sit at 0.
    """
    rng = np.random.default_rng(1)
    genes = [f"G{i:04d}" for i in range(3000)]
    scores = rng.normal(size=len(genes))
    order = rng.permutation(len(genes))
    sets, pos = {}, 0
    for name, size, shift in [("Target", 15, 1.25), ("B", 150, 0.3), ("C", 120, 0.3), ("D", 100, -0.3)]:
        idx = order[pos : pos + size]
        pos += size
        scores[idx] += shift
        sets[name] = [genes[i] for i in idx]
    for k in range(30):
        idx = rng.choice(len(genes), int(rng.integers(15, 100)), replace=False)
        sets[f"R{k}"] = [genes[i] for i in idx]
    return pd.Series(scores, index=genes), sets


def test_gsea_rank_does_not_depend_on_the_permutation_count(no_network):
    r, sets = planted_saturating_study()
    runs = {
        n: enrichment.gsea(r, sets, "lib", min_size=15, max_size=500, permutations=n, seed=42, threads=1)
        for n in (200, 1000)
    }
    for n, t in runs.items():
        t = t.set_index("term")
        # the case is one that fools a p-value ranking: several pathways saturate at 200 permutations ...
        assert t["p_bound"].sum() >= (3 if n == 200 else 1), (n, t.head())
        # ... and the bound is stored as "p < 1/permutations", never as p = 0
        assert (t.loc[t["p_bound"], "pvalue"] == 1 / n).all() and (t["pvalue"] > 0).all()
        assert (t.loc[t["fdr_bound"], "fdr"] == 1 / n).all() and (t["fdr"] > 0).all()
        assert (t.loc[~t["p_bound"], "pvalue"] > 0).all()
        # rank = competition rank of |NES|
        assert list(t["rank"]) == sorted(t["rank"])
        assert t["nes"].abs().is_monotonic_decreasing
    assert bool(runs[200].set_index("term").loc["Target", "p_bound"])
    assert not bool(runs[1000].set_index("term").loc["Target", "p_bound"])
    # the old rule (nominal p, then FDR, then |NES|, with p = 0 for the saturated ones) moves the
    # target between 200 and 1000 permutations on this case ...
    old = {}
    for n, t in runs.items():
        k = (
            t.assign(
                p0=t["pvalue"].where(~t["p_bound"], 0.0), f0=t["fdr"].where(~t["fdr_bound"], 0.0), a=-t["nes"].abs()
            )
            .sort_values(["p0", "f0", "a", "term"])
            .reset_index(drop=True)
        )
        old[n] = int(k.index[k["term"] == "Target"][0]) + 1
    assert old[200] != old[1000], old
    # ... the |NES| rank does not: the target is on top with either count, and so are the next pathways
    ranks = {n: t.set_index("term")["rank"] for n, t in runs.items()}
    assert ranks[200]["Target"] == ranks[1000]["Target"] == 1
    assert list(runs[200]["term"][:3]) == list(runs[1000]["term"][:3])


def test_rank_gsea_bounds_and_ties():
    t = pd.DataFrame(
        {
            "library": "lib",
            "term": ["a", "b", "c", "d"],
            "term_id": "",
            "es": [0.5, -0.6, 0.6, 0.1],
            "nes": [1.5, -2.0, 2.0, np.nan],
            "pvalue": [0.0, 0.0, 0.004, 1.0],
            "fdr": [0.01, 0.0, 0.0, 1.0],
            "fwer": 0.0,
            "set_size": 20,
            "leading_edge": "",
        }
    )
    out = enrichment.rank_gsea(t, permutations=500)
    assert list(out.columns) == enrichment.GSEA_COLUMNS
    assert list(out["term"]) == ["b", "c", "a", "d"]  # |NES| 2.0 tie broken by term; missing NES last
    assert list(out["rank"]) == [1, 1, 3, 4]
    assert list(out["p_bound"]) == [True, False, True, False]
    assert list(out["pvalue"]) == [0.002, 0.004, 0.002, 1.0]
    assert list(out["fdr_bound"]) == [True, True, False, False]
    assert list(out["fdr"]) == [0.002, 0.002, 0.01, 1.0]


def test_ora_tests_every_usable_set_and_adjusts_over_all_of_them():
    """A set without any DE gene is tested too (p = 1) and counts in Benjamini-Hochberg: a
    single hit in a single set no longer gets FDR = p."""
    bg = universe(200)
    sets = {f"S{i}": bg[10 * i : 10 * i + 10] for i in range(20)}  # 20 usable sets of 10 genes
    res = enrichment.ora([bg[0]], bg, sets, "lib", min_size=10, max_size=500).set_index("term")
    assert len(res) == 20 and (res.drop(index="S0")["pvalue"] == 1).all()
    assert (res.drop(index="S0")["overlap_size"] == 0).all() and (res.drop(index="S0")["overlap_genes"] == "").all()
    p = hypergeom_upper_tail(1, 200, 10, 1)
    assert res.loc["S0", "pvalue"] == pytest.approx(p) and res.loc["S0", "padj"] == pytest.approx(min(1.0, 20 * p))
    assert res.loc["S0", "padj"] > res.loc["S0", "pvalue"]
    assert res.loc["S0", "rank"] == 1 and (res.drop(index="S0")["rank"] == 2).all()  # p = 1 ties share rank 2


def test_bh_adjust_by_hand():
    # sorted 0.01 0.03 0.04 0.5 1 -> p * 5 / rank = 0.05 0.075 0.0667 0.625 1 -> running minimum from the top
    # (R: p.adjust(c(0.01, 0.04, 0.03, 0.5, 1), "BH") = 0.05 0.0667 0.0667 0.625 1)
    out = enrichment.bh_adjust(np.array([0.01, 0.04, 0.03, 0.5, 1.0]))
    assert out == pytest.approx([0.05, 0.2 / 3, 0.2 / 3, 0.625, 1.0])


def test_hypergeom_sf_equals_scipy_bit_for_bit():
    """ORA's tail probability without importing scipy.stats: the same numbers as
    scipy.stats.hypergeom.sf, on the support, below it, above it, in ORA's sizes."""
    from scipy.stats import hypergeom

    rng = np.random.default_rng(11)
    n_cases = 0
    for M in (1, 2, 5, 20, 137, 4000, 12000, 20000):
        for _ in range(40):
            n = rng.integers(0, M + 1, 50)
            N = int(rng.integers(0, M + 1))
            k = rng.integers(-2, np.minimum(n, N) + 3)
            got = enrichment.hypergeom_sf(k, M, n, N)
            want = hypergeom.sf(k, M, n, N)
            assert np.array_equal(got, want), (M, N)
            n_cases += k.size
    assert n_cases == 8 * 40 * 50
    # ORA's call: P(X >= overlap) of query 300 among 12000, sets of 10-500 genes, every overlap
    m = np.repeat(np.arange(10, 501, 7), 12)
    k = np.concatenate([np.arange(12)] * (m.size // 12))
    assert np.array_equal(enrichment.hypergeom_sf(k - 1, 12000, m, 300), hypergeom.sf(k - 1, 12000, m, 300))
    # parameters outside its domain go to scipy.stats (NaN there)
    assert np.isnan(enrichment.hypergeom_sf(np.array([1]), 5, np.array([7]), 2)).all()


def test_collapse_to_symbols_shortcut_equals_the_pandas_sort():
    """Ties in padj, p and baseMean, missing values, empty and missing symbols, string and object
    symbol columns, any row index: the same frame as pandas' sort + drop_duplicates."""
    rng = np.random.default_rng(0)
    for t in range(200):
        n = int(rng.integers(1, 300))
        syms = np.array([f"S{int(i)}" for i in rng.integers(0, max(1, n // 3), n)], dtype=object)
        syms[rng.random(n) < 0.1] = ""
        de = pd.DataFrame(
            {
                "gene_id": [f"G{int(i):05d}" for i in rng.permutation(n)],
                "symbol": pd.array(syms, dtype="string"),
                "baseMean": np.round(rng.exponential(10, n), 0),
                "log2FoldChange": rng.normal(size=n),
                "stat": rng.normal(size=n),
                "pvalue": np.round(rng.random(n), 1),
                "padj": np.round(rng.random(n), 1),
            }
        )
        de.loc[rng.random(n) < 0.2, "padj"] = np.nan
        de.loc[rng.random(n) < 0.1, "pvalue"] = np.nan
        de.loc[rng.random(n) < 0.1, "symbol"] = pd.NA
        if t % 3 == 0:
            de["symbol"] = de["symbol"].astype(object)
        if t % 5 == 0:
            de.index = rng.permutation(n) + 100
        pd.testing.assert_frame_equal(
            enrichment.collapse_to_symbols(de), enrichment._collapse_with_pandas(de), check_exact=True
        )
    numeric_ids = pd.DataFrame(
        {"gene_id": [10, 9], "symbol": ["A", "A"], "baseMean": 1.0, "pvalue": 0.1, "padj": 0.1, "stat": [1.0, 2.0]}
    )
    assert enrichment.collapse_to_symbols(numeric_ids)["gene_id"].tolist() == [9]  # numeric order, as pandas
