"""Caveats: how other judgements of a dataset (confounding, a critical sample, power) qualify the claims'
answers without knowing their wording (claims.CAVEAT_COLUMNS, claims.apply_caveats), on hand-made caveat
tables: they only ever make an answer inconclusive, each reason is kept, and a caveat that does not
match leaves the answer as it was."""

from __future__ import annotations

import pandas as pd
import pytest

from pathverdict.judgement import claims
from pathverdict.steps.verdict import make_claims
from pathverdict.util import write_tsv
from study_claims import SARAYLOO, default_study
from test_claims import all_hold, verdict_rows

ROLES = {"oe": "cells_overexpression", "kd": "cells_loss_of_function", "thal": "tissue", "ctrl": "negative_control"}
CONFOUNDED = "the contrast is confounded with `batch`: every control is in A, every treated sample in B"


def caveats(*rows) -> pd.DataFrame:
    return pd.DataFrame([dict(zip(claims.CAVEAT_COLUMNS, r)) for r in rows], columns=claims.CAVEAT_COLUMNS)


def study():
    v, g = all_hold()
    v = pd.concat([v, verdict_rows([{"dataset": "ctrl", "on_top": "no", "rank": 60, "fdr": 0.9}])], ignore_index=True)
    return v, g


def judge(table: pd.DataFrame | None) -> pd.DataFrame:
    v, g = study()
    return claims.evaluate(v, g, ROLES, target="T", claims=SARAYLOO, caveats=table).set_index(["claim", "dataset"])


def test_without_caveats_every_claim_holds():
    plain = judge(None)
    assert set(plain["holds"]) == {"yes"}
    assert judge(claims.collect_caveats([])).equals(plain)  # the empty table the claims step builds


def test_a_confounded_dataset_makes_every_claim_there_inconclusive():
    t = judge(caveats(("kd", "*", "any", "inconclusive", "confounding", CONFOUNDED)))
    kd = t.xs("kd", level="dataset")
    assert set(kd["holds"]) == {"inconclusive"}, kd
    assert all(e.endswith(f"; inconclusive: {CONFOUNDED}") for e in kd["evidence"])
    assert all(e.count(CONFOUNDED) == 1 for e in kd["evidence"])  # once, though both tests of cells matched
    others = t.drop("kd", level="dataset")
    assert set(others["holds"]) == {"yes"} and not others["evidence"].str.contains("inconclusive:").any()
    s = claims.summarise(t.reset_index(), SARAYLOO)
    assert s["cells"] == "inconclusive" and s["metallothioneins"] == "inconclusive" and s["tissue"] == "reproduced"
    # a confounded negative control cannot pass
    t = judge(caveats(("ctrl", "*", "any", "inconclusive", "confounding", CONFOUNDED)))
    assert t.loc[("negative_control", "ctrl"), "holds"] == "inconclusive"
    assert claims.summarise(t.reset_index(), SARAYLOO)["negative_control"] == "inconclusive"


def test_a_when_yes_caveat_takes_a_yes_and_only_a_yes():
    sample = "on top by ora_all, but not without sample S6"
    t = judge(caveats(("oe", "on_top", "yes", "inconclusive", "leave_one_sample_out", sample)))
    assert t.loc[("cells", "oe"), "holds"] == "inconclusive"  # on top -> inconclusive, genes still yes
    assert t.loc[("cells", "oe"), "evidence"].endswith(f"; inconclusive: {sample}")
    assert t.loc[("metallothioneins", "oe"), "holds"] == "yes"  # family_de is not an on_top test
    # the same caveat on a dataset where the target is not on top: nothing to qualify
    v, g = study()
    v.loc[v["dataset"] == "oe", ["on_top", "status", "rank"]] = ["no", "not_on_top", 9]
    t = claims.evaluate(
        v,
        g,
        ROLES,
        target="T",
        claims=SARAYLOO,
        caveats=caveats(("oe", "on_top", "yes", "inconclusive", "leave_one_sample_out", sample)),
    ).set_index(["claim", "dataset"])
    assert t.loc[("cells", "oe"), "holds"] == "partly" and sample not in t.loc[("cells", "oe"), "evidence"]


def test_a_when_no_caveat_takes_a_no():
    power = (
        "not on top; with this design a real effect of |log2FC| 1 on 30 % of the pathway is called on top in "
        "18 % of simulations"
    )
    v, g = study()
    v.loc[v["dataset"] == "kd", ["on_top", "status", "rank", "fdr"]] = ["no", "not_on_top", 30, 0.6]
    low_power = caveats(
        ("kd", "on_top", "no", "inconclusive", "power", power),
        ("ctrl", "on_top", "no", "inconclusive", "power", power),
    )
    t = claims.evaluate(v, g, ROLES, target="T", claims=SARAYLOO, caveats=low_power).set_index(["claim", "dataset"])
    assert t.loc[("cells", "kd"), "holds"] == "inconclusive"  # was partly: not on top, genes DE
    assert power in t.loc[("cells", "kd"), "evidence"]
    assert t.loc[("cells", "oe"), "holds"] == "yes"  # no caveat there
    # a negative control with too little power: "not on top" says little, the check cannot pass
    assert t.loc[("negative_control", "ctrl"), "holds"] == "inconclusive"
    assert claims.summarise(t.reset_index(), SARAYLOO)["negative_control"] == "inconclusive"
    # the same caveats when the target is on top (kd, ctrl on top: the check fails as before)
    v.loc[v["dataset"].isin(["kd", "ctrl"]), ["on_top", "status", "rank", "fdr"]] = ["yes", "on_top", 1, 1e-3]
    t = claims.evaluate(v, g, ROLES, target="T", claims=SARAYLOO, caveats=low_power).set_index(["claim", "dataset"])
    assert t.loc[("cells", "kd"), "holds"] == "yes" and t.loc[("negative_control", "ctrl"), "holds"] == "no"


@pytest.mark.parametrize(
    "row",
    [
        ("elsewhere", "*", "any", "inconclusive", "confounding", "other dataset"),
        ("oe", "enriched", "any", "inconclusive", "power", "a test kind the claims there do not use"),
        ("oe", "on_top", "no", "inconclusive", "power", "an answer the test did not give"),
        ("thal", "on_top;genes_de", "any", "inconclusive", "qc", "tests the tissue claim does not have"),
    ],
)
def test_a_caveat_that_does_not_match_leaves_the_answer(row):
    t = judge(caveats(row))
    assert t.equals(judge(None)), t


def test_several_caveats_keep_every_reason_and_never_make_yes_or_no():
    t = judge(
        caveats(
            ("thal", "enriched", "yes", "inconclusive", "leave_one_sample_out", "enriched, but not without sample P3"),
            ("thal", "*", "any", "inconclusive", "confounding", "confounded with sex"),
            ("thal", "family_de", "yes", "inconclusive", "qc", "sample P7 is an outlier"),
        )
    )
    ev = t.loc[("tissue", "thal"), "evidence"]
    assert t.loc[("tissue", "thal"), "holds"] == "inconclusive"
    assert ev.endswith("; inconclusive: enriched, but not without sample P3; inconclusive: confounded with sex")
    mt = t.loc[("metallothioneins", "thal")]
    assert mt["holds"] == "inconclusive"
    assert mt["evidence"].endswith("; inconclusive: confounded with sex; inconclusive: sample P7 is an outlier")
    # nothing testable stays not tested; a caveat never makes a no into a yes or back
    v, g = study()
    g = g[~((g["dataset"] == "thal") & (g["symbol"] == "MT2A"))]
    t = claims.evaluate(
        v, g, ROLES, target="T", claims=SARAYLOO, caveats=caveats(("thal", "*", "any", "inconclusive", "c", "x"))
    ).set_index(["claim", "dataset"])
    assert t.loc[("metallothioneins", "thal"), "holds"] == "not tested"
    for answer in ("yes", "no", "inconclusive"):
        held, reasons = claims.apply_caveats(
            caveats(("d", "*", "any", "inconclusive", "c", "r")), "d", "on_top", answer
        )
        assert held == "inconclusive" and reasons == ["r"]


def test_caveats_reach_the_claims_step_and_its_page(tmp_path):
    v, g = study()
    write_tsv(v, tmp_path / "verdict.tsv")
    write_tsv(g, tmp_path / "genes.tsv")
    write_tsv(caveats(("kd", "*", "any", "inconclusive", "confounding", CONFOUNDED)), tmp_path / "caveats.tsv")
    cfg = default_study()

    def step(name: str, **kw) -> pd.DataFrame:
        return make_claims(
            verdict=str(tmp_path / "verdict.tsv"),
            genes=str(tmp_path / "genes.tsv"),
            roles=ROLES,
            target="T",
            verdict_settings={**cfg["verdict"], "gene_patterns": ["^MT2A$"]},
            alpha=0.05,
            out_tsv=str(tmp_path / f"{name}.tsv"),
            out_html=str(tmp_path / f"{name}.html"),
            claims_settings=cfg["claims"],
            perturbed_gene="MEIS1",
            null_settings={"enabled": False},
            **kw,
        )

    out = step("claims", caveats=[str(tmp_path / "caveats.tsv")])
    assert list(out.columns) == claims.COLUMNS
    assert set(out.loc[out["dataset"] == "kd", "holds"]) == {"inconclusive"}
    page = (tmp_path / "claims.html").read_text()
    assert 'id="caveats-table"' in page and "never makes an answer yes or no" in page
    assert "cells, metallothioneins" in page  # the claims the caveat made inconclusive
    # without caveats the page has no such section
    step("plain")
    assert 'id="caveats' not in (tmp_path / "plain.html").read_text()


@pytest.mark.parametrize(
    "table, message",
    [
        (pd.DataFrame({"dataset": ["d"], "reason": ["r"]}), "has the columns"),
        (caveats(("d", "on_tpo", "any", "inconclusive", "s", "r")), "caveat tests 'on_tpo'"),
        (caveats(("d", "*", "maybe", "inconclusive", "s", "r")), "caveat when 'maybe'"),
        (caveats(("d", "*", "any", "yes", "s", "r")), "caveat holds 'yes'"),
    ],
)
def test_a_producer_that_breaks_the_interface_is_told(table, message):
    with pytest.raises(ValueError, match=message):
        claims.collect_caveats([table])
