"""Leaving one sample out (issue 19) on simulated studies (tests/sample_studies.py): a 3 vs 3 study in
which one treated sample carries the whole pathway change -- ORA has too few DE genes to judge, GSEA
puts the target on top -- is found to rest on that sample, named in the rows, the verdict's note and a
caveat that makes the claims' "yes" inconclusive; a study with a real effect in every treated sample
rests on none; the bound on removals keeps the samples with the largest share of the difference."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import TARGET
from sample_studies import CONTRAST, PARAMS, case, fit, source, study

from pathverdict.judgement import leave_one_sample_out as loo
from pathverdict.judgement import samples, sensitivity, verdict
from pathverdict.judgement.null_statistics import ENRICHMENT_DEFAULTS, de_table
from pathverdict.util import quiet_logging

E = dict(ENRICHMENT_DEFAULTS, gsea_permutations=200)
SETTINGS = verdict.VerdictSettings(primary="gsea")


def run(counts, sheet, symbols, dataset="d", **kw) -> pd.DataFrame:
    _, lib, term = source()
    result = fit(counts, sheet)
    with quiet_logging():
        base = loo.rerun(counts, sheet, PARAMS, symbols, "K", lib, term, settings=SETTINGS, enrichment_cfg=E)
    table = loo.leave_one_sample_out(
        counts,
        sheet,
        PARAMS,
        symbols,
        ("K", lib),
        TARGET,
        baseline=base,
        settings=SETTINGS,
        enrichment_cfg=E,
        vst=result.vst,
        de_table_=de_table(result, symbols),
        dataset=dataset,
        **kw,
    )
    table.attrs["baseline"] = base
    return table


@pytest.fixture(scope="module")
def odd():
    return run(*case("odd_sample", 1), dataset="odd")


def test_an_answer_that_rests_on_one_sample_is_found_and_named(odd):
    base = odd.attrs["baseline"]
    # the case of the issue: too few DE genes for ORA, GSEA on top
    assert base["gsea"]["status"] == "on_top" and base["ora_all"]["status"] == "inconclusive"
    assert list(odd.columns) == sensitivity.COLUMNS
    assert set(odd["variant"]) == {f"leave_one_sample_out:S{i}" for i in range(1, 7)}
    r = loo.resting(odd, "odd", "K", "gsea")
    assert r["rests"] == ["S6"] and r["tested"][0] == "S6"  # the largest share is removed first
    row = odd[(odd["variant"] == "leave_one_sample_out:S6") & (odd["method"] == "gsea")].iloc[0]
    assert row["status"] != "on_top" and row["detail"].startswith("rests on S6: without it the target is")
    assert "of the target's difference between the groups" in row["detail"]
    others = odd[(odd["method"] == "gsea") & (odd["variant"] != "leave_one_sample_out:S6")]
    assert (others["status"] == "on_top").sum() >= 3  # removing another sample keeps it on top
    assert loo.sentence(odd, "odd", "K", "gsea") == "on top by gsea, but not without sample S6"


def test_the_claim_that_rests_on_one_sample_is_not_yes(odd):
    """The producer's caveat: the claims' tests of the headline method answer inconclusive, not yes."""
    c = samples.caveats_from_qc(confounding=None, sensitivity=odd, library="K", primary="gsea")
    assert c.to_dict("records") == [
        {
            "dataset": "odd",
            "tests": "on_top;enriched",
            "when": "yes",
            "holds": "inconclusive",
            "source": "leave_one_sample_out",
            "reason": "on top by gsea, but not without sample S6: the answer rests on one sample",
        }
    ]
    # the verdict note and the claims' sensitivity clause name it too
    v = pd.DataFrame({"dataset": ["odd"], "library": ["K"], "method": ["gsea"]})
    assert samples.verdict_notes(v, None, None, odd) == ["on top by gsea, but not without sample S6"]
    assert "leaving one sample out: on top by gsea, but not without sample S6" in sensitivity.sentence(
        odd, "odd", "K", "gsea"
    )


def test_the_influence_share_of_the_odd_sample_is_most_of_the_difference():
    counts, sheet, symbols = case("odd_sample", 2)
    _, lib, term = source()
    result = fit(counts, sheet)
    share = loo.influence(result.vst, de_table(result, symbols), sheet, CONTRAST, lib.sets[term])
    assert share.index[0] == "S6" and share["S6"] >= loo.SHARE
    assert share.drop("S6").abs().max() < loo.SHARE
    clean_counts, clean_sheet, clean_symbols = case("clean", 2)
    r = fit(clean_counts, clean_sheet)
    clean = loo.influence(r.vst, de_table(r, clean_symbols), clean_sheet, CONTRAST, lib.sets[term])
    assert clean.abs().max() < 0.1  # an effect every treated sample shares: each carries a few per cent


def test_a_real_effect_in_every_sample_rests_on_none():
    table = run(*case("clean", 1), dataset="clean")
    assert table.attrs["baseline"]["gsea"]["status"] == "on_top"
    for method in loo.METHODS:
        assert loo.resting(table, "clean", "K", method)["rests"] == []
    assert samples.caveats_from_qc(confounding=None, sensitivity=table, library="K", primary="gsea").empty


def test_two_per_group_is_not_tested_and_the_bound_keeps_the_largest_shares():
    counts, sheet, symbols = study({"n_per_group": 2, "effect": True, "log2fc": 2.0, "fraction": 0.7})
    t = run(counts, sheet, symbols)
    assert len(t) == 1 and t.iloc[0]["status"] == loo.NOT_TESTED and "at least 3 in each" in t.iloc[0]["detail"]
    counts, sheet, symbols = study({"n_per_group": 5, "effect": True, "log2fc": 2.0, "fraction": 0.7})
    t = run(counts, sheet, symbols, max_removals=2)
    removed = sorted({v.split(":")[1] for v in t["variant"] if ":" in v})
    _, lib, term = source()
    result = fit(counts, sheet)
    share = loo.influence(result.vst, de_table(result, symbols), sheet, CONTRAST, lib.sets[term])
    assert removed == sorted(share.index[:2])
    left = t[t["variant"] == "leave_one_sample_out"].iloc[0]
    assert left["status"] == loo.NOT_TESTED and left["detail"].startswith("8 of 10 samples not removed (at most 2")
