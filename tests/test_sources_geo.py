"""sources.geo: series matrix, NCBI counts + annotation, suppl/ listing, RAW.tar, sample sheets."""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from fixtures_http import Reply, http_server, http_server_module  # noqa: F401
from pathverdict.sources import annotation
from pathverdict import tables
from pathverdict.errors import InputError
from pathverdict.sources import geo
from pathverdict.sources.download import Downloader, DownloadError

DATA = Path(__file__).parent / "data" / "sources"
MATRIX_TXT = (DATA / "GSE130001_series_matrix.txt").read_bytes()
MATRIX_GZ = gzip.compress(MATRIX_TXT, mtime=0)
GENES = ["ENSG00000075624", "ENSG00000111640", "ENSG00000100292", "ENSG00000143995", "ENSG00000125148"]
SAMPLES = ["GSM3730001", "GSM3730002", "GSM3730003", "GSM3730004"]


@pytest.fixture
def dl(tmp_path):
    return Downloader(tmp_path / "cache", retries=1, backoff=0.01, timeout=5)


def gz(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)


def make_tar(path: Path, files: dict[str, bytes], extra=()) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1573800000
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return path


def htseq_text(i: int) -> str:
    lines = [f"{g}\t{(k + 1) * 10 + i}" for k, g in enumerate(GENES)]
    lines += [
        "__no_feature\t1200",
        "__ambiguous\t30",
        "__too_low_aQual\t0",
        "__not_aligned\t5",
        "__alignment_not_unique\t800",
    ]
    return "\n".join(lines) + "\n"


def featurecounts_text(i: int) -> str:
    out = [
        f'# Program:featureCounts v2.0.1; Command:"featureCounts" "-a" "genes.gtf" "-o" "counts.txt" "sample{i}.bam" ',
        "Geneid\tChr\tStart\tEnd\tStrand\tLength\t/data/bam/sample%d.bam" % i,
    ]
    for k, g in enumerate(GENES):
        out.append(f"{g}\tchr1;chr1\t100;500\t200;900\t+;+\t{500 + k}\t{k * 3 + i}")
    return "\n".join(out) + "\n"


def star_text(i: int) -> str:
    out = [
        "N_unmapped\t2000\t2000\t2000",
        "N_multimapping\t9000\t9000\t9000",
        "N_noFeature\t150000\t4100000\t160000",
        "N_ambiguous\t40000\t1000\t38000",
    ]
    for k, g in enumerate(GENES):
        out.append(f"{g}\t{100 + k}\t{k}\t{90 + k + i}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- accessions and URLs


def test_series_folder_rule():
    assert geo.series_folder("GSE12345") == "GSE12nnn"
    assert geo.series_folder("GSE123") == "GSEnnn"
    assert geo.series_folder("GSE1") == "GSEnnn"
    assert geo.series_folder("gse130001") == "GSE130nnn"
    assert geo.series_matrix_url("GSE12345") == (
        "https://ftp.ncbi.nlm.nih.gov/geo/series/GSE12nnn/GSE12345/matrix/GSE12345_series_matrix.txt.gz"
    )
    assert geo.ncbi_counts_url("GSE12345") == (
        "https://www.ncbi.nlm.nih.gov/geo/download/?type=rnaseq_counts&acc=GSE12345&format=file&"
        "file=GSE12345_raw_counts_GRCh38.p13_NCBI.tsv.gz"
    )
    with pytest.raises(InputError, match="'GSM3730001' is not a GEO series accession"):
        geo.series_folder("GSM3730001")


# --------------------------------------------------------------------------- series matrix


def test_parse_series_matrix(tmp_path):
    p = tmp_path / "GSE130001_series_matrix.txt.gz"
    p.write_bytes(MATRIX_GZ)
    meta = geo.parse_series_matrix(p)
    assert list(meta.index) == [f"GSM373000{i}" for i in range(1, 8)] and meta.index.name == "sample"
    cols = list(meta.columns)
    assert cols[:5] == ["title", "status", "submission_date", "type", "channel_count"]
    assert cols.index("cell line") == cols.index("organism_ch1") + 1
    assert {"genotype/variation", "treatment", "batch", "time", "description", "source_name_ch1", "series"} <= set(cols)
    row = meta.loc["GSM3730001"]
    assert row["title"] == "SKNSH_siMEIS1_rep1" and row["genotype/variation"] == "MEIS1 knockdown"
    assert row["treatment"] == "siRNA against MEIS1, 72 h" and row["batch"] == "1"
    assert row["description"] == "siMEIS1_1; counts: GSM3730001_siMEIS1_1.counts.txt.gz"
    assert row["data_processing"] == "Reads were aligned with STAR.; Genome_build: GRCh38"
    assert row["relation"].startswith("BioSample: https://") and "; SRA: https://" in row["relation"]
    assert row["series"] == "GSE130001"
    last = meta.loc["GSM3730007"]
    assert last["batch"] == "" and last["time"] == "72 h" and last["treatment"] == ""


def test_series_matrix_characteristics_clash_and_damage(tmp_path):
    text = (
        '!Series_geo_accession\t"GSE5"\n!Sample_title\t"a"\t"b"\n!Sample_geo_accession\t"GSM1"\t"GSM2"\n'
        '!Sample_characteristics_ch1\t"title: x"\t"no key here"\n!series_matrix_table_begin\n'
    )
    p = tmp_path / "m.txt"
    p.write_text(text)
    meta = geo.parse_series_matrix(p)
    assert meta.loc["GSM1", "title (characteristics)"] == "x"
    assert meta.loc["GSM2", "characteristics_ch1"] == "no key here"
    p.write_text(text.replace('"GSM1"\t"GSM2"', '"GSM1"'))
    with pytest.raises(InputError, match=r"line 2 \(!Sample_title\) has 2 values for 1 samples"):
        geo.parse_series_matrix(p)


def test_fetch_series_matrix(http_server, dl):
    http_server.route("/geo/series/GSE130nnn/GSE130001/matrix/GSE130001_series_matrix.txt.gz", Reply(200, MATRIX_GZ))
    recs = geo.fetch_series_matrix("GSE130001", dl, base_url=http_server.url("/geo/"))
    assert [r.path.name for r in recs] == ["GSE130001_series_matrix.txt.gz"]
    assert recs[0].path == dl.cache_dir / "geo" / "GSE130001" / "GSE130001_series_matrix.txt.gz"
    assert len(geo.parse_series_matrix([r.path for r in recs])) == 7


def test_fetch_series_matrix_of_several_platforms(http_server, dl):
    base = "/geo/series/GSE130nnn/GSE130001/matrix/"
    http_server.route(base + "GSE130001_series_matrix.txt.gz", Reply(404, "Not Found"))
    listing = (
        '<html><body><pre><a href="/geo/series/GSE130nnn/GSE130001/">Parent Directory</a>\n'
        '<a href="GSE130001-GPL16791_series_matrix.txt.gz">GSE130001-GPL16791_series_matrix.txt.gz</a> '
        '2019-11-15 10:12  3.1K\n<a href="GSE130001-GPL20301_series_matrix.txt.gz">'
        "GSE130001-GPL20301_series_matrix.txt.gz</a> 2019-11-15 10:12  2.0K\n</pre></body></html>"
    )
    http_server.route(base, Reply(200, listing, content_type="text/html"))
    part2 = MATRIX_TXT.replace(b"GSM373000", b"GSM374000")
    http_server.route(base + "GSE130001-GPL16791_series_matrix.txt.gz", Reply(200, MATRIX_GZ))
    http_server.route(base + "GSE130001-GPL20301_series_matrix.txt.gz", Reply(200, gzip.compress(part2)))
    recs = geo.fetch_series_matrix("GSE130001", dl, base_url=http_server.url("/geo/"))
    assert [r.path.name for r in recs] == [
        "GSE130001-GPL16791_series_matrix.txt.gz",
        "GSE130001-GPL20301_series_matrix.txt.gz",
    ]
    assert len(geo.parse_series_matrix([r.path for r in recs])) == 14


def test_series_matrix_404_names_accession(http_server, dl):
    with pytest.raises(
        DownloadError,
        match=r"series matrix of GSE99999: not found at http://127\.0\.0\.1:\d+/geo/series/"
        r"GSE99nnn/GSE99999/matrix/GSE99999_series_matrix\.txt\.gz \(HTTP 404",
    ):
        geo.fetch_series_matrix("GSE99999", dl, base_url=http_server.url("/geo/"))


# --------------------------------------------------------------------------- NCBI-generated counts


def ncbi_counts_table() -> str:
    rows = ["GeneID\t" + "\t".join(SAMPLES)]
    for k, gid in enumerate(["60", "2597", "3162", "4211", "4502", "7421"]):
        rows.append(gid + "\t" + "\t".join(str((k + 1) * (j + 2)) for j in range(len(SAMPLES))))
    return "\n".join(rows) + "\n"


def test_ncbi_counts_and_annotation(http_server, dl):
    http_server.route(
        "/geo/download/?type=rnaseq_counts&acc=GSE130001&format=file&file=GSE130001_raw_counts_GRCh38.p13_NCBI.tsv.gz",
        Reply(200, gz(ncbi_counts_table())),
    )
    http_server.route(
        "/geo/download/?type=rnaseq_counts&format=file&file=Human.GRCh38.p13.annot.tsv.gz",
        Reply(200, gzip.compress((DATA / "Human.GRCh38.p13.annot.tsv").read_bytes())),
    )
    counts = geo.fetch_ncbi_counts("GSE130001", dl, base_url=http_server.url("/geo/download/"))
    annot = geo.fetch_ncbi_annotation(dl, base_url=http_server.url("/geo/download/"))
    assert counts.path.name == "GSE130001_raw_counts_GRCh38.p13_NCBI.tsv.gz"
    cm = tables.read_counts(counts.path)
    assert list(cm.counts.columns) == SAMPLES and cm.counts.loc["3162", "GSM3730002"] == 9
    ann = annotation.load_annotation(annot.path)
    assert ann.entrez_to_symbol["3162"] == "HMOX1" and ann.ensembl_to_symbol["ENSG00000111424"] == "VDR"


def test_ncbi_counts_missing(http_server, dl):
    with pytest.raises(
        DownloadError,
        match=r"NCBI-generated raw counts of GSE4: not found at .*acc=GSE4.*HTTP 404.*"
        r"only for some human and mouse RNA-seq series",
    ):
        geo.fetch_ncbi_counts("GSE4", dl, base_url=http_server.url("/geo/download/"))
    http_server.route("/geo/download/", Reply(200, gz("Symbol\tGSM1\nA\t1\n")), any_query=True)
    with pytest.raises(InputError, match=r"expected NCBI's raw counts layout \(GeneID"):
        geo.fetch_ncbi_counts("GSE5", dl, base_url=http_server.url("/geo/download/"))


# --------------------------------------------------------------------------- supplementary files


def test_parse_directory_listing():
    files = geo.parse_directory_listing((DATA / "suppl_listing.html").read_text(), "https://x.org/suppl/")
    assert [f.name for f in files] == [
        "GSE130001_RAW.tar",
        "GSE130001_normalized_TPM.txt.gz",
        "GSE130001_raw_counts.txt.gz",
        "filelist.txt",
    ]
    assert files[0].url == "https://x.org/suppl/GSE130001_RAW.tar"
    assert (files[0].modified, files[0].size) == ("2019-11-15 10:12", "40K")


def test_select_file_patterns():
    files = geo.parse_directory_listing((DATA / "suppl_listing.html").read_text(), "https://x.org/suppl/")
    assert geo.select_file(files, "*_RAW.tar", "x").name == "GSE130001_RAW.tar"
    assert geo.select_file(files, r"re:raw_counts\.txt", "x").name == "GSE130001_raw_counts.txt.gz"
    with pytest.raises(
        InputError,
        match=r"2 files match '\*.txt.gz': GSE130001_normalized_TPM.txt.gz, "
        r"GSE130001_raw_counts.txt.gz. Make the pattern match exactly one",
    ):
        geo.select_file(files, "*.txt.gz", "x")
    with pytest.raises(InputError, match=r"no file matches '\*counts.csv'; the files are: GSE130001_RAW.tar"):
        geo.select_file(files, "*counts.csv", "x")


def test_fetch_supplementary_raw_tar_and_merge(http_server, dl, tmp_path):
    tar = make_tar(tmp_path / "src.tar", {f"GSM373000{i}_s{i}.counts.txt.gz": gz(htseq_text(i)) for i in (2, 1, 3)})
    suppl = "/geo/series/GSE130nnn/GSE130001/suppl/"
    http_server.route(suppl, Reply(200, (DATA / "suppl_listing.html").read_bytes(), content_type="text/html"))
    http_server.route(suppl + "GSE130001_RAW.tar", Reply(200, tar.read_bytes(), content_type="application/x-tar"))
    rec, listing = geo.fetch_supplementary("GSE130001", "*_RAW.tar", dl, base_url=http_server.url("/geo/"))
    assert rec.path == dl.cache_dir / "geo" / "GSE130001" / "suppl" / "GSE130001_RAW.tar"
    assert listing.path.name == "suppl_listing.html"
    merged = geo.read_raw_tar_counts(rec.path)
    assert list(merged.counts.columns) == ["GSM3730001", "GSM3730002", "GSM3730003"]
    assert list(merged.counts.index) == GENES and merged.counts.index.name == "gene_id"
    assert merged.counts.loc["ENSG00000100292", "GSM3730002"] == 32
    assert set(merged.formats.values()) == {"htseq"}
    assert merged.special.loc["no_feature", "GSM3730001"] == 1200
    out = tmp_path / "counts.tsv.gz"
    geo.write_counts(merged, out)
    cm = tables.read_counts(out)
    assert cm.counts.equals(merged.counts.rename_axis("gene_id"))


def test_featurecounts_and_summary_files(tmp_path):
    files = {f"GSM37300{i:02d}_s{i}.featureCounts.txt": featurecounts_text(i).encode() for i in (10, 11)}
    files["GSM3730010_s10.featureCounts.txt.summary"] = b"Status\t/data/bam/sample10.bam\nAssigned\t100\n"
    merged = geo.read_raw_tar_counts(make_tar(tmp_path / "fc.tar", files))
    assert list(merged.counts.columns) == ["GSM3730010", "GSM3730011"]
    assert merged.counts.loc["ENSG00000143995", "GSM3730011"] == 3 * 3 + 11
    assert merged.skipped == ["GSM3730010_s10.featureCounts.txt.summary"]


def test_star_reads_per_gene_strandedness(tmp_path):
    tar = make_tar(
        tmp_path / "star.tar", {f"GSM37300{i}_S{i}_ReadsPerGene.out.tab.gz": gz(star_text(i)) for i in (20, 21)}
    )
    rev = geo.read_raw_tar_counts(tar, strandedness="reverse")
    assert rev.counts["GSM3730021"].tolist() == [111, 112, 113, 114, 115]
    assert rev.special.loc["N_noFeature", "GSM3730020"] == 160000
    assert geo.read_raw_tar_counts(tar, strandedness="unstranded").counts["GSM3730020"].tolist() == [
        100,
        101,
        102,
        103,
        104,
    ]
    assert geo.read_raw_tar_counts(tar, strandedness="yes").counts["GSM3730020"].tolist() == [0, 1, 2, 3, 4]
    # not set: inferred from N_noFeature (forward 4,100,000 vs reverse 160,000: reverse), recorded with the numbers
    inferred = geo.read_raw_tar_counts(tar)
    assert inferred.counts.equals(rev.counts)
    assert (
        inferred.strandedness["chosen"] == "reverse" and inferred.strandedness["source"] == "inferred from N_noFeature"
    )
    assert inferred.strandedness["samples"]["GSM3730020"]["N_noFeature"] == {
        "unstranded": 150000,
        "forward": 4100000,
        "reverse": 160000,
    }
    unclear = make_tar(
        tmp_path / "unclear.tar",
        {
            "GSM3730020_ReadsPerGene.out.tab": star_text(20)
            .replace("N_noFeature\t150000\t4100000\t160000", "N_noFeature\t150000\t200000\t160000")
            .encode()
        },
    )
    with pytest.raises(
        InputError,
        match=r"cannot tell the strandedness .* N_noFeature per column: GSM3730020: "
        r"unstranded 150000 / forward 200000 / reverse 160000 \(ratio 0.80\).* Set "
        r"`strandedness` to unstranded \(column 2\), forward \(column 3",
    ):
        geo.read_raw_tar_counts(unclear)


def test_mixed_or_unknown_members(tmp_path):
    tar = make_tar(tmp_path / "mix.tar", {"GSM1_a.txt": htseq_text(1).encode(), "GSM2_b.bw": b"\x00\x01binary\x02"})
    with pytest.raises(InputError, match=r"GSM2_b.bw: not a count file this workflow reads"):
        geo.read_raw_tar_counts(tar)
    assert list(geo.read_raw_tar_counts(tar, pattern="*.txt").counts.columns) == ["GSM1"]
    tar = make_tar(tmp_path / "noprefix.tar", {"sample_a.txt": htseq_text(1).encode()})
    with pytest.raises(InputError, match=r"'sample_a.txt' does not start with a GSM accession"):
        geo.read_raw_tar_counts(tar)
    diff = make_tar(
        tmp_path / "diff.tar",
        {"GSM1_a.txt": htseq_text(1).encode(), "GSM2_a.txt": "\n".join(htseq_text(2).splitlines()[1:]).encode()},
    )
    with pytest.raises(InputError, match=r"do not list the same genes: GSM1 has 5; differing: GSM2 \(4 genes\)"):
        geo.read_raw_tar_counts(diff)
    bad = make_tar(tmp_path / "neg.tar", {"GSM1_a.txt": b"G1\t-3\n"})
    with pytest.raises(InputError, match=r"line 1, gene G1: count '-3' is not a non-negative integer"):
        geo.read_raw_tar_counts(bad)


# --------------------------------------------------------------------------- unsafe archives


def evil_tar(path: Path) -> Path:
    link = tarfile.TarInfo("GSM3730002_link.txt")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    return make_tar(path, {"GSM3730001_ok.txt": htseq_text(1).encode(), "../evil": b"pwned\n"}, extra=[link])


def test_unsafe_tar_is_refused_and_nothing_extracted(tmp_path):
    tar = evil_tar(tmp_path / "evil.tar")
    dest = tmp_path / "out" / "x"
    dest.mkdir(parents=True)
    with pytest.raises(InputError) as err:
        geo.safe_extract(tar, dest)
    msg = str(err.value)
    assert "refused, nothing was extracted or read" in msg
    assert "'../evil': '..' in the path" in msg and "symbolic link to '/etc/passwd'" in msg
    assert list(dest.iterdir()) == [] and not (tmp_path / "out" / "evil").exists() and not (tmp_path / "evil").exists()
    with pytest.raises(InputError, match=r"refused"):
        geo.read_raw_tar_counts(tar)


@pytest.mark.parametrize(
    "name,why",
    [
        ("/abs/GSM1.txt", "absolute path"),
        ("a/../../GSM1.txt", "'..' in the path"),
        ("C:\\x\\GSM1.txt", "absolute path"),
    ],
)
def test_bad_member_names(tmp_path, name, why):
    tar = make_tar(tmp_path / "t.tar", {name: b"G\t1\n"})
    with pytest.raises(InputError, match=re.escape(why)):
        geo.check_tar_members(tar)


def test_extraction_is_judged_by_tarfiles_data_filter_at_the_destination(tmp_path):
    """A folder of the destination that is a link to elsewhere cannot carry a member out of it
    (tarfile.data_filter resolves the real path); a '..' that stays inside is harmless."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "sub").symlink_to(outside, target_is_directory=True)
    tar = make_tar(tmp_path / "t.tar", {"sub/GSM1_a.txt": b"G\t1\n"})
    with pytest.raises(
        InputError, match=r"'sub/GSM1_a.txt': would be written outside .*dest \(a folder there is a link"
    ):
        geo.safe_extract(tar, dest)
    assert list(outside.iterdir()) == []
    assert [m.name for m in geo.check_tar_members(tar)] == ["sub/GSM1_a.txt"]  # fine on its own
    inside = make_tar(tmp_path / "in.tar", {"x/../GSM1_a.txt": b"G\t1\n"})
    assert geo.safe_extract(inside, tmp_path / "ok") == [(tmp_path / "ok" / "GSM1_a.txt").resolve()]


def test_hardlink_device_and_limits(tmp_path):
    hard = tarfile.TarInfo("GSM2_hard.txt")
    hard.type = tarfile.LNKTYPE
    hard.linkname = "GSM1_a.txt"
    dev = tarfile.TarInfo("GSM3_dev")
    dev.type = tarfile.CHRTYPE
    tar = make_tar(tmp_path / "t.tar", {"GSM1_a.txt": b"G\t1\n"}, extra=[hard, dev])
    with pytest.raises(InputError, match=r"hard link to 'GSM1_a.txt'.*device file or FIFO"):
        geo.check_tar_members(tar)
    many = make_tar(tmp_path / "many.tar", {f"GSM{i}_a.txt": b"G\t1\n" for i in range(1, 6)})
    with pytest.raises(InputError, match=r"more than 3 entries"):
        geo.check_tar_members(many, geo.TarLimits(max_members=3))
    with pytest.raises(InputError, match=r"'GSM1_a.txt': 4 bytes, over the limit of 3"):
        geo.check_tar_members(many, geo.TarLimits(max_member_bytes=3))
    with pytest.raises(InputError, match=r"more than 10 bytes in all"):
        geo.check_tar_members(many, geo.TarLimits(max_total_bytes=10))
    bomb = make_tar(tmp_path / "bomb.tar", {"GSM1_a.txt.gz": gzip.compress(b"G\t1\n" * 5000)})
    with pytest.raises(InputError, match=r"more than 1000 bytes of text; refused"):
        geo.read_raw_tar_counts(bomb, limits=geo.TarLimits(max_text_bytes=1000))


def test_safe_extract_and_merge_files(tmp_path):
    tar = make_tar(
        tmp_path / "ok.tar",
        {
            "GSM1_a.counts.txt": htseq_text(1).encode(),
            "GSM2_b.counts.txt": htseq_text(2).encode(),
            "filelist.txt": b"x\n",
        },
    )
    paths = geo.safe_extract(tar, tmp_path / "ex", pattern="GSM*")
    assert sorted(p.name for p in paths) == ["GSM1_a.counts.txt", "GSM2_b.counts.txt"]
    assert not (tmp_path / "ex" / "filelist.txt").exists()
    merged = geo.merge_count_files(paths)
    assert list(merged.counts.columns) == ["GSM1", "GSM2"] and merged.counts.shape == (5, 2)


# --------------------------------------------------------------------------- sample sheets


@pytest.fixture
def meta(tmp_path):
    p = tmp_path / "m.txt.gz"
    p.write_bytes(MATRIX_GZ)
    return geo.parse_series_matrix(p)


RULES = {
    "select": {"treatment": "siRNA"},
    "groups": {
        "knockdown": {"genotype/variation": "^MEIS1 knockdown$"},
        "control": {"genotype/variation": "^control$", "treatment": "non-targeting"},
    },
}


def test_sample_sheet(meta, tmp_path):
    sheet = geo.make_sample_sheet(meta, RULES)
    assert list(sheet.columns[:3]) == ["sample", "condition", "title"]
    assert sheet["sample"].tolist() == [f"GSM373000{i}" for i in range(1, 7)]
    assert sheet["condition"].tolist() == ["knockdown", "control"] * 3
    out = tmp_path / "samples.tsv"
    geo.write_sample_sheet(sheet, out)
    back = tables.read_samples(out)
    assert back.loc["GSM3730004", "condition"] == "control" and back.loc["GSM3730004", "batch"] == "2"


def test_sample_matching_no_group_is_listed_with_metadata(meta):
    rules = {"groups": RULES["groups"]}
    with pytest.raises(InputError) as err:
        geo.make_sample_sheet(meta, rules, group_column="group")
    msg = str(err.value)
    assert (
        "1 sample(s) match no group: GSM3730007 (title='SKNSH_untransfected', genotype/variation='wild type', "
        "treatment='')" in msg
    )
    assert "leave samples out with `select`" in msg


def test_sample_matching_two_groups(meta):
    rules = {"groups": {"siRNA": {"treatment": "siRNA"}, "control": {"genotype/variation": "control"}}}
    with pytest.raises(
        InputError,
        match=r"3 sample\(s\) match several groups: GSM3730002 \(title='SKNSH_siCtrl_rep1', "
        r"treatment='non-targeting siRNA, 72 h', genotype/variation='control'\) -> "
        r"siRNA, control",
    ):
        geo.make_sample_sheet(meta, rules)


def test_sample_rule_errors(meta):
    with pytest.raises(
        InputError, match=r"groups.kd.genotype: no such metadata field. Did you mean .*genotype/variation"
    ):
        geo.make_sample_sheet(meta, {"groups": {"kd": {"genotype": "MEIS1"}}})
    with pytest.raises(InputError, match=r"groups.kd.title: '\[' is not a valid regular expression"):
        geo.make_sample_sheet(meta, {"groups": {"kd": {"title": "["}}})
    with pytest.raises(InputError, match=r"`select` keeps none of the 7 samples"):
        geo.make_sample_sheet(meta, {"select": {"title": "^HEK"}, "groups": {"a": {"title": "."}}})
    with pytest.raises(InputError, match=r"group column name 'batch' is already a metadata field"):
        geo.make_sample_sheet(meta, RULES, group_column="batch")
    with pytest.raises(InputError, match=r"unknown key\(s\) group in the sample rules"):
        geo.make_sample_sheet(meta, {"group": {}})
    sheet = geo.make_sample_sheet(
        meta, {"groups": {"one": {"sample": "^GSM373000[1-3]$"}, "two": {"sample": "[4-7]$"}}}
    )
    assert sheet["condition"].value_counts().to_dict() == {"two": 4, "one": 3}
    assert isinstance(sheet, pd.DataFrame)


def test_sample_sheet_named_by_a_metadata_field(meta):
    sheet = geo.make_sample_sheet(meta, RULES, sample_field="description")
    assert sheet["sample"].tolist()[:2] == ["siMEIS1_1; counts: GSM3730001_siMEIS1_1.counts.txt.gz", "siCtrl_1"]
    assert sheet["geo_accession"].tolist()[:2] == ["GSM3730001", "GSM3730002"]
    sheet = geo.make_sample_sheet(meta, RULES, sample_field="title")
    assert (
        list(sheet.columns[:3]) == ["sample", "condition", "geo_accession"]
        and sheet["sample"][0] == "SKNSH_siMEIS1_rep1"
    )
    with pytest.raises(InputError, match=r"field 'cell line' cannot name the samples: repeated: SK-N-SH"):
        geo.make_sample_sheet(meta, RULES, sample_field="cell line")


# --------------------------------------------------------------------------- one dataset from a config entry


def serve_series(http_server, tar_bytes: bytes | None = None):
    http_server.route("/geo/series/GSE130nnn/GSE130001/matrix/GSE130001_series_matrix.txt.gz", Reply(200, MATRIX_GZ))
    http_server.route(
        "/geo/series/GSE130nnn/GSE130001/suppl/",
        Reply(200, (DATA / "suppl_listing.html").read_bytes(), content_type="text/html"),
    )
    if tar_bytes is not None:
        http_server.route("/geo/series/GSE130nnn/GSE130001/suppl/GSE130001_RAW.tar", Reply(200, tar_bytes))
    return {"geo_ftp_base": http_server.url("/geo/"), "geo_download_base": http_server.url("/geo/download/")}


def test_fetch_geo_dataset_from_raw_tar(http_server, dl, tmp_path):
    from pathverdict.sources.datasets import fetch_geo_dataset

    files = {f"GSM373000{i}_S{i}_ReadsPerGene.out.tab.gz": gz(star_text(i)) for i in range(1, 8)}
    tar = make_tar(tmp_path / "raw.tar", files)
    bases = serve_series(http_server, tar.read_bytes())
    spec = {
        "accession": "GSE130001",
        "counts": "supplementary",
        "file": "*_RAW.tar",
        "strandedness": "reverse",
        "samples": RULES,
    }
    out = tmp_path / "out"
    info = fetch_geo_dataset(
        "sknsh",
        spec,
        dl,
        out_counts=out / "counts.tsv.gz",
        out_samples=out / "samples.tsv",
        out_json=out / "source.json",
        **bases,
    )
    assert info["groups"] == {"control": 3, "knockdown": 3} and info["genes"] == 5
    samples = tables.read_samples(out / "samples.tsv")
    cm = tables.read_counts(out / "counts.tsv.gz")
    counts = tables.check_design(
        samples,
        cm.counts,
        "~condition",
        ["condition", "knockdown", "control"],
        out / "samples.tsv",
        out / "counts.tsv.gz",
        "sknsh",
        check_content=False,
    )  # a 5-gene fixture: the layout is what is checked here
    assert list(counts.columns) == [f"GSM373000{i}" for i in range(1, 7)]  # GSM3730007 left out by `select`
    assert counts.loc["ENSG00000075624", "GSM3730003"] == 93
    prov = (out / "source.json").read_text()
    assert "GSE130001_RAW.tar" in prov and "GSE130001_series_matrix.txt.gz" in prov


def test_fetch_geo_dataset_author_table_needs_sample_field(http_server, dl, tmp_path):
    from pathverdict.sources.datasets import fetch_geo_dataset

    bases = serve_series(http_server)
    table = "gene\t" + "\t".join(f"SKNSH_{k}_rep{r}" for r in (1, 2, 3) for k in ("siMEIS1", "siCtrl")) + "\n"
    table += "HMOX1\t" + "\t".join(str(i) for i in range(6)) + "\n"
    http_server.route("/geo/series/GSE130nnn/GSE130001/suppl/GSE130001_raw_counts.txt.gz", Reply(200, gz(table)))
    spec = {"accession": "GSE130001", "counts": "supplementary", "file": "*raw_counts*", "samples": RULES}
    kw = dict(out_counts=tmp_path / "c.tsv", out_samples=tmp_path / "s.tsv", **bases)
    with pytest.raises(
        InputError, match=r"samples of the sample sheet without a column .*: GSM3730001.*Set `sample_field`"
    ):
        fetch_geo_dataset("d", spec, dl, **kw)
    fetch_geo_dataset("d", {**spec, "sample_field": "title"}, dl, **kw)
    assert (tmp_path / "c.tsv").read_text().splitlines()[0].split("\t")[1:3] == [
        "SKNSH_siMEIS1_rep1",
        "SKNSH_siCtrl_rep1",
    ]


def test_fetch_geo_dataset_spec_errors(dl, tmp_path):
    from pathverdict.sources.datasets import fetch_geo_dataset

    kw = dict(out_counts=tmp_path / "c.tsv", out_samples=tmp_path / "s.tsv")
    with pytest.raises(InputError, match=r"dataset d: geo: unknown key\(s\) acession"):
        fetch_geo_dataset("d", {"acession": "GSE1", "samples": RULES}, dl, **kw)
    with pytest.raises(InputError, match=r"give either `accession`"):
        fetch_geo_dataset("d", {"samples": RULES}, dl, **kw)
    with pytest.raises(InputError, match=r"geo.file: with counts: supplementary"):
        fetch_geo_dataset("d", {"accession": "GSE1", "counts": "supplementary", "samples": RULES}, dl, **kw)


def test_fetch_geo_dataset_by_pubmed_with_two_series(http_server, dl, tmp_path, monkeypatch):
    from pathverdict.sources.datasets import fetch_geo_dataset

    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    monkeypatch.setattr("pathverdict.sources.eutils._space_requests", lambda interval: None)
    http_server.route("/eutils/elink.fcgi", Reply(200, (DATA / "elink_pubmed_gds.json").read_bytes()), any_query=True)
    http_server.route("/eutils/esummary.fcgi", Reply(200, (DATA / "esummary_gds.json").read_bytes()), any_query=True)
    with pytest.raises(
        InputError,
        match=r"PubMed 31000001 is linked to 2 GEO series: GSE130001 \(MEIS1 knockdown in "
        r"SK-N-SH neuroblastoma cells, 6 samples, Homo sapiens\); GSE130002 .* Set "
        r"`accession`",
    ):
        fetch_geo_dataset(
            "d",
            {"pubmed": 31000001, "samples": RULES},
            dl,
            out_counts=tmp_path / "c.tsv",
            out_samples=tmp_path / "s.tsv",
            eutils_base=http_server.url("/eutils/"),
        )
