"""Steps of rules/enrichment.smk: ORA of up/down/all DE genes, pre-ranked GSEA and CAMERA, every library."""

from __future__ import annotations

import logging

import pandas as pd

from .. import enrichment as _enrichment
from .. import genesets
from ..errors import InputError
from ..io import load_prepared_library, read_de, read_sample_sheet
from ..util import read_tsv, write_json, write_tsv

log = logging.getLogger(__name__)


def _gene_level(de_path: str) -> pd.DataFrame:
    return _enrichment.collapse_to_symbols(read_de(de_path))


def libraries_of(libraries: list[str], gmts: list[str]) -> dict[str, str]:
    """Library name -> prepared GMT, from the rule's ``libraries`` param and ``gmts`` input (same order)."""
    names, paths = list(libraries), [str(p) for p in gmts]
    if len(names) != len(paths):
        raise ValueError(f"{len(names)} libraries ({', '.join(names)}) but {len(paths)} GMT files")
    return dict(zip(names, paths))


def run_ora(
    *,
    dataset: str,
    de: str,
    gmts: list[str],
    libraries: list[str],
    enrichment: dict,
    out_up: str,
    out_down: str,
    out_all: str,
    out_info: str,
) -> dict:
    """ORA of up, down and all DE genes against every library, one table per direction."""
    e = enrichment
    outputs = {"up": out_up, "down": out_down, "all": out_all}
    genes = _gene_level(de)
    lists, background = _enrichment.de_gene_lists(genes, e["padj"], e["lfc"])
    tables_ = {d: [] for d in _enrichment.DIRECTIONS}
    overlap = {}
    for lib_name, gmt in libraries_of(libraries, gmts).items():
        lib = load_prepared_library(gmt, lib_name)
        overlap[lib_name] = genesets.check_overlap(lib, set(background), dataset)
        for direction in _enrichment.DIRECTIONS:
            tables_[direction].append(
                _enrichment.ora(
                    lists[direction], background, lib.sets, lib_name, lib.ids, e["ora_min_size"], e["ora_max_size"]
                )
            )
    for direction, path in outputs.items():
        write_tsv(pd.concat(tables_[direction], ignore_index=True), path)
    info = {
        "dataset": dataset,
        "background_size": len(background),
        "de_genes": {d: len(v) for d, v in lists.items()},
        "thresholds": {"padj": e["padj"], "lfc": e["lfc"]},
        "library_genes_in_background": overlap,
    }
    if not lists["all"]:
        log.warning(
            "%s: no DE genes at padj < %s and |log2FC| >= %s: over-representation analysis has nothing "
            "to test (the verdict says so)",
            dataset,
            e["padj"],
            e["lfc"],
        )
    write_json(info, out_info)
    return info


def run_gsea(
    *, dataset: str, de: str, gmts: list[str], libraries: list[str], enrichment: dict, out_gsea: str, threads: int = 1
) -> None:
    """Pre-ranked GSEA on the Wald statistic (one row per symbol), every library."""
    settings = _enrichment.GseaSettings.from_config(enrichment, threads)
    genes = _gene_level(de)
    ranking = genes.set_index("symbol")["stat"].astype(float)
    results = []
    for lib_name, gmt in libraries_of(libraries, gmts).items():
        lib = load_prepared_library(gmt, lib_name)
        genesets.check_overlap(lib, set(ranking.dropna().index), dataset)
        results.append(settings.run(ranking, lib, lib_name))
    write_tsv(pd.concat(results, ignore_index=True), out_gsea)


def run_camera(
    *,
    dataset: str,
    dataset_config: dict,
    de: str,
    vst: str,
    samples: str,
    gmts: list[str],
    libraries: list[str],
    enrichment: dict,
    out_camera: str,
) -> None:
    """CAMERA (:mod:`pathverdict.camera`) of every library on the VST of the genes GSEA ranks,
    with the DE step's design and contrast; sets reduced to those genes, GSEA's size limits."""
    from .. import camera

    e = enrichment
    de_table = read_de(de)
    vst_table = read_tsv(vst, index_col=0)
    sheet = read_sample_sheet(samples)
    missing = [s for s in vst_table.columns if s not in sheet.index]
    if missing:
        raise InputError(
            f"{vst}: sample(s) {', '.join(missing)} are not in {samples}: the files are not "
            "from the same run. Rerun the workflow (snakemake reruns the DE step)."
        )
    try:
        y = camera.expression_by_symbol(de_table, vst_table)
        design, contrast, _ = camera.design_and_contrast(
            sheet.loc[list(vst_table.columns)], dataset_config["design"], list(dataset_config["contrast"])
        )
    except ValueError as exc:
        raise InputError(f"dataset {dataset}: camera: {exc}") from exc
    cor = e.get("camera_inter_gene_cor")
    log.info(
        "%s: camera on the VST of %d genes x %d samples, inter-gene correlation %s",
        dataset,
        y.shape[0],
        y.shape[1],
        "estimated per set" if cor is None else f"preset to {cor}",
    )
    results = []
    for lib_name, gmt in libraries_of(libraries, gmts).items():
        lib = load_prepared_library(gmt, lib_name)
        genesets.check_overlap(lib, set(y.index), dataset)
        try:
            results.append(
                camera.camera(
                    y,
                    design,
                    contrast,
                    lib.sets,
                    lib_name,
                    lib.ids,
                    e["gsea_min_size"],
                    e["gsea_max_size"],
                    inter_gene_cor=cor,
                )
            )
        except ValueError as exc:
            raise InputError(f"dataset {dataset}, library {lib_name}: camera: {exc}") from exc
    write_tsv(pd.concat(results, ignore_index=True), out_camera)
