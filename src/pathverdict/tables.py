"""Reading and checking count matrices and sample sheets (their design: :mod:`pathverdict.design`).

Every check raises :class:`~pathverdict.errors.InputError` with the file, the line
(1-based, as an editor shows it; the header is line 1), the gene and/or sample, and
the fix.
"""

from __future__ import annotations

import csv
import gzip
import logging
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import validate_rows
from .design import (  # noqa: F401  (checked with the tables; part of this module's API)
    MIN_EXPRESSED_GENES,
    alignment_stem,
    check_count_content,
    check_design,
    check_model,
    formula_variables,
    map_alignment_columns,
    names_alignment_file,
)
from .errors import InputError, preview

log = logging.getLogger(__name__)


def _separator(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return "," if name.endswith(".csv") else "\t"


SEPARATOR_NAMES = {"\t": "tabs", ",": "commas", ";": "semicolons"}


def _read_as(sep: str) -> str:
    return "a .csv file is read as comma-separated" if sep == "," else "a file not named .csv is read as tab-separated"


def other_separator(fields: list[str], sep: str) -> str | None:
    """The separator a line was written with when it is not ``sep``: the line came out as one field
    (the others empty) holding another separator. None when the line split as expected."""
    if not fields or any(f.strip() for f in fields[1:]):
        return None
    return next((alt for alt in SEPARATOR_NAMES if alt != sep and alt in fields[0]), None)


def separator_error(path: Path, sep: str, alt: str, lines: list[int], text: str) -> InputError:
    """One message for lines written with another separator than the file's (issue 24). Why not
    read them with the separator they have: a guess can be wrong without a sign (a separator inside
    a free-text cell; Excel's ';' files come with decimal commas, which would turn numbers such as
    7,5 into text); the fix is one export. docs/bad_input.md."""
    name = SEPARATOR_NAMES[alt]
    where = f"line {lines[0]}" if len(lines) == 1 else f"lines {preview(lines)}"
    whole = lines[0] == 1 and len(lines) == 1
    rest = "" if whole else f", the rest of the file by {SEPARATOR_NAMES[sep]}"
    hint = (
        " (Excel writes ';' where the decimal separator is a comma: check that numbers use a decimal point)"
        if alt == ";"
        else ""
    )
    return InputError(
        f"{path}: {where} {'is' if len(lines) == 1 else 'are'} separated by {name} ({text[:80]!r}){rest}, but "
        f"{_read_as(sep)}. Save the whole table with one separator: tab-separated (any name but .csv) or "
        f"comma-separated (named .csv){hint}."
    )


# "utf-8-sig" drops the byte order mark Excel puts at the start of "CSV UTF-8" files (which
# would otherwise become part of the first column's name: "\ufeffsample")
ENCODING = "utf-8-sig"


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding=ENCODING)
    return open(path, newline="", encoding=ENCODING)


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise InputError(
            f"{what} file not found: {path}. Check the path in the config "
            "(relative paths are resolved from the directory snakemake runs in)."
        )


def read_header(path: Path) -> list[str]:
    """First line of a tsv/csv (optionally gzipped) file, split into fields."""
    try:
        with _open_text(path) as fh:
            row = next(csv.reader(fh, delimiter=_separator(path)), None)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: cannot be read as a {'gzipped ' if path.suffix == '.gz' else ''}"
            f"text table ({exc}). Re-download or re-export the file."
        ) from exc
    if not row:
        raise InputError(f"{path}: the file is empty; it needs a header line.")
    return [c.strip() for c in row]


def _line(raw: pd.DataFrame, row: int) -> int:
    """Editor line of row ``row`` of a table read by :func:`read_count_table` (its index is the line)."""
    return int(raw.index[row])


def estimate_cells(path: str | Path, sample_bytes: int = 1 << 20) -> int | None:
    """About how many genes x samples a count matrix holds, from its header and its first
    ``sample_bytes`` (decompressed) bytes: for job resources, at DAG time.

    Never reads a whole large file: the lines beyond the sample are extrapolated from the
    file size (for gzip, with the compression ratio of the sample). Exact for files that fit in
    the sample. Returns None when the file cannot be read (corrupt, truncated at the start, not
    a table): the caller falls back to a default and the prepare step reports the problem.
    A missing file raises FileNotFoundError (Snakemake then evaluates again once it exists)."""
    path = Path(path)
    size = path.stat().st_size
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            fh = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
            header = fh.readline(64 << 20)
            while header.startswith(b"#"):  # featureCounts' "# Program:featureCounts ..." line(s)
                header = fh.readline(64 << 20)
            if not header.strip():
                return None
            sample = fh.read(sample_bytes)
            at_end = len(sample) < sample_bytes or not fh.read(1)
            consumed = raw.tell()
    except (OSError, EOFError, ValueError, zlib.error):
        return None
    sep = b"\t" if b"\t" in header else b","
    fields = header.rstrip(b"\r\n").split(sep)
    annotation = 5 if [f.strip().lower() for f in fields[:6]] == [c.lower().encode() for c in FEATURECOUNTS_COLS] else 0
    samples = max(len(fields) - 1 - annotation, 1)
    lines = sample.count(b"\n") + (1 if sample and not sample.endswith(b"\n") else 0)
    if not at_end and consumed > 0:
        lines = int(lines * size / consumed)
    return lines * samples


@dataclass
class CountMatrix:
    """Raw counts, genes x samples (int64), with what reading them changed."""

    counts: pd.DataFrame
    rounded_values: int = 0
    summary_rows: list[str] = field(default_factory=list)  # counter rows removed (HTSeq __*, STAR N_*)
    layout: dict = field(default_factory=lambda: {"layout": "plain"})  # see read_count_table


# featureCounts' annotation columns (Rsubread's featureCounts() names the first one GeneID)
FEATURECOUNTS_COLS = ["Geneid", "Chr", "Start", "End", "Strand", "Length"]
_SNIFF_LINES = 50


def _split(line: str, sep: str) -> list[str]:
    return next(csv.reader([line.rstrip("\r\n")], delimiter=sep), [])


def sniff_layout(path: Path, sep: str) -> dict:
    """How an author's count table is laid out, from its first lines:

    * ``plain``: header line = gene ID column + one column per sample;
    * ``featurecounts``: featureCounts' own output (``# Program:featureCounts ...`` comment
      line(s), then ``Geneid Chr Start End Strand Length`` + one column per BAM file): the
      comment lines are skipped and the five annotation columns dropped;
    * ``r_row_names``: R's ``write.table`` with row names (the default): the header has one
      field fewer than the rows, because the row-name column has no header cell.
    """
    lines: list[str] = []
    with _open_text(path) as fh:
        for line in fh:
            lines.append(line)
            if len(lines) >= _SNIFF_LINES + 20:
                break
    comments = 0
    while comments < len(lines) and lines[comments].startswith("#"):
        comments += 1
    if comments >= len(lines):
        return {"layout": "plain", "skip": 0}
    header = [c.strip() for c in _split(lines[comments], sep)]
    if [h.lower() for h in header[:6]] == [c.lower() for c in FEATURECOUNTS_COLS]:
        return {
            "layout": "featurecounts",
            "skip": comments,
            "header": header,
            "tool": lines[0].strip()[:200] if comments else "",
            "dropped_columns": header[1:6],
        }
    if comments:
        return {"layout": "plain", "skip": 0}
    body = [_split(ln, sep) for ln in lines[1 : _SNIFF_LINES + 1] if ln.strip()]
    # (a trailing separator on every line is not a row-name column: its last field is empty)
    if len(header) >= 1 and body and all(len(r) == len(header) + 1 and r[-1].strip() for r in body):
        return {"layout": "r_row_names", "skip": 0, "header": ["gene_id"] + header}
    return {"layout": "plain", "skip": 0}


def read_count_table(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """The text of a count table in any layout :func:`sniff_layout` recognises, as strings:
    (DataFrame with the gene ID column first, then one column per sample, indexed by the
    editor line of each row; layout dict, also saying what was done)."""
    path = Path(path)
    _require_file(path, "Count matrix")
    sep = _separator(path)
    header = read_header(path)
    try:
        layout = sniff_layout(path, sep)
    except (OSError, EOFError, UnicodeDecodeError, zlib.error, csv.Error):
        layout = {"layout": "plain", "skip": 0}  # read_csv below reports what is wrong with the file
    skip = layout["skip"]
    if layout["layout"] != "plain":
        header = layout["header"]
    if len(header) < 2:
        alt = other_separator(header, sep)
        if alt:
            raise separator_error(path, sep, alt, [skip + 1], header[0])
        raise InputError(
            f"{path}: line 1 has {len(header)} column(s); a count matrix needs a gene ID column "
            f"followed by one column per sample. Is the separator right? ({'comma' if sep == ',' else 'tab'} "
            "is expected from the file name: .csv = comma, anything else = tab)"
        )
    keep = [0] + list(range(6, len(header))) if layout["layout"] == "featurecounts" else list(range(len(header)))
    if layout["layout"] == "featurecounts" and len(keep) < 2:
        raise InputError(
            f"{path}: line {skip + 1}: a featureCounts table with no count column after {' '.join(header[:6])}."
        )
    samples = [header[i] for i in keep[1:]]
    where = f"{path}: line {skip + 1}"
    dup = sorted({s for s in samples if samples.count(s) > 1})
    if dup:
        raise InputError(
            f"{where} names these sample columns more than once: {preview(dup)}. "
            "Each sample must have exactly one column."
        )
    empty = [i + 2 for i, s in zip(keep[1:], samples) if not s]
    if empty:
        raise InputError(f"{where}, column(s) {preview(empty)} have no sample name.")
    try:
        # blank lines are kept (and then refused as an empty gene ID) so that line numbers stay exact
        raw = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            encoding=ENCODING,
            na_filter=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL,
            skiprows=skip + 1,
            header=None,
        )
    except pd.errors.EmptyDataError:
        raw = pd.DataFrame(columns=range(len(header)))
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(
            f"{path}: cannot be read to the end ({type(exc).__name__}: {exc}): the file is truncated or "
            "corrupt (an interrupted download or copy?). Re-download or re-export it."
        ) from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not a well-formed table ({exc}). Every line needs the same number of columns as the header."
        ) from exc
    if raw.shape[1] < len(header):  # short lines at the end: the missing counts are reported below
        for j in range(raw.shape[1], len(header)):
            raw[j] = ""
    elif raw.shape[1] > len(header):
        extra = np.flatnonzero((raw.iloc[:, len(header) :] != "").any(axis=1).to_numpy())
        if extra.size:
            raise InputError(
                f"{path}: line {int(extra[0]) + skip + 2} has more fields than the header (line "
                f"{skip + 1}: {len(header)}). Every line needs the same number of columns as the header."
            )
        raw = raw.iloc[:, : len(header)]
    raw = raw.fillna("").iloc[:, keep]
    raw.columns = [header[i] for i in keep]
    raw.index = pd.RangeIndex(skip + 2, skip + 2 + len(raw))  # editor line numbers
    _check_line_separators(path, raw, sep)
    if layout["layout"] == "featurecounts":
        layout["note"] = (
            f"featureCounts table: skipped {skip} comment line(s) and dropped the annotation columns "
            f"{', '.join(layout['dropped_columns'])}; {len(samples)} count column(s)"
        )
    elif layout["layout"] == "r_row_names":
        layout["note"] = (
            "R write.table layout (row names without a header cell): the header names the "
            f"{len(samples)} sample column(s) and the first field of every line is the gene ID"
        )
    return raw, layout


def _check_line_separators(path: Path, raw: pd.DataFrame, sep: str) -> None:
    """Lines written with another separator come out as one field (the others empty): say so, with
    the lines, instead of "the count is missing" on a line that shows its numbers."""
    if raw.shape[1] < 2 or raw.empty:
        return
    first = raw.iloc[:, 0].astype(str)
    for alt in SEPARATOR_NAMES:
        if alt == sep:
            continue
        rows = np.flatnonzero(first.str.contains(alt, regex=False).to_numpy())
        if rows.size:  # (only these rows are looked at further: the check costs ~3 ms on 10,000 genes x 85 samples)
            rest = raw.iloc[rows, 1:].fillna("")
            bad = rows[(rest == "").all(axis=1).to_numpy()]
            if bad.size:
                raise separator_error(path, sep, alt, [int(i) for i in raw.index[bad]], first.iloc[bad[0]])


# Lines of counting tools' own statistics that are not genes: HTSeq-count's "__no_feature",
# "__ambiguous", "__too_low_aQual", "__not_aligned", "__alignment_not_unique" (any "__" name), and
# STAR ReadsPerGene's first four lines. Tested as genes they would be DE "genes" of their own.
SUMMARY_ROW = re.compile(r"^(__.*|N_unmapped|N_multimapping|N_noFeature|N_ambiguous)$")
# the largest count accepted: R DESeq2 stores counts as 32-bit integers (no sequencing run gives one
# gene this many reads in one sample); larger values are a unit or format error, and above 2^63 they
# would silently wrap around to negative numbers in int64
MAX_COUNT = 2**31 - 1


def read_counts(path: str | Path, round_counts: bool = False) -> CountMatrix:
    """Read a raw count matrix: first column gene IDs, one column per sample.

    Counts must be non-negative integers. Tables of estimated counts (floats, e.g. from
    RSEM/salmon or some GEO supplements) are refused unless ``round_counts`` is set, in
    which case they are rounded to the nearest integer (halves to even).
    """
    path = Path(path)
    raw, layout = read_count_table(path)
    header = list(raw.columns)
    samples = header[1:]
    if layout["layout"] != "plain":
        log.warning("%s: %s", path, layout["note"])
    if raw.empty:
        raise InputError(
            f"{path}: has a header line but no gene lines. A count matrix needs one line per gene "
            "(gene ID, then one count per sample)."
        )
    ids = raw.iloc[:, 0].str.strip()
    blank = raw.index[ids.eq("").to_numpy()]
    if len(blank):
        raise InputError(f"{path}: line(s) {preview(list(blank))} have an empty gene ID in the first column.")
    dup_mask = ids.duplicated(keep=False).to_numpy()
    if dup_mask.any():
        first = {}
        for line, gid in zip(raw.index[dup_mask], ids[dup_mask]):
            first.setdefault(gid, []).append(int(line))
        items = [f"{g} (lines {', '.join(map(str, lines))})" for g, lines in list(first.items())]
        raise InputError(
            f"{path}: duplicated gene IDs: {preview(items, 3)}. Each gene must appear once; "
            "sum or drop the duplicated rows before running." + _r_layout_hint(path, raw, layout)
        )
    summary = ids.str.match(SUMMARY_ROW).to_numpy()
    summary_rows = []
    if summary.any():
        summary_rows = list(ids[summary])
        lines = [int(i) for i in raw.index[summary]]
        log.warning(
            "%s: removed %d line(s) of counting-tool statistics that are not genes: %s (line(s) %s); "
            "they are not tested",
            path,
            len(summary_rows),
            preview(summary_rows),
            preview(lines),
        )
        raw, ids = raw[~summary], ids[~summary]
        if raw.empty:
            raise InputError(
                f"{path}: has only counting-tool statistics lines ({preview(summary_rows)}), no gene "
                "lines. Use the tool's per-gene counts."
            )
    values = raw.iloc[:, 1:]
    numeric = values.apply(lambda col: pd.to_numeric(col.str.strip(), errors="coerce"))
    bad = numeric.isna().to_numpy()
    if bad.any():
        r, c = np.argwhere(bad)[0]
        text = values.iat[r, c]
        what = "is missing" if text.strip() in ("", "NA", "NaN", "nan", "null") else f"is not a number ({text!r})"
        raise InputError(
            f"{path}: line {_line(raw, r)}, gene {ids.iat[r]}, sample {samples[c]}: the count {what} "
            f"({int(bad.sum())} such value(s) in the file). Counts must be non-negative integers; "
            "fill in or remove the gene."
        )
    arr = numeric.to_numpy(dtype=float)
    if not np.isfinite(arr).all():
        r, c = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(
            f"{path}: line {_line(raw, r)}, gene {ids.iat[r]}, sample {samples[c]}: the count is infinite."
        )
    neg = arr < 0
    if neg.any():
        r, c = np.argwhere(neg)[0]
        raise InputError(
            f"{path}: line {_line(raw, r)}, gene {ids.iat[r]}, sample {samples[c]}: negative count "
            f"{values.iat[r, c]} ({int(neg.sum())} negative value(s) in the file). Raw read counts "
            "cannot be negative: use the raw (not normalised or log-transformed) count table."
        )
    huge = arr > MAX_COUNT
    if huge.any():
        r, c = np.argwhere(huge)[0]
        raise InputError(
            f"{path}: line {_line(raw, r)}, gene {ids.iat[r]}, sample {samples[c]}: count "
            f"{values.iat[r, c]} is larger than {MAX_COUNT:,} ({int(huge.sum())} such value(s) in the "
            "file), more reads than a sequencing run gives one gene in one sample. Are these raw read "
            "counts? Use the raw integer count table (not a product, sum over genes, or a value in "
            "other units)."
        )
    frac = arr != np.round(arr)
    rounded = int(frac.sum())
    if rounded:
        if not round_counts:
            r, c = np.argwhere(frac)[0]
            raise InputError(
                f"{path}: line {_line(raw, r)}, gene {ids.iat[r]}, sample {samples[c]}: "
                f"count {values.iat[r, c]} is not an "
                f"integer ({rounded} non-integer value(s) in the file). DESeq2 needs raw integer counts. If these are "
                "estimated counts (RSEM, salmon, some GEO tables), set `round_counts: true` for this dataset to round "
                "them; if they are normalised values (FPKM/TPM/CPM), use the raw counts instead."
            )
        arr = np.rint(arr)
    counts = pd.DataFrame(arr.astype(np.int64), index=pd.Index(ids.to_numpy(), name="gene_id"), columns=samples)
    return CountMatrix(counts=counts, rounded_values=rounded, summary_rows=summary_rows, layout=layout)


def _r_layout_hint(path: Path, raw: pd.DataFrame, layout: dict) -> str:
    """When the "gene IDs" are numbers, the first column is probably a sample's counts."""
    if layout["layout"] != "plain":
        return ""
    ids = raw.iloc[:, 0].str.strip()
    if len(ids) and pd.to_numeric(ids, errors="coerce").notna().mean() > 0.9:
        return (
            f" The first column ({raw.columns[0]!r}) holds numbers, not gene IDs: is it a sample's counts? "
            "A table whose gene ID column has no header cell (R write.table) has one field fewer on line 1 "
            "than on the other lines; give the gene ID column a header cell, e.g. gene_id."
        )
    return ""


def read_samples(path: str | Path) -> pd.DataFrame:
    """Read a sample sheet (tsv/csv) with a ``sample`` column; returns it indexed by sample, all str."""
    path = Path(path)
    _require_file(path, "Sample sheet")
    header = read_header(path)
    sep = _separator(path)
    alt = other_separator(header, sep)
    if alt and "sample" not in header:
        raise separator_error(path, sep, alt, [1], header[0])
    if "sample" not in header:
        raise InputError(
            f"{path}: line 1 has no `sample` column (found: {preview(header)}). "
            "Name the column holding the sample names (the count matrix column names) `sample`."
        )
    dup_cols = sorted({h for h in header if header.count(h) > 1})
    if dup_cols:
        raise InputError(f"{path}: line 1 names these columns more than once: {preview(dup_cols)}.")
    try:
        df = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            encoding=ENCODING,
            na_filter=False,
            comment=None,
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a well-formed table ({exc}).") from exc
    if df.empty:
        raise InputError(
            f"{path}: has a header line but no sample lines. Add one line per sample "
            "(the sample name in the `sample` column, then its covariates)."
        )
    df = df.apply(lambda col: col.str.strip())
    raw = df.set_axis(pd.RangeIndex(2, 2 + len(df)))  # editor line numbers
    _check_line_separators(path, raw, sep)
    validate_rows(df.to_dict(orient="records"), "samples", str(path))
    dups = df["sample"][df["sample"].duplicated(keep=False)]
    if len(dups):
        lines = [f"{s} (line {i + 2})" for i, s in dups.items()]
        raise InputError(
            f"{path}: sample names must be unique; repeated: {preview(lines)}. Give each sample "
            "its own name (matching its count matrix column) or remove the repeated line."
        )
    return df.set_index("sample")
