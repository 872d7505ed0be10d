"""Discovery of public perturbation series of a gene (issue 23): search GEO DataSets with NCBI
E-utilities, look at each series (its series matrix, supplementary files, NCBI-generated counts)
and decide which can be analysed, with the reasons.

:func:`discover` returns one :class:`Candidate` per series; :mod:`.discovery_rules` proposes the
sample rules and writes the draft config (:func:`pathverdict.sources.discovery_rules.draft_config`).
Every request goes through the download cache (``eutils/``, ``geo/<GSE>/``), so a finished
discovery reruns offline; a request that cannot be made (offline, network, server) is named in
the candidate's reasons and the series is left ``unchecked``, never guessed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from ..errors import InputError
from ..organisms import Organism
from . import eutils, geo
from .discovery_rules import propose_rules, word_rx
from ..util import write_json
from .download import Downloader, DownloadError, utc_now

log = logging.getLogger(__name__)

RNASEQ = "expression profiling by high throughput sequencing"
# a count table of an author: raw counts by name; normalised values (FPKM, TPM, ...) are not counts
COUNT_FILE = re.compile(r"(?i)(count|htseq|featurecounts|readspergene|_RAW\.tar$)")
NOT_COUNTS = re.compile(r"(?i)(fpkm|rpkm|tpm|cpm|normali[sz]ed|rlog|vst|\.bw$|\.bigwig$|\.bed(\.gz)?$)")


# the columns of candidates.tsv (Candidate.row)
COLUMNS = (
    "accession", "title", "organism", "samples", "platform", "type", "perturbation_words", "ncbi_counts",
    "supplementary_count_files", "proposed_groups", "decision", "reasons",
)  # fmt: skip


@dataclass
class Candidate:
    """One series found by the search, what was learnt about it and the decision."""

    series: eutils.GeoSeries
    organism: str = ""  # config name of the organism, "" when none of the requested
    perturbation_words: list[str] = field(default_factory=list)
    ncbi_counts: str = "not checked"  # yes / no / not checked / unknown (<why>)
    count_files: list[str] = field(default_factory=list)  # supplementary files that look like raw counts
    rules: dict | None = None  # the proposal of discovery_rules.propose_rules
    decision: str = "dropped"  # kept / dropped / unchecked
    reasons: list[str] = field(default_factory=list)

    def row(self) -> dict:
        s = self.series
        r = self.rules or {}
        return {
            "accession": s.accession,
            "title": s.title,
            "organism": self.organism or s.taxon,
            "samples": s.n_samples,
            "platform": ";".join(f"GPL{p}" for p in s.gpl.split(";") if p) if s.gpl else "",
            "type": s.gdstype,
            "perturbation_words": ", ".join(self.perturbation_words),
            "ncbi_counts": self.ncbi_counts,
            "supplementary_count_files": ", ".join(self.count_files),
            "proposed_groups": r.get("summary", ""),
            "decision": self.decision,
            "reasons": "; ".join(self.reasons),
        }


def search_term(gene: str, organisms: list[Organism], extra: str = "") -> str:
    """The GEO DataSets query: the gene in any field, series of the organisms (the series' type and the
    perturbation are judged per series, so that what is left out is listed with the reason)."""
    orgs = " OR ".join(f'"{o.scientific}"[Organism]' for o in organisms)
    term = f"{gene}[All Fields] AND ({orgs}) AND gse[Entry Type]"
    return f"{term} AND ({extra})" if extra else term


def words_in(text: str, words: list[str]) -> list[str]:
    """The words (regular expressions, see :func:`.discovery_rules.word_rx`) found in ``text``, each as
    first written there (``shRNA``, ``knockout``, ``-/-``), once."""
    found: dict[str, str] = {}
    for w in words:
        m = re.search(word_rx(w), text)
        if m:
            found.setdefault(m.group(0).lower(), m.group(0))
    return list(found.values())


def _organism_of(series: eutils.GeoSeries, organisms: list[Organism]) -> str:
    taxa = [t.strip().lower() for t in series.taxon.split(";")]
    hits = [o.name for o in organisms if o.scientific.lower() in taxa]
    return hits[0] if len(hits) == 1 else ""


def _tried(what: str, call, reasons: list[str], dl: Downloader, dest: str):
    """``call()``, or None: when the server answered 404 (remembered beside the cache, in
    ``<dest>.absent.json``, so that a rerun, offline too, knows it without asking again; delete it to
    ask again), or when the request could not be made (added to ``reasons``)."""
    marker = dl.path(dest).with_name(dl.path(dest).name + ".absent.json")
    if marker.is_file():
        return None
    try:
        return call()
    except DownloadError as exc:
        if exc.status == 404:
            write_json({"what": what, "status": 404, "answer": str(exc), "checked": utc_now()}, marker)
            return None
        reasons.append(f"{what} could not be fetched: {exc}")
        return None


def examine(
    cand: Candidate,
    gene: str,
    settings: dict,
    organisms: dict[str, Organism],
    dl: Downloader,
    base_urls: dict,
) -> Candidate:
    """Fill ``cand`` from its series matrix, supplementary listing and NCBI counts, and decide."""
    s = cand.series
    acc = s.accession
    unchecked: list[str] = []
    ftp = base_urls["geo_ftp"]
    genome = organisms[cand.organism].ncbi_counts_genome
    # (what, file in the cache's geo/<GSE>/, the request)
    wanted = {
        "matrix": (f"the series matrix of {acc}", f"{acc}_series_matrix.txt.gz", geo.fetch_series_matrix, {}),
        "listing": (f"the supplementary file list of {acc}", "suppl_listing.html", geo.list_supplementary, {}),
    }
    if genome is not None:
        wanted["counts"] = (
            f"NCBI-generated counts of {acc}",
            geo.ncbi_counts_name(acc, genome),
            geo.fetch_ncbi_counts,
            {"genome": genome, "base_url": base_urls["geo_download"]},
        )
    got = {
        key: _tried(
            what, lambda f=fetch, kw=kw: f(acc, dl, **{"base_url": ftp, **kw}), unchecked, dl, f"geo/{acc}/{name}"
        )
        for key, (what, name, fetch, kw) in wanted.items()
    }
    meta = None
    if got["matrix"]:
        try:
            meta = geo.parse_series_matrix([r.path for r in got["matrix"]])
        except InputError as exc:
            cand.reasons.append(f"series matrix unreadable: {exc}")
    elif not any(u.startswith(wanted["matrix"][0]) for u in unchecked):
        cand.reasons.append("no series matrix on GEO")
    text = f"{s.title} {s.summary}"
    if meta is not None:
        text += " " + " ".join(" ".join(map(str, meta[c].unique())) for c in meta.columns if c != "series")
    cand.perturbation_words = words_in(text, settings["perturbation_words"])
    if not cand.perturbation_words:
        cand.reasons.append("no perturbation word in the title, summary or sample fields")
    if got["listing"]:
        files = got["listing"][0]
        cand.count_files = [f.name for f in files if COUNT_FILE.search(f.name) and not NOT_COUNTS.search(f.name)]
    if genome is None:
        cand.ncbi_counts = "no (NCBI computes counts for human and mouse only)"
    elif got["counts"]:
        cand.ncbi_counts = "yes"
    else:
        cand.ncbi_counts = "unknown" if any(u.startswith(wanted["counts"][0]) for u in unchecked) else "no"
    if meta is not None:
        cand.rules = propose_rules(meta, gene, settings)
        if cand.rules.get("problem"):
            cand.reasons.append(cand.rules["problem"])
    if unchecked:
        cand.decision = "unchecked"
        cand.reasons = unchecked + cand.reasons
        return cand
    if cand.ncbi_counts != "yes" and not cand.count_files:
        cand.reasons.append(
            "no counts: neither NCBI-generated counts nor a raw count file among the supplementary files"
        )
    cand.decision = "dropped" if cand.reasons else "kept"
    return cand


def discover(
    gene: str,
    organisms: list[Organism],
    settings: dict,
    dl: Downloader,
    base_urls: dict,
    known: dict[str, Organism],
    min_interval: float | None = None,
) -> tuple[eutils.GdsSearch, list[Candidate]]:
    """Search GEO for series of ``gene`` in ``organisms`` and examine each; returns the search and the
    candidates (every series found, kept or dropped with the reasons)."""
    term = search_term(gene, organisms, settings.get("extra_terms", ""))
    found = eutils.search_gds(
        term, dl, base_url=base_urls["eutils"], max_records=settings["max_series"], min_interval=min_interval
    )
    cands = []
    for s in found.series:
        cand = Candidate(s, organism=_organism_of(s, organisms))
        if not cand.organism:
            cand.reasons.append(f"organism {s.taxon or 'unknown'} is not one of {', '.join(o.name for o in organisms)}")
        if RNASEQ not in s.gdstype.lower():
            cand.reasons.append(f"not RNA-seq ({s.gdstype or 'no type given'})")
        if not cand.reasons:
            examine(cand, gene, settings, known, dl, base_urls)
        cands.append(cand)
        log.info("%s: %s %s", s.accession, cand.decision, "; ".join(cand.reasons))
    return found, cands
