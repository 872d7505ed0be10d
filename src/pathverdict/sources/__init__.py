"""Public data by accession: cached, checksummed downloads with provenance.

* :mod:`.download` -- :func:`~.download.fetch` (one URL to one file, atomic, validated,
  retried, cached with a ``<file>.source.json`` sidecar) and :class:`~.download.Downloader`
  (the cache directory and network settings shared by the functions below); its parts by
  concern are :mod:`.download_cache`, :mod:`.download_checks` and :mod:`.download_http`;
* :mod:`.eutils` -- PubMed ID -> GEO series (NCBI E-utilities);
* :mod:`.geo` -- GEO series matrix (sample metadata), NCBI-generated raw counts and their
  gene annotation, author supplementary files (``_RAW.tar`` of per-sample count files),
  sample selection and grouping into a sample sheet; its parts by concern are
  :mod:`.geo_samples`, :mod:`.geo_tar` and :mod:`.count_files` (every name importable from
  :mod:`.geo`);
* :mod:`.libraries` -- gene-set libraries (Enrichr text libraries, current KEGG from the
  KEGG REST API as GMT) and the NCBI ``gene_info`` annotation;
* :mod:`.datasets` -- :func:`~.datasets.fetch_geo_dataset`: one GEO dataset config entry
  to a count matrix, a sample sheet and a provenance file (what a Snakemake rule calls).

Every base URL is a keyword argument (default: the public NCBI/KEGG/Enrichr address), so
tests and institutional mirrors can point elsewhere. See ``docs/data_sources.md``.
"""

from .download import Downloader, DownloadError, FetchRecord, fetch  # noqa: F401
