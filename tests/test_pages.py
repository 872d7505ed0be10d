"""The HTML pages (Jinja2 templates, one stylesheet) and the answer where people look:
claims with calibration and sensitivity, the null page, provenance, the report's landing
answer, and the check that a report is built from the config that made the results."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pathverdict.judgement import claims, verdict
from pathverdict.report import plots
from pathverdict import render, summary
from pathverdict.report.provenance import report_answer
from pathverdict.steps.verdict import make_claims
from study_claims import SARAYLOO, default_study

BANNER = "SIMULATED DATA: this is a demonstration on a simulated study, not on real samples."
ROLES = {"oe": "cells_overexpression", "kd": "cells_loss_of_function", "thal": "tissue", "ctrl": "negative_control"}


def verdict_table():
    base = {
        "library": "KEGG",
        "primary": True,
        "target": "T",
        "target_id": "",
        "n_terms": 200,
        "p_bound": False,
        "nes": np.nan,
        "overlap_size": 5,
        "set_size": 50,
        "genes": "HMOX1;VDR;ATP1B1;MT2A",
        "top_term": "T",
        "de_genes": 300,
        "note": "",
        "method": "ora_all",
    }
    rows = [
        {"dataset": d, "on_top": "yes", "status": "on_top", "rank": 1, "pvalue": 1.0336199999999999e-27, "fdr": 2e-25}
        for d in ("oe", "kd", "thal")
    ]
    rows.append({"dataset": "ctrl", "on_top": "no", "status": "not_on_top", "rank": 40, "pvalue": 0.3, "fdr": 0.9})
    rows.append(
        {
            "dataset": "oe",
            "method": "gsea",
            "primary": False,
            "on_top": "no",
            "status": "not_on_top",
            "rank": 2,
            "pvalue": 1 / 1001,
            "p_bound": True,
            "fdr": 0.04,
            "nes": 2.1,
        }
    )
    return pd.DataFrame([{**base, **r} for r in rows], columns=verdict.VERDICT_COLUMNS)


def genes_table():
    rows = [
        {
            "dataset": d,
            "symbol": s,
            "gene_id": f"ENSG{i:011d}",
            "gene_type": "protein-coding",
            "reason": "requested" if s != "MT2A" else "pattern",
            "baseMean": 100.0,
            "log2FoldChange": 1.234567,
            "padj": 1e-6,
            "status": "up",
            "detail": "padj < 0.05",
        }
        for i, (d, s) in enumerate((d, s) for d in ("oe", "kd", "thal", "ctrl") for s in ("HMOX1", "VDR", "MT2A"))
    ]
    return pd.DataFrame(rows, columns=verdict.GENE_COLUMNS)


CALIBRATION = pd.DataFrame(
    {
        "dataset": ["oe", "oe", "kd", "thal", "ctrl"],
        "method": ["ora_all", "gsea", "ora_all", "ora_all", "ora_all"],
        "primary": [True, False, True, True, True],
        "design": ["3 vs 3", "3 vs 3", "3 vs 3", "5 vs 5", "3 vs 3"],
        "scenario": ["3v3", "3v3", "3v3", "", "3v3"],
        "fpr_on_top": [0.0123, 0.5, 0.0123, 0.031, 0.0123],
        "fpr_ci_low": [0.001, 0.3, 0.001, 0.01, 0.001],
        "fpr_ci_high": [0.045, 0.7, 0.045, 0.07, 0.045],
        "min_power": [0.8] * 5,
        "power": [0.81234, 0.1, 0.81234, 0.5, 0.81234],
        "power_ci_low": [0.75, 0.05, 0.75, 0.3, 0.75],
        "power_ci_high": [0.86, 0.2, 0.86, 0.7, 0.86],
        "power_effect": ["|log2FC| 1 on 30% of the pathway's genes"] * 5,
        "n_null": [200, 200, 200, 100, 200],
        "n_planted": [200, 200, 200, 100, 200],
        "source": ["package table", "package table", "package table", "this dataset's fit", "package table"],
        "note": ["", "", "", "", ""],
    }
)

SENSITIVITY = pd.DataFrame(
    {
        "dataset": ["oe", "oe", "oe", "thal"],
        "library": ["KEGG"] * 4,
        "method": ["ora_all"] * 4,
        "variant": ["without_metallothioneins", "leave_one_out:HMOX1", "release:KEGG_2016", "direction"],
        "rank": [1, 3, 1, np.nan],
        "n_terms": [200, 200, 180, np.nan],
        "fdr": [1e-5, 0.2, 1e-4, np.nan],
        "on_top": ["yes", "no", "yes", "no"],
        "status": ["on_top", "not_on_top", "on_top", "inconclusive"],
        "detail": ["", "rank 3 > top 1", "", "no DE genes"],
    }
)


def test_pvalue_bounds_and_numbers():
    assert render.pval(1 / 1001, True) == "< 0.001"  # a bound rounded up stays a bound
    assert render.pval(1 / 51, True) == "< 0.02"
    assert render.pval(0.0123456, False) == "0.0123"
    assert render.num(1.0336199999999999e-27) == "1.03e-27"
    assert render.num(float("nan")) == "–" and render.num("") == "–" and render.num(12.0) == "12"
    assert verdict.fmt_p(1 / 1001, True) == "< 0.001"


def test_verdict_page_is_compact_and_says_simulated():
    v, g = verdict_table(), genes_table()
    page = verdict.to_html(v, g, verdict.VerdictSettings(), "Is T on top?", BANNER)
    assert page.count(BANNER) == 1 and "<style>" in page and "overflow-wrap" in page  # the one stylesheet
    assert "1.0336199999999999e-27" not in page and "1.03e-27" in page
    assert "&lt; 0.001" in page and not re.search(r"p = 0(?![.0-9])", page)  # GSEA bound, never p = 0
    assert "ATP1B1" in page and 'class="genes"' in page  # gene lists break between names only
    assert re.search(r"<details[^>]*>\s*<summary>Details of every row", page)  # details folded
    md = verdict.to_markdown(v, g, verdict.VerdictSettings(), "Is T on top?", BANNER)
    assert md.startswith(f"**{BANNER}**")


def test_claims_page_shows_calibration_and_sensitivity_when_given():
    v, g = verdict_table(), genes_table()
    t = claims.evaluate(v, g, ROLES, target="T", claims=SARAYLOO)
    s = claims.summarise(t, SARAYLOO)
    plain = claims.to_html(t, s, "T", SARAYLOO, BANNER)
    assert 'id="calibration-table"' not in plain and 'id="sensitivity"' not in plain  # only when given
    page = claims.to_html(t, s, "T", SARAYLOO, BANNER, calibration=CALIBRATION, sensitivity=SENSITIVITY)
    assert page.count(BANNER) == 1 and "Does the study reproduce? reproduced" in page
    # the answer overall and per claim, one line each
    answer = re.search(r'<ul class="answer" id="claims-answer">(.*?)</ul>', page, re.S).group(1)
    assert len(re.findall(r"<li>", answer)) == 1 + len(SARAYLOO) + 1  # overall, claims, negative control
    # calibration beside each dataset's answer, and as its own table
    assert (
        "3 vs 3, ora_all: false-positive rate of on top 0.0123 (95% CI up to 0.045); with this design a real effect "
        "of |log2FC| 1 on 30% of the pathway&#39;s genes is called on top in 81% (95% CI 75%-86%) of simulated "
        "studies (power &gt;= 0.8: a &#39;not on top&#39; here counts as no)" in page
    )
    assert "5 vs 5, ora_all: " in page and "here is inconclusive, not a no" in page  # thal: power 0.5
    assert "3 vs 3, gsea" not in page  # beside the answer: the headline method only; every method in the table
    assert page.count('class="calibration"') == len(t)
    assert 'id="calibration-table"' in page and "this dataset&#39;s fit" in page and ">gsea<" in page
    # the sensitivity section: variants in words, a sentence per dataset
    assert (
        "leaving out HMOX1" in page and "without the metallothioneins" in page and "library release KEGG_2016" in page
    )
    assert "oe: the target is on top in 2 of 3 variant(s)." in page
    assert "thal: the target is on top in 0 of 1 variant(s), inconclusive in 1." in page


def test_make_claims_reads_optional_tables(tmp_path):
    from pathverdict.util import write_tsv

    v, g = verdict_table(), genes_table()
    paths = {n: tmp_path / f"{n}.tsv" for n in ("verdict", "genes", "calibration", "sensitivity")}
    for name, table in zip(paths, (v, g, CALIBRATION, SENSITIVITY)):
        write_tsv(table, paths[name])
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
        "null": {"enabled": False},
    }
    make_claims(
        roles=ROLES,
        claims_settings=default_study()["claims"],
        perturbed_gene="MEIS1",
        target=cfg["target_pathway"],
        verdict_settings=cfg["verdict"],
        alpha=cfg["de"]["alpha"],
        null_settings=cfg["null"],
        verdict=paths["verdict"],
        genes=paths["genes"],
        out_tsv=tmp_path / "c.tsv",
        out_html=tmp_path / "c.html",
        calibration=str(paths["calibration"]),
        sensitivity=str(paths["sensitivity"]),
    )
    page = (tmp_path / "c.html").read_text()
    assert 'id="calibration-table"' in page and 'id="sensitivity-oe"' in page


def test_null_page_is_readable():
    table = pd.DataFrame(
        {
            "dataset": ["a", "a", "b"],
            "library": ["KEGG"] * 3,
            "method": ["set_score", "ora_all", "set_score"],
            "statistic": ["abs_stat_z", "rank", "abs_stat_z"],
            "observed": [23.81190001, 1.0, 1.87],
            "n_permutations": [9, 9, 40],
            "n_defined": [9, 0, 40],
            "n_as_extreme": [0, np.nan, 7],
            "empirical_p": [0.1, np.nan, 8 / 41],
            "min_p": [0.1, 1.0, 1 / 41],
            "informative": ["yes", "no", "yes"],
            "selection_aware": ["no", "no", "yes"],
            "scheme": ["labels permuted"] * 3,
            "observed_fdr": [np.nan, 1.0336199999999999e-27, np.nan],
            "note": ["only 9 relabelings", "uninformative: none of the 9 relabelings produced a DE gene; more", ""],
        }
    )
    page = render.null_page(table, BANNER)
    assert page.count(BANNER) == 1
    for header in ("statistic", "empirical_p", "n_defined", "selection_aware"):
        assert f"<th>{header}</th>" not in page  # readable headers, not code names
    assert "z = 23.8" in page and "≤ 0.1" in page and "0.195" in page
    sentences = re.search(r'<ul class="answer" id="null-summary">(.*?)</ul>', page, re.S).group(1)
    assert sentences.count("<li>") == 2  # one sentence per dataset
    assert "a: set score: 0 of 9 relabelings as extreme as observed, empirical p ≤ 0.1 (cannot go below 0.1" in page
    assert "rank by ora_all: uninformative (none of the 9 relabelings produced a DE gene)" in page
    assert "b: set score (selection-aware): 7 of 40 relabelings as extreme as observed, empirical p = 0.195." in page


def test_robustness_figure_fits_the_report(tmp_path):
    from PIL import Image

    from pathverdict.judgement import robustness

    rows = []
    for ds in ("demo_meis1_overexpression", "demo_null"):
        for lib in ("KEGG_2021_Human", "KEGG_2016"):
            for m in ("ora_up", "ora_down", "ora_all"):
                for padj in (0.01, 0.05, 0.1):
                    for lfc in (0, 0.58, 1):
                        rows.append(
                            {
                                "dataset": ds,
                                "library": lib,
                                "method": m,
                                "padj_threshold": padj,
                                "lfc_threshold": lfc,
                                "rank": 1 if ds != "demo_null" else np.nan,
                                "n_terms": 150,
                                "fdr": 1e-5,
                                "on_top": "yes",
                                "status": "on_top",
                            }
                        )
            rows.append(
                {
                    "dataset": ds,
                    "library": lib,
                    "method": "gsea",
                    "padj_threshold": np.nan,
                    "lfc_threshold": np.nan,
                    "rank": 3,
                    "n_terms": 120,
                    "fdr": 0.2,
                    "on_top": "no",
                    "status": "not_on_top",
                }
            )
    grid = pd.DataFrame(rows)
    grid = grid.reindex(columns=list(dict.fromkeys(list(robustness.GRID_COLUMNS) + list(grid.columns))))
    out = tmp_path / "robustness.png"
    plots.robustness_heatmap(grid, out, "SIMULATED — Target pathway rank across DE thresholds, libraries, methods")
    width, height = Image.open(out).size
    # shown ~700 px wide in the report: at most ~1000 px, so 7.5-pt type stays >= ~10 px on screen
    assert width <= 1000, width
    assert height > width  # one panel per library, stacked


def test_long_titles_are_wrapped_to_the_figure():
    from pathverdict.report.plots import fit_title

    title = "SIMULATED — Mineral absorption: log2 fold change of its genes (* padj < 0.05)"
    lines = fit_title(title, 4.8).split("\n")
    assert len(lines) >= 2 and " ".join(lines) == title
    assert all(len(line) <= (4.8 - 0.3) * 72 / (10 * 0.62) for line in lines)


def test_report_answer_for_the_landing_page(tmp_path):
    from pathverdict.util import write_tsv

    v, g = verdict_table(), genes_table()
    write_tsv(v, tmp_path / "verdict.tsv")
    t = claims.evaluate(v, g, ROLES, target="T", claims=SARAYLOO)
    write_tsv(t, tmp_path / "claims.tsv")
    study = default_study()
    cfg = {
        "target_pathway": "T",
        "perturbed_gene": "MEIS1",
        "claims": study["claims"],
        "datasets": {d: {"role": r} for d, r in ROLES.items()},
    }
    ans = report_answer(cfg, str(tmp_path))
    assert ans["study_words"] == "REPRODUCED"
    assert [line.split(":")[0] for line in ans["claims"]] == [
        "Claim *cells*",
        "Claim *tissue*",
        "Claim *metallothioneins*",
        "Check of the method on the negative control(s)",
    ]
    assert ans["datasets"][0] == "oe: **on top** (rank 1 of 200, p 1.03e-27, FDR 2e-25)"
    assert report_answer(cfg, str(tmp_path / "none")) is None


def test_report_of_a_study_needs_its_finished_run(tmp_path):
    """`--report` reports the config's own study (results/<study>/): without its results, or with a
    run that did not finish, or with results of other datasets, it says so and gives the commands."""
    record = tmp_path / "results" / "demo" / ".pathverdict-run.json"
    demo = ["demo_a", "demo_b"]
    msg = summary.check_report_config(record, demo, ["config/demo.yaml"], "demo")
    assert msg.startswith(f"Study 'demo' has no results yet: {record.parent}/verdict.tsv does not exist."), msg
    assert "Run it first (./run.sh --configfile config/demo.yaml)" in msg
    assert "then build its report (./run.sh --report report.html --configfile config/demo.yaml)" in msg
    msg = summary.check_report_config(
        tmp_path / "results/sarayloo2019/.pathverdict-run.json", ["x"], [], "sarayloo2019"
    )
    assert "Run it first (./run.sh), then build its report (./run.sh --report report.html)" in msg
    summary.record_run(record, demo, [], "demo")  # no results/demo/ folder yet (a dry run): nothing written
    assert not record.exists()
    summary.claim_study(record, "demo", ["config/demo.yaml"])  # a run starts
    assert json.loads(record.read_text()) == {"study": "demo", "configfiles": ["config/demo.yaml"]}
    (record.parent / "verdict.tsv").write_text("dataset\n")  # ... and fails after the verdict
    msg = summary.check_report_config(record, demo, ["config/demo.yaml"], "demo")
    assert msg.startswith("Study 'demo' has no finished run yet"), msg
    summary.record_run(record, demo, ["config/demo.yaml"], "demo")  # a run succeeds
    assert json.loads(record.read_text()) == {"study": "demo", "configfiles": ["config/demo.yaml"], "datasets": demo}
    assert summary.check_report_config(record, list(reversed(demo)), ["config/demo.yaml"], "demo") is None
    msg = summary.check_report_config(record, ["demo_a"], ["config/demo.yaml"], "demo")
    assert f"The results in {record.parent}/ were made with the datasets demo_a, demo_b" in msg
    assert "config/demo.yaml now lists demo_a. Run it first (./run.sh --configfile config/demo.yaml)" in msg


def test_a_study_folder_belongs_to_one_config_file(tmp_path):
    """A second config that names the same study (its `study:`, or the same file name) is refused
    with the fix; the same config given another way, or with an overlay file after it, is not."""
    record = tmp_path / "results" / "demo" / ".pathverdict-run.json"
    assert summary.check_study_owner(record, "demo", ["other/demo.yaml"]) is None  # a new study
    summary.claim_study(record, "demo", ["config/demo.yaml"])
    summary.claim_study(record, "demo", ["other/demo.yaml"])  # never replaces the owner
    assert json.loads(record.read_text())["configfiles"] == ["config/demo.yaml"]
    assert summary.check_study_owner(record, "demo", ["config/demo.yaml"]) is None
    assert summary.check_study_owner(record, "demo", [str(Path.cwd() / "config" / "demo.yaml")]) is None
    assert summary.check_study_owner(record, "demo", ["config/demo.yaml", "local.yaml"]) is None
    msg = summary.check_study_owner(record, "demo", ["other/demo.yaml"])
    assert msg.startswith(
        f"{record.parent}/ holds the results of study 'demo' made with config/demo.yaml; other/demo.yaml names the "
        "same study"
    ), msg
    assert "Fix: give this config its own name (e.g. `study: demo_2` in other/demo.yaml" in msg
    assert f"remove {record.parent}/ (and resources/demo/, logs/demo/) first" in msg
    default = tmp_path / "results" / "sarayloo2019" / ".pathverdict-run.json"
    summary.claim_study(default, "sarayloo2019", [])  # the default config
    assert summary.check_study_owner(default, "sarayloo2019", ["config/config.yaml"]) is None
    msg = summary.check_study_owner(default, "sarayloo2019", ["mine.yaml"])
    assert "made with config/config.yaml; mine.yaml names the same study" in msg


@pytest.mark.parametrize(
    "page",
    ["base.html", "verdict.html", "claims.html", "null.html", "provenance.html", "samples.html", "replication.html"],
)
def test_every_page_extends_the_one_stylesheet(page):
    text = (render.TEMPLATES / page).read_text()
    assert "<style" not in text or page == "base.html"
    assert page == "base.html" or text.startswith('{% extends "base.html" %}')


def test_provenance_names_each_datasets_engine_and_a_table_has_none():
    """The DE section of the provenance page: the engine and its version of a dataset with counts; a
    dataset given as a DE table (its de_summary.json has no engine keys) says so instead of failing."""
    counted = {"dataset": "cells", "engine": "r_exact", "engine_version": "r_exact (R DESeq2 1.38 step by step)"}
    table = {"dataset": "liver", "source": "de_table", "design": "from the table (DESeq2 results())", "contrast": []}
    common = {"genes_in": 100, "genes_tested": 90, "significant": 10, "up": 6, "down": 4}
    page = render.render(
        "provenance.html",
        title="Provenance",
        datasets=[],
        annotation="",
        libraries=[],
        de=[{**common, "design": "~condition", "contrast": ["c", "a", "b"], **counted}, {**common, **table}],
        alpha=0.05,
        tools={},
    )
    rows = re.findall(r"<tr><td>(\w+)</td><td class=\"any\">([^<]*)</td>", page.split('id="provenance-de"')[1])
    assert rows == [("cells", "r_exact (R DESeq2 1.38 step by step)"), ("liver", "none: the authors&#39; DE table")]
