"""The sample checks through the workflow's steps (issue 19): two simulated datasets -- one whose GSEA
answer rests on one sample, one whose sheet has a batch aliased with the groups -- made into files by
the DE and enrichment steps, then rule samples (check_samples), rule sample_report (combine_samples),
the verdict with its samples note, the sensitivity table, the claims' caveats through the claims engine
(make_claims: the aliased batch and the answer resting on one sample make those claims inconclusive) and the
terminal answer; and a dataset given as a DE table, whose samples cannot be checked (not tested, with the
reason)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import TARGET
from sample_studies import DATASET, DE, ENRICHMENT, LIB, case, source, workflow_files

import json

from markupsafe import escape

from pathverdict import summary
from pathverdict.judgement import claims, confounding, samples
from pathverdict.judgement import leave_one_sample_out as loo
from pathverdict.steps.robustness import combine_sensitivity
from pathverdict.steps.samples import check_samples, combine_samples
from pathverdict.steps.verdict import claim_caveats, make_claims, make_verdict
from pathverdict.summary import terminal_summary

E = dict(ENRICHMENT, gsea_permutations=200)
VERDICT = {"top_n": 1, "max_fdr": 0.05, "primary": "gsea", "genes": ["HMOX1", "VDR"], "gene_patterns": []}


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    _, lib, _ = source()
    out = {"root": root, "datasets": {}}
    for name, case_name in (("odd", "odd_sample"), ("batchy", "batch_aliased")):
        counts, sheet, symbols = case(case_name, 1)
        paths = workflow_files(root / name, counts, sheet, symbols, lib, E)
        for key in ("qc", "confounding", "loo"):
            paths[key] = str(root / name / f"{key}.tsv")
        check_samples(
            dataset=name, dataset_config=DATASET, counts=paths["counts"], samples=paths["samples"],
            genes=paths["genes"], de=paths["de"], vst=paths["vst"], summary=paths["summary"], ora_up=paths["up"],
            ora_down=paths["down"], ora_all=paths["all"], ora_info=paths["info"], gsea=paths["gsea"],
            camera=paths["camera"], gmt=paths["gmt"], library=LIB, target=TARGET, de_settings=DE, enrichment=E,
            verdict_settings=VERDICT, alpha=0.05, leave_one_sample_out={"enabled": True, "max_removals": 6},
            out_qc=paths["qc"], out_confounding=paths["confounding"], out_loo=paths["loo"],
        )  # fmt: skip
        out["datasets"][name] = paths
    return out


def lists(study_dir, key):
    return [p[key] for p in study_dir["datasets"].values()]


@pytest.fixture(scope="module")
def verdict_tsv(study_dir):
    """results/<study>/verdict.tsv (and its pages) of the two datasets, with their samples notes."""
    root = study_dir["root"]
    names = list(study_dir["datasets"])
    make_verdict(
        datasets=names, de=lists(study_dir, "de"), ora_up=lists(study_dir, "up"), ora_down=lists(study_dir, "down"),
        ora_all=lists(study_dir, "all"), ora_info=lists(study_dir, "info"), gsea=lists(study_dir, "gsea"),
        camera=lists(study_dir, "camera"), gmts=[study_dir["datasets"]["odd"]["gmt"]], libraries=[LIB],
        target=TARGET, verdict_settings=VERDICT, alpha=0.05, out_tsv=str(root / "verdict.tsv"),
        out_genes=str(root / "verdict_genes.tsv"), out_md=str(root / "verdict.md"), out_html=str(root / "verdict.html"),
        qc=lists(study_dir, "qc"), confounding=lists(study_dir, "confounding"), loo=lists(study_dir, "loo"),
    )  # fmt: skip
    return root / "verdict.tsv"


def test_the_verdict_the_page_and_the_terminal_name_the_sample_and_the_column(study_dir, verdict_tsv):
    root = study_dir["root"]
    v = pd.read_csv(verdict_tsv, sep="\t", keep_default_na=False).set_index(["dataset", "method"])
    assert v.loc[("odd", "gsea"), "status"] == "on_top"
    assert v.loc[("odd", "gsea"), "samples"] == "on top by gsea, but not without sample S6"
    assert v.loc[("batchy", "ora_all"), "samples"].startswith("the contrast is confounded with `batch`")
    assert "not without sample S6" in (root / "verdict.html").read_text()
    qc, conf = combine_samples(
        qc=lists(study_dir, "qc"), confounding=lists(study_dir, "confounding"), loo=lists(study_dir, "loo"),
        out_qc=str(root / "samples_qc.tsv"), out_confounding=str(root / "confounding.tsv"),
        out_html=str(root / "samples.html"), banner="SIMULATED", verdict=str(root / "verdict.tsv"),
    )  # fmt: skip
    assert set(qc["dataset"]) == {"odd", "batchy"} and len(qc) == 12
    page = (root / "samples.html").read_text()
    for anchor in ('id="qc-odd"', 'id="confounding-batchy"', 'id="loo-odd"', "SIMULATED"):
        assert anchor in page
    assert "odd: none of the 6 samples flagged" in page and "the answer rests on S6 (gsea)" in page
    assert page.count("none (all samples)") == 2  # the verdict on all samples above the removals
    assert "batchy: none of the 6 samples flagged; confounded with `batch`" in page
    text = terminal_summary(root, target=TARGET)
    assert "↳ samples: on top by gsea, but not without sample S6" in text
    assert "↳ samples: the contrast is confounded with `batch`" in text
    assert f"Samples: {root / 'samples.html'}" in text


@pytest.fixture(scope="module")
def sensitivity_tsv(study_dir, tmp_path_factory):
    """results/<study>/sensitivity.tsv and confounding.tsv as rules sensitivity and sample_report write them
    (the enrichment step's own sensitivity rows stand in empty)."""
    tmp_path = tmp_path_factory.mktemp("sensitivity")
    tables = []
    for name, p in study_dir["datasets"].items():  # the enrichment step's rows stand in: none
        t = tmp_path / f"{name}.tsv"
        pd.DataFrame(columns=["dataset", "library", "method", "variant", "rank", "n_terms", "fdr", "on_top",
                              "status", "detail"]).to_csv(t, sep="\t", index=False)  # fmt: skip
        tables.append(str(t))
    genes = tmp_path / "genes.tsv"
    pd.DataFrame(columns=["dataset", "symbol", "gene_id", "gene_type", "reason", "baseMean", "log2FoldChange",
                          "padj", "status", "detail"]).to_csv(genes, sep="\t", index=False)  # fmt: skip
    sens, _ = combine_sensitivity(
        tables=tables, genes=str(genes), roles={"odd": "cells_overexpression", "batchy": "cells_loss_of_function"},
        out_tsv=str(tmp_path / "sensitivity.tsv"), out_directions=str(tmp_path / "directions.tsv"),
        loo=lists(study_dir, "loo"),
    )  # fmt: skip
    combine_samples(
        qc=lists(study_dir, "qc"), confounding=lists(study_dir, "confounding"), loo=lists(study_dir, "loo"),
        out_qc=str(tmp_path / "qc.tsv"), out_confounding=str(tmp_path / "confounding.tsv"),
        out_html=str(tmp_path / "samples.html"),
    )  # fmt: skip
    return tmp_path / "sensitivity.tsv", tmp_path / "confounding.tsv"


def test_the_sensitivity_table_and_the_claims_caveats(sensitivity_tsv):
    path, conf = sensitivity_tsv
    sens = claims.read_sensitivity(path)
    assert (sens["variant"].str.startswith("leave_one_sample_out:")).sum() == 2 * 6 * 5
    caveats = claim_caveats(confounding=str(conf), sensitivity=sens, library=LIB, primary="gsea").set_index("dataset")
    assert (
        list(caveats.reset_index().columns) == claims.CAVEAT_COLUMNS and samples.CAVEAT_COLUMNS is claims.CAVEAT_COLUMNS
    )
    assert caveats.loc["odd", "tests"] == "on_top;enriched" and caveats.loc["odd", "when"] == "yes"
    assert caveats.loc["batchy", "tests"] == "*" and caveats.loc["batchy", "source"] == "confounding"
    assert (caveats["holds"] == "inconclusive").all()


def test_the_claims_engine_makes_the_confounded_and_the_resting_claims_inconclusive(
    study_dir, verdict_tsv, sensitivity_tsv, tmp_path
):
    """Through the claims step: with the sample checks' caveats the claim on the dataset whose GSEA answer
    rests on S6, and the one on the dataset whose batch is aliased with the groups, are inconclusive (each
    says why); without them both are yes, so the caveats are what changed them."""
    root = study_dir["root"]
    sens, conf = sensitivity_tsv
    roles = {"odd": "cells_overexpression", "batchy": "cells_loss_of_function"}

    def step(name, **kw):
        return make_claims(
            verdict=str(verdict_tsv), genes=str(root / "verdict_genes.tsv"), roles=roles, target=TARGET,
            verdict_settings=VERDICT, alpha=0.05, out_tsv=str(tmp_path / f"{name}.tsv"),
            out_html=str(tmp_path / f"{name}.html"), null_settings={"enabled": False}, library=LIB, **kw,
        ).set_index("dataset")  # fmt: skip

    plain = step("plain")  # without the sample checks' tables: the answers as the verdict has them
    assert list(plain["holds"]) == ["yes", "yes"], plain
    table = step("claims", confounding=str(conf), sensitivity=str(sens))
    assert list(table["holds"]) == ["inconclusive", "inconclusive"], table
    assert table.loc["odd", "evidence"].endswith(
        "; inconclusive: on top by gsea, but not without sample S6: the answer rests on one sample"
    )
    assert table.loc["batchy", "evidence"].endswith(
        "; inconclusive: the contrast is confounded with `batch`: every control sample is in A, every treated "
        "sample in B"
    )
    assert claims.summarise(table.reset_index())["study"] == "inconclusive"
    page = (tmp_path / "claims.html").read_text()
    assert 'id="caveats-table"' in page and "without sample S6" in page  # claims.variant_text of the rows
    assert "leave one sample out:S6" not in page
    assert claims.variant_text("leave_one_sample_out:S6") == "without sample S6"
    assert claims.variant_text("leave_one_sample_out") == "leaving one sample out"  # a not-tested row
    # a caveat table written by a rule still reaches the engine beside the producers'
    extra = tmp_path / "caveats.tsv"
    claims.collect_caveats([]).to_csv(extra, sep="\t", index=False)
    assert step("both", confounding=str(conf), sensitivity=str(sens), caveats=[str(extra)]).equals(table)
    # every caveat applied is written for the replication summary (rule replication reads caveats.tsv), so a
    # dataset the claims call inconclusive is never pooled there
    step("written", confounding=str(conf), sensitivity=str(sens), out_caveats=str(tmp_path / "applied.tsv"))
    applied = claims.read_caveats([str(tmp_path / "applied.tsv")]).set_index("dataset")
    assert set(applied.index) == {"odd", "batchy"} and set(applied["source"]) == {"confounding", "leave_one_sample_out"}
    # each check alone: the sample the answer rests on (sensitivity.tsv), the aliased column (confounding.tsv)
    assert list(step("loo", sensitivity=str(sens))["holds"]) == ["inconclusive", "yes"]
    assert list(step("conf", confounding=str(conf))["holds"]) == ["yes", "inconclusive"]


def test_a_de_table_dataset_has_its_sample_checks_not_tested_with_the_reason(study_dir, tmp_path):
    """A dataset given as a published DE table has no counts or sample sheet: each sample table gets one
    `not tested` row with the reason (no removal rows), the verdict's note and the samples page say it, no
    caveat is raised, and the terminal adds no samples line (its null column says DE table)."""
    record = tmp_path / "prepare.json"
    record.write_text(json.dumps({"de_table": {"layout": "edgeR topTags()"}}))
    out = {k: str(tmp_path / f"{k}.tsv") for k in ("qc", "confounding", "loo")}
    p = study_dir["datasets"]["odd"]
    qc, conf, rows = check_samples(
        dataset="table", dataset_config={}, counts=None, samples=None, genes=p["genes"], de=p["de"], vst=None,
        summary=None, ora_up=p["up"], ora_down=p["down"], ora_all=p["all"], ora_info=p["info"], gsea=p["gsea"],
        camera=p["camera"], gmt=p["gmt"], library=LIB, target=TARGET, de_settings=DE, enrichment=E,
        verdict_settings=VERDICT, alpha=0.05, leave_one_sample_out={"enabled": True, "max_removals": 6},
        out_qc=out["qc"], out_confounding=out["confounding"], out_loo=out["loo"], record=str(record),
    )  # fmt: skip
    why = samples.not_tested_reason(samples.read_qc(out["qc"]))
    assert why.startswith("a DE table (edgeR topTags()) has no counts or sample sheet")
    assert list(confounding.read_confounding(out["confounding"])[["status", "detail"]].iloc[0]) == ["not tested", why]
    written = claims.read_sensitivity(out["loo"])
    assert len(written) == 1 and written.iloc[0]["status"] == loo.NOT_TESTED and written.iloc[0]["detail"] == why
    assert not written["variant"].str.startswith(loo.PREFIX).any()  # no removal rows
    v = pd.DataFrame({"dataset": ["table", "table"], "library": [LIB, LIB], "method": ["ora_all", "gsea"]})
    assert samples.verdict_notes(v, qc, conf, rows) == [f"sample checks not tested: {why}"] * 2
    assert samples.caveats_from_qc(confounding=conf, sensitivity=rows, library=LIB, primary="gsea").empty
    combine_samples(
        qc=[study_dir["datasets"]["odd"]["qc"], out["qc"]], confounding=[out["confounding"]], loo=[out["loo"]],
        out_qc=str(tmp_path / "samples_qc.tsv"), out_confounding=str(tmp_path / "all_confounding.tsv"),
        out_html=str(tmp_path / "samples.html"),
    )  # fmt: skip
    page = (tmp_path / "samples.html").read_text()
    assert f"<li>table: not tested: {escape(why)}.</li>" in page and 'id="not-tested-table"' in page
    assert 'id="qc-odd"' in page and 'id="qc-table"' not in page
    v["samples"] = samples.verdict_notes(v, qc, conf, rows)
    assert summary._samples(v, v.iloc[0]) == ""  # no terminal line: its null column says "not tested (DE table)"
