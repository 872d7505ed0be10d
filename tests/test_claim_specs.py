"""Bad claims in the config: one clear message naming the claim (config key) and the fix, from the
schema (structure) or from claim_specs (what the claims refer to), and the same through snakemake."""

from __future__ import annotations

import copy

import pytest
import yaml

from pathverdict.config import validate_config
from pathverdict.errors import InputError
from pathverdict.judgement import claim_specs

DATASET = {"counts": "c.tsv", "samples": "s.tsv", "design": "~condition", "contrast": ["condition", "T", "C"]}
BASE = {
    "datasets": {
        "oe": {**DATASET, "role": "gain"},
        "ko": {**DATASET, "role": "loss"},
        "ctrl": {**DATASET, "role": "negative_control"},
    },
    "genesets": {"KEGG": "k.txt"},
    "target_pathway": "Mineral absorption",
    "annotation": "a.tsv.gz",
    "perturbed_gene": "MEIS1",
    "claims": {
        "cells": {
            "sentence": "With {perturbed_gene} changed, {target} is on top, with {genes} DE.",
            "roles": ["gain", "loss"],
            "tests": ["on_top", {"kind": "genes_de", "genes": ["HMOX1", "VDR"]}],
        },
        "mts": {
            "sentence": "Metallothioneins change.",
            "datasets": ["oe"],
            "tests": [{"kind": "family_de", "pattern": "^MT1", "name": "metallothionein"}],
        },
    },
}


def claims_error(change) -> str:
    cfg = copy.deepcopy(BASE)
    change(cfg)
    with pytest.raises(InputError) as info:
        claim_specs.from_config(validate_config(cfg, source="my.yaml"), source="my.yaml")
    return str(info.value)


def assert_in(message: str, *parts: str) -> None:
    for part in parts:
        assert part in message, f"{part!r} is not in the message:\n{message}"


def test_the_base_claims_are_valid():
    specs = claim_specs.from_config(validate_config(copy.deepcopy(BASE)))
    assert [c.id for c in specs] == ["cells", "mts"]
    assert specs[0].text("Mineral absorption", "MEIS1") == (
        "With MEIS1 changed, Mineral absorption is on top, with HMOX1 and VDR DE."
    )
    assert specs[1].tests[0].patterns == ("^MT1",) and specs[1].concerns("oe", "gain")


def test_a_role_no_dataset_has():
    msg = claims_error(lambda c: c["claims"]["cells"]["roles"].append("tissue"))
    assert_in(
        msg,
        "my.yaml: the claims are not valid (1 problem(s))",
        "claims.cells.roles: no dataset has the role 'tissue'",
        "Fix: give a dataset `role: tissue`",
        "(gain, loss)",
    )


def test_a_negative_control_or_other_cannot_be_claimed():
    msg = claims_error(lambda c: c["claims"]["cells"]["roles"].append("negative_control"))
    assert_in(msg, "claims.cells.roles: negative_control cannot be part of a claim", "check of the method")
    msg = claims_error(lambda c: c["claims"]["mts"]["datasets"].append("ctrl"))
    assert_in(msg, "claims.mts.datasets: ctrl has role negative_control, which is never part of a claim")
    msg = claims_error(lambda c: c["claims"]["mts"]["datasets"].append("nope"))
    assert_in(msg, "claims.mts.datasets: 'nope' is not a dataset of the config. Fix: one of oe, ko, ctrl")


def test_an_unknown_test_kind():
    # as a word: the schema's vocabulary
    msg = claims_error(lambda c: c["claims"]["cells"]["tests"].append("on_tpo"))
    assert_in(msg, "claims.cells.tests.2: 'on_tpo' is not one of on_top, enriched, genes_de, family_de, selection_null")
    # as a mapping
    msg = claims_error(lambda c: c["claims"]["cells"]["tests"].append({"kind": "pathway_up"}))
    assert_in(msg, "claims.cells.tests.2.kind: 'pathway_up' is not one of on_top", "Fix: the test kinds")
    # the engine's own check, for claims given in code
    with pytest.raises(InputError) as info:
        claim_specs.parse_claims({"x": {"sentence": "s", "roles": ["r"], "tests": ["top"]}}, {"d": "r"})
    assert_in(str(info.value), "claims.x.tests[0]: unknown test kind 'top' in claim 'x'", "Fix: use one of on_top")


def test_a_placeholder_that_does_not_exist():
    msg = claims_error(lambda c: c["claims"]["cells"].update(sentence="{pathway} is on top"))
    assert_in(msg, "claims.cells.sentence uses the placeholder {pathway}, which does not exist", "Fix: use {target}")
    msg = claims_error(lambda c: c["claims"]["mts"].update(sentence="{genes} are DE"))
    assert_in(msg, "claims.mts.sentence uses {genes}, but claim 'mts' has no genes_de test")
    msg = claims_error(lambda c: c.pop("perturbed_gene"))
    assert_in(msg, "claims.cells.sentence uses {perturbed_gene}, but the config has no study key `perturbed_gene`")
    msg = claims_error(lambda c: c["claims"]["cells"].update(sentence="{target is on top"))
    assert_in(msg, "claims.cells.sentence: '{target is on top' is not a valid sentence template")


def test_a_gene_pattern_that_is_not_a_regular_expression():
    msg = claims_error(lambda c: c["claims"]["mts"]["tests"][0].update(pattern="^MT1[A-Z"))
    assert_in(
        msg,
        "claims.mts.tests[0]: the gene pattern '^MT1[A-Z' of claim 'mts' is not a valid regular expression",
        "Fix: ",
    )


def test_options_and_order_of_tests():
    msg = claims_error(lambda c: c["claims"]["cells"]["tests"].__setitem__(0, {"kind": "on_top", "genes": ["A"]}))
    assert_in(msg, "claims.cells.tests[0]: `genes` is not an option of on_top (its options: method, library)")
    msg = claims_error(lambda c: c["claims"]["cells"]["tests"].__setitem__(1, "genes_de"))
    assert_in(msg, "claims.cells.tests[1]: a genes_de test needs `genes` (claim 'cells')")
    msg = claims_error(lambda c: c["claims"]["mts"]["tests"].append("selection_null"))
    assert_in(msg, "claims.mts.tests[1]: selection_null qualifies the pathway test just before it")
    msg = claims_error(lambda c: c["claims"]["cells"]["tests"].__setitem__(0, {"kind": "on_top", "library": "GO"}))
    assert_in(msg, "library 'GO' is not a configured gene-set library. Fix: one of KEGG")
    msg = claims_error(lambda c: c["claims"]["cells"]["tests"][1].update(direction={"tissue": "down"}))
    assert_in(msg, "the direction for 'tissue' names neither a role nor a dataset of claim 'cells'")
    msg = claims_error(lambda c: c["claims"]["cells"]["tests"][1].update(direction="sideways"))
    assert_in(msg, "claims.cells.tests.1.direction: 'sideways' is not one of up, down. Fix: genes_de: the expected")
    msg = claims_error(lambda c: c["claims"]["cells"].pop("roles"))
    assert_in(msg, "claims.cells: names no role and no dataset. Fix: say which datasets it concerns")
    msg = claims_error(lambda c: c["claims"].update(study={"sentence": "x", "roles": ["gain"], "tests": ["on_top"]}))
    assert_in(msg, "claims: name 'study' is not allowed", "not `study` or `negative_control`")


def test_several_problems_are_listed_together():
    def change(c):
        c["claims"]["cells"]["roles"].append("tissue")
        c["claims"]["mts"]["tests"][0]["pattern"] = "("

    msg = claims_error(change)
    assert_in(msg, "(2 problem(s))", "claims.cells.roles", "claims.mts.tests[0]")


def test_select_by_expression_takes_the_perturbed_gene():
    cfg = copy.deepcopy(BASE)
    cfg["datasets"]["oe"]["select_by_expression"] = {"group": "T"}
    assert validate_config(copy.deepcopy(cfg))["datasets"]["oe"]["select_by_expression"] == {
        "gene": "MEIS1",
        "group": "T",
        "rule": "below_reference_median",
    }
    cfg["datasets"]["oe"]["select_by_expression"] = {"gene": "VDR", "group": "T"}
    assert validate_config(copy.deepcopy(cfg))["datasets"]["oe"]["select_by_expression"]["gene"] == "VDR"
    cfg["datasets"]["oe"]["select_by_expression"] = {"group": "T"}
    cfg.pop("perturbed_gene")
    cfg.pop("claims")
    with pytest.raises(InputError) as info:
        validate_config(cfg, source="my.yaml")
    assert_in(str(info.value), "datasets.oe.select_by_expression names no `gene`", "`perturbed_gene: MEIS1`")


@pytest.mark.e2e
def test_snakemake_shows_the_claims_message(tmp_path, snakemake_run):
    cfg = copy.deepcopy(BASE)
    cfg["claims"]["cells"]["roles"] = ["tissue"]
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(cfg))
    for name in ("c.tsv", "s.tsv", "k.txt", "a.tsv.gz"):
        (snakemake_run.workdir / name).write_text("x\n")
    rc, out = snakemake_run(path, "-n")
    assert rc != 0, out
    assert_in(out, f"{path}: the claims are not valid", "claims.cells.roles: no dataset has the role 'tissue'")
    assert "Traceback (most recent call last)" not in out
