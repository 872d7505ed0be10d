"""The sample checks through the workflow's steps (issue 19): two simulated datasets -- one whose GSEA
answer rests on one sample, one whose sheet has a batch aliased with the groups -- made into files by
the DE and enrichment steps, then rule samples (check_samples), rule sample_report (combine_samples),
the verdict with its samples note, the sensitivity table, the claims' caveats and the terminal answer."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import TARGET
from sample_studies import DATASET, DE, ENRICHMENT, LIB, case, source, workflow_files

from pathverdict.judgement import samples
from pathverdict.steps.robustness import combine_sensitivity
from pathverdict.steps.samples import check_samples, combine_samples
from pathverdict.steps.verdict import claim_caveats, make_verdict
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


def test_the_verdict_the_page_and_the_terminal_name_the_sample_and_the_column(study_dir):
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
    v = pd.read_csv(root / "verdict.tsv", sep="\t", keep_default_na=False).set_index(["dataset", "method"])
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


def test_the_sensitivity_table_and_the_claims_caveats(study_dir, tmp_path):
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
    assert (sens["variant"].str.startswith("leave_one_sample_out:")).sum() == 2 * 6 * 5
    combine_samples(
        qc=lists(study_dir, "qc"), confounding=lists(study_dir, "confounding"), loo=lists(study_dir, "loo"),
        out_qc=str(tmp_path / "qc.tsv"), out_confounding=str(tmp_path / "confounding.tsv"),
        out_html=str(tmp_path / "samples.html"),
    )  # fmt: skip
    caveats = claim_caveats(
        confounding=str(tmp_path / "confounding.tsv"), sensitivity=sens, library=LIB, primary="gsea"
    ).set_index("dataset")
    assert list(caveats.reset_index().columns) == samples.CAVEAT_COLUMNS
    assert caveats.loc["odd", "tests"] == "on_top;enriched" and caveats.loc["odd", "when"] == "yes"
    assert caveats.loc["batchy", "tests"] == "*" and caveats.loc["batchy", "source"] == "confounding"
    assert (caveats["holds"] == "inconclusive").all()
