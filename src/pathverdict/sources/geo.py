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
  :func:`pathverdict.annotation.load_annotation` as they are.

Author count archives (``GSE12345_RAW.tar`` of per-sample files) are checked member by
member before anything is read (:func:`check_tar_members`) and merged into one matrix
(:func:`read_raw_tar_counts`): HTSeq-count, featureCounts and STAR ``ReadsPerGene.out.tab``
files are recognised, the sample name is the ``GSM...`` prefix of the member name.
"""

from __future__ import annotations

import csv
import difflib
import fnmatch
import gzip
import html
import io
import logging
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Iterable, Iterator
from urllib.parse import quote, unquote, urlencode

import pandas as pd

from ..errors import InputError, preview
from ..util import atomic_file
from .download import Downloader, DownloadError, FetchRecord

log = logging.getLogger(__name__)

GEO_FTP_BASE = "https://ftp.ncbi.nlm.nih.gov/geo/"
GEO_DOWNLOAD_BASE = "https://www.ncbi.nlm.nih.gov/geo/download/"
NCBI_COUNTS_GENOME = "GRCh38.p13"
NCBI_ANNOTATION = "Human.GRCh38.p13.annot.tsv.gz"
GSE = re.compile(r"^GSE[1-9]\d*$")
GSM_PREFIX = re.compile(r"^(GSM\d+)(?=$|[^0-9])")


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


def _clean(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


def parse_series_matrix(paths: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """Per-sample metadata from series matrix file(s), one row per GSM (index ``sample``).

    Columns: every ``!Sample_<field>`` as ``<field>`` (``title``, ``source_name_ch1``,
    ``organism_ch1``, ``description``, ``platform_id``, ...; fields on several lines are
    joined with ``"; "``), and one column per key of the ``!Sample_characteristics_ch1``
    lines (``"cell line: HEK293"`` -> column ``cell line``; a key that clashes with a field
    name gets `` (characteristics)`` appended; channel 2 keys get `` (ch2)``; values
    without a key go to ``characteristics_ch1``), plus ``series`` (the GSE).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    frames = [_parse_one_matrix(Path(p)) for p in paths]
    if not frames:
        raise InputError("parse_series_matrix: no series matrix file given.")
    df = pd.concat(frames, axis=0, sort=False).fillna("")
    dup = df.index[df.index.duplicated()].unique().tolist()
    if dup:
        df = df[~df.index.duplicated(keep="first")]
        log.info("samples in several series matrix files kept once: %s", preview(dup))
    return df


def _parse_one_matrix(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"series matrix file not found: {path}.")
    series = ""
    rows: list[tuple[int, str, list[str]]] = []
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            for lineno, line in enumerate(fh, start=1):
                if line.startswith("!series_matrix_table_begin"):
                    break
                if line.startswith("!Series_geo_accession"):
                    vals = next(csv.reader([line.rstrip("\r\n")], delimiter="\t"))
                    series = vals[1].strip() if len(vals) > 1 else ""
                if not line.startswith("!Sample_"):
                    continue
                fields = next(csv.reader([line.rstrip("\r\n")], delimiter="\t"))
                rows.append((lineno, fields[0][len("!Sample_") :], [v.strip() for v in fields[1:]]))
    except (OSError, EOFError, csv.Error) as exc:
        raise InputError(
            f"{path}: cannot be read as a GEO series matrix ({exc}). Delete it to download it again."
        ) from exc
    acc_rows = [r for r in rows if r[1] == "geo_accession"]
    if not acc_rows:
        raise InputError(
            f"{path}: no !Sample_geo_accession line; is this a GEO series matrix file (GSE..._series_matrix.txt.gz)?"
        )
    samples = acc_rows[0][2]
    n = len(samples)
    plain: dict[str, list[list[str]]] = {}
    chars: dict[str, list[str]] = {}
    for lineno, key, values in rows:
        if len(values) != n:
            raise InputError(
                f"{path}: line {lineno} (!Sample_{key}) has {len(values)} values for {n} samples; "
                "the file is damaged. Delete it to download it again."
            )
        m = re.fullmatch(r"characteristics_ch(\d+)", key)
        if not m:
            plain.setdefault(key, []).append(values)
            continue
        ch = m.group(1)
        for i, cell in enumerate(values):
            if not cell:
                continue
            k, sep, v = cell.partition(":")
            col = _clean(k) if sep and _clean(k) else f"characteristics_ch{ch}"
            val = _clean(v) if sep and _clean(k) else _clean(cell)
            if ch != "1" and col != f"characteristics_ch{ch}":
                col = f"{col} (ch{ch})"
            vals = chars.setdefault(col, [""] * n)
            vals[i] = f"{vals[i]}; {val}" if vals[i] else val
    data: dict[str, list[str]] = {}
    for key, lines in plain.items():
        if key == "geo_accession":
            continue
        data[key] = ["; ".join(_clean(line[i]) for line in lines if _clean(line[i])) for i in range(n)]
    order = list(data)
    # characteristics columns right after the fields that precede them in GEO's order
    at = order.index("organism_ch1") + 1 if "organism_ch1" in order else len(order)
    char_cols = {}
    for col, vals in chars.items():
        name = f"{col} (characteristics)" if col in data or col in ("sample", "series") else col
        char_cols[name] = vals
    merged = {k: data[k] for k in order[:at]}
    merged.update(char_cols)
    merged.update({k: data[k] for k in order[at:]})
    df = pd.DataFrame(merged, index=pd.Index([s.strip() for s in samples], name="sample"))
    df["series"] = series
    return df


# --------------------------------------------------------------------------- RAW.tar archives


@dataclass(frozen=True)
class TarLimits:
    """Refuse archives beyond these sizes (GEO RAW.tar files of count tables are far smaller)."""

    max_members: int = 5000
    max_member_bytes: int = 2 << 30  # 2 GiB per member, as stored
    max_total_bytes: int = 20 << 30  # 20 GiB for all members
    max_text_bytes: int = 2 << 30  # per count file after decompression (guards against gzip bombs)


# Where check_tar_members places an archive to judge its members (never created: nothing is
# extracted there; with nothing on disk, no existing link can change the answer).
_CHECK_ROOT = "/pathverdict-tar-check"


def _tar_filter():
    """tarfile's "data" extraction filter (Python 3.11.4+, 3.12+); a clear message without it."""
    data_filter = getattr(tarfile, "data_filter", None)
    if data_filter is None:  # pragma: no cover - every supported Python has it
        import platform

        raise InputError(
            f"Python {platform.python_version()} has no tarfile extraction filters (tarfile.data_filter), "
            "which check the members of a GEO RAW.tar; use Python 3.11.4 or newer (./run.sh installs the "
            "project's environment)."
        )
    return data_filter


def _member_problem(m: tarfile.TarInfo, dest: str) -> str | None:
    """Why member ``m`` is refused, or None.

    tarfile's "data" extraction filter judges where the member would land below ``dest`` (a
    ``..`` leading outside, device files and FIFOs). Our policy on top, because a GEO RAW.tar
    holds plain per-sample files only: every link is refused (the filter allows links inside
    ``dest``), and so is an absolute name, POSIX or Windows (the filter strips a leading
    ``/``, and reads ``C:\\x`` as a plain name on POSIX), rather than extracted elsewhere.
    """
    if not m.name or "\x00" in m.name:
        return "empty name"
    if PureWindowsPath(m.name).anchor:  # "/x", "\\x", "C:\\x", "C:x"
        return "absolute path"
    if m.issym() or m.islnk():
        return f"{'symbolic' if m.issym() else 'hard'} link to {m.linkname!r}"
    try:
        _tar_filter()(m, dest)
    except tarfile.OutsideDestinationError:
        if ".." in PurePosixPath(m.name).parts:
            return "'..' in the path leads outside the folder it is extracted to"
        return f"would be written outside {dest} (a folder there is a link to elsewhere)"
    except tarfile.SpecialFileError:
        return "device file or FIFO"
    except tarfile.FilterError as exc:  # any other refusal, in tarfile's words
        return str(exc)
    if not (m.isreg() or m.isdir()):
        return f"unsupported entry type {m.type!r}"
    return None


def check_tar_members(
    tar_path: str | Path, limits: TarLimits = TarLimits(), dest: str | Path | None = None
) -> list[tarfile.TarInfo]:
    """Members of a tar archive, after refusing it as a whole when any member is unsafe.

    Refused (see :func:`_member_problem`): what tarfile's "data" extraction filter refuses
    for extraction below ``dest`` (``..`` leading outside, device files and FIFOs), absolute
    names, symbolic and hard links; and beyond :class:`TarLimits`: members over
    ``max_member_bytes``, archives over ``max_total_bytes`` or with more than ``max_members``
    entries. Nothing is extracted by this function.
    """
    tar_path = Path(tar_path)
    root = str(dest) if dest is not None else _CHECK_ROOT
    _tar_filter()
    problems: list[str] = []
    members: list[tarfile.TarInfo] = []
    total = 0
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            for m in tar:
                if len(members) >= limits.max_members:
                    problems.append(f"more than {limits.max_members} entries")
                    break
                members.append(m)
                why = _member_problem(m, root)
                if why:
                    problems.append(f"{m.name!r}: {why}")
                if m.size > limits.max_member_bytes:
                    problems.append(f"{m.name!r}: {m.size} bytes, over the limit of {limits.max_member_bytes}")
                total += max(m.size, 0)
                if total > limits.max_total_bytes:
                    problems.append(f"more than {limits.max_total_bytes} bytes in all")
                    break
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InputError(f"{tar_path}: not a readable tar archive ({exc}). Delete it to download it again.") from exc
    if problems:
        raise InputError(
            f"{tar_path}: refused, nothing was extracted or read: {preview(problems, 6)}. A GEO RAW.tar "
            "holds plain per-sample files only; if you trust this archive, extract the count files "
            "yourself and give their merged table as `counts`."
        )
    return members


def safe_extract(
    tar_path: str | Path, dest_dir: str | Path, *, pattern: str | None = None, limits: TarLimits = TarLimits()
) -> list[Path]:
    """Extract the regular files of a checked archive (optionally only names matching the glob
    ``pattern``) below ``dest_dir``; returns their paths. Directories are created as needed;
    links and special files never reach this point (:func:`check_tar_members`, which judges
    every member with tarfile's "data" filter for ``dest_dir`` itself). Each file is written
    with :func:`~pathverdict.util.atomic_file` (the umask's mode, not the archive's)."""
    tar_path, dest_dir = Path(tar_path), Path(dest_dir)
    root = dest_dir.resolve()
    members = check_tar_members(tar_path, limits, dest=root)
    out: list[Path] = []
    with tarfile.open(tar_path, "r:*") as tar:
        for m in members:
            if not m.isreg() or (pattern and not fnmatch.fnmatchcase(PurePosixPath(m.name).name, pattern)):
                continue
            target = (root / m.name).resolve()
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(m)
            with atomic_file(target) as fh, src:
                while chunk := src.read(1 << 20):
                    fh.write(chunk)
            out.append(target)
    return out


# --------------------------------------------------------------------------- per-sample count files

STRANDEDNESS = {"unstranded": 1, "forward": 2, "reverse": 3}  # STAR ReadsPerGene column (0-based)
STRAND_ALIASES = {"no": "unstranded", "none": "unstranded", "yes": "forward"}  # htseq-count -s values
STAR_SPECIAL = ("N_unmapped", "N_multimapping", "N_noFeature", "N_ambiguous")
HTSEQ_SPECIAL = {"no_feature", "ambiguous", "too_low_aQual", "not_aligned", "alignment_not_unique"}
FEATURECOUNTS_COLS = ["Geneid", "Chr", "Start", "End", "Strand", "Length"]
FORMATS = ("auto", "htseq", "featurecounts", "star")


def _strand(strandedness: str | None, where: str) -> str | None:
    """The configured strandedness as unstranded/forward/reverse (None when not set)."""
    if strandedness is None:
        return None
    key = STRAND_ALIASES.get(str(strandedness).lower(), str(strandedness).lower())
    if key not in STRANDEDNESS:
        raise InputError(f"{where}: strandedness {strandedness!r} is not one of unstranded, forward, reverse.")
    return key


# Inferring a STAR library's strandedness from N_noFeature of its forward and reverse columns. Reads
# counted against the wrong strand find no feature, so in a stranded library the right column has
# far fewer N_noFeature (e.g. 160,000 vs 4,100,000); in an unstranded library forward and reverse
# each miss about half the genic reads and are about equal. Between the two thresholds the call is
# left to the user (set `strandedness`). Worst plausible stranded case: half the reads intronic or
# intergenic (no feature on either strand) and 95% strand specificity gives 0.525 vs 0.975 = 0.54.
STRANDED_MAX_RATIO = 2 / 3  # smaller / larger N_noFeature at most this: stranded, the smaller column
UNSTRANDED_MIN_RATIO = 0.9  # at least this: unstranded


def infer_strandedness(no_feature: dict[str, int]) -> tuple[str | None, float | None]:
    """(unstranded | forward | reverse | None when unclear, smaller/larger ratio) from one
    sample's N_noFeature per column (``{"unstranded": n, "forward": n, "reverse": n}``)."""
    fwd, rev = no_feature.get("forward"), no_feature.get("reverse")
    if fwd is None or rev is None or max(fwd, rev) <= 0:
        return None, None
    ratio = min(fwd, rev) / max(fwd, rev)
    if ratio <= STRANDED_MAX_RATIO:
        return ("forward" if fwd < rev else "reverse"), ratio
    if ratio >= UNSTRANDED_MIN_RATIO:
        return "unstranded", ratio
    return None, ratio


def choose_star_strandedness(
    parsed: list[tuple[str, str, "SampleCounts"]], strandedness: str | None, where: str
) -> dict | None:
    """Pick the count column of every STAR ReadsPerGene file (all files alike): the configured
    ``strandedness``, else the one inferred from N_noFeature (see :func:`infer_strandedness`);
    fills each file's ``counts`` and ``special``. Returns what was chosen and the numbers, for
    the provenance (None when there is no STAR file)."""
    star = [(sample, name, sc) for sample, name, sc in parsed if sc.format == "star"]
    if not star:
        return None
    per_sample, calls = {}, {}
    for sample, name, sc in star:
        nf = {k: sc.star_special.get("N_noFeature", [None] * 3)[i - 1] for k, i in STRANDEDNESS.items()}
        call, ratio = infer_strandedness({k: v for k, v in nf.items() if v is not None})
        assigned = {k: sum(sc.by_strand[k].values()) for k in STRANDEDNESS}
        per_sample[sample] = {
            "N_noFeature": nf,
            "assigned_reads": assigned,
            "ratio": None if ratio is None else round(ratio, 4),
            "inferred": call,
        }
        calls[sample] = call
    distinct = set(calls.values())
    inferred = distinct.pop() if len(distinct) == 1 and None not in distinct else None
    configured = _strand(strandedness, where)

    def numbers(limit: int = 6) -> str:
        parts = []
        for s, v in list(per_sample.items())[:limit]:
            cols = " / ".join(f"{k} {v['N_noFeature'][k]}" for k in STRANDEDNESS)
            parts.append(f"{s}: {cols}" + (f" (ratio {v['ratio']:.2f})" if v["ratio"] is not None else ""))
        return "; ".join(parts) + (" ..." if len(per_sample) > limit else "")

    if configured is None and inferred is None:
        by_call: dict = {}
        for s, c in calls.items():
            by_call.setdefault(c or "unclear", []).append(s)
        raise InputError(
            f"{where}: cannot tell the strandedness of the STAR ReadsPerGene files from their N_noFeature counts "
            f"({', '.join(f'{c}: {preview(v)}' for c, v in by_call.items())}). N_noFeature per column: {numbers()}. "
            f"A stranded library has clearly fewer N_noFeature in the right column (smaller / larger at most "
            f"{STRANDED_MAX_RATIO:.2f}); an unstranded one about equal forward and reverse (ratio at least "
            f"{UNSTRANDED_MIN_RATIO:.2f}). Set `strandedness` to unstranded (column 2), forward (column 3, "
            "htseq-count -s yes) or reverse (column 4, htseq-count -s reverse; e.g. dUTP/TruSeq stranded libraries) "
            "as the library was prepared."
        )
    chosen = configured or inferred
    info = {
        "chosen": chosen,
        "column": STRANDEDNESS[chosen] + 1,
        "source": "config" if configured else "inferred from N_noFeature",
        "inferred": inferred,
        "rule": (
            f"stranded when the smaller of forward/reverse N_noFeature is at most {STRANDED_MAX_RATIO:.2f} "
            f"of the larger (that column); unstranded when the ratio is at least {UNSTRANDED_MIN_RATIO:.2f}"
        ),
        "samples": per_sample,
    }
    if configured and inferred and configured != inferred:
        log.warning(
            "%s: strandedness %s is set in the config, but the N_noFeature counts point to %s (%s); using %s "
            "as configured",
            where,
            configured,
            inferred,
            numbers(3),
            configured,
        )
        info["note"] = f"the config's {configured} overrides the inferred {inferred}"
    elif configured:
        log.info(
            "%s: STAR ReadsPerGene: strandedness %s as configured (N_noFeature: %s)", where, configured, numbers(3)
        )
    else:
        log.warning(
            "%s: STAR ReadsPerGene: strandedness inferred as %s (column %d) from N_noFeature: %s. Set "
            "`strandedness` in the config to override.",
            where,
            inferred,
            STRANDEDNESS[inferred] + 1,
            numbers(3),
        )
    for _sample, _name, sc in star:
        sc.counts = dict(sc.by_strand[chosen])
        sc.special = {k: v[STRANDEDNESS[chosen] - 1] for k, v in sc.star_special.items()}
    return info


def _int_count(text: str, where: str, lineno: int, gene: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: line {lineno}, gene {gene}: count {text!r} is not a number.") from None
    if value < 0 or value != int(value):
        raise InputError(
            f"{where}: line {lineno}, gene {gene}: count {text!r} is not a non-negative integer; "
            "per-sample files must hold raw read counts."
        )
    return int(value)


@dataclass
class SampleCounts:
    format: str  # htseq | featurecounts | star | featurecounts-summary (skipped)
    counts: dict[str, int] = field(default_factory=dict)
    special: dict[str, int] = field(default_factory=dict)  # __no_feature, N_unmapped, ...
    attributes: int = 0  # htseq-count --additional-attr columns between the gene and its count (dropped)
    by_strand: dict[str, dict[str, int]] = field(default_factory=dict)  # STAR: every column's counts
    star_special: dict[str, list[int]] = field(default_factory=dict)  # STAR: N_* lines, 3 columns


def _fields(line: str) -> list[str]:
    """Tab-separated fields without the quotes R's write.table puts around text."""
    out = []
    for f in line.rstrip("\r\n").split("\t"):
        f = f.strip()
        if len(f) >= 2 and f[0] == f[-1] == '"':
            f = f[1:-1]
        out.append(f)
    return out


_INT = re.compile(r"\d+")
# featureCounts' summary (`*.summary`, or Rsubread's `fc$stat` saved with write.table): a
# "Status" header and Assigned / Unassigned_* lines, read counts per BAM, never genes
SUMMARY_STATUS = re.compile(r"^(Assigned|Unassigned_\w+)$")


def detect_format(lines: list[str]) -> str:
    """``htseq``, ``featurecounts``, ``featurecounts-summary``, ``star`` or ``unknown`` from the first lines."""
    content = [ln for ln in lines if ln.strip()]
    if not content:
        return "unknown"
    if content[0].startswith("# Program:featureCounts"):
        return "featurecounts"
    body = [_fields(ln) for ln in content if not ln.startswith("#")]
    if not body:
        return "unknown"
    first = body[0]
    if "Status" in first[:2] and len(first) >= 2:
        return "featurecounts-summary"
    if len(body) > 1 and sum(1 for r in body[:12] if any(SUMMARY_STATUS.match(f) for f in r[:2])) >= min(len(body), 3):
        return "featurecounts-summary"  # a summary without its header line
    if [f.lower() for f in first[:6]] == [c.lower() for c in FEATURECOUNTS_COLS]:
        return "featurecounts"
    if first[0] in STAR_SPECIAL and len(first) == 4:
        return "star"
    if len(first) == 2:
        return "htseq"
    if len(first) == 4 and all(_INT.fullmatch(f) for f in first[1:]):
        return "star"
    # htseq-count --additional-attr (e.g. gene_name): gene, attribute(s), count
    genes = [r for r in body[:20] if r and not r[0].startswith("__") and r[0] not in HTSEQ_SPECIAL]
    if (
        genes
        and len(genes[0]) >= 3
        and _INT.fullmatch(genes[0][-1])
        and not all(_INT.fullmatch(f) for f in genes[0][1:-1])
    ):
        return "htseq"
    return "unknown"


def parse_count_lines(
    lines: Iterable[str], where: str, fmt: str = "auto", strandedness: str | None = None
) -> SampleCounts:
    """Parse one per-sample count file (given as lines).

    * HTSeq-count: ``gene<TAB>count``; the ``__no_feature``/``__ambiguous``/... summary lines
      (and their un-prefixed names in old versions) are kept apart in ``special``;
    * featureCounts: ``# Program:featureCounts ...`` comment, header ``Geneid Chr Start End
      Strand Length <sample>``; exactly one count column;
    * STAR ``ReadsPerGene.out.tab``: four ``N_`` lines, then ``gene unstranded forward
      reverse``; ``strandedness`` picks the column.
    """
    lines = list(lines)
    if fmt not in FORMATS:
        raise InputError(f"{where}: count file format {fmt!r} is not one of {', '.join(FORMATS)}.")
    detected = detect_format(lines[:20]) if fmt == "auto" else fmt
    if detected == "featurecounts-summary":
        return SampleCounts("featurecounts-summary")
    if detected == "unknown":
        head = lines[0].rstrip("\r\n")[:80] if lines else ""
        raise InputError(
            f"{where}: not a count file this workflow reads (first line {head!r}). Known: HTSeq-count "
            "(gene, count), featureCounts (Geneid Chr Start End Strand Length count), STAR "
            "ReadsPerGene.out.tab. Select the count files with a member pattern."
        )
    out = SampleCounts(detected)
    if detected == "star":
        out.by_strand = {k: {} for k in STRANDEDNESS}
    seen_header = False
    width = None  # htseq: fields per gene line (2, or more with --additional-attr)
    for lineno, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split("\t")
        if detected == "htseq":
            gene, value = f[0].strip(), f[-1].strip()
            special = gene.startswith("__") or gene in HTSEQ_SPECIAL
            if width is None and not special and len(f) >= 2:
                if not re.fullmatch(r"[\d.eE+-]+", value):
                    continue  # a header line such as "gene_id<TAB>count" or "gene_id<TAB>gene_name<TAB>count"
                width = len(f)
                out.attributes = width - 2
            # special counters are "__no_feature<TAB>n", padded with empty attribute fields by newer versions
            if special and (len(f) == 2 or (len(f) == (width or len(f)) and not any(x.strip() for x in f[1:-1]))):
                out.special[gene.lstrip("_")] = _int_count(value, where, lineno, gene)
                continue
            if len(f) != (width or 2):
                raise InputError(
                    f"{where}: line {lineno} has {len(f)} tab-separated fields; the HTSeq-count lines "
                    f"of this file have {width or 2} (gene, {'attributes, ' if (width or 2) > 2 else ''}"
                    "count)."
                )
        elif detected == "featurecounts":
            if not seen_header:
                if [x.lower() for x in _fields(line)[:6]] != [c.lower() for c in FEATURECOUNTS_COLS]:
                    raise InputError(
                        f"{where}: line {lineno}: expected the featureCounts header "
                        f"({' '.join(FEATURECOUNTS_COLS)} <sample>), found {line[:80]!r}."
                    )
                if len(f) != 7:
                    raise InputError(
                        f"{where}: featureCounts table with {len(f) - 6} count columns; a per-sample "
                        "file must have exactly one. Give a table of all samples as a count matrix "
                        "(file: that table instead of a RAW.tar, or counts: locally)."
                    )
                seen_header = True
                continue
            if len(f) != 7:
                raise InputError(f"{where}: line {lineno} has {len(f)} fields; featureCounts lines have 7.")
            gene, value = f[0].strip(), f[6].strip()
        else:  # star
            if len(f) != 4:
                raise InputError(f"{where}: line {lineno} has {len(f)} fields; STAR ReadsPerGene lines have 4.")
            if f[0] in STAR_SPECIAL:
                out.star_special[f[0]] = [_int_count(x, where, lineno, f[0]) for x in f[1:]]
                continue
            gene = f[0].strip()
            if gene in out.by_strand["unstranded"]:
                raise InputError(f"{where}: line {lineno}: gene {gene} appears twice.")
            for k, i in STRANDEDNESS.items():
                out.by_strand[k][gene] = _int_count(f[i], where, lineno, gene)
            continue
        if gene in out.counts:
            raise InputError(f"{where}: line {lineno}: gene {gene} appears twice.")
        out.counts[gene] = _int_count(value, where, lineno, gene)
    if not (out.by_strand.get("unstranded") if detected == "star" else out.counts):
        raise InputError(f"{where}: no gene lines found ({detected} layout).")
    if detected == "star" and strandedness is not None:
        chosen = _strand(strandedness, where)
        out.counts = dict(out.by_strand[chosen])
        out.special = {k: v[STRANDEDNESS[chosen] - 1] for k, v in out.star_special.items()}
    return out


def _text_lines(raw: io.BufferedIOBase, name: str, where: str, max_bytes: int) -> Iterator[str]:
    stream = gzip.GzipFile(fileobj=raw) if name.endswith(".gz") else raw
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    seen = 0
    try:
        for line in text:
            seen += len(line)
            if seen > max_bytes:
                raise InputError(f"{where}: more than {max_bytes} bytes of text; refused (not a count file?).")
            yield line
    except (OSError, EOFError) as exc:
        raise InputError(f"{where}: cannot be read ({exc}); the archive member is damaged.") from exc


@dataclass
class MergedCounts:
    """Per-sample count files merged into one genes x samples matrix."""

    counts: pd.DataFrame  # index gene_id, one int64 column per sample (GSM)
    formats: dict[str, str]  # sample -> format
    files: dict[str, str]  # sample -> member / file name
    special: pd.DataFrame  # summary lines (N_unmapped, __no_feature, ...) x samples
    skipped: list[str] = field(default_factory=list)  # files left out (featureCounts .summary)
    strandedness: dict | None = None  # STAR: the column chosen, how, and N_noFeature per sample
    attributes: int = 0  # htseq-count --additional-attr columns dropped

    def summary(self) -> dict:
        out = {
            "genes": int(self.counts.shape[0]),
            "samples": list(self.counts.columns),
            "formats": self.formats,
            "files": self.files,
            "skipped": self.skipped,
        }
        if self.strandedness:
            out["strandedness"] = self.strandedness
        if self.attributes:
            out["htseq_attribute_columns_dropped"] = self.attributes
        return out


def _sample_of(name: str, where: str) -> str:
    base = PurePosixPath(name).name
    m = GSM_PREFIX.match(base)
    if not m:
        raise InputError(
            f"{where}: file {name!r} does not start with a GSM accession (GSM123456_...); the sample "
            "name is taken from that prefix. Select the per-sample count files with a member pattern."
        )
    return m.group(1)


def _merge(parsed: list[tuple[str, str, SampleCounts]], where: str, strandedness: str | None = None) -> MergedCounts:
    by_sample: dict[str, tuple[str, SampleCounts]] = {}
    skipped: list[str] = []
    summaries = [name for _s, name, sc in parsed if sc.format == "featurecounts-summary"]
    if summaries:
        log.info(
            "%s: skipped %d featureCounts summary file(s) (Status / Assigned / Unassigned_* lines): %s",
            where,
            len(summaries),
            preview(summaries),
        )
    strand_info = choose_star_strandedness(
        [p for p in parsed if p[2].format != "featurecounts-summary"], strandedness, where
    )
    for sample, name, sc in parsed:
        if sc.format == "featurecounts-summary":
            skipped.append(name)
            continue
        if sample in by_sample:
            raise InputError(
                f"{where}: sample {sample} has several count files ({by_sample[sample][0]}, {name}). "
                "Select one file per sample with a member pattern."
            )
        by_sample[sample] = (name, sc)
    if not by_sample:
        raise InputError(f"{where}: no per-sample count files found.")
    order = sorted(by_sample, key=lambda s: int(s[3:]))
    genes = list(by_sample[order[0]][1].counts)
    gene_set = set(genes)
    differ = [f"{s} ({len(by_sample[s][1].counts)} genes)" for s in order if set(by_sample[s][1].counts) != gene_set]
    if differ:
        raise InputError(
            f"{where}: the per-sample files do not list the same genes: {order[0]} has {len(genes)}; "
            f"differing: {preview(differ)}. They were probably counted against different annotations; "
            "merge only files from one run."
        )
    formats = {s: by_sample[s][1].format for s in order}
    if len(set(formats.values())) > 1:
        raise InputError(
            f"{where}: the per-sample files mix formats "
            f"({preview(sorted({f'{s}: {f}' for s, f in formats.items()}))}); "
            "select one kind with a member pattern."
        )
    counts = pd.DataFrame(
        {s: [by_sample[s][1].counts[g] for g in genes] for s in order},
        index=pd.Index(genes, name="gene_id"),
        dtype="int64",
    )
    special = pd.DataFrame({s: by_sample[s][1].special for s in order}).fillna(0).astype("int64")
    attributes = max(by_sample[s][1].attributes for s in order)
    if attributes:
        log.warning(
            "%s: HTSeq-count files with %d attribute column(s) (--additional-attr) between the gene and "
            "its count: the attributes were dropped, the first column is the gene ID",
            where,
            attributes,
        )
    return MergedCounts(
        counts,
        formats,
        {s: by_sample[s][0] for s in order},
        special,
        skipped,
        strandedness=strand_info,
        attributes=attributes,
    )


def read_raw_tar_counts(
    tar_path: str | Path,
    *,
    fmt: str = "auto",
    strandedness: str | None = None,
    pattern: str | None = None,
    limits: TarLimits = TarLimits(),
) -> MergedCounts:
    """Merge the per-sample count files of a GEO ``_RAW.tar`` into one matrix, without
    extracting anything to disk (members are read from the checked archive).

    ``pattern``: glob on member file names selecting the count files (default: all regular
    files). ``fmt``: ``auto`` (per file) or one of htseq, featurecounts, star.
    ``strandedness`` (STAR files only): unstranded, forward or reverse.
    """
    tar_path = Path(tar_path)
    members = check_tar_members(tar_path, limits)
    chosen = [
        m for m in members if m.isreg() and (not pattern or fnmatch.fnmatchcase(PurePosixPath(m.name).name, pattern))
    ]
    if not chosen:
        names = [m.name for m in members if m.isreg()]
        raise InputError(f"{tar_path}: no member matches {pattern!r}; members: {preview(names, 8)}.")
    parsed = []
    with tarfile.open(tar_path, "r:*") as tar:
        for m in chosen:
            where = f"{tar_path}:{m.name}"
            sample = _sample_of(m.name, str(tar_path))
            fh = tar.extractfile(m)
            with fh:
                parsed.append(
                    (
                        sample,
                        m.name,
                        parse_count_lines(_text_lines(fh, m.name, where, limits.max_text_bytes), where, fmt),
                    )
                )
    return _merge(parsed, str(tar_path), strandedness)


def merge_count_files(
    paths: Iterable[str | Path],
    *,
    fmt: str = "auto",
    strandedness: str | None = None,
    max_text_bytes: int = TarLimits.max_text_bytes,
) -> MergedCounts:
    """Like :func:`read_raw_tar_counts` for files already on disk (e.g. from :func:`safe_extract`)."""
    parsed = []
    paths = [Path(p) for p in paths]
    for p in paths:
        with open(p, "rb") as fh:
            parsed.append(
                (
                    _sample_of(p.name, str(p.parent)),
                    p.name,
                    parse_count_lines(_text_lines(fh, p.name, str(p), max_text_bytes), str(p), fmt),
                )
            )
    return _merge(parsed, ", ".join(str(p.parent) for p in paths[:1]) or "count files", strandedness)


def write_counts(merged: MergedCounts, path: str | Path) -> None:
    """Write the merged matrix (``gene_id`` + one column per sample; ``.gz`` compresses)."""
    from ..util import atomic_write

    with atomic_write(path) as fh:
        merged.counts.to_csv(fh, sep="\t", lineterminator="\n")


# --------------------------------------------------------------------------- sample selection and groups


def _field_values(meta: pd.DataFrame, name: str) -> pd.Series:
    if name == "sample":
        return pd.Series(meta.index.astype(str), index=meta.index)
    return meta[name].astype(str)


def _compile_rules(rules: dict, fields: list[str], where: str) -> tuple[dict, dict]:
    if not isinstance(rules, dict):
        raise InputError(f"{where}: sample rules must be a mapping with `groups` (and optionally `select`).")
    unknown = sorted(set(rules) - {"select", "groups"})
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)} in the sample rules; allowed: select, groups.")

    def compile_map(m, path: str) -> dict[str, re.Pattern]:
        if not isinstance(m, dict) or not m:
            raise InputError(f"{where}: {path} must be a non-empty mapping field: regular expression.")
        out = {}
        for fld, rx in m.items():
            if fld not in fields:
                close = difflib.get_close_matches(str(fld), fields, n=3, cutoff=0.5)
                hint = f" Did you mean {preview(close)}?" if close else ""
                raise InputError(f"{where}: {path}.{fld}: no such metadata field.{hint} Fields: {preview(fields, 15)}.")
            try:
                out[fld] = re.compile(str(rx))
            except re.error as exc:
                raise InputError(f"{where}: {path}.{fld}: {rx!r} is not a valid regular expression ({exc}).") from None
        return out

    select = compile_map(rules["select"], "select") if rules.get("select") is not None else {}
    groups_cfg = rules.get("groups")
    if not isinstance(groups_cfg, dict) or not groups_cfg:
        raise InputError(
            f"{where}: `groups` must map each group level to its rules, e.g. "
            "{{knockdown: {{genotype: 'shMEIS1'}}, control: {{genotype: 'shCtrl'}}}}."
        )
    groups = {str(level): compile_map(m, f"groups.{level}") for level, m in groups_cfg.items()}
    return select, groups


def make_sample_sheet(
    metadata: pd.DataFrame,
    rules: dict,
    *,
    group_column: str = "condition",
    sample_field: str | None = None,
    where: str = "sample rules",
) -> pd.DataFrame:
    """A sample sheet from series metadata (:func:`parse_series_matrix`) and rules::

        {select: {field: regex, ...},                 # optional; all must match
         groups: {level: {field: regex, ...}, ...}}   # each sample must match exactly one level

    Fields are metadata columns (or ``sample``, the GSM); a regular expression matches when
    it is found anywhere in the value (:func:`re.search`, case-sensitive; anchor with ``^``/
    ``$``, ignore case with ``(?i)``). Returns columns ``sample``, ``group_column`` and the
    metadata columns. Samples matching no group or several groups are an :class:`InputError`
    listing them with the fields the rules use.

    ``sample`` is the GSM accession, or, with ``sample_field``, that metadata field (e.g.
    ``title`` or ``description`` when an author's count table names its columns that way;
    the GSM is then kept as ``geo_accession``).
    """
    fields = ["sample"] + [str(c) for c in metadata.columns]
    select, groups = _compile_rules(rules, fields, where)
    if group_column in metadata.columns or group_column == "sample":
        raise InputError(
            f"{where}: the group column name {group_column!r} is already a metadata field; choose "
            "another name for the group column."
        )
    keep = pd.Series(True, index=metadata.index)
    for fld, rx in select.items():
        keep &= _field_values(metadata, fld).map(lambda v, rx=rx: bool(rx.search(v)))
    meta = metadata[keep]
    used = list(
        dict.fromkeys(
            ["title"] * ("title" in metadata.columns) + list(select) + [f for g in groups.values() for f in g]
        )
    )

    def describe(sample) -> str:
        row = metadata.loc[sample]
        vals = ", ".join(f"{f}={(sample if f == 'sample' else row[f])!r}" for f in used if f != "sample")
        return f"{sample} ({vals})"

    if meta.empty:
        raise InputError(
            f"{where}: `select` keeps none of the {len(metadata)} samples. Samples: "
            f"{'; '.join(describe(s) for s in metadata.index[:5])}"
            f"{' ...' if len(metadata) > 5 else ''}. Fix the regular expressions under `select`."
        )
    level_of: dict[str, str] = {}
    none: list[str] = []
    several: list[tuple[str, list[str]]] = []
    for sample in meta.index:
        hits = [
            lvl
            for lvl, g in groups.items()
            if all(rx.search(str(sample) if f == "sample" else str(meta.at[sample, f])) for f, rx in g.items())
        ]
        if len(hits) == 1:
            level_of[sample] = hits[0]
        elif not hits:
            none.append(sample)
        else:
            several.append((sample, hits))
    if none or several:
        parts = []
        if none:
            parts.append(
                f"{len(none)} sample(s) match no group: "
                + "; ".join(describe(s) for s in none[:10])
                + (" ..." if len(none) > 10 else "")
            )
        if several:
            parts.append(
                f"{len(several)} sample(s) match several groups: "
                + "; ".join(f"{describe(s)} -> {', '.join(h)}" for s, h in several[:10])
                + (" ..." if len(several) > 10 else "")
            )
        raise InputError(
            f"{where}: every selected sample must match exactly one group. "
            + " ".join(parts)
            + ". Tighten the group rules, or leave samples out with `select`."
        )
    sheet = meta.copy()
    sheet.insert(0, group_column, [level_of[s] for s in meta.index])
    if sample_field:
        if sample_field not in metadata.columns:
            raise InputError(
                f"{where}: sample_field {sample_field!r} is not a metadata field; fields: {preview(fields[1:], 15)}."
            )
        names = meta[sample_field].astype(str).str.strip()
        empty = [s for s, n in names.items() if not n]
        dup = sorted(set(names[names.duplicated(keep=False)]))
        if empty or dup:
            raise InputError(
                f"{where}: field {sample_field!r} cannot name the samples: "
                + (f"empty for {preview(empty)}; " if empty else "")
                + (f"repeated: {preview(dup)}; " if dup else "")
                + "use another sample_field, or the GSM accessions (no sample_field)."
            )
        sheet.insert(1, "geo_accession", list(meta.index))
        sheet.index = pd.Index(names.tolist(), name="sample")
    sheet = sheet.rename_axis("sample").reset_index()
    return sheet.apply(lambda col: col.astype(str).str.replace(r"[\t\r\n]+", " ", regex=True))


def write_sample_sheet(sheet: pd.DataFrame, path: str | Path) -> None:
    from ..util import write_tsv

    write_tsv(sheet, path)
