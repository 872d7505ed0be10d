"""Gene-set libraries: GMT and Enrichr text format, target pathway lookup, provenance.

Both formats are one term a line, tab-separated: ``name<TAB>description<TAB>gene...``;
Enrichr's text libraries leave the description empty and may attach a weight to a gene
(``GENE,1.0``), which is dropped. KEGG terms of older Enrichr releases carry the
species and ID in the name (``Mineral absorption Homo sapiens hsa04978``): the display
name drops that suffix and the ID is kept separately.
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, preview

log = logging.getLogger(__name__)

# "Mineral absorption Homo sapiens hsa04978" (Enrichr KEGG_2016) or "..._Homo sapiens_hsa04978"; the same
# with another organism ("... Mus musculus mmu04978")
KEGG_SUFFIX = re.compile(r"[\s_]+[A-Z][a-z]+ [a-z]+[\s_]+([a-z]{3,4}\d{5})\s*$")
# a KEGG pathway ID of any organism (hsa04978, mmu04978), or of the reference map (map04978, ko04978): a
# target given as one finds the same pathway number in any organism's library
KEGG_ID = re.compile(r"^([a-z]{2,4})?\d{5}$", re.IGNORECASE)


def sha256sum(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def display_name(term: str) -> str:
    return KEGG_SUFFIX.sub("", term).strip()


def kegg_id(term: str, description: str = "") -> str | None:
    m = KEGG_SUFFIX.search(term)
    if m:
        return m.group(1).lower()
    m = re.search(r"\b([a-z]{3,4}\d{5})\b", description or "")
    return m.group(1).lower() if m else None


@dataclass
class GeneSetLibrary:
    name: str
    sets: dict[str, list[str]]  # display name -> genes (unique, file order)
    ids: dict[str, str | None] = field(default_factory=dict)  # display name -> KEGG ID when known
    source: str = ""
    sha256: str = ""

    def __len__(self) -> int:
        return len(self.sets)

    def genes(self) -> set[str]:
        return {g for genes in self.sets.values() for g in genes}

    def find(self, target: str) -> str:
        """The library's name for ``target`` (exact, case-insensitive, or KEGG ID)."""
        if target in self.sets:
            return target
        wanted = target.strip().lower()
        for term in self.sets:
            if term.lower() == wanted:
                return term
        if KEGG_ID.match(wanted):
            digits = wanted[-5:]
            for term, tid in self.ids.items():
                if tid and tid[-5:] == digits:
                    return term
        close = difflib.get_close_matches(target, list(self.sets), n=3, cutoff=0.5)
        hint = f" Closest names: {preview(close)}." if close else ""
        raise InputError(
            f"target pathway {target!r} is not in gene-set library {self.name} ({self.source}, "
            f"{len(self.sets)} terms).{hint} Fix `target_pathway` in the config (names are as in the "
            "library; KEGG IDs such as hsa04978 work when the library carries them)."
        )


def _open(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _unquote(field: str) -> str:
    """A spreadsheet puts a text with a comma or quote in double quotes: "Glycine, serine and ..."."""
    f = field.strip()
    if len(f) >= 2 and f[0] == f[-1] == '"':
        return f[1:-1].replace('""', '"')
    return field


_GENE_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@/-]*(,[0-9.eE+-]+)?$")


def _lines_without_description(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """Lines whose second field is a gene, not a description: a spreadsheet dropped the empty
    description column (``term<TAB>GENE1<TAB>GENE2`` instead of ``term<TAB><TAB>GENE1...``).

    The second field is taken for a gene when it looks like one (one word, no URL, not a KEGG ID)
    and either is a gene of some set of the library, or most lines of the library have an empty
    description (Enrichr's text layout)."""
    candidates = []
    for lineno, f in rows:
        second = f[1].strip()
        if not second or not _GENE_LIKE.match(second) or KEGG_ID.match(second) or "://" in second:
            continue
        if len(f) >= 3:
            candidates.append((lineno, f))
    if not candidates:  # e.g. every description empty or a KEGG ID: nothing to look up
        return []
    genes = {g.split(",", 1)[0].strip() for _, f in rows for g in f[2:]}
    empty = sum(1 for _, f in rows if not f[1].strip())
    enrichr_style = empty > len(rows) / 2
    return [(lineno, f) for lineno, f in candidates if f[1].strip().split(",", 1)[0] in genes or enrichr_style]


def read_library(path: str | Path, name: str | None = None) -> GeneSetLibrary:
    """Read a GMT or Enrichr text library."""
    path = Path(path)
    name = name or path.stem
    if not path.is_file():
        raise InputError(
            f"gene-set library {name}: file not found: {path}. Fix the path under `genesets` in the config."
        )
    sets: dict[str, list[str]] = {}
    ids: dict[str, str | None] = {}
    lines_of: dict[str, int] = {}
    rows: list[tuple[int, list[str]]] = []
    try:
        # universal newlines: LF, CRLF and the CR-only endings of spreadsheets saved as "Text (Tab delimited)"
        with _open(path) as fh:
            for lineno, line in enumerate(fh, start=1):
                line = line.rstrip("\r\n")
                if not line.strip() or line.startswith("#"):
                    continue
                fields = line.split("\t")
                if '"' in line:
                    fields = [_unquote(f) for f in fields]
                if len(fields) < 2 or (len(fields) == 2 and not fields[1].strip()):
                    raise InputError(
                        f"{path}: line {lineno} has {len(fields)} tab-separated field(s); a gene-set "
                        "line needs: name, description (may be empty), then genes. Is this a GMT or "
                        "Enrichr text library?"
                    )
                rows.append((lineno, fields))
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot be read as a text gene-set library ({exc}).") from exc
    no_description = _lines_without_description(rows)
    if no_description:
        log.warning(
            "%s: %d line(s) have no description field (a single tab after the term name, as a spreadsheet "
            "saves an empty column): line(s) %s; their second field (%s) is a gene and is kept as one. Save "
            "the library as name<TAB>description<TAB>genes (the description may be empty).",
            path,
            len(no_description),
            preview([n for n, _ in no_description]),
            preview([f[1] for _, f in no_description]),
        )
    shifted = {n for n, _ in no_description}
    for lineno, fields in rows:
        if lineno in shifted:
            fields = [fields[0], ""] + fields[1:]
        elif len(fields) < 3:
            raise InputError(
                f"{path}: line {lineno} has {len(fields)} tab-separated field(s); a gene-set "
                "line needs: name, description (may be empty), then genes. Is this a GMT or "
                "Enrichr text library?"
            )
        term = display_name(fields[0])
        if not term:
            raise InputError(f"{path}: line {lineno} has an empty gene-set name.")
        genes = list(dict.fromkeys(g.split(",", 1)[0].strip() for g in fields[2:]))  # first occurrences, in order
        if "" in genes:
            genes.remove("")
        if term in sets:
            raise InputError(
                f"{path}: line {lineno}: gene set {term!r} already defined on line "
                f"{lines_of[term]}. Each term must appear once."
            )
        sets[term] = genes
        ids[term] = kegg_id(fields[0], fields[1])
        lines_of[term] = lineno
    if not sets:
        raise InputError(
            f"{path}: no gene sets found. Expected GMT / Enrichr text lines "
            "(name<TAB>description<TAB>gene<TAB>gene...)."
        )
    return GeneSetLibrary(name=name, sets=sets, ids=ids, source=str(path), sha256=sha256sum(path))


def write_gmt(library: GeneSetLibrary, path: str | Path) -> None:
    from .util import atomic_write

    with atomic_write(path) as fh:
        for term, genes in library.sets.items():
            fh.write("\t".join([term, library.ids.get(term) or ""] + genes) + "\n")


def align_case(library: GeneSetLibrary, symbols: frozenset[str] | set[str]) -> tuple[GeneSetLibrary, int]:
    """The library with each gene that is not among ``symbols`` but equals exactly one of them but for
    case written as that symbol (HMOX1 -> Hmox1: libraries that write every organism's genes in capitals
    against a mouse annotation); returns it and how many genes were renamed."""
    upper: dict[str, str | None] = {}
    for s in symbols:
        upper[s.upper()] = None if s.upper() in upper else s  # None: several symbols differ by case only
    renamed = {g: upper.get(g.upper()) for g in library.genes() if g not in symbols and upper.get(g.upper())}
    if not renamed:
        return library, 0
    sets = {t: list(dict.fromkeys(renamed.get(g, g) for g in genes)) for t, genes in library.sets.items()}
    return GeneSetLibrary(library.name, sets, dict(library.ids), library.source, library.sha256), len(renamed)


def read_prepared_library(gmt: str | Path, name: str) -> GeneSetLibrary:
    """Read a GMT written by :func:`write_gmt` (KEGG IDs in the description field)."""
    lib = read_library(gmt, name)
    with open(gmt, encoding="utf-8") as fh:
        for line in fh:
            term, desc = line.rstrip("\n").split("\t")[:2]
            lib.ids[term] = desc or None
    return lib


# How much of a dataset's tested genes a library must share. Measured with KEGG_2021_Human (8,078
# genes): 40-44% of the tested genes of four real human data sets (li2008 9,894 symbols, sultan2008
# 4,779, marioni2008 3,390, geuvadis 9,989) are in the library; 10% of random human symbols of any
# kind (pseudogenes, ncRNA) are; mouse-style symbols (Hmox1) share 0.04% (6 of 15,000). Under
# MIN_SHARE the library and the data do not name genes alike (organism, ID kind): an error. Under
# WARN_SHARE, or when the tested genes cover under WARN_LIBRARY_COVERAGE of the library's genes
# (18-54% in those real sets; small or targeted data), a warning with the numbers: pathways are then
# judged on the part of their genes that is in the data.
MIN_OVERLAP = 10  # the smallest pathway ORA considers has 10 genes in the background (ora_min_size)
MIN_SHARE = 0.02
WARN_SHARE = 0.20
WARN_LIBRARY_COVERAGE = 0.25


def check_overlap(library: GeneSetLibrary, universe: set[str], dataset: str) -> int:
    """Number of universe genes in any set. An error when the library and the data share fewer
    than MIN_OVERLAP genes or under MIN_SHARE of the data's genes; a warning, with the numbers,
    when the overlap is small (see the thresholds above)."""
    lib_genes = library.genes()
    n = len(lib_genes & universe)
    share = n / len(universe) if universe else 0.0
    coverage = n / len(lib_genes) if lib_genes else 0.0
    numbers = (
        f"{n} of the {len(universe)} tested genes ({share:.1%}) are in gene-set library {library.name} "
        f"({library.source}), which has {len(lib_genes)} genes ({coverage:.1%} of them are in the data)"
    )
    if n == 0 or n < MIN_OVERLAP or share < MIN_SHARE:
        example = preview(sorted(universe)[:5])
        lead = (
            f"none of the {len(universe)} tested genes occur in gene-set library {library.name} ({library.source})"
            if n == 0
            else f"only {numbers}; at least {MIN_OVERLAP} genes and {MIN_SHARE:.0%} of the tested "
            "genes are needed (human data share about 40% with KEGG)"
        )
        raise InputError(
            f"dataset {dataset}: {lead}. The library uses gene symbols such as "
            f"{preview(sorted(lib_genes)[:3])}; the dataset's symbols look like {example}. Check "
            "the organism of the library and the `annotation`/`gene_id_type` settings."
        )
    if share < WARN_SHARE or coverage < WARN_LIBRARY_COVERAGE:
        log.warning(
            "dataset %s: only %s. Pathways are ranked on the part of their genes that is in the data; "
            "if the data are genome-wide, check the organism of the library and the gene ID mapping.",
            dataset,
            numbers,
        )
    return n
