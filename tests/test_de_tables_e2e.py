"""DE tables as input, end to end (config/examples/marioni2008_liver_tables.yaml, plus a table downloaded
from a server on 127.0.0.1): the study gives the answer its config states, the tables' datasets run
without prepare_dataset, deseq2 or the null, and what needs counts is `not tested` with the reason in the
verdict, claims, null, calibration, figures, provenance and terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from fixtures_http import Reply, http_server, http_server_module  # noqa: F401
from test_example_study_e2e import stated_answer

from conftest import run_snakemake
from pathverdict.judgement import claims

pytestmark = [pytest.mark.e2e, pytest.mark.shared]

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "examples" / "marioni2008_liver_tables.yaml"
TABLES = REPO / "tests" / "data" / "de_tables"
CLAIMS = ["liver_on_top", "plasma_proteins", "threshold_free", "correlation_aware"]


@pytest.fixture(scope="module")
def tables_run(tmp_path_factory, shared, http_server_module):
    work = tmp_path_factory.mktemp("tables")
    text = CONFIG.read_text()
    cfg = yaml.safe_load(text.replace("../shared/data", str(shared)).replace("tests/data/de_tables", str(TABLES)))
    # a fourth dataset: a table on the web (the limma table of the LCLs), analysed, in no claim
    http_server_module.route(
        "/suppl/S4.tsv.gz", Reply(200, (TABLES / "limma_voom_geuvadis_lcl_sex.tsv.gz").read_bytes())
    )
    cfg["datasets"]["lcl_from_url"] = {"role": "other", "de_table": {"url": http_server_module.url("/suppl/S4.tsv.gz")}}
    cfg["downloads"] = {"cache_dir": str(work / "cache"), "retries": 1, "backoff": 0.01}
    (work / "tables.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    rc, out = run_snakemake(work, work / "tables.yaml", cores=2, timeout=1200)
    assert rc == 0, out[-5000:]
    return work, out, stated_answer(text)


def test_the_config_states_its_answer():
    stated = stated_answer(CONFIG.read_text())
    assert [stated[c] for c in CLAIMS] == ["inconclusive", "reproduced", "reproduced", "not tested"]
    assert (stated["negative_control"], stated["study"]) == ("passed", "partly reproduced") and len(stated) == 6


def test_the_run_gives_the_stated_answer(tables_run):
    work, out, stated = tables_run
    res = work / "results" / "marioni2008_liver_tables"
    table = pd.read_csv(res / "claims.tsv", sep="\t", keep_default_na=False)
    assert claims.summarise(table, CLAIMS) == stated, table.to_string()
    assert "Claims: " + " · ".join(f"{c} {stated[c]}" for c in CLAIMS) in out
    ev = table.set_index(["claim", "dataset"])["evidence"]
    assert (
        "camera (KEGG_2021_Human): not tested (CAMERA needs the expression of every sample"
        in ev[("correlation_aware", "liver_edger")]
    )
    # the DESeq2 table gives the counts path's numbers (config/examples/marioni2008_liver.yaml)
    verdict = pd.read_csv(res / "verdict.tsv", sep="\t").set_index(["dataset", "method"])
    assert tuple(verdict.loc[("liver_deseq2", "ora_all"), ["rank", "n_terms"]]) == (1, 242)


def test_what_needs_counts_is_not_tested_with_the_reason(tables_run):
    work, out, _ = tables_run
    res = work / "results" / "marioni2008_liver_tables"
    datasets = ["liver_deseq2", "liver_edger", "li2008_lncap", "lcl_from_url"]
    verdict = pd.read_csv(res / "verdict.tsv", sep="\t", keep_default_na=False)
    camera = verdict[verdict["method"] == "camera"]
    assert list(camera["dataset"]) == datasets and set(camera["status"]) == {"not_tested"}
    assert all("no counts" in n for n in camera["note"])
    null = pd.read_csv(res / "null.tsv", sep="\t", keep_default_na=False)
    assert list(null["dataset"]) == datasets and set(null["informative"]) == {"not tested"}
    assert "not tested" in (res / "null.html").read_text()
    cal = pd.read_csv(res / "calibration.tsv", sep="\t", keep_default_na=False)
    assert set(cal["source"]) == {"not calibrated"} and set(cal["note"]) == {
        "a DE table has no counts to simulate from"
    }
    assert "not tested (DE table)" in out  # the terminal's null column
    for d in datasets:  # no count-based job ran, and every figure is there
        assert not (work / "logs" / "marioni2008_liver_tables" / d / "deseq2.log").exists()
        assert (work / "logs" / "marioni2008_liver_tables" / d / "import_de_table.log").exists()
        for plot in ("pca", "ma", "volcano", "dotplot"):
            assert (res / d / "plots" / f"{plot}.png").stat().st_size > 1000
    grid = pd.read_csv(res / "robustness.tsv", sep="\t", keep_default_na=False)
    assert set(grid["dataset"]) == set(datasets)
    # the sample checks need counts and a sample sheet: not tested, with the reason, never blank
    assert all(n.startswith("sample checks not tested: a DE table (") for n in verdict["samples"])
    page = (res / "samples.html").read_text()
    assert all(f"<li>{d}: not tested: a DE table (" in page for d in datasets)
    qc = pd.read_csv(res / "samples_qc.tsv", sep="\t", keep_default_na=False)
    assert list(qc["dataset"]) == datasets and all(n.startswith("not tested: a DE table (") for n in qc["note"])
    sens = pd.read_csv(res / "sensitivity.tsv", sep="\t", keep_default_na=False)
    rows = sens[sens["variant"].str.startswith("leave_one_sample_out")]
    assert list(rows["dataset"]) == datasets and set(rows["status"]) == {"not tested"}  # no removal rows
    # nor can the other DE engine re-run a table: one `not tested` engine row each, with the reason
    rows = sens[sens["variant"] == "engine:pydeseq2"]
    assert list(rows["dataset"]) == datasets and set(rows["status"]) == {"not tested"}
    assert rows["detail"].str.contains("DE table").all(), rows["detail"].tolist()
    assert "↳ samples:" not in out  # the terminal's null column says DE table


def test_what_was_recognised_is_recorded(tables_run):
    work, _, _ = tables_run
    res = work / "results" / "marioni2008_liver_tables"
    edger = json.loads((res / "liver_edger" / "input" / "prepare.json").read_text())
    assert edger["de_table"]["layout"] == "edgeR topTags()" and edger["ranking"] == "sign(log2FC) x sqrt(LR statistic)"
    assert any("write.table" in n for n in edger["de_table"]["notes"])
    url = json.loads((res / "lcl_from_url" / "input" / "prepare.json").read_text())
    assert url["de_table"]["layout"] == "limma topTable()" and url["source"]["url"].startswith("http://127.0.0.1")
    assert (work / "resources" / "marioni2008_liver_tables" / "de_tables" / "lcl_from_url" / "source.json").is_file()
    prov = json.loads((res / "provenance.json").read_text())
    assert [d["de_table"]["layout"] for d in prov["datasets"]][:2] == ["DESeq2 results()", "edgeR topTags()"]
    page = (res / "provenance.html").read_text()
    assert "published DE table" in page and "GSEA ranks by sign(log2FC) x sqrt(LR statistic)" in page
