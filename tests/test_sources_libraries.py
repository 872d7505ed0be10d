"""sources.libraries: Enrichr text libraries, KEGG REST -> GMT, NCBI gene_info (local server)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from fixtures_http import Reply, http_server, http_server_module  # noqa: F401
from pathverdict.sources import annotation
from pathverdict import genesets
from pathverdict.errors import InputError
from pathverdict.sources import libraries
from pathverdict.sources.download import Downloader, DownloadError

DATA = Path(__file__).parent / "data" / "sources"


@pytest.fixture
def dl(tmp_path):
    return Downloader(tmp_path / "cache", retries=1, backoff=0.01, timeout=5)


@pytest.fixture
def kegg(http_server):
    for path, name in (
        ("/info/kegg", "kegg_info_kegg.txt"),
        ("/list/pathway/hsa", "kegg_list_pathway_hsa.tsv"),
        ("/link/hsa/pathway", "kegg_link_hsa_pathway.tsv"),
        ("/list/hsa", "kegg_list_hsa.tsv"),
    ):
        http_server.route(path, Reply(200, (DATA / name).read_bytes(), content_type="text/plain"))
    return http_server


def test_enrichr_library(http_server, dl):
    http_server.route(
        "/Enrichr/geneSetLibrary?mode=text&libraryName=KEGG_2021_Human",
        Reply(200, (DATA / "enrichr_KEGG_2021_Human.txt").read_bytes(), content_type="text/plain"),
    )
    src = libraries.fetch_enrichr_library("KEGG_2021_Human", dl, base_url=http_server.url("/Enrichr/"))
    assert src.path == dl.cache_dir / "enrichr" / "KEGG_2021_Human.txt"
    assert src.release == "Enrichr KEGG_2021_Human" and src.details == {"terms": 3, "genes": 15}
    prov = src.provenance()
    assert prov["url"].endswith("/Enrichr/geneSetLibrary?mode=text&libraryName=KEGG_2021_Human")
    assert prov["sha256"] == src.sha256 and prov["retrieved"] and prov["name"] == "KEGG_2021_Human"
    lib = genesets.read_library(src.path, "KEGG_2021_Human")
    assert lib.find("Mineral absorption") == "Mineral absorption" and "HMOX1" in lib.sets["Mineral absorption"]


def test_enrichr_unknown_or_bad_name(http_server, dl):
    http_server.route("/Enrichr/geneSetLibrary", Reply(200, b""), any_query=True)
    with pytest.raises(InputError, match=r"Enrichr returned nothing for library 'KEGG_2077_Human'"):
        libraries.fetch_enrichr_library("KEGG_2077_Human", dl, base_url=http_server.url("/Enrichr/"))
    assert http_server.count("/Enrichr/geneSetLibrary") == 1
    with pytest.raises(InputError, match="is not valid"):
        libraries.fetch_enrichr_library("KEGG 2021/../x", dl)


def test_kegg_parsers_current_and_old_layouts():
    names, org = libraries.parse_kegg_pathways(
        "hsa04978\tMineral absorption - Homo sapiens (human)\n"
        "path:hsa00010\tGlycolysis / Gluconeogenesis - Homo sapiens (human)\n"
    )
    assert names == {"hsa04978": "Mineral absorption", "hsa00010": "Glycolysis / Gluconeogenesis"}
    assert org == "Homo sapiens (human)"
    assert libraries.parse_kegg_links("path:hsa04978\thsa:3162\nhsa:7421\tpath:hsa04978\n", "hsa") == {
        "hsa04978": ["3162", "7421"]
    }
    new = "hsa:3162\tCDS\t22:35381067..35394207\tHMOX1, HO-1, HMOX1D; heme oxygenase 1\n"
    old = "hsa:3162\tHMOX1, HO-1, HMOX1D; heme oxygenase 1\nhsa:100\tuncharacterized LOC100\n"
    assert libraries.parse_kegg_genes(new, "hsa") == {"3162": "HMOX1"}
    assert libraries.parse_kegg_genes(old, "hsa") == {"3162": "HMOX1"}
    assert libraries.parse_kegg_release((DATA / "kegg_info_kegg.txt").read_text()) == "116.0+/11-21, Nov 25"
    with pytest.raises(InputError, match="no 'Release' line"):
        libraries.parse_kegg_release("kegg   Kyoto Encyclopedia\n")


def test_kegg_library_gmt(kegg, dl):
    src = libraries.fetch_kegg_library(dl, base_url=kegg.url("/"))
    assert src.path == dl.cache_dir / "kegg" / "hsa" / "KEGG_hsa.gmt"
    assert src.release == "KEGG 116.0+/11-21, Nov 25"
    lines = src.path.read_text().splitlines()
    assert lines[0] == "Glycolysis / Gluconeogenesis\thsa00010\tGAPDH"
    mineral = next(ln.split("\t") for ln in lines if ln.startswith("Mineral absorption\t"))
    assert mineral[1] == "hsa04978"
    assert mineral[2:] == sorted(
        ["HMOX1", "VDR", "MT2A", "MT1X", "SLC40A1", "FTH1", "TRPV6", "SLC11A2", "CYBRD1", "ATP1A1"]
    )
    assert src.details["pathways_without_symbol_genes"] == ["hsa04980"]
    assert src.details["linked_genes_without_symbol"] == 1 and src.details["organism_name"] == "Homo sapiens (human)"
    meta = json.loads((src.path.parent / "KEGG_hsa.gmt.source.json").read_text())
    assert meta["release"] == src.release and meta["sha256"] == src.sha256 and len(meta["inputs"]) == 4
    assert [Path(i["path"]).name for i in meta["inputs"]] == [
        "info_kegg.txt",
        "list_pathway_hsa.tsv",
        "link_hsa_pathway.tsv",
        "list_hsa.tsv",
    ]
    # the GMT works with the workflow's library reader, by name and by KEGG ID, like Enrichr's
    lib = genesets.read_library(src.path, "KEGG_current")
    assert lib.find("Mineral absorption") == "Mineral absorption" and lib.find("hsa04978") == "Mineral absorption"
    # a second build reuses the cached answers and does not rewrite an identical GMT
    mtime = src.path.stat().st_mtime_ns
    n = len(kegg.requests)
    again = libraries.fetch_kegg_library(dl, base_url=kegg.url("/"))
    assert again.sha256 == src.sha256 and src.path.stat().st_mtime_ns == mtime and len(kegg.requests) == n
    assert all(r.from_cache for r in again.inputs)


def test_kegg_to_explicit_output_offline(kegg, dl, tmp_path):
    libraries.fetch_kegg_library(dl, base_url=kegg.url("/"))
    out = tmp_path / "resources" / "genesets" / "KEGG_current.gmt"
    src = libraries.fetch_kegg_library(Downloader(dl.cache_dir, offline=True), base_url=kegg.url("/"), out=out)
    assert out.is_file() and (out.parent / "KEGG_current.gmt.source.json").is_file() and src.path == out


def test_kegg_bad_organism_and_error_page(http_server, dl):
    with pytest.raises(InputError, match="organism code 'Homo sapiens' is not valid"):
        libraries.fetch_kegg_library(dl, organism="Homo sapiens")
    http_server.route("/info/kegg", Reply(400, "Bad Request"))
    with pytest.raises(DownloadError, match=r"KEGG REST info/kegg: the server refused the request .*HTTP 400"):
        libraries.fetch_kegg_library(dl, base_url=http_server.url("/"))


def test_gene_info(http_server, dl):
    data = gzip.compress((DATA / "Homo_sapiens.gene_info").read_bytes(), mtime=0)
    http_server.route(
        "/gene/DATA/GENE_INFO/Mammalia/Homo_sapiens.gene_info.gz",
        Reply(200, data, headers={"Last-Modified": "Sun, 16 Nov 2025 03:10:00 GMT"}),
    )
    src = libraries.fetch_gene_info(dl, base_url=http_server.url("/gene/DATA/GENE_INFO/Mammalia/"))
    assert src.path == dl.cache_dir / "ncbi_gene" / "Homo_sapiens.gene_info.gz"
    assert src.release == (
        "NCBI Gene Homo_sapiens.gene_info.gz, newest record 2025-11-15, file dated Sun, 16 Nov 2025 03:10:00 GMT"
    )
    assert src.details == {"genes": 3, "newest_modification_date": "2025-11-15"}
    ann = annotation.load_annotation(src.path)
    assert ann.entrez_to_symbol["3162"] == "HMOX1" and ann.ensembl_to_symbol["ENSG00000125148"] == "MT2A"


def test_gene_info_wrong_file(http_server, dl):
    http_server.route("/g/Homo_sapiens.gene_info.gz", Reply(200, gzip.compress(b"GeneID\tSymbol\n1\tA\n")))
    with pytest.raises(InputError, match=r"expected NCBI gene_info columns \(#tax_id, GeneID, Symbol"):
        libraries.fetch_gene_info(dl, base_url=http_server.url("/g/"))
    assert http_server.count("/g/Homo_sapiens.gene_info.gz") == 1
