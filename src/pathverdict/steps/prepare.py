"""Steps of rules/prepare.smk: check a dataset's counts and sample sheet, map its gene IDs; read a gene-set library."""

from __future__ import annotations

import json
import logging

import pandas as pd

from .. import annotation as _annotation
from .. import genesets, tables
from ..util import atomic_write, write_json, write_tsv

log = logging.getLogger(__name__)


def prepare_dataset(
    *,
    dataset: str,
    dataset_config: dict,
    counts: str,
    samples: str,
    annotation: str,
    out_counts: str,
    out_samples: str,
    out_genes: str,
    out_info: str,
    source: str | None = None,
    out_selection: str | None = None,
) -> dict:
    """Validate a dataset's counts and sample sheet together and map its gene IDs.

    ``source_json`` is the download provenance of a dataset fetched from GEO or a URL. With
    ``select_by_expression`` in ``ds``, samples of one group are kept by the expression of
    a gene (see :mod:`pathverdict.selection`); the choice is written to ``out_selection``."""
    name, ds, annotation_path, counts_path, samples_path = dataset, dataset_config, annotation, counts, samples
    source_json, out_json = source, out_info
    from .. import selection

    cm = tables.read_counts(counts_path, round_counts=ds.get("round_counts", False))
    if cm.rounded_values:
        log.warning("%s: rounded %d non-integer counts (round_counts: true)", counts_path, cm.rounded_values)
    samples = tables.read_samples(samples_path)
    renamed, rename_notes = tables.map_alignment_columns(
        cm.counts.columns, samples, where=f"dataset {name}: {counts_path}: "
    )
    if renamed:
        cm.counts = cm.counts.rename(columns=renamed)
        log.warning(
            "dataset %s: %s: count columns named by alignment files were given the sample names of %s: %s",
            name,
            counts_path,
            samples_path,
            "; ".join(rename_notes),
        )
    counts = tables.check_design(samples, cm.counts, ds["design"], ds["contrast"], samples_path, counts_path, name)
    ann = _annotation.load_annotation(annotation_path)
    mapping = _annotation.map_ids(
        list(counts.index), ann, ds.get("gene_id_type", "auto"), where=f"dataset {name}: {counts_path}: "
    )
    log.info("%s: %s", name, mapping.summary())
    sel_info = None
    if ds.get("select_by_expression"):
        symbols = pd.Series(mapping.table["symbol"].to_numpy(), index=mapping.table["gene_id"])
        keep, table = selection.select_by_expression(
            counts, samples, symbols, ds["select_by_expression"], ds["contrast"], where=f"dataset {name}: "
        )
        samples, counts = samples.loc[keep], counts[keep]
        counts = tables.check_design(samples, counts, ds["design"], ds["contrast"], samples_path, counts_path, name)
        sel_info = {
            "rule": table["rule"].iloc[0],
            "kept": int((table["kept"] == "yes").sum()),
            "of": int((table["kept"] != "yes (reference)").sum()),
        }
        log.info("%s: selection by expression: %s", name, sel_info)
    else:
        table = pd.DataFrame({"sample": [], "note": []})
    if out_selection:
        if sel_info is None:
            table = pd.DataFrame({"note": ["no selection by expression: all samples of the sample sheet are used"]})
        write_tsv(table, out_selection)
    info = {
        "dataset": name,
        "counts_file": str(counts_path),
        "counts_sha256": genesets.sha256sum(counts_path),
        "samples_file": str(samples_path),
        "samples_sha256": genesets.sha256sum(samples_path),
        "annotation_file": str(annotation_path),
        "annotation_sha256": genesets.sha256sum(annotation_path),
        "genes": int(counts.shape[0]),
        "samples": int(counts.shape[1]),
        "rounded_values": cm.rounded_values,
        "design": ds["design"],
        "contrast": list(ds["contrast"]),
        "id_mapping": mapping.summary(),
        "selection_by_expression": sel_info,
        "count_layout": {k: v for k, v in cm.layout.items() if k in ("layout", "note", "dropped_columns", "tool")},
        "column_mapping": rename_notes,
    }
    if source_json:
        with open(source_json) as fh:
            info["source"] = json.load(fh)
        merged = info["source"].get("merged") or {}
        if merged.get("strandedness"):
            info["strandedness"] = merged["strandedness"]
        for key in ("count_layout", "column_mapping"):
            if info["source"].get(key):
                info[f"source_{key}"] = info["source"][key]
    with atomic_write(out_counts) as fh:
        counts.to_csv(fh, sep="\t", lineterminator="\n")
    write_tsv(samples.reset_index(), out_samples)
    write_tsv(mapping.table, out_genes)
    write_json(info, out_json)
    return info


def prepare_genesets(
    *,
    library: str,
    library_name: str,
    out_gmt: str,
    out_info: str,
    target: str | None = None,
    download: str | None = None,
) -> dict:
    """Read a library (GMT/Enrichr text), check the target is in it, write it as GMT with provenance.

    ``download_json`` is the provenance of a downloaded library (URL, release, retrieval date)."""
    name, source, out_json, download_json = library_name, library, out_info, download
    lib = genesets.read_library(source, name)
    if target is not None:
        lib.find(target)  # fail here, before any DE is run, when the target is not in the library
    genesets.write_gmt(lib, out_gmt)
    info = {
        "library": name,
        "source": str(source),
        "sha256": lib.sha256,
        "terms": len(lib),
        "genes": len(lib.genes()),
        "with_kegg_ids": sum(1 for v in lib.ids.values() if v),
        "release": name,
    }
    if download_json:
        with open(download_json) as fh:
            dl = json.load(fh)
        info.update(source=dl["url"], release=dl["release"], retrieved=dl["retrieved"], download=dl)
    write_json(info, out_json)
    return info
