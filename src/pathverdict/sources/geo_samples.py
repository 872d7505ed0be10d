"""GEO series metadata and sample sheets: the per-sample fields of series matrix files
(:func:`parse_series_matrix`) and the sample sheet that rules of regular expressions on those
fields make (:func:`make_sample_sheet`). Importable from :mod:`pathverdict.sources.geo`."""

from __future__ import annotations

import csv
import difflib
import gzip
import logging
import re
from pathlib import Path
from typing import Iterable

import pandas as pd

from ..errors import InputError, preview

log = logging.getLogger("pathverdict.sources.geo")  # its messages are GEO's


# --------------------------------------------------------------------------- series matrix


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
