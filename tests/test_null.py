"""Label-permutation null: relabelings (balanced, distinct, no identity / swap, capped and
seeded, stratified by batch) and run_null on tiny synthetic datasets (3 vs 3, 300 genes,
ORA only), a few seconds in all."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from conftest import TARGET

import tolerances as tol

from pathverdict import de, genesets
from pathverdict.de import rcompat as rc
from pathverdict.judgement import null
from pathverdict.util import write_tsv

LIB = "KEGG_2021_Human"
CONTRAST = ["condition", "Treated", "Control"]


def sheet(n_ctrl: int, n_trt: int, **extra) -> pd.DataFrame:
    names = [f"c{i + 1}" for i in range(n_ctrl)] + [f"t{i + 1}" for i in range(n_trt)]
    df = pd.DataFrame({"sample": names, "condition": ["Control"] * n_ctrl + ["Treated"] * n_trt, **extra})
    return df.set_index("sample")


def treated_of(lab: dict) -> frozenset:
    return frozenset(s for s, v in lab.items() if v == "Treated")


def check_balanced_distinct(labs, samples, contrast=CONTRAST):
    observed = {s: v for s, v in samples[contrast[0]].items() if v in contrast[1:]}
    n_t = sum(v == contrast[1] for v in observed.values())
    sets = [treated_of(lab) for lab in labs]
    for lab in labs:
        assert list(lab) == list(observed)  # the compared samples, sheet order
        assert Counter(lab.values()) == Counter(observed.values())  # balanced
        assert lab != observed  # never the observed labelling
    assert len(set(sets)) == len(sets)  # distinct
    obs_t = frozenset(s for s, v in observed.items() if v == contrast[1])
    if 2 * n_t == len(observed):  # equal groups: no exact swap, and at most one of each swap pair
        complement = {s: (contrast[2] if v == contrast[1] else contrast[1]) for s, v in observed.items()}
        assert complement not in labs
        everyone = frozenset(observed)
        assert not any(everyone - s in set(sets) for s in sets)
    return obs_t


def test_three_vs_three_gives_nine_relabelings():
    samples = sheet(3, 3)
    labs = null.relabelings(samples, CONTRAST, max_permutations=1000, seed=1)
    assert len(labs) == math.comb(6, 3) // 2 - 1 == 9
    assert null.relabeling_count(samples, CONTRAST) == 9
    check_balanced_distinct(labs, samples)
    # representatives keep the first compared sample's label (c1 stays Control)
    assert all(lab["c1"] == "Control" for lab in labs)
    assert labs == null.relabelings(samples, CONTRAST, max_permutations=1000, seed=99)  # exhaustive: seed unused
    assert null.format_relabeling(labs[0], CONTRAST) == "Treated=c2,c3,t1"
    # a `sample` column works as well as the index
    assert null.relabelings(samples.reset_index(), CONTRAST, max_permutations=1000, seed=1) == labs


def test_selection_aware_relabelings_keep_both_of_each_swap_pair():
    """Selecting within the tested group breaks the swap symmetry: every labelling but the observed one."""
    samples = sheet(3, 3)
    labs = null.relabelings(samples, CONTRAST, max_permutations=1000, seed=1, swap_pairs=False)
    assert len(labs) == null.relabeling_count(samples, CONTRAST, swap_pairs=False) == math.comb(6, 3) - 1
    sets = [treated_of(lab) for lab in labs]
    assert len(set(sets)) == len(sets) and frozenset({"t1", "t2", "t3"}) not in sets
    assert frozenset({"c1", "c2", "c3"}) in sets  # the exact swap is a relabeling of its own


def test_unequal_groups_keep_swaps_out_by_balance():
    samples = sheet(2, 4)
    labs = null.relabelings(samples, CONTRAST, max_permutations=1000, seed=1)
    assert len(labs) == math.comb(6, 2) - 1  # no swap pairs: a swap would not be balanced
    check_balanced_distinct(labs, samples)


def test_other_samples_and_covariates_untouched():
    samples = sheet(3, 3, age=[30, 31, 32, 33, 34, 35])
    other = pd.DataFrame(
        {"condition": ["Other", "Other"], "age": [50, 51]}, index=pd.Index(["o1", "o2"], name="sample")
    )
    samples = pd.concat([samples.iloc[:2], other.iloc[:1], samples.iloc[2:], other.iloc[1:]])
    labs = null.relabelings(samples, CONTRAST, max_permutations=1000, seed=1)
    assert len(labs) == 9 and all("o1" not in lab and "o2" not in lab for lab in labs)
    relabelled = null.apply_relabeling(samples, CONTRAST, labs[3])
    assert list(relabelled.index) == list(samples.index)
    assert relabelled.loc[["o1", "o2"], "condition"].tolist() == ["Other", "Other"]
    assert relabelled["age"].tolist() == samples["age"].tolist()
    assert Counter(relabelled["condition"]) == Counter(samples["condition"])
    assert samples.loc["c1", "condition"] == "Control"  # the input is not modified


def test_large_designs_are_capped_and_seeded():
    for n in (10, 20):  # C(20,10)/2-1 = 92377 (enumerated, then sampled); C(40,20)/2-1 (drawn at random)
        samples = sheet(n, n)
        assert null.relabeling_count(samples, CONTRAST) == math.comb(2 * n, n) // 2 - 1
        a = null.relabelings(samples, CONTRAST, max_permutations=200, seed=11)
        b = null.relabelings(samples, CONTRAST, max_permutations=200, seed=11)
        c = null.relabelings(samples, CONTRAST, max_permutations=200, seed=12)
        assert len(a) == 200 and a == b and a != c
        assert {treated_of(x) for x in a} != {treated_of(x) for x in c}
        check_balanced_distinct(a, samples)
    with pytest.raises(ValueError):
        null.relabelings(sheet(3, 3), CONTRAST, max_permutations=0, seed=1)


def test_batch_stratified_permutation_keeps_batch_composition():
    batch = ["b1", "b2", "b3", "b1", "b2", "b3", "b1", "b2", "b3", "b1", "b2", "b3"]
    samples = sheet(6, 6, batch=batch)  # every batch: 2 Control + 2 Treated
    key = null.permutation_strata(samples, CONTRAST, ["batch"])
    assert key is not None and key.tolist() == batch
    labs = null.relabelings(samples, CONTRAST, max_permutations=10_000, seed=1, strata=["batch"])
    # C(4,2)^3 = 216 within-batch labellings, 108 swap pairs, minus the observed pair
    assert len(labs) == null.relabeling_count(samples, CONTRAST, "batch") == 107
    check_balanced_distinct(labs, samples)
    observed = Counter(zip(samples["batch"], samples["condition"]))
    for lab in labs:
        assert Counter((samples.loc[s, "batch"], v) for s, v in lab.items()) == observed
    # free permutation mixes batches
    free = null.relabelings(samples, CONTRAST, max_permutations=10_000, seed=1)
    assert len(free) == math.comb(12, 6) // 2 - 1
    assert any(Counter((samples.loc[s, "batch"], v) for s, v in lab.items()) != observed for lab in free)
    # a batch with one group only: within-batch permutation is impossible -> free permutation
    lopsided = sheet(3, 3, batch=["b1", "b1", "b2", "b2", "b2", "b2"])
    assert null.permutation_strata(lopsided, CONTRAST, "batch") is None
    assert null.relabeling_count(lopsided, CONTRAST, "batch") == 9


# ----------------------------------------------------------------------------- run_null


@pytest.fixture(scope="module")
def kegg(shared):
    return {LIB: genesets.read_library(shared / "genesets" / "KEGG_2021_Human.txt", LIB)}


PARAMS = de.DEParams(design="~condition", contrast=CONTRAST)
# the config's `de` section that gives PARAMS (the workflow's steps build DEParams from it)
DE_SETTINGS = {
    "alpha": 0.05,
    "prefilter": {"min_count": 0, "min_samples": None},
    "independent_filtering": True,
    "cooks_filter": True,
    "shrinkage": False,
}
ENRICHMENT = {"padj": 0.05, "lfc": 0.0, "ora_min_size": 10, "ora_max_size": 500}


def observed_verdict(ds, libraries, methods, name) -> pd.DataFrame:
    """The observed verdict rows, as the workflow computes them."""
    table = null._de_table(ds.counts, ds.samples.set_index("sample"), PARAMS, pd.Series(ds.symbols))
    ranks = null.target_ranks(table, libraries, TARGET, methods=methods, enrichment_cfg=ENRICHMENT)
    return ranks.assign(dataset=name)


def test_run_null_planted_and_null(make_dataset, kegg):
    """3 vs 3: no relabeling gives a DE gene, so the rank-based null is uninformative (no p),
    while the set score is defined under every relabeling."""
    methods = ("ora_all", "ora_up")
    planted = make_dataset("planted")
    obs = observed_verdict(planted, kegg, methods, "planted")
    assert obs["rank"].tolist() == [1, 1]
    perms, summary = null.run_null(
        planted.counts,
        planted.samples,
        PARAMS,
        kegg,
        TARGET,
        obs,
        symbols=pd.Series(planted.symbols),
        methods=methods,
        enrichment_cfg=ENRICHMENT,
        max_permutations=100,
        seed=1,
    )
    assert list(perms.columns) == null.PERMUTATION_COLUMNS and list(summary.columns) == null.SUMMARY_COLUMNS
    assert len(perms) == 9 * (1 + len(methods)) and perms["de_ok"].all()
    assert perms["permutation"].nunique() == 9 and (perms["dataset"] == "planted").all()
    assert perms["relabeling"].str.match(r"^Treated=(ctrl|trt)\d(,(ctrl|trt)\d){2}$").all()
    assert set(perms["moved"]) <= {2, 4} and (perms["n_samples"] == 6).all()
    ora = perms[perms["method"] != null.SET_SCORE]
    assert (ora["de_genes"] == 0).all() and ora["rank"].isna().all()  # the premise: no DE gene under relabeling
    s = summary.set_index("method")
    assert list(s.index) == [null.SET_SCORE, *methods] and (s["selection_aware"] == "no").all()
    for m in methods:
        r = s.loc[m]
        assert (r["n_permutations"], r["n_possible"], r["exhaustive"], r["failed"]) == (9, 9, True, 0)
        assert r["observed_rank"] == r["observed"] == 1 and r["n_defined"] == 0 and r["statistic"] == "rank"
        assert r["informative"] == "no" and pd.isna(r["empirical_p"]) and pd.isna(r["n_as_extreme"])
        assert r["note"].startswith("uninformative: none of the 9 relabelings produced a DE gene")
        assert "no evidence for the observed rank" in r["note"]
    score = s.loc[null.SET_SCORE]
    assert score["informative"] == "yes" and score["n_defined"] == 9 and score["statistic"] == "abs_stat_z"
    assert score["observed"] > 3  # most target genes planted up
    null_scores = perms.loc[perms["method"] == null.SET_SCORE, "statistic"]
    assert (null_scores < score["observed"]).all() and score["n_as_extreme"] == 0
    assert score["empirical_p"] == pytest.approx(0.1) and score["min_p"] == pytest.approx(0.1)
    assert "smallest attainable p is 1/(1+9) = 0.1 > 0.05, so this test cannot reach significance" in score["note"]
    assert "swap" in score["note"] and score["target"] == TARGET

    # no planted effect: the target does not stand out; not ranked in the observed data = nothing to test
    flat = make_dataset("flat", effect=False, seed=8)
    obs = observed_verdict(flat, kegg, methods, "flat")
    perms, summary = null.run_null(
        flat.counts,
        flat.samples,
        PARAMS,
        kegg,
        TARGET,
        obs,
        symbols=pd.Series(flat.symbols),
        methods=methods,
        enrichment_cfg=ENRICHMENT,
        max_permutations=100,
        seed=1,
    )
    assert (summary["n_permutations"] == 9).all()
    s = summary.set_index("method")
    assert s.loc[null.SET_SCORE, "informative"] == "yes" and s.loc[null.SET_SCORE, "empirical_p"] > 0.1
    for m in methods:
        assert s.loc[m, "informative"] == "no" and pd.isna(s.loc[m, "empirical_p"])
        assert "the target is not ranked in the observed data" in s.loc[m, "note"]


def test_set_score_is_two_sided_competitive_and_standardised():
    genes = [f"G{i}" for i in range(100)]
    stat = np.linspace(-3, 3, 100)
    table = pd.DataFrame(
        {
            "gene_id": genes,
            "symbol": genes,
            "baseMean": 100.0,
            "log2FoldChange": stat / 3,
            "lfcSE": 0.3,
            "stat": stat,
            "pvalue": 0.5,
            "padj": 0.9,
        }
    )
    extreme_up, extreme_down = genes[-10:], genes[:10]
    z_up, k, n = null.set_score(table, extreme_up + ["NOT_THERE"])
    assert (k, n) == (10, 100) and z_up > 3
    assert null.set_score(table, extreme_down)[0] == pytest.approx(z_up)  # two-sided
    assert null.set_score(table, extreme_up[:5] + extreme_down[:5])[0] == pytest.approx(z_up)  # mixed too
    a = np.abs(stat)
    want = (a[-10:].mean() - a.mean()) / (a.std() * np.sqrt((100 - 10) / (10 * 99)))
    assert z_up == pytest.approx(want)
    assert null.set_score(table, genes[45:55])[0] < -1  # the least changed genes score low
    # genes without a p-value (Cook's outliers) are left out; no gene of the set: undefined
    z, k, n = null.set_score(table.assign(pvalue=[np.nan] * 5 + [0.5] * 95), extreme_down)
    assert (k, n) == (5, 95)
    assert np.isnan(null.set_score(table, ["X", "Y"])[0])


def test_target_ranks_match_direct_enrichment(make_dataset, kegg):
    """target_ranks (used for every relabeling) runs ORA and GSEA exactly like the workflow."""
    from pathverdict import enrichment
    from pathverdict.judgement import verdict

    ds = make_dataset("planted")
    table = null._de_table(ds.counts, ds.samples.set_index("sample"), PARAMS, pd.Series(ds.symbols))
    cfg = {"gsea_permutations": 20, "seed": 3, "gsea_min_size": 15}
    ranks = null.target_ranks(table, kegg, TARGET, methods=("ora_down", "gsea"), enrichment_cfg=cfg).set_index("method")
    genes = enrichment.collapse_to_symbols(table)
    lists, background = enrichment.de_gene_lists(genes, 0.05, 0.0)
    lib = kegg[LIB]
    g = enrichment.gsea(genes.set_index("symbol")["stat"], lib.sets, LIB, lib.ids, 15, 500, 20, 3)
    want = verdict.judge_method(g, "gsea", TARGET, verdict.VerdictSettings(), None)
    assert ranks.loc["gsea", "rank"] == want["rank"] and ranks.loc["gsea", "fdr"] == want["fdr"]
    o = enrichment.ora(lists["down"], background, lib.sets, LIB, lib.ids)
    want = verdict.judge_method(o, "ora_down", TARGET, verdict.VerdictSettings(), len(lists["down"]))
    assert pd.isna(ranks.loc["ora_down", "rank"]) and ranks.loc["ora_down", "note"] == want["note"]
    with pytest.raises(ValueError, match="unknown method"):
        null.target_ranks(table, kegg, TARGET, methods=("ora_sideways",))


def test_null_from_files_keeps_a_dataset_named_null(make_dataset, kegg, tmp_path):
    """A dataset called `null` (or NA, None, nan) keeps its name through the files and results/null.tsv."""
    from pathverdict.steps.robustness import combine_null, null_permutations

    ds = make_dataset("planted")
    gmt = tmp_path / f"{LIB}.gmt"
    genesets.write_gmt(kegg[LIB], gmt)
    genes = tmp_path / "gene_ids.tsv"
    write_tsv(pd.DataFrame({"gene_id": list(ds.symbols), "symbol": list(ds.symbols.values())}), genes)
    # the verdict of three datasets: only this dataset's rows are used, however its name reads
    obs = observed_verdict(ds, kegg, ("ora_all",), "null")
    verdict_path = tmp_path / "verdict.tsv"
    write_tsv(pd.concat([obs, obs.assign(dataset="NA", rank=50), obs.assign(dataset="other", rank=50)]), verdict_path)
    summaries = []
    for name in ("null", "NA"):
        out_p, out_s = tmp_path / name / "permutations.tsv", tmp_path / name / "summary.tsv"
        out_p.parent.mkdir(parents=True, exist_ok=True)
        _, summary = null_permutations(
            dataset=name,
            dataset_config={"design": PARAMS.design, "contrast": PARAMS.contrast},
            counts=str(ds.counts_path),
            samples=str(ds.samples_path),
            genes=str(genes),
            verdict=str(verdict_path),
            gmt=str(gmt),
            library=LIB,
            target=TARGET,
            de=DE_SETTINGS,
            enrichment=ENRICHMENT,
            verdict_settings={"top_n": 1, "max_fdr": 0.05},
            null_settings={"methods": ["ora_all"], "max_permutations": 4, "seed": 5},
            out_permutations=str(out_p),
            out_summary=str(out_s),
        )
        summaries.append(out_s)
        assert out_p.is_file() and (pd.read_csv(out_p, sep="\t", keep_default_na=False)["dataset"] == name).all()
        back = null.read_summary(out_s).set_index("method")
        assert (back["dataset"] == name).all() and back.loc["ora_all", "observed_rank"] == (1 if name == "null" else 50)
        assert back.loc["ora_all", "n_permutations"] == 4 and back.loc["ora_all", "n_possible"] == 9
        assert not back.loc["ora_all", "exhaustive"] and "random sample of 4 of 9" in back.loc["ora_all", "note"]
        assert back.loc[null.SET_SCORE, "informative"] == "yes"
        assert back.loc[null.SET_SCORE, "empirical_p"] == pytest.approx(1 / 5)
    assert summary.set_index("method").loc["ora_all", "rerun_rank"] == 1
    table = combine_null(
        summaries=[str(p) for p in summaries],
        out_summary=str(tmp_path / "null.tsv"),
        out_html=str(tmp_path / "null.html"),
    )
    assert table["dataset"].tolist() == ["null", "null", "NA", "NA"]
    back = null.read_summary(tmp_path / "null.tsv")
    assert back["dataset"].tolist() == ["null", "null", "NA", "NA"]
    assert back.loc[back["method"] == "ora_all", "informative"].tolist() == ["no", "no"]
    assert back.loc[back["method"] == "ora_all", "empirical_p"].isna().all()  # written empty, read back empty
    assert "uninformative" in (tmp_path / "null.html").read_text()


def test_observed_checked_against_rerun_and_batch_design(make_dataset, kegg):
    ds = make_dataset("planted")
    symbols = pd.Series(ds.symbols)
    stale = observed_verdict(ds, kegg, ("ora_all",), "planted").assign(rank=5)
    _, s = null.run_null(
        ds.counts,
        ds.samples,
        PARAMS,
        kegg,
        TARGET,
        stale,
        symbols=symbols,
        methods=("ora_all",),
        enrichment_cfg=ENRICHMENT,
        max_permutations=2,
        seed=1,
    )
    r = s.set_index("method").loc["ora_all"]
    assert r["observed_rank"] == 5 and r["rerun_rank"] == 1 and "WARNING: re-running" in r["note"]
    # observed=None: the observed ranks come from the re-run
    _, s = null.run_null(
        ds.counts,
        ds.samples,
        PARAMS,
        kegg,
        TARGET,
        None,
        symbols=symbols,
        methods=("ora_all",),
        enrichment_cfg=ENRICHMENT,
        max_permutations=2,
        seed=1,
        dataset="planted",
    )
    r = s.set_index("method")
    assert r.loc["ora_all", "observed_rank"] == 1 and not r["note"].str.contains("WARNING").any()
    assert r.loc[null.SET_SCORE, "empirical_p"] == pytest.approx(1 / 3)
    # ~batch + condition: labels move within batches (b1: 2 Control + 1 Treated, b2: 1 + 2)
    samples = ds.samples.assign(batch=["b1", "b1", "b2", "b1", "b2", "b2"])
    params = de.DEParams(design="~batch + condition", contrast=CONTRAST)
    perms, s = null.run_null(
        ds.counts,
        samples,
        params,
        kegg,
        TARGET,
        None,
        symbols=symbols,
        methods=("ora_all",),
        enrichment_cfg=ENRICHMENT,
        max_permutations=100,
        seed=1,
    )
    r = s.set_index("method").loc["ora_all"]
    assert r["scheme"] == "labels permuted within batch levels"
    assert r["n_possible"] == r["n_permutations"] == 3 * 3 - 1 and r["failed"] == 0  # no swap pairs: 2+1 vs 1+2
    assert "swap" not in r["note"] and r["observed_rank"] == 1
    batch = samples.set_index("sample")["batch"]
    for text in perms["relabeling"]:
        treated = text.removeprefix("Treated=").split(",")
        assert Counter(batch[treated]) == Counter({"b1": 1, "b2": 2})
    # a batch without Treated samples: free permutation; the relabeling that makes condition a
    # combination of batches (Treated = all of b3) cannot be fitted and is left out, not counted as worse
    samples = ds.samples.assign(batch=["b1", "b2", "b3", "b2", "b3", "b3"])
    perms, s = null.run_null(
        ds.counts,
        samples,
        params,
        kegg,
        TARGET,
        None,
        symbols=symbols,
        methods=("ora_all",),
        enrichment_cfg=ENRICHMENT,
        max_permutations=100,
        seed=1,
    )
    r = s.set_index("method").loc[null.SET_SCORE]
    assert r["scheme"].startswith("labels permuted among the compared samples (not within batch")
    assert (r["n_possible"], r["n_permutations"], r["failed"]) == (9, 8, 1)
    assert r["min_p"] == pytest.approx(1 / 9) and "1 relabeling(s) left out" in r["note"]
    bad = perms[~perms["de_ok"]]
    assert set(bad["relabeling"]) == {"Treated=ctrl3,trt2,trt3"} and bad["note"].str.startswith("failed").all()


def test_fresh_run_reproduces_the_verdicts_gsea(make_dataset, kegg, tmp_path):
    """The null re-runs GSEA with the verdict's own permutations and seed: on the observed labels
    it reproduces the verdict's rank, so a fresh run never says "stale results?"."""
    from pathverdict.io import load_prepared_library, read_enrichment
    from pathverdict.steps.enrichment import run_gsea

    ds = make_dataset("planted")
    gmt = tmp_path / f"{LIB}.gmt"
    genesets.write_gmt(kegg[LIB], gmt)
    table = null._de_table(ds.counts, ds.samples.set_index("sample"), PARAMS, pd.Series(ds.symbols))
    de_path = tmp_path / "de.tsv"
    write_tsv(table, de_path)
    cfg = {"enrichment": {**null.ENRICHMENT_DEFAULTS, "gsea_permutations": 30, "seed": 11, "gsea_min_size": 5}}
    run_gsea(  # the workflow's GSEA
        dataset="planted",
        enrichment=cfg["enrichment"],
        de=str(de_path),
        libraries=[LIB],
        gmts=[str(gmt)],
        out_gsea=str(tmp_path / "gsea.tsv"),
    )
    gsea = read_enrichment(str(tmp_path / "gsea.tsv"))
    from pathverdict.judgement import verdict

    row = verdict.judge_method(gsea, "gsea", TARGET, verdict.VerdictSettings(), None)
    observed = pd.DataFrame([{"dataset": "planted", "library": LIB, **row}])
    lib = load_prepared_library(str(gmt), LIB)
    _, s = null.run_null(
        ds.counts,
        ds.samples,
        PARAMS,
        {LIB: lib},
        TARGET,
        observed,
        symbols=pd.Series(ds.symbols),
        methods=("gsea",),
        enrichment_cfg=cfg["enrichment"],
        max_permutations=2,
        seed=1,
        dataset="planted",
    )
    r = s.set_index("method").loc["gsea"]
    assert r["observed_rank"] == r["rerun_rank"] == row["rank"] and "WARNING" not in r["note"]
    assert r["informative"] == "yes" and r["n_defined"] == 2  # GSEA ranks the target under every relabeling
    # with other GSEA settings (as the old null.gsea_permutations did) the rank can differ: then it is flagged
    other = {**cfg["enrichment"], "gsea_permutations": 10, "seed": 2}
    ranks = null.target_ranks(table, {LIB: lib}, TARGET, methods=("gsea",), enrichment_cfg=other)
    if ranks.loc[0, "rank"] != row["rank"]:
        _, s = null.run_null(
            ds.counts,
            ds.samples,
            PARAMS,
            {LIB: lib},
            TARGET,
            observed,
            symbols=pd.Series(ds.symbols),
            methods=("gsea",),
            enrichment_cfg=other,
            max_permutations=1,
            seed=1,
        )
        assert "stale results?" in s.set_index("method").loc["gsea", "note"]


def test_removed_null_gsea_permutations_says_what_to_do():
    from pathverdict.config import validate_config
    from pathverdict.errors import InputError

    cfg = {
        "datasets": {
            "d": {"counts": "c.tsv", "samples": "s.tsv", "design": "~condition", "contrast": ["condition", "T", "C"]}
        },
        "genesets": "k.gmt",
        "target_pathway": TARGET,
        "annotation": "a.tsv",
        "null": {"gsea_permutations": 200},
    }
    with pytest.raises(InputError) as err:
        validate_config(cfg, source="my.yaml")
    msg = str(err.value)
    assert "null.gsea_permutations: this key is no longer supported" in msg
    assert "enrichment.gsea_permutations" in msg and "remove" in msg


@pytest.mark.e2e
def test_workflow_null_named_dataset_selection_and_no_stale_warning(
    make_dataset, write_config, snakemake_run, tmp_path
):
    """Through Snakemake: a dataset called `null` keeps its name in results/null.tsv; a fresh run
    (ORA and GSEA re-run in the null with the verdict's settings) has no "stale results?"; a dataset
    with select_by_expression gets the selection-aware null and the side analyses."""
    planted = make_dataset("planted")
    sel = make_dataset("sel", reps=5, seed=3)
    # an unchanged, well expressed gene: keep the Treated samples below the 0.9 quantile of the Controls
    unchanged = [g for g in sel.counts.index if g not in set(sel.up) | set(sel.down) | set(sel.target_genes)]
    gene = sel.symbols[sel.counts.loc[unchanged].sum(axis=1).idxmax()]
    datasets = {
        "null": planted,
        "sel": sel.config_entry(
            select_by_expression={"gene": gene, "group": "Treated", "rule": "below_reference_quantile", "quantile": 0.9}
        ),
    }
    cfg = write_config(
        datasets, **{"null": {"max_permutations": 3, "methods": ["ora_all", "gsea"]}}, robustness={"enabled": False}
    )
    rc, out = snakemake_run(cfg, cores=2, timeout=900)
    assert rc == 0, out[-5000:]
    work = snakemake_run.workdir
    table = null.read_summary(work / "results" / "config" / "null.tsv")
    assert sorted(set(table["dataset"])) == ["null", "sel"]
    assert not table["note"].str.contains("stale results?", regex=False).any(), table["note"].tolist()
    gsea = table[table["method"] == "gsea"]
    assert len(gsea) == 2 and (gsea["observed_rank"] == gsea["rerun_rank"]).all()
    assert set(table.loc[table["dataset"] == "sel", "selection_aware"]) == {"yes"}
    assert set(table.loc[table["dataset"] == "null", "selection_aware"]) == {"no"}
    assert set(table["method"]) == {null.SET_SCORE, "ora_all", "gsea"}
    assert (work / "results" / "config" / "sel" / "input" / "unselected" / "counts.tsv.gz").is_file()
    assert not (work / "results" / "config" / "null" / "input" / "unselected").exists()
    analyses = pd.read_csv(
        work / "results" / "config" / "sel" / "selection" / "analyses.tsv", sep="\t", keep_default_na=False
    )
    assert list(dict.fromkeys(analyses["analysis"])) == list(
        __import__("pathverdict.judgement.selection_analyses", fromlist=["ANALYSES"]).ANALYSES
    )
    assert (analyses["implication"] != "").all()


def test_null_fits_in_gene_blocks_on_threads_with_the_same_numbers(make_dataset, kegg, monkeypatch):
    """The null's DE fits of the relabelings run in blocks of NULL_BLOCK_CELLS cells (several blocks: the
    threads have work to share; the re-run on the observed labels in the DE step's blocks) and give the
    statistics of one block of all genes on one thread, as far as the fit guarantees (tests/tolerances.py):
    each relabeling's DE table within the solvers' bounds, the set score within what those allow, the ORA
    statistics (functions of the DE calls) equal."""
    planted = make_dataset("planted")
    monkeypatch.setattr(null, "NULL_BLOCK_CELLS", 300)  # 50 genes per block at 6 samples
    seen, tables = [], {}
    real = de.run_deseq2

    def spy(counts, samples, params):
        seen.append((params.block_genes, params.threads, len(counts)))
        out = real(counts, samples, params)
        tables.setdefault(tuple(samples["condition"]), []).append((counts, samples, out.results))
        return out

    monkeypatch.setattr(de, "run_deseq2", spy)
    kwargs = dict(
        symbols=pd.Series(planted.symbols),
        methods=("ora_all",),
        enrichment_cfg=ENRICHMENT,
        max_permutations=100,
        seed=1,
    )
    blocks = null.run_null(planted.counts, planted.samples, PARAMS, kegg, TARGET, None, threads=2, **kwargs)
    # the re-run on the observed labels is the verdict's computation: the DE step's blocks (the caller's
    # block_genes, None: rcompat's default); the relabelings fit in the null's blocks
    assert len(seen) == 10 and seen[0][:2] == (None, 2) and {s[:2] for s in seen[1:]} == {(50, 2)}
    assert seen[0][2] >= 300  # >= 6 blocks
    seen.clear()
    whole = dataclasses.replace(PARAMS, block_genes=len(planted.counts))
    one = null.run_null(planted.counts, planted.samples, whole, kegg, TARGET, None, threads=1, **kwargs)
    assert {s[:2] for s in seen} == {(len(planted.counts), 1)}
    # each relabeling's DE table: within the a priori bounds of its fit; dz: how far a statistic moved
    dz, same_calls = 0.0, True
    for pair in tables.values():
        assert len(pair) == 2
        (counts, samples, a), (_, _, b) = pair
        meta = de._metadata(samples.set_index("sample") if "sample" in samples else samples, PARAMS.design)
        X = rc.design_matrix(meta, PARAMS.design).matrix.to_numpy(dtype=float)
        bounds = tol.z_tolerance(rc.fit_deseq(counts.to_numpy(), X))
        tol.assert_tables_agree(a, b, bounds)  # the calls may differ only within the margin of alpha
        same_calls &= bool(((a["padj"] < 0.05) == (b["padj"] < 0.05)).all())
        dz = max(dz, float(np.nanmax(np.abs(a["stat"] - b["stat"]))))
    for got, ref in zip(blocks, one):
        assert list(got.columns) == list(ref.columns) and len(got) == len(ref)
        for col in got.columns:
            if not pd.api.types.is_float_dtype(ref[col]):
                if same_calls or col in ("dataset", "library", "method", "relabeling", "moved"):
                    assert got[col].astype(str).tolist() == ref[col].astype(str).tolist(), col
                continue
            g, r = got[col].to_numpy(float), ref[col].to_numpy(float)
            # the set score z = (mean |stat| of the set - mean over the N genes) / (sd sqrt((N-k)/(k(N-1))))
            # moves by <= dz (2 + |z|) / (sd sqrt(...)) when every |stat| moves by <= dz (the means and the
            # sd are 1-Lipschitz in that); sd sqrt(...) >= 0.01 here. Everything else in these tables
            # (ranks, ORA p-values and FDRs, counts) is a function of the DE calls: equal where the calls are
            # (on a CPU where a gene within the margin of alpha flips, only the set score is compared)
            score = (ref["method"] == null.SET_SCORE).to_numpy()
            other = tol.CLOSED_RTOL * np.abs(r) if same_calls else np.inf
            allowed = np.where(score, dz * (2 + np.abs(r)) / 0.01, other)
            tol.assert_same_nan(col, g, r)
            ok = np.isnan(r) | (np.abs(g - r) <= allowed)
            assert ok.all(), (col, g[~ok], r[~ok], allowed[~ok])
