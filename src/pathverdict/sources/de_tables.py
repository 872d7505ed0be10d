"""The differential-expression tables papers publish, read as their authors wrote them.

A supplementary table of DE results (CSV, TSV or Excel ``.xlsx``) is read into one standard frame
(:class:`DETable`): the gene ID, log2 fold change, p-value, adjusted p-value and, where the table has
one, the test statistic and a mean expression. The layout is recognised from the header, without
configuration, for

* **DESeq2** ``results()`` written by ``write.csv(as.data.frame(res))``: a row-names column with an
  empty header cell, ``baseMean, log2FoldChange, lfcSE, stat, pvalue, padj`` (``lfcShrink`` tables
  without ``stat`` too);
* **edgeR** ``topTags()``: ``logFC, logCPM, F`` (quasi-likelihood) or ``LR`` (likelihood ratio) or
  neither (exact test), ``PValue, FDR``;
* **limma** ``topTable()``: ``logFC, AveExpr, t, P.Value, adj.P.Val, B``;
* **Cuffdiff** ``gene_exp.diff``: ``test_id, gene_id, gene, ..., status, value_1, value_2,
  log2(fold_change), test_stat, p_value, q_value, significant`` (rows whose ``status`` is not ``OK``
  were not tested: no p-value);

and any other layout through ``columns: {gene, log2fc, pvalue, padj, stat}`` (header names). R's
``write.table`` header, one field shorter than the rows (no cell for the row names), is read as
it is, as are legend lines above the header (the first of the first :data:`HEADER_SCAN` rows that
looks like a DE header is the header) and, in a workbook, legend sheets before the data (the first
sheet whose header looks like a DE table, unless ``sheet`` names one: by name, or by its position
counted from 1 as Excel shows the tabs). The separator of a text file is the one (tab, comma,
semicolon, space) whose split gives such a header; a semicolon file may write decimals with a comma
(spreadsheets in many European locales).

Everything is checked, each problem one :class:`~pathverdict.errors.InputError` naming the file, the
line (or sheet and row) and the fix: no header that looks like a DE table, no p-value or fold-change
column, a value that is not a number, a p-value outside 0..1, duplicated or missing gene IDs.
What this module does not do: map gene IDs, decide the ranking or the background
(:mod:`pathverdict.de.imported` does, from the frame made here).
"""

from __future__ import annotations

import csv
import datetime
import gzip
import logging
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, preview

log = logging.getLogger(__name__)

HEADER_SCAN = 30  # rows searched for the header (legend lines above it)
ROLES = ("gene", "log2fc", "pvalue", "padj", "stat")  # what `columns:` can name
# cells read as a missing value in a numeric column (R writes NA, Excel #N/A, some authors "-")
MISSING = frozenset({"", "na", "nan", "n/a", "#n/a", "null", "none", "-", "--", "."})
# header names of the gene column of a table written without row names (compared in lower case)
GENE_NAMES = (
    "",
    "x",
    "row.names",
    "gene",
    "genes",
    "gene_id",
    "geneid",
    "gene id",
    "gene_name",
    "genename",
    "gene name",
    "gene_symbol",
    "symbol",
    "ensembl",
    "ensembl_id",
    "ensembl_gene_id",
    "entrez",
    "entrezid",
    "id",
    "feature",
    "feature_id",
    "name",
)


@dataclass(frozen=True)
class Layout:
    """A tool's DE table: the header names that identify it and the column of each role."""

    name: str
    required: tuple[str, ...]
    roles: dict  # role -> header name (log2fc, pvalue, padj, base_mean, mean_log2, lfc_se)
    statistics: tuple[tuple[str, str], ...] = ()  # (header, kind), the first present is the test statistic


LAYOUTS = (
    Layout(
        "DESeq2 results()",
        ("baseMean", "log2FoldChange", "pvalue", "padj"),
        {"log2fc": "log2FoldChange", "pvalue": "pvalue", "padj": "padj", "base_mean": "baseMean", "lfc_se": "lfcSE"},
        (("stat", "Wald"),),
    ),
    Layout(
        "edgeR topTags()",
        ("logFC", "logCPM", "PValue", "FDR"),
        {"log2fc": "logFC", "pvalue": "PValue", "padj": "FDR", "mean_log2": "logCPM"},
        (("F", "F"), ("LR", "LR")),
    ),
    Layout(
        "limma topTable()",
        ("logFC", "AveExpr", "P.Value", "adj.P.Val"),
        {"log2fc": "logFC", "pvalue": "P.Value", "padj": "adj.P.Val", "mean_log2": "AveExpr"},
        (("t", "t"),),
    ),
    Layout(
        "Cuffdiff gene_exp.diff",
        ("test_id", "gene_id", "gene", "status", "log2(fold_change)", "test_stat", "p_value", "q_value"),
        {"log2fc": "log2(fold_change)", "pvalue": "p_value", "padj": "q_value"},
        (("test_stat", "test_stat"),),
    ),
)
CONFIGURED = "columns from the config"


@dataclass
class DETable:
    """A DE table as read: ``table`` has ``gene_id`` (text, unique), ``map_id`` (the name to map to a
    symbol: the gene ID, or Cuffdiff's ``gene`` when its IDs are its own), ``log2fc``, ``pvalue``,
    ``padj`` (NaN when the table has none), ``stat``, ``base_mean``, ``mean_log2``, ``lfc_se`` (NaN
    where absent) and ``line`` (where the row is: editor line, or sheet row)."""

    table: pd.DataFrame
    path: str
    layout: str
    columns: dict  # role -> header name as in the file ("" for R's row names)
    statistic: str = ""  # kind of the test statistic: Wald, t, F, LR, test_stat, configured; "" = none
    file_format: str = ""  # csv, tsv, semicolon, space, xlsx
    sheet: str | None = None
    header_row: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.path}" + (f", sheet {self.sheet!r}" if self.sheet is not None else "")

    def summary(self) -> dict:
        """What was recognised, for ``input/prepare.json`` and the provenance."""
        return {
            "file": self.path,
            "format": self.file_format,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "layout": self.layout,
            "columns": dict(self.columns),
            "statistic": self.statistic,
            "rows": int(len(self.table)),
            "notes": list(self.notes),
        }


# ----------------------------------------------------------------------------- reading the cells


def _kind_of_file(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    return "text"


def _decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "cp1252"):  # Excel's "CSV UTF-8", then Windows' own CSV
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _text_lines(path: Path, kind: str) -> list[str]:
    try:
        data = gzip.decompress(path.read_bytes()) if kind == "gzip" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot be read ({exc}). Download or export the table again.") from exc
    if data[:4] == b"PK\x03\x04":
        raise InputError(f"{path}: a gzipped Excel workbook; unzip it (gunzip) and give the .xlsx file.")
    return _decode(data, path).splitlines()


SEPARATORS = (("\t", "tsv"), (",", "csv"), (";", "semicolon"), (" ", "space"))


def _split_rows(lines: list[str], sep: str) -> list[list[str]]:
    rows = csv.reader(lines, delimiter=sep, skipinitialspace=sep == " ")
    return [[c.strip() for c in r] for r in rows]


def _excel_cell(value) -> str:
    """An Excel cell as text: whole numbers without ``.0``, dates as ISO dates, empty as ""."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    if isinstance(value, (datetime.date, datetime.datetime, pd.Timestamp)):
        return "DATE:" + value.strftime("%Y-%m-%d")
    return str(value).strip()


def _sheet_rows(book: pd.ExcelFile, sheet, nrows: int | None = None) -> list[list[str]]:
    frame = book.parse(sheet, header=None, dtype=object, nrows=nrows, keep_default_na=False, na_values=[])
    return [[_excel_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]


# ----------------------------------------------------------------------------- the header


def _norm(name: str) -> str:
    return name.strip().strip('"').strip()


def _match_layout(header: list[str]) -> Layout | None:
    names = {_norm(h) for h in header}
    for layout in LAYOUTS:
        if set(layout.required) <= names:
            return layout
    return None


def _is_header(row: list[str], columns: dict | None) -> bool:
    if _match_layout(row) is not None:
        return True
    if columns:
        names = {_norm(h) for h in row}
        wanted = [str(v) for k, v in columns.items() if k != "gene" and v is not None]
        return bool(wanted) and set(wanted) <= names
    return False


def _find_header(rows: list[list[str]], columns: dict | None) -> int | None:
    for i, row in enumerate(rows[:HEADER_SCAN]):
        if _is_header(row, columns):
            return i
    return None


# header names that say what a column is, to tell which one a near-miss header lacks
def _column_kind(name: str) -> str:
    """ "adjusted", "p-value", "log2 fold change" or "" for a header name (by common spellings)."""
    low = _norm(name).lower()
    if re.search(r"fdr|adj|q[._ -]?val|padj", low):
        return "adjusted"
    if low in ("p", "pval", "pvalue", "p value") or re.match(r"^p[._ -]?val", low):
        return "p-value"
    if "fold" in low or re.search(r"(^|[^a-z])(log2?)?fc($|[^a-z])", low) or low in ("logfc", "log2fc", "lfc"):
        return "log2 fold change"
    return ""


def _near_miss(rows: list[list[str]]) -> tuple[int, list[str], list[str]] | None:
    """(row, names it has, roles it lacks) of the first scanned row with at least two DE column names."""
    for i, row in enumerate(rows[:HEADER_SCAN]):
        kinds = {_norm(c): _column_kind(c) for c in row if _column_kind(c)}
        if len(kinds) >= 2:
            lacks = [k for k in ("log2 fold change", "p-value") if k not in kinds.values()]
            return i, list(kinds), lacks
    return None


def _no_header_message(where: str, rows: list[list[str]], columns: dict | None, unit: str = "line") -> str:
    near = None if columns else _near_miss(rows)
    example = "`columns: {gene: Gene, log2fc: log2FC, pvalue: PValue, padj: FDR}`"
    if near is not None and near[2]:
        i, has, lacks = near
        return (
            f"{where}: {unit} {i + 1} looks like the header of a DE table ({', '.join(has)}) but has no "
            f"{' and no '.join(lacks)} column. A DE table needs the gene, its log2 fold change and its p-value. "
            f"Fix: give a table that has them, or name them in the dataset's de_table entry, e.g. {example}"
        )
    if near is not None:
        i, has, _ = near
        return (
            f"{where}: {unit} {i + 1} has DE columns ({', '.join(has)}) but is not a layout recognised without "
            f"configuration (DESeq2, edgeR, limma, Cuffdiff). Fix: name the columns in the dataset's de_table "
            f"entry, e.g. {example}"
        )
    first = next((r for r in rows if any(c for c in r)), [])
    shown = ", ".join(repr(c) for c in first[:10]) + (", ..." if len(first) > 10 else "")
    wanted = (
        f"the columns named in `columns` ({', '.join(str(v) for v in columns.values())})"
        if columns
        else "the header of a DESeq2, edgeR, limma or Cuffdiff table"
    )
    return (
        f"{where}: no header line that looks like a DE table in its first {HEADER_SCAN} rows (looked for "
        f"{wanted}; the first row is {shown or 'empty'}). Fix: name the columns in the dataset's de_table "
        f"entry, e.g. {example}"
    )


def _read_rows(path: Path, sheet, columns: dict | None) -> tuple[list[list[str]], int, str, str | None, list[str]]:
    """(rows from the header on, header's 1-based row, file format, sheet name, notes)."""
    kind = _kind_of_file(path)
    notes: list[str] = []
    if kind == "xls":
        raise InputError(
            f"{path}: an Excel 97-2003 workbook (.xls), which is not read. Fix: open it in a spreadsheet and "
            "save it as .xlsx (or export the data sheet as CSV)."
        )
    if kind == "xlsx":
        return _read_workbook(path, sheet, columns)
    if sheet is not None:
        raise InputError(f"{path}: `sheet: {sheet}` is given, but the file is a text table, not an Excel workbook.")
    lines = _text_lines(path, kind)
    lines = [ln for ln in lines if not ln.startswith("#")] if any(ln.startswith("#") for ln in lines[:5]) else lines
    head = lines[: HEADER_SCAN + 1]
    for sep, fmt in SEPARATORS:
        rows = _split_rows(head, sep)
        at = _find_header(rows, columns)
        if at is not None:
            rows = _split_rows(lines[at:], sep)
            if fmt == "semicolon":
                notes.append("semicolon-separated")
            return rows, at + 1, fmt, None, notes
    # no header: the message reads the lines with the separator that finds DE column names, if any
    split = [_split_rows(head, sep) for sep, _ in SEPARATORS]
    rows = next((r for r in split if _near_miss(r) is not None), split[0])
    raise InputError(_no_header_message(str(path), rows, columns))


def _read_workbook(path: Path, sheet, columns: dict | None):
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise InputError(f"{path}: cannot be read as an Excel workbook ({exc}). Export the table again.") from exc
    names = [str(n) for n in book.sheet_names]
    listing = ", ".join(f"{i} = {n!r}" for i, n in enumerate(names, start=1))
    notes: list[str] = []
    if sheet is not None:
        if isinstance(sheet, int) and not isinstance(sheet, bool):
            if not 1 <= sheet <= len(names):
                raise InputError(
                    f"{path}: `sheet: {sheet}`, but the workbook has {len(names)} sheet(s) ({listing}). Fix: give a "
                    "sheet by name or by its position counted from 1."
                )
            chosen = names[sheet - 1]
        elif str(sheet) in names:
            chosen = str(sheet)
        else:
            raise InputError(f"{path}: no sheet {sheet!r}; its sheets are {listing}. Fix `sheet` in the config.")
        rows = _sheet_rows(book, chosen)
        at = _find_header(rows, columns)
        if at is None:
            raise InputError(_no_header_message(f"{path}, sheet {chosen!r}", rows, columns, unit="row"))
        return rows[at:], at + 1, "xlsx", chosen, notes
    for name in names:
        at = _find_header(_sheet_rows(book, name, HEADER_SCAN), columns)
        if at is not None:
            if notes:
                log.info("%s: %s", path, "; ".join(notes))
            return _sheet_rows(book, name)[at:], at + 1, "xlsx", name, notes
        notes.append(f"sheet {name!r} skipped (no DE header in its first {HEADER_SCAN} rows)")
    raise InputError(
        f"{path}: no sheet has a header that looks like a DE table in its first {HEADER_SCAN} rows (sheets: "
        f"{listing}). Fix: give the data sheet (`sheet: NAME` or its position) and, if its layout is not "
        "DESeq2, edgeR, limma or Cuffdiff, `columns: {gene: ..., log2fc: ..., pvalue: ..., padj: ...}`."
    )


# ----------------------------------------------------------------------------- columns


def _gene_column(header: list[str], used: set[str]) -> int | None:
    """The gene ID column: R's row names (empty header cell), a column named like gene IDs, else the
    first column that holds no statistic."""
    lowered = [_norm(h).lower() for h in header]
    for name in GENE_NAMES:
        for i, h in enumerate(lowered):
            if h == name and header[i] not in used:
                return i
    return 0 if header and header[0] not in used else None


def _numbers(values: list[str], *, decimal_comma: bool) -> tuple[np.ndarray, list[int]]:
    """Floats from cells; indices of the cells that are not numbers (missing words give NaN)."""
    out = np.full(len(values), np.nan)
    bad = []
    for i, v in enumerate(values):
        s = v.strip()
        if s.lower() in MISSING:
            continue
        if decimal_comma and "," in s:
            s = s.replace(".", "").replace(",", ".") if re.fullmatch(r"[-+]?[\d.]*,\d*([eE][-+]?\d+)?", s) else s
        try:
            out[i] = float(s)
        except ValueError:
            bad.append(i)
    return out, bad


@dataclass(frozen=True)
class _Ctx:
    where: str
    excel: bool
    lines: list  # location of each data row


def _loc(ctx: _Ctx, i: int) -> str:
    return f"row {ctx.lines[i]}" if ctx.excel else f"line {ctx.lines[i]}"


def _numeric(ctx: _Ctx, rows, col: int, name: str, genes: list[str], decimal_comma: bool) -> np.ndarray:
    values, bad = _numbers([r[col] if col < len(r) else "" for r in rows], decimal_comma=decimal_comma)
    if bad:
        i = bad[0]
        shown = "; ".join(f"{_loc(ctx, j)} {rows[j][col]!r}" for j in bad[:3])
        raise InputError(
            f"{ctx.where}: {_loc(ctx, i)}, gene {genes[i]}, column {name!r}: {rows[i][col]!r} is not a number "
            f"({len(bad)} such value(s) in the column: {shown}). Fix: export the numbers as numbers, a missing "
            "value as an empty cell or NA (a text such as '<0.001' or 'n.s.' cannot be read)."
        )
    return values


def read_de_table(path: str | Path, *, sheet=None, columns: dict | None = None) -> DETable:
    """Read an author's DE table (see the module docs). ``sheet``: an Excel sheet by name or
    1-based position; ``columns``: header names by role (:data:`ROLES`), overriding the layout's."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"DE table not found: {path}. Check `de_table` in the config (relative paths are resolved from the "
            "directory snakemake runs in)."
        )
    columns = {k: (str(v) if v is not None else None) for k, v in (columns or {}).items()}
    unknown = sorted(set(columns) - set(ROLES))
    if unknown:
        raise InputError(
            f"{path}: `columns` has unknown role(s) {', '.join(unknown)}; the roles are {', '.join(ROLES)}."
        )
    rows, header_row, fmt, sheet_name, notes = _read_rows(path, sheet, columns)
    where = f"{path}" + (f", sheet {sheet_name!r}" if sheet_name is not None else "")
    header = list(rows[0])
    body = [r for r in rows[1:]]
    first = next((r for r in body if any(c for c in r)), None)
    if first is not None and len(first) == len(header) + 1:  # R write.table: no header cell for the row names
        header = [""] + header
        notes.append("R write.table header (one field short: the row names have no header cell)")
    while header and header[-1] == "" and all(len(r) < len(header) or r[len(header) - 1] == "" for r in body[:50]):
        header.pop()  # a trailing separator, or empty spreadsheet columns
    layout = _match_layout(header)
    index = {_norm(h): i for i, h in reversed(list(enumerate(header)))}
    roles: dict[str, str] = dict(layout.roles) if layout else {}
    statistic = ""
    if layout:
        for name, kind in layout.statistics:
            if name in index:
                roles["stat"], statistic = name, kind
                break
    for role, name in columns.items():
        if role == "gene":
            continue
        if name is None:
            roles.pop(role, None)
            continue
        if name not in index:
            raise InputError(
                f"{where}: `columns: {{{role}: {name}}}` names no column of the header (line {header_row}: "
                f"{preview([repr(h) for h in header], 12)}). Fix the name in the config."
            )
        roles[role] = name
        if role == "stat":
            statistic = "configured"
    missing = [r for r in ("log2fc", "pvalue") if r not in roles]
    if missing:
        what = {"log2fc": "log2 fold change", "pvalue": "p-value"}
        raise InputError(
            f"{where}: no {' and no '.join(what[m] for m in missing)} column (header, line {header_row}: "
            f"{preview([repr(h) for h in header], 12)}). A DE table needs the gene, its log2 fold change and its "
            "p-value. Fix: name them in the dataset's de_table entry, e.g. `columns: {gene: Gene, log2fc: "
            "log2FC, pvalue: PValue, padj: FDR}`."
        )
    used = set(roles.values())
    if columns.get("gene") is not None:
        if columns["gene"] not in index:
            raise InputError(
                f"{where}: `columns: {{gene: {columns['gene']}}}` names no column of the header (line {header_row}: "
                f"{preview([repr(h) for h in header], 12)}). Fix the name in the config."
            )
        gcol = index[columns["gene"]]
    elif layout is not None and layout.name.startswith("Cuffdiff"):
        gcol = index["gene_id"]
    else:
        gcol = _gene_column(header, used)
        if gcol is None:
            raise InputError(
                f"{where}: no gene ID column (header, line {header_row}: {preview([repr(h) for h in header], 12)}). "
                "Fix: `columns: {gene: NAME}` in the dataset's de_table entry."
            )
    roles_out = {"gene": header[gcol], **{r: roles[r] for r in ROLES[1:] if r in roles}}
    for extra in ("base_mean", "mean_log2", "lfc_se"):
        if extra in roles and roles[extra] in index:
            roles_out[extra] = roles[extra]
    excel = fmt == "xlsx"
    kept = [(header_row + 1 + i, r) for i, r in enumerate(body) if any(c for c in r)]  # blank lines dropped
    locs = [k for k, _ in kept]
    body = [r + [""] * (len(header) - len(r)) for _, r in kept]
    ctx = _Ctx(where, excel, locs)
    genes = [r[gcol] for r in body]
    _check_genes(ctx, genes, header[gcol], notes)
    decimal_comma = fmt == "semicolon"
    frame = pd.DataFrame({"gene_id": genes, "map_id": genes, "line": locs})
    for role in ("log2fc", "pvalue", "padj", "stat", "base_mean", "mean_log2", "lfc_se"):
        frame[role] = (
            _numeric(ctx, body, index[roles[role]], roles[role], genes, decimal_comma) if role in roles_out else np.nan
        )
    layout_name = layout.name if layout else CONFIGURED
    if columns and layout:
        layout_name += f", {CONFIGURED}"
    if layout is not None and layout.name.startswith("Cuffdiff"):
        frame = _cuffdiff(frame, body, index, genes, notes)
    for role in ("pvalue", "padj"):
        if role in roles_out:
            _check_probabilities(ctx, frame, role, roles_out[role])
    if decimal_comma and any("," in r[index[roles["pvalue"]]] for r in body):
        notes.append("decimal commas")
    return DETable(frame, str(path), layout_name, roles_out, statistic, fmt, sheet_name, header_row, notes)


def _check_genes(ctx: _Ctx, genes: list[str], column: str, notes: list[str]) -> None:
    empty = [i for i, g in enumerate(genes) if not g]
    if empty:
        raise InputError(
            f"{ctx.where}: {_loc(ctx, empty[0])} has no gene ID in column {column!r} ({len(empty)} row(s) without "
            "one). Fix: fill in the gene IDs, or name the gene column with `columns: {gene: NAME}`."
        )
    dates = [i for i, g in enumerate(genes) if g.startswith("DATE:")]
    if dates:
        log.warning(
            "%s: %d gene name(s) were turned into dates by a spreadsheet (e.g. %s at %s: MARCH1, SEPT2, ... "
            "become 1-Mar, 2-Sep); they cannot be matched to genes",
            ctx.where,
            len(dates),
            genes[dates[0]][5:],
            _loc(ctx, dates[0]),
        )
        notes.append(f"{len(dates)} gene name(s) turned into dates by a spreadsheet (not matched)")
    seen: dict[str, int] = {}
    dups: list[tuple[str, int, int]] = []
    for i, g in enumerate(genes):
        if g in seen:
            dups.append((g, seen[g], i))
        else:
            seen[g] = i
    if dups:
        g, a, b = dups[0]
        more = f" ({len(dups)} duplicated row(s): {preview(sorted({d[0] for d in dups}), 5)})" if len(dups) > 1 else ""
        raise InputError(
            f"{ctx.where}: gene {g} is listed twice ({_loc(ctx, a)} and {_loc(ctx, b)}){more}. A DE table has one "
            "row per gene: is this a table of several comparisons, or are the IDs symbols shared by several genes? "
            "Fix: give a table of one comparison, or a column with unique gene IDs (`columns: {gene: NAME}`)."
        )


def _check_probabilities(ctx: _Ctx, frame: pd.DataFrame, role: str, name: str) -> None:
    v = frame[role].to_numpy()
    bad = np.flatnonzero(~np.isnan(v) & ((v < 0) | (v > 1)))
    if len(bad):
        i = bad[0]
        raise InputError(
            f"{ctx.where}: {_loc(ctx, i)}, gene {frame['gene_id'].iloc[i]}, column {name!r}: {v[i]:g} is not a "
            f"{'p-value' if role == 'pvalue' else 'adjusted p-value'} (between 0 and 1; {len(bad)} such value(s)). "
            f"Is it a -log10 p-value? Fix: name the {'p-value' if role == 'pvalue' else 'adjusted p-value'} column "
            f"with `columns: {{{role}: NAME}}`."
        )


def _cuffdiff(frame: pd.DataFrame, body, index: dict, genes: list[str], notes: list[str]) -> pd.DataFrame:
    """Cuffdiff: rows not ``OK`` were not tested (no p-value); its own locus IDs (XLOC_...) are mapped
    by the ``gene`` column, the short names, each row keeping its test_id."""
    status = np.array([r[index["status"]] for r in body])
    untested = status != "OK"
    frame.loc[untested, ["pvalue", "padj"]] = np.nan
    if untested.any():
        counts = pd.Series(status[untested]).value_counts()
        notes.append("Cuffdiff rows not tested (no p-value): " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    own = sum(1 for g in genes if not re.match(r"^(ENS[A-Z]*G\d{11}(\.\d+)?|\d+)$", g))
    if own > len(genes) / 2:
        frame["gene_id"] = [r[index["test_id"]] for r in body]
        frame["map_id"] = [r[index["gene"]] for r in body]
        notes.append("Cuffdiff gene_id values are its own locus IDs: genes matched by the `gene` column (names)")
    return frame
