"""One GEO dataset from a config entry: counts + sample sheet + provenance, in one call.

This is the function a Snakemake rule can call (see ``docs/data_sources.md``)::

    geo:
      accession: GSE130001          # or  pubmed: 31725784  (must link to exactly one series)
      counts: ncbi                  # ncbi (NCBI-generated raw counts) | supplementary
      file: "*_RAW.tar"             # supplementary: glob (or re:<regex>) naming one file of suppl/
      members: "*.counts.txt.gz"    # RAW.tar only: glob of the per-sample count files (default all)
      format: auto                  # RAW.tar only: auto | htseq | featurecounts | star
      strandedness: reverse         # STAR ReadsPerGene files only: unstranded | forward | reverse
                                    #   (when not set: inferred from N_noFeature, see geo.infer_strandedness)
      sample_field: null            # metadata field the count columns are named by (default: GSM)
      group_column: condition
      samples:
        select: {treatment: siRNA}
        groups:
          knockdown: {"genotype/variation": "^MEIS1 knockdown$"}
          control: {"genotype/variation": "^control$"}

The count matrix written keeps exactly the samples of the sample sheet, in its order, so
it passes :func:`pathverdict.tables.check_design` unchanged.
"""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pandas as pd

from .. import tables
from ..errors import InputError, preview
from ..util import atomic_write, write_json
from . import eutils, geo
from .download import Downloader

log = logging.getLogger(__name__)

KEYS = {
    "accession",
    "pubmed",
    "counts",
    "file",
    "members",
    "format",
    "strandedness",
    "sample_field",
    "group_column",
    "samples",
}
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def _check_spec(spec: dict, where: str) -> dict:
    if not isinstance(spec, dict):
        raise InputError(f"{where}: must be a mapping (accession, counts, samples, ...).")
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(KEYS))}.")
    if ("accession" in spec) == ("pubmed" in spec):
        raise InputError(f"{where}: give either `accession` (GSE...) or `pubmed` (a PubMed ID), not both or neither.")
    spec = dict(spec)
    spec.setdefault("counts", "ncbi")
    if spec["counts"] not in ("ncbi", "supplementary"):
        raise InputError(f"{where}.counts: {spec['counts']!r} is not one of ncbi, supplementary.")
    if spec["counts"] == "supplementary" and not spec.get("file"):
        raise InputError(
            f"{where}.file: with counts: supplementary, name the file of the series' suppl/ folder, "
            "e.g. '*_RAW.tar' or 're:raw_counts'."
        )
    if "samples" not in spec:
        raise InputError(f"{where}.samples: needed: the rules that group the samples ({{select: ..., groups: ...}}).")
    return spec


def resolve_accession(spec: dict, dl: Downloader, eutils_base: str, where: str) -> tuple[str, dict | None]:
    """The series of ``spec`` (``accession``, or the one series linked to ``pubmed``) and the lookup's record."""
    if "accession" in spec:
        return geo.check_gse(spec["accession"]), None
    found = eutils.pubmed_to_geo(spec["pubmed"], dl, base_url=eutils_base)
    if len(found.series) > 1:
        listing = "; ".join(f"{s.accession} ({s.title}, {s.n_samples} samples, {s.taxon})" for s in found.series)
        raise InputError(
            f"{where}: PubMed {found.pmid} is linked to {len(found.series)} GEO series: {listing}. Set "
            "`accession` to the one to analyse (one dataset entry per series)."
        )
    return found.series[0].accession, found.provenance()


def _read_table(path: Path) -> tuple[pd.DataFrame, dict]:
    """An author's count table (text, gene IDs as index) in any layout :func:`tables.read_count_table`
    reads: plain, featureCounts with BAM-path columns, R write.table with row names."""
    try:
        raw, layout = tables.read_count_table(path)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: cannot be read as a count table ({exc}).") from exc
    table = raw.set_index(raw.columns[0])
    table.index = table.index.str.strip()
    if layout["layout"] != "plain":
        log.warning("%s: %s", path, layout["note"])
    return table, {k: v for k, v in layout.items() if k in ("layout", "note", "dropped_columns", "tool")}


def fetch_geo_dataset(
    name: str,
    spec: dict,
    dl: Downloader,
    *,
    out_counts: str | Path,
    out_samples: str | Path,
    out_json: str | Path | None = None,
    geo_ftp_base: str = geo.GEO_FTP_BASE,
    geo_download_base: str = geo.GEO_DOWNLOAD_BASE,
    eutils_base: str = eutils.EUTILS_BASE,
    ncbi_genome: str | None = geo.NCBI_COUNTS_GENOME,
) -> dict:
    """Download (or take from the cache) one GEO dataset and write its count matrix, sample
    sheet and provenance. Returns the provenance dict. ``ncbi_genome``: the genome of NCBI's
    generated counts for the dataset's organism (GRCh38.p13 human, GRCm39 mouse; None: none)."""
    where = f"dataset {name}: geo"
    spec = _check_spec(spec, where)
    acc, pubmed = resolve_accession(spec, dl, eutils_base, where)
    matrices = geo.fetch_series_matrix(acc, dl, base_url=geo_ftp_base)
    meta = geo.parse_series_matrix([r.path for r in matrices])
    sheet = geo.make_sample_sheet(
        meta,
        spec["samples"],
        group_column=spec.get("group_column", "condition"),
        sample_field=spec.get("sample_field"),
        where=f"{where}.samples",
    )
    records = {"series_matrix": [r.provenance() for r in matrices]}
    details: dict = {}
    if spec["counts"] == "ncbi":
        if not ncbi_genome:
            raise InputError(
                f"{where}.counts: NCBI generates RNA-seq counts for human and mouse series only. Fix: use the "
                "authors' counts (`counts: supplementary` with `file: ...`)."
            )
        rec = geo.fetch_ncbi_counts(acc, dl, base_url=geo_download_base, genome=ncbi_genome)
        records["counts"] = [rec.provenance()]
        table, details["count_layout"] = _read_table(rec.path)
    else:
        rec, listing = geo.fetch_supplementary(acc, spec["file"], dl, base_url=geo_ftp_base)
        records["counts"] = [rec.provenance()]
        records["suppl_listing"] = [listing.provenance()]
        if rec.path.name.lower().endswith(TAR_SUFFIXES):
            try:
                merged = geo.read_raw_tar_counts(
                    rec.path,
                    fmt=spec.get("format", "auto"),
                    strandedness=spec.get("strandedness"),
                    pattern=spec.get("members"),
                )
            except InputError as exc:  # name the dataset and its config keys (geo.strandedness, geo.members, ...)
                raise InputError(f"{where} (file {spec['file']!r}): {exc}") from None
            details["merged"] = merged.summary()
            table = merged.counts.astype(str)
        else:
            table, details["count_layout"] = _read_table(rec.path)
    # columns of the count table <- GSM (or the sample_field values)
    table.columns = [str(c).strip() for c in table.columns]
    renamed, notes = tables.map_alignment_columns(
        table.columns, sheet.set_index("sample"), where=f"{where}: {records['counts'][0]['path']}: "
    )
    if renamed:
        table = table.rename(columns=renamed)
        details["column_mapping"] = notes
        log.warning(
            "%s: count columns named by alignment files were matched to the samples: %s", where, "; ".join(notes)
        )
    missing = [s for s in sheet["sample"] if s not in table.columns]
    if missing:
        raise InputError(
            f"{where}: samples of the sample sheet without a column in the count table "
            f"{records['counts'][0]['path']}: {preview(missing)}; its columns are "
            f"{preview(list(table.columns), 8)}. Set `sample_field` to the metadata field whose values "
            "name the columns (e.g. title or description), or adjust `samples`."
        )
    table = table[list(sheet["sample"])]
    table.index.name = table.index.name or "gene_id"
    with atomic_write(out_counts) as fh:
        table.to_csv(fh, sep="\t", lineterminator="\n")
    geo.write_sample_sheet(sheet, out_samples)
    group = spec.get("group_column", "condition")
    info = {
        "dataset": name,
        "accession": acc,
        "pubmed_lookup": pubmed,
        "counts_source": spec["counts"],
        "spec": spec,
        "samples": len(sheet),
        "groups": sheet[group].value_counts().sort_index().to_dict(),
        "genes": int(table.shape[0]),
        "downloads": records,
        **details,
        "outputs": {"counts": str(out_counts), "samples": str(out_samples)},
    }
    if out_json is not None:
        write_json(info, out_json)
    return info
