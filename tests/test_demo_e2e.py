"""The offline demo (config/demo.yaml) end to end: a simulated study with an effect planted on
the target pathway in three datasets and none in a null dataset (the study's negative control).
The verdict must say "on top" where planted and not where null; the negative control never
enters a claim; every page says it is simulated."""
import json
import re

import pandas as pd
import pytest

from conftest import REPO, run_snakemake

pytestmark = [pytest.mark.e2e, pytest.mark.shared]
PLANTED = ["demo_meis1_overexpression", "demo_meis1_knockout", "demo_tissue"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, shared):
    work = tmp_path_factory.mktemp("demo")
    cfg = work / "demo.yaml"
    cfg.write_text((REPO / "config" / "demo.yaml").read_text().replace("../shared/data", str(shared)))
    rc, out = run_snakemake(work, cfg, cores=2, timeout=900)
    assert rc == 0, out[-5000:]
    (work / "snakemake.out").write_text(out)
    rc, out = run_snakemake(work, cfg, "--report", "report.html", timeout=300)
    assert rc == 0, out[-3000:]
    return work


def test_on_top_where_planted_not_where_null(demo):
    v = pd.read_csv(demo / "results/verdict.tsv", sep="\t")
    head = v[v["primary"]]
    for ds in PLANTED:
        rows = head[head["dataset"] == ds]
        assert len(rows) == 2 and (rows["on_top"] == "yes").all(), rows
        assert (rows["status"] == "on_top").all(), rows
    null = v[v["dataset"] == "demo_null"]
    assert (null["on_top"] == "no").all(), null
    assert (null["status"] != "on_top").all(), null


def test_claims_and_selection(demo):
    c = pd.read_csv(demo / "results/claims.tsv", sep="\t", keep_default_na=False).set_index(["claim", "dataset"])
    assert c.loc[("cells", "demo_meis1_overexpression"), "holds"] == "yes"
    assert c.loc[("cells", "demo_meis1_knockout"), "holds"] == "yes"
    # the planted effect does not depend on the selection by MEIS1: the selection-aware null must say so
    tissue = c.loc[("tissue", "demo_tissue")]
    assert tissue["holds"] == "yes", tissue["evidence"]
    assert "selection-aware set_score null: empirical p" in tissue["evidence"]
    for ds in PLANTED:
        assert c.loc[("metallothioneins", ds), "holds"] == "yes"
    # the null dataset is the negative control: a check of the method (passed), never part of a claim
    rows = c.xs("demo_null", level="dataset")
    assert list(rows.index) == ["negative_control"] and rows["holds"].item() == "yes"
    page = (demo / "results/claims.html").read_text()
    assert "Does the study reproduce? reproduced" in page and "checks-table" in page
    assert "selection-demo_tissue" in page  # the selection analyses side by side
    sel = pd.read_csv(demo / "results/demo_tissue/input/selection.tsv", sep="\t")
    treated = sel[sel["group"] == "treated"]
    assert set(treated["kept"]) == {"yes", "no"} and "MEIS1_normalized" in sel.columns
    kept = treated[treated["kept"] == "yes"]["MEIS1_normalized"]
    dropped = treated[treated["kept"] == "no"]["MEIS1_normalized"]
    assert kept.max() < dropped.min()
    study = json.loads((demo / "resources/simulated/study.json").read_text())
    assert study["kind"] == "simulated" and study["datasets"]["demo_null"]["planted"] == []


def test_null_and_robustness(demo):
    from pathverdict.null import read_summary

    null = read_summary(demo / "results/null.tsv").set_index(["dataset", "method"])
    for ds in PLANTED:  # the set score: the observed labels beat every relabeling
        row = null.loc[(ds, "set_score")]
        assert row["informative"] == "yes" and row["empirical_p"] == pytest.approx(row["min_p"])
    for ds in ["demo_meis1_overexpression", "demo_meis1_knockout", "demo_null"]:  # 3 vs 3: no DE gene relabelled
        row = null.loc[(ds, "ora_all")]
        assert row["informative"] == "no" and pd.isna(row["empirical_p"]) and row["note"].startswith("uninformative")
    assert null.loc[("demo_null", "set_score"), "empirical_p"] > null.loc[("demo_null", "set_score"), "min_p"]
    assert set(null.loc["demo_tissue", "selection_aware"]) == {"yes"}
    assert set(null.loc["demo_null", "selection_aware"]) == {"no"}
    assert not null["note"].str.contains("stale results?", regex=False).any()
    side = pd.read_csv(demo / "results/demo_tissue/selection/analyses.tsv", sep="\t", keep_default_na=False)
    assert set(side["analysis"]) == {"selected", "all_patients", "low_vs_high_reference", "continuous_covariate"}
    grid = pd.read_csv(demo / "results/robustness.tsv", sep="\t")
    planted = grid[grid["dataset"].isin(PLANTED) & grid["method"].str.startswith("ora")]
    assert set(grid["library"]) == {"KEGG_2021_Human", "KEGG_2016"} and len(planted) == 3 * 2 * 3 * 9
    assert (planted["rank"] == 1).mean() > 0.9


def test_every_page_says_simulated(demo):
    for page in ["verdict.html", "claims.html", "null.html"]:
        assert "SIMULATED" in (demo / "results" / page).read_text(), page
    assert "SIMULATED DATA" in (demo / "report.html").read_text()


def test_terminal_shows_progress_and_ends_with_the_answer(demo):
    out = (demo / "snakemake.out").read_text()
    lines = out.splitlines()
    # progress is kept, the per-job blocks are not
    assert any(re.fullmatch(r"\d+ of \d+ steps \(\d+%\) done", ln) for ln in lines)
    assert not [ln for ln in lines if ln.startswith(("    input:", "    output:", "    reason:", "Shell command"))]
    assert len(lines) < 300, f"{len(lines)} lines of output"  # 722 with the per-job blocks
    # the summary: per dataset the target's status, per claim the answer, where to read more
    start = next(i for i, ln in enumerate(lines) if "pathverdict: is Mineral absorption on top?" in ln)
    summary = "\n".join(lines[start:])
    assert "SIMULATED" in lines[start]
    for ds in PLANTED:
        row = next(ln for ln in lines[start:] if ln.strip().startswith(ds + " "))
        assert row.split()[1:3] == ["on", "top"] and row.split()[3].startswith("1/"), row
    assert re.search(r"demo_null\s+(not on top|inconclusive)", summary)
    assert "Claims: cells reproduced · tissue reproduced · metallothioneins reproduced" in summary
    assert "Negative control (target expected not on top): passed" in summary
    assert "Study: REPRODUCED" in summary
    assert "results/claims.html" in summary and "--configfile demo.yaml --report report.html" in summary
