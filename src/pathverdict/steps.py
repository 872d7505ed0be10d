"""One function per workflow step: read input files, call the science, write outputs.

The Snakemake scripts in ``scripts/`` only unpack the ``snakemake`` object and call these.
All outputs are written atomically.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from . import annotation, de, enrichment, genesets, tables, verdict
from .errors import InputError
from .util import atomic_write, read_text_table, read_tsv, write_json, write_tsv

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- prepare


def prepare_dataset(
    name: str,
    ds: dict,
    annotation_path: str,
    counts_path: str,
    samples_path: str,
    out_counts: str,
    out_samples: str,
    out_genes: str,
    out_json: str,
    source_json: str | None = None,
    out_selection: str | None = None,
) -> dict:
    """Validate a dataset's counts and sample sheet together and map its gene IDs.

    ``source_json`` is the download provenance of a dataset fetched from GEO or a URL. With
    ``select_by_expression`` in ``ds``, samples of one group are kept by the expression of
    a gene (see :mod:`pathverdict.selection`); the choice is written to ``out_selection``."""
    from . import selection

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
    ann = annotation.load_annotation(annotation_path)
    mapping = annotation.map_ids(
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


def prepare_library(
    name: str, source: str, out_gmt: str, out_json: str, target: str | None = None, download_json: str | None = None
) -> dict:
    """Read a library (GMT/Enrichr text), check the target is in it, write it as GMT with provenance.

    ``download_json`` is the provenance of a downloaded library (URL, release, retrieval date)."""
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


def load_prepared_library(gmt: str, name: str) -> genesets.GeneSetLibrary:
    """Read a GMT written by :func:`prepare_library` (KEGG IDs in the description field)."""
    return genesets.read_prepared_library(gmt, name)


# --------------------------------------------------------------------------- DE


def de_params(ds: dict, cfg: dict, threads: int) -> de.DEParams:
    d = cfg["de"]
    return de.DEParams(
        design=ds["design"],
        contrast=list(ds["contrast"]),
        alpha=d["alpha"],
        min_count=d["prefilter"]["min_count"],
        min_samples=d["prefilter"]["min_samples"],
        independent_filtering=d["independent_filtering"],
        cooks_filter=d["cooks_filter"],
        shrink=d["shrinkage"],
        threads=threads,
    )


def run_de(
    name: str,
    ds: dict,
    cfg: dict,
    threads: int,
    counts_path: str,
    samples_path: str,
    genes_path: str,
    out_de: str,
    out_normalized: str,
    out_vst: str,
    out_json: str,
) -> dict:
    samples = read_tsv(samples_path, dtype=str, keep_default_na=False).set_index("sample")
    # gene IDs as text (a gene "NA" stays "NA"); counts as int32: the prepare step refused any count
    # above 2^31 - 1 (R's integer limit), and half the memory of int64 for a cohort-sized matrix
    counts = read_tsv(counts_path, index_col=0, dtype={s: np.int32 for s in samples.index})
    symbols = read_tsv(genes_path, dtype={"gene_id": str, "symbol": "string"}).set_index("gene_id")["symbol"]
    result = de.run_deseq2(counts, samples, de_params(ds, cfg, threads))
    res = result.results.copy()
    res.insert(0, "symbol", symbols.reindex(res.index).to_numpy())
    res = res.reset_index()
    order = res["padj"].fillna(np.inf).to_numpy()
    res = res.iloc[np.lexsort((res["gene_id"].to_numpy(), res["pvalue"].fillna(np.inf).to_numpy(), order))]
    write_tsv(res, out_de)
    # genes x samples tables written block by block (peak memory independent of the matrix size)
    with atomic_write(out_normalized) as fh_norm, atomic_write(out_vst) as fh_vst:
        for i, (norm, vst) in enumerate(result.blocks()):
            norm = norm.round(3)
            norm.insert(0, "symbol", symbols.reindex(norm.index).to_numpy())
            norm.reset_index().rename(columns={"index": "gene_id"}).to_csv(
                fh_norm, sep="\t", index=False, header=i == 0, float_format="%.6g", lineterminator="\n"
            )
            vst.round(4).reset_index().rename(columns={"index": "gene_id"}).to_csv(
                fh_vst, sep="\t", index=False, header=i == 0, float_format="%.6g", lineterminator="\n"
            )
    summary = dict(
        result.summary,
        dataset=name,
        design=ds["design"],
        contrast=list(ds["contrast"]),
        size_factors={k: round(float(v), 6) for k, v in result.size_factors.items()},
    )
    write_json(summary, out_json)
    return summary


def read_de(path: str) -> pd.DataFrame:
    return read_tsv(path, dtype={"gene_id": str, "symbol": "string"})


# --------------------------------------------------------------------------- enrichment


def _gene_level(de_path: str) -> pd.DataFrame:
    return enrichment.collapse_to_symbols(read_de(de_path))


def run_ora(
    name: str, cfg: dict, de_path: str, libraries: dict[str, str], outputs: dict[str, str], out_json: str
) -> dict:
    """ORA of up, down and all DE genes against every library; ``outputs`` maps direction -> path."""
    e = cfg["enrichment"]
    genes = _gene_level(de_path)
    lists, background = enrichment.de_gene_lists(genes, e["padj"], e["lfc"])
    tables_ = {d: [] for d in enrichment.DIRECTIONS}
    overlap = {}
    for lib_name, gmt in libraries.items():
        lib = load_prepared_library(gmt, lib_name)
        overlap[lib_name] = genesets.check_overlap(lib, set(background), name)
        for direction in enrichment.DIRECTIONS:
            tables_[direction].append(
                enrichment.ora(
                    lists[direction], background, lib.sets, lib_name, lib.ids, e["ora_min_size"], e["ora_max_size"]
                )
            )
    for direction, path in outputs.items():
        write_tsv(pd.concat(tables_[direction], ignore_index=True), path)
    info = {
        "dataset": name,
        "background_size": len(background),
        "de_genes": {d: len(v) for d, v in lists.items()},
        "thresholds": {"padj": e["padj"], "lfc": e["lfc"]},
        "library_genes_in_background": overlap,
    }
    if not lists["all"]:
        log.warning(
            "%s: no DE genes at padj < %s and |log2FC| >= %s: over-representation analysis has nothing "
            "to test (the verdict says so)",
            name,
            e["padj"],
            e["lfc"],
        )
    write_json(info, out_json)
    return info


def run_gsea(name: str, cfg: dict, threads: int, de_path: str, libraries: dict[str, str], out: str) -> None:
    e = cfg["enrichment"]
    genes = _gene_level(de_path)
    ranking = genes.set_index("symbol")["stat"].astype(float)
    results = []
    for lib_name, gmt in libraries.items():
        lib = load_prepared_library(gmt, lib_name)
        genesets.check_overlap(lib, set(ranking.dropna().index), name)
        results.append(
            enrichment.gsea(
                ranking,
                lib.sets,
                lib_name,
                lib.ids,
                e["gsea_min_size"],
                e["gsea_max_size"],
                e["gsea_permutations"],
                e["seed"],
                threads,
            )
        )
    write_tsv(pd.concat(results, ignore_index=True), out)


def run_camera(
    name: str, ds: dict, cfg: dict, de_path: str, vst_path: str, samples_path: str, libraries: dict[str, str], out: str
) -> None:
    """CAMERA (:mod:`pathverdict.camera`) of every library on the VST of the genes GSEA ranks,
    with the DE step's design and contrast; sets reduced to those genes, GSEA's size limits."""
    from . import camera

    e = cfg["enrichment"]
    de_table = read_de(de_path)
    vst = read_tsv(vst_path, index_col=0)
    samples = read_tsv(samples_path, dtype=str, keep_default_na=False).set_index("sample")
    missing = [s for s in vst.columns if s not in samples.index]
    if missing:
        raise InputError(
            f"{vst_path}: sample(s) {', '.join(missing)} are not in {samples_path}: the files are not "
            "from the same run. Rerun the workflow (snakemake reruns the DE step)."
        )
    try:
        y = camera.expression_by_symbol(de_table, vst)
        design, contrast, _ = camera.design_and_contrast(
            samples.loc[list(vst.columns)], ds["design"], list(ds["contrast"])
        )
    except ValueError as exc:
        raise InputError(f"dataset {name}: camera: {exc}") from exc
    cor = e.get("camera_inter_gene_cor")
    log.info(
        "%s: camera on the VST of %d genes x %d samples, inter-gene correlation %s",
        name,
        y.shape[0],
        y.shape[1],
        "estimated per set" if cor is None else f"preset to {cor}",
    )
    results = []
    for lib_name, gmt in libraries.items():
        lib = load_prepared_library(gmt, lib_name)
        genesets.check_overlap(lib, set(y.index), name)
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
            raise InputError(f"dataset {name}, library {lib_name}: camera: {exc}") from exc
    write_tsv(pd.concat(results, ignore_index=True), out)


def read_enrichment(path: str) -> pd.DataFrame:
    return read_tsv(path, dtype={"term_id": str, "overlap_genes": str, "leading_edge": str}).fillna(
        {"term_id": "", "overlap_genes": "", "leading_edge": ""}
    )


# --------------------------------------------------------------------------- verdict


def verdict_settings(cfg: dict) -> verdict.VerdictSettings:
    v = cfg["verdict"]
    d = verdict.VerdictSettings()
    return verdict.VerdictSettings(
        top_n=v["top_n"],
        max_fdr=v["max_fdr"],
        primary=v["primary"],
        alpha=cfg["de"]["alpha"],
        genes=tuple(v["genes"]),
        gene_patterns=tuple(v["gene_patterns"]),
        min_overlap=v.get("min_overlap", d.min_overlap),
        min_de_genes=v.get("min_de_genes", d.min_de_genes),
    )


def make_verdict(
    cfg: dict,
    datasets: list[str],
    de_paths: list[str],
    enrichment_dirs: list[str],
    libraries: dict[str, str],
    out_tsv: str,
    out_genes: str,
    out_md: str,
    out_html: str,
    banner: str = "",
    gene_id_paths: list[str] | None = None,
) -> pd.DataFrame:
    """``results/verdict.tsv`` (target per dataset x library x method, with its status),
    ``results/verdict_genes.tsv`` (genes of interest) and their Markdown/HTML pages. Each
    enrichment directory holds ``ora_{up,down,all}.tsv``, ``ora.json``, ``gsea.tsv`` and (judged
    when present, always in the workflow) ``camera.tsv``."""
    settings = verdict_settings(cfg)
    target = cfg["target_pathway"]
    libs = {n: load_prepared_library(p, n) for n, p in libraries.items()}
    targets = {n: lib.find(target) for n, lib in libs.items()}
    rows, gene_rows = [], []
    gene_id_paths = gene_id_paths or [None] * len(datasets)
    for ds, de_path, edir, ids_path in zip(datasets, de_paths, enrichment_dirs, gene_id_paths):
        de_table = read_de(de_path)
        input_genes = None
        if ids_path:
            input_genes = read_tsv(
                ids_path,
                dtype={"gene_id": str, "symbol": "string", "gene_type": str},
                keep_default_na=False,
                na_values={"symbol": [""]},
            )
            if "gene_type" not in input_genes.columns or not (input_genes["gene_type"] != "").any():
                log.warning(
                    "%s: the annotation gives no gene type: metallothionein pseudogenes are recognised by "
                    "their names only (e.g. MT1P3, MT1XP1); use an annotation with a gene type column "
                    "(NCBI gene_info type_of_gene, GEO GeneType)",
                    ds,
                )
        tabs = {f"ora_{d}": read_enrichment(f"{edir}/ora_{d}.tsv") for d in enrichment.DIRECTIONS}
        tabs["gsea"] = read_enrichment(f"{edir}/gsea.tsv")
        if Path(f"{edir}/camera.tsv").is_file():  # an input of the verdict rule; absent in older results
            tabs["camera"] = read_enrichment(f"{edir}/camera.tsv")
        with open(f"{edir}/ora.json") as fh:
            sizes = json.load(fh)["de_genes"]
        for lib_name, term in targets.items():
            rows.append(
                verdict.judge_dataset(
                    ds,
                    lib_name,
                    term,
                    libs[lib_name].ids.get(term),
                    tabs,
                    {f"ora_{d}": n for d, n in sizes.items()},
                    settings,
                )
            )
        gene_rows.append(verdict.gene_status(ds, de_table, settings, input_genes))
    table = pd.concat(rows, ignore_index=True)
    genes = pd.concat(gene_rows, ignore_index=True)
    title = f"Is {target} on top?"
    write_tsv(table, out_tsv)
    write_tsv(genes, out_genes)
    with atomic_write(out_md) as fh:
        fh.write(verdict.to_markdown(table, genes, settings, title, banner))
    with atomic_write(out_html) as fh:
        fh.write(verdict.to_html(table, genes, settings, title, banner))
    for line in verdict.summary_sentences(table, genes, settings):
        log.info(line)
    return table


def make_claims(
    cfg: dict,
    roles: dict[str, str],
    verdict_path: str,
    genes_path: str,
    out_tsv: str,
    out_html: str,
    null_path: str | None = None,
    selection_paths: list[str] | None = None,
    selected: list[str] | None = None,
    library: str | None = None,
    banner: str = "",
    sensitivity_path: str | None = None,
    directions_path: str | None = None,
    calibration_path: str | None = None,
) -> pd.DataFrame:
    """``results/claims.tsv`` and ``claims.html`` from the verdict tables and, when the
    label-permutation null is enabled, ``results/null.tsv`` and the selection analyses
    of every dataset with ``select_by_expression`` (``selected``); with
    ``results/sensitivity.tsv`` and ``sensitivity_directions.tsv`` the pathway claims'
    evidence also gives the sensitivity of the answer (shown, never counted) and the page a
    section of it; ``results/calibration.tsv`` is shown beside each dataset's answer."""
    from . import claims
    from . import sensitivity as _sensitivity

    settings = verdict_settings(cfg)
    target = cfg["target_pathway"]
    null_cfg = cfg.get("null", {})
    table = verdict.read_verdict(verdict_path)
    genes = verdict.read_genes(genes_path)
    null = claims.read_null(null_path) if null_path else None
    selection = claims.read_selection(selection_paths or [])
    sens = _sensitivity.read_sensitivity(sensitivity_path) if sensitivity_path else None
    dirs = _sensitivity.read_directions(directions_path) if directions_path else None
    ctable = claims.evaluate(
        table,
        genes,
        roles,
        target=target,
        key_genes=settings.genes,
        max_fdr=settings.max_fdr,
        library=library,
        null=null,
        selected=selected or [],
        null_enabled=bool(null_cfg.get("enabled", True)) and null_path is not None,
        null_alpha=float(null_cfg.get("alpha", 0.05)),
        sensitivity=sens,
        directions=dirs,
    )
    summary = claims.summarise(ctable)
    write_tsv(ctable, out_tsv)
    with atomic_write(out_html) as fh:
        cal = claims.read_calibration(calibration_path) if calibration_path else None
        fh.write(
            claims.to_html(
                ctable,
                summary,
                target,
                settings.genes,
                banner,
                selection=selection,
                selected=selected or [],
                calibration=cal,
                sensitivity=sens,
            )
        )
    log.info(claims.paragraph(ctable, summary, target, settings.genes, calibration=cal))
    return ctable


def make_calibration(
    datasets: dict[str, dict], sample_paths: dict[str, str], primary: str, out_tsv: str, table_path: str | None = None
) -> pd.DataFrame:
    """``results/calibration.tsv``: the calibrated false-positive rate and power of the headline
    method for each dataset's design (:func:`pathverdict.calibration.dataset_rows`), from the
    package table or ``table_path``."""
    from . import calibration

    sheets = {name: read_tsv(path, dtype=str, keep_default_na=False) for name, path in sample_paths.items()}
    table = calibration.read_table(table_path) if table_path else None
    out = calibration.dataset_rows(
        datasets, sheets, primary, table=table, table_source=f"table {table_path}" if table_path else None
    )
    write_tsv(out, out_tsv)
    sentence = calibration.sentence(out)
    if sentence:
        log.info(sentence)
    return out


# --------------------------------------------------------------------------- plots


def _target_genes(libraries: dict[str, str], target: str) -> tuple[str, list[str]]:
    """The target's name and genes in the first library (the one plots are drawn for)."""
    name, gmt = next(iter(libraries.items()))
    lib = load_prepared_library(gmt, name)
    term = lib.find(target)
    return term, lib.sets[term]


def plot_dataset(
    name: str,
    ds: dict,
    target: str,
    alpha: float,
    libraries: dict[str, str],
    de_path: str,
    vst_path: str,
    samples_path: str,
    enrichment_paths: dict[str, str],
    outputs: dict[str, str],
    simulated: bool = False,
) -> None:
    from . import plots

    tag = "SIMULATED — " if simulated else ""
    de_table = read_de(de_path)
    vst = read_tsv(vst_path, index_col=0)
    samples = read_tsv(samples_path, dtype=str, keep_default_na=False).set_index("sample")
    var = ds["contrast"][0]
    others = [v for v in tables.formula_variables(ds["design"]) if v != var]
    term, genes = _target_genes(libraries, target)
    first = next(iter(libraries))
    enr = {}
    for method, path in enrichment_paths.items():
        t = read_enrichment(path)
        enr[method] = t[t["library"] == first].reset_index(drop=True)
    var_, tested, ref = ds["contrast"]
    label = f"{tag}{name}: {tested} vs {ref}"
    plots.pca_plot(
        vst,
        samples,
        color_by=var,
        out=outputs["pca"],
        title=f"{tag}{name}: PCA of VST counts",
        shape_by=others[0] if others else None,
    )
    if "log2FoldChange_shrunk" in de_table.columns:  # DESeq2 draws MA plots of shrunken fold changes
        plots.ma_plot(
            de_table.assign(log2FoldChange=de_table["log2FoldChange_shrunk"]),
            alpha,
            outputs["ma"],
            title=f"{label} (MA plot, shrunken log2FC)",
        )
    else:
        plots.ma_plot(de_table, alpha, outputs["ma"], title=f"{label} (MA plot)")
    plots.volcano_plot(
        de_table, alpha, outputs["volcano"], title=f"{label} (volcano)", highlight=genes, highlight_name=term
    )
    plots.enrichment_dotplot(enr, outputs["dotplot"], title=f"{tag}{name}: top {first} pathways", target=term)


def plot_target_heatmap(
    datasets: list[str],
    de_paths: list[str],
    target: str,
    alpha: float,
    libraries: dict[str, str],
    out: str,
    simulated: bool = False,
) -> None:
    from . import plots

    term, genes = _target_genes(libraries, target)
    lfc, padj = {}, {}
    for ds, path in zip(datasets, de_paths):
        g = enrichment.collapse_to_symbols(read_de(path))
        lfc[ds] = g["log2FoldChange"].reindex(genes)
        padj[ds] = g["padj"].reindex(genes)
    lfc_df = pd.DataFrame(lfc, index=genes).dropna(how="all")
    padj_df = pd.DataFrame(padj, index=genes).reindex(lfc_df.index)
    plots.target_heatmap(
        lfc_df,
        padj_df,
        alpha,
        out,
        title=f"{'SIMULATED — ' if simulated else ''}{term}\nlog2 fold change of its genes (* padj < {alpha})",
    )


# --------------------------------------------------------------------------- provenance

TOOLS = ("snakemake", "pydeseq2", "gseapy", "pandas", "numpy", "scipy", "matplotlib", "anndata", "jsonschema")


def tool_versions() -> dict[str, str]:
    import importlib.metadata as md
    import platform

    from . import __version__

    versions = {"python": platform.python_version(), "pathverdict": __version__}
    for tool in TOOLS:
        try:
            versions[tool] = md.version(tool)
        except md.PackageNotFoundError:
            versions[tool] = "not installed"
    return versions


def _load_json(paths) -> list[dict]:
    out = []
    for p in paths:
        with open(p) as fh:
            out.append(json.load(fh))
    return out


def dataset_origin(d: dict) -> str:
    """Where a dataset's counts came from, in words (from its prepare.json), with what reading
    an author's layout did (annotation columns dropped, columns renamed, STAR strandedness)."""
    src = d.get("source")
    if not src:
        origin = f"local files {d['counts_file']} and {d['samples_file']}"
    elif src.get("accession"):
        via = ""
        if src.get("pubmed_lookup"):
            via = f" (linked from PubMed {src['pubmed_lookup'].get('pmid', '')} via NCBI E-utilities)"
        origin = f"GEO series {src['accession']}{via}, {src.get('counts_source', '')} counts"
    else:
        origin = f"downloaded from {src.get('url', '')}"
    return "; ".join([origin] + input_notes(d))


def input_notes(d: dict) -> list[str]:
    """What was done to read an author's count table (from a prepare.json), one sentence each."""
    notes = []
    for layout in (d.get("source_count_layout"), d.get("count_layout")):
        if layout and layout.get("layout", "plain") != "plain" and layout.get("note"):
            notes.append(layout["note"])
    mapped = list(d.get("source_column_mapping") or []) + list(d.get("column_mapping") or [])
    if mapped:
        notes.append(
            f"{len(mapped)} count column(s) named by alignment files matched to samples ("
            + ", ".join(mapped[:3])
            + (", ..." if len(mapped) > 3 else "")
            + ")"
        )
    st = d.get("strandedness")
    if st:
        first = next(iter(st.get("samples", {}).items()), None)
        nums = ""
        if first:
            nf = first[1]["N_noFeature"]
            nums = (
                f"; N_noFeature in {first[0]}: unstranded {nf['unstranded']:,}, forward {nf['forward']:,}, "
                f"reverse {nf['reverse']:,}"
            )
        notes.append(
            f"STAR ReadsPerGene column {st['column']} ({st['chosen']}), {st['source']}"
            + (f" ({st['note']})" if st.get("note") else "")
            + nums
        )
    return notes


def provenance(
    cfg: dict,
    dataset_jsons,
    de_jsons,
    ora_jsons,
    library_jsons,
    out_json: str,
    out_html: str,
    annotation_json: str | None = None,
    banner: str = "",
) -> dict:
    from .render import render as render_page

    info = {
        "tools": tool_versions(),
        "datasets": _load_json(dataset_jsons),
        "differential_expression": _load_json(de_jsons),
        "enrichment": _load_json(ora_jsons),
        "gene_set_libraries": _load_json(library_jsons),
        "annotation": _load_json([annotation_json])[0] if annotation_json else {"file": cfg["annotation"]["file"]},
        "config": cfg,
    }
    write_json(info, out_json)
    a = info["annotation"]
    annotation = (
        str(a.get("name") or a.get("file", ""))
        + (f", {a['release']}" if a.get("release") else "")
        + (
            f", from {a['url']} retrieved {a.get('retrieved', '')}, sha256 {a.get('sha256', '')}"
            if a.get("url")
            else ""
        )
    )
    datasets = [
        {
            **d,
            "origin": dataset_origin(d),
            "id_type": d["id_mapping"]["id_type"],
            "mapping_rate": f"{d['id_mapping']['mapping_rate']:.1%}",
        }
        for d in info["datasets"]
    ]
    libraries = [
        {
            "library": lib["library"],
            "release": lib.get("release", ""),
            "terms": lib["terms"],
            "source": lib["source"],
            "retrieved": lib.get("retrieved", ""),
            "sha256": lib["sha256"],
        }
        for lib in info["gene_set_libraries"]
    ]
    page = render_page(
        "provenance.html",
        title="Provenance",
        banner=banner,
        datasets=datasets,
        annotation=annotation,
        libraries=libraries,
        de=info["differential_expression"],
        alpha=cfg["de"]["alpha"],
        tools=info["tools"],
    )
    with atomic_write(out_html) as fh:
        fh.write(page)
    return info


def report_answer(cfg: dict, results: str = "results") -> dict | None:
    """The headline answer for the report's landing page, from the finished run's
    ``verdict.tsv`` and ``claims.tsv``: the study overall, one line per claim (and the
    negative-control check), one line per dataset (headline method, first library).
    None when the run has not made them yet."""
    from . import claims

    vpath, cpath = Path(results) / "verdict.tsv", Path(results) / "claims.tsv"
    if not vpath.is_file():
        return None
    table = verdict.read_verdict(vpath)
    if table.empty:
        return None
    library = str(table["library"].iloc[0])
    head = verdict.headline(table)
    head = head[head["library"] == library]
    datasets = []
    for _, r in head.iterrows():
        st = verdict._status(r)
        if pd.isna(r["rank"]):
            detail = str(r["note"]).removeprefix("inconclusive: ")
        else:
            detail = (
                f"rank {verdict._num(r['rank'])} of {r['n_terms']}, p {verdict.fmt_p(r['pvalue'], r['p_bound'])}"
                f", FDR {verdict._num(r['fdr'])}"
            )
        datasets.append(f"{r['dataset']}: **{st.replace('_', ' ')}** ({detail})")
    out = {
        "library": library,
        "method": str(head["method"].iloc[0]) if len(head) else "",
        "datasets": datasets,
        "claims": [],
        "study": "",
        "study_words": "not assessed (no claims table)",
    }
    if cpath.is_file():
        ctable = read_text_table(cpath, ("claim", "dataset", "role", "holds", "evidence", "null"))
        summary = claims.summarise(ctable)
        genes = " and ".join(cfg["verdict"].get("genes", []))
        for key, text in claims.CLAIMS.items():
            out["claims"].append(
                f"Claim *{key}*: **{summary[key]}** — {text.format(target=cfg['target_pathway'], genes=genes)}"
            )
        if "negative_control" in summary:
            out["claims"].append(
                f"Check of the method on the negative control(s): **{summary['negative_control']}** "
                f"(the target must not be called on top there)"
            )
        out["study"] = summary["study"]
        out["study_words"] = summary["study"].upper()
    return out


def report_context(cfg: dict, provenance_path: str = "results/provenance.json") -> dict:
    """Values the report's workflow description shows (tool versions and gene-set provenance
    of the finished run when results/provenance.json exists, else of this environment)."""
    prov = {}
    if Path(provenance_path).is_file():
        with open(provenance_path) as fh:
            prov = json.load(fh)
    libs = prov.get("gene_set_libraries") or [
        {"library": n, "source": next(iter(src.values())), "terms": "?", "sha256": "(computed when the workflow runs)"}
        for n, src in cfg["genesets"].items()
    ]
    return {
        "target": cfg["target_pathway"],
        "libraries": list(cfg["genesets"]),
        "datasets": list(cfg["datasets"]),
        "annotation": next(iter(cfg["annotation"].values())),
        "de": cfg["de"],
        "enrichment": cfg["enrichment"],
        "verdict": cfg["verdict"],
        "tools": prov.get("tools") or tool_versions(),
        "gene_sets": libs,
        "dataset_sources": [{"dataset": d["dataset"], "origin": dataset_origin(d)} for d in prov.get("datasets", [])],
        "simulated": bool(cfg.get("simulated", False)),
        "answer": report_answer(cfg, str(Path(provenance_path).parent)),
    }


# --------------------------------------------------------------------------- null


def combine_null(summary_paths: list[str], out_tsv: str, out_html: str, banner: str = "") -> pd.DataFrame:
    """All datasets' label-permutation summaries in one table and one page (names read as strings)."""
    from .null import read_summary
    from .render import null_page

    table = pd.concat([read_summary(p) for p in summary_paths], ignore_index=True)
    write_tsv(table, out_tsv)
    page = null_page(table, banner)
    with atomic_write(out_html) as fh:
        fh.write(page)
    return table
