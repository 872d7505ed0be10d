"""Organisms: what a dataset's organism decides (its gene annotation, its gene-set libraries, the
NCBI-generated counts GEO offers for it, its claim genes), and a helper that maps human gene symbols
to another organism's orthologous symbols.

A dataset declares ``organism:`` (the study's ``organism:`` is the default, itself ``human`` by
default) as a name of :data:`BUILTIN` (``human``, ``mouse``, ``rat``) or of the config's
``organisms:`` section, or as its KEGG code (``hsa``, ``mmu``, ``rno``, ...). Any organism with a
KEGG code works: declare it under ``organisms:`` with its KEGG code and annotation::

    organisms:
      zebrafish: {kegg: dre, taxon: 7955, annotation: data/Danio_rerio.gene_info.gz}

Per organism (see docs/organisms.md):

* annotation: ``organisms.<name>.annotation``; for the study's organism the top-level
  ``annotation``; else NCBI Gene's ``<Genus_species>.gene_info.gz`` for the built-in ones;
* libraries: each entry of ``genesets`` gives one source per organism (``{human: {enrichr:
  KEGG_2021_Human}, mouse: {enrichr: KEGG_2019_Mouse}}``); a single source is the study
  organism's, and ``{kegg_rest: <code>}`` follows every dataset's organism (``mmu`` for mouse);
* reported genes: ``verdict.genes`` / ``verdict.gene_patterns`` as a list (the study organism's) or
  per organism; built-in defaults for human and mouse;
* the claims' genes and families: given per organism in the claims, or mapped from the study
  organism's with the ortholog table ``organisms.<name>.orthologs`` (:func:`read_orthologs`,
  :func:`orthologous_symbols`; ``judgement.claim_genes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from .errors import InputError, preview


@dataclass(frozen=True)
class Organism:
    name: str  # config name: human, mouse, ...
    kegg: str  # KEGG organism code: hsa, mmu, ...
    scientific: str = ""  # Homo sapiens (as GEO's esummary `taxon` writes it)
    taxon: int | None = None  # NCBI taxonomy ID
    gene_info: str | None = None  # NCBI Gene file in GENE_INFO/Mammalia/
    ncbi_counts_genome: str | None = None  # genome of GEO's NCBI-generated counts (human and mouse only)
    ncbi_annotation: str | None = None  # GEO's annotation of those counts
    enrichr_kegg: str | None = None  # Enrichr's newest KEGG library of the organism


# NCBI computes RNA-seq counts for human (GRCh38.p13) and mouse (GRCm39) series only; Enrichr has KEGG
# libraries for human and mouse only (KEGG_2019_Mouse is its newest mouse release).
BUILTIN: dict[str, Organism] = {
    o.name: o
    for o in (
        Organism(
            "human",
            "hsa",
            "Homo sapiens",
            9606,
            "Homo_sapiens.gene_info.gz",
            "GRCh38.p13",
            "Human.GRCh38.p13.annot.tsv.gz",
            "KEGG_2021_Human",
        ),
        Organism(
            "mouse",
            "mmu",
            "Mus musculus",
            10090,
            "Mus_musculus.gene_info.gz",
            "GRCm39",
            "Mouse.GRCm39.annot.tsv.gz",
            "KEGG_2019_Mouse",
        ),
        Organism("rat", "rno", "Rattus norvegicus", 10116, "Rattus_norvegicus.gene_info.gz"),
    )
}

# the claim genes of the reference study per organism (schema defaults of verdict.genes/gene_patterns):
# HMOX1/Hmox1 and VDR/Vdr; the metallothioneins (human MT1A..MT1X, MT2A, MT3, MT4; mouse Mt1-Mt4)
DEFAULT_GENES = {"human": ["HMOX1", "VDR"], "mouse": ["Hmox1", "Vdr"]}
DEFAULT_GENE_PATTERNS = {"human": ["^MT1[A-Z0-9]*$", "^MT2A$", "^MT3$", "^MT4$"], "mouse": ["^Mt[1-4]$"]}
SOURCE_KEYS = ("file", "enrichr", "kegg_rest")


def known(cfg_organisms: dict | None = None) -> dict[str, Organism]:
    """The built-in organisms, with those of the config's ``organisms:`` section added or overriding."""
    out = dict(BUILTIN)
    for name, spec in (cfg_organisms or {}).items():
        base = BUILTIN.get(name)
        kegg = spec.get("kegg") or (base.kegg if base else None)
        if not kegg:
            raise InputError(
                f"organisms.{name}: give its KEGG organism code (`kegg: dre` for zebrafish; the list is at "
                "https://www.kegg.jp/kegg/catalog/org_list.html)."
            )
        fields = dict(base.__dict__) if base else {"name": name, "kegg": kegg}
        fields.update(kegg=kegg, taxon=spec.get("taxon", fields.get("taxon")))
        fields.update({k: spec[k] for k in ("scientific", "ncbi_counts_genome") if k in spec})
        out[name] = Organism(**fields)
    return out


def resolve(value: str, organisms: dict[str, Organism], where: str) -> str:
    """The organism's config name from a name or a KEGG code (``mouse`` or ``mmu`` -> ``mouse``)."""
    if value in organisms:
        return value
    by_code = [o.name for o in organisms.values() if o.kegg == value]
    if by_code:
        return by_code[0]
    raise InputError(
        f"{where}: organism {value!r} is not known. Fix: one of {', '.join(sorted(organisms))} (or their KEGG "
        "codes), or declare it under `organisms:` with its KEGG code and annotation, e.g. "
        "`organisms: {zebrafish: {kegg: dre, annotation: data/Danio_rerio.gene_info.gz}}`."
    )


def library_key(library: str, organism: str, default: str) -> str:
    """The name of a library's files for one organism: the library's name for the study organism,
    ``<organism>/<library>`` for the others (``resources/<study>/genesets/mouse/KEGG.gmt``)."""
    return library if organism == default else f"{organism}/{library}"


def library_source(name: str, entry: dict, organism: Organism, default: str, where: str) -> dict:
    """The source of library ``name`` for ``organism``: its entry for that organism, the study
    organism's single source, or ``{kegg_rest: <the organism's code>}`` for a KEGG REST library."""
    if not any(k in entry for k in SOURCE_KEYS):  # per organism: {human: {...}, mouse: {...}}
        if organism.name in entry:
            src = entry[organism.name]
            return {"file": src} if isinstance(src, str) else dict(src)
        if organism.kegg in entry:
            src = entry[organism.kegg]
            return {"file": src} if isinstance(src, str) else dict(src)
        given = ", ".join(sorted(entry))
    elif "kegg_rest" in entry:
        return {"kegg_rest": organism.kegg}
    elif organism.name == default:
        return dict(entry)
    else:
        given = f"{default} only"
    hint = (
        f"{{enrichr: {organism.enrichr_kegg}}} or {{kegg_rest: {organism.kegg}}}"
        if organism.enrichr_kegg
        else f"{{kegg_rest: {organism.kegg}}} or a file"
    )
    raise InputError(
        f"{where}: genesets.{name} has no source for organism {organism.name} (given: {given}). Fix: give it per "
        f"organism, e.g. `{name}: {{{default}: ..., {organism.name}: {hint}}}`, or use {{kegg_rest: ...}}, "
        "which follows each dataset's organism."
    )


def per_organism(value, default: str, defaults: dict[str, list], key: str) -> dict[str, list]:
    """``verdict.genes`` / ``verdict.gene_patterns`` as {organism: list}: a list is the study
    organism's; organisms without an entry take the built-in default (human and mouse)."""
    if value is None:
        return {k: list(v) for k, v in defaults.items()}
    if isinstance(value, list):
        out = {k: list(v) for k, v in defaults.items() if k != default}
        out[default] = list(value)
        return out
    out = {k: list(v) for k, v in defaults.items()}
    out.update({k: list(v) for k, v in value.items()})
    return out


# --------------------------------------------------------------------------- orthologs


def ortholog_pairs(table: pd.DataFrame, source: str = "human", target: str = "mouse") -> pd.DataFrame:
    """Symbol pairs (``source``, ``target`` columns) from an ortholog table with columns
    ``<source>_symbol`` and ``<target>_symbol`` (tests/data/organisms/ has HCOP's human-mouse pairs)."""
    cols = [f"{source}_symbol", f"{target}_symbol"]
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise InputError(f"ortholog table: needs columns {', '.join(cols)}; it has {preview(list(table.columns), 6)}.")
    pairs = table[cols].dropna().astype(str)
    pairs = pairs[(pairs[cols[0]] != "") & (pairs[cols[1]] != "")]
    return pairs.rename(columns=dict(zip(cols, ("source", "target")))).drop_duplicates().reset_index(drop=True)


def read_orthologs(path: str, source: str, target: str) -> pd.DataFrame:
    """:func:`ortholog_pairs` of the table ``organisms.<target>.orthologs`` (TSV, may be gzipped); a table
    that cannot be read or lacks the two symbol columns is an :class:`InputError` naming the file."""
    where = f"{path} (organisms.{target}.orthologs)"
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{where}: cannot be read as a TSV table ({exc}).") from None
    cols = [f"{source}_symbol", f"{target}_symbol"]
    if any(c not in table.columns for c in cols):
        raise InputError(
            f"{where}: needs the columns {cols[0]} and {cols[1]} (a {source} symbol and its {target} ortholog's on "
            f"each line); it has {preview(list(table.columns), 6)}. Fix: rename the columns, or export the table "
            f"in HGNC's HCOP layout ({source}_symbol, {target}_symbol)."
        )
    return ortholog_pairs(table, source, target)


def orthologous_symbols(
    symbols: list[str] | None,
    pairs: pd.DataFrame,
    *,
    pattern: str | None = None,
    one_to_one: bool = False,
) -> dict[str, list[str]]:
    """{source symbol: [target symbols]} for ``symbols`` and/or the source symbols matching the regular
    expression ``pattern`` (searched, as ``verdict.gene_patterns``), from :func:`ortholog_pairs`.

    Genes without an ortholog map to ``[]`` (say so; never guess a name). ``one_to_one`` keeps only
    pairs where each side has exactly one partner (HMOX1 -> Hmox1, but not MT1A -> Mt1, Mt2).
    """
    if one_to_one:
        n_src = pairs.groupby("source")["target"].transform("size")
        n_tgt = pairs.groupby("target")["source"].transform("size")
        pairs = pairs[(n_src == 1) & (n_tgt == 1)]
    wanted = list(dict.fromkeys(symbols or []))
    if pattern is not None:
        rx = re.compile(pattern)
        wanted += sorted(s for s in set(pairs["source"]) if rx.search(s) and s not in wanted)
    grouped = pairs.groupby("source")["target"].apply(lambda s: sorted(set(s))).to_dict()
    return {s: grouped.get(s, []) for s in wanted}


def symbols_pattern(symbols: list[str]) -> str:
    """A regular expression matching exactly ``symbols`` (for ``verdict.gene_patterns``)."""
    return "^(" + "|".join(re.escape(s) for s in sorted(set(symbols))) + ")$" if symbols else "(?!)"


def perturbed_symbol(
    gene: str, study: str, organism: str, claims: dict | None, orthologs: str | None
) -> tuple[str | None, str]:
    """The symbol of the study organism's gene ``gene`` (the config's ``perturbed_gene``) in ``organism``, and
    how it was found (for ``select_by_expression``'s default gene in a dataset of another organism):

    1. the claims' genes given per organism (``genes: {human: [MEIS1, VDR], mouse: [Meis1, Vdr]}``, organisms
       by their config names): the entry at the position of ``gene`` in the study organism's list, where the
       two lists have the same length -- taken only when every such test agrees;
    2. else the ortholog table ``orthologs`` (``organisms.<organism>.orthologs``): ``gene``'s ortholog when it
       has exactly one;
    3. else (None, why). A name is never guessed from its case (MEIS1 is not taken for Meis1)."""
    if organism == study:
        return gene, "the study's perturbed_gene"
    found = set()
    for spec in (claims or {}).values():
        for item in (spec or {}).get("tests") or []:
            genes = item.get("genes") if isinstance(item, dict) else None
            if not isinstance(genes, dict) or study not in genes or organism not in genes:
                continue
            mine, theirs = list(genes[study]), list(genes[organism])
            if gene in mine and len(mine) == len(theirs):
                found.add(theirs[mine.index(gene)])
    if len(found) == 1:
        return found.pop(), f"the claims' {organism} genes"
    if len(found) > 1:
        return None, f"the claims give several {organism} genes at the place of {gene}: {', '.join(sorted(found))}"
    if orthologs:
        hits = orthologous_symbols([gene], read_orthologs(orthologs, study, organism)).get(gene, [])
        if len(hits) == 1:
            return hits[0], f"the ortholog table organisms.{organism}.orthologs ({orthologs})"
        return None, (
            f"{gene} has {len(hits) or 'no'} {organism} ortholog{'' if len(hits) == 1 else 's'} in "
            f"organisms.{organism}.orthologs ({orthologs})" + (f": {', '.join(hits)}" if hits else "")
        )
    return None, (
        f"neither the claims' genes per organism (a genes_de test with {{{study}: [{gene}, ...], {organism}: "
        f"[...]}}) nor an ortholog table (organisms.{organism}.orthologs) give its {organism} symbol"
    )
