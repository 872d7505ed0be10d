"""Steps of rules/verdict.smk: the verdict on the target per dataset, the calibration, the study's claims."""

from __future__ import annotations

import logging

import pandas as pd

from .. import enrichment
from ..judgement import verdict as _verdict
from ..io import libraries_of, load_libraries, read_de, read_enrichment, read_gene_ids, read_json
from ..errors import InputError
from ..util import atomic_write, read_tsv, write_tsv
from ..judgement.verdict import VerdictSettings

log = logging.getLogger(__name__)


def make_verdict(
    *,
    datasets: list[str],
    de: list[str],
    ora_up: list[str],
    ora_down: list[str],
    ora_all: list[str],
    ora_info: list[str],
    gsea: list[str],
    gmts: list[str],
    libraries: list[str],
    target: str,
    verdict_settings: dict,
    alpha: float,
    out_tsv: str,
    out_genes: str,
    out_md: str,
    out_html: str,
    camera: list[str] | None = None,
    gene_ids: list[str] | None = None,
    banner: str = "",
) -> pd.DataFrame:
    """``results/<study>/verdict.tsv`` (target per dataset x library x method, with its status),
    ``results/<study>/verdict_genes.tsv`` (genes of interest) and their Markdown/HTML pages, from each
    dataset's DE table, ORA tables (up, down, all), ``ora.json``, GSEA and (judged when given,
    always in the workflow) CAMERA tables; every list is in the order of ``datasets``."""
    settings = VerdictSettings.from_config(verdict_settings, alpha)
    libs = load_libraries(libraries_of(libraries, gmts))
    targets = {n: lib.find(target) for n, lib in libs.items()}
    n = len(datasets)
    per_dataset = zip(
        datasets,
        de,
        ora_up,
        ora_down,
        ora_all,
        ora_info,
        gsea,
        camera or [None] * n,
        gene_ids or [None] * n,
        strict=True,
    )
    rows, gene_rows = [], []
    for ds, de_path, up, down, all_, info, gsea_path, camera_path, ids_path in per_dataset:
        de_table = read_de(de_path)
        input_genes = None
        if ids_path:
            input_genes = read_gene_ids(ids_path)
            if "gene_type" not in input_genes.columns or not (input_genes["gene_type"] != "").any():
                log.warning(
                    "%s: the annotation gives no gene type: metallothionein pseudogenes are recognised by "
                    "their names only (e.g. MT1P3, MT1XP1); use an annotation with a gene type column "
                    "(NCBI gene_info type_of_gene, GEO GeneType)",
                    ds,
                )
        tabs = {f"ora_{d}": read_enrichment(p) for d, p in zip(enrichment.DIRECTIONS, (up, down, all_))}
        tabs["gsea"] = read_enrichment(gsea_path)
        if camera_path:
            tabs["camera"] = read_enrichment(camera_path)
        sizes = read_json(info)["de_genes"]
        for lib_name, term in targets.items():
            rows.append(
                _verdict.judge_dataset(
                    ds,
                    lib_name,
                    term,
                    libs[lib_name].ids.get(term),
                    tabs,
                    {f"ora_{d}": k for d, k in sizes.items()},
                    settings,
                )
            )
        gene_rows.append(_verdict.gene_status(ds, de_table, settings, input_genes))
    table = pd.concat(rows, ignore_index=True)
    genes = pd.concat(gene_rows, ignore_index=True)
    title = f"Is {target} on top?"
    write_tsv(table, out_tsv)
    write_tsv(genes, out_genes)
    with atomic_write(out_md) as fh:
        fh.write(_verdict.to_markdown(table, genes, settings, title, banner))
    with atomic_write(out_html) as fh:
        fh.write(_verdict.to_html(table, genes, settings, title, banner))
    for line in _verdict.summary_sentences(table, genes, settings):
        log.info(line)
    return table


def calibrate_dataset(
    *,
    dataset: str,
    dataset_config: dict,
    calibration: dict,
    de_table: str,
    counts: str,
    samples: str,
    genes: str,
    target: str,
    library: str,
    gmt: str,
    verdict_settings: dict,
    enrichment: dict,
    de: dict,
    out_summary: str,
    out_simulations: str,
    selection: dict | None = None,
) -> pd.DataFrame:
    """The per-dataset calibration (:func:`pathverdict.judgement.dataset_calibration.calibrate`) of one
    dataset: its fit from its prepared counts and sample sheet (of all samples before the selection when
    ``selection`` is given: each simulated cohort is selected again) and its DE table, simulated studies
    judged with the workflow's settings on the primary library, every method of the verdict.
    ``calibration/summary.tsv`` has one row per method, ``calibration/simulations.tsv`` one per
    simulated study and method."""
    from ..de import DEParams
    from ..enrichment.gsea_fast import GseaFast
    from ..io import read_counts, read_sample_sheet, read_symbols
    from ..judgement import dataset_calibration, replay
    from ..simulation import dataset_fit

    settings = dataset_calibration.CalibrationSettings.from_config(calibration)
    lib = load_libraries({library: gmt})[library]
    term = lib.find(target)
    params = DEParams.from_config(de, dataset_config, 1)
    symbols = read_symbols(genes)
    symbols.index = symbols.index.astype(str)
    try:
        fit = dataset_fit.fit_dataset(
            read_counts(counts),
            read_sample_sheet(samples),
            read_de(de_table),
            dataset_config["design"],
            list(dataset_config["contrast"]),
            symbols,
            lib.sets[term],
        )
    except InputError as exc:  # the data cannot be simulated: no figures, and the table says why
        log.warning("%s: not calibrated: %s", dataset, exc)
        summary = dataset_calibration.not_calibrated(dataset, _verdict.METHODS, f"not calibrated: {exc}")
        write_tsv(summary, out_summary)
        write_tsv(pd.DataFrame(columns=dataset_calibration.SIMULATION_COLUMNS), out_simulations)
        return summary
    log.info("%s: %d genes simulated; %s", dataset, len(fit.params), fit.background_text())
    rs = replay.ReplaySettings(
        library,
        lib,
        term,
        VerdictSettings.from_config(verdict_settings, de["alpha"]),
        enrichment,
        _verdict.METHODS,
        GseaFast.from_config(enrichment).run,
    )
    summary, sims = dataset_calibration.calibrate(fit, rs, params, settings, dataset=dataset, selection=selection)
    write_tsv(summary, out_summary)
    write_tsv(sims, out_simulations)
    return summary


def make_calibration(
    *,
    datasets: dict[str, dict],
    samples: list[str],
    out_tsv: str,
    primary: str,
    library: str = "",
    calibration: dict | None = None,
    summaries: list[str] = (),
    table: str | None = None,
) -> pd.DataFrame:
    """``results/<study>/calibration.tsv``: per dataset and method of the verdict, the false-positive rate
    and power (:func:`pathverdict.judgement.calibration.dataset_rows`): from the dataset's own simulations
    (``summaries``: each dataset's ``calibration/summary.tsv``, in the order of ``datasets``, when the
    per-dataset calibration is on), else from the package table (or ``table``). ``samples`` are the
    checked sample sheets in the order of ``datasets``."""
    from ..judgement import calibration as _calibration
    from ..judgement.dataset_calibration import CalibrationSettings

    sheets = {
        name: read_tsv(path, dtype=str, keep_default_na=False) for name, path in zip(datasets, samples, strict=True)
    }
    per_dataset = {
        name: read_tsv(path, dtype={"dataset": str, "method": str})
        for name, path in zip(datasets, summaries or [], strict=bool(summaries))
    }
    cal = _calibration.read_table(table) if table else None
    settings = CalibrationSettings.from_config(calibration)
    out = _calibration.dataset_rows(
        datasets,
        sheets,
        _verdict.METHODS,
        primary,
        library=library,
        settings=settings,
        summaries=per_dataset,
        table=cal,
        table_source=f"table {table}" if table else None,
    )
    write_tsv(out, out_tsv)
    sentence = _calibration.sentence(out)
    if sentence:
        log.info(sentence)
    return out


def make_claims(
    *,
    verdict: str,
    genes: str,
    roles: dict[str, str],
    target: str,
    verdict_settings: dict,
    alpha: float,
    out_tsv: str,
    out_html: str,
    null_settings: dict | None = None,
    null: str | list = (),
    selection: list[str] = (),
    selected: list[str] = (),
    library: str | None = None,
    banner: str = "",
    sensitivity: str | list = (),
    directions: str | list = (),
    calibration: str | None = None,
) -> pd.DataFrame:
    """``results/<study>/claims.tsv`` and ``claims.html`` from the verdict tables and, when the
    label-permutation null is enabled (``null`` given), ``results/<study>/null.tsv`` and the selection
    analyses of every dataset with ``select_by_expression`` (``selected``); with
    ``results/<study>/sensitivity.tsv`` and ``sensitivity_directions.tsv`` the pathway claims'
    evidence also gives the sensitivity of the answer (shown, never counted) and the page a
    section of it; ``results/<study>/calibration.tsv`` is shown beside each dataset's answer.
    An input the rule leaves out (an empty list) is not used."""
    from ..judgement import claims
    from ..judgement import sensitivity as _sensitivity

    settings = VerdictSettings.from_config(verdict_settings, alpha)
    null_settings = null_settings or {}
    null_path = null or None
    table = _verdict.read_verdict(verdict)
    gene_table = _verdict.read_genes(genes)
    null_table = claims.read_null(null_path) if null_path else None
    selection_table = claims.read_selection(list(selection or []))
    sens = _sensitivity.read_sensitivity(sensitivity) if sensitivity else None
    dirs = _sensitivity.read_directions(directions) if directions else None
    ctable = claims.evaluate(
        table,
        gene_table,
        roles,
        target=target,
        key_genes=settings.genes,
        max_fdr=settings.max_fdr,
        library=library,
        null=null_table,
        selected=list(selected or []),
        null_enabled=bool(null_settings.get("enabled", True)) and null_path is not None,
        null_alpha=float(null_settings.get("alpha", 0.05)),
        sensitivity=sens,
        directions=dirs,
    )
    summary = claims.summarise(ctable)
    write_tsv(ctable, out_tsv)
    cal = claims.read_calibration(calibration) if calibration else None
    with atomic_write(out_html) as fh:
        fh.write(
            claims.to_html(
                ctable,
                summary,
                target,
                settings.genes,
                banner,
                selection=selection_table,
                selected=list(selected or []),
                calibration=cal,
                sensitivity=sens,
            )
        )
    log.info(claims.paragraph(ctable, summary, target, settings.genes, calibration=cal))
    return ctable
