"""Selection by expression is circular; the selection-aware null and the reviewer's analyses.

A simulated cohort of 12 "RLS" vs 12 controls with NO disease effect: a latent factor of
each individual (a dissection that includes a MEIS1-rich region or not: 60% do) moves
MEIS1 and the KEGG Mineral absorption genes together. Keeping the patients with MEIS1
below the control median selects the individuals without it, so the selected analysis
puts the pathway on top with a tiny FDR. The selection-aware null (labels permuted over
all 24 samples, the selection re-applied every time) must not call that significant; the
same cohort with a real effect on the pathway in every patient must be. Counts are
negative binomial (a mean-dispersion trend as in RNA-seq) over 3,000 real human genes;
about 1 minute in all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TARGET

from pathverdict import de, genesets
from pathverdict.judgement import null, selection_analyses

LIB = "KEGG_2021_Human"
CONTRAST = ["condition", "RLS", "control"]
SPEC = {"gene": "MEIS1", "group": "RLS", "rule": "below_reference_median"}
PARAMS = de.DEParams(design="~condition", contrast=CONTRAST)
N_RELABELINGS = 60


def selection_cohort(
    pool: dict,
    *,
    effect: float = 0.0,
    n: int = 12,
    n_genes: int = 3000,
    loading: float = 1.5,
    prevalence: float = 0.6,
    seed: int = 3,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Counts (genes x 2n), sample sheet and symbols of the cohort described in the module docs.

    ``effect``: log-scale shift of the target pathway's genes in every patient (0 = no disease effect)."""
    rng = np.random.default_rng(seed)
    target = pool["target"]
    meis1 = [g for g in pool["others"] if g[1] == "MEIS1"]
    rest = [g for g in pool["others"] if g[1] != "MEIS1"]
    assert len(meis1) == 1
    pick = rng.choice(len(rest), size=n_genes - len(target) - 1, replace=False)
    genes = target + meis1 + [rest[i] for i in sorted(pick)]
    ids = [g[0] for g in genes]
    n_target = len(target)
    mean = np.exp(rng.normal(5.5, 1.2, size=len(ids)))
    dispersion = (0.02 + 4.0 / mean) * np.exp(rng.normal(0, 0.3, size=len(ids)))
    loadings = np.zeros(len(ids))
    loadings[: n_target + 1] = loading  # the target genes and MEIS1 follow the latent factor
    latent = (rng.random(2 * n) < prevalence) + rng.normal(0, 0.15, size=2 * n)
    condition = ["control"] * n + ["RLS"] * n
    names = [f"ctl{i + 1}" for i in range(n)] + [f"rls{i + 1}" for i in range(n)]
    columns = []
    for j in range(2 * n):
        log_mu = np.log(mean) + loadings * latent[j] + rng.normal(0, 0.1)
        if condition[j] == "RLS":
            log_mu[:n_target] += effect
        size = 1 / dispersion
        columns.append(rng.negative_binomial(size, size / (size + np.exp(log_mu))))
    counts = pd.DataFrame(np.column_stack(columns), index=pd.Index(ids, name="gene_id"), columns=names)
    samples = pd.DataFrame({"condition": condition}, index=pd.Index(names, name="sample"))
    return counts, samples, pd.Series({g[0]: g[1] for g in genes})


@pytest.fixture(scope="module")
def kegg(shared):
    return {LIB: genesets.read_library(shared / "genesets" / "KEGG_2021_Human.txt", LIB)}


def selected_ranks(counts, samples, symbols, kegg):
    c, s = null.apply_selection(counts, samples, symbols, SPEC, CONTRAST)
    table = null._de_table(c, s, PARAMS, symbols)
    return null.target_ranks(table, kegg, TARGET, methods=("ora_all",)).iloc[0], s


def test_selection_bias_is_not_significant_under_the_selection_aware_null(gene_pool, kegg):
    counts, samples, symbols = selection_cohort(gene_pool)
    # the selected analysis looks like a finding: the target on top, tiny FDR
    observed, kept = selected_ranks(counts, samples, symbols, kegg)
    assert observed["rank"] == 1 and observed["fdr"] < 1e-6 and observed["on_top"] == "yes"
    assert (kept["condition"] == "RLS").sum() < 12  # some patients were left out
    perms, summary = null.run_null(
        counts,
        samples,
        PARAMS,
        kegg,
        TARGET,
        None,
        symbols=symbols,
        methods=("ora_all",),
        enrichment_cfg={},
        max_permutations=N_RELABELINGS,
        seed=1,
        dataset="bias",
        selection=SPEC,
    )
    s = summary.set_index("method")
    score = s.loc[null.SET_SCORE]
    assert score["selection_aware"] == "yes" and score["informative"] == "yes"
    assert "re-applied to every relabeling" in score["scheme"]
    assert score["n_permutations"] + score["failed"] == N_RELABELINGS
    assert score["empirical_p"] >= 0.05, score.to_dict()
    # the observed statistic is the selected analysis' (the re-run reproduces the verdict's rank)
    assert s.loc["ora_all", "observed_rank"] == s.loc["ora_all", "rerun_rank"] == 1
    assert "WARNING" not in s.loc["ora_all", "note"]
    # every analysed relabeling re-applied the selection: fewer than 24 samples analysed
    ok = perms[perms["de_ok"]]
    assert (ok["n_samples"] < 24).all() and ok["n_samples"].nunique() > 1

    # the null that ignores the selection (labels permuted among the 18 selected samples only)
    # is fooled: it calls the same data significant
    c, s_ = null.apply_selection(counts, samples, symbols, SPEC, CONTRAST)
    _, naive = null.run_null(
        c,
        s_,
        PARAMS,
        kegg,
        TARGET,
        None,
        symbols=symbols,
        methods=(),
        enrichment_cfg={},
        max_permutations=N_RELABELINGS,
        seed=1,
        dataset="bias",
    )
    assert naive.iloc[0]["selection_aware"] == "no" and naive.iloc[0]["empirical_p"] < 0.05


def test_true_effect_is_significant_under_the_selection_aware_null(gene_pool, kegg):
    counts, samples, symbols = selection_cohort(gene_pool, effect=-1.0)
    observed, _ = selected_ranks(counts, samples, symbols, kegg)
    assert observed["rank"] == 1
    _, summary = null.run_null(
        counts,
        samples,
        PARAMS,
        kegg,
        TARGET,
        None,
        symbols=symbols,
        methods=(),
        enrichment_cfg={},
        max_permutations=N_RELABELINGS,
        seed=1,
        selection=SPEC,
    )
    score = summary.iloc[0]
    assert score["method"] == null.SET_SCORE and score["informative"] == "yes"
    assert score["empirical_p"] < 0.05 and score["n_as_extreme"] == 0


def test_reviewer_analyses_side_by_side(gene_pool, kegg):
    # half the individuals carry the latent factor, so that the controls split at their MEIS1
    # median separate the two kinds as the selection of patients does (with 60% the control
    # median falls among the carriers and the negative control has little power)
    counts, samples, symbols = selection_cohort(gene_pool, prevalence=0.5)
    table = selection_analyses.run_selection_analyses(
        counts, samples, symbols, SPEC, PARAMS, kegg, TARGET, methods=("ora_all",), dataset="bias"
    )
    assert list(table.columns) == selection_analyses.COLUMNS
    t = table.set_index("analysis")
    assert list(t.index) == list(selection_analyses.ANALYSES)
    assert (table["dataset"] == "bias").all() and table["implication"].str.len().gt(20).all()
    # the selected analysis: the target on top (as the verdict would say)
    assert t.loc["selected", "status"] == "on top" and t.loc["selected", "n_samples"] < 24
    # all patients: not on top -- the finding depends on the selection
    assert t.loc["all_patients", "status"] != "on top" and t.loc["all_patients", "n_samples"] == 24
    assert "depends on choosing" in t.loc["all_patients", "implication"]
    # controls split by MEIS1 (no disease at all) show the pathway: the selection alone produces it
    assert t.loc["low_vs_high_reference", "status"] == "on top" and t.loc["low_vs_high_reference", "n_samples"] == 12
    assert "selection alone produces" in t.loc["low_vs_high_reference", "implication"]
    # MEIS1 as a continuous covariate: the disease effect on the pathway is gone
    assert t.loc["continuous_covariate", "status"] != "on top"
    assert "MEIS1" in t.loc["continuous_covariate", "description"]
    assert "continuous covariate" in t.loc["continuous_covariate", "description"]
