"""pathverdict.enrichment.gsea_fast: gseapy's pre-ranked GSEA statistics, vectorised for the calibration's
simulations -- the same ES and leading edge as gseapy, NES / p / FDR within the permutations' noise."""

import numpy as np
import pandas as pd
import pytest

from pathverdict import enrichment
from pathverdict.enrichment import gsea_fast


def _study(seed=0, n_genes=3000, n_sets=40):
    """A ranking of Wald-like statistics and gene sets, some of them shifted up or down."""
    rng = np.random.default_rng(seed)
    genes = [f"G{i:05d}" for i in range(n_genes)]
    stat = pd.Series(rng.standard_normal(n_genes), index=genes)
    sets = {}
    for j in range(n_sets):
        size = int(rng.integers(15, 120))
        members = list(rng.choice(genes, size=size, replace=False))
        sets[f"set{j:02d}"] = members
        if j < 6:  # shifted sets: up, down, and one with mixed directions
            shift = {0: 2.0, 1: 1.0, 2: -1.5, 3: 0.6, 4: -0.6}.get(j, None)
            for k, g in enumerate(members):
                stat[g] += shift if shift is not None else (2.0 if k % 2 else -2.0)
    return stat, sets


@pytest.fixture(scope="module")
def both():
    stat, sets = _study()
    slow = enrichment.gsea(stat, sets, "L", None, 15, 500, 1000, 42, 1).set_index("term")
    fast = gsea_fast.gsea(stat, sets, "L", None, gsea_fast.GseaFast(15, 500, 1000, 42)).set_index("term")
    other = enrichment.gsea(stat, sets, "L", None, 15, 500, 1000, 7, 1).set_index("term")  # gseapy, another seed
    return slow, fast.loc[slow.index], other.loc[slow.index]


def test_es_and_leading_edge_are_gseapys(both):
    slow, fast, _ = both
    assert list(fast.columns) == list(slow.columns)
    np.testing.assert_allclose(fast["es"], slow["es"], rtol=0, atol=1e-12)
    assert (fast["leading_edge"] == slow["leading_edge"]).all()
    assert (fast["set_size"] == slow["set_size"]).all()


def test_nes_p_and_fdr_within_the_permutation_noise(both):
    """NES differ from gseapy's no more than gseapy's own with another seed (both are Monte-Carlo
    normalisations over 1,000 random sets); FDR calls agree wherever gseapy is not near the threshold."""
    slow, fast, other = both
    ours = (fast["nes"] - slow["nes"]).abs() / slow["nes"].abs()
    theirs = (other["nes"] - slow["nes"]).abs() / slow["nes"].abs()
    assert ours.median() <= 2 * theirs.median() + 0.005
    assert ours.max() <= 0.1
    clear_yes = slow["fdr"] < 0.01
    clear_no = slow["fdr"] > 0.25
    assert clear_yes.sum() >= 3 and clear_no.sum() >= 10
    assert (fast.loc[clear_yes, "fdr"] <= 0.05).all() and (fast.loc[clear_no, "fdr"] > 0.05).all()
    assert np.corrcoef(np.log10(fast["pvalue"]), np.log10(slow["pvalue"]))[0, 1] > 0.95
    # ranked by |NES| as the workflow's table: the strongly shifted sets lead in both
    assert set(fast.index[fast["rank"] <= 3]) == set(slow.index[slow["rank"] <= 3])


def test_mixed_directions_are_not_a_shift():
    """A set whose genes go up and down by the same amount (set05) ranks below every set shifted one way:
    GSEA's running sum rewards one direction; the sign of NES follows the shift."""
    stat, sets = _study(seed=1)
    fast = gsea_fast.gsea(stat, sets, "L").set_index("term")
    shifted = ["set00", "set01", "set02", "set03", "set04"]
    assert (fast.loc[shifted, "rank"] < fast.loc["set05", "rank"]).all()
    assert (fast.loc[["set00", "set01", "set03"], "nes"] > 0).all() and (fast.loc[["set02", "set04"], "nes"] < 0).all()


def test_seeded_and_the_workflows_settings():
    stat, sets = _study(seed=2, n_genes=1500, n_sets=15)
    a = gsea_fast.gsea(stat, sets, "L", settings=gsea_fast.GseaFast(permutations=200, seed=3))
    b = gsea_fast.gsea(stat, sets, "L", settings=gsea_fast.GseaFast(permutations=200, seed=3))
    pd.testing.assert_frame_equal(a, b)
    c = gsea_fast.gsea(stat, sets, "L", settings=gsea_fast.GseaFast(permutations=200, seed=4))
    assert not np.allclose(a["nes"], c["nes"])
    e = {"gsea_min_size": 20, "gsea_max_size": 60, "gsea_permutations": 100, "seed": 5}
    runner = gsea_fast.GseaFast.from_config(e)
    assert (runner.min_size, runner.max_size, runner.permutations, runner.seed) == (20, 60, 100, 5)
    # a p of 0 (no permutation as extreme) is the bound 1/permutations, flagged, as in the workflow's table
    t = gsea_fast.gsea(stat, sets, "L", settings=gsea_fast.GseaFast(permutations=100, seed=1))
    assert t["pvalue"].min() >= 0.01 and (t.loc[t["pvalue"] == 0.01, "p_bound"]).all()
    assert t["set_size"].between(15, 500).all() and t["fwer"].isna().all()
    assert gsea_fast.gsea(stat.iloc[:1], sets, "L").empty
