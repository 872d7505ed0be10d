"""The seeded simulated-study generator (pathverdict.simulation.simulate): NB fitting, simulation,
planting, writing, and a whole study from the real LNCaP counts run through DESeq2 + ORA
the way the workflow does it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pathverdict.sources import annotation
from pathverdict import de, enrichment, genesets, tables
from pathverdict.errors import InputError
from pathverdict.simulation.simulate import (
    DEFAULT_FRACTION,
    DEFAULT_LOG2FC,
    fit_nb,
    median_of_ratios,
    plant_effect,
    simulate,
    write_dataset,
)
from pathverdict.simulation.simulated_study import simulate_study

TARGET = "Mineral absorption"
CONTRAST = ["condition", "treated", "control"]


def known_params(n_genes: int, a0: float, a1: float, scatter: float, seed: int) -> pd.DataFrame:
    """Means log-uniform over 2..5000; dispersions a1/mean + a0 times lognormal(0, scatter)."""
    rng = np.random.default_rng(seed)
    mean = np.exp(rng.uniform(np.log(2), np.log(5000), n_genes))
    disp = (a1 / mean + a0) * np.exp(rng.normal(0.0, scatter, n_genes))
    return pd.DataFrame({"mean": mean, "dispersion": disp}, index=[f"g{i:05d}" for i in range(n_genes)])


# --------------------------------------------------------------------------- fit_nb


def test_fit_nb_recovers_known_means_and_dispersions():
    """3000 genes, 5 + 5 samples (8 residual df), true trend 1/mean + 0.05 with log-sd 0.3 scatter.

    Tolerances (the worst of 20 seeds in brackets; justified by the sampling error):
    * means: the median-of-ratios normalisation only knows the size factors up to their
      geometric mean (sd of the log scale: 0.15/sqrt(10) = 0.047), so the overall log bias
      may be up to 0.15, 3 sd [0.09]; after removing it, a gene's log mean has sd
      sqrt((1/mu + a)/10) ~ 0.08 at mean >= 100, median |error| ~ 0.05: allow 0.1 [0.053];
    * trend: the expected coefficients are those of the mean dispersion, i.e. times
      exp(0.3^2/2): allow 15% on a0 [3%] and 35% on a1 [10%], which low counts pin down less;
    * per gene at mean >= 100: a raw method-of-moments estimate with 8 df has median
      |log error| ~ 0.36, the true trend alone 0.21: allow 0.3 [0.19], and a median log bias
      within 0.1 [0.025];
    * low counts (mean < 10), where ~10% of the moment estimates are <= 0: allow a median
      |log error| of log(1.5) = 0.41 [0.26].
    """
    a0, a1, scatter = 0.05, 1.0, 0.3
    truth = known_params(3000, a0, a1, scatter, seed=0)
    counts, sheet = simulate(truth, n_per_group=5, seed=100)
    fit = fit_nb(counts, sheet.set_index("sample"), "condition", min_mean=0.5)
    t = truth.loc[fit.index]
    assert len(fit) >= 0.99 * len(truth)

    log_mean = np.log(fit["mean"] / t["mean"])
    bias = float(log_mean.median())
    high = t["mean"] >= 100
    assert abs(bias) < 0.15
    assert float((log_mean[high] - bias).abs().median()) < 0.1

    inflate = np.exp(scatter**2 / 2)
    trend = fit.attrs["trend"]
    assert trend["a0"] == pytest.approx(a0 * inflate, rel=0.15)
    assert trend["a1"] == pytest.approx(a1 * inflate, rel=0.35)

    log_disp = np.log(fit["dispersion"] / t["dispersion"])
    assert float(log_disp[high].abs().median()) < 0.3
    assert abs(float(log_disp[high].median())) < 0.1
    low = t["mean"] < 10
    assert float((fit["dispersion_mom"][low] <= 0).mean()) > 0.05  # raw moments are useless there ...
    assert float(log_disp[low].abs().median()) < np.log(1.5)  # ... the shrunk values are not
    assert fit["dispersion"].between(1e-4, 10).all()


def test_fit_nb_within_groups_ignores_the_group_effect_and_is_deterministic():
    truth = known_params(600, 0.05, 1.0, 0.0, seed=1)
    truth["mean"] = truth["mean"].clip(lower=50)
    planted = {g: 8.0 for g in truth.index[:100]}
    counts, sheet = simulate(truth, n_per_group=4, planted=planted, seed=5)
    samples = sheet.set_index("sample")
    grouped = fit_nb(counts, samples, "condition")
    pooled = fit_nb(counts, samples)
    pd.testing.assert_frame_equal(grouped, fit_nb(counts, samples, "condition"))
    hit = list(planted)
    # the 8-fold group difference looks like huge dispersion when groups are pooled, not within groups
    assert pooled.loc[hit, "dispersion"].median() > 5 * grouped.loc[hit, "dispersion"].median()
    assert grouped.loc[hit, "dispersion"].median() == pytest.approx(0.05, rel=0.5)
    # min_mean drops genes
    fewer = fit_nb(counts, samples, "condition", min_mean=1000)
    assert 0 < len(fewer) < len(grouped) and (fewer["mean"] >= 1000).all()
    with pytest.raises(InputError, match="group column"):
        fit_nb(counts, samples, "batch")


# --------------------------------------------------------------------------- simulate


def test_simulate_is_seeded():
    params = known_params(300, 0.05, 1.0, 0.2, seed=2)
    counts, sheet = simulate(params, n_per_group=3, seed=11)
    again, sheet2 = simulate(params, n_per_group=3, seed=11)
    other, _ = simulate(params, n_per_group=3, seed=12)
    pd.testing.assert_frame_equal(counts, again)
    pd.testing.assert_frame_equal(sheet, sheet2)
    assert not counts.equals(other)
    assert counts.dtypes.eq(np.int64).all() and counts.index.name == "gene_id"
    assert list(counts.index) == list(params.index)
    assert list(sheet.columns) == ["sample", "condition"] and list(sheet["sample"]) == list(counts.columns)
    assert list(sheet["condition"]) == ["control"] * 3 + ["treated"] * 3
    with pytest.raises(InputError, match="not in the simulation parameters"):
        simulate(params, n_per_group=3, seed=1, planted={"nope": 2.0})


def test_planted_genes_differ_and_the_others_do_not():
    """400 genes at mean 500, dispersion 0.05, 20 + 20 samples: a group mean's log has sd
    sqrt((1/500 + 0.05)/20) = 0.05, a log2 ratio of two ~0.1, so the planted median log2 ratio
    is within 0.15 of log2(fold) [worst of 20 seeds: 0.06] and no unplanted gene reaches
    |log2 ratio| 0.6, ~6 sd [0.42]."""
    genes = [f"g{i:03d}" for i in range(400)]
    params = pd.DataFrame({"mean": 500.0, "dispersion": 0.05}, index=genes)
    planted = {g: 3.0 for g in genes[:20]} | {g: 1 / 3 for g in genes[20:40]}
    counts, sheet = simulate(params, n_per_group=20, planted=planted, seed=3)
    norm = counts / median_of_ratios(counts.to_numpy())
    treated = sheet["condition"].eq("treated").to_numpy()
    log2_ratio = np.log2(norm.loc[:, treated].mean(axis=1) / norm.loc[:, ~treated].mean(axis=1))
    assert log2_ratio[genes[:20]].median() == pytest.approx(np.log2(3), abs=0.15)
    assert log2_ratio[genes[20:40]].median() == pytest.approx(-np.log2(3), abs=0.15)
    assert (log2_ratio[genes[:20]] > 1).all() and (log2_ratio[genes[20:40]] < -1).all()
    rest = log2_ratio[genes[40:]]
    assert abs(rest.median()) < 0.1 and rest.abs().max() < 0.6


def test_plant_effect():
    genes = [f"G{i:02d}" for i in range(30)]
    p = plant_effect(genes, rng_seed=4)
    assert p == plant_effect(list(reversed(genes)), rng_seed=4)  # the input order does not matter
    assert p != plant_effect(genes, rng_seed=5)
    assert len(p) == round(DEFAULT_FRACTION * 30) == 18
    up = 2**DEFAULT_LOG2FC
    assert sorted(p.values()).count(up) == 9 and sorted(p.values()).count(1 / up) == 9
    all_up = plant_effect(genes, rng_seed=4, fraction=0.5, log2fc=2, mixed_direction=False)
    assert len(all_up) == 15 and set(all_up.values()) == {4.0}
    assert plant_effect(genes, rng_seed=4, fraction=0) == {}


def test_write_dataset_reads_back_and_passes_the_design_check(tmp_path):
    params = known_params(200, 0.05, 1.0, 0.2, seed=6)
    counts, sheet = simulate(params, n_per_group=3, seed=7, planted={"g00001": 3.0})
    out_counts, out_samples = tmp_path / "d" / "counts.tsv.gz", tmp_path / "d" / "samples.tsv"
    write_dataset(counts, sheet, out_counts, out_samples, "simulated for a test")
    assert sorted(p.name for p in out_counts.parent.iterdir()) == ["counts.tsv.gz", "samples.tsv"]  # no temp files
    back = tables.read_counts(out_counts).counts
    samples = tables.read_samples(out_samples)
    pd.testing.assert_frame_equal(back, counts)
    assert (samples["simulated"] == "yes").all() and (samples["note"] == "simulated for a test").all()
    checked = tables.check_design(samples, back, "~condition", CONTRAST, out_samples, out_counts, "sim")
    assert list(checked.columns) == list(samples.index)


# --------------------------------------------------------------------------- a whole study on real data

STUDY_SEED = 1  # seeds 1-10 all gave the target rank 1 (padj <= 1e-12) planted and no DE target gene in the null


@pytest.fixture(scope="module")
def study(shared, tmp_path_factory):
    real = shared / "counts" / "li2008_lncap"
    out = tmp_path_factory.mktemp("study")
    spec = {
        "n_genes": 2000,
        "datasets": {"cells_planted": {"n_per_group": 3, "effect": True}, "null": {"n_per_group": 3, "effect": False}},
    }
    args = (
        real / "counts.tsv.gz",
        real / "samples.tsv",
        shared / "annotation" / "human_gene_info.tsv.gz",
        shared / "genesets" / "KEGG_2021_Human.txt",
        TARGET,
        spec,
    )
    desc = simulate_study(*args, out, seed=STUDY_SEED)
    return {"desc": desc, "out": out, "args": args, "real": real, "shared": shared}


def _target_in_ora(dataset_dir, ann, lib) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DE and ORA of all DE genes as the workflow does it (steps.run_de + steps.run_ora, default settings)."""
    counts = tables.read_counts(dataset_dir / "counts.tsv.gz").counts
    samples = tables.read_samples(dataset_dir / "samples.tsv")
    counts = tables.check_design(samples, counts, "~condition", CONTRAST, "samples.tsv", "counts.tsv.gz", "sim")
    res = de.run_deseq2(counts, samples, de.DEParams(design="~condition", contrast=CONTRAST)).results.reset_index()
    symbols = annotation.map_ids(list(res["gene_id"]), ann).table.set_index("gene_id")["symbol"]
    res.insert(1, "symbol", symbols.reindex(res["gene_id"]).to_numpy())
    lists, background = enrichment.de_gene_lists(enrichment.collapse_to_symbols(res), 0.05, 0)
    ora = enrichment.ora(lists["all"], background, lib.sets, lib.name, lib.ids, 10, 500)
    return res, ora[ora["term"] == TARGET]


@pytest.mark.shared
def test_simulated_study_puts_the_target_on_top_only_where_planted(study):
    desc, out, shared = study["desc"], study["out"], study["shared"]
    assert json.loads((out / "study.json").read_text()) == desc
    assert desc["kind"] == "simulated" and desc["genes"] == 2000
    assert desc["source"]["counts_sha256"] == genesets.sha256sum(study["real"] / "counts.tsv.gz")
    lib = genesets.read_library(shared / "genesets" / "KEGG_2021_Human.txt")
    target_symbols = set(lib.sets[TARGET])
    planted = desc["datasets"]["cells_planted"]["planted"]
    assert desc["datasets"]["null"]["planted"] == []
    n_target = len(desc["library"]["target_genes_simulated"])
    assert len(planted) == round(DEFAULT_FRACTION * n_target) and n_target >= 20
    assert all(p["symbol"] in target_symbols and p["gene_id"].startswith("ENSG") for p in planted)
    assert {round(p["fold"], 4) for p in planted} == {round(2**DEFAULT_LOG2FC, 4), round(2**-DEFAULT_LOG2FC, 4)}
    for name in ("cells_planted", "null"):
        counts = tables.read_counts(out / name / "counts.tsv.gz").counts
        assert counts.shape == (2000, 6) and counts.index.str.startswith("ENSG").all()
        assert (tables.read_samples(out / name / "samples.tsv")["simulated"] == "yes").all()

    ann = annotation.load_annotation(shared / "annotation" / "human_gene_info.tsv.gz")
    res, hit = _target_in_ora(out / "cells_planted", ann, lib)
    assert len(hit) == 1 and int(hit["rank"].iloc[0]) == 1 and float(hit["padj"].iloc[0]) < 0.05
    sig = res[res["padj"] < 0.05]
    assert set(sig["gene_id"]) & {p["gene_id"] for p in planted}
    res, hit = _target_in_ora(out / "null", ann, lib)
    assert hit.empty or int(hit["rank"].iloc[0]) > 1 or float(hit["padj"].iloc[0]) >= 0.05
    # nothing planted: at most a stray false positive among the target genes (seeds 1-10: none)
    assert int(res.loc[res["padj"] < 0.05, "symbol"].isin(target_symbols).sum()) <= 1


@pytest.mark.shared
def test_simulated_study_is_reproducible(study, tmp_path):
    again = simulate_study(*study["args"], tmp_path, seed=STUDY_SEED)
    for name, ds in study["desc"]["datasets"].items():
        assert again["datasets"][name]["counts_sha256"] == ds["counts_sha256"]
        assert again["datasets"][name]["planted"] == ds["planted"]
    spec = dict(study["args"][5], n_genes=10)
    with pytest.raises(InputError, match="smaller than"):
        simulate_study(*study["args"][:5], spec, tmp_path / "x", seed=STUDY_SEED)


# --------------------------------------------------------------------------- realistic studies


class _Lib:
    def __init__(self, sets):
        self.sets = sets


def _toy_source(n_genes: int = 2000, seed: int = 11):
    """A Source of known parameters: 40 target genes T*, 10 metallothioneins, MEIS1, and 20 other
    pathways of 30 genes each."""
    from pathverdict.simulation.simulated_study import Source

    params = known_params(n_genes, 0.02, 1.0, 0.2, seed)
    params["mean"] = params["mean"].clip(lower=100)
    ids = list(params.index)
    symbol_of = {g: f"G{i}" for i, g in enumerate(ids)}
    for i in range(40):
        symbol_of[ids[i]] = f"T{i}"
    for i, s in enumerate(["MT1A", "MT1B", "MT1E", "MT1F", "MT1G", "MT1H", "MT1M", "MT1X", "MT2A", "MT3"]):
        symbol_of[ids[40 + i]] = s
    symbol_of[ids[50]] = "MEIS1"
    sets = {"Target": [f"T{i}" for i in range(40)] + ["MT1A", "MT2A"]}
    for k in range(20):
        sets[f"P{k}"] = [symbol_of[ids[100 + 30 * k + j]] for j in range(30)]
    target_ids = [g for g in ids if symbol_of[g] in set(sets["Target"])]
    return Source("toy", params, symbol_of, target_ids, [ids[50]], {}), _Lib(sets)


def _log_norm(counts):
    y = counts.to_numpy(dtype=float)
    sf = median_of_ratios(y)
    return np.log2(y / sf[None, :] + 1)


def test_background_de_changes_the_chosen_number_of_genes_and_never_the_target():
    from pathverdict.simulation.simulated_study import simulate_dataset

    src, lib = _toy_source()
    entry = {"n_per_group": 20, "background": {"fraction": 0.2, "log2fc_sd": 1.0}}
    counts, sheet, info = simulate_dataset("bg", entry, src, lib, "Target", {}, seed=3)
    assert info["background_de"]["genes"] == 400 and info["planted"] == []
    y = _log_norm(counts)
    diff = pd.Series(y[:, 20:].mean(axis=1) - y[:, :20].mean(axis=1), index=counts.index)
    from pathverdict.simulation.simulate import background_effects

    drawn = background_effects(list(src.params.index), set(src.target_ids) | set(src.kept_ids), 0.2, 1.0, [3, 3])
    assert len(drawn) == 400 and not set(drawn) & set(src.target_ids)
    moved = diff[list(drawn)]
    assert np.corrcoef(moved, pd.Series(drawn)[moved.index])[0, 1] > 0.9  # the drawn effects are in the counts
    still = diff.drop(list(drawn))
    assert still.abs().quantile(0.99) < 0.7 < moved.abs().quantile(0.6)  # N(0, 1): 60% of |log2FC| above 0.84
    assert diff[src.target_ids].abs().max() < 0.7


def test_modules_correlate_their_genes_across_samples():
    from pathverdict.simulation.simulated_study import simulate_dataset

    src, lib = _toy_source()
    spec = {"modules": {"mt": {"pattern": "^MT", "loading": 0.7, "kind": "normal"}}}
    counts, _, info = simulate_dataset("mod", {"n_per_group": 15, "modules": ["mt"]}, src, lib, "Target", spec, seed=4)
    (mod,) = info["modules"]
    assert mod["genes"] == 10 and len(mod["latent"]) == 30
    y = _log_norm(counts)
    r = np.corrcoef(y)
    mt = [i for i, g in enumerate(counts.index) if src.symbol_of[g].startswith("MT")]
    other = list(range(60, 70))
    inside = r[np.ix_(mt, mt)][np.triu_indices(len(mt), 1)]
    outside = r[np.ix_(other, other)][np.triu_indices(len(other), 1)]
    assert np.median(inside) > 0.6 and abs(np.median(outside)) < 0.2
    # the module follows the latent factor that was drawn
    assert np.corrcoef(y[mt].mean(axis=0), mod["latent"])[0, 1] > 0.9
    # no module: the same genes are independent
    plain, _, _ = simulate_dataset("mod", {"n_per_group": 15}, src, lib, "Target", spec, seed=4)
    r0 = np.corrcoef(_log_norm(plain))
    assert abs(np.median(r0[np.ix_(mt, mt)][np.triu_indices(len(mt), 1)])) < 0.2


def test_off_target_effects_move_other_pathways_only():
    from pathverdict.simulation.simulated_study import simulate_dataset

    src, lib = _toy_source()
    entry = {"n_per_group": 20, "off_target": {"pathways": 3, "fraction": 0.5, "log2fc": 1.5}}
    counts, _, info = simulate_dataset("off", entry, src, lib, "Target", {}, seed=5)
    terms = info["off_target"]["pathways"]
    assert len(terms) == 3 and "Target" not in terms and info["genes_with_effect"] == 3 * 15
    y = _log_norm(counts)
    diff = pd.Series(y[:, 20:].mean(axis=1) - y[:, :20].mean(axis=1), index=[src.symbol_of[g] for g in counts.index])
    for t in terms:
        moved = (diff[lib.sets[t]].abs() > 0.8).sum()
        assert 12 <= moved <= 18  # half of the 30 genes at |log2FC| 1.5
    untouched = [s for k, v in lib.sets.items() if k not in terms for s in v]
    assert (diff[untouched].abs() > 0.8).sum() <= 2  # noise alone: at most a stray gene of 552


def test_selection_bias_meis1_covaries_with_the_pathway_without_a_disease_effect():
    from pathverdict.simulation.simulated_study import simulate_dataset

    src, lib = _toy_source()
    spec = {
        "modules": {
            "axis": {"symbols": ["MEIS1"], "target_fraction": 0.6, "loading": 2.0, "kind": "binary", "prevalence": 0.6}
        }
    }
    counts, sheet, info = simulate_dataset(
        "bias", {"n_per_group": 12, "modules": ["axis"]}, src, lib, "Target", spec, seed=6
    )
    (mod,) = info["modules"]
    assert mod["genes"] == 1 + round(0.6 * 42) and "MEIS1" in mod["symbols"]  # MEIS1 + 60% of the target
    y = _log_norm(counts)
    pos = {g: i for i, g in enumerate(counts.index)}
    meis1 = y[pos[src.kept_ids[0]]]
    members = [pos[g] for g in src.target_ids if src.symbol_of[g] in set(mod["symbols"])]
    assert np.corrcoef(meis1, y[members].mean(axis=0))[0, 1] > 0.8
    # no disease effect: the groups do not differ on the pathway beyond the latent factor's imbalance
    latent = np.array(mod["latent"])
    expected = 2.0 * (latent[12:].mean() - latent[:12].mean())
    observed = y[members][:, 12:].mean() - y[members][:, :12].mean()
    assert abs(observed - expected) < 0.3


def test_effect_in_reduced_samples_only():
    from pathverdict.simulation.simulated_study import simulate_dataset

    src, lib = _toy_source()
    entry = {
        "n_per_group": 10,
        "effect": True,
        "log2fc": 2.0,
        "fraction": 1.0,
        "mixed_direction": False,
        "reduce_gene": {"gene": "MEIS1", "fraction": 0.5, "fold": 0.3},
        "effect_in_reduced": True,
    }
    counts, sheet, info = simulate_dataset("red", entry, src, lib, "Target", {}, seed=7)
    reduced = info["reduced_gene"]["samples"]
    assert len(reduced) == 5 and info["effect_in"].startswith("the reduced samples")
    y = pd.DataFrame(_log_norm(counts), index=counts.index, columns=counts.columns)
    treated = list(sheet.loc[sheet["condition"] == "treated", "sample"])
    control = list(sheet.loc[sheet["condition"] == "control", "sample"])
    others = [s for s in treated if s not in reduced]
    tgt = y.loc[src.target_ids]
    assert (tgt[reduced].mean(axis=1) - tgt[control].mean(axis=1)).median() > 1.5
    assert abs((tgt[others].mean(axis=1) - tgt[control].mean(axis=1)).median()) < 0.3
    meis1 = y.loc[src.kept_ids[0]]
    assert meis1[reduced].mean() < meis1[others].mean() - 1
