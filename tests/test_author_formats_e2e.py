"""Author count tables and gene-set answers (issue 12) through real snakemake runs: local files
(featureCounts with BAM-path columns, R write.table), and a GEO series served by the local HTTP
server (STAR ReadsPerGene RAW.tar with strandedness inferred or set, htseq-count
--additional-attr RAW.tar with featureCounts/Rsubread summaries, a featureCounts table in
suppl/), an Enrichr library saved by a spreadsheet (CR-only lines, a single tab after the term)
and KEGG REST answers with name-only genes and 3-column links.

Each bad case checks the message, that nothing partial is left, and that the run after the fix
works. The runs stop after the prepare steps (the formats are what is tested; the analysis
after them is the same as for any table).
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

import author_formats as af
from fixtures_http import Reply, http_server, http_server_module  # noqa: F401
from test_bad_input import PREPARE_OUTPUTS, assert_failed_cleanly, assert_in

pytestmark = [pytest.mark.e2e, pytest.mark.shared]

DATA = Path(__file__).parent / "data" / "sources"
GSE = "GSE130001"
SUPPL = f"/geo/series/GSE130nnn/{GSE}/suppl/"
# GSE130001's series matrix: siRNA samples GSM3730001..6, knockdown = odd, control = even; GSM3730007 untreated
GSM_COLUMN = {
    "GSM3730001": "trt1",
    "GSM3730002": "ctrl1",
    "GSM3730003": "trt2",
    "GSM3730004": "ctrl2",
    "GSM3730005": "trt3",
    "GSM3730006": "ctrl3",
    "GSM3730007": "ctrl1",
}
RULES = {
    "select": {"treatment": "siRNA"},
    "groups": {
        "knockdown": {"genotype/variation": "^MEIS1 knockdown$"},
        "control": {"genotype/variation": "^control$", "treatment": "non-targeting"},
    },
}


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1573800000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def listing(names: list[str]) -> str:
    rows = "".join(f'<a href="{n}">{n}</a>    2019-11-15 10:12   40K\n' for n in names)
    return (
        f"<html><head><title>Index of {SUPPL}</title></head><body><h1>Index of {SUPPL}</h1><pre>"
        f'<a href="/geo/series/GSE130nnn/{GSE}/">Parent Directory</a>\n{rows}</pre></body></html>'
    )


def prepared(work: Path, name: str, study: str = "config") -> tuple[dict, pd.DataFrame]:
    """A dataset's prepared files, in the folder of the study (named by the config file: config.yaml)."""
    info = json.loads((work / f"results/{study}/{name}/input/prepare.json").read_text())
    with gzip.open(work / f"results/{study}/{name}/input/counts.tsv.gz", "rt") as fh:
        return info, pd.read_csv(fh, sep="\t", index_col=0)


def test_local_featurecounts_and_r_tables(make_dataset, write_config, snakemake_run):
    fc, rtab = make_dataset("fc"), make_dataset("rtab", seed=11)
    # featureCounts of 6 BAM files, one of them counted twice (a re-sequenced sample): refused, nothing kept
    fc.counts_path.write_text(
        af.featurecounts_table(
            fc.counts, bam=lambda s: af.bam_path("ctrl1", "/scratch/run2/") if s == "ctrl2" else af.bam_path(s)
        )
    )
    rtab.counts_path.write_text(af.r_write_table(rtab.counts))
    config = write_config({"fc": fc, "rtab": rtab})
    targets = [f"results/config/{d}/input/prepare.json" for d in ("fc", "rtab")]
    work = snakemake_run.workdir
    rc, out = snakemake_run(config, *targets, "--keep-going")
    clash = (
        f"several count columns belong to the same sample: ctrl1: {af.bam_path('ctrl1')}, "
        f"{af.bam_path('ctrl1', '/scratch/run2/')}"
    )
    assert_failed_cleanly(rc, out, work, ["dataset fc", clash], [f"results/config/fc/{p}" for p in PREPARE_OUTPUTS])
    info, counts = prepared(work, "rtab")  # the other dataset was read (R write.table, row names)
    assert info["count_layout"]["layout"] == "r_row_names" and counts.equals(rtab.counts)
    assert "R write.table layout (row names without a header cell)" in out

    fc.counts_path.write_text(af.featurecounts_table(fc.counts))  # fixed: one BAM per sample
    rc, out = snakemake_run(config, *targets)
    assert rc == 0, out[-4000:]
    info, counts = prepared(work, "fc")
    assert counts.equals(fc.counts)
    assert info["count_layout"]["dropped_columns"] == ["Chr", "Start", "End", "Strand", "Length"]
    assert len(info["column_mapping"]) == 6
    assert_in(
        out,
        "featureCounts table: skipped 1 comment line(s) and dropped the annotation columns",
        f"{af.bam_path('trt3')} -> trt3 (its file name)",
    )


def serve_all(server, tiny, star_library: str, kegg_extra: bool = True) -> None:
    server.route(
        f"/geo/series/GSE130nnn/{GSE}/matrix/{GSE}_series_matrix.txt.gz",
        Reply(200, gzip.compress((DATA / f"{GSE}_series_matrix.txt").read_bytes(), mtime=0)),
    )
    names = [f"{GSE}_RAW.tar", f"{GSE}_htseq_RAW.tar", f"{GSE}_featureCounts.txt.gz", "filelist.txt"]
    server.route(SUPPL, Reply(200, listing(names), content_type="text/html"))
    c = tiny.counts
    star = {
        f"{g}_S{k}.ReadsPerGene.out.tab.gz": gzip.compress(af.star_reads_per_gene(c[col], star_library, k).encode())
        for k, (g, col) in enumerate(GSM_COLUMN.items(), 1)
    }
    server.route(SUPPL + f"{GSE}_RAW.tar", Reply(200, tar_bytes(star)))
    htseq = {
        f"{g}_S{k}.htseq.counts.txt": af.htseq_additional_attr(c[col], tiny.symbols, padded=k % 2 == 0).encode()
        for k, (g, col) in enumerate(GSM_COLUMN.items(), 1)
    }
    htseq["GSM3730001_featureCounts_stat.txt"] = af.featurecounts_summary(["GSM3730001.bam"], quoted=True).encode()
    server.route(SUPPL + f"{GSE}_htseq_RAW.tar", Reply(200, tar_bytes(htseq)))
    table = pd.DataFrame({g: c[col] for g, col in GSM_COLUMN.items()})
    fc = af.featurecounts_table(table, bam=lambda g: f"/data/{g}_{GSM_COLUMN[g]}.sorted.bam")
    server.route(SUPPL + f"{GSE}_featureCounts.txt.gz", Reply(200, gzip.compress(fc.encode(), mtime=0)))


def spreadsheet_library(kegg_path: Path) -> tuple[bytes, dict]:
    """KEGG_2021_Human as a spreadsheet saves it: CR line endings, the empty description column lost on the
    Mineral absorption line and two others."""
    sets = {}
    for line in kegg_path.read_text().splitlines():
        f = line.split("\t")
        sets[f[0]] = [g for g in f[2:] if g]
    single = {"Mineral absorption", "Ferroptosis", "Glycolysis / Gluconeogenesis"}
    return af.enrichr_from_spreadsheet(sets, single_tab=single), sets


def serve_kegg(server) -> None:
    for path, name in (
        ("/kegg/info/kegg", "kegg_info_kegg.txt"),
        ("/kegg/list/pathway/hsa", "kegg_list_pathway_hsa.tsv"),
        ("/kegg/link/hsa/pathway", "kegg_link_hsa_pathway.tsv"),
        ("/kegg/list/hsa", "kegg_list_hsa.tsv"),
    ):
        body = (DATA / name).read_text()
        if name == "kegg_list_hsa.tsv":
            body += "hsa:4489\tCDS\t16:56632090..56633475\tMT1A\n"  # a name, no "; description"
        if name == "kegg_link_hsa_pathway.tsv":
            body += "path:hsa04978\thsa:4489\treverse\n"  # a third column
        server.route(path, Reply(200, body, content_type="text/plain"))


def geo_config(server, tiny, cache: Path, star: dict | None = None) -> dict:
    def ds(extra):
        return {
            "geo": {"accession": GSE, "counts": "supplementary", "samples": RULES, **extra},
            "design": "~condition",
            "contrast": ["condition", "knockdown", "control"],
        }

    return {
        "datasets": {
            "star": ds({"file": f"{GSE}_RAW.tar", **(star or {})}),
            "htseq_attr": ds({"file": f"{GSE}_htseq_RAW.tar"}),
            "fc_table": ds({"file": f"{GSE}_featureCounts.txt.gz"}),
            # a featureCounts table on some web site, with a local sample sheet
            "fc_url": {
                "url": server.url("/lab/counts.txt"),
                "samples": str(tiny.samples_path),
                "design": "~condition",
                "contrast": ["condition", "Treated", "Control"],
            },
        },
        "genesets": {"KEGG_sheet": {"enrichr": "KEGG_sheet"}, "KEGG_current": {"kegg_rest": "hsa"}},
        "target_pathway": "Mineral absorption",
        "downloads": {"cache_dir": str(cache), "retries": 1, "backoff": 0.1, "timeout": 20},
        "base_urls": {
            "geo_ftp": server.url("/geo/"),
            "geo_download": server.url("/geo/download/"),
            "enrichr": server.url("/Enrichr/"),
            "kegg_rest": server.url("/kegg/"),
        },
        "enrichment": {"gsea_permutations": 50},
        "threads": {"deseq2": 1, "gsea": 1},
    }


def test_geo_author_files_and_libraries(
    http_server,
    tiny,
    kegg_path,
    annotation_path,
    tmp_path,  # noqa: F811
    snakemake_run,
):
    serve_all(http_server, tiny, "unclear")
    http_server.route("/lab/counts.txt", Reply(200, af.featurecounts_table(tiny.counts), content_type="text/plain"))
    text, sets = spreadsheet_library(kegg_path)
    http_server.route("/Enrichr/geneSetLibrary", Reply(200, text, content_type="text/plain"), any_query=True)
    serve_kegg(http_server)
    cfg = geo_config(http_server, tiny, tmp_path / "cache")
    cfg["annotation"] = str(annotation_path)
    path = tmp_path / "geo.yaml"
    path.write_text(yaml.safe_dump(cfg))
    work = snakemake_run.workdir
    targets = [f"results/geo/{d}/input/prepare.json" for d in cfg["datasets"]] + [
        "resources/geo/genesets/KEGG_sheet.gmt",
        "resources/geo/genesets/KEGG_current.gmt",
    ]

    # 1. STAR files whose forward and reverse N_noFeature are neither close nor clearly apart: stop, say so
    rc, out = snakemake_run(path, *targets, "--keep-going", timeout=600)
    assert "rule fetch_dataset: " in out
    assert_failed_cleanly(
        rc,
        out,
        work,
        [
            "dataset star",
            "cannot tell the strandedness of the STAR ReadsPerGene files",
            "GSM3730001: unstranded 900000 / forward 1000000 / reverse 1250000 (ratio 0.80)",
            "Set `strandedness`",
        ],
        ["resources/geo/datasets/star/counts.tsv.gz", "resources/geo/datasets/star/source.json"]
        + [f"results/geo/star/{p}" for p in PREPARE_OUTPUTS],
    )
    # the other datasets and the libraries were read
    info, counts = prepared(work, "htseq_attr", "geo")
    assert counts.shape == (len(tiny.counts), 6) and counts["GSM3730003"].tolist() == tiny.counts["trt2"].tolist()
    assert info["source"]["merged"]["skipped"] == ["GSM3730001_featureCounts_stat.txt"]
    assert info["source"]["merged"]["htseq_attribute_columns_dropped"] == 1
    info, counts = prepared(work, "fc_table", "geo")
    assert counts["GSM3730004"].tolist() == tiny.counts["ctrl2"].tolist()
    assert info["source_count_layout"]["layout"] == "featurecounts"
    assert (
        "/data/GSM3730005_trt3.sorted.bam -> GSM3730005 (the GSM accession in its file name)"
        in info["source_column_mapping"]
    )
    info, counts = prepared(work, "fc_url", "geo")
    assert counts.equals(tiny.counts) and len(info["column_mapping"]) == 6
    gmt = {
        ln.split("\t")[0]: ln.rstrip("\n").split("\t")[2:]
        for ln in (work / "resources/geo/genesets/KEGG_sheet.gmt").read_text().splitlines()
    }
    assert gmt["Mineral absorption"] == sets["Mineral absorption"] and len(gmt) == len(sets)
    kegg = {
        ln.split("\t")[0]: ln.rstrip("\n").split("\t")[2:]
        for ln in (work / "resources/geo/genesets/KEGG_current.gmt").read_text().splitlines()
    }
    assert "MT1A" in kegg["Mineral absorption"]
    assert_in(out, "3 line(s) have no description field")

    # 2. the config says how the library was made: the run completes, the choice is recorded as the config's
    cfg["datasets"]["star"]["geo"]["strandedness"] = "forward"
    path.write_text(yaml.safe_dump(cfg))
    rc, out = snakemake_run(path, *targets, timeout=600)
    assert rc == 0, out[-4000:]
    info, counts = prepared(work, "star", "geo")
    assert info["strandedness"]["chosen"] == "forward" and info["strandedness"]["source"] == "config"
    assert counts["GSM3730001"].tolist() == tiny.counts["trt1"].tolist()

    # 3. a reverse-stranded (dUTP) library with no strandedness set: inferred, with its numbers, rerun from scratch
    serve_all(http_server, tiny, "reverse")
    del cfg["datasets"]["star"]["geo"]["strandedness"]
    cfg["downloads"]["cache_dir"] = str(tmp_path / "cache2")
    path.write_text(yaml.safe_dump(cfg))
    rc, out = snakemake_run(path, "results/geo/star/input/prepare.json", "--forcerun", "fetch_dataset", timeout=600)
    assert rc == 0, out[-4000:]
    info, counts = prepared(work, "star", "geo")
    st = info["strandedness"]
    assert st["chosen"] == "reverse" and st["column"] == 4 and st["source"] == "inferred from N_noFeature"
    assert st["samples"]["GSM3730002"]["N_noFeature"]["reverse"] < st["samples"]["GSM3730002"]["N_noFeature"]["forward"]
    assert counts["GSM3730006"].tolist() == tiny.counts["ctrl3"].tolist()
    assert "strandedness inferred as reverse (column 4) from N_noFeature" in out
    from pathverdict.report.provenance import dataset_origin

    assert_in(
        dataset_origin(info),
        f"GEO series {GSE}",
        "STAR ReadsPerGene column 4 (reverse), inferred from N_noFeature; N_noFeature in GSM3730001: unstranded",
    )
