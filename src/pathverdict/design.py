"""A dataset's sample sheet against its design and its count matrix: the design formula's
variables, the contrast's groups, samples without reads, a design the model cannot fit, and
count columns named by alignment files matched to the sheet's samples."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, preview


def formula_variables(design: str) -> list[str]:
    """Variables a design formula such as ``~ batch + condition`` refers to."""
    body = design.strip()
    if not body.startswith("~"):
        raise InputError(
            f"design {design!r} must be a formula starting with '~', e.g. '~condition' or '~batch + condition'."
        )
    names = []
    for tok in re.findall(r"[A-Za-z_.][A-Za-z0-9_.]*", body[1:]):
        if tok not in names and tok not in {"C", "Treatment", "contr"}:
            names.append(tok)
    if not names:
        raise InputError(f"design {design!r} names no variable; use e.g. '~condition'.")
    return names


def check_design(
    samples: pd.DataFrame,
    counts: pd.DataFrame,
    design: str,
    contrast: list[str],
    samples_path: str | Path,
    counts_path: str | Path,
    dataset: str,
    check_content: bool = True,
) -> pd.DataFrame:
    """Check that sample sheet, count columns, design and contrast fit together, that the design
    can be estimated (:func:`check_model`) and, unless ``check_content`` is False, that the counts
    can support a DESeq2 fit (:func:`check_count_content`).

    Returns the count matrix with its columns in sample sheet order.
    """
    sheet, cols = list(samples.index), list(counts.columns)
    missing = [s for s in sheet if s not in set(cols)]
    extra = [c for c in cols if c not in set(sheet)]
    if missing or extra:
        parts = []
        if missing:
            parts.append(
                f"Samples in the sample sheet {samples_path} without a column in {counts_path}: {preview(missing)}."
            )
        if extra:
            parts.append(f"Columns of {counts_path} not in the sample sheet {samples_path}: {preview(extra)}.")
        if any(names_alignment_file(str(c)) for c in extra):
            parts.append(
                "Columns named by alignment files are matched to samples by the file name without folders "
                "and aligner suffixes (/data/ctrl1.Aligned.sortedByCoord.out.bam -> ctrl1), by a sample sheet "
                "column holding the column or file names (e.g. a `bam` column), or by a GSM accession in the "
                "file name."
            )
        raise InputError(
            f"dataset {dataset}: sample sheet and count matrix disagree. "
            + " ".join(parts)
            + " Make the `sample` column list exactly the count matrix's sample columns "
            "(names are case-sensitive)."
        )
    variables = formula_variables(design)
    absent = [v for v in variables if v not in samples.columns]
    odd = [c for c in samples.columns if not re.fullmatch(r"[A-Za-z_.][A-Za-z0-9_.]*", c) and c in design]
    if absent and odd:
        fixed = {c: re.sub(r"\W", "_", c) for c in odd}
        raise InputError(
            f"dataset {dataset}: design {design!r} uses column {preview(odd)} of {samples_path}, whose "
            "name a formula cannot hold (a '-' reads as minus, a space or other sign splits it): it is "
            f"read as {preview(absent)}. Rename the column in the sample sheet and in `design`, e.g. "
            + ", ".join(f"{c!r} -> {n!r}" for c, n in fixed.items())
            + " (letters, digits, _ and .)."
        )
    if absent:
        raise InputError(
            f"dataset {dataset}: design {design!r} uses {preview(absent)}, which is not a column of "
            f"{samples_path} (columns: {preview(list(samples.columns))}). Fix `design` or add the column."
        )
    for v in variables:
        empty = [s for s, val in samples[v].items() if val in ("", "NA", "NaN", "nan")]
        if empty:
            raise InputError(
                f"dataset {dataset}: {samples_path}: column {v!r} is empty for sample(s) "
                f"{preview(empty)}. Every sample needs a value for each design variable."
            )
    var, tested, reference = contrast
    if var not in variables:
        raise InputError(
            f"dataset {dataset}: contrast variable {var!r} is not in the design {design!r}. "
            f"Add it to the design or pick one of {preview(variables)}."
        )
    levels = sorted(samples[var].unique())
    for level in (tested, reference):
        if level not in levels:
            raise InputError(
                f"dataset {dataset}: contrast level {level!r} does not occur in column {var!r} of "
                f"{samples_path} (levels there: {preview(levels)}). Fix `contrast` (levels are "
                "case-sensitive)."
            )
    if tested == reference:
        raise InputError(
            f"dataset {dataset}: contrast compares level {tested!r} with itself; "
            "give [variable, tested level, reference level]."
        )
    for level in (tested, reference):
        n = int((samples[var] == level).sum())
        if n < 2:
            raise InputError(
                f"dataset {dataset}: group {var}={level} has {n} sample in {samples_path}; "
                "differential expression needs at least 2 replicates per compared group. "
                "Add replicates or compare other groups."
            )
    counts = counts[sheet]
    check_model(samples, design, variables, dataset, samples_path)
    if check_content:
        check_count_content(counts, counts_path, dataset)
    return counts


# fewer genes with reads in every sample than this cannot support a DESeq2 fit: size factors are
# the median over those genes, and the dispersion trend and prior are fitted across genes (a real
# RNA-seq matrix has thousands; enrichment then needs a genome-wide background, too)
MIN_EXPRESSED_GENES = 100


def check_count_content(counts: pd.DataFrame, counts_path: str | Path, dataset: str) -> None:
    """Refuse count matrices DESeq2 cannot work with, saying what is wrong with the data:
    no reads at all, a sample without reads, too few genes with reads in every sample."""
    total = counts.sum(axis=0)
    if int(total.sum()) == 0:
        raise InputError(
            f"dataset {dataset}: every count in {counts_path} is 0 ({counts.shape[0]} genes x "
            f"{counts.shape[1]} samples): the matrix holds no reads. Check that this is the right file "
            "and that the counting step (HTSeq, featureCounts, STAR) found reads in the genes."
        )
    empty = [str(s) for s, n in total.items() if n == 0]
    if empty:
        raise InputError(
            f"dataset {dataset}: sample(s) {preview(empty)} have no reads at all in {counts_path} "
            f"(every count of the column is 0; the other samples have {int(total[total > 0].min()):,} "
            "reads or more). A sample without reads cannot be normalised: remove it from the sample sheet "
            "and the count matrix, or redo its alignment and counting."
        )
    everywhere = int((counts > 0).all(axis=1).sum())
    if everywhere < MIN_EXPRESSED_GENES:
        some = int((counts > 0).any(axis=1).sum())
        raise InputError(
            f"dataset {dataset}: only {everywhere} of the {counts.shape[0]} genes in {counts_path} have "
            f"reads in every sample ({some} have reads in at least one); DESeq2 needs at least "
            f"{MIN_EXPRESSED_GENES} (its normalisation uses the genes read in every sample, and its "
            "dispersion estimates are fitted across genes). Is this a genome-wide RNA-seq count matrix? "
            "Check the samples with the fewest reads (reads per sample: "
            + preview([f"{s} {int(n):,}" for s, n in total.sort_values().items()], 4)
            + ") and remove failed ones."
        )


def _numeric(values: pd.Series) -> bool:
    return pd.to_numeric(values, errors="coerce").notna().all()


# a design of main effects only: "~a", "~ 1 + a + b" (plain column names, each a factor)
_MAIN_EFFECTS = re.compile(r"^\s*~\s*(?:1\s*\+\s*)?([A-Za-z_]\w*(?:\s*\+\s*[A-Za-z_]\w*)*)\s*$")


def model_matrix(design: str, meta: pd.DataFrame) -> np.ndarray | None:
    """The model matrix of ``design`` on ``meta`` (every column a factor, treatment coding with an
    intercept), as formulaic builds it up to the order of the levels; None when formulaic cannot
    build it. Designs of main effects only are built here (formulaic's import alone costs ~0.2 s
    CPU, more than the whole check): same number of columns and the same column space, hence the
    same rank; any other design is built by formulaic."""
    m = _MAIN_EFFECTS.match(design)
    terms = list(dict.fromkeys(t.strip() for t in m.group(1).split("+"))) if m else []
    if m and all(t in meta.columns and not keyword.iskeyword(t) for t in terms):
        columns = [np.ones(len(meta))]
        for t in terms:
            values = meta[t].astype(str).to_numpy()
            for level in sorted(set(values))[1:]:
                columns.append((values == level).astype(float))
        return np.column_stack(columns)
    try:
        import formulaic

        return np.asarray(formulaic.model_matrix(design, meta), dtype=float)
    except Exception:  # noqa: BLE001 - formulas formulaic cannot build are reported by the DE step
        return None


def check_model(
    samples: pd.DataFrame, design: str, variables: list[str], dataset: str, samples_path: str | Path
) -> None:
    """The design must be estimable: as DESeq2 does, every variable is a factor (each distinct
    value a group). Names the confounded columns, or the numeric column that became many groups,
    instead of letting the fit fail with "Singular matrix"."""
    meta = samples[variables].astype(str)
    X = model_matrix(design, meta)
    if X is None:
        return
    n, p = X.shape
    rank = int(np.linalg.matrix_rank(X))
    numeric = [v for v in variables if _numeric(meta[v]) and meta[v].nunique() > 2]
    numeric_note = "".join(
        f" Column {v!r} holds numbers, but a design column is used as groups (as DESeq2 does with a factor): its "
        f"{meta[v].nunique()} distinct values make {meta[v].nunique() - 1} coefficients. Put the values "
        f"into a few ranges in a new column, or leave it out of the design."
        for v in numeric
    )
    if rank < p:
        pairs = []
        for i, a in enumerate(variables):
            for b in variables[i + 1 :]:
                groups = _linked_groups(meta[a], meta[b])
                if len(groups) > 1:
                    pairs.append(f"{a!r} and {b!r} (" + "; ".join(groups) + ")")
        if pairs:
            raise InputError(
                f"dataset {dataset}: design {design!r}: the columns {'; '.join(pairs)} of {samples_path} "
                "are confounded: "
                "each value of one occurs only with certain values of the other, so their effects cannot be told apart "
                "(the model matrix is singular). Remove one of them from the design, or use a sample sheet where they "
                f"vary independently.{numeric_note}"
            )
        raise InputError(
            f"dataset {dataset}: design {design!r} cannot be estimated with the samples of {samples_path}: its "
            f"{p} coefficients are not independent (rank {rank}; some combination of "
            f"{preview([repr(v) for v in variables])} is confounded or has no sample).{numeric_note} Simplify the "
            "design."
        )
    if p >= n:
        raise InputError(
            f"dataset {dataset}: design {design!r} has {p} coefficients for {n} samples in {samples_path}: no "
            "replicate is left to estimate the variability (DESeq2 needs more samples than coefficients)."
            f"{numeric_note}"
            " Simplify the design (fewer variables or fewer levels) or add samples."
        )


def _linked_groups(a: pd.Series, b: pd.Series) -> list[str]:
    """The connected groups of values of two factors (values linked by a sample having both).
    More than one group means the two factors are confounded (their columns are collinear
    with the intercept)."""
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for x, y in zip(a, b):
        parent[find(("a", x))] = find(("b", y))
    groups: dict = {}
    for node in list(parent):
        groups.setdefault(find(node), []).append(node)
    out = []
    for members in groups.values():
        av = sorted(v for k, v in members if k == "a")
        bv = sorted(v for k, v in members if k == "b")
        out.append(f"{a.name}={'/'.join(av)} only with {b.name}={'/'.join(bv)}")
    return sorted(out)


# ----------------------------------------------------------------------------- BAM-path column names

_ALIGNMENT_EXT = re.compile(r"\.(bam|sam|cram)$", re.IGNORECASE)
# what aligners and samtools append to a sample's name: sample.Aligned.sortedByCoord.out.bam, sample_sorted.bam
_ALIGNMENT_SUFFIX = re.compile(
    r"(?i)[._-]?(Aligned\.sortedByCoord\.out|Aligned\.toTranscriptome\.out|Aligned\.out|"
    r"sortedByCoord\.out|sorted|sort|dedup|markdup|rmdup|filtered|uniq|unique)$"
)


def names_alignment_file(name: str) -> bool:
    """A count column named after an alignment file (featureCounts names its columns by the BAM path)."""
    return bool(_ALIGNMENT_EXT.search(name.strip())) or "/" in name or "\\" in name


def alignment_stem(name: str) -> str:
    """``/data/bam/ctrl1.Aligned.sortedByCoord.out.bam`` -> ``ctrl1``."""
    base = re.split(r"[\\/]", name.strip())[-1]
    base = _ALIGNMENT_EXT.sub("", base)
    while True:
        shorter = _ALIGNMENT_SUFFIX.sub("", base)
        if shorter == base or not shorter:
            return base
        base = shorter


def map_alignment_columns(columns, samples: pd.DataFrame, where: str = "") -> tuple[dict[str, str], list[str]]:
    """Map count columns named by alignment files (``/data/bam/ctrl1.bam``) to the sample
    sheet's samples (its index). Returns ({column: sample}, one note per column saying how).

    A column maps to the sample whose name is the file name without directories and
    extensions (``ctrl1``); else to the sample whose value in some sample-sheet column
    (e.g. ``bam``, ``file``, ``title``) is the column name, its file name or that stem; else,
    for GEO, to the sample whose GSM accession the file name holds. Columns already named
    like a sample, and columns that do not name an alignment file, are left alone. Two
    columns mapping to one sample is an :class:`InputError`."""
    names = [str(s) for s in samples.index]
    known = set(names)
    text_cols = [c for c in samples.columns if samples[c].astype(str).str.strip().is_unique]
    gsm_of = {}
    for col in ["geo_accession"] if "geo_accession" in samples.columns else []:
        gsm_of = {str(v).strip(): s for s, v in samples[col].items()}
    gsm_of.update({s: s for s in names if re.fullmatch(r"GSM\d+", s)})
    mapping: dict[str, str] = {}
    notes: list[str] = []
    for col in columns:
        col = str(col)
        if col in known or not names_alignment_file(col):
            continue
        base = re.split(r"[\\/]", col.strip())[-1]
        stem = alignment_stem(col)
        hit, how = None, ""
        if stem in known:
            hit, how = stem, "its file name"
        if hit is None:
            for sc in text_cols:
                values = samples[sc].astype(str).str.strip()
                found = [s for s, v in values.items() if v and v in (col.strip(), base, stem)]
                if len(found) == 1:
                    hit, how = str(found[0]), f"the sample sheet column {sc!r}"
                    break
        if hit is None:
            m = re.search(r"GSM\d+", base)
            if m and m.group(0) in gsm_of:
                hit, how = gsm_of[m.group(0)], "the GSM accession in its file name"
        if hit is not None:
            mapping[col] = hit
            notes.append(f"{col} -> {hit} ({how})")
    taken: dict[str, list[str]] = {}
    for col, s in mapping.items():
        taken.setdefault(s, []).append(col)
    taken.update({s: taken.get(s, []) + [s] for s in map(str, columns) if s in known and s in taken})
    clash = {s: cols for s, cols in taken.items() if len(cols) > 1}
    if clash:
        raise InputError(
            f"{where}several count columns belong to the same sample: "
            + "; ".join(f"{s}: {', '.join(c)}" for s, c in clash.items())
            + ". Keep one column per sample (e.g. drop a re-sequenced BAM's column), or name the columns "
            "in a sample sheet column."
        )
    return mapping, notes
