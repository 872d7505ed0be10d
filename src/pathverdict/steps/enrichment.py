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
from ..io import libraries_of, load_libraries, read_de, read_enrichment, read_gene_ids, read_json, read_sample_sheet
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
    record: str | None = None,
) -> dict:
    """ORA of up, down and all DE genes against every library, one table per direction.
    ``loaded``: the libraries already read (name -> library), else read from ``gmts``. ``record``: the
    ``input/prepare.json`` of a dataset given as a DE table: what its table cannot test (CAMERA, and GSEA
    for a table of significant genes only) and what its background does to the p-values go into
    ``ora.json`` (``not_tested``, ``notes``), which the verdict reads."""
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
    if record:
        info.update(table_limits(read_json(record), e["padj"]))
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


def table_limits(record: dict, padj: float | None = None) -> dict:
    """What a dataset given as a DE table cannot test, and the notes its ORA rows carry, from its
    ``input/prepare.json`` (``not_tested``: method -> reason; ``notes``: method -> note; ``listed``: the
    thresholds the table covers). Empty for a dataset with counts."""
    if "de_table" not in record:
        return {}
    table = record["de_table"]
    where = f"a DE table ({table.get('layout', '')}) has no counts"
    not_tested = {"camera": f"CAMERA needs the expression of every sample: {where}"}
    notes, listed = {}, {}
    background = record.get("background")
    if record.get("significant_only"):
        not_tested["gsea"] = (
            "pre-ranked GSEA needs every tested gene ranked: the table lists significant genes only "
            f"({record['significant_only']})"
        )
        listed = {"padj": record.get("listed_max_padj")}
        cover = listed["padj"]
        if cover is not None and padj is not None and padj > cover:
            notes["ora"] = (
                f"the table lists genes up to padj {cover:.3g}, so DE at padj < {padj} is DE at the table's own "
                "threshold"
            )
    if background:
        notes["ora"] = "; ".join(x for x in (notes.get("ora"), background["note"]) if x)
    return {"not_tested": not_tested, "notes": notes, "listed": listed}


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
    limits: dict | None = None,
) -> pd.DataFrame:
    """:func:`pathverdict.judgement.robustness.robustness_grid` of one dataset (``robustness.padj`` x
    ``robustness.lfc``, the workflow's ORA size limits and verdict rules, so the grid agrees
    with the verdict); GSEA rows copied from ``gsea`` when given. ``limits`` (:func:`table_limits`) of a
    DE table: cells beyond the thresholds the table covers, and its untested GSEA, are ``not_tested``."""
    limits = limits or {}
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
        listed=limits.get("listed"),
        not_tested=limits.get("not_tested"),
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


def _not_tested(dataset: str, method: str, reason: str, out: str) -> None:
    """An enrichment table without rows, for a method the dataset's data cannot test (``ora.json`` says why)."""
    from ..enrichment import camera

    write_tsv(pd.DataFrame(columns=camera.CAMERA_COLUMNS if method == "camera" else _enrichment.GSEA_COLUMNS), out)
    log.info("%s: %s not tested: %s", dataset, method, reason)


def enrich_dataset(
    *,
    dataset: str,
    dataset_config: dict,
    de: str,
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
    vst: str | None = None,
    samples: str | None = None,
    record: str | None = None,
    counts: str | None = None,
    summary: str | None = None,
    out_qc: str | None = None,
    out_confounding: str | None = None,
    out_loo: str | None = None,
    de_settings: dict | None = None,
    leave_one_sample_out: dict | None = None,
) -> None:
    """Rule enrichment: :func:`run_ora`, :func:`run_camera`, :func:`run_gsea`, then
    :func:`robustness_grid` and :func:`sensitivity_dataset` with the GSEA just written, each
    to its own outputs (the last two only when the rule asks for their output:
    ``robustness.enabled`` / ``sensitivity.enabled``), the sample checks
    (:func:`pathverdict.steps.samples.check_samples`: QC, confounding, leaving one sample out
    against the first library, compared with the tables just written; when the rule asks for
    ``out_qc``), then the dataset's figures (:func:`pathverdict.steps.plots.plot_dataset`, from the
    tables just written).

    A dataset given as a DE table (``record``: its ``input/prepare.json``; no ``counts``, ``vst`` or
    ``samples``) gets an empty CAMERA table, and, when its table lists significant genes only, an empty
    GSEA table: ``ora.json`` says why (:func:`table_limits`), the verdict marks them ``not_tested``; its
    sample checks are ``not tested`` with the reason (they need every sample's counts)."""
    limits = table_limits(read_json(record), enrichment["padj"]) if record else {}
    skip = limits.get("not_tested", {})
    common = {
        "dataset": dataset,
        "de": de,
        "gmts": gmts,
        "libraries": libraries,
        "enrichment": enrichment,
        "loaded": load_libraries(libraries_of(libraries, gmts)),  # read once for the five
    }
    started = time.monotonic()
    run_ora(**common, out_up=out_up, out_down=out_down, out_all=out_all, out_info=out_info, record=record)
    done = ["ORA"]
    if "camera" in skip:
        _not_tested(dataset, "camera", skip["camera"], out_camera)
    else:
        run_camera(**common, dataset_config=dataset_config, vst=vst, samples=samples, out_camera=out_camera)
        done.append("CAMERA")
    if "gsea" in skip:
        _not_tested(dataset, "gsea", skip["gsea"], out_gsea)
    else:
        run_gsea(**common, out_gsea=out_gsea, threads=threads)
        done.append("GSEA")
    if out_grid:
        robustness_grid(
            **common,
            target=target,
            robustness=robustness,
            verdict_settings=verdict_settings,
            gsea=out_gsea,
            out_grid=out_grid,
            limits=limits,
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
            gsea=None if "gsea" in skip else out_gsea,
            out_tsv=out_sensitivity,
            threads=threads,
            organism=dataset_config.get("organism"),
        )
        done.append("sensitivity")
    if out_qc:
        from .samples import check_samples

        check_samples(
            dataset=dataset,
            dataset_config=dataset_config,
            counts=counts,
            samples=samples,
            genes=genes,
            de=de,
            vst=vst,
            summary=summary,
            ora_up=out_up,
            ora_down=out_down,
            ora_all=out_all,
            ora_info=out_info,
            gsea=out_gsea,
            camera=out_camera,
            gmt=gmts[0],
            library=libraries[0],
            target=target,
            de_settings=de_settings,
            enrichment=enrichment,
            verdict_settings=verdict_settings,
            alpha=alpha,
            leave_one_sample_out=leave_one_sample_out or {"enabled": False},
            out_qc=out_qc,
            out_confounding=out_confounding,
            out_loo=out_loo,
            threads=threads,
            loaded=common["loaded"],
            record=record,
        )
        done.append("sample checks")
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
