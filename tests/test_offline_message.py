"""Without a network a download fails at once with one whole message: no network, the
missing file, where to put it, and that the offline demo runs without network."""

from __future__ import annotations

import pytest
import requests

from pathverdict.sources.download import DownloadError, fetch


class NoDNS(requests.Session):
    calls = 0

    def get(self, url, **kwargs):
        NoDNS.calls += 1
        raise requests.ConnectionError(
            "HTTPSConnectionPool(host='maayanlab.cloud', port=443): Max retries exceeded with url: /x (Caused by "
            "NameResolutionError(\"HTTPSConnection(host='maayanlab.cloud', port=443): Failed to resolve "
            "'maayanlab.cloud' ([Errno -2] Name or service not known)\"))"
        )


def test_no_network_is_one_whole_message_without_retries(tmp_path):
    NoDNS.calls = 0
    url = "https://maayanlab.cloud/Enrichr/geneSetLibrary?mode=text&libraryName=KEGG_2021_Human"
    with pytest.raises(DownloadError) as info:
        fetch(
            url,
            "enrichr/KEGG_2021_Human.txt",
            cache_dir=tmp_path,
            retries=4,
            backoff=5.0,
            what="Enrichr library KEGG_2021_Human",
            hint="Check the library name (case-sensitive).",
            session_=NoDNS(),
        )
    msg = str(info.value)
    assert NoDNS.calls == 1  # no retries (and no 15 s of back-off) when the name cannot be resolved
    assert msg.startswith("No network: Enrichr library KEGG_2021_Human could not be downloaded")
    assert str(tmp_path / "enrichr" / "KEGG_2021_Human.txt") in msg  # which file, and where to put it
    assert "./run.sh --configfile config/demo.yaml" in msg
    assert "Check the library name" not in msg  # no hint about names on a network failure
    assert "...." not in msg and "Name or serv" not in msg  # nothing cut mid-word, no raw exception text
    assert not list((tmp_path / "enrichr").glob(".pathverdict-tmp.*"))
