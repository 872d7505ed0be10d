"""Per-sample count files (HTSeq-count, featureCounts, STAR ``ReadsPerGene.out.tab``) merged into
one genes x samples matrix: read from a checked GEO ``_RAW.tar`` (:func:`read_raw_tar_counts`) or
from files on disk (:func:`merge_count_files`); the sample is the ``GSM...`` prefix of the file
name, and a STAR file's strandedness is inferred when not given (:func:`infer_strandedness`).
Importable from :mod:`pathverdict.sources.geo`."""

from __future__ import annotations

import fnmatch
import gzip
import io
import logging
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator

import pandas as pd

from ..errors import InputError, preview
from .geo_tar import TarLimits, check_tar_members

log = logging.getLogger("pathverdict.sources.geo")  # its messages are GEO's

GSM_PREFIX = re.compile(r"^(GSM\d+)(?=$|[^0-9])")


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
