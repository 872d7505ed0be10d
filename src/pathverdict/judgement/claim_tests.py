"""Each test kind of a claim (:mod:`.claim_specs`), evaluated in one dataset.

A test gives an :class:`Outcome`: its parts (one answer per thing it checks: the pathway, each
named gene, the family) and its evidence in words. A claim's answer in a dataset is
:func:`combine` of the parts of all its tests; an untested gene or an inconclusive verdict is
never counted for or against. Evidence that is missing (no result of the method, a dataset without
the null) makes a test ``not tested`` or ``inconclusive`` with the reason, never ``no``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import render
from . import verdict as _verdict
from .claim_genes import in_organism
from .claim_specs import GENE_TESTS, Test


@dataclass
class Outcome:
    """What one test found in one dataset: ``parts`` (yes / no / inconclusive / untested / not
    tested) and ``evidence``; ``row`` is the verdict row a pathway test read (None otherwise)."""

    parts: list[str]
    evidence: str
    row: pd.Series | None = None
    reasons: list[str] = field(default_factory=list)  # caveats that made it inconclusive

    @property
    def answer(self) -> str:
        return combine(self.parts) if self.parts else "not tested"

    @property
    def method(self) -> str | None:
        """The method of the verdict row a pathway test read (None for other tests)."""
        return str(self.row["method"]) if self.row is not None and "method" in self.row else None


@dataclass
class Context:
    """What the tests read: the verdict and gene tables, the null and the settings; ``organisms``
    (dataset -> organism; absent: the study ``organism``) and ``orthologs`` (:mod:`.claim_genes`)."""

    verdict: pd.DataFrame
    genes: pd.DataFrame
    library: str | None = None
    max_fdr: float = 0.05
    null: pd.DataFrame | None = None
    selected: frozenset = frozenset()
    null_enabled: bool = True
    null_alpha: float = 0.05
    no_counts: frozenset = frozenset()  # datasets given as a published DE table
    organisms: Mapping[str, str] = field(default_factory=dict)
    organism: str = "human"
    orthologs: Mapping[str, pd.DataFrame] = field(default_factory=dict)


def combine(parts: list[str]) -> str:
    """One dataset's answer from the answers of the parts of a claim (yes / no /
    inconclusive / untested / not tested)."""
    if not parts or all(p in ("not tested", "untested") for p in parts):
        return "not tested"
    yes, no = parts.count("yes"), parts.count("no")
    if yes == len(parts):
        return "yes"
    if yes and no:
        return "partly"
    if no:
        return "no"  # a conjunctive claim with a part that fails, none that holds
    return "inconclusive"


# --------------------------------------------------------------------------- the verdict's rows


def _p(row, col="pvalue") -> str:
    return _verdict.fmt_p(row[col], row.get("p_bound", False) if col == "pvalue" else False)


def pathway_row(verdict: pd.DataFrame, dataset: str, library: str | None, method: str | None = None):
    """The verdict row of the target in a dataset: the headline (primary) method, or ``method``."""
    rows = verdict[verdict["dataset"] == dataset]
    rows = rows[rows["method"] == method] if method is not None else rows[rows["primary"].astype(bool)]
    if library is not None:
        rows = rows[rows["library"] == library]
    return rows.iloc[0] if len(rows) else None


def describe(row: pd.Series | None) -> str:
    if row is None:
        return "no enrichment result"
    st = _verdict._status(row)
    if pd.isna(row["rank"]):
        return f"{row['method']} ({row['library']}): {st} ({row['note']})"
    return (
        f"{row['method']} ({row['library']}): rank {int(row['rank'])} of {row['n_terms']}, "
        f"p {_p(row)}, FDR {_verdict._num(row['fdr'])}; {st}" + (f" ({row['note']})" if row["note"] else "")
    )


def _not_tested(row: pd.Series | None) -> bool:
    return row is not None and str(row.get("status", "")).replace("_", " ") == "not tested"


def _missing(ctx: Context, dataset: str, test: Test, row: pd.Series | None) -> Outcome | None:
    """``not tested`` with the reason when the verdict has no result for the test (e.g. a dataset
    without counts has no CAMERA), or marks the result itself as not tested."""
    if row is None:
        what = test.method or "enrichment"
        lib = test.library or ctx.library
        return Outcome(["not tested"], f"no {what} result" + (f" ({lib})" if test.method or test.library else ""))
    if _not_tested(row):
        note = str(row.get("note", "") or "").removeprefix("not tested: ")
        return Outcome(
            ["not tested"], f"{row['method']} ({row['library']}): not tested" + (f" ({note})" if note else ""), row
        )
    return None


def on_top(ctx: Context, dataset: str, test: Test) -> Outcome:
    row = pathway_row(ctx.verdict, dataset, test.library or ctx.library, test.method)
    missing = _missing(ctx, dataset, test, row)
    if missing is not None:
        return missing
    st = _verdict._status(row)
    return Outcome([{"on_top": "yes", "not_on_top": "no"}.get(st, "inconclusive")], describe(row), row)


def enriched(ctx: Context, dataset: str, test: Test) -> Outcome:
    row = pathway_row(ctx.verdict, dataset, test.library or ctx.library, test.method)
    missing = _missing(ctx, dataset, test, row)
    if missing is not None:
        return missing
    if _verdict._status(row) == "inconclusive":
        return Outcome(["inconclusive"], describe(row), row)
    max_fdr = ctx.max_fdr if test.max_fdr is None else test.max_fdr
    holds = "yes" if not pd.isna(row["fdr"]) and float(row["fdr"]) <= max_fdr else "no"
    return Outcome([holds], f"{describe(row)}; enriched (FDR <= {max_fdr}): {holds}", row)


# --------------------------------------------------------------------------- genes


def gene_call(genes: pd.DataFrame, dataset: str, symbol: str, expected: str | None = None) -> tuple[str, str]:
    """("yes" | "no" | "untested", text) for a named gene; with ``expected`` (up/down) a DE gene
    that goes the other way is a "no"."""
    g = genes[(genes["dataset"] == dataset) & (genes["symbol"] == symbol)]
    if g.empty:
        return "untested", f"{symbol}: not reported"
    order = {"up": 0, "down": 0, "not DE": 1, "untested": 2}
    best = g.iloc[int(np.argmin([order.get(s, 3) for s in g["status"]]))]
    st = best["status"]
    if st in ("up", "down"):
        text = f"{symbol} {st} (log2FC {best['log2FoldChange']:.2f}, padj {best['padj']:.2g})"
        if expected is not None and st != expected:
            return "no", f"{text}, expected {expected}"
        return "yes", text
    detail = best.get("detail", "")
    detail = f": {detail}" if isinstance(detail, str) and detail else ""
    if st == "not DE":
        return "no", f"{symbol} not DE{detail}"
    return "untested", f"{symbol} untested{detail}"


def genes_de(ctx: Context, dataset: str, test: Test, role: str = "", pathway: pd.Series | None = None) -> Outcome:
    expected = test.expected(dataset, role)
    calls = [gene_call(ctx.genes, dataset, g, expected) for g in test.genes]
    in_overlap = [g for g in test.genes if pathway is not None and g in str(pathway["genes"]).split(";")]
    ev = "; ".join(t for _, t in calls) + (
        f"; in the pathway's DE genes: {', '.join(in_overlap)}" if in_overlap else ""
    )
    if expected is not None:
        ev += f" (expected {expected} in this dataset)"
    return Outcome([c for c, _ in calls], ev)


def _coding(row) -> bool:
    """A gene of a family counts when protein-coding (the verdict's rule: gene type, else its name)."""
    if row["reason"] == _verdict.EXCLUDED:
        return False
    if row["reason"] == "pattern":
        return True
    coding = _verdict.is_protein_coding(row.get("gene_type", ""))  # a named gene that also matches the family
    return coding if coding is not None else _verdict.PSEUDOGENE_NAME.search(str(row["symbol"])) is None


def family_de(ctx: Context, dataset: str, test: Test) -> Outcome:
    g = ctx.genes[ctx.genes["dataset"] == dataset]
    if len(g):
        g = g[[test.matches(str(s)) for s in g["symbol"]]]
        g = g[[_coding(r) for _, r in g.iterrows()]] if len(g) else g
    name = test.name
    sig = g[g["status"].isin(["up", "down"])]
    tested = g[g["status"].isin(["up", "down", "not DE"])]
    untested = g[g["status"] == "untested"]
    ut = f"; untested: {', '.join(untested['symbol'])}" if len(untested) else ""
    if len(sig):
        ev = ", ".join(
            f"{s} {st} ({lfc:.2f})" for s, st, lfc in zip(sig["symbol"], sig["status"], sig["log2FoldChange"])
        )
        return Outcome(["yes"], ev + f" (of {len(tested)} tested){ut}")
    if len(tested):
        return Outcome(["no"], f"none of the {len(tested)} tested {name} gene(s) is DE{ut}")
    if len(untested):
        return Outcome(["not tested"], f"no {name} gene could be tested{ut}")
    return Outcome(["not tested"], f"no protein-coding {name} gene in the data")


# --------------------------------------------------------------------------- the label-permutation null


def null_rows(null: pd.DataFrame | None, dataset: str, library: str | None) -> pd.DataFrame:
    if null is None or null.empty or "dataset" not in null.columns:
        return pd.DataFrame()
    rows = null[null["dataset"] == dataset]
    if library is not None and "library" in rows.columns:
        rows = rows[rows["library"] == library]
    return rows


def null_text(rows: pd.DataFrame) -> str:
    """The label-permutation null of a dataset, in words (for display beside a verdict)."""
    out = []
    for _, r in rows.iterrows():
        p = r.get("empirical_p", np.nan)
        informative = r.get("informative", None)
        sel = " (selection-aware)" if render.yes(r.get("selection_aware", "no")) else ""
        n = r.get("n_permutations", np.nan)
        nperm = f", {int(n)} relabelings" if not pd.isna(n) else ""
        if str(informative) == "not tested":  # a dataset given as a DE table: no counts to relabel
            out.append(f"{r['method']}: {r.get('note', '') or 'not tested'}")
            continue
        if pd.isna(p) or (informative is not None and not pd.isna(informative) and not render.yes(informative)):
            note = str(r.get("note", "") or "")
            note = note[len("uninformative: ") :] if note.startswith("uninformative: ") else note
            note = note.split(";")[0].strip()  # the reason; the whole note is in results/<study>/null.tsv
            out.append(f"{r['method']}{sel}: uninformative{nperm}" + (f" ({note})" if note else ""))
        else:
            mp = r.get("min_p", np.nan)
            out.append(
                f"{r['method']}{sel}: empirical p {_verdict._num(float(p))}{nperm}"
                + (f", smallest possible {_verdict._num(float(mp))}" if not pd.isna(mp) else "")
            )
    return "; ".join(out)


def selection_null(
    null: pd.DataFrame | None, dataset: str, library: str | None, alpha: float, enabled: bool
) -> tuple[str, str]:
    """The selection-aware set_score null for a dataset with a selection by expression:
    ("yes" | "no" | "inconclusive", reason)."""
    if not enabled:
        return "inconclusive", (
            "the label-permutation null is disabled (null.enabled: false), so an enrichment "
            "caused by selecting patients by expression cannot be ruled out"
        )
    rows = null_rows(null, dataset, library)
    if not rows.empty and "method" in rows.columns:
        rows = rows[rows["method"] == "set_score"]
    else:
        rows = pd.DataFrame()
    if rows.empty:
        return "inconclusive", (
            f"no set_score row for {dataset} / {library} in the study's null.tsv: the enrichment "
            "cannot be told apart from the effect of selecting patients by expression"
        )
    r = rows.iloc[0]
    p, mp, note = r.get("empirical_p", np.nan), r.get("min_p", np.nan), r.get("note", "")
    note = f" ({note})" if isinstance(note, str) and note else ""
    if not render.yes(r.get("selection_aware", "no")):
        return "inconclusive", f"the set_score null is not selection-aware{note}"
    if not render.yes(r.get("informative", "no")) or pd.isna(p):
        return "inconclusive", f"the selection-aware set_score null is uninformative{note}"
    if not pd.isna(mp) and float(mp) > alpha:
        return "inconclusive", (
            f"the selection-aware set_score null cannot reach p <= {alpha} (smallest possible "
            f"p {_verdict._num(float(mp))}){note}"
        )
    if float(p) <= alpha:
        return "yes", f"selection-aware set_score null: empirical p {_verdict._num(float(p))} <= {alpha}"
    return "no", (
        f"the enrichment is explained by the selection: selection-aware set_score null empirical p "
        f"{_verdict._num(float(p))} > {alpha}"
    )


def qualify_by_selection(ctx: Context, dataset: str, before: Test, pathway: Outcome) -> Outcome | None:
    """The ``selection_null`` test after a pathway test: None where the dataset selects no samples by
    expression. Where it does, a ``yes`` of the pathway test is replaced by the null's answer (the
    pathway test's part is taken out of ``pathway``); a ``no`` is kept and said. A dataset given as a
    DE table cannot select samples (no counts): the evidence says the null was not tested."""
    if dataset in ctx.no_counts:
        return Outcome([], "selection-aware null: not tested (a DE table has no counts to relabel)")
    if dataset not in ctx.selected:
        return None
    if pathway.answer == "yes":
        holds, why = selection_null(ctx.null, dataset, ctx.library, ctx.null_alpha, ctx.null_enabled)
        pathway.parts = []
        return Outcome([holds], f"patients selected by expression: {why}")
    if pathway.answer == "no":
        said = "not enriched" if before.kind == "enriched" else "not on top"
        return Outcome([], f"patients selected by expression ({said} even so)")
    return Outcome([], "")


def run(ctx: Context, dataset: str, role: str, test: Test, pathway: Outcome | None) -> Outcome:
    """One test (not selection_null, see :func:`qualify_by_selection`) in one dataset."""
    if test.kind == "on_top":
        return on_top(ctx, dataset, test)
    if test.kind == "enriched":
        return enriched(ctx, dataset, test)
    if test.kind not in GENE_TESTS:
        raise ValueError(f"unknown test kind {test.kind!r}")
    # the genes / patterns in the dataset organism's symbols (its own, or orthologs), else not tested
    found = in_organism(test, ctx.organisms.get(dataset), ctx.organism, ctx.orthologs)
    if found.test is None:
        return Outcome(["not tested"], found.note)
    if test.kind == "genes_de":
        row = pathway.row if pathway is not None else pathway_row(ctx.verdict, dataset, ctx.library)
        out = genes_de(ctx, dataset, found.test, role, row)
    else:
        out = family_de(ctx, dataset, found.test)
    out.parts += ["untested"] * len(found.unmapped)
    out.evidence = "; ".join(e for e in (found.note, out.evidence, *found.unmapped) if e)
    return out
