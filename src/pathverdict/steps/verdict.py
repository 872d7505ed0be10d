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


def _orthologs(paths: list[str], organisms: list[str], study: str) -> dict[str, pd.DataFrame]:
    """The ortholog tables (``organisms.<organism>.orthologs``, in the order of ``organisms``) as
    {organism: symbol pairs, study organism -> organism}."""
    from ..organisms import read_orthologs

    return {org: read_orthologs(path, study, org) for org, path in zip(organisms, paths, strict=True)}


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
    qc: list[str] | None = None,
    confounding: list[str] | None = None,
    loo: list[str] | None = None,
    banner: str = "",
    dataset_libraries: dict[str, dict[str, str]] | None = None,
    organisms: dict[str, str] | None = None,
    claims_settings: dict | None = None,
    study_organism: str = "human",
    orthologs: list[str] = (),
    ortholog_organisms: list[str] = (),
    selected: list[str] = (),
) -> pd.DataFrame:
    """``results/<study>/verdict.tsv`` (target per dataset x library x method, with its status),
    ``results/<study>/verdict_genes.tsv`` (genes of interest: ``verdict.genes`` and
    ``verdict.gene_patterns``, and the genes and gene families the claims test) and their
    Markdown/HTML pages, from each dataset's DE table, ORA tables (up, down, all), ``ora.json``,
    GSEA and (judged when given, always in the workflow) CAMERA tables; every list is in the order
    of ``datasets``. With the datasets' sample QC, confounding and leave-one-sample-out tables
    (``qc``, ``confounding``, ``loo``: the enrichment job's sample checks) each row gets a
    ``samples`` note (:func:`pathverdict.judgement.samples.verdict_notes`).

    With several organisms, ``libraries`` are the library files' keys (``KEGG``, ``mouse/KEGG``, as
    ``gmts``), ``dataset_libraries`` gives each dataset's {library: key} and ``organisms`` its organism
    (whose genes are reported); by default every dataset has every library. The claims' genes and
    families are reported in each dataset organism's symbols (``study_organism``: the study's;
    ``orthologs``: the ortholog tables of ``ortholog_organisms``; :mod:`..judgement.claim_genes`). The
    sentences of a dataset in ``selected`` (select_by_expression) that is on top say that the claims count
    it only where the selection-aware null rejects."""
    from dataclasses import replace

    from ..judgement import claim_genes
    from ..judgement.claim_specs import gene_tests

    settings = VerdictSettings.from_config(verdict_settings, alpha)
    organisms = organisms or {}
    tests = gene_tests(claims_settings, study_organism)
    pairs = _orthologs(list(orthologs), list(ortholog_organisms), study_organism)
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
        ora_info = read_json(info)
        sizes = ora_info["de_genes"]
        ds_settings = VerdictSettings.from_config(verdict_settings, alpha, organisms.get(ds))
        for lib_name, key in ((dataset_libraries or {}).get(ds) or {k: k for k in targets}).items():
            rows.append(
                _verdict.judge_dataset(
                    ds,
                    lib_name,
                    targets[key],
                    libs[key].ids.get(targets[key]),
                    tabs,
                    {f"ora_{d}": k for d, k in sizes.items()},
                    ds_settings,
                    # a dataset given as a DE table: what it cannot test, what its background does (steps.enrichment)
                    not_tested=ora_info.get("not_tested"),
                    notes=ora_info.get("notes"),
                )
            )
        wanted, wanted_patterns = claim_genes.requests(tests, organisms.get(ds), study_organism, pairs)
        gene_settings = replace(
            ds_settings,
            genes=ds_settings.genes + tuple(g for g in wanted if g not in ds_settings.genes),
            gene_patterns=ds_settings.gene_patterns
            + tuple(p for p in wanted_patterns if p not in ds_settings.gene_patterns),
        )
        gene_rows.append(_verdict.gene_status(ds, de_table, gene_settings, input_genes))
    table = pd.concat(rows, ignore_index=True)
    if qc is not None or confounding is not None or loo is not None:
        table[_verdict.SAMPLES_COLUMN] = _sample_notes(table, qc, confounding, loo)
    genes = pd.concat(gene_rows, ignore_index=True)
    title = f"Is {target} on top?"
    write_tsv(table, out_tsv)
    write_tsv(genes, out_genes)
    with atomic_write(out_md) as fh:
        fh.write(_verdict.to_markdown(table, genes, settings, title, banner, selected))
    with atomic_write(out_html) as fh:
        fh.write(_verdict.to_html(table, genes, settings, title, banner, selected))
    for line in _verdict.summary_sentences(table, genes, settings, selected):
        log.info(line)
    return table


def _sample_notes(table: pd.DataFrame, qc, confounding, loo) -> list[str]:
    from ..judgement import confounding as _confounding
    from ..judgement import samples as _samples
    from ..judgement import sensitivity as _sensitivity

    def read(paths, reader):
        return pd.concat([reader(p) for p in paths], ignore_index=True) if paths else None

    return _samples.verdict_notes(
        table,
        read(qc, _samples.read_qc),
        read(confounding, _confounding.read_confounding),
        read(loo, _sensitivity.read_sensitivity),
    )


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
    from ..judgement.calibration import CALIBRATION_ENGINE
    from ..simulation import dataset_fit

    settings = dataset_calibration.CalibrationSettings.from_config(calibration)
    lib = load_libraries({library: gmt})[library]
    term = lib.find(target)
    # the simulations' DE always by the R-exact engine (calibration.CALIBRATION_ENGINE): pydeseq2 costs 12-39x
    # its CPU per fit; calibration.tsv notes when the study runs another engine
    params = DEParams.from_config(de | {"engine": CALIBRATION_ENGINE}, dataset_config, 1)
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
    engine: str = "r_exact",
) -> pd.DataFrame:
    """``results/<study>/calibration.tsv``: per dataset and method of the verdict, the false-positive rate
    and power (:func:`pathverdict.judgement.calibration.dataset_rows`): from the dataset's own simulations
    (``summaries``: each dataset's ``calibration/summary.tsv``, in the order of ``datasets``, when the
    per-dataset calibration is on), else from the package table (or ``table``). ``samples`` are the
    checked sample sheets in the order of ``datasets`` with counts (a dataset given as a DE table has
    none: its rows say it is not calibrated); ``engine`` the study's ``de.engine``."""
    from ..judgement import calibration as _calibration
    from ..judgement.dataset_calibration import CalibrationSettings

    counted = [name for name, ds in datasets.items() if "de_table" not in ds]
    sheets = {
        name: read_tsv(path, dtype=str, keep_default_na=False) for name, path in zip(counted, samples, strict=True)
    }
    per_dataset = {
        name: read_tsv(path, dtype={"dataset": str, "method": str})
        for name, path in zip(counted, summaries or [], strict=bool(summaries))
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
        engine=engine,
    )
    write_tsv(out, out_tsv)
    sentence = _calibration.sentence(out)
    if sentence:
        log.info(sentence)
    return out


def claim_caveats(
    *, confounding: str | list = (), sensitivity: pd.DataFrame | None, library: str | None, primary: str
) -> pd.DataFrame:
    """The caveats of the sample-level checks (``claims.CAVEAT_COLUMNS``;
    :func:`pathverdict.judgement.samples.caveats_from_qc`): a column of the sheet confounded with the
    contrast (``confounding``: ``results/<study>/confounding.tsv``), an answer that rests on one sample
    (the leave-one-sample-out rows of ``sensitivity``); empty (with the columns) when none applies."""
    from ..judgement import confounding as _confounding
    from ..judgement import samples as _samples

    paths = [confounding] if isinstance(confounding, str) else list(confounding or [])
    conf = pd.concat([_confounding.read_confounding(p) for p in paths], ignore_index=True) if paths else None
    return _samples.caveats_from_qc(
        confounding=conf, sensitivity=sensitivity, library=str(library or ""), primary=primary
    )


def power_caveats(calibration: pd.DataFrame | None, roles: dict[str, str], specs, *, library: str, primary: str):
    """The caveats of the power rule (:func:`pathverdict.judgement.calibration.caveats_from_power`) for the
    datasets of the claims and the methods their pathway tests use (``specs``; a test without a method uses
    the headline method ``primary``): a "not on top" (or "not enriched") where that method had less than
    ``calibration.min_power`` at the reference effect, or no measured power, is inconclusive. A negative
    control is left out: its check is that the target is *not* called on top, which power does not
    qualify. None without a calibration table."""
    from ..judgement import calibration as _calibration
    from ..judgement.claim_specs import PATHWAY_TESTS

    if calibration is None:
        return None
    methods = {t.method or primary for c in specs for t in c.tests if t.kind in PATHWAY_TESTS}
    caveats = _calibration.caveats_from_power(calibration, primary=primary, library=library, methods=methods)
    return caveats[caveats["dataset"].map(lambda d: roles.get(d) != "negative_control")]


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
    claims_settings: dict | None = None,
    perturbed_gene: str | None = None,
    role_names: dict[str, str] | None = None,
    null_settings: dict | None = None,
    null: str | list = (),
    selection: list[str] = (),
    selected: list[str] = (),
    library: str | None = None,
    banner: str = "",
    sensitivity: str | list = (),
    directions: str | list = (),
    calibration: str | None = None,
    confounding: str | list = (),
    organisms: dict[str, str] | None = None,
    caveats: str | list = (),
    tables: list[str] = (),
    study_organism: str = "human",
    orthologs: list[str] = (),
    ortholog_organisms: list[str] = (),
    out_caveats: str | None = None,
) -> pd.DataFrame:
    """``results/<study>/claims.tsv`` and ``claims.html``: the study's claims (the config's ``claims:``
    section, ``claims_settings``; without one, one claim per dataset, "the target is on top") from
    the verdict tables and, when the label-permutation null is enabled (``null`` given),
    ``results/<study>/null.tsv`` and the selection analyses of every dataset with
    ``select_by_expression`` (``selected``); with ``results/<study>/sensitivity.tsv`` and
    ``sensitivity_directions.tsv`` the pathway claims' evidence also gives the sensitivity of the
    answer (shown, never counted) and the page a section of it; ``results/<study>/calibration.tsv``
    is shown beside each dataset's answer. ``caveats`` are caveat tables (TSV,
    ``claims.CAVEAT_COLUMNS``) whose caveats qualify the answers, with those of the producers
    called here: the sample checks (:func:`claim_caveats`, from ``confounding``,
    ``results/<study>/confounding.tsv``, and the leave-one-sample-out rows of ``sensitivity``) and the
    power rule (:func:`power_caveats`, from ``calibration``). An input
    the rule leaves out (an empty list) is not used. ``tables``: the datasets given as a published DE table.
    ``organisms`` (dataset -> organism), ``study_organism`` and the ortholog tables ``orthologs`` (of
    ``ortholog_organisms``) give each dataset's claim genes in its organism's symbols. ``out_caveats``
    (``results/<study>/caveats.tsv``): every caveat that qualified the answers, for the steps that must
    weigh the datasets the same way (the replication summary)."""
    from ..judgement import claims
    from ..judgement import sensitivity as _sensitivity
    from ..judgement.claim_specs import parse_claims

    settings = VerdictSettings.from_config(verdict_settings, alpha)
    # checked against the datasets when the workflow started (rules/common.smk); a claim whose roles no
    # dataset has is `not tested` here
    specs = parse_claims(
        claims_settings,
        roles,
        perturbed_gene=perturbed_gene,
        source="claims",
        check_roles=False,
        organism=study_organism,
    )
    null_settings = null_settings or {}
    null_path = null or None
    table = _verdict.read_verdict(verdict)
    gene_table = _verdict.read_genes(genes)
    null_table = claims.read_null(null_path) if null_path else None
    selection_table = claims.read_selection(list(selection or []))
    sens = _sensitivity.read_sensitivity(sensitivity) if sensitivity else None
    dirs = _sensitivity.read_directions(directions) if directions else None
    cal = claims.read_calibration(calibration) if calibration else None
    # caveats: the tables written by a rule, and those of the producers called here (the sample checks:
    # a column confounded with the contrast, an answer resting on one sample; the power rule: a "not on
    # top" where the design had too little power); an empty table when none
    first_library = library or (str(table["library"].iloc[0]) if len(table) else "")
    caveat_table = claims.collect_caveats(
        [
            claims.read_caveats([caveats] if isinstance(caveats, str) else list(caveats or [])),
            claim_caveats(confounding=confounding, sensitivity=sens, library=first_library, primary=settings.primary),
            power_caveats(cal, roles, specs, library=first_library, primary=settings.primary),
        ]
    )
    for c in caveat_table.itertuples(index=False):
        log.info("caveat (%s) for %s, tests %s when %s: %s", c.source, c.dataset, c.tests, c.when, c.reason)
    if out_caveats:
        write_tsv(caveat_table, out_caveats)
    ctable = claims.evaluate(
        table,
        gene_table,
        roles,
        target=target,
        claims=specs,
        max_fdr=settings.max_fdr,
        library=library,
        null=null_table,
        selected=list(selected or []),
        null_enabled=bool(null_settings.get("enabled", True)) and null_path is not None,
        null_alpha=float(null_settings.get("alpha", 0.05)),
        sensitivity=sens,
        directions=dirs,
        caveats=caveat_table,
        tables=list(tables or []),
        organisms=organisms,
        organism=study_organism,
        orthologs=_orthologs(list(orthologs), list(ortholog_organisms), study_organism),
    )
    summary = claims.summarise(ctable, specs)
    write_tsv(ctable, out_tsv)
    with atomic_write(out_html) as fh:
        fh.write(
            claims.to_html(
                ctable,
                summary,
                target,
                specs,
                banner,
                selection=selection_table,
                selected=list(selected or []),
                calibration=cal,
                sensitivity=sens,
                perturbed_gene=perturbed_gene,
                role_names=role_names,
                caveats=caveat_table,
            )
        )
    log.info(claims.paragraph(ctable, summary, target, specs, calibration=cal, perturbed_gene=perturbed_gene))
    return ctable
