"""End to end from a PubMed ID to the verdict and report, with every download served by a
local HTTP server in the real layouts (E-utilities JSON, GEO series matrix, NCBI-generated
counts and annotation, an Enrichr library); then again offline from the cache.

The series is built from the real LNCaP androgen data set (Li et al. 2008): Ensembl IDs are
turned into Entrez GeneIDs and samples into GSM accessions, as NCBI's tables have them.
"""

import gzip
import json
import shutil

import pandas as pd
import pytest
import yaml
from fixtures_http import Reply, http_server, http_server_module  # noqa: F401

from conftest import CORE_ONLY, smallest_calibration, run_snakemake

pytestmark = [pytest.mark.e2e, pytest.mark.shared]

PMID, UID, GSE = "99000001", "200999001", "GSE999001"
COUNTS = f"{GSE}_raw_counts_GRCh38.p13_NCBI.tsv.gz"
ANNOT = "Human.GRCh38.p13.annot.tsv.gz"


def series_files(shared):
    d = shared / "counts" / "li2008_lncap"
    counts = pd.read_csv(d / "counts.tsv.gz", sep="\t", index_col=0)
    samples = pd.read_csv(d / "samples.tsv", sep="\t")
    ann = pd.read_csv(shared / "annotation" / "human_gene_info.tsv.gz", sep="\t", dtype=str, keep_default_na=False)
    ann = ann[ann["Ensembl"].str.match(r"^ENSG\d{11}$")]
    ann = ann.assign(n=ann["GeneID"].astype(int)).sort_values("n")
    to_gene = dict(zip(ann["Ensembl"][::-1], ann["GeneID"][::-1]))  # smallest GeneID per Ensembl ID
    counts = counts[counts.index.isin(list(to_gene))]
    counts.index = [to_gene[e] for e in counts.index]
    counts = counts[~counts.index.duplicated()]
    counts.index.name = "GeneID"
    gsm = {s: f"GSM99{i:05d}" for i, s in enumerate(samples["sample"], start=1)}
    counts = counts.rename(columns=gsm)
    table = counts.to_csv(sep="\t", lineterminator="\n").encode()
    annot = ann.rename(columns={"Ensembl": "EnsemblGeneID"})[["GeneID", "Symbol", "GeneType", "EnsemblGeneID"]]
    annot.insert(2, "Description", "")
    treat = {"Control": "mock", "Treated": "DHT 10 nM, 24 h"}

    def row(field, values):
        return field + "\t" + "\t".join(f'"{v}"' for v in values) + "\n"

    ids = list(gsm.values())
    matrix = (
        f'!Series_title\t"LNCaP cells treated with androgen"\n!Series_geo_accession\t"{GSE}"\n'
        f'!Series_pubmed_id\t"{PMID}"\n!Series_sample_id\t"{" ".join(ids)} "\n\n'
        + row("!Sample_title", [f"LNCaP_{c}_{s}" for s, c in zip(samples["sample"], samples["condition"])])
        + row("!Sample_geo_accession", ids)
        + row("!Sample_source_name_ch1", ["LNCaP cells"] * len(ids))
        + row("!Sample_organism_ch1", ["Homo sapiens"] * len(ids))
        + row("!Sample_characteristics_ch1", ["cell line: LNCaP"] * len(ids))
        + row("!Sample_characteristics_ch1", [f"treatment: {treat[c]}" for c in samples["condition"]])
        + '!series_matrix_table_begin\n"ID_REF"\t'
        + "\t".join(f'"{i}"' for i in ids)
        + "\n!series_matrix_table_end\n"
    )
    elink = {
        "header": {"type": "elink", "version": "0.3"},
        "linksets": [
            {
                "dbfrom": "pubmed",
                "ids": [PMID],
                "linksetdbs": [{"dbto": "gds", "linkname": "pubmed_gds", "links": [UID]}],
            }
        ],
    }
    esummary = {
        "header": {"type": "esummary", "version": "0.3"},
        "result": {
            "uids": [UID],
            UID: {
                "uid": UID,
                "accession": GSE,
                "title": "LNCaP cells treated with androgen",
                "taxon": "Homo sapiens",
                "entrytype": "GSE",
                "gdstype": "Expression profiling by high throughput sequencing",
                "n_samples": len(ids),
                "pdat": "2008/07/01",
                "suppfile": "",
                "pubmedids": [PMID],
                "ftplink": f"ftp://ftp.ncbi.nlm.nih.gov/geo/series/GSE999nnn/{GSE}/",
            },
        },
    }
    return {
        "counts": gzip.compress(table, mtime=0),
        "annotation": gzip.compress(annot.to_csv(sep="\t", index=False).encode(), mtime=0),
        "matrix": gzip.compress(matrix.encode(), mtime=0),
        "elink": json.dumps(elink),
        "esummary": json.dumps(esummary),
        "enrichr": (shared / "genesets" / "KEGG_2021_Human.txt").read_bytes(),
    }


def serve(server, files):
    server.route("/eutils/elink.fcgi", Reply(200, files["elink"], content_type="application/json"), any_query=True)
    server.route(
        "/eutils/esummary.fcgi", Reply(200, files["esummary"], content_type="application/json"), any_query=True
    )
    server.route(f"/geo/series/GSE999nnn/{GSE}/matrix/{GSE}_series_matrix.txt.gz", Reply(200, files["matrix"]))
    server.route(f"/geo/download/?type=rnaseq_counts&acc={GSE}&format=file&file={COUNTS}", Reply(200, files["counts"]))
    server.route(f"/geo/download/?type=rnaseq_counts&format=file&file={ANNOT}", Reply(200, files["annotation"]))
    server.route("/Enrichr/geneSetLibrary", Reply(200, files["enrichr"], content_type="text/plain"), any_query=True)


def config(server, cache, offline=False):
    return {
        "datasets": {
            "lncap_geo": {
                "geo": {
                    "pubmed": int(PMID),
                    "counts": "ncbi",
                    "samples": {
                        "select": {"cell line": "LNCaP"},
                        "groups": {"Treated": {"treatment": "^DHT"}, "Control": {"treatment": "^mock$"}},
                    },
                },
                "design": "~condition",
                "contrast": ["condition", "Treated", "Control"],
            }
        },
        "genesets": {"KEGG_2021_Human": {"enrichr": "KEGG_2021_Human"}},
        "target_pathway": "Mineral absorption",
        "annotation": {"geo_annotation": ANNOT},
        "downloads": {"cache_dir": str(cache), "offline": offline, "retries": 1, "backoff": 0.1, "timeout": 20},
        "base_urls": {
            "eutils": server.url("/eutils/"),
            "geo_ftp": server.url("/geo/"),
            "geo_download": server.url("/geo/download/"),
            "enrichr": server.url("/Enrichr/"),
        },
        "enrichment": {"gsea_permutations": 50},
        **CORE_ONLY,  # about downloads and the cache: no null, sensitivity nor robustness grid
        # not about the calibration: its smallest size
        "calibration": smallest_calibration(),
    }


def test_pubmed_to_verdict_then_offline_from_cache(http_server, shared, tmp_path):  # noqa: F811
    serve(http_server, series_files(shared))
    cache, work = tmp_path / "cache", tmp_path / "work"
    work.mkdir()
    cfg = tmp_path / "online.yaml"
    cfg.write_text(yaml.safe_dump(config(http_server, cache)))
    rc, out = run_snakemake(work, cfg, cores=2, timeout=600)
    assert rc == 0, out[-5000:]
    res = work / "results" / "online"  # the study is named after online.yaml
    sheet = pd.read_csv(res / "lncap_geo/samples.tsv", sep="\t")
    assert sheet["condition"].value_counts().to_dict() == {"Control": 4, "Treated": 3}
    de = pd.read_csv(res / "lncap_geo/de.tsv", sep="\t").dropna(subset=["symbol"]).set_index("symbol")
    for gene in ["KLK3", "TMPRSS2", "FKBP5"]:
        assert de.loc[gene, "padj"] < 0.05 and de.loc[gene, "log2FoldChange"] > 1, gene
    prov = json.loads((res / "provenance.json").read_text())
    src = prov["datasets"][0]["source"]
    assert src["accession"] == GSE and src["pubmed_lookup"]["pmid"] in (PMID, int(PMID))
    lib = prov["gene_set_libraries"][0]
    assert lib["source"].startswith(http_server.url("/Enrichr/")) and lib["retrieved"]
    assert lib["sha256"] == "70576fe499ece65a2f342e5ca9a4e63b5d53f91aee3ab87f7c96123e2f19c594"
    assert prov["annotation"]["url"].startswith(http_server.url("/geo/download/"))
    rc, out = run_snakemake(work, cfg, "--report", "report.html", timeout=300)
    assert rc == 0, out[-3000:]
    assert GSE in (work / "report.html").read_text()

    # second run: results gone, network gone -> everything comes from the cache
    shutil.rmtree(work / "results")
    shutil.rmtree(work / "resources")
    http_server.reset()  # every request would now get a 404 ...
    off = tmp_path / "offline.yaml"
    off.write_text(yaml.safe_dump(config(http_server, cache, offline=True)))
    rc, out = run_snakemake(work, off, "results/offline/verdict.tsv", cores=2, timeout=600)
    assert rc == 0, out[-5000:]
    assert http_server.requests == []  # ... but none was made
    assert (work / "results/offline/verdict.tsv").is_file()

    # offline with an empty cache: fails fast, naming the missing file and its URL
    shutil.rmtree(work / "results")
    shutil.rmtree(work / "resources")
    shutil.rmtree(cache)
    rc, out = run_snakemake(work, off, "results/offline/verdict.tsv", timeout=300)
    assert rc != 0
    assert "offline" in out and "not in the download cache" in out and "Traceback" not in out
    assert http_server.requests == []
