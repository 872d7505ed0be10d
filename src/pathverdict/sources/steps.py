"""Workflow steps that bring public data into the run (called by the Snakemake adapters).

Each copies a cached download (see :mod:`pathverdict.sources.download`) to the path the
workflow expects and writes its provenance (URL, release, retrieval date, sha256) beside it.
"""

from __future__ import annotations

import shutil
from pathlib import PurePosixPath
from urllib.parse import urlparse

from ..errors import InputError
from ..tables import read_counts
from ..util import atomic_write, write_json
from . import geo, libraries
from .datasets import fetch_geo_dataset
from .download import Downloader


def _copy(src, dest) -> None:
    with open(src, "rb") as fh, atomic_write(dest, "wb", compress=False) as out:
        shutil.copyfileobj(fh, out)


def fetch_dataset(
    name: str,
    ds: dict,
    downloads: dict,
    base_urls: dict,
    out_counts: str,
    out_samples: str,
    out_json: str,
    ncbi_genome: str | None = geo.NCBI_COUNTS_GENOME,
) -> dict:
    """Counts (and for GEO the sample sheet) of a dataset given by ``geo:`` or ``url:``;
    ``ncbi_genome`` is the genome of NCBI's generated counts for the dataset's organism."""
    dl = Downloader.from_config(downloads)
    if "geo" in ds:
        return fetch_geo_dataset(
            name,
            ds["geo"],
            dl,
            out_counts=out_counts,
            out_samples=out_samples,
            out_json=out_json,
            geo_ftp_base=base_urls["geo_ftp"],
            geo_download_base=base_urls["geo_download"],
            eutils_base=base_urls["eutils"],
            ncbi_genome=ncbi_genome,
        )
    if "url" not in ds:
        raise InputError(f"dataset {name}: nothing to download (no `geo` or `url`).")
    url = ds["url"]
    filename = PurePosixPath(urlparse(url).path).name or "counts.tsv"
    rec = dl.fetch(
        url, f"url/{name}/{filename}", what=f"dataset {name}: count matrix", hint="Check `url` in the config."
    )
    counts = read_counts(rec.path, round_counts=ds.get("round_counts", False)).counts
    with atomic_write(out_counts) as fh:
        counts.to_csv(fh, sep="\t", lineterminator="\n")
    _copy(ds["samples"], out_samples)
    info = {"dataset": name, "url": url, "downloads": {"counts": [rec.provenance()]}, "genes": int(counts.shape[0])}
    write_json(info, out_json)
    return info


def fetch_de_table(name: str, ds: dict, downloads: dict, base_urls: dict, out_table: str, out_json: str) -> dict:
    """A published DE table (``de_table``) from a URL or a GEO series' supplementary files, copied to
    ``out_table`` as downloaded (the import step recognises its format), with its provenance."""
    from .datasets import resolve_accession

    spec = ds["de_table"]
    dl = Downloader.from_config(downloads)
    where = f"dataset {name}: de_table"
    info: dict = {"dataset": name}
    if "url" in spec:
        url = spec["url"]
        filename = PurePosixPath(urlparse(url).path).name or "de_table"
        rec = dl.fetch(url, f"url/{name}/{filename}", what=f"dataset {name}: DE table", hint="Check `de_table.url`.")
        info["url"] = url
    elif "geo" in spec:
        acc, pubmed = resolve_accession(spec["geo"], dl, base_urls["eutils"], f"{where}.geo")
        rec, listing = geo.fetch_supplementary(acc, spec["geo"]["file"], dl, base_url=base_urls["geo_ftp"])
        info.update(accession=acc, pubmed_lookup=pubmed, file=spec["geo"]["file"])
        info["downloads"] = {"suppl_listing": [listing.provenance()]}
    else:
        raise InputError(f"{where}: nothing to download (a local `path` is read where it is).")
    info.setdefault("downloads", {})["de_table"] = [rec.provenance()]
    info["name"] = rec.path.name
    _copy(rec.path, out_table)
    write_json(info, out_json)
    return info


def fetch_library(name: str, source: dict, downloads: dict, base_urls: dict, out_file: str, out_json: str) -> dict:
    """A named gene-set library: ``{enrichr: NAME}`` or ``{kegg_rest: ORGANISM}``."""
    dl = Downloader.from_config(downloads)
    if "enrichr" in source:
        sf = libraries.fetch_enrichr_library(source["enrichr"], dl, base_url=base_urls["enrichr"])
    elif "kegg_rest" in source:
        sf = libraries.fetch_kegg_library(dl, organism=source["kegg_rest"], base_url=base_urls["kegg_rest"])
    else:
        raise InputError(f"genesets.{name}: nothing to download (give enrichr: or kegg_rest:).")
    _copy(sf.path, out_file)
    info = sf.provenance()
    write_json(info, out_json)
    return info


def fetch_annotation(source: dict, downloads: dict, base_urls: dict, out_file: str, out_json: str) -> dict:
    """The gene annotation: ``{ncbi_gene_info: NAME}`` or ``{geo_annotation: NAME}``."""
    dl = Downloader.from_config(downloads)
    if "ncbi_gene_info" in source:
        sf = libraries.fetch_gene_info(dl, base_url=base_urls["gene_info"], name=source["ncbi_gene_info"])
        info, path = sf.provenance(), sf.path
    elif "geo_annotation" in source:
        rec = geo.fetch_ncbi_annotation(dl, base_url=base_urls["geo_download"], name=source["geo_annotation"])
        info = dict(rec.provenance(), name=source["geo_annotation"], release=f"NCBI GEO {source['geo_annotation']}")
        path = rec.path
    else:
        raise InputError("annotation: nothing to download (give ncbi_gene_info: or geo_annotation:).")
    _copy(path, out_file)
    write_json(info, out_json)
    return info
