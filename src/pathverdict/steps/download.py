"""Steps of rules/download.smk: datasets, gene-set libraries and the annotation from the network."""

from __future__ import annotations

from ..sources import steps as _sources


def fetch_dataset(
    *,
    dataset: str,
    dataset_config: dict,
    downloads: dict,
    base_urls: dict,
    out_counts: str,
    out_samples: str,
    out_info: str,
    ncbi_genome: str | None = "GRCh38.p13",
) -> dict:
    """Counts (and for GEO the sample sheet) of a dataset given by ``geo:`` or ``url:``; ``ncbi_genome``
    is the genome of NCBI's generated counts for the dataset's organism (None: NCBI has none)."""
    return _sources.fetch_dataset(
        dataset, dataset_config, downloads, base_urls, out_counts, out_samples, out_info, ncbi_genome
    )


def fetch_library(
    *, library: str, source: dict, downloads: dict, base_urls: dict, out_library: str, out_info: str
) -> dict:
    """A named gene-set library (``{enrichr: NAME}`` or ``{kegg_rest: ORGANISM}``)."""
    return _sources.fetch_library(library, source, downloads, base_urls, out_library, out_info)


def fetch_annotation(*, source: dict, downloads: dict, base_urls: dict, out_annotation: str, out_info: str) -> dict:
    """The gene annotation (``{ncbi_gene_info: NAME}`` or ``{geo_annotation: NAME}``)."""
    return _sources.fetch_annotation(source, downloads, base_urls, out_annotation, out_info)


def fetch_de_table(
    *, dataset: str, dataset_config: dict, downloads: dict, base_urls: dict, out_table: str, out_info: str
) -> dict:
    """A published DE table given by ``de_table: {url: ...}`` or ``{geo: {accession, file}}``."""
    return _sources.fetch_de_table(dataset, dataset_config, downloads, base_urls, out_table, out_info)
