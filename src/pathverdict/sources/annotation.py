"""Gene ID detection and mapping to gene symbols.

Annotation tables accepted (tab-separated, optionally gzipped):

* NCBI ``gene_info`` (``#tax_id GeneID Symbol ... dbXrefs ...``); Ensembl IDs are read
  from the ``Ensembl:`` entries of ``dbXrefs``;
* NCBI GEO's ``Human.GRCh38.p13.annot.tsv`` (``GeneID Symbol ... EnsemblGeneID``);
* a simple table with ``GeneID``, ``Symbol`` and ``Ensembl`` (several IDs ``;``-separated);
* Ensembl's own gene table as BioMart exports it, for any species (``Gene stable ID``,
  ``Gene name``, optionally ``Gene type``): Ensembl IDs and symbols, no Entrez GeneIDs.

The gene type (``GeneType`` in GEO's table and the simple layout, ``type_of_gene`` in NCBI
``gene_info``: protein-coding, pseudo, ncRNA, ...) is read when the table has it and
written with each mapped ID (column ``gene_type`` of ``input/gene_ids.tsv``, empty when
the annotation has none); the verdict counts metallothioneins only when protein-coding.

Mapping rules (deterministic):

* Ensembl IDs are matched without their version suffix (``ENSG00000141510.17`` ->
  ``ENSG00000141510``).
* An Ensembl ID listed under several Entrez genes takes the symbol of the gene with the
  smallest Entrez GeneID.
* Several input IDs mapping to one symbol keep their own rows in the DE table; for
  enrichment each symbol is counted once (see :func:`pathverdict.enrichment.collapse_to_symbols`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError, preview

ID_TYPES = ("ensembl", "entrez", "symbol")
ENSEMBL_GENE = re.compile(r"^(ENS[A-Z]*G)\d{11}(\.\d+)?$")
HUMAN_ENSEMBL = re.compile(r"^ENSG\d{11}$")
ENTREZ = re.compile(r"^\d+$")
PROBE = re.compile(r"_at$")
# a declared or detected ID type must map at least this share of the IDs
MIN_MAPPING_RATE = 0.25


@dataclass
class Annotation:
    """Entrez GeneID, symbol and Ensembl gene ID lookups."""

    entrez_to_symbol: dict[str, str]
    ensembl_to_symbol: dict[str, str]
    symbols: frozenset[str]
    source: str
    # symbol -> gene type (smallest GeneID first); empty when the table has no gene type column
    symbol_to_type: dict[str, str] = None  # type: ignore[assignment]

    def __post_init__(self):
        if self.symbol_to_type is None:
            self.symbol_to_type = {}

    @property
    def has_gene_type(self) -> bool:
        return bool(self.symbol_to_type)

    @property
    def n_genes(self) -> int:
        return len(self.entrez_to_symbol) or len(self.symbols)


# Ensembl BioMart's export headers (any species) -> the names used here
BIOMART_COLUMNS = {"Gene stable ID": "Ensembl", "Gene name": "Symbol", "Gene type": "GeneType"}


def strip_version(gene_id: str) -> str:
    return gene_id.split(".", 1)[0] if gene_id.startswith("ENS") else gene_id


def load_annotation(path: str | Path) -> Annotation:
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"Annotation file not found: {path}. Set `annotation` in the config to an NCBI "
            "gene_info table (e.g. Homo_sapiens.gene_info.gz)."
        )
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot be read as a tab-separated annotation table ({exc}).") from exc
    df.columns = [BIOMART_COLUMNS.get(c.lstrip("#"), c.lstrip("#")) for c in df.columns]
    ensembl_only = "GeneID" not in df.columns and "Ensembl" in df.columns
    if ("GeneID" not in df.columns and not ensembl_only) or "Symbol" not in df.columns:
        raise InputError(
            f"{path}: an annotation table needs columns GeneID and Symbol (NCBI gene_info layout), or an "
            f"Ensembl gene ID and a symbol (Ensembl BioMart: Gene stable ID, Gene name); found "
            f"{preview(list(df.columns), 8)}."
        )
    if ensembl_only:  # Ensembl's own table: no Entrez GeneIDs; the file's order decides between duplicates
        df = df[(df["Symbol"] != "") & (df["Symbol"] != "-")]
        entrez_to_symbol: dict[str, str] = {}
    else:
        # rows with a numeric GeneID and a symbol, by GeneID (stable: the file's order among equal IDs)
        num = pd.to_numeric(df["GeneID"], errors="coerce")
        keep = num.notna() & (df["Symbol"] != "") & (df["Symbol"] != "-")
        df = df.loc[num[keep].sort_values(kind="stable").index]
        entrez_to_symbol = dict(zip(df["GeneID"], df["Symbol"]))
    symbols = df["Symbol"].tolist()
    type_col = next((c for c in ("GeneType", "type_of_gene", "gene_type") if c in df.columns), None)
    symbol_to_type: dict[str, str] = {}
    if type_col is not None:
        for sym, gt in zip(symbols, df[type_col].tolist()):
            gt = gt.strip()
            if gt and gt != "-" and sym not in symbol_to_type:
                symbol_to_type[sym] = gt
    ensembl_to_symbol: dict[str, str] = {}
    for ids, sym in zip(_ensembl_ids(df), symbols):
        for e in ids:
            e = e.strip()
            if e and e != "-":
                e = e.split(".", 1)[0] if e.startswith("ENS") else e  # strip_version
                # sorted by GeneID: the first (smallest GeneID) wins
                if e not in ensembl_to_symbol:
                    ensembl_to_symbol[e] = sym
    return Annotation(entrez_to_symbol, ensembl_to_symbol, frozenset(symbols), str(path), symbol_to_type)


_ENSEMBL_SEPARATOR = re.compile(r"[;|,]\s*")


def _ensembl_ids(df: pd.DataFrame):
    """Per row, the Ensembl gene IDs of an annotation table: column ``Ensembl`` or ``EnsemblGeneID``
    (several IDs separated by ``;``, ``|`` or ``,``), or the ``Ensembl:`` entries of NCBI's ``dbXrefs``."""
    col = next((c for c in ("Ensembl", "EnsemblGeneID") if c in df.columns), None)
    if col is not None:
        split = _ENSEMBL_SEPARATOR.split
        return (split(x) if (";" in x or "|" in x or "," in x) else (x,) for x in df[col].tolist())
    if "dbXrefs" in df.columns:
        return (
            [p[len("Ensembl:") :] for p in x.split("|") if p.startswith("Ensembl:")] for x in df["dbXrefs"].tolist()
        )
    return (() for _ in range(len(df)))


def _ensembl_prefixes(annotation: Annotation) -> set[str]:
    """The Ensembl gene ID prefixes of an annotation (ENSG human, ENSMUSG mouse, ...)."""
    out = set()
    for k in list(annotation.ensembl_to_symbol)[:2000]:
        m = ENSEMBL_GENE.match(k)
        if m:
            out.add(m.group(1))
    return out


def _share(ids: list[str], test) -> float:
    return sum(1 for i in ids if test(i)) / max(len(ids), 1)


def detect_id_type(ids: list[str], annotation: Annotation, where: str = "") -> str:
    """Guess whether ``ids`` are Ensembl gene IDs, Entrez GeneIDs or gene symbols."""
    if _share(ids, lambda i: ENSEMBL_GENE.match(i) is not None) >= 0.5:
        return "ensembl"
    if _share(ids, lambda i: ENTREZ.match(i) is not None) >= 0.5:
        return "entrez"
    if _share(ids, lambda i: i in annotation.symbols) >= MIN_MAPPING_RATE:
        return "symbol"
    probes = (
        " They look like Affymetrix probe set IDs (..._at): summarise probes to genes first; this workflow "
        "needs RNA-seq read counts per gene."
        if _share(ids, lambda i: PROBE.search(i) is not None) >= 0.5
        else ""
    )
    raise InputError(
        f"{where}cannot tell which kind of gene IDs these are (first IDs: {preview(ids, 4)}): they are not "
        f"Ensembl gene IDs (ENSG..., ENSMUSG...), Entrez GeneIDs (numbers) or gene symbols known to "
        f"{annotation.source}.{probes} "
        "Set `gene_id_type` for the dataset (one of ensembl, entrez, symbol) if they are one of these, or convert "
        "them."
    )


@dataclass
class MappingResult:
    table: pd.DataFrame  # columns gene_id, symbol (NA where unmapped), mapped (bool), gene_type ("" if unknown)
    id_type: str
    detected: bool

    @property
    def n_ids(self) -> int:
        return len(self.table)

    @property
    def n_mapped(self) -> int:
        return int(self.table["mapped"].sum())

    @property
    def rate(self) -> float:
        return self.n_mapped / self.n_ids if self.n_ids else 0.0

    def summary(self) -> dict:
        sym = self.table["symbol"].dropna()
        return {
            "id_type": self.id_type,
            "id_type_detected": self.detected,
            "ids": self.n_ids,
            "mapped": self.n_mapped,
            "mapping_rate": round(self.rate, 4),
            "unique_symbols": int(sym.nunique()),
            "ids_sharing_a_symbol": int(sym.duplicated(keep=False).sum()),
            "gene_type_known": int((self.table["gene_type"] != "").sum()) if "gene_type" in self.table else 0,
        }


def map_ids(ids: list[str], annotation: Annotation, id_type: str = "auto", where: str = "") -> MappingResult:
    """Map gene IDs to symbols. ``id_type`` is one of ``auto``, ``ensembl``, ``entrez``, ``symbol``."""
    detected = id_type == "auto"
    if detected:
        id_type = detect_id_type(ids, annotation, where)
    elif id_type not in ID_TYPES:
        raise InputError(f"{where}gene_id_type {id_type!r} is not one of auto, {', '.join(ID_TYPES)}.")
    if id_type == "ensembl":
        symbols = [annotation.ensembl_to_symbol.get(strip_version(i)) for i in ids]
    elif id_type == "entrez":
        symbols = [annotation.entrez_to_symbol.get(i) for i in ids]
    else:
        symbols = [i if i in annotation.symbols else None for i in ids]
    table = pd.DataFrame({"gene_id": ids, "symbol": pd.array(symbols, dtype="string")})
    table["mapped"] = table["symbol"].notna()
    result = MappingResult(table, id_type, detected)
    if result.rate < MIN_MAPPING_RATE:
        species = ""
        if id_type == "ensembl":
            own = _ensembl_prefixes(annotation) or {"ENSG"}
            foreign = sorted({ENSEMBL_GENE.match(i).group(1) for i in ids if ENSEMBL_GENE.match(i)} - own)
            if foreign:
                species = (
                    f" IDs with prefix {preview(foreign, 3)} are Ensembl genes of another species (the "
                    f"annotation's start with {', '.join(sorted(own))}); set the dataset's `organism` (it picks "
                    "that organism's annotation and gene-set libraries), or convert the IDs."
                )
        raise InputError(
            f"{where}only {result.n_mapped} of {result.n_ids} gene IDs ({result.rate:.1%}) map to symbols as "
            f"{id_type} IDs using {annotation.source} (first IDs: {preview(ids, 4)}); at least "
            f"{MIN_MAPPING_RATE:.0%} must map.{species} Wrong `gene_id_type`, or an annotation for another "
            "organism? Fix `gene_id_type` / `annotation` in the config."
        )
    _warn_low_mapping(result, ids, annotation, where)
    if id_type == "symbol":
        # unknown symbols keep their own name (still counted as unmapped)
        table["symbol"] = table["symbol"].fillna(table["gene_id"])
    table["gene_type"] = [
        annotation.symbol_to_type.get(s, "") if m else "" for s, m in zip(table["symbol"].fillna(""), table["mapped"])
    ]
    return result


# Under this mapping rate (but above MIN_MAPPING_RATE, an error) a warning gives the numbers: the four
# real data sets in ../shared/data map 73-99% of their Ensembl IDs with NCBI gene_info. So does a
# share of IDs of another kind than the detected one (IDs of mixed kinds: those never map).
WARN_MAPPING_RATE = 0.5
WARN_OTHER_KIND = 0.05


def _kind(gene_id: str, annotation: Annotation) -> str:
    if ENSEMBL_GENE.match(gene_id):
        return "ensembl"
    if ENTREZ.match(gene_id):
        return "entrez"
    return "symbol" if gene_id in annotation.symbols else "other"


def _warn_low_mapping(result: MappingResult, ids: list[str], annotation: Annotation, where: str) -> None:
    """Log a warning with the numbers when few IDs map, or many are of another kind."""
    import logging

    unmapped = [i for i, ok in zip(ids, result.table["mapped"]) if not ok]
    kinds: dict[str, list[str]] = {}
    for i in unmapped:
        kinds.setdefault(_kind(i, annotation), []).append(i)
    other = {k: v for k, v in kinds.items() if k not in (result.id_type, "other")}
    n_other = sum(len(v) for v in other.values())
    if result.rate >= WARN_MAPPING_RATE and n_other < WARN_OTHER_KIND * max(len(ids), 1):
        return
    parts = [f"{len(v)} look like {k} IDs (e.g. {preview(v, 3)})" for k, v in sorted(other.items())]
    if kinds.get("other"):
        parts.append(f"{len(kinds['other'])} are of no known kind (e.g. {preview(kinds['other'], 3)})")
    if kinds.get(result.id_type):
        parts.append(
            f"{len(kinds[result.id_type])} are {result.id_type} IDs unknown to the annotation "
            f"(e.g. {preview(kinds[result.id_type], 3)})"
        )
    logging.getLogger(__name__).warning(
        "%sonly %d of %d gene IDs (%.1f%%) map to symbols as %s IDs using %s; of the %d unmapped, %s. Unmapped "
        "genes keep their DE rows but cannot be matched to pathway genes.%s",
        where,
        result.n_mapped,
        result.n_ids,
        100 * result.rate,
        result.id_type,
        annotation.source,
        len(unmapped),
        "; ".join(parts) or "none",
        " The IDs are of mixed kinds: convert them to one kind (the pathways lose the genes of the other kinds)."
        if n_other
        else "",
    )
