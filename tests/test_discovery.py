"""Discovery (issue 23, part 1) against a local server answering as E-utilities and GEO do
(tests/discovery_series.py: six series, human and mouse, kept and dropped for known reasons)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

import discovery_series as series
from fixtures_http import http_server, http_server_module  # noqa: F401
from pathverdict import discover
from pathverdict.config import validate_config
from pathverdict.errors import InputError
from pathverdict.sources.discovery import COLUMNS


@pytest.fixture
def settings(tmp_path, http_server, monkeypatch):
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    series.serve(http_server)
    path = tmp_path / "discover.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "gene": "MEIS1",
                "organisms": ["human", "mouse"],
                "study": "meis1_public",
                "out_dir": str(tmp_path / "out"),
                "downloads": {"cache_dir": str(tmp_path / "cache"), "retries": 0, "timeout": 5},
                "base_urls": series.base_urls(http_server),
            }
        )
    )
    return path


def test_discovery_keeps_and_drops_the_right_series(settings, tmp_path, capsys):
    result = discover.run(settings, min_interval=0)
    table = pd.read_csv(result["table"], sep="\t", dtype=str, keep_default_na=False)
    assert tuple(table.columns) == COLUMNS
    table = table.set_index("accession")
    assert table["decision"].to_dict() == series.EXPECTED  # the sample record (GSM) is no candidate
    assert table.loc["GSE200004", "reasons"] == "not RNA-seq (Expression profiling by array)"
    assert "no perturbation word" in table.loc["GSE200005", "reasons"]
    assert "no sample field names MEIS1 perturbed and control samples" in table.loc["GSE200005", "reasons"]
    assert table.loc["GSE200006", "reasons"].startswith("no counts: neither NCBI-generated counts nor a raw count file")
    assert table.loc["GSE200001", "ncbi_counts"] == "yes" and table.loc["GSE200002", "ncbi_counts"] == "no"
    assert table.loc["GSE200002", "supplementary_count_files"] == "GSE200002_raw_counts.txt.gz"  # not the FPKM
    assert table.loc["GSE200003", "organism"] == "mouse" and table.loc["GSE200001", "platform"] == "GPL16791"
    assert table.loc["GSE200001", "proposed_groups"] == "genotype/variation: 3 MEIS1_KD vs 3 control"
    assert table.loc["GSE200003", "proposed_groups"] == "genotype: 3 MEIS1_KO vs 3 control"
    assert table.loc["GSE200001", "perturbation_words"] == "knockdown, shRNA"
    assert table.loc["GSE200003", "perturbation_words"] == "knockout, KO, -/-"

    draft = yaml.safe_load(result["draft"].read_text())
    assert result["draft"].read_text().startswith("# DRAFT written by pathverdict discovery")
    assert list(draft["datasets"]) == ["GSE200001", "GSE200002", "GSE200003"]
    kd, oe, ko = (draft["datasets"][a] for a in ("GSE200001", "GSE200002", "GSE200003"))
    assert kd["geo"] == {
        "accession": "GSE200001",
        "counts": "ncbi",
        "samples": {
            "groups": {
                "MEIS1_KD": {"genotype/variation": "^(shMEIS1)$"},
                "control": {"genotype/variation": "^(shControl)$"},
            }
        },
    }
    assert (kd["role"], kd["contrast"]) == ("cells_loss_of_function", ["condition", "MEIS1_KD", "control"])
    assert oe["geo"]["counts"] == "supplementary" and oe["geo"]["file"] == "GSE200002_raw_counts.txt.gz"
    assert (oe["role"], oe["contrast"][1]) == ("cells_overexpression", "MEIS1_OE")
    assert ko["organism"] == "mouse" and ko["geo"]["samples"]["groups"]["MEIS1_KO"] == {"genotype": "^(Meis1\\-/\\-)$"}
    assert all(d["review"] is True and d["review_checks"] for d in draft["datasets"].values())
    assert any("raw read counts" in c for c in oe["review_checks"])
    assert draft["genesets"] == {
        "KEGG": {"human": {"enrichr": "KEGG_2021_Human"}, "mouse": {"enrichr": "KEGG_2019_Mouse"}},
        "KEGG_current": {"kegg_rest": "hsa"},
    }
    assert draft["base_urls"]["eutils"].startswith("http://127.0.0.1:")
    # one claim over every perturbation: the replication summary pools its datasets
    assert draft["perturbed_gene"] == "MEIS1"
    assert draft["claims"]["perturbation"]["roles"] == ["cells_loss_of_function", "cells_overexpression"]
    assert draft["claims"]["perturbation"]["tests"] == ["on_top"]

    # a run refuses the draft, naming every dataset and what to check; without the flags it is valid
    with pytest.raises(InputError) as err:
        validate_config(draft, source="draft_config.yaml")
    assert err.value.args[0].count("datasets.GSE2000") == 3 and "remove `review: true`" in str(err.value)
    for d in draft["datasets"].values():
        del d["review"]
    cfg = validate_config(draft)
    assert cfg["library_keys"]["mouse"] == {"KEGG": "mouse/KEGG", "KEGG_current": "mouse/KEGG_current"}

    # the command: one line per series, then the table and the draft (from the cache: same answer)
    assert discover.main(["--config", str(settings)]) == 0
    out = capsys.readouterr().out
    assert "GSE200004    dropped   human  MEIS1 knockdown in K562 cells (expression array) -- not RNA-seq" in out
    assert "GSE200003    kept      mouse" in out and "genotype: 3 MEIS1_KO vs 3 control" in out
    assert f"Draft config (3 dataset(s), each `review: true`): {result['draft']}" in out


def test_rerun_offline_from_the_cache_and_what_it_cannot_check(settings, tmp_path, http_server, capsys):
    first = discover.run(settings, min_interval=0)
    before = first["table"].read_bytes()
    n = len(http_server.requests)
    again = discover.run(settings, offline=True)
    assert again["table"].read_bytes() == before and len(http_server.requests) == n  # no request at all
    # a file missing from the cache offline: that series is left unchecked, naming the request
    shutil.rmtree(tmp_path / "cache" / "geo" / "GSE200002")
    third = discover.run(settings, offline=True)
    table = pd.read_csv(third["table"], sep="\t", dtype=str, keep_default_na=False).set_index("accession")
    assert table.loc["GSE200002", "decision"] == "unchecked"
    assert table.loc["GSE200002", "reasons"].startswith("the series matrix of GSE200002 could not be fetched")
    assert "downloads are switched off (offline mode)" in table.loc["GSE200002", "reasons"]
    assert list(yaml.safe_load(third["draft"].read_text())["datasets"]) == ["GSE200001", "GSE200003"]
    # nothing cached at all: the search itself cannot be made, and the command says which request
    shutil.rmtree(tmp_path / "cache")
    assert discover.main(["--config", str(settings), "--offline"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("discovery stopped: GEO DataSets search 'MEIS1[All Fields] AND")
    assert "esearch.fcgi" in err and "not in the download cache" in err


def test_bad_settings_name_the_key(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("gene: MEIS1\norganisms: [human]\nmax_series: 0\ncolour: blue\n")
    with pytest.raises(InputError) as err:
        discover.run(path)
    msg = str(err.value)
    assert "max_series" in msg and "unknown key(s) `colour`" in msg
    path.write_text("organisms: [martian]\n")
    with pytest.raises(InputError, match="organism 'martian' is not known"):
        discover.run(path)


def test_words_and_sample_values():
    from pathverdict.config import validate_settings
    from pathverdict.sources.discovery import words_in
    from pathverdict.sources.discovery_rules import classify, perturbation_kind

    s = validate_settings({}, "discover", "defaults")
    assert words_in("Meis1-/- embryos", s["perturbation_words"]) == ["-/-"]
    assert words_in("TOKO cells; Meis1 expression", s["perturbation_words"]) == []  # KO only as a word
    values = {
        "shMEIS1": "perturbed", "siRNA control": "control", "Meis1+/+": "control", "Meis1 fl/fl": "perturbed",
        "MEIS1 overexpression": "perturbed", "empty vector": "control", "E12.5": None, "sgNT": "control",
    }  # fmt: skip
    assert {v: classify(v, "MEIS1", s) for v in values} == values
    assert [perturbation_kind([v]) for v in ("Meis1-/-", "shMEIS1", "MEIS1 overexpression", "MEIS1")] == [
        "KO", "KD", "OE", None,
    ]  # fmt: skip
