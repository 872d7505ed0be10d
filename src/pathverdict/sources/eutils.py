"""PubMed ID -> GEO series, with NCBI E-utilities (ELink, then ESummary on db=gds).

1. ``elink.fcgi?dbfrom=pubmed&db=gds&id=<PMID>&retmode=json`` answers::

       {"header": {"type": "elink", "version": "0.3"},
        "linksets": [{"dbfrom": "pubmed", "ids": ["<PMID>"],
                      "linksetdbs": [{"dbto": "gds", "linkname": "pubmed_gds",
                                      "links": ["200123456", "3001234567", ...]}]}]}

   (no ``linksetdbs`` when the article has no GEO records). The links are Entrez GDS UIDs:
   series (200xxxxxx), samples, platforms and curated DataSets.
2. ``esummary.fcgi?db=gds&id=<uid,uid,...>&retmode=json`` answers::

       {"header": {...}, "result": {"uids": ["200123456", ...],
        "200123456": {"uid": "200123456", "accession": "GSE123456", "entrytype": "GSE",
                      "title": "...", "taxon": "Homo sapiens", "gdstype": "Expression profiling by
                      high throughput sequencing", "n_samples": 12, "pdat": "2019/11/15",
                      "suppfile": "TXT", "pubmedids": ["<PMID>"], "ftplink": "ftp://...", ...}}}

   Only ``entrytype == "GSE"`` records are series; the others are dropped.

Both answers are cached (``eutils/`` in the download cache) with provenance like any other
download, so a finished lookup is reproducible offline. Set ``NCBI_API_KEY`` (and
optionally ``NCBI_EMAIL``) in the environment to use an API key; it is sent but never
recorded. Requests are spaced to stay within NCBI's limit (3/s, 10/s with a key).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from ..errors import InputError, preview
from .download import Downloader, FetchRecord

EUTILS_BASE = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
TOOL = "pathverdict"
ESUMMARY_BATCH = 200

_last_request = 0.0
_lock = threading.Lock()


@dataclass(frozen=True)
class GeoSeries:
    """A GEO series (GSE) as ESummary describes it."""

    accession: str
    uid: str
    title: str = ""
    taxon: str = ""
    n_samples: int = 0
    gdstype: str = ""
    pdat: str = ""
    suppfile: str = ""
    pubmed_ids: tuple[str, ...] = ()
    ftplink: str = ""
    summary: str = ""
    gpl: str = ""  # platform number(s), "16791" or "16791;13112"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["pubmed_ids"] = list(self.pubmed_ids)
        return d


@dataclass
class PubmedGeo:
    """The GEO series linked to one PubMed article, with the records of the two lookups."""

    pmid: str
    series: list[GeoSeries]
    other_links: list[str] = field(default_factory=list)  # linked non-series records (GSM, GPL, GDS)
    records: list[FetchRecord] = field(default_factory=list)

    @property
    def accessions(self) -> list[str]:
        return [s.accession for s in self.series]

    def provenance(self) -> dict:
        return {
            "pmid": self.pmid,
            "series": [s.to_dict() for s in self.series],
            "other_links": self.other_links,
            "lookups": [r.provenance() for r in self.records],
        }


def check_pmid(pmid) -> str:
    text = str(pmid).strip()
    if text.upper().startswith("PMID:"):
        text = text[5:].strip()
    if not re.fullmatch(r"[1-9]\d{0,9}", text):
        raise InputError(
            f"PubMed ID {pmid!r} is not a PubMed ID: it must be a number such as 31725784 "
            "(optionally written PMID:31725784)."
        )
    return text


def _url(base_url: str, tool: str, **params) -> str:
    base = base_url if base_url.endswith("/") else base_url + "/"
    return f"{base}{tool}?{urlencode(params)}"


def _secret_params() -> dict:
    extra = {"tool": TOOL}
    if os.environ.get("NCBI_EMAIL"):
        extra["email"] = os.environ["NCBI_EMAIL"]
    if os.environ.get("NCBI_API_KEY"):
        extra["api_key"] = os.environ["NCBI_API_KEY"]
    return extra


def _space_requests(min_interval: float) -> None:
    global _last_request
    with _lock:
        wait = _last_request + min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        _last_request = time.monotonic()


def _no_error_answer(path: Path) -> None:
    """ESummary/ELink answer with an error (rate limit, backend trouble): retry."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    for key in ("ERROR", "error"):
        if key in data:
            raise ValueError(f"E-utilities answered with an error: {data[key]}")
    result = data.get("esummaryresult")
    if isinstance(result, list) and result and "error" in str(result[0]).lower():
        raise ValueError(f"E-utilities answered with an error: {result[0]}")


def parse_elink(data: dict, pmid: str, source: str = "elink answer") -> list[str]:
    """GDS UIDs linked to ``pmid`` (``pubmed_gds`` links) in an ELink JSON answer."""
    if not isinstance(data, dict) or "linksets" not in data:
        raise InputError(f"{source}: not an ELink JSON answer (no 'linksets'; keys: {preview(list(data)[:8])}).")
    uids: list[str] = []
    for linkset in data["linksets"] or []:
        for db in linkset.get("linksetdbs", []) or []:
            if db.get("dbto") not in (None, "gds"):
                continue
            if db.get("linkname") not in (None, "pubmed_gds"):
                continue
            for link in db.get("links", []) or []:
                uid = str(link.get("id") if isinstance(link, dict) else link)
                if uid not in uids:
                    uids.append(uid)
    return uids


def parse_esummary(data: dict, source: str = "esummary answer") -> tuple[list[GeoSeries], list[str]]:
    """(series, other accessions) from an ESummary JSON answer for db=gds."""
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        raise InputError(f"{source}: not an ESummary JSON answer (no 'result' object).")
    series: list[GeoSeries] = []
    others: list[str] = []
    for uid in result.get("uids", []):
        doc = result.get(str(uid)) or {}
        if "error" in doc:
            others.append(f"{uid} ({doc['error']})")
            continue
        acc = str(doc.get("accession", "")).strip()
        entry = str(doc.get("entrytype", "")).upper()
        if entry != "GSE" or not acc.upper().startswith("GSE"):
            others.append(acc or str(uid))
            continue
        try:
            n = int(doc.get("n_samples") or 0)
        except (TypeError, ValueError):
            n = 0
        series.append(
            GeoSeries(
                accession=acc.upper(),
                uid=str(uid),
                title=str(doc.get("title", "")).strip(),
                taxon=str(doc.get("taxon", "")).strip(),
                n_samples=n,
                gdstype=str(doc.get("gdstype", "")).strip(),
                pdat=str(doc.get("pdat", "")).strip(),
                suppfile=str(doc.get("suppfile", "")).strip(),
                pubmed_ids=tuple(str(p) for p in doc.get("pubmedids", []) or []),
                ftplink=str(doc.get("ftplink", "")).strip(),
                summary=str(doc.get("summary", "")).strip(),
                gpl=str(doc.get("gpl", "")).strip(),
            )
        )
    series.sort(key=lambda s: int(re.sub(r"\D", "", s.accession) or 0))
    return series, others


def _load(rec: FetchRecord) -> dict:
    with open(rec.path, encoding="utf-8") as fh:
        return json.load(fh)


def _getter(dl: Downloader, min_interval: float | None, hint: str, records: list[FetchRecord]):
    """A fetch of one E-utilities answer: cached, spaced to NCBI's limits, checked for error answers."""
    extra = _secret_params()
    if min_interval is None:
        min_interval = 0.1 if "api_key" in extra else 0.34

    def get(url: str, dest: str, what: str) -> FetchRecord:
        if not dl.path(dest).is_file() and not dl.offline:
            _space_requests(min_interval)
        rec = dl.fetch(url, dest, what=what, validate=_no_error_answer, params=extra, hint=hint)
        records.append(rec)
        return rec

    return get


def gds_summaries(uids: list[str], get, base_url: str, stem: str, what: str) -> tuple[list[GeoSeries], list[str]]:
    """ESummary of GDS UIDs in batches of :data:`ESUMMARY_BATCH`, cached as ``eutils/<stem>_esummary_gds[_n].json``."""
    series: list[GeoSeries] = []
    others: list[str] = []
    for start in range(0, len(uids), ESUMMARY_BATCH):
        batch = uids[start : start + ESUMMARY_BATCH]
        url = _url(base_url, "esummary.fcgi", db="gds", id=",".join(batch), retmode="json")
        part = "" if len(uids) <= ESUMMARY_BATCH else f"_{start // ESUMMARY_BATCH + 1}"
        rec = get(url, f"eutils/{stem}_esummary_gds{part}.json", f"{what} (E-utilities ESummary)")
        s, o = parse_esummary(_load(rec), source=f"{rec.path} ({url})")
        series += s
        others += o
    series.sort(key=lambda s: int(re.sub(r"\D", "", s.accession) or 0))
    return series, others


def pubmed_to_geo(
    pmid, dl: Downloader, *, base_url: str = EUTILS_BASE, min_interval: float | None = None, require: bool = True
) -> PubmedGeo:
    """The GEO series (GSE) linked to PubMed article ``pmid``.

    ``require``: raise :class:`InputError` when the article has no linked series (else
    return an empty list). ``min_interval``: seconds between requests to E-utilities
    (default 0.34, or 0.1 with ``NCBI_API_KEY``; 0 in tests).
    """
    pmid = check_pmid(pmid)
    records: list[FetchRecord] = []
    get = _getter(dl, min_interval, f"Check the PubMed ID {pmid} (https://pubmed.ncbi.nlm.nih.gov/{pmid}/).", records)
    elink_url = _url(base_url, "elink.fcgi", dbfrom="pubmed", db="gds", id=pmid, retmode="json")
    rec = get(elink_url, f"eutils/pubmed_{pmid}_elink_gds.json", f"GEO links of PubMed {pmid} (E-utilities ELink)")
    uids = parse_elink(_load(rec), pmid, source=f"{rec.path} ({elink_url})")
    if not uids:
        if require:
            raise InputError(
                f"PubMed {pmid} has no linked GEO records (ELink {elink_url} returned no pubmed_gds "
                f"links). Check the PubMed ID, or give the GEO series accession (GSE...) directly."
            )
        return PubmedGeo(pmid, [], [], records)
    series, others = gds_summaries(uids, get, base_url, f"pubmed_{pmid}", f"GEO record summaries for PubMed {pmid}")
    if not series and require:
        raise InputError(
            f"PubMed {pmid} is linked to GEO records but to no series (GSE): {preview(others)}. "
            "Give the GEO series accession directly in the config."
        )
    return PubmedGeo(pmid, series, others, records)


# --------------------------------------------------------------------------- ESearch (discovery)

ESEARCH_PAGE = 500


def parse_esearch(data: dict, source: str = "esearch answer") -> tuple[int, list[str]]:
    """(total count, UIDs of this page) from an ESearch JSON answer::

    {"header": {"type": "esearch", ...}, "esearchresult": {"count": "3", "retmax": "3", "retstart": "0",
     "idlist": ["200130002", ...], "translationset": [...], "querytranslation": "..."}}
    """
    result = data.get("esearchresult") if isinstance(data, dict) else None
    if not isinstance(result, dict) or "idlist" not in result:
        raise InputError(f"{source}: not an ESearch JSON answer (no 'esearchresult' with an 'idlist').")
    try:
        count = int(result.get("count", len(result["idlist"])))
    except (TypeError, ValueError):
        count = len(result["idlist"])
    return count, [str(u) for u in result["idlist"]]


@dataclass
class GdsSearch:
    """The GEO series an ESearch of db=gds found, with the records of every lookup."""

    term: str
    count: int
    series: list[GeoSeries]
    other_records: list[str] = field(default_factory=list)
    records: list[FetchRecord] = field(default_factory=list)
    truncated: bool = False


def search_gds(
    term: str,
    dl: Downloader,
    *,
    base_url: str = EUTILS_BASE,
    max_records: int = 1000,
    min_interval: float | None = None,
) -> GdsSearch:
    """ESearch on GEO DataSets (db=gds) for ``term``, then ESummary of the UIDs found: the series
    (GSE) among them. At most ``max_records`` UIDs are summarised (``truncated`` says when more
    matched). Every answer is cached under ``eutils/search_<hash of the term>_*.json``, so the
    same search reruns offline."""
    import hashlib

    stem = "search_" + hashlib.sha256(term.encode("utf-8")).hexdigest()[:16]
    records: list[FetchRecord] = []
    get = _getter(dl, min_interval, "Check the search term (GEO DataSets syntax, e.g. MEIS1 AND gse[ETYP]).", records)
    uids: list[str] = []
    count = None
    while count is None or (len(uids) < min(count, max_records)):
        start = len(uids)
        size = min(ESEARCH_PAGE, max_records - start)
        url = _url(base_url, "esearch.fcgi", db="gds", term=term, retstart=start, retmax=size, retmode="json")
        page = "" if start == 0 else f"_{start // ESEARCH_PAGE + 1}"
        rec = get(url, f"eutils/{stem}_esearch_gds{page}.json", f"GEO DataSets search {term!r} (E-utilities ESearch)")
        count, ids = parse_esearch(_load(rec), source=f"{rec.path} ({url})")
        if not ids:
            break
        uids += [u for u in ids if u not in uids]
    series, others = gds_summaries(uids, get, base_url, stem, f"GEO records found by {term!r}") if uids else ([], [])
    return GdsSearch(term, count or 0, series, others, records, truncated=(count or 0) > len(uids))


def write_series_table(result: PubmedGeo, path: str | Path) -> None:
    """One line per series: accession, title, taxon, n_samples, gdstype, pdat, suppfile, pubmed_ids."""
    from ..util import atomic_write

    cols = ["accession", "title", "taxon", "n_samples", "gdstype", "pdat", "suppfile", "pubmed_ids", "uid"]
    with atomic_write(path) as fh:
        fh.write("\t".join(cols) + "\n")
        for s in result.series:
            d = s.to_dict()
            d["pubmed_ids"] = ",".join(s.pubmed_ids)
            fh.write("\t".join(re.sub(r"[\t\r\n]+", " ", str(d[c])) for c in cols) + "\n")
