"""Reading and checking count matrices and sample sheets.

Every check raises :class:`~pathverdict.errors.InputError` with the file, the line
(1-based, as an editor shows it; the header is line 1), the gene and/or sample, and
the fix.
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import validate_rows
from .errors import InputError, preview

def _separator(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return "," if name.endswith(".csv") else "\t"


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", newline="")
    return open(path, newline="")


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise InputError(f"{what} file not found: {path}. Check the path in the config "
                         "(relative paths are resolved from the directory snakemake runs in).")


def read_header(path: Path) -> list[str]:
    """First line of a tsv/csv (optionally gzipped) file, split into fields."""
    try:
        with _open_text(path) as fh:
            row = next(csv.reader(fh, delimiter=_separator(path)), None)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as a {'gzipped ' if path.suffix == '.gz' else ''}"
                         f"text table ({exc}). Re-download or re-export the file.") from exc
    if not row:
        raise InputError(f"{path}: the file is empty; it needs a header line.")
    return [c.strip() for c in row]


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
            if not header.strip():
                return None
            sample = fh.read(sample_bytes)
            at_end = len(sample) < sample_bytes or not fh.read(1)
            consumed = raw.tell()
    except (OSError, EOFError, ValueError, zlib.error):
        return None
    sep = b"\t" if b"\t" in header else b","
    samples = max(len(header.rstrip(b"\r\n").split(sep)) - 1, 1)
    lines = sample.count(b"\n") + (1 if sample and not sample.endswith(b"\n") else 0)
    if not at_end and consumed > 0:
        lines = int(lines * size / consumed)
    return lines * samples


@dataclass
class CountMatrix:
    """Raw counts, genes x samples (int64), with what reading them changed."""

    counts: pd.DataFrame
    rounded_values: int = 0


def read_counts(path: str | Path, round_counts: bool = False) -> CountMatrix:
    """Read a raw count matrix: first column gene IDs, one column per sample.

    Counts must be non-negative integers. Tables of estimated counts (floats, e.g. from
    RSEM/salmon or some GEO supplements) are refused unless ``round_counts`` is set, in
    which case they are rounded to the nearest integer (halves to even).
    """
    path = Path(path)
    _require_file(path, "Count matrix")
    header = read_header(path)
    if len(header) < 2:
        raise InputError(
            f"{path}: line 1 has {len(header)} column(s); a count matrix needs a gene ID column "
            f"followed by one column per sample. Is the separator right? ({'comma' if _separator(path) == ',' else 'tab'} "
            "is expected from the file name: .csv = comma, anything else = tab)")
    samples = header[1:]
    dup = sorted({s for s in samples if samples.count(s) > 1})
    if dup:
        raise InputError(f"{path}: line 1 names these sample columns more than once: {preview(dup)}. "
                         "Each sample must have exactly one column.")
    empty = [i + 2 for i, s in enumerate(samples) if not s]
    if empty:
        raise InputError(f"{path}: line 1, column(s) {preview(empty)} have no sample name.")
    try:
        # blank lines are kept (and then refused as an empty gene ID) so that line numbers stay exact
        raw = pd.read_csv(path, sep=_separator(path), dtype=str, keep_default_na=False,
                          na_filter=False, skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(f"{path}: not a well-formed table ({exc}). Every line needs the same "
                         "number of columns as the header.") from exc
    raw.columns = header
    if raw.empty:
        raise InputError(f"{path}: has a header line but no gene lines. A count matrix needs one line per gene "
                         "(gene ID, then one count per sample).")
    ids = raw.iloc[:, 0].str.strip()
    blank = np.flatnonzero(ids.eq("").to_numpy())
    if blank.size:
        raise InputError(f"{path}: line(s) {preview(blank + 2)} have an empty gene ID in the first column.")
    dup_mask = ids.duplicated(keep=False).to_numpy()
    if dup_mask.any():
        first = {}
        for line, gid in zip(np.flatnonzero(dup_mask) + 2, ids[dup_mask]):
            first.setdefault(gid, []).append(int(line))
        items = [f"{g} (lines {', '.join(map(str, lines))})" for g, lines in list(first.items())]
        raise InputError(f"{path}: duplicated gene IDs: {preview(items, 3)}. Each gene must appear once; "
                         "sum or drop the duplicated rows before running.")
    values = raw.iloc[:, 1:]
    numeric = values.apply(lambda col: pd.to_numeric(col.str.strip(), errors="coerce"))
    bad = numeric.isna().to_numpy()
    if bad.any():
        r, c = np.argwhere(bad)[0]
        text = values.iat[r, c]
        what = "is missing" if text.strip() in ("", "NA", "NaN", "nan", "null") else f"is not a number ({text!r})"
        raise InputError(f"{path}: line {r + 2}, gene {ids.iat[r]}, sample {samples[c]}: the count {what} "
                         f"({int(bad.sum())} such value(s) in the file). Counts must be non-negative integers; "
                         "fill in or remove the gene.")
    arr = numeric.to_numpy(dtype=float)
    if not np.isfinite(arr).all():
        r, c = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(f"{path}: line {r + 2}, gene {ids.iat[r]}, sample {samples[c]}: the count is infinite.")
    neg = arr < 0
    if neg.any():
        r, c = np.argwhere(neg)[0]
        raise InputError(f"{path}: line {r + 2}, gene {ids.iat[r]}, sample {samples[c]}: negative count "
                         f"{values.iat[r, c]} ({int(neg.sum())} negative value(s) in the file). Raw read counts "
                         "cannot be negative: use the raw (not normalised or log-transformed) count table.")
    frac = arr != np.round(arr)
    rounded = int(frac.sum())
    if rounded:
        if not round_counts:
            r, c = np.argwhere(frac)[0]
            raise InputError(
                f"{path}: line {r + 2}, gene {ids.iat[r]}, sample {samples[c]}: count {values.iat[r, c]} is not an "
                f"integer ({rounded} non-integer value(s) in the file). DESeq2 needs raw integer counts. If these are "
                "estimated counts (RSEM, salmon, some GEO tables), set `round_counts: true` for this dataset to round "
                "them; if they are normalised values (FPKM/TPM/CPM), use the raw counts instead.")
        arr = np.rint(arr)
    counts = pd.DataFrame(arr.astype(np.int64), index=pd.Index(ids.to_numpy(), name="gene_id"), columns=samples)
    return CountMatrix(counts=counts, rounded_values=rounded)


def read_samples(path: str | Path) -> pd.DataFrame:
    """Read a sample sheet (tsv/csv) with a ``sample`` column; returns it indexed by sample, all str."""
    path = Path(path)
    _require_file(path, "Sample sheet")
    header = read_header(path)
    if "sample" not in header:
        raise InputError(f"{path}: line 1 has no `sample` column (found: {preview(header)}). "
                         "Name the column holding the sample names (the count matrix column names) `sample`.")
    dup_cols = sorted({h for h in header if header.count(h) > 1})
    if dup_cols:
        raise InputError(f"{path}: line 1 names these columns more than once: {preview(dup_cols)}.")
    try:
        df = pd.read_csv(path, sep=_separator(path), dtype=str, keep_default_na=False,
                         na_filter=False, comment=None)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a well-formed table ({exc}).") from exc
    if df.empty:
        raise InputError(f"{path}: has a header line but no sample lines. Add one line per sample "
                         "(the sample name in the `sample` column, then its covariates).")
    df = df.apply(lambda col: col.str.strip())
    validate_rows(df.to_dict(orient="records"), "samples", str(path))
    dups = df["sample"][df["sample"].duplicated(keep=False)]
    if len(dups):
        lines = [f"{s} (line {i + 2})" for i, s in dups.items()]
        raise InputError(f"{path}: sample names must be unique; repeated: {preview(lines)}. Give each sample "
                         "its own name (matching its count matrix column) or remove the repeated line.")
    return df.set_index("sample")


def formula_variables(design: str) -> list[str]:
    """Variables a design formula such as ``~ batch + condition`` refers to."""
    body = design.strip()
    if not body.startswith("~"):
        raise InputError(f"design {design!r} must be a formula starting with '~', e.g. '~condition' "
                         "or '~batch + condition'.")
    names = []
    for tok in re.findall(r"[A-Za-z_.][A-Za-z0-9_.]*", body[1:]):
        if tok not in names and tok not in {"C", "Treatment", "contr"}:
            names.append(tok)
    if not names:
        raise InputError(f"design {design!r} names no variable; use e.g. '~condition'.")
    return names


def check_design(samples: pd.DataFrame, counts: pd.DataFrame, design: str, contrast: list[str],
                 samples_path: str | Path, counts_path: str | Path, dataset: str) -> pd.DataFrame:
    """Check that sample sheet, count columns, design and contrast fit together.

    Returns the count matrix with its columns in sample sheet order.
    """
    sheet, cols = list(samples.index), list(counts.columns)
    missing = [s for s in sheet if s not in set(cols)]
    extra = [c for c in cols if c not in set(sheet)]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"Samples in the sample sheet {samples_path} without a column in {counts_path}: "
                         f"{preview(missing)}.")
        if extra:
            parts.append(f"Columns of {counts_path} not in the sample sheet {samples_path}: {preview(extra)}.")
        raise InputError(f"dataset {dataset}: sample sheet and count matrix disagree. " + " ".join(parts)
                         + " Make the `sample` column list exactly the count matrix's sample columns "
                           "(names are case-sensitive).")
    variables = formula_variables(design)
    absent = [v for v in variables if v not in samples.columns]
    if absent:
        raise InputError(f"dataset {dataset}: design {design!r} uses {preview(absent)}, which is not a column of "
                         f"{samples_path} (columns: {preview(list(samples.columns))}). Fix `design` or add the column.")
    for v in variables:
        empty = [s for s, val in samples[v].items() if val in ("", "NA", "NaN", "nan")]
        if empty:
            raise InputError(f"dataset {dataset}: {samples_path}: column {v!r} is empty for sample(s) "
                             f"{preview(empty)}. Every sample needs a value for each design variable.")
    var, tested, reference = contrast
    if var not in variables:
        raise InputError(f"dataset {dataset}: contrast variable {var!r} is not in the design {design!r}. "
                         f"Add it to the design or pick one of {preview(variables)}.")
    levels = sorted(samples[var].unique())
    for level in (tested, reference):
        if level not in levels:
            raise InputError(f"dataset {dataset}: contrast level {level!r} does not occur in column {var!r} of "
                             f"{samples_path} (levels there: {preview(levels)}). Fix `contrast` (levels are "
                             "case-sensitive).")
    if tested == reference:
        raise InputError(f"dataset {dataset}: contrast compares level {tested!r} with itself; "
                         "give [variable, tested level, reference level].")
    for level in (tested, reference):
        n = int((samples[var] == level).sum())
        if n < 2:
            raise InputError(f"dataset {dataset}: group {var}={level} has {n} sample in {samples_path}; "
                             "differential expression needs at least 2 replicates per compared group. "
                             "Add replicates or compare other groups.")
    return counts[sheet]
