"""Trust at the level of samples: each dataset's sample QC, the sample sheet's columns against the
contrast and leaving one sample out (:func:`check_samples`, run by the enrichment job), and the
study's tables and page (:func:`combine_samples`, rule sample_report in rules/samples.smk)."""

from __future__ import annotations

import logging
import time

import pandas as pd

from ..de import DEParams
from ..io import (
    libraries_of,
    load_libraries,
    read_counts,
    read_de,
    read_enrichment,
    read_json,
    read_sample_sheet,
    read_symbols,
)
from ..judgement import confounding as _confounding
from ..judgement import leave_one_sample_out as _loo
from ..judgement import samples as _samples
from ..judgement import sensitivity as _sensitivity
from ..judgement import verdict as _verdict
from ..tables import formula_variables
from ..util import atomic_write, read_tsv, write_tsv

log = logging.getLogger(__name__)


def _baseline(
    dataset: str, library: str, lib, target: str, tables: dict[str, str], info: str, settings
) -> dict[str, dict]:
    """The verdict's judged row per method on all samples, from the enrichment step's tables (as
    :func:`pathverdict.steps.verdict.make_verdict` judges them)."""
    tabs = {m: read_enrichment(p) for m, p in tables.items()}
    sizes = {f"ora_{d}": k for d, k in read_json(info)["de_genes"].items()}
    term = lib.find(target)
    judged = _verdict.judge_dataset(dataset, library, term, lib.ids.get(term), tabs, sizes, settings)
    return {r["method"]: r for r in judged.to_dict("records")}


def check_samples(
    *,
    dataset: str,
    dataset_config: dict,
    counts: str | None,
    samples: str | None,
    genes: str,
    de: str,
    vst: str | None,
    summary: str | None,
    ora_up: str,
    ora_down: str,
    ora_all: str,
    ora_info: str,
    gsea: str,
    camera: str,
    gmt: str,
    library: str,
    target: str,
    de_settings: dict,
    enrichment: dict,
    verdict_settings: dict,
    alpha: float,
    leave_one_sample_out: dict,
    out_qc: str,
    out_confounding: str,
    out_loo: str,
    threads: int = 1,
    loaded: dict | None = None,
    record: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One dataset: ``samples/qc.tsv`` (:func:`pathverdict.judgement.samples.sample_qc`),
    ``samples/confounding.tsv`` (:func:`pathverdict.judgement.confounding.check_sheet`) and
    ``samples/leave_one_sample_out.tsv`` (sensitivity rows,
    :func:`pathverdict.judgement.leave_one_sample_out.leave_one_sample_out`, against the first
    library; one ``not tested`` row when ``leave_one_sample_out.enabled`` is false). Called by the
    enrichment job (:func:`pathverdict.steps.enrichment.enrich_dataset`) with the tables it just wrote;
    ``loaded``: the libraries it read already (name -> library).

    A dataset given as a published DE table (``record``: its ``input/prepare.json``; no ``counts``,
    ``vst``, ``samples`` or ``summary``) has no samples to check: each table gets one ``not tested`` row
    with the reason (:func:`not_tested_checks`)."""
    if counts is None or (record and "de_table" in read_json(record)):
        return not_tested_checks(dataset, library, record, out_qc, out_confounding, out_loo)
    started = time.monotonic()
    contrast = [str(c) for c in dataset_config["contrast"]]
    sheet = read_sample_sheet(samples)
    matrix = read_counts(counts)
    vst_table = read_tsv(vst, index_col=0)
    de_table = read_de(de)
    cooks = read_json(summary).get("cooks_outliers_by_sample")
    qc = _samples.sample_qc(matrix, vst_table, sheet, contrast, cooks=cooks, dataset=dataset)
    write_tsv(qc, out_qc)
    conf = _confounding.check_sheet(
        sheet,
        formula_variables(dataset_config["design"]),
        contrast,
        restating=_confounding.restating_columns(dataset_config),
        dataset=dataset,
    )
    write_tsv(conf, out_confounding)
    for line in filter(None, [_confounding.sentence(conf), *_samples.flagged(qc)["note"]]):
        log.warning("%s: %s", dataset, line)
    settings = _verdict.VerdictSettings.from_config(verdict_settings, alpha, dataset_config.get("organism"))
    if leave_one_sample_out.get("enabled", True):
        lib = (loaded or {}).get(library) or load_libraries(libraries_of([library], [gmt]))[library]
        tables = {"ora_up": ora_up, "ora_down": ora_down, "ora_all": ora_all, "gsea": gsea, "camera": camera}
        loo = _loo.leave_one_sample_out(
            matrix,
            sheet,
            DEParams.from_config(de_settings, dataset_config, threads),
            read_symbols(genes),
            (library, lib),
            target,
            baseline=_baseline(dataset, library, lib, target, tables, ora_info, settings),
            settings=settings,
            enrichment_cfg=enrichment,
            vst=vst_table,
            de_table_=de_table,
            max_removals=int(leave_one_sample_out.get("max_removals", _loo.DEFAULT_MAX_REMOVALS)),
            threads=threads,
            dataset=dataset,
        )
    else:
        why = "not run (sensitivity.leave_one_sample_out.enabled or sensitivity.enabled is false)"
        loo = _sensitivity.typed(pd.DataFrame([_loo._not_tested(dataset, library, why)], columns=_sensitivity.COLUMNS))
    write_tsv(loo, out_loo)
    for method in _loo.METHODS:
        text = _loo.sentence(loo, dataset, library, method)
        if text:
            log.info("%s (%s): %s", dataset, library, text)
    log.info("%s: sample QC, confounding and leave-one-sample-out in %.1f s", dataset, time.monotonic() - started)
    return qc, conf, loo


def not_tested_checks(
    dataset: str, library: str, record: str | None, out_qc: str, out_confounding: str, out_loo: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The sample checks of a dataset without counts (a published DE table, ``record`` its
    ``input/prepare.json``): one ``not tested`` row in each table, with the reason."""
    layout = ((read_json(record) if record else {}).get("de_table") or {}).get("layout", "")
    reason = (
        f"a DE table{f' ({layout})' if layout else ''} has no counts or sample sheet, which sample QC, the "
        "sheet's columns against the contrast and leaving one sample out need"
    )
    qc = _samples.not_tested_qc(dataset, reason)
    conf = _confounding.not_tested(dataset, reason)
    loo = _sensitivity.typed(pd.DataFrame([_loo._not_tested(dataset, library, reason)], columns=_sensitivity.COLUMNS))
    for table, path in ((qc, out_qc), (conf, out_confounding), (loo, out_loo)):
        write_tsv(table, path)
    log.info("%s: sample checks not tested: %s", dataset, reason)
    return qc, conf, loo


def combine_samples(
    *,
    qc: list[str],
    confounding: list[str],
    loo: list[str],
    out_qc: str,
    out_confounding: str,
    out_html: str,
    banner: str = "",
    verdict: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The study's ``samples_qc.tsv``, ``confounding.tsv`` and the page ``samples.html`` (with the
    verdict on all samples above the removals, from ``results/<study>/verdict.tsv`` when given)."""
    from ..render import samples_page

    qc_table = pd.concat([_samples.read_qc(p) for p in qc], ignore_index=True)
    conf = pd.concat([_confounding.read_confounding(p) for p in confounding], ignore_index=True)
    loo_table = pd.concat([_sensitivity.read_sensitivity(p) for p in loo], ignore_index=True)
    write_tsv(qc_table, out_qc)
    write_tsv(conf, out_confounding)
    with atomic_write(out_html) as fh:
        fh.write(
            samples_page(
                qc_table,
                conf,
                loo_table,
                banner,
                _verdict.read_verdict(verdict) if verdict else None,
                not_tested={
                    str(ds): why
                    for ds, sub in qc_table.groupby("dataset", sort=False)
                    if (why := _samples.not_tested_reason(sub))
                },
            )
        )
    return qc_table, conf
