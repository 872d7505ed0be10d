"""Steps of rules/robustness.smk: the study-wide tables of the target's rank over DE thresholds
and of the sensitivity of the answer (each dataset's rows come from the enrichment step), the
label-permutation null and the selection analyses."""

from __future__ import annotations

import logging

import pandas as pd

from ..judgement import null as _null
from ..judgement import robustness as _robustness
from ..judgement import selection_analyses as _selection
from ..judgement import sensitivity as _sensitivity
from ..de import DEParams
from ..io import libraries_of, load_libraries, read_counts, read_sample_sheet, read_symbols
from ..io import read_table
from ..util import atomic_write, write_tsv
from ..judgement.verdict import read_genes

log = logging.getLogger(__name__)

# why a dataset given as a published DE table has no label-permutation null
NO_COUNTS_NULL = "the label-permutation null re-runs the DE on relabeled samples, and a DE table has no counts"


# ----------------------------------------------------------------------------- DE thresholds


def combine_robustness(
    *, grids: list[str], out_grid: str, out_summary: str, out_heatmap: str, banner: str = ""
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every dataset's grid in one table, its summary and the heatmap."""
    from ..report import plots

    parts = [_robustness.read_grid(p) for p in grids]
    grid = _robustness.typed_grid(
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_robustness.GRID_COLUMNS)
    )
    summary = _robustness.robustness_summary(grid)
    write_tsv(grid, out_grid)
    write_tsv(summary, out_summary)
    title = ("SIMULATED — " if banner else "") + "Target pathway rank across DE thresholds, libraries, methods"
    plots.robustness_heatmap(grid, out_heatmap, title)
    return grid, summary


# ----------------------------------------------------------------------------- label-permutation null


def null_permutations(
    *,
    dataset: str,
    dataset_config: dict,
    counts: str,
    samples: str,
    genes: str,
    verdict: str,
    gmt: str,
    library: str,
    target: str,
    de: dict,
    enrichment: dict,
    verdict_settings: dict,
    null_settings: dict,
    out_permutations: str,
    out_summary: str,
    selection: dict | None = None,
    threads: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`pathverdict.judgement.null.run_null` of one dataset from its prepared files (of all samples
    before the selection when ``selection`` is given: the null re-applies it) and the rows of
    the dataset in ``results/<study>/verdict.tsv``. Names (datasets, samples, genes, symbols,
    libraries, methods) are read as strings, ``NA`` and ``null`` too."""
    n = null_settings
    observed = read_table(verdict, dtype={"dataset": str, "library": str, "method": str})
    perms, summary = _null.run_null(
        read_counts(counts),
        read_sample_sheet(samples),
        DEParams.from_config(de, dataset_config, threads, dataset),
        load_libraries({library: gmt}),
        target,
        observed,
        symbols=read_symbols(genes),
        methods=n["methods"],
        enrichment_cfg=enrichment,
        max_permutations=n["max_permutations"],
        seed=n["seed"],
        threads=threads,
        dataset=dataset,
        top_n=verdict_settings["top_n"],
        max_fdr=verdict_settings["max_fdr"],
        selection=selection or None,
    )
    write_tsv(perms, out_permutations)
    write_tsv(summary, out_summary)
    return perms, summary


def combine_null(
    *,
    summaries: list[str],
    out_summary: str,
    out_html: str,
    banner: str = "",
    not_tested: list[str] = (),
    library: str = "",
    target: str = "",
) -> pd.DataFrame:
    """All datasets' label-permutation summaries in one table and one page (names read as strings), with a
    row per dataset in ``not_tested`` (given as a DE table: no counts to relabel) saying so."""
    from ..render import null_page

    parts = [_null.read_summary(p) for p in summaries]
    untested = [
        {"dataset": d, "library": library, "method": "set_score", "target": target, "statistic": "",
         "informative": "not tested", "selection_aware": "no", "note": f"not tested: {NO_COUNTS_NULL}"}
        for d in not_tested
    ]  # fmt: skip
    parts.append(pd.DataFrame(untested, columns=_null.SUMMARY_COLUMNS))
    table = pd.concat([p for p in parts if len(p)] or parts[-1:], ignore_index=True)
    write_tsv(table, out_summary)
    page = null_page(table, banner)
    with atomic_write(out_html) as fh:
        fh.write(page)
    return table


def selection_analyses(
    *,
    dataset: str,
    dataset_config: dict,
    counts: str,
    samples: str,
    genes: str,
    gmts: list[str],
    libraries: list[str],
    selection: dict,
    target: str,
    de: dict,
    enrichment: dict,
    verdict_settings: dict,
    methods: list[str],
    out_analyses: str,
    threads: int = 1,
) -> pd.DataFrame:
    """:func:`pathverdict.judgement.selection_analyses.run_selection_analyses` from the unselected prepared files."""
    table = _selection.run_selection_analyses(
        read_counts(counts),
        read_sample_sheet(samples),
        read_symbols(genes),
        selection,
        DEParams.from_config(de, dataset_config, threads, dataset),
        load_libraries(libraries_of(libraries, gmts)),
        target,
        methods=methods,
        enrichment_cfg=enrichment,
        threads=threads,
        top_n=verdict_settings["top_n"],
        max_fdr=verdict_settings["max_fdr"],
        dataset=dataset,
    )
    write_tsv(table, out_analyses)
    return table


# ----------------------------------------------------------------------------- sensitivity


def engine_sensitivity(
    *,
    dataset: str,
    dataset_config: dict,
    de: str,
    vst: str,
    base_de: str,
    verdict: str,
    samples: str,
    gmts: list[str],
    libraries: list[str],
    target: str,
    engine: str,
    other: str,
    enrichment: dict,
    verdict_settings: dict,
    alpha: float,
    out_tsv: str,
    sensitivity: dict | None = None,
    threads: int = 1,
) -> pd.DataFrame:
    """:func:`pathverdict.judgement.engine_sensitivity.engine_rows` of one dataset: ``de``/``vst`` the other
    engine's (rule deseq2_engine), ``base_de`` and ``verdict`` the configured engine's; GSEA re-run
    unless ``sensitivity.gsea`` is false."""
    from ..enrichment import GseaSettings
    from ..io import read_de
    from ..judgement import engine_sensitivity as _engine
    from ..judgement.verdict import VerdictSettings, read_verdict
    from ..util import read_tsv

    e = enrichment
    table = _engine.engine_rows(
        read_de(de),
        read_tsv(vst, index_col=0),
        load_libraries(libraries_of(libraries, gmts)),
        target,
        read_verdict(verdict),
        engine=engine,
        other=other,
        settings=VerdictSettings.from_config(verdict_settings, alpha),
        base_de=read_de(base_de),
        sheet=read_sample_sheet(samples),
        design=dataset_config["design"],
        contrast=list(dataset_config["contrast"]),
        padj=e["padj"],
        lfc=e["lfc"],
        ora_min_size=e["ora_min_size"],
        ora_max_size=e["ora_max_size"],
        gsea=GseaSettings.from_config(e, threads) if (sensitivity or {}).get("gsea", True) else None,
        gsea_min_size=e["gsea_min_size"],
        gsea_max_size=e["gsea_max_size"],
        camera_inter_gene_cor=e.get("camera_inter_gene_cor"),
        dataset=dataset,
    )
    write_tsv(table, out_tsv)
    changed = table[table["detail"].str.startswith(_engine.CHANGES)]
    log.info(
        "%s: %s instead of %s: %d of %d verdict(s) change status%s",
        dataset,
        other,
        engine,
        len(changed),
        len(table),
        "".join(f"; {r.library}/{r.method}: {r.detail.split(';')[0]}" for r in changed.itertuples()),
    )
    return table


def combine_sensitivity(
    *,
    tables: list[str],
    genes: str,
    roles: dict[str, str],
    out_tsv: str,
    out_directions: str,
    loo: list[str] = (),
    engine_tables: list[str] = (),
    other_engine: str | None = None,
    not_tested: list[str] = (),
    library: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every dataset's table in ``results/<study>/sensitivity.tsv`` and, after the dataset's other rows,
    its leave-one-sample-out rows (``loo``: the enrichment job's sample checks) and its ``engine:<other
    engine>`` rows (``engine_tables``: rule engine_sensitivity, for the datasets with counts); with
    ``other_engine`` (the engine sensitivity is on) each dataset of ``not_tested`` (given as a DE table:
    no counts) gets one ``not tested`` engine row of ``library`` instead. And the directions of the
    target's DE genes in the cell datasets (from ``results/<study>/verdict_genes.tsv``)."""
    from ..judgement import engine_sensitivity as _engine

    S = _sensitivity
    after: dict[str, list[pd.DataFrame]] = {}  # a dataset's rows from the other tables, in this order
    untested = [_engine.not_tested(ds, library, other_engine) for ds in not_tested] if other_engine else []
    for t in [*(S.read_sensitivity(p) for p in [*loo, *engine_tables]), *untested]:
        for ds, sub in t.groupby("dataset", sort=False):
            after.setdefault(str(ds), []).append(sub)
    parts = []
    for p in tables:
        t = S.read_sensitivity(p)
        parts.append(t)
        for ds in dict.fromkeys(t["dataset"].astype(str)):
            parts.extend(after.pop(ds, []))
    parts.extend(sub for subs in after.values() for sub in subs)
    table = S.typed(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=S.COLUMNS))
    dirs = S.directions(read_genes(genes), roles)
    write_tsv(table, out_tsv)
    write_tsv(dirs, out_directions)
    for ds in dict.fromkeys(table["dataset"]):
        crit = table[
            (table["dataset"] == ds) & table["variant"].str.startswith(S.LEAVE_ONE_OUT) & (table["status"] != "on_top")
        ]
        log.info(
            "%s: critical genes (leave-one-out): %s",
            ds,
            ", ".join(sorted(set(v[len(S.LEAVE_ONE_OUT) :] for v in crit["variant"]))) or "none",
        )
    return table, dirs
