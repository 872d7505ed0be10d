"""sources.download.fetch against a local HTTP server: caching, validation, retries, faults."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import time

import pytest

from fixtures_http import LocalServer, Reply, http_server, http_server_module, no_network  # noqa: F401
from pathverdict.errors import InputError
from pathverdict.sources import download
from pathverdict.sources.download import Downloader, DownloadError, fetch

FAST = {"retries": 2, "backoff": 0.01, "timeout": 5}
TABLE = b"GeneID\tGSM1\tGSM2\n1\t10\t20\n2\t0\t5\n"
GZ = gzip.compress(TABLE, mtime=0)


def leftovers(directory):
    """Files in ``directory`` other than finished downloads and their sidecars."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock"))


def test_download_writes_file_and_sidecar(http_server, tmp_path):
    url = http_server.route(
        "/data/counts.tsv.gz", Reply(200, GZ, headers={"Last-Modified": "Tue, 01 Oct 2024 10:00:00 GMT"})
    )
    rec = fetch(url, "geo/counts.tsv.gz", cache_dir=tmp_path, what="counts of GSE1", **FAST)
    path = tmp_path / "geo" / "counts.tsv.gz"
    assert rec.path == path and path.read_bytes() == GZ
    assert rec.sha256 == hashlib.sha256(GZ).hexdigest() and rec.size == len(GZ)
    assert rec.from_cache is False and rec.url == url and rec.retrieved.endswith("+00:00")
    meta = json.loads((tmp_path / "geo" / "counts.tsv.gz.source.json").read_text())
    assert meta["url"] == url and meta["sha256"] == rec.sha256 and meta["size"] == len(GZ)
    assert meta["last_modified"] == "Tue, 01 Oct 2024 10:00:00 GMT" and meta["what"] == "counts of GSE1"
    assert rec.provenance()["path"] == str(path)
    assert leftovers(path.parent) == []


def test_500_then_200_is_retried(http_server, tmp_path):
    url = http_server.route("/flaky.tsv.gz", Reply(500, "oops"), Reply(503, "busy"), Reply(200, GZ))
    rec = fetch(url, tmp_path / "flaky.tsv.gz", cache_dir=None, **FAST)
    assert rec.path.read_bytes() == GZ
    assert http_server.count("/flaky.tsv.gz") == 3


def test_429_with_retry_after_is_retried(http_server, tmp_path):
    url = http_server.route(
        "/limited.json", Reply(429, "slow down", headers={"Retry-After": "0"}), Reply(200, b'{"ok": true}')
    )
    assert fetch(url, "limited.json", cache_dir=tmp_path, **FAST).path.read_text() == '{"ok": true}'
    assert http_server.count("/limited.json") == 2


def test_truncated_gzip_is_rejected_and_nothing_is_left(http_server, tmp_path):
    url = http_server.route("/trunc.tsv.gz", Reply(200, GZ[:-9]))
    with pytest.raises(DownloadError, match=r"(?s)could not download .*/trunc.tsv.gz \(3 attempt.*not an intact gzip"):
        fetch(url, "trunc.tsv.gz", cache_dir=tmp_path, **FAST)
    assert http_server.count("/trunc.tsv.gz") == 3  # retried: the next transfer might be whole
    assert not (tmp_path / "trunc.tsv.gz").exists()
    assert not (tmp_path / "trunc.tsv.gz.source.json").exists()
    assert leftovers(tmp_path) == []


def test_truncated_then_whole_gzip_succeeds(http_server, tmp_path):
    url = http_server.route("/t2.tsv.gz", Reply(200, GZ[: len(GZ) // 2]), Reply(200, GZ))
    assert fetch(url, "t2.tsv.gz", cache_dir=tmp_path, **FAST).path.read_bytes() == GZ


def test_404_names_what_and_url_and_is_not_retried(http_server, tmp_path):
    url = http_server.url("/geo/series/GSE99nnn/GSE99999/matrix/GSE99999_series_matrix.txt.gz")
    http_server.route("/geo/series/GSE99nnn/GSE99999/matrix/GSE99999_series_matrix.txt.gz", Reply(404, "Not Found"))
    t0 = time.monotonic()
    with pytest.raises(DownloadError) as err:
        fetch(
            url,
            "m.txt.gz",
            cache_dir=tmp_path,
            what="series matrix of GSE99999",
            hint="Check that GSE99999 exists and is public.",
            retries=4,
            backoff=1.0,
        )
    msg = str(err.value)
    assert "series matrix of GSE99999" in msg and url in msg and "404" in msg and "is public" in msg
    assert isinstance(err.value, InputError)
    assert http_server.count("/geo/series/GSE99nnn/GSE99999/matrix/GSE99999_series_matrix.txt.gz") == 1
    assert time.monotonic() - t0 < 1.0  # no backoff wait
    assert not (tmp_path / "m.txt.gz").exists() and leftovers(tmp_path) == []


def test_other_4xx_is_not_retried(http_server, tmp_path):
    url = http_server.route("/forbidden.txt", Reply(403, "no"))
    with pytest.raises(DownloadError, match=r"refused the request .*HTTP 403.*not retried"):
        fetch(url, "f.txt", cache_dir=tmp_path, **FAST)
    assert http_server.count("/forbidden.txt") == 1


def test_slow_response_times_out_is_retried_then_clear_error(http_server, tmp_path):
    url = http_server.route("/slow.txt", Reply(200, b"late", delay=1.0))
    t0 = time.monotonic()
    with pytest.raises(
        DownloadError,
        match=r"could not download .*/slow.txt \(2 attempt\(s\), timeout 0.2 s\); "
        r"last error: timed out",
    ):
        fetch(url, "slow.txt", cache_dir=tmp_path, timeout=0.2, retries=1, backoff=0.01)
    assert time.monotonic() - t0 < 3
    assert http_server.count("/slow.txt") == 2
    assert not (tmp_path / "slow.txt").exists() and leftovers(tmp_path) == []


def test_slow_then_fast_succeeds(http_server, tmp_path):
    url = http_server.route("/slow2.txt", Reply(200, b"late", delay=1.0), Reply(200, b"on time"))
    assert (
        fetch(url, "slow2.txt", cache_dir=tmp_path, timeout=0.2, retries=1, backoff=0.01).path.read_text() == "on time"
    )


def test_cache_is_reused_without_any_network_access(tmp_path, monkeypatch):
    server = LocalServer().start()
    try:
        url = server.route("/annot.tsv.gz", Reply(200, GZ))
        first = fetch(url, "annot.tsv.gz", cache_dir=tmp_path, **FAST)
        assert first.from_cache is False and len(server.requests) == 1
    finally:
        server.stop()
    # the server is gone; any request through requests fails the test
    calls = []
    monkeypatch.setattr(
        download.requests.Session,
        "request",
        lambda self, method, u, *a, **k: calls.append(u) or pytest.fail(f"network access: {u}"),
    )
    again = fetch(url, "annot.tsv.gz", cache_dir=tmp_path, **FAST)
    assert again.from_cache is True and again.sha256 == first.sha256 and again.retrieved == first.retrieved
    assert calls == [] and len(server.requests) == 1


def test_changed_cached_file_is_downloaded_again(http_server, tmp_path):
    url = http_server.route("/c.tsv.gz", Reply(200, GZ))
    rec = fetch(url, "c.tsv.gz", cache_dir=tmp_path, **FAST)
    rec.path.write_bytes(gzip.compress(b"tampered\n"))
    again = fetch(url, "c.tsv.gz", cache_dir=tmp_path, **FAST)
    assert again.from_cache is False and again.path.read_bytes() == GZ
    assert http_server.count("/c.tsv.gz") == 2


def test_offline_fails_fast_with_path_and_url(tmp_path, no_network):
    url = "https://ftp.ncbi.nlm.nih.gov/geo/series/GSE12nnn/GSE12345/matrix/GSE12345_series_matrix.txt.gz"
    t0 = time.monotonic()
    with pytest.raises(DownloadError) as err:
        fetch(
            url,
            "geo/GSE12345/GSE12345_series_matrix.txt.gz",
            cache_dir=tmp_path,
            offline=True,
            what="series matrix of GSE12345",
        )
    msg = str(err.value)
    where = tmp_path / "geo" / "GSE12345" / "GSE12345_series_matrix.txt.gz"
    assert "series matrix of GSE12345 is not in the download cache" in msg and "offline mode" in msg
    assert str(where) in msg and url in msg and "Run once with network access" in msg
    assert time.monotonic() - t0 < 0.5 and no_network == []


def test_offline_adopts_a_file_placed_by_hand(tmp_path, no_network):
    url = "https://example.org/x.tsv.gz"
    (tmp_path / "x.tsv.gz").write_bytes(GZ)
    rec = fetch(url, "x.tsv.gz", cache_dir=tmp_path, offline=True)
    assert rec.origin == "placed by hand" and rec.sha256 == hashlib.sha256(GZ).hexdigest()
    assert json.loads((tmp_path / "x.tsv.gz.source.json").read_text())["origin"] == "placed by hand"
    assert fetch(url, "x.tsv.gz", cache_dir=tmp_path, offline=True).from_cache is True
    (tmp_path / "bad.tsv.gz").write_bytes(GZ[:-5])
    with pytest.raises(DownloadError, match=r"the file placed at .*bad.tsv.gz is not usable: .*not an intact gzip"):
        fetch("https://example.org/bad.tsv.gz", "bad.tsv.gz", cache_dir=tmp_path, offline=True)


def test_offline_with_cache_of_other_url(http_server, tmp_path, monkeypatch):
    url = http_server.route("/a.txt", Reply(200, b"a"))
    fetch(url, "a.txt", cache_dir=tmp_path, **FAST)
    with pytest.raises(DownloadError, match=r"only as the copy of another URL"):
        fetch("https://mirror.example/a.txt", "a.txt", cache_dir=tmp_path, offline=True)


def test_expected_checksum(http_server, tmp_path):
    url = http_server.route("/s.txt", Reply(200, b"payload"))
    good = hashlib.sha256(b"payload").hexdigest()
    assert fetch(url, "s.txt", cache_dir=tmp_path, expect_sha256=good, **FAST).sha256 == good
    with pytest.raises(DownloadError, match=r"sha256 [0-9a-f]{64} differs from the expected 0{64}"):
        fetch(url, "s2.txt", cache_dir=tmp_path, expect_sha256="0" * 64, retries=1, backoff=0.01)
    assert not (tmp_path / "s2.txt").exists()


def test_custom_validator_value_error_retried_input_error_final(http_server, tmp_path):
    url = http_server.route(
        "/e.json", Reply(200, b'{"error": "API rate limit exceeded"}'), Reply(200, b'{"result": 1}')
    )

    def no_error(path):
        if "error" in json.loads(path.read_text()):
            raise ValueError("the server answered with an error")

    assert json.loads(fetch(url, "e.json", cache_dir=tmp_path, validate=no_error, **FAST).path.read_text()) == {
        "result": 1
    }

    url = http_server.route("/wrong.tsv", Reply(200, b"Symbol\tx\n"))

    def needs_geneid(path):
        if not path.read_text().startswith("GeneID"):
            raise InputError("wrong.tsv: first column is not GeneID")

    with pytest.raises(InputError, match="first column is not GeneID"):
        fetch(url, "wrong.tsv", cache_dir=tmp_path, validate=needs_geneid, **FAST)
    assert http_server.count("/wrong.tsv") == 1 and not (tmp_path / "wrong.tsv").exists()


def test_html_page_instead_of_gzip_is_reported_once(http_server, tmp_path):
    url = http_server.route(
        "/geo/download/",
        Reply(200, "<html><body><h1>Error</h1> File not found</body></html>", content_type="text/html; charset=utf-8"),
        any_query=True,
    )
    with pytest.raises(DownloadError, match=r"answered with a web page instead of the file \('Error File not found'\)"):
        fetch(url + "?acc=GSE1&file=x.tsv.gz", "x.tsv.gz", cache_dir=tmp_path, **FAST)
    assert http_server.count("/geo/download/") == 1


def test_truncated_tar_is_rejected(http_server, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"x" * 5000
        info = tarfile.TarInfo("GSM1_counts.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    whole = buf.getvalue()
    url = http_server.route("/RAW.tar", Reply(200, whole[:3000]), Reply(200, whole))
    rec = fetch(url, "RAW.tar", cache_dir=tmp_path, **FAST)
    assert rec.size == len(whole) and http_server.count("/RAW.tar") == 2
    with pytest.raises(ValueError, match="truncated"):
        (tmp_path / "cut.tar").write_bytes(whole[:3000])
        download.check_tar(tmp_path / "cut.tar")


def test_query_params_are_sent_but_not_recorded(http_server, tmp_path):
    url = http_server.route("/eutils/esummary.fcgi?db=gds&id=1&api_key=SECRET", Reply(200, b"{}"))
    rec = fetch(
        http_server.url("/eutils/esummary.fcgi?db=gds&id=1"),
        "s.json",
        cache_dir=tmp_path,
        params={"api_key": "SECRET"},
        **FAST,
    )
    assert "SECRET" not in (tmp_path / "s.json.source.json").read_text() and "SECRET" not in rec.url
    assert url  # the request carried the key (otherwise the route would not have matched -> 404)


def test_downloader_settings(tmp_path):
    dl = Downloader.from_config({"cache_dir": str(tmp_path), "offline": True, "retries": 1})
    assert dl.cache_dir == tmp_path and dl.offline and dl.path("geo/x") == tmp_path / "geo" / "x"
    with pytest.raises(InputError, match=r"unknown key\(s\) retry; allowed: cache_dir, offline"):
        Downloader.from_config({"retry": 3})


# --------------------------------------------------------------------------- the library plumbing (issue 13)


def test_one_retry_budget_for_requests_and_bodies(http_server, tmp_path):
    """urllib3 retries the 500, our loop the truncated body: both draw on the same `retries`."""
    replies = (Reply(500, "oops"), Reply(200, GZ[:-9]), Reply(200, GZ))
    url = http_server.route("/budget.tsv.gz", *replies)
    assert fetch(url, "budget.tsv.gz", cache_dir=tmp_path, **FAST).path.read_bytes() == GZ
    assert http_server.count("/budget.tsv.gz") == 3
    url = http_server.route("/budget2.tsv.gz", *replies)
    with pytest.raises(DownloadError, match=r"\(2 attempt\(s\), timeout 5 s\); last error: .*not an intact gzip"):
        fetch(url, "budget2.tsv.gz", cache_dir=tmp_path, retries=1, backoff=0.01, timeout=5)
    assert http_server.count("/budget2.tsv.gz") == 2 and leftovers(tmp_path) == []


def test_each_retry_is_logged_with_what_was_asked_for(http_server, tmp_path, caplog):
    url = http_server.route("/logged.txt", Reply(503, "busy"), Reply(200, b"x"))
    with caplog.at_level("WARNING", logger="pathverdict.sources.download"):
        fetch(url, "logged.txt", cache_dir=tmp_path, what="annotation of GSE1", **FAST)
    assert f"annotation of GSE1: attempt 1 of 3 failed for {url} (HTTP 503); retrying in" in caplog.text


def test_unreadable_retry_after_means_the_normal_backoff(http_server, tmp_path):
    url = http_server.route("/ra.txt", Reply(503, "busy", headers={"Retry-After": "soon"}), Reply(200, b"ok"))
    assert fetch(url, "ra.txt", cache_dir=tmp_path, **FAST).path.read_bytes() == b"ok"
    assert http_server.count("/ra.txt") == 2


def test_retry_after_on_a_final_status_is_not_a_retry(http_server, tmp_path):
    """urllib3 would retry a 413 that carries Retry-After; a 4xx other than 408/429 stays final."""
    url = http_server.route("/big.txt", Reply(413, "too large", headers={"Retry-After": "0"}))
    with pytest.raises(DownloadError, match=r"HTTP 413 .*not retried"):
        fetch(url, "big.txt", cache_dir=tmp_path, **FAST)
    assert http_server.count("/big.txt") == 1


def test_two_fetches_of_one_file_download_it_once(http_server, tmp_path):
    """The file lock (filelock) serialises them: the second finds the first one's copy."""
    from concurrent.futures import ThreadPoolExecutor

    url = http_server.route("/once.tsv.gz", Reply(200, GZ, delay=0.5))
    with ThreadPoolExecutor(2) as pool:
        recs = list(pool.map(lambda _: fetch(url, "once.tsv.gz", cache_dir=tmp_path, **FAST), range(2)))
    assert http_server.count("/once.tsv.gz") == 1
    assert sorted(r.from_cache for r in recs) == [False, True] and {r.sha256 for r in recs} == {recs[0].sha256}
