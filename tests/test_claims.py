"""The study's claims per dataset role, and the overall answer: untested evidence is never
counted, `other` and `negative_control` datasets never enter a claim, and a tissue dataset
that selects patients by expression needs the selection-aware null."""

import numpy as np
import pandas as pd
import pytest

from pathverdict.judgement import claims, verdict
from pathverdict.steps.verdict import make_claims
from pathverdict.util import write_tsv
from study_claims import SARAYLOO, default_study

ROLES = {"oe": "cells_overexpression", "kd": "cells_loss_of_function", "thal": "tissue"}


def verdict_rows(rows):
    base = {
        "library": "KEGG",
        "method": "ora_all",
        "primary": True,
        "target": "T",
        "target_id": "",
        "n_terms": 200,
        "pvalue": 1e-5,
        "p_bound": False,
        "nes": np.nan,
        "overlap_size": 5,
        "set_size": 50,
        "genes": "HMOX1;VDR;MT2A",
        "top_term": "T",
        "de_genes": 300,
        "note": "",
    }
    out = []
    for r in rows:
        r = {**base, **r}
        r.setdefault("status", "on_top" if r["on_top"] == "yes" else "not_on_top")
        out.append(r)
    return pd.DataFrame(out)


def gene_rows(rows):
    return pd.DataFrame(
        [{"reason": "requested", "log2FoldChange": 1.0, "padj": 0.001, "detail": "", **r} for r in rows],
        columns=verdict.GENE_COLUMNS,
    )


def all_hold():
    v = verdict_rows(
        [
            {"dataset": "oe", "on_top": "yes", "rank": 1, "fdr": 1e-3},
            {"dataset": "kd", "on_top": "yes", "rank": 1, "fdr": 1e-3},
            {"dataset": "thal", "on_top": "no", "rank": 4, "fdr": 0.01},
        ]
    )
    g = gene_rows(
        [{"dataset": d, "symbol": s, "status": "up"} for d in ("oe", "kd") for s in ("HMOX1", "VDR")]
        + [{"dataset": d, "symbol": "MT2A", "status": "down", "reason": "pattern"} for d in ("oe", "kd", "thal")]
    )
    return v, g


def test_all_claims_hold():
    v, g = all_hold()
    t = claims.evaluate(v, g, ROLES, target="Mineral absorption", claims=SARAYLOO)
    assert set(t["holds"]) == {"yes"}
    s = claims.summarise(t, SARAYLOO)
    assert s == {
        "cells": "reproduced",
        "tissue": "reproduced",
        "metallothioneins": "reproduced",
        "study": "reproduced",
    }  # no negative control: no check reported
    assert "REPRODUCED" in claims.paragraph(t, s, "Mineral absorption", SARAYLOO, perturbed_gene="MEIS1")


def test_partly_and_not():
    v = verdict_rows(
        [
            {"dataset": "oe", "on_top": "yes", "rank": 1, "fdr": 1e-3},
            {"dataset": "kd", "on_top": "no", "rank": 30, "fdr": 0.6},
            {"dataset": "thal", "on_top": "no", "rank": 150, "fdr": 0.9},
        ]
    )
    g = gene_rows(
        [
            {"dataset": "oe", "symbol": "HMOX1", "status": "up"},
            {"dataset": "oe", "symbol": "VDR", "status": "not DE"},
            {"dataset": "kd", "symbol": "HMOX1", "status": "not DE"},
            {"dataset": "kd", "symbol": "VDR", "status": "not DE"},
        ]
        + [{"dataset": d, "symbol": "MT2A", "status": "not DE", "reason": "pattern"} for d in ("oe", "kd", "thal")]
    )
    t = claims.evaluate(v, g, ROLES, target="T", claims=SARAYLOO).set_index(["claim", "dataset"])
    assert t.loc[("cells", "oe"), "holds"] == "partly"  # on top, but VDR not DE
    assert t.loc[("cells", "kd"), "holds"] == "no"
    assert t.loc[("tissue", "thal"), "holds"] == "no"
    s = claims.summarise(t.reset_index(), SARAYLOO)
    assert s["cells"] == "partly" and s["tissue"] == "not reproduced" and s["metallothioneins"] == "not reproduced"
    assert s["study"] == "partly reproduced"


def test_inconclusive_verdict_is_not_counted():
    """MT2A-only cells: the pathway verdict is inconclusive (too few DE genes); the key genes were
    not tested. Nothing may count for or against the claim."""
    v = verdict_rows(
        [
            {
                "dataset": "oe",
                "on_top": "no",
                "status": "inconclusive",
                "rank": 1,
                "fdr": 0.015,
                "de_genes": 1,
                "note": "inconclusive: only 1 DE gene",
            },
            {
                "dataset": "kd",
                "on_top": "no",
                "status": "inconclusive",
                "rank": np.nan,
                "fdr": np.nan,
                "de_genes": 0,
                "note": "inconclusive: no DE genes",
            },
        ]
    )
    g = gene_rows(
        [
            {"dataset": d, "symbol": s, "status": "untested", "detail": "removed by the pre-filter"}
            for d in ("oe", "kd")
            for s in ("HMOX1", "VDR")
        ]
    )
    t = claims.evaluate(
        v, g, {"oe": "cells_overexpression", "kd": "cells_loss_of_function"}, target="T", claims=SARAYLOO
    )
    cells = t[t["claim"] == "cells"].set_index("dataset")
    assert cells.loc["oe", "holds"] == "inconclusive" and cells.loc["kd", "holds"] == "inconclusive"
    assert "HMOX1 untested" in cells.loc["oe", "evidence"]
    assert claims.summarise(t, SARAYLOO)["cells"] == "inconclusive"
    # the key genes tested and not DE: the conjunctive claim fails whatever the pathway
    g2 = gene_rows([{"dataset": d, "symbol": s, "status": "not DE"} for d in ("oe", "kd") for s in ("HMOX1", "VDR")])
    t2 = claims.evaluate(v, g2, {"oe": "cells_overexpression"}, target="T", claims=SARAYLOO)
    assert t2.loc[t2["claim"] == "cells", "holds"].item() == "no"


def test_untested_metallothioneins_are_not_tested_not_no():
    v = verdict_rows([{"dataset": "thal", "on_top": "no", "rank": 4, "fdr": 0.01}])
    g = gene_rows(
        [
            {
                "dataset": "thal",
                "symbol": s,
                "status": "untested",
                "reason": "pattern",
                "detail": "removed by the pre-filter (too few reads)",
            }
            for s in ("MT1A", "MT1G", "MT3")
        ]
        + [{"dataset": "thal", "symbol": "MT1P3", "status": "up", "reason": verdict.EXCLUDED}]
    )
    t = claims.evaluate(v, g, {"thal": "tissue"}, target="T", claims=SARAYLOO).set_index("claim")
    assert t.loc["metallothioneins", "holds"] == "not tested"
    assert "no metallothionein gene could be tested" in t.loc["metallothioneins", "evidence"]
    assert "MT1P3" not in t.loc["metallothioneins", "evidence"]  # the pseudogene is never counted
    s = claims.summarise(t.reset_index(), SARAYLOO)
    assert s["metallothioneins"] == "not tested" and s["tissue"] == "reproduced" and s["study"] == "reproduced"
    # one of them tested and not DE: now "no", and the untested ones are named
    g.loc[0, "status"] = "not DE"
    t = claims.evaluate(v, g, {"thal": "tissue"}, target="T", claims=SARAYLOO).set_index("claim")
    assert t.loc["metallothioneins", "holds"] == "no"
    assert (
        "none of the 1 tested" in t.loc["metallothioneins", "evidence"]
        and "untested: MT1G, MT3" in t.loc["metallothioneins", "evidence"]
    )


def test_other_and_negative_control_never_enter_claims():
    v, g = all_hold()
    # an `other` dataset and a negative control where nothing holds (and the control is even on top)
    v = pd.concat(
        [
            v,
            verdict_rows(
                [
                    {"dataset": "li2008", "on_top": "no", "rank": 90, "fdr": 1.0},
                    {"dataset": "ctrl", "on_top": "yes", "rank": 1, "fdr": 1e-4},
                ]
            ),
        ],
        ignore_index=True,
    )
    g = pd.concat(
        [
            g,
            gene_rows(
                [
                    {"dataset": "li2008", "symbol": "MT1A", "status": "untested", "reason": "pattern"},
                    {"dataset": "ctrl", "symbol": "MT2A", "status": "not DE", "reason": "pattern"},
                ]
            ),
        ],
        ignore_index=True,
    )
    roles = {**ROLES, "li2008": "other", "ctrl": "negative_control"}
    t = claims.evaluate(v, g, roles, target="T", claims=SARAYLOO)
    assert "li2008" not in set(t["dataset"])
    assert set(t.loc[t["dataset"] == "ctrl", "claim"]) == {"negative_control"}
    assert t.loc[t["dataset"] == "ctrl", "holds"].item() == "no"  # on top in a negative control: check fails
    s = claims.summarise(t, SARAYLOO)
    assert s["study"] == "reproduced" and s["metallothioneins"] == "reproduced"
    assert s["negative_control"] == "failed"
    para = claims.paragraph(t, s, "T", SARAYLOO)
    assert "ctrl: ON TOP" in para and "not counted in any claim" in para
    html = claims.to_html(t, s, "T", SARAYLOO)
    assert "checks-table" in html and "negative control" in html
    # a passing control; with no DE gene at all (inconclusive) it made no false call either
    for status in ("not_on_top", "inconclusive"):
        v.loc[v["dataset"] == "ctrl", ["on_top", "status"]] = ["no", status]
        t = claims.evaluate(v, g, roles, target="T", claims=SARAYLOO)
        assert claims.summarise(t, SARAYLOO)["negative_control"] == "passed"
        assert (
            t.loc[t["dataset"] == "ctrl", "evidence"]
            .item()
            .endswith("not on top" if status == "not_on_top" else "not called on top (inconclusive)")
        )


def test_study_without_tissue_dataset_says_not_tested():
    v, g = all_hold()
    roles = {"oe": "cells_overexpression", "kd": "cells_loss_of_function", "thal": "other"}
    t = claims.evaluate(v, g, roles, target="T", claims=SARAYLOO)
    s = claims.summarise(t, SARAYLOO)
    assert s["tissue"] == "not tested" and s["cells"] == "reproduced" and s["study"] == "reproduced"
    assert "no dataset of its roles" in claims.paragraph(t, s, "T", SARAYLOO)
    only_other = claims.evaluate(v, g, {"oe": "other"}, target="T", claims=SARAYLOO)
    assert only_other.empty and claims.summarise(only_other, SARAYLOO)["study"] == "not tested"


@pytest.mark.parametrize(
    "holds, expected",
    [
        (["yes", "yes"], "reproduced"),
        (["no", "no"], "not reproduced"),
        (["yes", "no"], "partly"),
        (["partly"], "partly"),
        (["yes", "inconclusive"], "inconclusive"),
        (["yes", "not tested"], "inconclusive"),
        (["no", "inconclusive"], "not reproduced"),
        (["inconclusive", "not tested"], "inconclusive"),
        (["not tested"], "not tested"),
        ([], "not tested"),
    ],
)
def test_aggregate(holds, expected):
    assert claims.aggregate(holds) == expected


def null_table(
    p, informative="yes", selection_aware="yes", min_p=0.01, method="set_score", dataset="thal", library="KEGG"
):
    return pd.DataFrame(
        [
            {
                "dataset": dataset,
                "library": library,
                "method": method,
                "statistic": "set score",
                "observed": 1.2,
                "n_permutations": 99,
                "empirical_p": p,
                "min_p": min_p,
                "informative": informative,
                "selection_aware": selection_aware,
                "note": "synthetic",
            }
        ]
    )


def tissue_claim(null, enriched=True, null_enabled=True, selected=("thal",)):
    v = verdict_rows([{"dataset": "thal", "on_top": "no", "rank": 4, "fdr": 0.01 if enriched else 0.4}])
    g = gene_rows([{"dataset": "thal", "symbol": "MT2A", "status": "up", "reason": "pattern"}])
    t = claims.evaluate(
        v,
        g,
        {"thal": "tissue"},
        target="T",
        claims=SARAYLOO,
        null=null,
        selected=selected,
        null_enabled=null_enabled,
        null_alpha=0.05,
    )
    return t.set_index("claim").loc["tissue"]


def test_tissue_claim_with_selection_needs_the_selection_aware_null():
    assert tissue_claim(null_table(0.01))["holds"] == "yes"
    row = tissue_claim(null_table(0.4))
    assert row["holds"] == "no" and "explained by the selection" in row["evidence"]
    for bad in (
        null_table(np.nan, informative="no"),
        null_table(0.01, informative="no"),
        null_table(0.01, selection_aware="no"),
        null_table(0.01, method="ora_all"),
        null_table(0.01, library="other_lib"),
        null_table(0.01, dataset="elsewhere"),
        null_table(0.06, min_p=0.06),
        None,
    ):
        assert tissue_claim(bad)["holds"] == "inconclusive", bad
    assert "disabled" in tissue_claim(None, null_enabled=False)["evidence"]
    assert tissue_claim(None, null_enabled=False)["holds"] == "inconclusive"
    # not enriched at all: no, whatever the null says
    assert tissue_claim(null_table(0.01), enriched=False)["holds"] == "no"
    # without a selection the null is not needed
    assert tissue_claim(None, selected=())["holds"] == "yes"
    # the null p is shown beside the verdict
    assert "set_score (selection-aware): empirical p 0.01" in tissue_claim(null_table(0.01))["null"]


def test_cells_show_null_p_beside_the_verdict():
    v, g = all_hold()
    null = pd.concat(
        [
            null_table(0.1, dataset="oe", method="ora_all", selection_aware="no"),
            null_table(np.nan, dataset="kd", method="ora_all", informative="no", selection_aware="no"),
        ]
    )
    t = claims.evaluate(v, g, ROLES, target="T", null=null, claims=SARAYLOO).set_index(["claim", "dataset"])
    assert t.loc[("cells", "oe"), "holds"] == "yes"  # the verdict stays the judge
    assert t.loc[("cells", "oe"), "null"].startswith("ora_all: empirical p 0.1")
    assert t.loc[("cells", "kd"), "null"].startswith("ora_all: uninformative")


SELECTION = pd.DataFrame(
    [
        {
            "dataset": "thal",
            "analysis": a,
            "description": f"{a} description",
            "library": "KEGG",
            "method": "ora_all",
            "rank": r,
            "n_terms": 300,
            "pvalue": p,
            "fdr": q,
            "status": s,
            "implication": f"{a} implies something.",
        }
        for a, r, p, q, s in [
            ("selected", 1, 1e-5, 1e-3, "on_top"),
            ("all_patients", 12, 0.02, 0.3, "not_on_top"),
            ("low_vs_high_reference", 40, 0.5, 0.9, "not_on_top"),
            ("continuous_covariate", 80, 0.7, 1.0, "not_on_top"),
        ]
    ]
)


@pytest.mark.parametrize("name", ["null", "NA"])
def test_make_claims_from_files_with_awkward_dataset_names(tmp_path, name):
    """A dataset called `null` or `NA` survives every table read (text columns are not NA-parsed)."""
    v = verdict_rows(
        [
            {"dataset": name, "on_top": "no", "rank": 4, "fdr": 0.01},
            {"dataset": "oe", "on_top": "yes", "rank": 1, "fdr": 1e-3},
        ]
    )
    v = v[verdict.VERDICT_COLUMNS]
    g = gene_rows(
        [
            {
                "dataset": name,
                "symbol": "MT2A",
                "status": "up",
                "reason": "pattern",
                "gene_id": "g1",
                "gene_type": "protein-coding",
                "baseMean": 10.0,
            },
            {"dataset": "oe", "symbol": "HMOX1", "status": "up", "gene_id": "g2", "baseMean": 10.0},
            {"dataset": "oe", "symbol": "VDR", "status": "untested", "gene_id": "", "baseMean": np.nan},
        ]
    )
    write_tsv(v, tmp_path / "verdict.tsv")
    write_tsv(g, tmp_path / "genes.tsv")
    write_tsv(null_table(0.01, dataset=name), tmp_path / "null.tsv")
    write_tsv(SELECTION.assign(dataset=name), tmp_path / "analyses.tsv")
    cfg = {
        "verdict": {
            "top_n": 1,
            "max_fdr": 0.05,
            "primary": "ora_all",
            "genes": ["HMOX1", "VDR"],
            "gene_patterns": ["^MT2A$"],
        },
        "de": {"alpha": 0.05},
        "target_pathway": "T",
        "null": {"enabled": True, "alpha": 0.05},
    }
    study = default_study()
    out = make_claims(
        roles={name: "tissue", "oe": "cells_overexpression"},
        claims_settings=study["claims"],
        perturbed_gene=study["perturbed_gene"],
        target=cfg["target_pathway"],
        verdict_settings=cfg["verdict"],
        alpha=cfg["de"]["alpha"],
        null_settings=cfg["null"],
        verdict=str(tmp_path / "verdict.tsv"),
        genes=str(tmp_path / "genes.tsv"),
        out_tsv=str(tmp_path / "claims.tsv"),
        out_html=str(tmp_path / "claims.html"),
        null=str(tmp_path / "null.tsv"),
        selection=[str(tmp_path / "analyses.tsv")],
        selected=[name],
        library="KEGG",
    )
    back = pd.read_csv(tmp_path / "claims.tsv", sep="\t", keep_default_na=False).set_index(["claim", "dataset"])
    assert back.loc[("tissue", name), "holds"] == "yes"
    assert back.loc[("metallothioneins", name), "holds"] == "yes"
    assert back.loc[("cells", "oe"), "holds"] == "inconclusive"  # VDR untested: not a "no"
    assert set(back["holds"]) <= set(claims.HOLDS) and len(out) == len(back)
    html = (tmp_path / "claims.html").read_text()
    assert f"selection-{name}" in html
    for a in ("selected", "all_patients", "low_vs_high_reference", "continuous_covariate"):
        assert f"{a} implies something." in html
