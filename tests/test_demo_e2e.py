"""The offline demo (config/demo.yaml) end to end: a simulated study with realistic background DE,
off-target effects and correlated modules; an effect planted on the target pathway in two cell
datasets and in the tissue patients with reduced MEIS1; a negative control with background DE and
nothing on the target; and a selection-bias dataset (MEIS1 co-varies with the pathway across
individuals, no disease effect) whose selected analysis puts the pathway on top. Expected: on top
where planted, not in the negative control, and the selection-bias dataset's tissue claim not
reproduced because the selection-aware null explains the enrichment; every page says simulated."""

import json
import re

import pandas as pd
import pytest

from conftest import REPO, run_snakemake

pytestmark = [pytest.mark.e2e, pytest.mark.shared]
PLANTED = ["demo_meis1_overexpression", "demo_meis1_knockout", "demo_tissue"]
CELLS_3V3 = ["demo_meis1_overexpression", "demo_meis1_knockout", "demo_negative_control"]
DATASETS = [*PLANTED[:2], "demo_tissue", "demo_negative_control", "demo_selection_bias"]


@pytest.fixture(scope="module")
def demo(demo_run):
    """The session's run of the demo as shipped, with its terminal output and report (conftest.demo_run)."""
    return demo_run


def test_on_top_where_planted_not_where_null(demo):
    v = pd.read_csv(demo / "results/demo/verdict.tsv", sep="\t")
    head = v[v["primary"]]
    for ds in PLANTED:
        rows = head[head["dataset"] == ds]
        assert len(rows) == 2 and (rows["on_top"] == "yes").all(), rows
        assert (rows["status"] == "on_top").all(), rows
    nc = v[v["dataset"] == "demo_negative_control"]
    assert (nc["on_top"] == "no").all(), nc
    assert (nc["status"] != "on_top").all(), nc
    # the selection alone puts the pathway on top in the selected patients (what the null must catch)
    bias = head[head["dataset"] == "demo_selection_bias"]
    assert (bias["status"] == "on_top").all(), bias


def test_claims_and_selection(demo):
    c = pd.read_csv(demo / "results/demo/claims.tsv", sep="\t", keep_default_na=False).set_index(["claim", "dataset"])
    assert c.loc[("cells", "demo_meis1_overexpression"), "holds"] == "yes"
    assert c.loc[("cells", "demo_meis1_knockout"), "holds"] == "yes"
    # a true effect in the patients with reduced MEIS1: the selection-aware null says it is not the selection
    tissue = c.loc[("tissue", "demo_tissue")]
    assert tissue["holds"] == "yes", tissue["evidence"]
    assert "selection-aware set_score null: empirical p" in tissue["evidence"]
    # no disease effect, MEIS1 moving with the pathway: enriched after the selection, explained by it
    bias = c.loc[("tissue", "demo_selection_bias")]
    assert bias["holds"] == "no", bias["evidence"]
    assert "enriched (FDR <= 0.05): yes" in bias["evidence"]
    assert "the enrichment is explained by the selection" in bias["evidence"]
    # the negative control: a check of the method (passed), never part of a claim
    rows = c.xs("demo_negative_control", level="dataset")
    assert list(rows.index) == ["negative_control"] and rows["holds"].item() == "yes"
    page = (demo / "results/demo/claims.html").read_text()
    assert "Does the study reproduce? partly reproduced" in page and "checks-table" in page
    assert "selection-demo_tissue" in page and "selection-demo_selection_bias" in page
    for ds in ["demo_tissue", "demo_selection_bias"]:
        sel = pd.read_csv(demo / f"results/demo/{ds}/input/selection.tsv", sep="\t")
        treated = sel[sel["group"] == "treated"]
        assert set(treated["kept"]) == {"yes", "no"} and "MEIS1_normalized" in sel.columns
        kept = treated[treated["kept"] == "yes"]["MEIS1_normalized"]
        dropped = treated[treated["kept"] == "no"]["MEIS1_normalized"]
        assert kept.max() < dropped.min()
    study = json.loads((demo / "resources/demo/simulated/study.json").read_text())
    assert study["kind"] == "simulated"
    nc = study["datasets"]["demo_negative_control"]
    assert nc["planted"] == [] and nc["background_de"]["genes"] >= 100 and len(nc["off_target"]["pathways"]) == 3
    assert study["datasets"]["demo_selection_bias"]["planted"] == []
    assert study["datasets"]["demo_tissue"]["effect_in"].startswith("the reduced samples")
    assert study["sources"]["tissue"]["samples_fitted"] == 85


def test_calibration_next_to_each_answer(demo):
    """Per-dataset calibration: every dataset x method of the verdict from the dataset's own fit (the demo's
    small size), the headline method first; its words beside the answers and in the terminal."""
    from pathverdict.judgement import calibration, verdict

    cal = calibration.read_table(demo / "results/demo/calibration.tsv")
    assert list(cal.columns) == calibration.COLUMNS
    assert list(dict.fromkeys(cal["dataset"])) == DATASETS
    for ds, rows in cal.groupby("dataset", sort=False):
        assert list(rows["method"]) == ["ora_all"] + [m for m in verdict.METHODS if m != "ora_all"]
        assert list(rows["primary"]) == [True] + [False] * 4
    assert cal["source"].str.startswith("this dataset's fit (10 null + 10 planted").all()
    assert (cal["n_null"] == 10).all() and (cal["n_planted"] == 10).all() and (cal["n_genes"] >= 3900).all()
    assert cal["fpr_ci_high"].between(0, 1).all() and cal["power"].between(0, 1).all()
    assert (cal["power_ci_low"] <= cal["power"]).all() and (cal["power"] <= cal["power_ci_high"]).all()
    assert cal["background"].str.startswith("background DE estimated from this dataset's DE table").all()
    for ds in CELLS_3V3:
        assert cal.loc[cal["dataset"] == ds, "design"].eq("3 vs 3").all()
    for ds in ["demo_tissue", "demo_selection_bias"]:
        assert cal.loc[cal["dataset"] == ds, "note"].str.contains("selected by MEIS1 expression").all()
    head = calibration.headline_rows(cal).set_index("dataset")
    claims_page = (demo / "results/demo/claims.html").read_text()
    assert 'id="calibration-table"' in claims_page
    for ds in DATASETS:
        words = calibration.power_words(head.loc[ds].to_dict()).replace("'", "&#39;")
        assert words in claims_page


def test_null_and_robustness(demo):
    from pathverdict.judgement.null import read_summary

    null = read_summary(demo / "results/demo/null.tsv").set_index(["dataset", "method"])
    for ds in PLANTED:  # the set score: the observed labels beat every relabeling
        row = null.loc[(ds, "set_score")]
        assert row["informative"] == "yes" and row["empirical_p"] == pytest.approx(row["min_p"])
    for ds in CELLS_3V3:  # 3 vs 3: relabelings give no DE gene
        row = null.loc[(ds, "ora_all")]
        assert row["informative"] == "no" and pd.isna(row["empirical_p"]) and row["note"].startswith("uninformative")
    assert (
        null.loc[("demo_negative_control", "set_score"), "empirical_p"]
        > null.loc[("demo_negative_control", "set_score"), "min_p"]
    )
    assert null.loc[("demo_selection_bias", "set_score"), "empirical_p"] > 0.05
    for ds in ["demo_tissue", "demo_selection_bias"]:
        assert set(null.loc[ds, "selection_aware"]) == {"yes"}
    assert set(null.loc["demo_negative_control", "selection_aware"]) == {"no"}
    assert not null["note"].str.contains("stale results?", regex=False).any()
    side = pd.read_csv(demo / "results/demo/demo_tissue/selection/analyses.tsv", sep="\t", keep_default_na=False)
    assert set(side["analysis"]) == {"selected", "all_patients", "low_vs_high_reference", "continuous_covariate"}
    grid = pd.read_csv(demo / "results/demo/robustness.tsv", sep="\t")
    planted = grid[grid["dataset"].isin(PLANTED) & grid["method"].str.startswith("ora")]
    assert set(grid["library"]) == {"KEGG_2021_Human", "KEGG_2016"} and len(planted) == 3 * 2 * 3 * 9
    ora_all = planted[planted["method"] == "ora_all"]
    assert (ora_all["rank"] == 1).mean() > 0.9


def test_replication_page_and_terminal_line(demo):
    """The replication summary (issue 23 part 3): the cells claim replicates across its two datasets, the
    tissue claim has one poolable dataset (demo_selection_bias's enrichment is explained by the selection)
    and is not tested, the negative control is shown, never pooled, with an interval holding 0; the page
    has the forest plot and the report the figure; the terminal answer has the line."""
    from pathverdict.judgement import replication

    t = replication.read_replication(demo / "results/demo/replication.tsv")
    pooled = t[t["kind"] == "pooled"].set_index("claim")
    assert pooled.loc["cells", "answer"] == "replicated" and pooled.loc["cells", "k"] == 2
    assert pooled.loc["tissue", "answer"] == "not tested" and pooled.loc["tissue", "k"] == 1
    rows = t[t["kind"] == "dataset"].set_index(["claim", "dataset"])
    assert "explained by the selection" in rows.loc[("tissue", "demo_selection_bias"), "reason"]
    nc = rows.loc[("negative_control", "demo_negative_control")]
    assert nc["poolable"] == "no" and nc["ci_low"] < 0 < nc["ci_high"]
    page = (demo / "results/demo/replication.html").read_text()
    assert "SIMULATED" in page and 'id="replication-forest"' in page
    assert "replication.png" in (demo / "report.html").read_text()
    out = (demo / "snakemake.out").read_text()
    assert "Replication across datasets: cells replicated (pooled effect" in out


def test_every_page_says_simulated(demo):
    for page in ["verdict.html", "claims.html", "null.html", "samples.html", "replication.html"]:
        assert "SIMULATED" in (demo / "results" / "demo" / page).read_text(), page
    assert "SIMULATED DATA" in (demo / "report.html").read_text()


def test_sensitivity(demo):
    """results/sensitivity.tsv: its release rows are the verdict; the planted effect does not
    rest on the metallothioneins nor on one gene; the cell datasets' directions are shown."""
    v = pd.read_csv(demo / "results/demo/verdict.tsv", sep="\t")
    s = pd.read_csv(
        demo / "results/demo/sensitivity.tsv",
        sep="\t",
        keep_default_na=False,
        na_values={"rank": [""], "n_terms": [""], "fdr": [""]},
    )
    assert list(s.columns) == [
        "dataset",
        "library",
        "method",
        "variant",
        "rank",
        "n_terms",
        "fdr",
        "on_top",
        "status",
        "detail",
    ]
    rel = s[s["variant"].str.startswith("release:")]
    v = v[v["method"].isin(set(rel["method"]))]  # the release rows re-run ORA and GSEA (not camera)
    assert set(rel["method"]) >= {"ora_all", "ora_up", "ora_down", "gsea"}
    m = v.merge(rel, on=["dataset", "library", "method"], suffixes=("_v", "_s"))
    assert len(m) == len(v) == len(rel)
    assert (m["status_v"] == m["status_s"]).all()
    assert ((m["rank_v"] == m["rank_s"]) | (m["rank_v"].isna() & m["rank_s"].isna())).all()
    for ds in PLANTED:
        w = s[(s["dataset"] == ds) & (s["variant"] == "without_metallothioneins") & (s["method"] == "ora_all")]
        assert len(w) == 2 and (w["status"] == "on_top").all(), w
        loo = s[(s["dataset"] == ds) & s["variant"].str.startswith("leave_one_out:") & (s["method"] == "ora_all")]
        assert len(loo) >= 10 and (loo["status"] == "on_top").all(), loo  # no single gene carries it
        d = s[(s["dataset"] == ds) & (s["variant"] == "direction")]
        assert len(d) == 1 and d["status"].item() == "shown" and "HMOX1 up" in d["detail"].item()
    dirs = pd.read_csv(demo / "results/demo/sensitivity_directions.tsv", sep="\t")
    assert {"HMOX1", "VDR", "MT2A"} <= set(dirs["gene"])
    assert set(dirs["dataset"]) == {"demo_meis1_overexpression", "demo_meis1_knockout"}
    c = pd.read_csv(demo / "results/demo/claims.tsv", sep="\t", keep_default_na=False).set_index(["claim", "dataset"])
    assert "without metallothioneins rank 1" in c.loc[("cells", "demo_meis1_knockout"), "evidence"]


def test_engine_sensitivity_for_every_dataset(demo):
    """sensitivity.tsv has the other DE engine's verdict (engine:pydeseq2) for every dataset, library and
    method of the verdict; each says whether the status is the verdict's (the statements themselves are
    checked against both engines' verdicts in tests/test_engine_sensitivity.py); the default engine ran."""
    v = pd.read_csv(demo / "results/demo/verdict.tsv", sep="\t", keep_default_na=False)
    s = pd.read_csv(demo / "results/demo/sensitivity.tsv", sep="\t", keep_default_na=False)
    eng = s[s["variant"] == "engine:pydeseq2"]
    m = v.merge(eng, on=["dataset", "library", "method"], suffixes=("_v", "_e"))
    assert len(m) == len(v) == len(eng) and set(eng["dataset"]) == set(v["dataset"])
    same = m["status_v"] == m["status_e"]
    assert m.loc[same, "detail"].str.startswith("same status as with r_exact").all()
    assert m.loc[~same, "detail"].str.startswith("status changes: ").all()
    for ds in set(v["dataset"]):
        assert json.loads((demo / f"results/demo/{ds}/de_summary.json").read_text())["engine"] == "r_exact"
        other = json.loads((demo / f"results/demo/{ds}/engine_pydeseq2/de_summary.json").read_text())
        assert other["engine"] == "pydeseq2"
    c = pd.read_csv(demo / "results/demo/claims.tsv", sep="\t", keep_default_na=False).set_index(["claim", "dataset"])
    assert "DE engine pydeseq2: rank " in c.loc[("cells", "demo_meis1_knockout"), "evidence"]


def test_the_samples_are_checked_and_no_answer_rests_on_one(demo):
    """Issue 19 on the demo: the samples page, every sample left out of each 3 vs 3 dataset and the 6
    with the largest share of each 12 vs 12 one, no sample the headline answer rests on, nothing
    flagged, no column confounded: the terminal answer is unchanged."""
    results = demo / "results/demo"
    assert 'id="loo-demo_meis1_knockout"' in (results / "samples.html").read_text()
    s = pd.read_csv(results / "sensitivity.tsv", sep="\t", keep_default_na=False)
    loo = s[s["variant"].str.startswith("leave_one_sample_out:")]
    removed = loo.groupby("dataset")["variant"].nunique().to_dict()
    assert removed == {d: 6 for d in PLANTED + ["demo_negative_control", "demo_selection_bias"]}
    assert set(loo["method"]) == {"ora_all", "ora_up", "ora_down", "gsea", "camera"}
    headline = loo[loo["method"] == "ora_all"]
    assert not headline["detail"].str.startswith(("rests on", "masks")).any()
    qc = pd.read_csv(results / "samples_qc.tsv", sep="\t", keep_default_na=False)
    assert (qc["flags"] == "").all() and (qc["dataset"] == "demo_meis1_knockout").sum() == 6
    conf = pd.read_csv(results / "confounding.tsv", sep="\t", keep_default_na=False)
    assert set(conf["status"]) == {"skipped"}  # the simulation's constant columns only
    # so the sample checks raise no caveat: the claims' answers are those main gave without them
    # (tests/data/claims_demo: the demo's claims before issue 19), and the page lists no caveat
    claims_tsv = pd.read_csv(results / "claims.tsv", sep="\t", keep_default_na=False)
    before = pd.read_csv(REPO / "tests/data/claims_demo/expected_claims.tsv.gz", sep="\t", keep_default_na=False)
    cols = ["claim", "dataset", "role", "holds"]
    assert claims_tsv[cols].equals(before[cols]), claims_tsv[cols]
    assert not claims_tsv["evidence"].str.contains("; inconclusive: ").any()
    assert 'id="caveats' not in (results / "claims.html").read_text()


def test_terminal_shows_progress_and_ends_with_the_answer(demo):
    out = (demo / "snakemake.out").read_text()
    lines = out.splitlines()
    # progress is kept, the per-job blocks are not
    assert any(re.fullmatch(r"\d+ of \d+ steps \(\d+%\) done", ln) for ln in lines)
    assert not [ln for ln in lines if ln.startswith(("    input:", "    output:", "    reason:", "Shell command"))]
    # a few progress lines per job (722 lines for 37 jobs with the per-job blocks)
    n_jobs = int(re.search(r"^total\s+(\d+)$", out, re.M).group(1))
    assert len(lines) < 6 * n_jobs + 60, f"{len(lines)} lines of output for {n_jobs} jobs"
    # the summary: per dataset the target's status, per claim the answer, where to read more
    start = next(i for i, ln in enumerate(lines) if "pathverdict: is Mineral absorption on top?" in ln)
    summary = "\n".join(lines[start:])
    assert "SIMULATED" in lines[start]
    for ds in PLANTED:
        row = next(ln for ln in lines[start:] if ln.strip().startswith(ds + " "))
        assert row.split()[1:3] == ["on", "top"] and row.split()[3].startswith("1/"), row
    assert re.search(r"demo_negative_control\s+(not on top|inconclusive)", summary)
    # the power rule: the only dataset not on top is the negative control, whose check power does not qualify,
    # so the terminal says nothing of power (tests/test_summary.py: the line under a claim's dataset)
    flat = " ".join(summary.split())
    assert "with this design a real effect" not in flat
    # the claims line says what results/claims.tsv says
    from pathverdict.judgement import claims

    ids = ["cells", "tissue", "metallothioneins"]  # config/demo.yaml's claims, in its order
    answer = claims.summarise(pd.read_csv(demo / "results/demo/claims.tsv", sep="\t", keep_default_na=False), ids)
    per_claim = " · ".join(f"{k} {answer[k]}" for k in ids)
    assert f"Claims: {per_claim}" in summary
    assert "Negative control (target expected not on top): passed" in summary
    assert f"Study: {answer['study'].upper()}" in summary
    assert "results/demo/claims.html" in summary and "--configfile demo.yaml --report report.html" in summary


def test_a_warm_run_ends_with_the_same_answer(demo):
    """Snakemake skips `onsuccess` when there is nothing to do; the answer is printed all the same
    (pathverdict.summary.watch_nothing_to_do), and not by a dry run."""
    cfg = demo / "demo.yaml"

    def answer(text):
        lines = text.splitlines()
        start = next(i for i, ln in enumerate(lines) if "pathverdict: is Mineral absorption on top?" in ln)
        end = next(i for i in range(start + 1, len(lines)) if set(lines[i]) == {"="})
        return lines[start : end + 1], lines

    rc, out = run_snakemake(demo, cfg, cores=2, timeout=300)
    assert rc == 0, out[-3000:]
    assert "Nothing to be done" in out
    warm, lines = answer(out)
    assert lines[-len(warm) :] == warm  # the last thing printed
    cold, _ = answer((demo / "snakemake.out").read_text())
    assert warm == cold and any(ln.strip().startswith("demo_tissue ") for ln in warm)
    rc, out = run_snakemake(demo, cfg, "-n", cores=2, timeout=300)
    assert rc == 0 and "Nothing to be done" in out and "pathverdict: is" not in out
