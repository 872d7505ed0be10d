"""GEO and E-utilities answers for the discovery tests, in the real formats: ESearch and ESummary
JSON of db=gds, series matrix files, the HTML listing of a series' suppl/ folder, NCBI-generated
counts. Six MEIS1 series (made up, in GEO's layouts) and one sample record:

| series | organism | type | perturbation | counts | expected |
|---|---|---|---|---|---|
| GSE200001 | human | RNA-seq | shMEIS1 vs shControl (genotype/variation) | NCBI-generated | kept, counts: ncbi |
| GSE200002 | human | RNA-seq | MEIS1 over-expression vs empty vector | supplementary table | kept, supplementary |
| GSE200003 | mouse | RNA-seq | Meis1-/- vs wild type (genotype) | supplementary table | kept, supplementary |
| GSE200004 | human | array | MEIS1 knockdown | - | dropped: not RNA-seq |
| GSE200005 | mouse | RNA-seq | none (ages of retina) | supplementary table | dropped: no perturbation |
| GSE200006 | human | RNA-seq | siMEIS1 vs siControl | FPKM only | dropped: no counts |
"""

from __future__ import annotations

import gzip
import json

import pandas as pd

from fixtures_http import Reply

UIDS = {f"GSE20000{i}": f"20020000{i}" for i in range(1, 7)}
RNASEQ = "Expression profiling by high throughput sequencing"
SERIES = {
    "GSE200001": dict(
        title="MEIS1 knockdown in SK-N-SH neuroblastoma cells",
        summary="shRNA-mediated knockdown of MEIS1 in SK-N-SH cells; RNA-seq of three replicates.",
        taxon="Homo sapiens", gdstype=RNASEQ, gpl="16791", suppfile="TAR",
        fields={"cell line": ["SK-N-SH"] * 6, "genotype/variation": ["shMEIS1", "shControl"] * 3},
        titles=[f"SKNSH_{g}_rep{i}" for i in (1, 2, 3) for g in ("shMEIS1", "shCtrl")],
        ncbi=True, suppl=["GSE200001_RAW.tar"],
    ),
    "GSE200002": dict(
        title="MEIS1 overexpression in HEK293 cells",
        summary="HEK293 cells transfected with a MEIS1 expression vector or an empty vector.",
        taxon="Homo sapiens", gdstype=RNASEQ, gpl="20301", suppfile="TXT",
        fields={"cell line": ["HEK293"] * 6,
                "transfection": ["MEIS1 overexpression vector"] * 3 + ["empty vector"] * 3},
        titles=[f"HEK293_MEIS1_{i}" for i in (1, 2, 3)] + [f"HEK293_EV_{i}" for i in (1, 2, 3)],
        ncbi=False, suppl=["GSE200002_raw_counts.txt.gz", "GSE200002_FPKM.txt.gz"],
    ),
    "GSE200003": dict(
        title="Meis1 knockout in mouse embryonic fibroblasts",
        summary="Transcriptome of Meis1 knockout and wild-type littermate fibroblasts.",
        taxon="Mus musculus", gdstype=RNASEQ, gpl="24247", suppfile="TSV",
        fields={"strain": ["C57BL/6"] * 6, "genotype": ["Meis1-/-"] * 3 + ["wild type"] * 3},
        titles=[f"MEF_Meis1_KO_{i}" for i in (1, 2, 3)] + [f"MEF_WT_{i}" for i in (1, 2, 3)],
        ncbi=False, suppl=["GSE200003_counts_ensembl.tsv.gz"],
    ),
    "GSE200004": dict(
        title="MEIS1 knockdown in K562 cells (expression array)",
        summary="siRNA against MEIS1 in K562 leukaemia cells, Affymetrix arrays.",
        taxon="Homo sapiens", gdstype="Expression profiling by array", gpl="570", suppfile="CEL",
        fields=None, ncbi=False, suppl=[],
    ),
    "GSE200005": dict(
        title="Meis1 expression in the developing mouse retina",
        summary="RNA-seq of the retina at two embryonic ages; Meis1 is among the genes followed.",
        taxon="Mus musculus", gdstype=RNASEQ, gpl="24247", suppfile="TXT",
        fields={"tissue": ["retina"] * 4, "age": ["E12.5", "E12.5", "E14.5", "E14.5"]},
        titles=["retina_E12.5_1", "retina_E12.5_2", "retina_E14.5_1", "retina_E14.5_2"],
        ncbi=False, suppl=["GSE200005_read_counts.txt.gz"],
    ),
    "GSE200006": dict(
        title="MEIS1 siRNA in HeLa cells",
        summary="HeLa cells treated with siRNA against MEIS1 or a non-targeting siRNA.",
        taxon="Homo sapiens", gdstype=RNASEQ, gpl="16791", suppfile="TXT",
        fields={"treatment": ["siMEIS1"] * 3 + ["siControl"] * 3},
        titles=[f"HeLa_{t}_{i}" for t in ("siMEIS1", "siCtrl") for i in (1, 2, 3)],
        ncbi=False, suppl=["GSE200006_FPKM_all_samples.txt.gz"],
    ),
}  # fmt: skip
EXPECTED = {
    "GSE200001": "kept",
    "GSE200002": "kept",
    "GSE200003": "kept",
    "GSE200004": "dropped",
    "GSE200005": "dropped",
    "GSE200006": "dropped",
}


def gsm_ids(acc: str) -> list[str]:
    spec = SERIES[acc]
    n = len(spec["titles"]) if spec.get("fields") else 4
    return [f"GSM9{acc[-3:]}{i:02d}" for i in range(1, n + 1)]


def esearch() -> str:
    ids = list(UIDS.values()) + ["300900101"]  # a sample record (GSM) the search also finds
    return json.dumps(
        {
            "header": {"type": "esearch", "version": "0.3"},
            "esearchresult": {
                "count": str(len(ids)), "retmax": str(len(ids)), "retstart": "0", "idlist": ids,
                "translationset": [], "querytranslation": "MEIS1[All Fields] AND gse[Entry Type]",
            },
        }
    )  # fmt: skip


def esummary() -> str:
    result: dict = {"uids": list(UIDS.values()) + ["300900101"]}
    for acc, uid in UIDS.items():
        s = SERIES[acc]
        result[uid] = {
            "uid": uid, "accession": acc, "gds": "", "title": s["title"], "summary": s["summary"], "gpl": s["gpl"],
            "gse": acc[3:], "taxon": s["taxon"], "entrytype": "GSE", "gdstype": s["gdstype"], "pdat": "2021/03/01",
            "suppfile": s["suppfile"], "samples": [{"accession": g, "title": g} for g in gsm_ids(acc)],
            "n_samples": len(gsm_ids(acc)), "pubmedids": [], "ftplink": f"ftp://ftp.ncbi.nlm.nih.gov/geo/series/GSE200nnn/{acc}/",
        }  # fmt: skip
    result["300900101"] = {"uid": "300900101", "accession": "GSM9001101", "entrytype": "GSM", "title": "a sample"}
    return json.dumps({"header": {"type": "esummary", "version": "0.3"}, "result": result})


def series_matrix(acc: str) -> bytes:
    s = SERIES[acc]
    ids = gsm_ids(acc)

    def row(field, values):
        return field + "\t" + "\t".join(f'"{v}"' for v in values) + "\n"

    text = (
        f'!Series_title\t"{s["title"]}"\n!Series_geo_accession\t"{acc}"\n!Series_summary\t"{s["summary"]}"\n'
        f'!Series_type\t"{s["gdstype"]}"\n!Series_sample_id\t"{" ".join(ids)} "\n\n'
        + row("!Sample_title", s["titles"])
        + row("!Sample_geo_accession", ids)
        + row("!Sample_source_name_ch1", [s["titles"][0].split("_")[0]] * len(ids))
        + row("!Sample_organism_ch1", [s["taxon"]] * len(ids))
        + "".join(row("!Sample_characteristics_ch1", [f"{k}: {v}" for v in vals]) for k, vals in s["fields"].items())
        + row("!Sample_library_strategy", ["RNA-Seq"] * len(ids))
        + '!series_matrix_table_begin\n"ID_REF"\t'
        + "\t".join(f'"{i}"' for i in ids)
        + "\n!series_matrix_table_end\n"
    )
    return gzip.compress(text.encode(), mtime=0)


def listing(acc: str) -> str:
    rows = "".join(f'<a href="{f}">{f}</a>                  2021-03-01 10:00  1.2M  \n' for f in SERIES[acc]["suppl"])
    return (
        f"<html><head><title>Index of /geo/series/GSE200nnn/{acc}/suppl</title></head><body>"
        f"<h1>Index of /geo/series/GSE200nnn/{acc}/suppl</h1><pre>Name  Last modified  Size  <hr>"
        f'<a href="/geo/series/GSE200nnn/{acc}/">Parent Directory</a>  -\n{rows}<hr></pre></body></html>'
    )


def tiny_counts(acc: str, first_column: str = "GeneID", ids=("3162", "7421", "4211")) -> pd.DataFrame:
    """A small valid count table (for the tests that only look at what exists)."""
    cols = gsm_ids(acc)
    frame = pd.DataFrame(
        [[10 + i + j for j in range(len(cols))] for i in range(len(ids))], index=list(ids), columns=cols
    )
    frame.index.name = first_column
    return frame


def gz_table(frame: pd.DataFrame) -> bytes:
    return gzip.compress(frame.to_csv(sep="\t", lineterminator="\n").encode(), mtime=0)


def serve(server, counts: dict[str, pd.DataFrame] | None = None) -> None:
    """Routes for the six series; ``counts`` = {accession: table} of the NCBI / supplementary counts
    (default: tiny tables)."""
    counts = counts or {}
    server.route("/eutils/esearch.fcgi", Reply(200, esearch(), content_type="application/json"), any_query=True)
    server.route("/eutils/esummary.fcgi", Reply(200, esummary(), content_type="application/json"), any_query=True)
    for acc, s in SERIES.items():
        if not s["fields"]:
            continue
        base = f"/geo/series/GSE200nnn/{acc}"
        server.route(f"{base}/matrix/{acc}_series_matrix.txt.gz", Reply(200, series_matrix(acc)))
        server.route(f"{base}/suppl/", Reply(200, listing(acc), content_type="text/html"))
        table = counts.get(acc, tiny_counts(acc) if s["ncbi"] else tiny_counts(acc, "gene_id", ("ENSG1", "ENSG2")))
        if s["ncbi"]:
            name = f"{acc}_raw_counts_GRCh38.p13_NCBI.tsv.gz"
            server.route(
                f"/geo/download/?type=rnaseq_counts&acc={acc}&format=file&file={name}", Reply(200, gz_table(table))
            )
        for f in s["suppl"]:
            if "count" in f:
                server.route(f"{base}/suppl/{f}", Reply(200, gz_table(table)))


def base_urls(server) -> dict:
    return {
        "eutils": server.url("/eutils/"),
        "geo_ftp": server.url("/geo/"),
        "geo_download": server.url("/geo/download/"),
        "enrichr": server.url("/Enrichr/"),
        "kegg_rest": server.url("/kegg/"),
        "gene_info": server.url("/gene/"),
    }
