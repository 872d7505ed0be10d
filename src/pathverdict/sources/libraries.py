"""Gene-set libraries and gene annotation by name, with release and provenance.

* Enrichr text libraries (``KEGG_2021_Human``, ``KEGG_2019_Human``, ``KEGG_2016``, ...):
  ``https://maayanlab.cloud/Enrichr/geneSetLibrary?mode=text&libraryName=<name>``, one
  term a line: ``name<TAB><TAB>GENE<TAB>GENE...``.
* Current KEGG, from the KEGG REST API (``https://rest.kegg.jp/``), built into a GMT:

  - ``info/kegg``: ``kegg             Release 116.0+/07-14, Jul 26`` (the release recorded);
  - ``list/pathway/hsa``: ``hsa04978<TAB>Mineral absorption - Homo sapiens (human)``
    (older releases wrote ``path:hsa04978``; both are read);
  - ``link/hsa/pathway``: ``path:hsa04978<TAB>hsa:3162`` (either column order is read);
  - ``list/hsa``: ``hsa:3162<TAB>CDS<TAB>22:35381067..35394207<TAB>HMOX1, HO-1, HMOX1D; heme
    oxygenase 1`` (since 2022; older releases had two columns, ``hsa:3162<TAB>HMOX1, ...;
    heme oxygenase 1``). The first name before ``;`` and ``,`` is the gene symbol; genes
    without a symbol are left out (counted in the provenance).

  Term names drop the organism suffix (`` - Homo sapiens (human)``), as Enrichr's KEGG
  libraries do, so ``target_pathway: Mineral absorption`` works with either; the KEGG ID
  (``hsa04978``) is the GMT description, so ``target_pathway: hsa04978`` works too.
* NCBI gene annotation ``Homo_sapiens.gene_info.gz`` from
  ``https://ftp.ncbi.nlm.nih.gov/gene/DATA/GENE_INFO/Mammalia/``.

Each function returns a :class:`SourceFile`: the local path and its provenance (name,
release, source URL, retrieval time, sha256).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from ..errors import InputError, preview
from ..genesets import read_library
from ..util import atomic_write
from .download import Downloader, FetchRecord, read_sidecar, sha256_file, sidecar_path, utc_now

ENRICHR_BASE = "https://maayanlab.cloud/Enrichr/"
KEGG_REST_BASE = "https://rest.kegg.jp/"
NCBI_GENE_INFO_BASE = "https://ftp.ncbi.nlm.nih.gov/gene/DATA/GENE_INFO/Mammalia/"
GENE_INFO_HUMAN = "Homo_sapiens.gene_info.gz"
ENRICHR_KEGG = ("KEGG_2021_Human", "KEGG_2019_Human", "KEGG_2016")


@dataclass
class SourceFile:
    """A local data file and where it came from."""

    name: str
    path: Path
    release: str
    url: str
    retrieved: str
    sha256: str
    inputs: list[FetchRecord] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def provenance(self) -> dict:
        return {
            "name": self.name,
            "path": str(self.path),
            "release": self.release,
            "url": self.url,
            "retrieved": self.retrieved,
            "sha256": self.sha256,
            "details": self.details,
            "inputs": [r.provenance() for r in self.inputs],
        }


def _base(url: str) -> str:
    return url if url.endswith("/") else url + "/"


# --------------------------------------------------------------------------- Enrichr


def enrichr_url(name: str, base_url: str = ENRICHR_BASE) -> str:
    return f"{_base(base_url)}geneSetLibrary?{urlencode({'mode': 'text', 'libraryName': name})}"


def fetch_enrichr_library(name: str, dl: Downloader, *, base_url: str = ENRICHR_BASE) -> SourceFile:
    """An Enrichr gene-set library in its text format (a file :func:`~pathverdict.genesets.read_library` reads)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]*", name or ""):
        raise InputError(
            f"Enrichr library name {name!r} is not valid; names look like KEGG_2021_Human "
            "(see https://maayanlab.cloud/Enrichr/#libraries)."
        )
    url = enrichr_url(name, base_url)

    def check(path: Path) -> None:
        if path.stat().st_size == 0:
            raise InputError(
                f"Enrichr returned nothing for library {name!r} ({url}); check the name (case-sensitive, "
                "e.g. KEGG_2021_Human; the list is at https://maayanlab.cloud/Enrichr/#libraries)."
            )
        read_library(path, name)  # InputError when the lines are not name<TAB>desc<TAB>genes

    rec = dl.fetch(
        url,
        f"enrichr/{name}.txt",
        validate=check,
        what=f"Enrichr library {name}",
        hint="Check the library name (case-sensitive; see https://maayanlab.cloud/Enrichr/#libraries).",
    )
    lib = read_library(rec.path, name)
    return SourceFile(
        name=name,
        path=rec.path,
        release=f"Enrichr {name}",
        url=url,
        retrieved=rec.retrieved,
        sha256=rec.sha256,
        inputs=[rec],
        details={"terms": len(lib), "genes": len(lib.genes())},
    )


# --------------------------------------------------------------------------- KEGG REST

_ORG_SUFFIX = re.compile(r"^(.*\S)\s+-\s+([^-]*\([^()]*\))\s*$")


def parse_kegg_release(text: str) -> str:
    """``116.0+/07-14, Jul 26`` from an ``info/kegg`` answer (the ``kegg  Release ...`` line)."""
    m = re.search(r"^\s*kegg\s+Release\s+(.+?)\s*$", text, re.M)
    if not m:
        m = re.search(r"Release\s+(.+?)\s*$", text, re.M)
    if not m:
        raise InputError("KEGG info/kegg answer has no 'Release' line; cannot tell the KEGG release.")
    return m.group(1)


def parse_kegg_pathways(text: str, where: str = "list/pathway") -> tuple[dict[str, str], str]:
    """({pathway ID: name without organism suffix}, organism suffix) from ``list/pathway/<org>``."""
    names: dict[str, str] = {}
    organism = ""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            raise InputError(f"KEGG {where}: line {lineno} is not 'ID<TAB>name': {line[:80]!r}.")
        pid = parts[0].strip()
        pid = pid[5:] if pid.startswith("path:") else pid
        name = parts[1].strip()
        m = _ORG_SUFFIX.match(name)
        if m:
            name, organism = m.group(1), m.group(2)
        names[pid] = name
    if not names:
        raise InputError(f"KEGG {where}: no pathways listed.")
    return names, organism


def parse_kegg_links(text: str, org: str, where: str = "link") -> dict[str, list[str]]:
    """{pathway ID: [gene IDs without the organism prefix]} from ``link/<org>/pathway``."""
    links: dict[str, list[str]] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("\t")]
        # a third column (e.g. "path:hsa00010<TAB>hsa:10327<TAB>reverse", the direction of the link) is ignored
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise InputError(f"KEGG {where}: line {lineno} is not 'pathway<TAB>gene': {line[:80]!r}.")
        a, b = parts[:2]
        if a.startswith("path:") or (not b.startswith("path:") and re.fullmatch(rf"{org}\d{{5}}", a)):
            pathway, gene = a, b
        else:
            pathway, gene = b, a
        pathway = pathway[5:] if pathway.startswith("path:") else pathway
        gene = gene.split(":", 1)[1] if gene.startswith(f"{org}:") else gene
        genes = links.setdefault(pathway, [])
        if gene not in genes:
            genes.append(gene)
    return links


# the names field without "; description": comma-separated names, each one word ("MIR6859-1", "TRNAV-CAC, TRV-CAC")
_NAMES_ONLY = re.compile(r"^[^\s,;]+(,\s*[^\s,;]+)*$")


def parse_kegg_genes(text: str, org: str, where: str = "list") -> dict[str, str]:
    """{gene ID: symbol} from ``list/<org>`` (4-column or older 2-column layout). The last field is
    ``NAMES; description``; a field of names only (no ``;``, one-word comma-separated names) gives
    its first name; a description only (words with spaces, no ``;``) gives no symbol."""
    symbols: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            raise InputError(
                f"KEGG {where}: line {lineno} is not 'gene<TAB>...<TAB>names; description': {line[:80]!r}."
            )
        gid = parts[0].strip()
        gid = gid.split(":", 1)[1] if gid.startswith(f"{org}:") else gid
        names = parts[-1].strip()
        if ";" not in names and not _NAMES_ONLY.match(names):
            continue  # a description only ("uncharacterized LOC100"), no symbol
        symbol = names.split(";", 1)[0].split(",", 1)[0].strip()
        if symbol:
            symbols[gid] = symbol
    if not symbols:
        raise InputError(f"KEGG {where}: no gene symbols found.")
    return symbols


def _check_text(kind: str):
    def check(path: Path) -> None:
        text = path.read_text(encoding="utf-8", errors="replace")
        if not text.strip():
            raise ValueError(f"empty KEGG {kind} answer")
        if "<html" in text[:500].lower():
            raise ValueError(f"KEGG {kind} answered with a web page")

    return check


def fetch_kegg_library(
    dl: Downloader, *, organism: str = "hsa", base_url: str = KEGG_REST_BASE, out: str | Path | None = None
) -> SourceFile:
    """Build a GMT of the current KEGG pathways of ``organism`` from the KEGG REST API.

    The four REST answers are cached under ``kegg/<organism>/`` (delete that folder to get a
    newer release); the GMT goes to ``out`` (default ``kegg/<organism>/KEGG_<organism>.gmt``
    in the cache) with a ``.source.json`` sidecar holding the release and the inputs.
    """
    if not re.fullmatch(r"[a-z]{3,4}", organism):
        raise InputError(f"KEGG organism code {organism!r} is not valid; use e.g. hsa (human) or mmu (mouse).")
    base = _base(base_url)
    hint = "The KEGG REST API is described at https://www.kegg.jp/kegg/rest/keggapi.html."
    get = {}
    for key, path, dest in (
        ("info", "info/kegg", f"kegg/{organism}/info_kegg.txt"),
        ("pathways", f"list/pathway/{organism}", f"kegg/{organism}/list_pathway_{organism}.tsv"),
        ("links", f"link/{organism}/pathway", f"kegg/{organism}/link_{organism}_pathway.tsv"),
        ("genes", f"list/{organism}", f"kegg/{organism}/list_{organism}.tsv"),
    ):
        get[key] = dl.fetch(base + path, dest, validate=_check_text(path), what=f"KEGG REST {path}", hint=hint)
    text = {k: r.path.read_text(encoding="utf-8") for k, r in get.items()}
    release = parse_kegg_release(text["info"])
    names, org_name = parse_kegg_pathways(text["pathways"], f"list/pathway/{organism} ({get['pathways'].path})")
    links = parse_kegg_links(text["links"], organism, f"link/{organism}/pathway ({get['links'].path})")
    symbols = parse_kegg_genes(text["genes"], organism, f"list/{organism} ({get['genes'].path})")

    lines, dropped, unmapped, seen = [], [], set(), {}
    for pid in sorted(names):
        genes = sorted({symbols[g] for g in links.get(pid, []) if g in symbols})
        unmapped.update(g for g in links.get(pid, []) if g not in symbols)
        if not genes:
            dropped.append(pid)
            continue
        term = names[pid]
        if term in seen:  # never seen in hsa; keep terms distinct all the same
            term = f"{term} ({pid})"
        seen[term] = pid
        lines.append("\t".join([term, pid] + genes))
    if not lines:
        raise InputError(
            f"KEGG {organism}: no pathway has genes with symbols; the REST answers in "
            f"{get['links'].path.parent} look wrong. Delete that folder to download them again."
        )
    out = Path(out) if out is not None else dl.path(f"kegg/{organism}/KEGG_{organism}.gmt")
    inputs = [get[k] for k in ("info", "pathways", "links", "genes")]
    details = {
        "organism": organism,
        "organism_name": org_name,
        "terms": len(lines),
        "genes": len({g for ln in lines for g in ln.split("\t")[2:]}),
        "pathways_without_symbol_genes": dropped,
        "linked_genes_without_symbol": len(unmapped),
    }
    body = "".join(ln + "\n" for ln in lines)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    meta = read_sidecar(out)
    same = out.is_file() and meta and meta.get("sha256") == digest and sha256_file(out) == digest
    if not same:  # unchanged GMTs are not rewritten (their mtime stays, so nothing reruns needlessly)
        with atomic_write(out) as fh:
            fh.write(body)
        meta = {
            "name": f"KEGG {organism}",
            "release": f"KEGG {release}",
            "url": base,
            "built": utc_now(),
            "sha256": digest,
            "size": len(body.encode("utf-8")),
            "retrieved": get["links"].retrieved,
            "details": details,
            "inputs": [r.provenance() for r in inputs],
            "origin": "built from KEGG REST",
        }
        with atomic_write(sidecar_path(out)) as fh:
            json.dump(meta, fh, indent=2, sort_keys=True)
            fh.write("\n")
    return SourceFile(
        name=f"KEGG {organism}",
        path=out,
        release=f"KEGG {release}",
        url=base,
        retrieved=get["links"].retrieved,
        sha256=digest,
        inputs=inputs,
        details=details,
    )


# --------------------------------------------------------------------------- NCBI gene_info


def fetch_gene_info(dl: Downloader, *, base_url: str = NCBI_GENE_INFO_BASE, name: str = GENE_INFO_HUMAN) -> SourceFile:
    """NCBI Gene's ``gene_info`` table (e.g. Homo_sapiens.gene_info.gz), the annotation
    :func:`pathverdict.sources.annotation.load_annotation` reads. The release is the newest
    ``Modification_date`` in the file (NCBI Gene has no release numbers)."""
    url = _base(base_url) + name

    def check(path: Path) -> None:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            header = fh.readline().rstrip("\n").split("\t")
        if header[:3] != ["#tax_id", "GeneID", "Symbol"]:
            raise InputError(
                f"{name}: expected NCBI gene_info columns (#tax_id, GeneID, Symbol, ...); the header "
                f"is {preview(header, 4)}."
            )

    rec = dl.fetch(
        url,
        f"ncbi_gene/{name}",
        validate=check,
        what=f"NCBI Gene annotation {name}",
        hint="Check the file name (e.g. Homo_sapiens.gene_info.gz) and the folder of the base URL.",
    )
    newest, genes = "", 0
    opener = gzip.open if rec.path.name.endswith(".gz") else open
    with opener(rec.path, "rt", encoding="utf-8", errors="replace") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        col = header.index("Modification_date") if "Modification_date" in header else None
        for line in fh:
            genes += 1
            if col is not None:
                fields = line.rstrip("\n").split("\t")
                if len(fields) > col and fields[col] > newest:
                    newest = fields[col]
    when = f"{newest[:4]}-{newest[4:6]}-{newest[6:8]}" if re.fullmatch(r"\d{8}", newest) else ""
    release = (
        f"NCBI Gene {name}"
        + (f", newest record {when}" if when else "")
        + (f", file dated {rec.last_modified}" if rec.last_modified else "")
    )
    return SourceFile(
        name=name,
        path=rec.path,
        release=release,
        url=url,
        retrieved=rec.retrieved,
        sha256=rec.sha256,
        inputs=[rec],
        details={"genes": genes, "newest_modification_date": when or None},
    )
