"""sources.eutils: PubMed -> GEO series via ELink + ESummary JSON (local server, fixture answers)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from fixtures_http import Reply, http_server, http_server_module, no_network  # noqa: F401
from pathverdict.errors import InputError
from pathverdict.sources import eutils
from pathverdict.sources.download import Downloader

DATA = Path(__file__).parent / "data" / "sources"
ELINK = (DATA / "elink_pubmed_gds.json").read_bytes()
ESUMMARY = (DATA / "esummary_gds.json").read_bytes()


@pytest.fixture
def dl(tmp_path):
    return Downloader(tmp_path / "cache", retries=1, backoff=0.01, timeout=5)


@pytest.fixture
def ncbi(http_server, monkeypatch):
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    monkeypatch.delenv("NCBI_EMAIL", raising=False)
    http_server.route("/entrez/eutils/elink.fcgi", Reply(200, ELINK, content_type="application/json"), any_query=True)
    http_server.route(
        "/entrez/eutils/esummary.fcgi", Reply(200, ESUMMARY, content_type="application/json"), any_query=True
    )
    return http_server


def test_parse_elink_and_esummary():
    uids = eutils.parse_elink(json.loads(ELINK), "31000001")
    assert uids == ["200130002", "200130001", "100016791", "5678"]
    series, others = eutils.parse_esummary(json.loads(ESUMMARY))
    assert [s.accession for s in series] == ["GSE130001", "GSE130002"]
    s = series[0]
    assert (s.title, s.taxon, s.n_samples, s.gdstype) == (
        "MEIS1 knockdown in SK-N-SH neuroblastoma cells",
        "Homo sapiens",
        6,
        "Expression profiling by high throughput sequencing",
    )
    assert s.pubmed_ids == ("31000001",) and s.uid == "200130001"
    assert others == ["GPL16791", "GDS5678"]


def test_elink_without_links_and_with_object_links():
    assert eutils.parse_elink({"header": {}, "linksets": [{"dbfrom": "pubmed", "ids": ["1"]}]}, "1") == []
    data = {"linksets": [{"linksetdbs": [{"dbto": "gds", "linkname": "pubmed_gds", "links": [{"id": "200000001"}]}]}]}
    assert eutils.parse_elink(data, "1") == ["200000001"]
    with pytest.raises(InputError, match="not an ELink JSON answer"):
        eutils.parse_elink({"esearchresult": {}}, "1")


def test_pubmed_to_geo_end_to_end(ncbi, dl):
    res = eutils.pubmed_to_geo("PMID:31000001", dl, base_url=ncbi.url("/entrez/eutils/"), min_interval=0)
    assert res.accessions == ["GSE130001", "GSE130002"]
    assert res.other_links == ["GPL16791", "GDS5678"]
    elink_q = parse_qs(urlsplit(ncbi.requests[0]).query)
    assert elink_q == {
        "dbfrom": ["pubmed"],
        "db": ["gds"],
        "id": ["31000001"],
        "retmode": ["json"],
        "tool": ["pathverdict"],
    }
    esum_q = parse_qs(urlsplit(ncbi.requests[1]).query)
    assert esum_q["db"] == ["gds"] and esum_q["id"] == ["200130002,200130001,100016791,5678"]
    assert [r.path.name for r in res.records] == ["pubmed_31000001_elink_gds.json", "pubmed_31000001_esummary_gds.json"]
    prov = res.provenance()
    assert prov["series"][0]["accession"] == "GSE130001" and len(prov["lookups"]) == 2
    out = dl.cache_dir / "series.tsv"
    eutils.write_series_table(res, out)
    lines = out.read_text().splitlines()
    assert lines[0].split("\t")[:4] == ["accession", "title", "taxon", "n_samples"]
    assert lines[1].startswith("GSE130001\tMEIS1 knockdown in SK-N-SH neuroblastoma cells\tHomo sapiens\t6\t")


def test_second_lookup_is_offline_from_cache(ncbi, dl, monkeypatch):
    eutils.pubmed_to_geo(31000001, dl, base_url=ncbi.url("/entrez/eutils/"), min_interval=0)
    n = len(ncbi.requests)
    offline = Downloader(dl.cache_dir, offline=True)
    res = eutils.pubmed_to_geo(31000001, offline, base_url=ncbi.url("/entrez/eutils/"), min_interval=0)
    assert res.accessions == ["GSE130001", "GSE130002"] and all(r.from_cache for r in res.records)
    assert len(ncbi.requests) == n


def test_api_key_is_sent_not_recorded(ncbi, dl, monkeypatch):
    monkeypatch.setenv("NCBI_API_KEY", "k3y")
    res = eutils.pubmed_to_geo(31000001, dl, base_url=ncbi.url("/entrez/eutils/"), min_interval=0)
    assert "api_key=k3y" in ncbi.requests[0]
    assert all("k3y" not in r.url and "k3y" not in Path(str(r.path) + ".source.json").read_text() for r in res.records)


def test_error_answer_is_retried(http_server, dl, monkeypatch):
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    http_server.route(
        "/e/elink.fcgi", Reply(200, b'{"ERROR": "API rate limit exceeded"}'), Reply(200, ELINK), any_query=True
    )
    http_server.route("/e/esummary.fcgi", Reply(200, ESUMMARY), any_query=True)
    res = eutils.pubmed_to_geo(31000001, dl, base_url=http_server.url("/e/"), min_interval=0)
    assert res.accessions == ["GSE130001", "GSE130002"] and http_server.count("/e/elink.fcgi") == 2


def test_no_links_is_a_clear_error(http_server, dl):
    http_server.route(
        "/e/elink.fcgi",
        Reply(200, b'{"header": {"type": "elink"}, "linksets": [{"dbfrom": "pubmed", "ids": ["12345"]}]}'),
        any_query=True,
    )
    with pytest.raises(InputError, match=r"PubMed 12345 has no linked GEO records .*give the GEO series accession"):
        eutils.pubmed_to_geo(12345, dl, base_url=http_server.url("/e/"), min_interval=0)
    assert eutils.pubmed_to_geo(12345, dl, base_url=http_server.url("/e/"), min_interval=0, require=False).series == []


def test_only_non_series_links(http_server, dl):
    http_server.route(
        "/e/elink.fcgi",
        Reply(
            200,
            json.dumps(
                {"linksets": [{"linksetdbs": [{"dbto": "gds", "linkname": "pubmed_gds", "links": ["100016791"]}]}]}
            ),
        ),
        any_query=True,
    )
    http_server.route("/e/esummary.fcgi", Reply(200, ESUMMARY), any_query=True)
    # the fixture answer has GSEs; serve one without
    data = json.loads(ESUMMARY)
    data["result"] = {"uids": ["100016791"], "100016791": data["result"]["100016791"]}
    http_server.route("/e/esummary.fcgi", Reply(200, json.dumps(data)), any_query=True)
    with pytest.raises(InputError, match=r"linked to GEO records but to no series \(GSE\): GPL16791"):
        eutils.pubmed_to_geo(777, dl, base_url=http_server.url("/e/"), min_interval=0)


def test_bad_pmid_and_offline_message(tmp_path, no_network):
    with pytest.raises(InputError, match="is not a PubMed ID"):
        eutils.pubmed_to_geo("GSE1234", Downloader(tmp_path))
    with pytest.raises(
        InputError,
        match=r"GEO links of PubMed 31000001 .* is not in the download cache.*"
        r"eutils/pubmed_31000001_elink_gds.json",
    ):
        eutils.pubmed_to_geo(31000001, Downloader(tmp_path, offline=True))
