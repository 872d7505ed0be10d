"""Steps of rules/prepare.smk: check a dataset's counts and sample sheet, map its gene IDs; read a gene-set library."""

from __future__ import annotations

import json
import logging

import pandas as pd

from ..sources import annotation as _annotation
from .. import genesets, tables
from ..errors import InputError
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

    ``source`` is the download provenance of a dataset fetched from GEO or a URL. With
    ``select_by_expression`` in ``dataset_config``, samples of one group are kept by the expression of
    a gene (see :mod:`pathverdict.judgement.selection`); the choice is written to ``out_selection``."""
    from ..judgement import selection

    cm = tables.read_counts(counts, round_counts=dataset_config.get("round_counts", False))
    if cm.rounded_values:
        log.warning("%s: rounded %d non-integer counts (round_counts: true)", counts, cm.rounded_values)
    sheet = tables.read_samples(samples)
    renamed, rename_notes = tables.map_alignment_columns(
        cm.counts.columns, sheet, where=f"dataset {dataset}: {counts}: "
    )
    if renamed:
        cm.counts = cm.counts.rename(columns=renamed)
        log.warning(
            "dataset %s: %s: count columns named by alignment files were given the sample names of %s: %s",
            dataset,
            counts,
            samples,
            "; ".join(rename_notes),
        )
    matrix = tables.check_design(
        sheet, cm.counts, dataset_config["design"], dataset_config["contrast"], samples, counts, dataset
    )
    ann = _annotation.load_annotation(annotation)
    mapping = _annotation.map_ids(
        list(matrix.index), ann, dataset_config.get("gene_id_type", "auto"), where=f"dataset {dataset}: {counts}: "
    )
    log.info("%s: %s", dataset, mapping.summary())
    sel_info = None
    if dataset_config.get("select_by_expression"):
        symbols = pd.Series(mapping.table["symbol"].to_numpy(), index=mapping.table["gene_id"])
        keep, table = selection.select_by_expression(
            matrix,
            sheet,
            symbols,
            dataset_config["select_by_expression"],
            dataset_config["contrast"],
            where=f"dataset {dataset}: ",
        )
        sheet, matrix = sheet.loc[keep], matrix[keep]
        matrix = tables.check_design(
            sheet, matrix, dataset_config["design"], dataset_config["contrast"], samples, counts, dataset
        )
        sel_info = {
            "rule": table["rule"].iloc[0],
            "kept": int((table["kept"] == "yes").sum()),
            "of": int((table["kept"] != "yes (reference)").sum()),
        }
        log.info("%s: selection by expression: %s", dataset, sel_info)
    else:
        table = pd.DataFrame({"sample": [], "note": []})
    if out_selection:
        if sel_info is None:
            table = pd.DataFrame({"note": ["no selection by expression: all samples of the sample sheet are used"]})
        write_tsv(table, out_selection)
    info = {
        "dataset": dataset,
        "counts_file": str(counts),
        "counts_sha256": genesets.sha256sum(counts),
        "samples_file": str(samples),
        "samples_sha256": genesets.sha256sum(samples),
        "annotation_file": str(annotation),
        "annotation_sha256": genesets.sha256sum(annotation),
        "genes": int(matrix.shape[0]),
        "samples": int(matrix.shape[1]),
        "rounded_values": cm.rounded_values,
        "design": dataset_config["design"],
        "contrast": list(dataset_config["contrast"]),
        "id_mapping": mapping.summary(),
        "selection_by_expression": sel_info,
        "count_layout": {k: v for k, v in cm.layout.items() if k in ("layout", "note", "dropped_columns", "tool")},
        "column_mapping": rename_notes,
    }
    if source:
        with open(source) as fh:
            info["source"] = json.load(fh)
        merged = info["source"].get("merged") or {}
        if merged.get("strandedness"):
            info["strandedness"] = merged["strandedness"]
        for key in ("count_layout", "column_mapping"):
            if info["source"].get(key):
                info[f"source_{key}"] = info["source"][key]
    with atomic_write(out_counts) as fh:
        matrix.to_csv(fh, sep="\t", lineterminator="\n")
    write_tsv(sheet.reset_index(), out_samples)
    write_tsv(mapping.table, out_genes)
    write_json(info, out_info)
    return info


def de_table_spec(dataset_config: dict) -> dict:
    """A dataset's ``de_table`` entry as a mapping (a path or URL alone is ``{path: ...}`` / ``{url: ...}``)."""
    spec = dataset_config["de_table"]
    if isinstance(spec, str):
        return {"url": spec} if "://" in spec else {"path": spec}
    return dict(spec)


def import_de_table(
    *,
    dataset: str,
    dataset_config: dict,
    table: str,
    annotation: str,
    alpha: float,
    out_de: str,
    out_genes: str,
    out_info: str,
    out_summary: str,
    background: str | None = None,
    source: str | None = None,
) -> dict:
    """A dataset's published DE table (``de_table`` in the config) as its ``de.tsv``, with the gene IDs
    mapped (``input/gene_ids.tsv``), what was recognised (``input/prepare.json``) and the DE summary
    (``de_summary.json``): :mod:`pathverdict.sources.de_tables` reads it, :mod:`pathverdict.de.imported`
    decides the ranking and the background. ``background`` is the gene-list file of ``background:``,
    ``source`` the download record of a table fetched from a URL or GEO."""
    from ..de import imported
    from ..sources import de_tables

    spec = de_table_spec(dataset_config)
    where = f"dataset {dataset}: "
    read = de_tables.read_de_table(table, sheet=spec.get("sheet"), columns=spec.get("columns"))
    shown = dict(read.summary(), file=spec.get("path") or spec.get("url") or str(table))
    log.info(
        "%s: DE table %s: %s%s, %d rows; columns %s; statistic %s%s",
        dataset,
        shown["file"],
        read.layout,
        f", sheet {read.sheet!r}" if read.sheet is not None else "",
        len(read.table),
        ", ".join(f"{k} = {v!r}" for k, v in read.columns.items()),
        read.statistic or "none",
        "; " + "; ".join(read.notes) if read.notes else "",
    )
    bg = spec.get("background")
    bg_ids, bg_source = None, ""
    if bg is not None and bg != imported.PROTEIN_CODING:
        if not background:
            raise InputError(f"{where}background {bg!r}: the gene-list file was not given to the step.")
        with open(background, encoding="utf-8-sig") as fh:
            bg_ids = imported.background_ids(fh.read())
        if not bg_ids:
            raise InputError(f"{where}background {background}: the file lists no gene. Fix: one gene ID a line.")
        bg_source = str(background)
    result = imported.build(
        read,
        _annotation.load_annotation(annotation),
        id_type=dataset_config.get("gene_id_type", "auto"),
        background=bg_ids if bg_ids is not None else bg,
        background_source=bg_source,
        where=where,
    )
    log.info("%s: %s; GSEA ranks by %s", dataset, result.info["id_mapping"], result.info["ranking"])
    result.info["de_table"]["file"] = shown["file"]
    info = {
        "dataset": dataset,
        "de_table_file": str(table),
        "de_table_sha256": genesets.sha256sum(table),
        "annotation_file": str(annotation),
        "annotation_sha256": genesets.sha256sum(annotation),
        "genes": int(len(read.table)),
        "samples": None,
        **result.info,
    }
    if background:
        info["background_file_sha256"] = genesets.sha256sum(background)
    if source:
        with open(source) as fh:
            info["source"] = json.load(fh)
    write_tsv(result.de, out_de)
    write_tsv(result.genes, out_genes)
    write_json(info, out_info)
    write_json(imported.summary(result, dataset, alpha), out_summary)
    return info


def prepare_genesets(
    *,
    library: str,
    library_name: str,
    out_gmt: str,
    out_info: str,
    target: str | None = None,
    download: str | None = None,
    annotation: str | None = None,
) -> dict:
    """Read a library (GMT/Enrichr text), check the target is in it, write it as GMT with provenance.

    ``download`` is the provenance of a downloaded library (URL, release, retrieval date). With
    ``annotation`` (the workflow gives it for organisms other than human), genes written in another case
    than the annotation's symbols are renamed to them (``genesets.align_case``: HMOX1 -> Hmox1)."""
    lib = genesets.read_library(library, library_name)
    renamed = 0
    if annotation:
        lib, renamed = genesets.align_case(lib, _annotation.load_annotation(annotation).symbols)
        if renamed:
            log.info(
                "%s: %d genes written in another case than %s's symbols were renamed", library, renamed, annotation
            )
    if target is not None:
        lib.find(target)  # fail here, before any DE is run, when the target is not in the library
    genesets.write_gmt(lib, out_gmt)
    info = {
        "library": library_name,
        "source": str(library),
        "sha256": lib.sha256,
        "terms": len(lib),
        "genes": len(lib.genes()),
        "with_kegg_ids": sum(1 for v in lib.ids.values() if v),
        "release": library_name,
        "genes_renamed_to_annotation_case": renamed,
    }
    if download:
        with open(download) as fh:
            dl = json.load(fh)
        info.update(source=dl["url"], release=dl["release"], retrieved=dl["retrieved"], download=dl)
    write_json(info, out_info)
    return info
