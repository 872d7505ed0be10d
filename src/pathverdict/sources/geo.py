"""NCBI GEO series by accession: sample metadata, counts, supplementary files, sample sheet.

Where things are (every base URL is a keyword argument, for mirrors and tests):

* series folder: ``https://ftp.ncbi.nlm.nih.gov/geo/series/GSE12nnn/GSE12345/`` -- the
  folder groups series by their number without the last three digits
  (GSE12345 -> ``GSE12nnn``, GSE123 -> ``GSEnnn``), see :func:`series_folder`;
* series matrix: ``<series folder>matrix/GSE12345_series_matrix.txt.gz`` (series on
  several platforms have ``GSE12345-GPL16791_series_matrix.txt.gz`` etc. instead);
* author supplementary files: ``<series folder>suppl/`` (an HTML directory listing);
* NCBI-generated raw counts (human and mouse RNA-seq series with SRA runs only):
  ``https://www.ncbi.nlm.nih.gov/geo/download/?type=rnaseq_counts&acc=GSE12345&format=file&file=GSE12345_raw_counts_GRCh38.p13_NCBI.tsv.gz``
  (first column ``GeneID``, one column per GSM) and its gene annotation
  ``...&file=Human.GRCh38.p13.annot.tsv.gz`` (``GeneID``, ``Symbol``, ``Description``, ...,
  ``EnsemblGeneID``), readable by :func:`pathverdict.tables.read_counts` and
  :func:`pathverdict.sources.annotation.load_annotation` as they are.

Author count archives (``GSE12345_RAW.tar`` of per-sample files) are checked member by
member before anything is read (:func:`check_tar_members`) and merged into one matrix
(:func:`read_raw_tar_counts`): HTSeq-count, featureCounts and STAR ``ReadsPerGene.out.tab``
files are recognised, the sample name is the ``GSM...`` prefix of the member name.

This module fetches (URLs, NCBI-generated counts, supplementary file listings, series
matrices); the rest lives by concern and is importable from here as well:
:mod:`.geo_samples` (series matrix parsing, sample rules and sheets), :mod:`.geo_tar`
(RAW.tar checks and extraction) and :mod:`.count_files` (per-sample count files merged).
"""

from __future__ import annotations

import fnmatch
import gzip
import html
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlencode

from ..errors import InputError, preview
from .count_files import (  # noqa: F401 - the public names of sources.geo
    FEATURECOUNTS_COLS,
    FORMATS,
    GSM_PREFIX,
    HTSEQ_SPECIAL,
    STAR_SPECIAL,
    STRAND_ALIASES,
    STRANDED_MAX_RATIO,
    STRANDEDNESS,
    SUMMARY_STATUS,
    UNSTRANDED_MIN_RATIO,
    MergedCounts,
    SampleCounts,
    choose_star_strandedness,
    detect_format,
    infer_strandedness,
    merge_count_files,
    parse_count_lines,
    read_raw_tar_counts,
    write_counts,
)
from .download import Downloader, DownloadError, FetchRecord
from .geo_samples import make_sample_sheet, parse_series_matrix, write_sample_sheet  # noqa: F401
from .geo_tar import TarLimits, check_tar_members, safe_extract  # noqa: F401

GEO_FTP_BASE = "https://ftp.ncbi.nlm.nih.gov/geo/"
GEO_DOWNLOAD_BASE = "https://www.ncbi.nlm.nih.gov/geo/download/"
NCBI_COUNTS_GENOME = "GRCh38.p13"
NCBI_ANNOTATION = "Human.GRCh38.p13.annot.tsv.gz"
GSE = re.compile(r"^GSE[1-9]\d*$")


def check_gse(accession) -> str:
    acc = str(accession).strip().upper()
    if not GSE.match(acc):
        raise InputError(
            f"{accession!r} is not a GEO series accession: it must look like GSE12345 "
            "(GSM = sample, GPL = platform and GDS = curated DataSet accessions are not series)."
        )
    return acc


def series_folder(accession) -> str:
    """``GSE12345`` -> ``GSE12nnn``; ``GSE123`` -> ``GSEnnn``; ``GSE123456`` -> ``GSE123nnn``."""
    acc = check_gse(accession)
    return f"GSE{acc[3:-3]}nnn"


def _base(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def series_url(accession, base_url: str = GEO_FTP_BASE) -> str:
    acc = check_gse(accession)
    return f"{_base(base_url)}series/{series_folder(acc)}/{acc}/"


def series_matrix_url(accession, base_url: str = GEO_FTP_BASE, platform: str | None = None) -> str:
    acc = check_gse(accession)
    name = f"{acc}-{platform}_series_matrix.txt.gz" if platform else f"{acc}_series_matrix.txt.gz"
    return f"{series_url(acc, base_url)}matrix/{name}"


def ncbi_counts_name(accession, genome: str = NCBI_COUNTS_GENOME) -> str:
    return f"{check_gse(accession)}_raw_counts_{genome}_NCBI.tsv.gz"


def ncbi_counts_url(accession, base_url: str = GEO_DOWNLOAD_BASE, genome: str = NCBI_COUNTS_GENOME) -> str:
    acc = check_gse(accession)
    query = urlencode({"type": "rnaseq_counts", "acc": acc, "format": "file", "file": ncbi_counts_name(acc, genome)})
    return f"{_base(base_url)}?{query}"


def ncbi_annotation_url(base_url: str = GEO_DOWNLOAD_BASE, name: str = NCBI_ANNOTATION) -> str:
    query = urlencode({"type": "rnaseq_counts", "format": "file", "file": name})
    return f"{_base(base_url)}?{query}"


def _geo_page(acc: str) -> str:
    return f"https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc={acc}"


def _first_line(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        return fh.readline().rstrip("\r\n").split("\t")


# --------------------------------------------------------------------------- NCBI-generated counts


def fetch_ncbi_counts(
    accession, dl: Downloader, *, base_url: str = GEO_DOWNLOAD_BASE, genome: str = NCBI_COUNTS_GENOME
) -> FetchRecord:
    """NCBI's raw counts for a series (``GeneID`` + one column per GSM), as a cached file."""
    acc = check_gse(accession)
    name = ncbi_counts_name(acc, genome)

    def layout(path: Path) -> None:
        header = _first_line(path)
        if header[0] != "GeneID" or len(header) < 2 or not all(h.startswith("GSM") for h in header[1:]):
            raise InputError(
                f"{name}: expected NCBI's raw counts layout (GeneID, then one GSM column per "
                f"sample); the header is {preview(header, 4)}."
            )

    return dl.fetch(
        ncbi_counts_url(acc, base_url, genome),
        f"geo/{acc}/{name}",
        validate=layout,
        what=f"NCBI-generated raw counts of {acc}",
        hint=f"NCBI computes these only for some human and mouse RNA-seq series with runs in SRA; see "
        f"'Download RNA-seq counts' on {_geo_page(acc)}. Otherwise use the authors' supplementary "
        f"files (geo.fetch_supplementary).",
    )


def fetch_ncbi_annotation(
    dl: Downloader, *, base_url: str = GEO_DOWNLOAD_BASE, name: str = NCBI_ANNOTATION
) -> FetchRecord:
    """The gene annotation of NCBI's generated counts (``GeneID``, ``Symbol``, ..., ``EnsemblGeneID``)."""

    def layout(path: Path) -> None:
        header = _first_line(path)
        if "GeneID" not in header or "Symbol" not in header:
            raise InputError(
                f"{name}: expected NCBI's annotation layout (GeneID, Symbol, Description, ...); "
                f"the header is {preview(header, 6)}."
            )

    return dl.fetch(
        ncbi_annotation_url(base_url, name),
        f"geo/annotation/{name}",
        validate=layout,
        what=f"NCBI gene annotation {name}",
        hint="The file name must be one NCBI offers on a series' 'Download RNA-seq counts' page.",
    )


# --------------------------------------------------------------------------- directory listings


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    modified: str = ""  # as the listing shows it, e.g. "2019-11-15 10:12"
    size: str = ""  # as the listing shows it, e.g. "1.2M"


_ANCHOR = re.compile(r'<a\s+[^>]*?href="([^"]*)"[^>]*>(.*?)</a>([^<\n]*)', re.I | re.S)
_WHEN_SIZE = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}|\d{2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2})?\s*([\d.]+[KMGTP]?|-)?")


def parse_directory_listing(text: str, url: str) -> list[RemoteFile]:
    """Files of an HTML directory listing (Apache/nginx style, as NCBI's FTP site serves it).

    Parent/sub-directory links, sort links (``?C=N;O=D``), absolute links and names with a
    path in them are left out.
    """
    files: list[RemoteFile] = []
    seen = set()
    for href, _label, rest in _ANCHOR.findall(text):
        href = html.unescape(href).strip()
        if not href or href.startswith(("?", "/", "#", "..")) or "://" in href or href.endswith("/"):
            continue
        name = unquote(href.split("?", 1)[0])
        if "/" in name or "\\" in name or name in seen:
            continue
        seen.add(name)
        m = _WHEN_SIZE.match(rest.strip())
        files.append(
            RemoteFile(
                name=name,
                url=_base(url) + quote(name),
                modified=(m.group(1) or "") if m else "",
                size=(m.group(2) or "") if m else "",
            )
        )
    return files


def _check_listing(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    if "<a " not in text.lower() and "index of" not in text.lower():
        raise ValueError("not an HTML directory listing")


def list_directory(
    url: str, dest: str, dl: Downloader, what: str, hint: str = ""
) -> tuple[list[RemoteFile], FetchRecord]:
    rec = dl.fetch(_base(url), dest, validate=_check_listing, what=what, hint=hint)
    return parse_directory_listing(rec.path.read_text(encoding="utf-8", errors="replace"), _base(url)), rec


def list_supplementary(
    accession, dl: Downloader, *, base_url: str = GEO_FTP_BASE
) -> tuple[list[RemoteFile], FetchRecord]:
    """The files in a series' ``suppl/`` folder (the listing is cached like any download)."""
    acc = check_gse(accession)
    return list_directory(
        series_url(acc, base_url) + "suppl/",
        f"geo/{acc}/suppl_listing.html",
        dl,
        what=f"supplementary file list of {acc}",
        hint=f"Check that {acc} exists, is public and has supplementary files ({_geo_page(acc)}).",
    )


def select_file(files: list[RemoteFile], pattern: str, where: str) -> RemoteFile:
    """The one file whose name matches ``pattern``: a glob (``*_RAW.tar``), or a regular
    expression searched in the name when written ``re:<regex>``."""
    if pattern.startswith("re:"):
        try:
            rx = re.compile(pattern[3:])
        except re.error as exc:
            raise InputError(f"{where}: file pattern {pattern!r} is not a valid regular expression ({exc}).") from None
        hits = [f for f in files if rx.search(f.name)]
    else:
        hits = [f for f in files if fnmatch.fnmatchcase(f.name, pattern)]
    names = [f.name for f in files]
    if not hits:
        raise InputError(
            f"{where}: no file matches {pattern!r}; the files are: {preview(names, 12)}. Fix the file "
            "pattern (a glob such as '*_RAW.tar' or 're:<regular expression>'; case-sensitive)."
        )
    if len(hits) > 1:
        raise InputError(
            f"{where}: {len(hits)} files match {pattern!r}: {preview([f.name for f in hits], 12)}. "
            "Make the pattern match exactly one file."
        )
    return hits[0]


def fetch_supplementary(
    accession, pattern: str, dl: Downloader, *, base_url: str = GEO_FTP_BASE, expect_sha256: str | None = None
) -> tuple[FetchRecord, FetchRecord]:
    """Download the one supplementary file of a series matching ``pattern``.

    Returns (file record, listing record).
    """
    acc = check_gse(accession)
    files, listing = list_supplementary(acc, dl, base_url=base_url)
    chosen = select_file(files, pattern, f"supplementary files of {acc} ({listing.url})")
    rec = dl.fetch(
        chosen.url,
        f"geo/{acc}/suppl/{chosen.name}",
        what=f"supplementary file {chosen.name} of {acc}",
        expect_sha256=expect_sha256,
    )
    return rec, listing


# --------------------------------------------------------------------------- series matrix


def fetch_series_matrix(accession, dl: Downloader, *, base_url: str = GEO_FTP_BASE) -> list[FetchRecord]:
    """The series matrix file(s) of a series: ``GSE_series_matrix.txt.gz``, or, for a series on
    several platforms, every ``GSE-GPLnnn_series_matrix.txt.gz`` of its ``matrix/`` folder."""
    acc = check_gse(accession)
    hint = f"Check that {acc} exists and is public ({_geo_page(acc)})."
    try:
        return [
            dl.fetch(
                series_matrix_url(acc, base_url),
                f"geo/{acc}/{acc}_series_matrix.txt.gz",
                what=f"series matrix of {acc}",
                hint=hint,
            )
        ]
    except DownloadError as exc:
        if exc.status != 404 and not exc.offline:
            raise
        first = exc
    try:
        files, _ = list_directory(
            series_url(acc, base_url) + "matrix/",
            f"geo/{acc}/matrix_listing.html",
            dl,
            what=f"series matrix list of {acc}",
            hint=hint,
        )
    except DownloadError:
        raise first from None
    rx = re.compile(rf"^{acc}-GPL\d+_series_matrix\.txt\.gz$")
    parts = sorted((f for f in files if rx.match(f.name)), key=lambda f: f.name)
    if not parts:
        raise first
    return [dl.fetch(f.url, f"geo/{acc}/{f.name}", what=f"series matrix {f.name} of {acc}", hint=hint) for f in parts]
