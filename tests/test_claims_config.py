"""Claims as config (issue 20): the default config and the demo express the three claims that were
code before and give the same claims.tsv, claims page and terminal answer (on the demo run's stored
inputs, tests/data/claims_demo); the test kinds each judge what they say, with missing evidence
`not tested`; a study without `claims:` gets one claim per dataset."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pathverdict.config import validate_config
from pathverdict.judgement import claim_specs, claims, verdict
from pathverdict.steps.verdict import make_claims
from pathverdict.summary import terminal_summary

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "tests" / "data" / "claims_demo"
DEMO_ROLES = {
    "demo_meis1_overexpression": "cells_overexpression",
    "demo_meis1_knockout": "cells_loss_of_function",
    "demo_tissue": "tissue",
    "demo_negative_control": "negative_control",
    "demo_selection_bias": "tissue",
}
SELECTED = ["demo_tissue", "demo_selection_bias"]
BANNER = "SIMULATED DATA: this is a demonstration on a simulated study, not on real samples."


def expected(name: str) -> bytes:
    path = DEMO / name
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def load(configfile: str) -> dict:
    with open(REPO / configfile) as fh:
        return validate_config(yaml.safe_load(fh), configfiles=[configfile])


def demo_claims_step(cfg: dict, out: Path, caplog) -> str:
    """The claims step on the stored inputs of the demo run, with the claims of ``cfg``; returns the
    paragraph it logs."""
    caplog.clear()
    with caplog.at_level("INFO", logger="pathverdict.steps.verdict"):
        make_claims(
            verdict=str(DEMO / "verdict.tsv.gz"),
            genes=str(DEMO / "verdict_genes.tsv.gz"),
            roles=DEMO_ROLES,
            target=cfg["target_pathway"],
            verdict_settings=cfg["verdict"],
            alpha=cfg["de"]["alpha"],
            out_tsv=str(out / "claims.tsv"),
            out_html=str(out / "claims.html"),
            claims_settings=cfg.get("claims"),
            perturbed_gene=cfg.get("perturbed_gene"),
            role_names=cfg.get("role_names"),
            null_settings=cfg["null"],
            null=str(DEMO / "null.tsv.gz"),
            selection=[str(DEMO / f"{d}.selection.tsv.gz") for d in SELECTED],
            selected=SELECTED,
            library="KEGG_2021_Human",
            banner=BANNER,
            sensitivity=str(DEMO / "sensitivity.tsv.gz"),
            directions=str(DEMO / "sensitivity_directions.tsv.gz"),
            calibration=str(DEMO / "calibration.tsv.gz"),
        )
    return caplog.records[-1].getMessage()


@pytest.mark.parametrize("configfile", ["config/demo.yaml", "config/config.yaml"])
def test_config_claims_give_what_the_coded_claims_gave(configfile, tmp_path, caplog, monkeypatch):
    """The claims of the demo and of the default config (the same three, as data) on the demo run's
    stored inputs: claims.tsv, claims.html and the logged paragraph byte for byte as written when the
    claims were code (commit ee8fb85), and the same terminal answer. The default config's datasets are
    others, but its claims name roles, which the demo's datasets have."""
    cfg = load(configfile)
    assert [c.id for c in claim_specs.from_config(cfg)] == ["cells", "tissue", "metallothioneins"]
    results = tmp_path / "results" / "demo"
    results.mkdir(parents=True)
    paragraph = demo_claims_step(cfg, results, caplog)
    assert (results / "claims.tsv").read_bytes() == expected("expected_claims.tsv.gz")
    assert (results / "claims.html").read_bytes() == expected("expected_claims.html.gz")
    assert paragraph + "\n" == expected("expected_paragraph.txt.gz").decode()
    # the answer at the end of the run, from the same files the run reads
    for name in ("verdict.tsv", "null.tsv"):
        (results / name).write_bytes(expected(f"{name}.gz"))
    monkeypatch.chdir(tmp_path)
    text = terminal_summary(
        Path("results/demo"),
        target=cfg["target_pathway"],
        configfile="config/demo.yaml",
        simulated=True,
        claims=[c.id for c in claim_specs.from_config(cfg)],
    )
    assert text == expected("expected_terminal.txt").decode()


def test_a_study_without_claims_gets_one_claim_per_dataset(tmp_path, caplog):
    """No `claims:` section: each dataset that is neither a negative control nor `other` (or has no role)
    gets "the target is on top"; the negative control stays a check."""
    cfg = load("config/demo.yaml")
    cfg.pop("claims")
    roles = dict(DEMO_ROLES, demo_selection_bias="other")
    specs = claim_specs.parse_claims(None, roles)
    assert [c.id for c in specs] == ["demo_meis1_overexpression", "demo_meis1_knockout", "demo_tissue"]
    assert all(len(c.tests) == 1 and c.tests[0].kind == "on_top" for c in specs)
    v = verdict.read_verdict(DEMO / "verdict.tsv.gz")
    g = verdict.read_genes(DEMO / "verdict_genes.tsv.gz")
    t = claims.evaluate(v, g, roles, target="Mineral absorption", library="KEGG_2021_Human")
    assert list(zip(t["claim"], t["dataset"])) == [
        ("demo_meis1_overexpression", "demo_meis1_overexpression"),
        ("demo_meis1_knockout", "demo_meis1_knockout"),
        ("demo_tissue", "demo_tissue"),
        ("negative_control", "demo_negative_control"),
    ]
    assert list(t["holds"]) == ["yes", "yes", "yes", "yes"]
    s = claims.summarise(t, specs)
    assert s["study"] == "reproduced" and s["negative_control"] == "passed"
    html = claims.to_html(t, s, "Mineral absorption", specs)
    assert "Mineral absorption is on top in demo_tissue." in html
    # a dataset without a role is in a claim of its own too, shown without a role
    t = claims.evaluate(v, g, {"demo_tissue": ""}, target="Mineral absorption", library="KEGG_2021_Human")
    assert list(t["claim"]) == ["demo_tissue"]
    assert "demo_tissue</th>" in claims.to_html(t, claims.summarise(t), "Mineral absorption", specs[2:])


# --------------------------------------------------------------------------- the test kinds on made tables


def vrow(dataset, method="ora_all", primary=True, **kw):
    base = {
        "dataset": dataset,
        "library": "KEGG",
        "method": method,
        "primary": primary,
        "target": "T",
        "target_id": "",
        "rank": 1,
        "n_terms": 200,
        "pvalue": 1e-6,
        "p_bound": False,
        "fdr": 1e-4,
        "nes": np.nan,
        "overlap_size": 5,
        "set_size": 50,
        "genes": "A;B",
        "top_term": "T",
        "de_genes": 300,
        "on_top": "yes",
        "status": "on_top",
        "note": "",
    }
    return {**base, **kw}


def grow(dataset, symbol, status, lfc=1.0, reason="requested", gene_type="protein-coding"):
    padj = 1e-4 if status in ("up", "down") else (0.5 if status == "not DE" else np.nan)
    return {
        "dataset": dataset,
        "symbol": symbol,
        "gene_id": symbol,
        "gene_type": gene_type,
        "reason": reason,
        "baseMean": 100.0,
        "log2FoldChange": lfc,
        "padj": padj,
        "status": status,
        "detail": "",
    }


def spec(section: dict, roles: dict) -> list:
    return claim_specs.parse_claims(section, roles, perturbed_gene="GENE1")


def test_genes_de_with_an_expected_direction_per_role():
    roles = {"oe": "gain", "ko": "loss"}
    section = {
        "genes": {
            "sentence": "{genes} follow {perturbed_gene}.",
            "roles": ["gain", "loss"],
            "tests": [{"kind": "genes_de", "genes": ["A", "B"], "direction": {"gain": "up", "loss": "down"}}],
        }
    }
    specs = spec(section, roles)
    assert specs[0].text("T", "GENE1") == "A and B follow GENE1."
    g = pd.DataFrame(
        [grow("oe", "A", "up"), grow("oe", "B", "up", 2.0), grow("ko", "A", "down", -1), grow("ko", "B", "up", 1.5)]
    )
    v = pd.DataFrame([vrow("oe"), vrow("ko")])
    t = claims.evaluate(v, g, roles, target="T", claims=specs).set_index("dataset")
    assert t.loc["oe", "holds"] == "yes" and "(expected up in this dataset)" in t.loc["oe", "evidence"]
    # B goes up where loss of function should take it down: a "no" for B, so the claim holds partly
    assert (
        t.loc["ko", "holds"] == "partly" and "B up (log2FC 1.50, padj 0.0001), expected down" in t.loc["ko", "evidence"]
    )
    # without a direction either way counts
    section["genes"]["tests"][0].pop("direction")
    t = claims.evaluate(v, g, roles, target="T", claims=spec(section, roles))
    assert set(t["holds"]) == {"yes"}


def test_family_de_counts_protein_coding_members_of_its_pattern_only():
    roles = {"liver": "tissue"}
    section = {
        "cyp": {
            "sentence": "Cytochrome P450 genes change.",
            "roles": ["tissue"],
            "tests": [{"kind": "family_de", "pattern": "^CYP[0-9]", "name": "cytochrome P450"}],
        }
    }
    specs = spec(section, roles)
    v = pd.DataFrame([vrow("liver")])
    excluded = verdict.EXCLUDED
    g = pd.DataFrame(
        [
            grow("liver", "CYP2E1", "not DE", reason="pattern"),
            grow("liver", "CYP4F35P", "up", reason=excluded, gene_type="pseudo"),  # a pseudogene: never counted
            grow("liver", "MT2A", "up", reason="pattern"),  # another family
            grow("liver", "CYP1A2", "untested", reason="pattern"),
        ]
    )
    t = claims.evaluate(v, g, roles, target="T", claims=specs)
    assert t["holds"].item() == "no"
    assert t["evidence"].item() == "none of the 1 tested cytochrome P450 gene(s) is DE; untested: CYP1A2"
    assert t["null"].item() == ""  # no pathway test, no null beside it
    g.loc[0, "status"] = "down"
    g.loc[0, "log2FoldChange"] = -2.0
    t = claims.evaluate(v, g, roles, target="T", claims=specs)
    assert t["holds"].item() == "yes" and t["evidence"].item().startswith("CYP2E1 down (-2.00) (of 1 tested)")
    # a named gene (requested) that matches the family counts when protein-coding, not when a pseudogene
    g2 = pd.DataFrame([grow("liver", "CYP3A4", "up"), grow("liver", "CYP3A7P1", "up", gene_type="")])
    t = claims.evaluate(v, g2, roles, target="T", claims=specs)
    assert t["evidence"].item() == "CYP3A4 up (1.00) (of 1 tested)"
    # nothing of the family in the data: not tested, never "no"
    t = claims.evaluate(v, g2.iloc[:0], roles, target="T", claims=specs)
    assert t["holds"].item() == "not tested" and "no protein-coding cytochrome P450 gene" in t["evidence"].item()


def test_missing_evidence_is_not_tested_with_the_reason():
    """A dataset whose verdict table lacks the rows a test needs (e.g. a DE table given without counts:
    no CAMERA result) gets `not tested` with the reason for that test; the others are judged as usual,
    and a claim of such tests only is `not tested`, never `no`."""
    roles = {"counts": "cells", "table": "cells"}
    section = {
        "camera": {
            "sentence": "{target} is on top by CAMERA.",
            "roles": ["cells"],
            "tests": [{"kind": "on_top", "method": "camera"}],
        },
        "ora": {"sentence": "{target} is on top.", "roles": ["cells"], "tests": ["on_top"]},
        "fdr": {
            "sentence": "{target} is enriched by GSEA.",
            "roles": ["cells"],
            "tests": [{"kind": "enriched", "method": "gsea", "max_fdr": 0.25}],
        },
    }
    specs = spec(section, roles)
    v = pd.DataFrame(
        [
            vrow("counts"),
            vrow("counts", "camera", primary=False),
            vrow("counts", "gsea", primary=False, fdr=0.2, rank=3, on_top="no", status="not_on_top"),
            vrow("table"),
            # a result the verdict marks as not tested, with its reason
            vrow(
                "table",
                "gsea",
                primary=False,
                rank=np.nan,
                fdr=np.nan,
                status="not_tested",
                note="no ranking statistic",
            ),
        ]
    )
    g = pd.DataFrame([grow("counts", "A", "up")]).iloc[:0]
    t = claims.evaluate(v, g, roles, target="T", claims=specs).set_index(["claim", "dataset"])
    assert t.loc[("camera", "counts"), "holds"] == "yes"
    assert t.loc[("camera", "table"), "holds"] == "not tested"
    assert t.loc[("camera", "table"), "evidence"] == "no camera result (KEGG)"
    assert t.loc[("ora", "table"), "holds"] == "yes"
    assert (
        t.loc[("fdr", "counts"), "holds"] == "yes"
        and "enriched (FDR <= 0.25): yes" in t.loc[("fdr", "counts"), "evidence"]
    )
    assert t.loc[("fdr", "table"), "holds"] == "not tested"
    assert t.loc[("fdr", "table"), "evidence"] == "gsea (KEGG): not tested (no ranking statistic)"
    s = claims.summarise(t.reset_index(), specs)
    assert s["camera"] == "inconclusive" and s["ora"] == "reproduced"  # not tested is never counted against
    only_table = claims.evaluate(v, g, {"table": "cells"}, target="T", claims=specs)
    assert claims.summarise(only_table, specs)["camera"] == "not tested"


def test_selection_null_qualifies_the_pathway_test_before_it():
    """on_top + selection_null: a dataset without a selection is judged by on_top alone; with one, the
    yes stands only with the selection-aware null; a "no" stays a "no" (the null is not needed)."""
    roles = {"plain": "tissue", "sel": "tissue"}
    section = {"t": {"sentence": "{target} is on top.", "roles": ["tissue"], "tests": ["on_top", "selection_null"]}}
    specs = spec(section, roles)
    v = pd.DataFrame([vrow("plain"), vrow("sel")])
    null = pd.DataFrame(
        [
            {
                "dataset": "sel",
                "library": "KEGG",
                "method": "set_score",
                "empirical_p": 0.3,
                "min_p": 0.01,
                "n_permutations": 99,
                "informative": "yes",
                "selection_aware": "yes",
                "note": "",
            }
        ]
    )
    g = pd.DataFrame([grow("plain", "A", "up")]).iloc[:0]
    t = claims.evaluate(v, g, roles, target="T", claims=specs, null=null, selected=["sel"]).set_index("dataset")
    assert t.loc["plain", "holds"] == "yes" and "selected" not in t.loc["plain", "evidence"]
    assert t.loc["sel", "holds"] == "no" and "explained by the selection" in t.loc["sel", "evidence"]
    v.loc[1, ["on_top", "status", "rank"]] = ["no", "not_on_top", 40]
    t = claims.evaluate(v, g, roles, target="T", claims=specs, null=null, selected=["sel"]).set_index("dataset")
    assert t.loc["sel", "holds"] == "no" and t.loc["sel", "evidence"].endswith("(not on top even so)")


def test_the_workflow_reads_the_claims_of_every_shipped_config():
    """Every config the repository ships parses into claims (the examples without `claims:` get the
    default), and the claims' genes and families are reported by the verdict step."""
    for path in sorted((REPO / "config").glob("*.yaml")) + sorted((REPO / "config" / "examples").glob("*.yaml")):
        rel = str(path.relative_to(REPO))
        cfg = load(rel)
        specs = claim_specs.from_config(cfg, rel)
        assert specs, rel
    genes, patterns = claim_specs.gene_requests(load("config/config.yaml")["claims"])
    assert genes == ("HMOX1", "VDR") and patterns == ("^MT1[A-Z0-9]*$", "^MT2A$", "^MT3$", "^MT4$")
