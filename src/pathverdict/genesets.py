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
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, preview

# "Mineral absorption Homo sapiens hsa04978" (Enrichr KEGG_2016) or "..._Homo sapiens_hsa04978"
KEGG_SUFFIX = re.compile(r"[\s_]+Homo sapiens[\s_]+(hsa\d{5})\s*$", re.IGNORECASE)
KEGG_ID = re.compile(r"^(hsa|map|ko)?\d{5}$", re.IGNORECASE)


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
    m = re.search(r"\b(hsa\d{5})\b", description or "")
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
        raise InputError(f"target pathway {target!r} is not in gene-set library {self.name} ({self.source}, "
                         f"{len(self.sets)} terms).{hint} Fix `target_pathway` in the config (names are as in the "
                         "library; KEGG IDs such as hsa04978 work when the library carries them).")


def _open(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_library(path: str | Path, name: str | None = None) -> GeneSetLibrary:
    """Read a GMT or Enrichr text library."""
    path = Path(path)
    name = name or path.stem
    if not path.is_file():
        raise InputError(f"gene-set library {name}: file not found: {path}. Fix the path under `genesets` in the "
                         "config.")
    sets: dict[str, list[str]] = {}
    ids: dict[str, str | None] = {}
    lines_of: dict[str, int] = {}
    try:
        with _open(path) as fh:
            for lineno, line in enumerate(fh, start=1):
                line = line.rstrip("\r\n")
                if not line.strip() or line.startswith("#"):
                    continue
                fields = line.split("\t")
                if len(fields) < 3:
                    raise InputError(f"{path}: line {lineno} has {len(fields)} tab-separated field(s); a gene-set "
                                     "line needs: name, description (may be empty), then genes. Is this a GMT or "
                                     "Enrichr text library?")
                term = display_name(fields[0])
                if not term:
                    raise InputError(f"{path}: line {lineno} has an empty gene-set name.")
                genes = []
                for g in fields[2:]:
                    g = g.split(",", 1)[0].strip()
                    if g and g not in genes:
                        genes.append(g)
                if term in sets:
                    raise InputError(f"{path}: line {lineno}: gene set {term!r} already defined on line "
                                     f"{lines_of[term]}. Each term must appear once.")
                sets[term] = genes
                ids[term] = kegg_id(fields[0], fields[1])
                lines_of[term] = lineno
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot be read as a text gene-set library ({exc}).") from exc
    if not sets:
        raise InputError(f"{path}: no gene sets found. Expected GMT / Enrichr text lines "
                         "(name<TAB>description<TAB>gene<TAB>gene...).")
    return GeneSetLibrary(name=name, sets=sets, ids=ids, source=str(path), sha256=sha256sum(path))


def write_gmt(library: GeneSetLibrary, path: str | Path) -> None:
    from .util import atomic_write

    with atomic_write(path) as fh:
        for term, genes in library.sets.items():
            fh.write("\t".join([term, library.ids.get(term) or ""] + genes) + "\n")


def read_prepared_library(gmt: str | Path, name: str) -> GeneSetLibrary:
    """Read a GMT written by :func:`write_gmt` (KEGG IDs in the description field)."""
    lib = read_library(gmt, name)
    with open(gmt, encoding="utf-8") as fh:
        for line in fh:
            term, desc = line.rstrip("\n").split("\t")[:2]
            lib.ids[term] = desc or None
    return lib


def check_overlap(library: GeneSetLibrary, universe: set[str], dataset: str) -> int:
    """Number of universe genes in any set; an error when there are none."""
    n = len(library.genes() & universe)
    if n == 0:
        example = preview(sorted(universe)[:5])
        raise InputError(f"dataset {dataset}: none of the {len(universe)} tested genes occur in gene-set library "
                         f"{library.name} ({library.source}). The library uses gene symbols such as "
                         f"{preview(sorted(library.genes())[:3])}; the dataset's symbols look like {example}. Check "
                         "the organism of the library and the `annotation`/`gene_id_type` settings.")
    return n
