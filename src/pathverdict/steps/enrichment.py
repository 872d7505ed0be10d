"""Step of rules/enrichment.smk: every enrichment of one dataset's DE table in one job -- ORA of
up/down/all DE genes, CAMERA, pre-ranked GSEA (every library), then the re-runs that test the
answer: the target's rank over DE thresholds (robustness grid) and its sensitivity (without the
metallothioneins, leaving one gene out, per release).

One job rather than five: they read the same DE table and libraries, and each job is a new
Python process that imports pandas, scipy and gseapy (0.5-1.5 s of CPU before any work); the
sub-steps below stay separate functions with their own outputs."""

from __future__ import annotations

import logging
import time

import pandas as pd

from .. import enrichment as _enrichment
from .. import genesets
from ..judgement import robustness as _robustness
from ..judgement import sensitivity as _sensitivity
from ..enrichment import GseaSettings
from ..errors import InputError
from ..io import libraries_of, load_libraries, read_de, read_enrichment, read_gene_ids, read_sample_sheet
from ..util import read_tsv, write_json, write_tsv
from ..judgement.verdict import VerdictSettings
from .plots import plot_dataset

log = logging.getLogger(__name__)


def _gene_level(de_path: str) -> pd.DataFrame:
    return _enrichment.collapse_to_symbols(read_de(de_path))


def _libraries(libraries: list[str], gmts: list[str], loaded: dict | None) -> dict:
    """The libraries (name -> prepared library): ``loaded`` when the caller read them already."""
    return loaded if loaded is not None else load_libraries(libraries_of(libraries, gmts))


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
    loaded: dict | None = None,
) -> dict:
    """ORA of up, down and all DE genes against every library, one table per direction.
    ``loaded``: the libraries already read (name -> library), else read from ``gmts``."""
    e = enrichment
    outputs = {"up": out_up, "down": out_down, "all": out_all}
    genes = _gene_level(de)
    lists, background = _enrichment.de_gene_lists(genes, e["padj"], e["lfc"])
    tables_ = {d: [] for d in _enrichment.DIRECTIONS}
    overlap = {}
    for lib_name, lib in _libraries(libraries, gmts, loaded).items():
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
    *,
    dataset: str,
    de: str,
    gmts: list[str],
    libraries: list[str],
    enrichment: dict,
    out_gsea: str,
    threads: int = 1,
    loaded: dict | None = None,
) -> None:
    """Pre-ranked GSEA on the Wald statistic (one row per symbol), every library."""
    settings = _enrichment.GseaSettings.from_config(enrichment, threads)
    genes = _gene_level(de)
    ranking = genes.set_index("symbol")["stat"].astype(float)
    results = []
    for lib_name, lib in _libraries(libraries, gmts, loaded).items():
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
    loaded: dict | None = None,
) -> None:
    """CAMERA (:mod:`pathverdict.enrichment.camera`) of every library on the VST of the genes GSEA ranks,
    with the DE step's design and contrast; sets reduced to those genes, GSEA's size limits."""
    from ..enrichment import camera

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
    for lib_name, lib in _libraries(libraries, gmts, loaded).items():
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


def _gsea_by_library(gsea: str, libs) -> dict[str, pd.DataFrame]:
    table = read_enrichment(gsea)
    return {name: table[table["library"].astype(str) == name] for name in libs}


def robustness_grid(
    *,
    dataset: str,
    de: str,
    gmts: list[str],
    libraries: list[str],
    target: str,
    robustness: dict,
    enrichment: dict,
    verdict_settings: dict,
    out_grid: str,
    gsea: str | None = None,
    loaded: dict | None = None,
) -> pd.DataFrame:
    """:func:`pathverdict.judgement.robustness.robustness_grid` of one dataset (``robustness.padj`` x
    ``robustness.lfc``, the workflow's ORA size limits and verdict rules, so the grid agrees
    with the verdict); GSEA rows copied from ``gsea`` when given."""
    libs = _libraries(libraries, gmts, loaded)
    v = verdict_settings
    grid = _robustness.robustness_grid(
        read_de(de),
        libs,
        target,
        padj_grid=robustness["padj"],
        lfc_grid=robustness["lfc"],
        ora_min_size=enrichment["ora_min_size"],
        ora_max_size=enrichment["ora_max_size"],
        gsea_tables=_gsea_by_library(gsea, libs) if gsea else None,
        dataset=dataset,
        top_n=v["top_n"],
        max_fdr=v["max_fdr"],
        min_overlap=v["min_overlap"],
        min_de_genes=v["min_de_genes"],
    )
    write_tsv(grid, out_grid)
    return grid


def sensitivity_dataset(
    *,
    dataset: str,
    de: str,
    gmts: list[str],
    libraries: list[str],
    target: str,
    enrichment: dict,
    verdict_settings: dict,
    alpha: float,
    out_tsv: str,
    sensitivity: dict | None = None,
    genes: str | None = None,
    gsea: str | None = None,
    threads: int = 1,
    loaded: dict | None = None,
    organism: str | None = None,
) -> pd.DataFrame:
    """:func:`pathverdict.judgement.sensitivity.sensitivity` of one dataset: ``gsea`` is its ``gsea.tsv``
    (none: no GSEA rows), ``genes`` its ``input/gene_ids.tsv``; ``sensitivity.gsea`` re-runs GSEA
    without the metallothioneins."""
    start = time.monotonic()
    libs = _libraries(libraries, gmts, loaded)
    e = enrichment
    gsea_tables = _gsea_by_library(gsea, libs) if gsea else None
    rerun = None
    if gsea_tables is not None and (sensitivity or {}).get("gsea", True):
        rerun = GseaSettings.from_config(e, threads)
    table = _sensitivity.sensitivity(
        read_de(de),
        libs,
        target,
        settings=VerdictSettings.from_config(verdict_settings, alpha, organism),
        padj=e["padj"],
        lfc=e["lfc"],
        ora_min_size=e["ora_min_size"],
        ora_max_size=e["ora_max_size"],
        gsea_tables=gsea_tables,
        gsea=rerun,
        input_genes=read_gene_ids(genes) if genes else None,
        dataset=dataset,
    )
    write_tsv(table, out_tsv)
    log.info(
        "%s: %d sensitivity rows in %.1f s (GSEA %s without the metallothioneins)",
        dataset,
        len(table),
        time.monotonic() - start,
        "re-run" if rerun is not None else "not re-run",
    )
    return table


def enrich_dataset(
    *,
    dataset: str,
    dataset_config: dict,
    de: str,
    vst: str,
    samples: str,
    genes: str,
    gmts: list[str],
    libraries: list[str],
    target: str,
    enrichment: dict,
    robustness: dict,
    verdict_settings: dict,
    alpha: float,
    out_up: str,
    out_down: str,
    out_all: str,
    out_info: str,
    out_camera: str,
    out_gsea: str,
    out_pca: str,
    out_ma: str,
    out_volcano: str,
    out_dotplot: str,
    out_grid: str | None = None,
    out_sensitivity: str | None = None,
    sensitivity: dict | None = None,
    simulated: bool = False,
    threads: int = 1,
) -> None:
    """Rule enrichment: :func:`run_ora`, :func:`run_camera`, :func:`run_gsea`, then
    :func:`robustness_grid` and :func:`sensitivity_dataset` with the GSEA just written, each
    to its own outputs (the last two only when the rule asks for their output:
    ``robustness.enabled`` / ``sensitivity.enabled``), then the dataset's figures
    (:func:`pathverdict.steps.plots.plot_dataset`, from the tables just written)."""
    common = {
        "dataset": dataset,
        "de": de,
        "gmts": gmts,
        "libraries": libraries,
        "enrichment": enrichment,
        "loaded": load_libraries(libraries_of(libraries, gmts)),  # read once for the five
    }
    started = time.monotonic()
    run_ora(**common, out_up=out_up, out_down=out_down, out_all=out_all, out_info=out_info)
    run_camera(**common, dataset_config=dataset_config, vst=vst, samples=samples, out_camera=out_camera)
    run_gsea(**common, out_gsea=out_gsea, threads=threads)
    done = ["ORA", "CAMERA", "GSEA"]
    if out_grid:
        robustness_grid(
            **common,
            target=target,
            robustness=robustness,
            verdict_settings=verdict_settings,
            gsea=out_gsea,
            out_grid=out_grid,
        )
        done.append("robustness grid")
    if out_sensitivity:
        sensitivity_dataset(
            **common,
            target=target,
            verdict_settings=verdict_settings,
            alpha=alpha,
            sensitivity=sensitivity,
            genes=genes,
            gsea=out_gsea,
            out_tsv=out_sensitivity,
            threads=threads,
            organism=dataset_config.get("organism"),
        )
        done.append("sensitivity")
    plot_dataset(
        dataset=dataset,
        dataset_config=dataset_config,
        de=de,
        vst=vst,
        samples=samples,
        ora_up=out_up,
        ora_down=out_down,
        ora_all=out_all,
        gsea=out_gsea,
        gmts=gmts,
        libraries=libraries,
        target=target,
        alpha=alpha,
        out_pca=out_pca,
        out_ma=out_ma,
        out_volcano=out_volcano,
        out_dotplot=out_dotplot,
        simulated=simulated,
    )
    done.append("figures")
    log.info("%s: %s in %.1f s", dataset, ", ".join(done), time.monotonic() - started)
