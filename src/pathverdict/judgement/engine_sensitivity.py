"""Does the answer depend on the DE engine? The ``engine:<other engine>`` rows of the sensitivity table.

The verdict comes from the configured ``de.engine`` (``r_exact`` by default, or ``pydeseq2``). The
rule ``deseq2_engine`` runs the same DE step with the other engine (same matrix, design, contrast
and ``de`` settings; its own defaults otherwise), and :func:`engine_rows` runs on its DE table the
same enrichment -- ORA of up, down and all DE genes (the workflow's thresholds and size limits),
pre-ranked GSEA (same permutations and seed; ``sensitivity.gsea: false`` leaves it out and the row
says "not tested"), CAMERA on its VST -- and the same verdict rules
(:func:`pathverdict.judgement.verdict.judge_method`), per library and method, next to the verdict
of the configured engine (``results/<study>/verdict.tsv``): one row per dataset, library and method,
variant ``engine:<other engine>``, with the other engine's rank, FDR and status and a ``detail``
that starts with "same status" or "status changes" and gives the two engines' DE calls. Shown,
never counted for or against a claim (the claims page gives it in one clause).

Cost: the other engine's DE (rule ``deseq2_engine``: pydeseq2 takes 12-39x the CPU of the
r_exact fit, see docs/fidelity.md) and, per library, three ORAs (milliseconds), one CAMERA (a
second or less) and one GSEA (as long as the ``enrichment`` step's GSEA of that library).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import enrichment
from ..enrichment import camera as _camera
from ..genesets import GeneSetLibrary
from ..util import quiet_logging as _quiet
from . import verdict
from .sensitivity import COLUMNS, ENGINE, NOT_TESTED, SAME_STATUS, _fmt, _gsea_judged, _ora_judged, _row, typed

CHANGES = "status changes"
# why a dataset given as a published DE table has no engine:<other> verdicts
NO_COUNTS = "a DE table has no counts or sample sheet, which the DE with the other engine needs"


def call_agreement(base: pd.DataFrame, other: pd.DataFrame, alpha: float) -> dict:
    """The two engines' DE calls (padj < ``alpha``; NA = not called) over the genes either engine
    tested (a p-value): how many each calls and the share of genes with the same call."""
    b = base.set_index("gene_id") if "gene_id" in base.columns else base
    o = other.set_index("gene_id") if "gene_id" in other.columns else other
    genes = b.index.union(o.index)
    b, o = b.reindex(genes), o.reindex(genes)
    tested = b["pvalue"].notna() | o["pvalue"].notna()
    sig_b, sig_o = b["padj"].lt(alpha)[tested], o["padj"].lt(alpha)[tested]
    n = int(tested.sum())
    return {
        "tested": n,
        "base": int(sig_b.sum()),
        "other": int(sig_o.sum()),
        "agree_pct": 100.0 * float((sig_b == sig_o).mean()) if n else float("nan"),
        "only_base": int((sig_b & ~sig_o).sum()),
        "only_other": int((~sig_b & sig_o).sum()),
    }


def _camera_judged(
    de: pd.DataFrame,
    vst: pd.DataFrame,
    sheet: pd.DataFrame,
    design: str,
    contrast: list[str],
    lib_name: str,
    lib: GeneSetLibrary,
    term: str,
    settings: verdict.VerdictSettings,
    min_size: int,
    max_size: int,
    inter_gene_cor: float | None,
) -> dict:
    """CAMERA on the VST as the enrichment step runs it (``steps.enrichment.run_camera``), judged."""
    y = _camera.expression_by_symbol(de, vst)
    x, c, _ = _camera.design_and_contrast(sheet.loc[list(vst.columns)], design, list(contrast))
    table = _camera.camera(y, x, c, lib.sets, lib_name, lib.ids, min_size, max_size, inter_gene_cor=inter_gene_cor)
    return verdict.judge_method(table, "camera", term, settings, None)


def _baseline(verdict_table: pd.DataFrame, dataset: str, library: str, method: str) -> dict | None:
    t = verdict_table[
        (verdict_table["dataset"] == dataset)
        & (verdict_table["library"] == library)
        & (verdict_table["method"] == method)
    ]
    return None if t.empty else t.iloc[0].to_dict()


def engine_rows(
    de: pd.DataFrame,
    vst: pd.DataFrame | None,
    libraries: Mapping[str, GeneSetLibrary],
    target: str,
    verdict_table: pd.DataFrame,
    *,
    engine: str,
    other: str,
    settings: verdict.VerdictSettings,
    base_de: pd.DataFrame | None = None,
    sheet: pd.DataFrame | None = None,
    design: str = "",
    contrast: list[str] | None = None,
    padj: float = 0.05,
    lfc: float = 0.0,
    ora_min_size: int = 10,
    ora_max_size: int = 500,
    gsea: enrichment.GseaSettings | None = None,
    gsea_min_size: int = 15,
    gsea_max_size: int = 500,
    camera_inter_gene_cor: float | None = None,
    dataset: str = "",
) -> pd.DataFrame:
    """The ``engine:<other>`` rows of one dataset (see the module docs).

    ``de`` and ``vst`` are the other engine's DE table and VST (``engine_<other>/de.tsv``,
    ``vst.tsv.gz``); ``verdict_table`` the workflow's verdict (``results/<study>/verdict.tsv``,
    made with ``engine``), whose methods for this dataset and library are the ones re-run:
    ORA (up, down, all), GSEA (with ``gsea``, else a "not tested" row), CAMERA (with ``vst``,
    ``sheet``, ``design`` and ``contrast``). ``base_de``: the configured engine's DE table, to
    compare the two engines' DE calls at ``settings.alpha`` in the detail."""
    genes = enrichment.collapse_to_symbols(de)
    calls = ""
    if base_de is not None:
        a = call_agreement(base_de, de, settings.alpha)
        calls = (
            f"; DE calls (padj < {settings.alpha:g}): {a['base']} with {engine}, {a['other']} with {other}, "
            f"the same call for {a['agree_pct']:.2f}% of the {a['tested']} genes tested "
            f"({a['only_base']} only with {engine}, {a['only_other']} only with {other})"
        )
    rows = []
    for name, lib in libraries.items():
        term = lib.find(target)
        methods = [m for m in verdict.METHODS if _baseline(verdict_table, dataset, name, m) is not None] or list(
            verdict.METHODS
        )
        with _quiet():
            judged = _ora_judged(genes, name, lib, term, padj, lfc, settings, ora_min_size, ora_max_size)
        for method in methods:
            if method == "gsea" and gsea is None:
                j = {"method": "gsea", "rank": np.nan, "n_terms": np.nan, "fdr": np.nan, "on_top": ""}
                j["status"] = NOT_TESTED
                rows.append(
                    _row(
                        dataset,
                        name,
                        ENGINE + other,
                        j,
                        "GSEA not re-run with the other engine (sensitivity.gsea: false)",
                    )
                )
                continue
            if method == "gsea":
                with _quiet():
                    j = _gsea_judged(genes, name, lib, term, settings, gsea)
            elif method == "camera":
                if vst is None or sheet is None or contrast is None:
                    continue
                with _quiet():
                    j = _camera_judged(
                        de,
                        vst,
                        sheet,
                        design,
                        contrast,
                        name,
                        lib,
                        term,
                        settings,
                        gsea_min_size,
                        gsea_max_size,
                        camera_inter_gene_cor,
                    )
            else:
                j = judged[method]
            base = _baseline(verdict_table, dataset, name, method)
            if base is None:
                head = f"no verdict row for {method} with {engine} to compare with"
            elif str(base["status"]) == str(j["status"]):
                head = f"{SAME_STATUS} as with {engine} (the verdict: {_fmt(base)})"
            else:
                head = (
                    f"{CHANGES}: {base['status']} with {engine} (the verdict: {_fmt(base)}), {j['status']} with {other}"
                )
            rows.append(_row(dataset, name, ENGINE + other, j, f"{head}; with {other}: {_fmt(j)}{calls}"))
    return typed(pd.DataFrame(rows, columns=COLUMNS))


def not_tested(dataset: str, library: str, other: str, reason: str = NO_COUNTS) -> pd.DataFrame:
    """The one ``engine:<other>`` row of a dataset the other engine cannot re-run (a published DE table:
    no counts), ``not tested`` with the reason, as its sample checks say (method ``de``, ``library``
    the first library: :func:`pathverdict.steps.samples.not_tested_checks`)."""
    j = {"method": "de", "rank": np.nan, "n_terms": np.nan, "fdr": np.nan, "on_top": "", "status": NOT_TESTED}
    return typed(pd.DataFrame([_row(dataset, library, ENGINE + other, j, reason)], columns=COLUMNS))
