"""Sensitivity of the answer: without metallothioneins, leave one gene out, releases, directions.

Synthetic DE tables (every gene of the real KEGG_2021_Human library plus 4,000 genes in no
pathway as the tested background; the DE genes chosen per case) and the real libraries of
../shared/data. Each case is built so that the truth is known: a metallothionein-only
response, a broad response of the pathway, one gene that carries the answer. Fast (ORA only,
except one small GSEA re-run).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TARGET

from pathverdict.judgement import claims, sensitivity, verdict
from pathverdict import enrichment, genesets
from pathverdict.steps.enrichment import sensitivity_dataset
from pathverdict.steps.robustness import combine_sensitivity
from pathverdict.util import write_tsv
from study_claims import SARAYLOO

LIB = "KEGG_2021_Human"
SETTINGS = verdict.VerdictSettings()
# the config's `verdict` section that gives SETTINGS (with de.alpha)
VERDICT_CONFIG = {
    "top_n": SETTINGS.top_n,
    "max_fdr": SETTINGS.max_fdr,
    "primary": SETTINGS.primary,
    "genes": list(SETTINGS.genes),
    "gene_patterns": list(SETTINGS.gene_patterns),
}
# genes of the target that are in no other KEGG_2021_Human pathway's list of shared genes with Ferroptosis
FERROPTOSIS_SHARED = ["HMOX1", "FTH1", "FTL", "SLC40A1", "TF"]
NOPATH = [f"NOPATH{i}" for i in range(4000)]


@pytest.fixture(scope="module")
def kegg(shared):
    return genesets.read_library(shared / "genesets" / "KEGG_2021_Human.txt", LIB)


@pytest.fixture(scope="module")
def kegg2016(shared):
    return genesets.read_library(shared / "genesets" / "KEGG_2016.gmt", "KEGG_2016")


@pytest.fixture(scope="module")
def universe(kegg):
    return sorted(kegg.genes()) + NOPATH


def de_table(universe, up=(), down=(), seed=0) -> pd.DataFrame:
    """A DE table as the workflow writes it: ``up``/``down`` DE (padj 1e-4, |log2FC| 1.5),
    every other gene tested and not DE (padj >= 0.3, small fold changes)."""
    rng = np.random.default_rng(seed)
    n = len(universe)
    d = pd.DataFrame(
        {
            "gene_id": [f"ENSG{i:011d}" for i in range(n)],
            "symbol": pd.array(universe, dtype="string"),
            "baseMean": 200.0,
            "log2FoldChange": rng.normal(0, 0.1, n),
            "lfcSE": 0.2,
        }
    )
    d["pvalue"] = rng.uniform(0.2, 1.0, n)
    d["padj"] = np.minimum(1.0, d["pvalue"] + 0.1)
    idx = {g: i for i, g in enumerate(universe)}
    for genes, lfc in ((up, 1.5), (down, -1.5)):
        rows = [idx[g] for g in genes]
        d.loc[rows, "log2FoldChange"] = lfc
        d.loc[rows, "pvalue"] = 1e-6
        d.loc[rows, "padj"] = 1e-4
    d["stat"] = d["log2FoldChange"] / d["lfcSE"]
    return d[["gene_id", "symbol", "baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj"]]


def target_mts(kegg):
    return sorted(g for g in kegg.sets[TARGET] if g.startswith("MT"))


def noise(kegg, n, seed=1):
    """``n`` genes of the library outside the target (DE "elsewhere")."""
    outside = sorted(set(kegg.genes()) - set(kegg.sets[TARGET]))
    return list(np.random.default_rng(seed).choice(outside, n, replace=False))


def rows(table, variant, method="ora_all", library=LIB):
    t = table[(table["variant"] == variant) & (table["method"] == method) & (table["library"] == library)]
    assert len(t) == 1, (variant, method, library, table[["variant", "method", "library"]])
    return t.iloc[0]


def run(de, libs, **kw):
    return sensitivity.sensitivity(de, libs, TARGET, settings=kw.pop("settings", SETTINGS), dataset="ds", **kw)


# --------------------------------------------------------------------------- metallothioneins


def test_metallothionein_only_response_is_not_on_top_without_them(kegg, universe):
    """A co-regulated MT cluster (all 10 of the target's MTs up), one other pathway gene and
    150 DE genes elsewhere: the target is on top with its MTs, not without them."""
    mts = target_mts(kegg)
    assert len(mts) == 10
    elsewhere = noise(kegg, 150)
    de = de_table(universe, up=mts + ["SLC40A1"] + elsewhere[:75], down=elsewhere[75:])
    table = run(de, {LIB: kegg})
    assert list(table.columns) == sensitivity.COLUMNS
    base = rows(table, f"release:{LIB}")
    assert base["status"] == "on_top" and base["rank"] == 1
    w = rows(table, "without_metallothioneins")
    assert w["status"] != "on_top" and w["on_top"] == "no"
    assert w["rank"] > 1 or pd.isna(w["rank"])
    assert "MT2A" in w["detail"] and "with them: rank 1" in w["detail"]
    # up: the MTs are the whole up-regulated part of the pathway
    assert rows(table, f"release:{LIB}", "ora_up")["status"] == "on_top"
    assert rows(table, "without_metallothioneins", "ora_up")["status"] != "on_top"


def test_broad_response_stays_on_top_without_metallothioneins(kegg, universe):
    """20 non-MT genes of the pathway DE (up and down) plus 3 MTs and 150 elsewhere: still on top."""
    others = [g for g in sorted(kegg.sets[TARGET]) if not g.startswith("MT")]
    planted = others[::2][:20]
    elsewhere = noise(kegg, 150, seed=2)
    de = de_table(
        universe, up=planted[:14] + ["MT2A", "MT1X", "MT1E"] + elsewhere[:75], down=planted[14:] + elsewhere[75:]
    )
    table = run(de, {LIB: kegg})
    assert rows(table, f"release:{LIB}")["status"] == "on_top"
    w = rows(table, "without_metallothioneins")
    assert w["status"] == "on_top" and w["rank"] == 1
    assert "3 DE: MT1E, MT1X, MT2A" in w["detail"]


def test_metallothioneins_are_the_verdicts_protein_coding_pattern_matches(kegg, universe):
    """Pseudogenes (by gene type, or by name without one) are not removed; requested genes
    that are not MTs are not; MTs absent from the target are removed from the background."""
    extra = ["MT1P3", "MT1L", "MT1XP1"] + [g for g in ("MT3", "MT4") if g not in universe]
    de = de_table(universe + extra, up=["MT2A"])
    typed = pd.DataFrame({"gene_id": de["gene_id"], "symbol": de["symbol"], "gene_type": "protein-coding"})
    typed.loc[typed["symbol"].isin(["MT1P3", "MT1L", "MT1XP1"]), "gene_type"] = "pseudo"
    mts = sensitivity.metallothioneins(de, SETTINGS, typed)
    assert "MT1L" not in mts and "MT1P3" not in mts and "MT2A" in mts and "MT3" in mts
    assert "HMOX1" not in mts and "VDR" not in mts
    by_name = sensitivity.metallothioneins(de, SETTINGS, None)  # no gene type: pseudogenes by their names
    assert "MT1P3" not in by_name and "MT1XP1" not in by_name and "MT1L" in by_name
    # MT3 is not in the target: removed from the background only, and the detail counts it
    assert "MT3" not in kegg.sets[TARGET]
    table = run(de, {LIB: kegg}, input_genes=typed)
    w = rows(table, "without_metallothioneins")
    assert f"every metallothionein from the background ({len(mts)})" in w["detail"]
    # MT2A was the only DE gene: without it nothing is left to test, which is no answer
    assert w["status"] == "inconclusive" and "no DE genes" in w["detail"]


def test_without_metallothioneins_gsea_rerun(kegg, universe):
    """GSEA is re-run without the MTs with the same settings; the baseline comes from the
    workflow's GSEA table; with the re-run off the row says so instead of a status."""
    mts = target_mts(kegg)
    de = de_table(
        universe[:3000] + [g for g in kegg.sets[TARGET] if g not in universe[:3000]], up=mts + ["HMOX1"], seed=3
    )
    gs = enrichment.gsea(
        enrichment.collapse_to_symbols(de).set_index("symbol")["stat"], kegg.sets, LIB, kegg.ids, 15, 500, 100, 42
    )
    gsettings = enrichment.GseaSettings(15, 500, 100, 42, 1)
    table = run(de, {LIB: kegg}, gsea_tables={LIB: gs}, gsea=gsettings)
    base = rows(table, f"release:{LIB}", "gsea")
    hit = gs[gs["term"] == TARGET].iloc[0]
    assert base["rank"] == hit["rank"] and base["fdr"] == pytest.approx(hit["fdr"])
    w = rows(table, "without_metallothioneins", "gsea")
    assert w["status"] in verdict.STATUSES and "same permutations (100) and seed (42)" in w["detail"]
    # the MTs were the planted effect: without them the target falls back
    assert base["rank"] == 1 and (pd.isna(w["rank"]) or w["rank"] > base["rank"])
    off = run(de, {LIB: kegg}, gsea_tables={LIB: gs}, gsea=None)
    w_off = rows(off, "without_metallothioneins", "gsea")
    assert w_off["status"] == "not tested" and "sensitivity.gsea: false" in w_off["detail"]


# --------------------------------------------------------------------------- leave one out


def test_leave_one_out_names_the_gene_that_carries_the_answer(kegg):
    """The target shares 5 DE genes with Ferroptosis (41 genes) and has one of its own, VDR.
    With VDR, 6 hits in 60 beat 5 in 41; without it, 5 in 60 lose to 5 in 41. Without any
    shared gene both pathways lose one: the target stays on top. Only VDR is critical."""
    assert set(FERROPTOSIS_SHARED) <= set(kegg.sets[TARGET]) & set(kegg.sets["Ferroptosis"])
    assert "VDR" not in kegg.sets["Ferroptosis"]
    universe = sorted(kegg.genes()) + NOPATH
    de = de_table(universe, up=FERROPTOSIS_SHARED + ["VDR"] + NOPATH[:20])
    table = run(de, {LIB: kegg})
    assert rows(table, f"release:{LIB}")["status"] == "on_top"
    loo = table[table["variant"].str.startswith("leave_one_out:") & (table["method"] == "ora_all")]
    assert sorted(loo["variant"]) == sorted(f"leave_one_out:{g}" for g in FERROPTOSIS_SHARED + ["VDR"])
    assert sensitivity.critical_genes(table, "ds", LIB, "ora_all") == ["VDR"]
    vdr = rows(table, "leave_one_out:VDR")
    assert vdr["status"] == "not_on_top" and vdr["rank"] == 2 and vdr["detail"].startswith("critical: without VDR")
    assert rows(table, "leave_one_out:HMOX1")["detail"].startswith("not critical")
    # the removed gene stays in the background (it was tested): same number of ranked pathways
    assert (loo["n_terms"] == rows(table, f"release:{LIB}")["n_terms"]).all()
    assert "not on top without VDR" in sensitivity.sentence(table, "ds", LIB, "ora_all")


def test_leave_one_out_every_gene_critical_when_few(kegg, universe):
    """Three DE genes of the target, in no other pathway: the target stays first without any
    of them, but two hits no longer pass the FDR: each of the three is critical."""
    three = ["ATOX1", "CYBRD1", "TRPM6"]
    assert not any(g in s for t, s in kegg.sets.items() if t != TARGET for g in three)
    de = de_table(universe, up=three + NOPATH[:10])
    table = run(de, {LIB: kegg})
    assert rows(table, f"release:{LIB}")["status"] == "on_top"
    assert sensitivity.critical_genes(table, "ds", LIB, "ora_all") == three
    for g in three:
        r = rows(table, f"leave_one_out:{g}")
        assert r["status"] == "not_on_top" and r["rank"] == 1 and r["fdr"] > SETTINGS.max_fdr
        assert r["detail"].startswith(f"critical: without {g} the target is rank 1 of 311")


def test_no_leave_one_out_where_not_on_top(kegg, universe):
    de = de_table(universe, up=noise(kegg, 60, seed=4) + ["HMOX1"])
    table = run(de, {LIB: kegg})
    assert rows(table, f"release:{LIB}")["status"] != "on_top"
    assert not table["variant"].str.startswith("leave_one_out:").any()
    assert sensitivity.sentence(table, "ds", LIB, "ora_all").startswith(
        "sensitivity (ora_all, KEGG_2021_Human): without metallothioneins"
    )


# --------------------------------------------------------------------------- releases and direction


def test_release_rows_compare_libraries(kegg, kegg2016, universe):
    """A gene only KEGG_2021_Human has in the target (ATP2B2/3/4, SLC34A1) carries the answer there."""
    only21 = ["ATP2B2", "ATP2B3", "ATP2B4", "SLC34A1", "SLC34A3"]
    assert not set(only21) & set(kegg2016.sets[kegg2016.find(TARGET)])
    de = de_table(universe, up=only21 + ["HMOX1"] + NOPATH[:30])
    table = run(de, {LIB: kegg, "KEGG_2016": kegg2016})
    r21, r16 = rows(table, f"release:{LIB}"), rows(table, "release:KEGG_2016", library="KEGG_2016")
    assert r21["status"] == "on_top" and r16["status"] != "on_top"
    assert "the status differs between libraries" in r21["detail"] and "KEGG_2016" in r21["detail"]
    same = run(
        de_table(universe, up=["HMOX1", "VDR", "MT2A", "FTH1", "FTL", "TF"] + NOPATH[:30]),
        {LIB: kegg, "KEGG_2016": kegg2016},
    )
    assert "the same status in all 2 libraries" in rows(same, f"release:{LIB}")["detail"]


def test_direction_counts_and_genes(kegg, universe):
    up = ["HMOX1", "MT2A", "MT1X", "FTH1", "FTL", "TF", "SLC40A1"]
    down = ["VDR", "ATP1A1", "SLC5A1"]
    de = de_table(universe, up=up + NOPATH[:20], down=down + NOPATH[20:30])
    genes = enrichment.collapse_to_symbols(de)
    c = sensitivity.direction_counts(genes, kegg.sets[TARGET], 0.05, 0.0)
    assert c["n_up"] == 7 and c["n_down"] == 3 and c["down"] == sorted(down)
    assert sensitivity.direction_counts(genes, kegg.sets[TARGET], 0.05, 2.0)["n_up"] == 0  # |log2FC| 1.5 < 2
    table = run(de, {LIB: kegg})
    d = table[table["variant"] == "direction"]
    assert len(d) == 1 and d.iloc[0]["status"] == "shown" and d.iloc[0]["on_top"] == ""
    text = d.iloc[0]["detail"]
    assert "10 DE gene(s) (padj < 0.05), 7 up, 3 down" in text
    assert "HMOX1 up (log2FC 1.50)" in text and "VDR down (log2FC -1.50)" in text
    assert "MT2A up" in text and "2 up" in text  # MT2A, MT1X up; the other MTs not DE


def test_directions_across_cell_datasets():
    """HMOX1 up in both cell roles: same; VDR up / down: opposite; an MT DE only with
    over-expression; an untested call is never read as a direction; the null dataset is left out."""

    def g(ds, sym, status, lfc, reason="requested"):
        padj = 0.001 if status in ("up", "down") else (0.5 if status == "not DE" else np.nan)
        return {
            "dataset": ds,
            "symbol": sym,
            "gene_id": sym,
            "gene_type": "protein-coding",
            "reason": reason,
            "baseMean": 10.0,
            "log2FoldChange": lfc,
            "padj": padj,
            "status": status,
            "detail": "",
        }

    genes = pd.DataFrame(
        [
            g("oe", "HMOX1", "up", 1.0),
            g("ko", "HMOX1", "up", 0.8),
            g("nc", "HMOX1", "down", -1.0),
            g("oe", "VDR", "up", 1.0),
            g("ko", "VDR", "down", -0.7),
            g("oe", "MT2A", "up", 1.2, "pattern"),
            g("ko", "MT2A", "untested", np.nan, "pattern"),
            g("oe", "MT1X", "not DE", 0.1, "pattern"),
            g("ko", "MT1X", "not DE", -0.1, "pattern"),
            g("oe", "MT1P3", "up", 2.0, verdict.EXCLUDED),
            g("ko", "MT1P3", "up", 2.0, verdict.EXCLUDED),
            g("oe", "MT3", "untested", np.nan, "pattern"),
            g("ko", "MT3", "untested", np.nan, "pattern"),
        ]
    )
    roles = {"oe": "cells_overexpression", "ko": "cells_loss_of_function", "nc": "negative_control"}
    d = sensitivity.directions(genes, roles)
    assert list(d.columns) == sensitivity.DIRECTION_COLUMNS
    comp = dict(zip(d["gene"], d["comparison"]))
    assert set(comp) == {"HMOX1", "VDR", "MT2A", "MT1X"}  # pseudogene and never-tested MT3 left out
    assert set(d["dataset"]) == {"oe", "ko"}
    assert comp["HMOX1"].startswith("same direction (up")
    assert comp["VDR"] == "opposite directions (up with over-expression, down with loss of function)"
    assert comp["MT2A"] == "DE with over-expression only (up)"
    assert comp["MT1X"] == "not DE in any cell dataset"
    text = sensitivity.directions_sentence(d)
    assert (
        text.startswith("HMOX1: same direction") and "metallothioneins: DE with over-expression only (up): MT2A" in text
    )
    only_oe = sensitivity.directions(genes, {"oe": "cells_overexpression"})
    assert only_oe["comparison"].str.startswith("no loss of function dataset").all()


# --------------------------------------------------------------------------- files and claims


def test_files_and_claims_evidence(tmp_path, kegg, universe):
    """From the workflow's files to results/sensitivity.tsv, and one clause in the claims' evidence."""
    mts = target_mts(kegg)
    elsewhere = noise(kegg, 150)
    paths = {}
    for ds, up in (
        ("oe", mts + ["SLC40A1", "HMOX1"] + elsewhere[:75]),
        ("ko", ["HMOX1", "VDR", "FTH1", "FTL", "TF", "SLC40A1", "ATP1A1", "MT2A"] + elsewhere[:75]),
    ):
        de = de_table(universe, up=up, down=elsewhere[75:])
        write_tsv(de, tmp_path / f"{ds}_de.tsv")
        gmt = tmp_path / "kegg.gmt"
        genesets.write_gmt(kegg, gmt)
        paths[ds] = tmp_path / f"{ds}_sensitivity.tsv"
        sensitivity_dataset(
            dataset=ds,
            de=str(tmp_path / f"{ds}_de.tsv"),
            gmts=[str(gmt)],
            libraries=[LIB],
            target=TARGET,
            out_tsv=str(paths[ds]),
            verdict_settings=VERDICT_CONFIG,
            alpha=SETTINGS.alpha,
            enrichment={"padj": 0.05, "lfc": 0, "ora_min_size": 10, "ora_max_size": 500},
        )
    vrows, grows = [], []
    for ds in ("oe", "ko"):
        de = pd.read_csv(tmp_path / f"{ds}_de.tsv", sep="\t")
        genes = enrichment.collapse_to_symbols(de)
        lists, bg = enrichment.de_gene_lists(genes, 0.05, 0)
        tabs = {f"ora_{d}": enrichment.ora(lists[d], bg, kegg.sets, LIB, kegg.ids) for d in enrichment.DIRECTIONS}
        vrows.append(
            verdict.judge_dataset(ds, LIB, TARGET, "", tabs, {f"ora_{d}": len(v) for d, v in lists.items()}, SETTINGS)
        )
        grows.append(verdict.gene_status(ds, de, SETTINGS))
    write_tsv(pd.concat(grows, ignore_index=True), tmp_path / "verdict_genes.tsv")
    roles = {"oe": "cells_overexpression", "ko": "cells_loss_of_function"}
    table, dirs = combine_sensitivity(
        tables=[str(paths["oe"]), str(paths["ko"])],
        genes=str(tmp_path / "verdict_genes.tsv"),
        roles=roles,
        out_tsv=str(tmp_path / "sensitivity.tsv"),
        out_directions=str(tmp_path / "directions.tsv"),
    )
    back = sensitivity.read_sensitivity(tmp_path / "sensitivity.tsv")
    assert list(back.columns) == sensitivity.COLUMNS and len(back) == len(table)
    assert set(back["dataset"]) == {"oe", "ko"}
    # the verdict and the sensitivity's release rows agree (same functions, same numbers)
    v = pd.concat(vrows, ignore_index=True)
    for _, r in v.iterrows():
        s = rows(back[back["dataset"] == r["dataset"]], f"release:{LIB}", r["method"])
        assert s["status"] == r["status"] and (pd.isna(r["rank"]) or s["rank"] == r["rank"])
    assert rows(back[back["dataset"] == "oe"], "without_metallothioneins")["status"] != "on_top"
    assert rows(back[back["dataset"] == "ko"], "without_metallothioneins")["status"] == "on_top"
    dback = sensitivity.read_directions(tmp_path / "directions.tsv")
    assert set(dback["gene"]) >= {"HMOX1", "VDR", "MT2A"}
    ct = claims.evaluate(
        v,
        pd.concat(grows, ignore_index=True),
        roles,
        target=TARGET,
        claims=SARAYLOO,
        library=LIB,
        sensitivity=back,
        directions=dback,
    )
    ev = dict(zip(ct.loc[ct["claim"] == "cells", "dataset"], ct.loc[ct["claim"] == "cells", "evidence"]))
    assert "sensitivity (ora_all, KEGG_2021_Human): without metallothioneins rank" in ev["oe"]
    assert "not_on_top" in ev["oe"].split("without metallothioneins")[1].split(";")[0]
    assert "(shown, not judged)" in ev["ko"] and "directions in the cell datasets" in ev["ko"]
    # shown, never counted: the claims' answers are those without the sensitivity
    plain = claims.evaluate(v, pd.concat(grows, ignore_index=True), roles, target=TARGET, claims=SARAYLOO, library=LIB)
    assert list(plain["holds"]) == list(ct["holds"])
