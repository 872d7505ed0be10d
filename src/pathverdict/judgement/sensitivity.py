"""Sensitivity of the answer: does "the target is on top" rest on a few genes or one release?

For one dataset, next to the verdict (whose numbers it reproduces: the same functions,
:func:`enrichment.de_gene_lists`, :func:`enrichment.ora` and :func:`verdict.judge_method`),
the target's rank, FDR and status are recomputed under these variants (column ``variant``):

* ``without_metallothioneins``: the protein-coding metallothioneins (the verdict's
  ``gene_patterns``, with the verdict's own gene-type rule: :func:`verdict.gene_status`,
  pseudogenes excluded) are removed from the data -- hence from the target, from every
  other pathway, from the ORA background and from the DE lists -- and ORA (up, down, all)
  and, when asked, pre-ranked GSEA (same permutations and seed) are recomputed. A
  co-regulated cluster of metallothioneins can make the pathway look on top by itself;
  this variant tells a metallothionein-only response from a response of the pathway.
* ``leave_one_out:<GENE>``: where the target is on top by an ORA method, each of its DE
  genes in turn is dropped from the DE list (kept in the background: it was tested) and
  the ORA verdict recomputed. A gene whose removal changes the status from on_top is
  *critical*: the answer rests on it (``detail`` says so).
* ``release:<library>``: the verdict in each configured gene-set library (e.g. Enrichr
  KEGG_2016, KEGG_2019_Human, KEGG_2021_Human and the current KEGG release), ``detail``
  comparing the statuses across the libraries.
* ``engine:<other engine>``: the verdict with the DE of the other ``de.engine`` (r_exact or
  pydeseq2), with whether the status changes: made by :mod:`.engine_sensitivity` (its own rules),
  summarised here by :func:`sentence`.
* ``direction``: one row per dataset, shown and not judged (``status`` "shown"): how many
  of the target's DE genes (first library, the enrichment thresholds) go up and down, and
  the direction of the genes of interest (HMOX1, VDR and the metallothioneins; padj <
  ``de.alpha`` as in ``verdict_genes.tsv``).

:func:`directions` puts the genes of interest of the cell datasets side by side
(over-expression vs loss of function) -- also shown, not judged.

Cost: a handful of ORAs per library (hypergeometric: milliseconds each), one per DE gene
of the target where it is on top, and one GSEA per library without the metallothioneins
(as long as the workflow's ``gsea`` step for one library; ``sensitivity.gsea: false``
skips it and says so).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from .. import enrichment
from . import verdict
from ..genesets import GeneSetLibrary
from ..util import quiet_logging as _quiet
from ..util import read_tsv

log = logging.getLogger(__name__)

COLUMNS = ["dataset", "library", "method", "variant", "rank", "n_terms", "fdr", "on_top", "status", "detail"]
DIRECTION_COLUMNS = ["gene", "reason", "dataset", "role", "log2FoldChange", "padj", "status", "comparison"]
TEXT = ("dataset", "library", "method", "variant", "on_top", "status", "detail", "gene", "reason", "role", "comparison")
WITHOUT_MT = "without_metallothioneins"
LEAVE_ONE_OUT = "leave_one_out:"
RELEASE = "release:"
DIRECTION = "direction"
ENGINE = "engine:"  # engine:<other engine> (judgement.engine_sensitivity)
SAME_STATUS = "same status"  # how an engine row's detail starts when the other engine gives the verdict's status
SHOWN = "shown"
NOT_TESTED = "not tested"
ORA_METHODS = tuple(f"ora_{d}" for d in enrichment.DIRECTIONS)


# ----------------------------------------------------------------------------- pieces


def metallothioneins(
    de: pd.DataFrame, settings: verdict.VerdictSettings, input_genes: pd.DataFrame | None = None
) -> list[str]:
    """Symbols of the protein-coding genes matching the verdict's ``gene_patterns``, in
    the DE table or the count matrix (``input_genes``): exactly the genes the verdict
    counts as metallothioneins (:func:`verdict.gene_status`; pseudogenes excluded)."""
    only_patterns = dataclasses.replace(settings, genes=())
    g = verdict.gene_status("", de, only_patterns, input_genes)
    return sorted(set(g.loc[g["reason"] == "pattern", "symbol"].astype(str)))


def _fmt(judged: Mapping) -> str:
    """ "rank 1 of 300, FDR 0.002, on_top" (or the status and its reason when not ranked)."""
    st = judged["status"]
    if pd.isna(judged["rank"]):
        note = judged.get("note", "")
        return f"{st}" + (f" ({note})" if note else "")
    fdr = verdict._num(float(judged["fdr"])) if not pd.isna(judged["fdr"]) else "–"
    return f"rank {int(judged['rank'])} of {int(judged['n_terms'])}, FDR {fdr}, {st}"


def _row(dataset: str, library: str, variant: str, judged: Mapping, detail: str) -> dict:
    return {
        "dataset": dataset,
        "library": library,
        "method": judged["method"],
        "variant": variant,
        "rank": judged["rank"],
        "n_terms": judged["n_terms"],
        "fdr": judged["fdr"],
        "on_top": judged["on_top"],
        "status": judged["status"],
        "detail": detail,
    }


def _ora_judged(
    genes: pd.DataFrame,
    lib_name: str,
    lib: GeneSetLibrary,
    term: str,
    padj: float,
    lfc: float,
    settings: verdict.VerdictSettings,
    min_size: int,
    max_size: int,
) -> dict[str, dict]:
    lists, background = enrichment.de_gene_lists(genes, padj, lfc)
    out = {}
    for direction in enrichment.DIRECTIONS:
        table = enrichment.ora(lists[direction], background, lib.sets, lib_name, lib.ids, min_size, max_size)
        out[f"ora_{direction}"] = verdict.judge_method(table, f"ora_{direction}", term, settings, len(lists[direction]))
    return out


def _gsea_judged(
    genes: pd.DataFrame,
    lib_name: str,
    lib: GeneSetLibrary,
    term: str,
    settings: verdict.VerdictSettings,
    gsea: enrichment.GseaSettings,
) -> dict:
    ranking = genes.set_index("symbol")["stat"].astype(float)
    table = gsea.run(ranking, lib, lib_name)
    return verdict.judge_method(table, "gsea", term, settings, None)


def _gsea_from_table(table: pd.DataFrame | None, lib_name: str, term: str, settings: verdict.VerdictSettings) -> dict:
    if table is None:
        judged = verdict.judge_method(pd.DataFrame(columns=enrichment.GSEA_COLUMNS), "gsea", term, settings, None)
        judged["note"] = f"no GSEA table for library {lib_name}"
        return judged
    if "library" in table.columns:
        table = table[table["library"].astype(str) == lib_name]
    return verdict.judge_method(table.reset_index(drop=True), "gsea", term, settings, None)


# ----------------------------------------------------------------------------- one dataset


def sensitivity(
    de: pd.DataFrame,
    libraries: Mapping[str, GeneSetLibrary],
    target: str,
    *,
    settings: verdict.VerdictSettings,
    padj: float = 0.05,
    lfc: float = 0.0,
    ora_min_size: int = 10,
    ora_max_size: int = 500,
    gsea_tables: Mapping[str, pd.DataFrame] | None = None,
    gsea: enrichment.GseaSettings | None = None,
    input_genes: pd.DataFrame | None = None,
    dataset: str = "",
) -> pd.DataFrame:
    """The target's status under every variant (see the module docs), one dataset.

    ``de`` is the workflow's DE table (``results/{dataset}/de.tsv``); ``libraries`` the
    configured libraries (the first is the one the ``direction`` row uses); ``padj``,
    ``lfc``, ``ora_*_size`` the workflow's ``enrichment`` settings; ``settings`` the
    verdict's. ``gsea_tables`` maps a library to the workflow's GSEA results (baseline
    GSEA rows; None: no GSEA rows at all); ``gsea`` the GSEA settings to re-run it without
    the metallothioneins (None: not re-run, the row says "not tested"). ``input_genes`` is
    ``input/gene_ids.tsv`` (gene types: which pattern matches are protein-coding).

    Returns a table with :data:`COLUMNS`.
    """
    genes = enrichment.collapse_to_symbols(de)
    terms = {name: lib.find(target) for name, lib in libraries.items()}
    methods = ORA_METHODS + (("gsea",) if gsea_tables is not None else ())
    mts = metallothioneins(de, settings, input_genes)
    without = genes.drop(index=[m for m in mts if m in genes.index])
    lists, _ = enrichment.de_gene_lists(genes, padj, lfc)
    rows: list[dict] = []
    base: dict[str, dict[str, dict]] = {}
    for name, lib in libraries.items():
        term = terms[name]
        with _quiet():
            base[name] = _ora_judged(genes, name, lib, term, padj, lfc, settings, ora_min_size, ora_max_size)
        if gsea_tables is not None:
            base[name]["gsea"] = _gsea_from_table(gsea_tables.get(name), name, term, settings)

    # release: the verdict in every configured library, compared across them
    for method in methods:
        by_status: dict[str, list[str]] = {}
        for name in libraries:
            by_status.setdefault(base[name][method]["status"], []).append(name)
        across = "; ".join(f"{st} in {', '.join(names)}" for st, names in by_status.items())
        same = (
            f"the same status in all {len(libraries)} libraries"
            if len(by_status) == 1
            else f"the status differs between libraries: {across}"
        )
        for name in libraries:
            j = base[name][method]
            rows.append(
                _row(
                    dataset,
                    name,
                    f"{RELEASE}{name}",
                    j,
                    f"{_fmt(j)}; {same}" if len(libraries) > 1 else f"{_fmt(j)}; only this library is configured",
                )
            )

    # without the metallothioneins
    target_mts = {name: sorted(set(mts) & set(lib.sets[terms[name]])) for name, lib in libraries.items()}
    for name, lib in libraries.items():
        term = terms[name]
        with _quiet():
            judged = _ora_judged(without, name, lib, term, padj, lfc, settings, ora_min_size, ora_max_size)
        tm = target_mts[name]
        if not mts:
            what = "no gene of the data matches verdict.gene_patterns as a protein-coding gene: nothing removed"
        elif not tm:
            what = (
                f"the target has no metallothionein in {name}; removed {len(mts)} from the background only "
                f"({', '.join(mts)})"
            )
        else:
            what = (
                f"removed {len(tm)} metallothionein(s) of the target ({', '.join(tm)}) and every "
                f"metallothionein from the background ({len(mts)})"
            )
        for method in ORA_METHODS:
            j = judged[method]
            de_mts = [m for m in tm if m in lists[method[len("ora_") :]]]
            had = f"{len(de_mts)} DE: {', '.join(de_mts)}" if de_mts else "none DE"
            rows.append(
                _row(
                    dataset,
                    name,
                    WITHOUT_MT,
                    j,
                    f"{_fmt(j)}; with them: {_fmt(base[name][method])}; {what}; of the target's metallothioneins {had}",
                )
            )
        if gsea_tables is not None:
            if gsea is None:
                j = {
                    "method": "gsea",
                    "rank": np.nan,
                    "n_terms": np.nan,
                    "fdr": np.nan,
                    "on_top": "",
                    "status": NOT_TESTED,
                }
                detail = "GSEA not re-run without the metallothioneins (sensitivity.gsea: false)"
            else:
                with _quiet():
                    j = _gsea_judged(without, name, lib, term, settings, gsea)
                detail = (
                    f"{_fmt(j)}; with them: {_fmt(base[name]['gsea'])}; {what}; same permutations "
                    f"({gsea.permutations}) and seed ({gsea.seed})"
                )
            rows.append(_row(dataset, name, WITHOUT_MT, j, detail))

    # leave one gene out, where the target is on top by over-representation
    for name, lib in libraries.items():
        term = terms[name]
        _, background = enrichment.de_gene_lists(genes, padj, lfc)
        for method in ORA_METHODS:
            b = base[name][method]
            if b["status"] != "on_top":
                continue
            query = lists[method[len("ora_") :]]
            critical = []
            for gene in [g for g in b["genes"].split(";") if g]:
                q = [g for g in query if g != gene]
                with _quiet():
                    table = enrichment.ora(q, background, lib.sets, name, lib.ids, ora_min_size, ora_max_size)
                j = verdict.judge_method(table, method, term, settings, len(q))
                if j["status"] != "on_top":
                    critical.append(gene)
                    detail = f"critical: without {gene} the target is {_fmt(j)} (with it: {_fmt(b)})"
                else:
                    detail = f"not critical: without {gene} still {_fmt(j)}"
                rows.append(_row(dataset, name, f"{LEAVE_ONE_OUT}{gene}", j, detail))
            log.info(
                "%s / %s / %s: leave-one-out over %d DE gene(s) of the target: %s",
                dataset,
                name,
                method,
                b["overlap_size"],
                ", ".join(critical) + " critical" if critical else "no critical gene",
            )

    # direction (first library), shown, not judged
    first = next(iter(libraries))
    rows.append(
        {
            "dataset": dataset,
            "library": first,
            "method": "de",
            "variant": DIRECTION,
            "rank": np.nan,
            "n_terms": np.nan,
            "fdr": np.nan,
            "on_top": "",
            "status": SHOWN,
            "detail": direction_text(
                genes, libraries[first].sets[terms[first]], terms[first], first, padj, lfc, de, settings, input_genes
            ),
        }
    )
    return typed(pd.DataFrame(rows, columns=COLUMNS))


def direction_counts(genes: pd.DataFrame, target_genes: Iterable[str], padj: float, lfc: float) -> dict:
    """Up / down counts of the target's DE genes (the ORA lists: padj < padj, |log2FC| >= lfc)."""
    lists, _ = enrichment.de_gene_lists(genes, padj, lfc)
    t = set(target_genes)
    up = [g for g in lists["up"] if g in t]
    down = [g for g in lists["down"] if g in t]
    return {"up": up, "down": down, "n_up": len(up), "n_down": len(down)}


def direction_text(
    genes: pd.DataFrame,
    target_genes: Iterable[str],
    term: str,
    library: str,
    padj: float,
    lfc: float,
    de: pd.DataFrame,
    settings: verdict.VerdictSettings,
    input_genes: pd.DataFrame | None,
) -> str:
    c = direction_counts(genes, target_genes, padj, lfc)
    n = c["n_up"] + c["n_down"]
    thr = f"padj < {padj:g}" + (f", |log2FC| >= {lfc:g}" if lfc else "")
    head = f"{term} ({library}): {n} DE gene(s) ({thr}), {c['n_up']} up, {c['n_down']} down"
    status = verdict.counted_genes(verdict.gene_status("", de, settings, input_genes))
    parts = []
    for reason in ("requested", "pattern"):
        sub = status[status["reason"] == reason]
        for sym, g in sub.groupby("symbol", sort=False):
            best = _best(g)
            if reason == "pattern" and best["status"] not in ("up", "down"):
                continue
            lfc_ = "" if pd.isna(best["log2FoldChange"]) else f" (log2FC {float(best['log2FoldChange']):.2f})"
            parts.append(f"{sym} {best['status']}{lfc_ if best['status'] != 'untested' else ''}")
    pat = status[status["reason"] == "pattern"]
    if len(pat):
        best = [_best(g)["status"] for _, g in pat.groupby("symbol", sort=False)]
        counts = {s: best.count(s) for s in verdict.GENE_STATUSES if best.count(s)}
        parts.append("metallothioneins: " + ", ".join(f"{k} {v}" for v, k in counts.items()))
    genes_text = f"; genes of interest (padj < {settings.alpha:g}): {'; '.join(parts)}" if parts else ""
    return head + genes_text


def _best(g: pd.DataFrame) -> pd.Series:
    """A gene's row that counts (several gene IDs for one symbol): DE first, then not DE, untested."""
    order = {"up": 0, "down": 0, "not DE": 1, "untested": 2}
    return g.iloc[int(np.argmin([order.get(s, 3) for s in g["status"]]))]


def typed(table: pd.DataFrame) -> pd.DataFrame:
    t = table.copy()
    for col in ("rank", "n_terms"):
        t[col] = pd.to_numeric(t[col], errors="coerce").round().astype("Int64")
    t["fdr"] = pd.to_numeric(t["fdr"], errors="coerce").astype(float)
    for col in ("dataset", "library", "method", "variant", "on_top", "status", "detail"):
        t[col] = t[col].fillna("").astype(str)
    return t[COLUMNS]


def read_sensitivity(path) -> pd.DataFrame:
    """``results/<study>/sensitivity.tsv`` (or a dataset's), text columns as text."""
    t = read_tsv(path, dtype={c: str for c in COLUMNS if c in TEXT}, keep_default_na=False, na_values=[""])
    missing = [c for c in COLUMNS if c not in t.columns]
    if missing:
        raise ValueError(f"{path}: not a sensitivity table (missing column(s) {', '.join(missing)})")
    return typed(t)


def read_directions(path) -> pd.DataFrame:
    """``results/<study>/sensitivity_directions.tsv``, text columns as text."""
    return read_tsv(
        path,
        dtype={c: str for c in DIRECTION_COLUMNS if c in TEXT},
        keep_default_na=False,
        na_values={"log2FoldChange": [""], "padj": [""]},
    )


def critical_genes(table: pd.DataFrame, dataset: str, library: str, method: str) -> list[str]:
    """Genes whose removal takes the target off the top (leave-one-out rows)."""
    t = table[
        (table["dataset"] == dataset)
        & (table["library"] == library)
        & (table["method"] == method)
        & table["variant"].str.startswith(LEAVE_ONE_OUT)
        & (table["status"] != "on_top")
    ]
    return [v[len(LEAVE_ONE_OUT) :] for v in t["variant"]]


def sentence(table: pd.DataFrame, dataset: str, library: str, method: str) -> str:
    """The sensitivity of one dataset's headline answer in one sentence (for the claims)."""
    t = table[table["dataset"] == dataset]
    parts = []
    w = t[(t["variant"] == WITHOUT_MT) & (t["library"] == library) & (t["method"] == method)]
    if len(w):
        parts.append(f"without metallothioneins {_fmt(w.iloc[0])}")
    loo = t[(t["library"] == library) & (t["method"] == method) & t["variant"].str.startswith(LEAVE_ONE_OUT)]
    if len(loo):
        crit = critical_genes(t, dataset, library, method)
        parts.append(
            f"leave-one-out over its {len(loo)} DE genes: "
            + (f"not on top without {', '.join(crit)}" if crit else "no single gene is critical")
        )
    from . import leave_one_sample_out as _samples  # it builds on this module

    samples = _samples.sentence(t, dataset, library, method)
    if samples:
        parts.append(f"leaving one sample out: {samples}")
    rel = t[t["variant"].str.startswith(RELEASE) & (t["method"] == method)]
    if len(rel) > 1:
        parts.append("releases: " + ", ".join(f"{lib} {st}" for lib, st in zip(rel["library"], rel["status"])))
    eng = t[t["variant"].str.startswith(ENGINE) & (t["library"] == library) & (t["method"] == method)]
    for _, r in eng.iterrows():
        same = "same status" if r["detail"].startswith(SAME_STATUS) else "status changes"
        parts.append(f"DE engine {r['variant'][len(ENGINE) :]}: {_fmt(r)} ({same})")
    return f"sensitivity ({method}, {library}): " + "; ".join(parts) if parts else ""


# ----------------------------------------------------------------------------- directions across datasets

CELL_ROLES = ("cells_overexpression", "cells_loss_of_function")
ROLE_WORDS = {"cells_overexpression": "over-expression", "cells_loss_of_function": "loss of function"}


def directions(genes: pd.DataFrame, roles: Mapping[str, str]) -> pd.DataFrame:
    """The genes of interest in the cell datasets, over-expression vs loss of function.

    ``genes`` is ``results/<study>/verdict_genes.tsv`` (the verdict's statuses: padj < de.alpha);
    ``roles`` dataset -> role. One row per gene x cell dataset, for the requested genes
    and every counted metallothionein tested in some cell dataset; ``comparison`` (the
    same on every row of a gene) says whether its DE calls go the same way with
    over-expression and loss of function -- shown, not judged. Untested and not-DE calls
    are never read as a direction."""
    cells = [d for d, r in roles.items() if r in CELL_ROLES]
    counted = verdict.counted_genes(genes)
    counted = counted[counted["dataset"].isin(cells)]
    rows = []
    for sym, g in counted.groupby("symbol", sort=False):
        best = {ds: _best(sub) for ds, sub in g.groupby("dataset", sort=False)}
        requested = (g["reason"] == "requested").any()
        if not requested and all(b["status"] == "untested" for b in best.values()):
            continue
        calls = {
            role: [
                best[d]["status"]
                for d in cells
                if roles[d] == role and d in best and best[d]["status"] in ("up", "down")
            ]
            for role in CELL_ROLES
        }
        comparison = _compare(calls, {r: any(roles[d] == r for d in cells) for r in CELL_ROLES})
        for ds in cells:
            b = best.get(ds)
            rows.append(
                {
                    "gene": sym,
                    "reason": "requested" if requested else "pattern",
                    "dataset": ds,
                    "role": roles[ds],
                    "log2FoldChange": np.nan if b is None else b["log2FoldChange"],
                    "padj": np.nan if b is None else b["padj"],
                    "status": "untested" if b is None else b["status"],
                    "comparison": comparison,
                }
            )
    return pd.DataFrame(rows, columns=DIRECTION_COLUMNS)


def _compare(calls: Mapping[str, list[str]], present: Mapping[str, bool]) -> str:
    oe, lof = calls["cells_overexpression"], calls["cells_loss_of_function"]
    if not present["cells_overexpression"] or not present["cells_loss_of_function"]:
        missing = [ROLE_WORDS[r] for r, p in present.items() if not p]
        return f"no {' or '.join(missing)} dataset to compare with"
    if oe and lof:
        if len(set(oe) | set(lof)) == 1:
            return f"same direction ({oe[0]} with over-expression and with loss of function)"
        if len(set(oe)) == 1 and len(set(lof)) == 1:
            return f"opposite directions ({oe[0]} with over-expression, {lof[0]} with loss of function)"
        return f"mixed (over-expression: {', '.join(oe)}; loss of function: {', '.join(lof)})"
    if oe:
        return f"DE with over-expression only ({', '.join(sorted(set(oe)))})"
    if lof:
        return f"DE with loss of function only ({', '.join(sorted(set(lof)))})"
    return "not DE in any cell dataset"


def directions_sentence(table: pd.DataFrame) -> str:
    """The comparison in one line (for the claims' evidence): each requested gene, then
    the metallothioneins grouped by comparison ("same direction (up ...): MT2A, MT1X")."""
    if table is None or table.empty:
        return ""
    per_gene = table.drop_duplicates("gene")
    parts = [
        f"{g}: {c}" for g, c, r in zip(per_gene["gene"], per_gene["comparison"], per_gene["reason"]) if r == "requested"
    ]
    mts = per_gene[per_gene["reason"] != "requested"]
    if len(mts):
        groups = {c: list(g) for c, g in mts.groupby("comparison", sort=False)["gene"]}
        parts.append("metallothioneins: " + "; ".join(f"{c}: {', '.join(g)}" for c, g in groups.items()))
    return "; ".join(parts)
