"""The study's claims, checked dataset by dataset (Sarayloo et al. 2019 by default).

Each dataset has a ``role`` in the config; only the study roles enter the claims:

* ``cells_overexpression`` / ``cells_loss_of_function``: MEIS1 over-expressed / knocked
  out or down in cells (claims 1 and 3);
* ``tissue``: patients' tissue vs controls (claims 2 and 3);
* ``negative_control``: a dataset where the target is expected *not* to be on top. It is
  shown as a check of the method -- passed when the target is not called on top (status
  not_on_top, or inconclusive: no such call was made), failed when it is -- and never
  counted in a claim;
* ``other``: analysed (verdict, robustness, null), never part of the claims.

The claims:

1. ``cells``: in the cell datasets the target pathway is on top (verdict status of the
   headline method and primary library) *and* the key genes (HMOX1, VDR) are DE;
2. ``tissue``: in tissue the target pathway is enriched (FDR <= max_fdr by the headline
   method, with the verdict's minimum evidence; on top is not required). When the
   dataset selects patients by expression (``select_by_expression``, e.g. reduced
   MEIS1) the selection alone can make the target look enriched, so the claim also
   needs the selection-aware label-permutation null (``results/null.tsv``, method
   ``set_score`` of the primary library, ``selection_aware`` yes): ``yes`` only when that
   null is informative with empirical p <= ``null_alpha``; ``no`` when its p is larger
   ("the enrichment is explained by the selection"); ``inconclusive`` when the null is
   disabled, missing or uninformative. The other selection analyses
   (``results/{dataset}/selection/analyses.tsv``) are shown beside the claim;
3. ``metallothioneins``: in every study dataset at least one protein-coding
   metallothionein (the verdict's gene patterns; pseudogenes excluded) is DE.

Per dataset ``holds`` is ``yes`` / ``partly`` (some parts of the claim hold, others do
not) / ``no`` / ``inconclusive`` (the data cannot answer, the evidence says why) /
``not tested`` (no testable evidence in the dataset, e.g. every metallothionein
untested). Untested genes and inconclusive verdicts are never counted for or against.

Per claim: ``reproduced`` (yes in every dataset it concerns), ``not reproduced`` (no
dataset supports it and at least one contradicts it), ``partly`` (support and
contradiction both), ``inconclusive`` (support in some datasets, the others cannot
answer; or none can) and ``not tested`` (no dataset of the roles it needs, or nothing
testable). The study: ``reproduced`` when every tested claim is, ``not reproduced``
when none is reproduced or partly, ``inconclusive`` when every tested claim is, else
``partly reproduced``; ``not tested`` when no claim could be tested.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import numpy as np
import pandas as pd

from . import verdict as _verdict

CLAIMS = {
    "cells": "In cells with MEIS1 over-expressed and with MEIS1 knocked out/down, {target} is the top "
             "dysregulated pathway, with {genes} among its DE genes.",
    "tissue": "{target} is enriched in the tissue of patients with reduced MEIS1 expression versus controls.",
    "metallothioneins": "Metallothionein genes are dysregulated in every dataset.",
}
CHECKS = {
    "negative_control": "In a negative-control dataset {target} is not on top (a check of the method, "
                        "not a claim of the study).",
}
CELL_ROLES = ("cells_overexpression", "cells_loss_of_function")
STUDY_ROLES = CELL_ROLES + ("tissue",)
ROLES = STUDY_ROLES + ("negative_control", "other")
ROLE_NAMES = {"cells_overexpression": "MEIS1 over-expression (cells)",
              "cells_loss_of_function": "MEIS1 loss of function (cells)", "tissue": "tissue",
              "negative_control": "negative control", "other": "other (not part of the claims)"}
HOLDS = ("yes", "partly", "no", "inconclusive", "not tested")
COLUMNS = ["claim", "dataset", "role", "holds", "evidence", "null"]
NULL_TEXT = ("dataset", "library", "method", "statistic", "informative", "selection_aware", "note")
SELECTION_TEXT = ("dataset", "analysis", "description", "library", "method", "status", "implication")


# --------------------------------------------------------------------------- reading

def _read_text_table(path, text: Iterable[str]) -> pd.DataFrame:
    head = pd.read_csv(path, sep="\t", nrows=0).columns
    text_cols = {c: str for c in head if c in set(text)}
    return pd.read_csv(path, sep="\t", dtype=text_cols, keep_default_na=False,
                       na_values={c: [""] for c in head if c not in text_cols})


def read_null(path) -> pd.DataFrame:
    """``results/null.tsv`` with text columns as text (a dataset may be called "null" or
    "NA"); ``empirical_p`` empty -> NaN."""
    return _read_text_table(path, NULL_TEXT)


def read_selection(paths: Iterable) -> pd.DataFrame:
    """The selection analyses of every dataset with ``select_by_expression``, in one table."""
    tables = [_read_text_table(p, SELECTION_TEXT) for p in paths]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(SELECTION_TEXT))


# --------------------------------------------------------------------------- pieces

def _p(row, col="pvalue") -> str:
    return _verdict.fmt_p(row[col], row.get("p_bound", False) if col == "pvalue" else False)


def _gene(genes: pd.DataFrame, dataset: str, symbol: str) -> tuple[str, str]:
    """("yes" | "no" | "untested", text) for a key gene."""
    g = genes[(genes["dataset"] == dataset) & (genes["symbol"] == symbol)]
    if g.empty:
        return "untested", f"{symbol}: not reported"
    order = {"up": 0, "down": 0, "not DE": 1, "untested": 2}
    best = g.iloc[int(np.argmin([order.get(s, 3) for s in g["status"]]))]
    st = best["status"]
    if st in ("up", "down"):
        return "yes", f"{symbol} {st} (log2FC {best['log2FoldChange']:.2f}, padj {best['padj']:.2g})"
    detail = best.get("detail", "")
    detail = f": {detail}" if isinstance(detail, str) and detail else ""
    if st == "not DE":
        return "no", f"{symbol} not DE{detail}"
    return "untested", f"{symbol} untested{detail}"


def _headline(verdict: pd.DataFrame, dataset: str, library: str | None) -> pd.Series | None:
    rows = verdict[(verdict["dataset"] == dataset) & verdict["primary"].astype(bool)]
    if library is not None:
        rows = rows[rows["library"] == library]
    return rows.iloc[0] if len(rows) else None


def _describe(row: pd.Series | None) -> str:
    if row is None:
        return "no enrichment result"
    st = _verdict._status(row)
    if pd.isna(row["rank"]):
        return f"{row['method']} ({row['library']}): {st} ({row['note']})"
    return (f"{row['method']} ({row['library']}): rank {int(row['rank'])} of {row['n_terms']}, "
            f"p {_p(row)}, FDR {_verdict._num(row['fdr'])}; {st}" + (f" ({row['note']})" if row["note"] else ""))


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


def _null_rows(null: pd.DataFrame | None, dataset: str, library: str | None) -> pd.DataFrame:
    if null is None or null.empty or "dataset" not in null.columns:
        return pd.DataFrame()
    rows = null[null["dataset"] == dataset]
    if library is not None and "library" in rows.columns:
        rows = rows[rows["library"] == library]
    return rows


def _yes(value) -> bool:
    return str(value).strip().lower() in ("yes", "true", "1")


def null_text(rows: pd.DataFrame) -> str:
    """The label-permutation null of a dataset, in words (for display beside a verdict)."""
    out = []
    for _, r in rows.iterrows():
        p = r.get("empirical_p", np.nan)
        informative = r.get("informative", None)
        sel = " (selection-aware)" if _yes(r.get("selection_aware", "no")) else ""
        n = r.get("n_permutations", np.nan)
        nperm = f", {int(n)} relabelings" if not pd.isna(n) else ""
        if pd.isna(p) or (informative is not None and not pd.isna(informative) and not _yes(informative)):
            note = str(r.get("note", "") or "")
            note = note[len("uninformative: "):] if note.startswith("uninformative: ") else note
            out.append(f"{r['method']}{sel}: uninformative{nperm}" + (f" ({note})" if note else ""))
        else:
            mp = r.get("min_p", np.nan)
            out.append(f"{r['method']}{sel}: empirical p {_verdict._num(float(p))}{nperm}"
                       + (f", smallest possible {_verdict._num(float(mp))}" if not pd.isna(mp) else ""))
    return "; ".join(out)


def selection_null(null: pd.DataFrame | None, dataset: str, library: str | None, alpha: float,
                   enabled: bool) -> tuple[str, str]:
    """The selection-aware set_score null for a tissue dataset with a selection:
    ("yes" | "no" | "inconclusive", reason)."""
    if not enabled:
        return "inconclusive", ("the label-permutation null is disabled (null.enabled: false), so an enrichment "
                                "caused by selecting patients by expression cannot be ruled out")
    rows = _null_rows(null, dataset, library)
    if not rows.empty and "method" in rows.columns:
        rows = rows[rows["method"] == "set_score"]
    else:
        rows = pd.DataFrame()
    if rows.empty:
        return "inconclusive", (f"no set_score row for {dataset} / {library} in results/null.tsv: the enrichment "
                                "cannot be told apart from the effect of selecting patients by expression")
    r = rows.iloc[0]
    p, mp, note = r.get("empirical_p", np.nan), r.get("min_p", np.nan), r.get("note", "")
    note = f" ({note})" if isinstance(note, str) and note else ""
    if not _yes(r.get("selection_aware", "no")):
        return "inconclusive", f"the set_score null is not selection-aware{note}"
    if not _yes(r.get("informative", "no")) or pd.isna(p):
        return "inconclusive", f"the selection-aware set_score null is uninformative{note}"
    if not pd.isna(mp) and float(mp) > alpha:
        return "inconclusive", (f"the selection-aware set_score null cannot reach p <= {alpha} (smallest possible "
                                f"p {_verdict._num(float(mp))}){note}")
    if float(p) <= alpha:
        return "yes", f"selection-aware set_score null: empirical p {_verdict._num(float(p))} <= {alpha}"
    return "no", (f"the enrichment is explained by the selection: selection-aware set_score null empirical p "
                  f"{_verdict._num(float(p))} > {alpha}")


# --------------------------------------------------------------------------- evaluate

def evaluate(verdict: pd.DataFrame, genes: pd.DataFrame, roles: dict[str, str], *, target: str,
             key_genes: tuple[str, ...] = ("HMOX1", "VDR"), max_fdr: float = 0.05, library: str | None = None,
             null: pd.DataFrame | None = None, selected: Iterable[str] = (), null_enabled: bool = True,
             null_alpha: float = 0.05, sensitivity: pd.DataFrame | None = None,
             directions: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per claim (and check) x dataset it concerns: does it hold, and the numbers.

    ``library`` is the primary library (default: the first in ``verdict``); ``null`` is
    ``results/null.tsv`` (or None); ``selected`` the datasets with ``select_by_expression``.
    ``sensitivity`` (``results/sensitivity.tsv``) and ``directions``
    (``results/sensitivity_directions.tsv``) add one clause each to the evidence of the
    pathway claims (cells, tissue): shown, never counted for or against a claim.
    """
    from . import sensitivity as _sens

    def sensitivity_clause(ds: str, head: pd.Series | None, cells: bool) -> str:
        out = ""
        if sensitivity is not None and head is not None:
            text = _sens.sentence(sensitivity, ds, str(head["library"]), str(head["method"]))
            out += f"; {text} (shown, not judged)" if text else ""
        if cells and directions is not None and len(directions):
            out += f"; directions in the cell datasets (shown, not judged): {_sens.directions_sentence(directions)}"
        return out

    if library is None and len(verdict):
        library = str(verdict["library"].iloc[0])
    selected = set(selected)
    counted = _verdict.counted_genes(genes)
    rows = []
    for ds, role in roles.items():
        if role not in STUDY_ROLES and role != "negative_control":
            continue  # `other`: analysed, never part of the claims
        head = _headline(verdict, ds, library)
        st = _verdict._status(head) if head is not None else None
        nrows = _null_rows(null, ds, library)
        ntext = null_text(nrows) if not nrows.empty else ("" if null_enabled else "null disabled")
        if role == "negative_control":
            # the check: is the target falsely called on top? An inconclusive verdict is no such call
            passed = {"on_top": "no", "not_on_top": "yes", "inconclusive": "yes", None: "not tested"}[st]
            said = {"on_top": "called ON TOP", "not_on_top": "not on top",
                    "inconclusive": "not called on top (inconclusive)", None: "no result"}[st]
            rows.append({"claim": "negative_control", "dataset": ds, "role": role, "holds": passed,
                         "evidence": f"{_describe(head)}; expected: not on top; {said}", "null": ntext})
            continue
        if role in CELL_ROLES:
            pathway = {"on_top": "yes", "not_on_top": "no", "inconclusive": "inconclusive", None: "not tested"}[st]
            gene_calls = [_gene(genes, ds, g) for g in key_genes]
            in_overlap = [g for g in key_genes if head is not None and g in str(head["genes"]).split(";")]
            holds = combine([pathway] + [c for c, _ in gene_calls])
            ev = (f"{_describe(head)}; " + "; ".join(t for _, t in gene_calls)
                  + (f"; in the pathway's DE genes: {', '.join(in_overlap)}" if in_overlap else "")
                  + sensitivity_clause(ds, head, cells=True))
            rows.append({"claim": "cells", "dataset": ds, "role": role, "holds": holds, "evidence": ev,
                         "null": ntext})
        if role == "tissue":
            if head is None:
                holds, ev = "not tested", "no enrichment result"
            elif st == "inconclusive":
                holds, ev = "inconclusive", _describe(head)
            else:
                enriched = not pd.isna(head["fdr"]) and float(head["fdr"]) <= max_fdr
                holds = "yes" if enriched else "no"
                ev = f"{_describe(head)}; enriched (FDR <= {max_fdr}): {holds}"
                if enriched and ds in selected:
                    holds, why = selection_null(null, ds, library, null_alpha, null_enabled)
                    ev += f"; patients selected by expression: {why}"
                elif ds in selected:
                    ev += "; patients selected by expression (not enriched even so)"
            ev += sensitivity_clause(ds, head, cells=False)
            rows.append({"claim": "tissue", "dataset": ds, "role": role, "holds": holds, "evidence": ev,
                         "null": ntext})
        g = counted[(counted["dataset"] == ds) & (counted["reason"] == "pattern")]
        sig = g[g["status"].isin(["up", "down"])]
        tested = g[g["status"].isin(["up", "down", "not DE"])]
        untested = g[g["status"] == "untested"]
        ut = f"; untested: {', '.join(untested['symbol'])}" if len(untested) else ""
        if len(sig):
            holds = "yes"
            ev = ", ".join(f"{s} {st_} ({lfc:.2f})" for s, st_, lfc in zip(sig["symbol"], sig["status"],
                                                                           sig["log2FoldChange"]))
            ev += f" (of {len(tested)} tested){ut}"
        elif len(tested):
            holds, ev = "no", f"none of the {len(tested)} tested metallothionein gene(s) is DE{ut}"
        else:
            holds = "not tested"
            ev = (f"no metallothionein gene could be tested{ut}" if len(untested)
                  else "no protein-coding metallothionein gene in the data")
        rows.append({"claim": "metallothioneins", "dataset": ds, "role": role, "holds": holds, "evidence": ev,
                     "null": ""})
    return pd.DataFrame(rows, columns=COLUMNS)


def aggregate(holds: Iterable[str]) -> str:
    """One claim over its datasets (see the module docs)."""
    h = [x for x in holds]
    tested = [x for x in h if x != "not tested"]
    if not tested:
        return "not tested"
    support = any(x in ("yes", "partly") for x in h)
    against = any(x in ("no", "partly") for x in h)
    if all(x == "yes" for x in h):
        return "reproduced"
    if support and against:
        return "partly"
    if against:
        return "not reproduced"
    return "inconclusive"


def summarise(table: pd.DataFrame) -> dict[str, str]:
    """Per claim: reproduced / partly / not reproduced / inconclusive / not tested; the
    negative-control check (passed / failed / inconclusive / not tested; key present only
    when the study has a negative control); and "study"."""
    out = {claim: aggregate(table.loc[table["claim"] == claim, "holds"]) for claim in CLAIMS}
    nc = list(table.loc[table["claim"] == "negative_control", "holds"])
    if not nc:
        pass  # no negative control in the study: no check to report
    elif all(x == "not tested" for x in nc):
        out["negative_control"] = "not tested"
    elif "no" in nc:
        out["negative_control"] = "failed"
    elif all(x == "yes" for x in nc):
        out["negative_control"] = "passed"
    else:
        out["negative_control"] = "inconclusive"
    assessed = [out[c] for c in CLAIMS if out[c] != "not tested"]
    if not assessed:
        out["study"] = "not tested"
    elif all(v == "reproduced" for v in assessed):
        out["study"] = "reproduced"
    elif all(v == "inconclusive" for v in assessed):
        out["study"] = "inconclusive"
    elif not any(v in ("reproduced", "partly") for v in assessed):
        out["study"] = "not reproduced"
    else:
        out["study"] = "partly reproduced"
    return out


def paragraph(table: pd.DataFrame, summary: dict[str, str], target: str, key_genes,
              calibration: pd.DataFrame | None = None) -> str:
    study = summary["study"]
    verb = "could NOT BE TESTED" if study == "not tested" else (
        "INCONCLUSIVE" if study == "inconclusive" else study.upper())
    parts = [f"Overall the study's findings are {verb} by this analysis."]
    for claim, text in CLAIMS.items():
        sub = table[table["claim"] == claim]
        where = ", ".join(f"{d}: {h}" for d, h in zip(sub["dataset"], sub["holds"])) or "no dataset of its roles"
        parts.append(f"Claim '{text.format(target=target, genes=' and '.join(key_genes))}' — "
                     f"{summary[claim]} ({where}).")
    sub = table[table["claim"] == "negative_control"]
    if len(sub):
        where = ", ".join(f"{d}: {'not on top' if h == 'yes' else ('ON TOP' if h == 'no' else h)}"
                          for d, h in zip(sub["dataset"], sub["holds"]))
        parts.append(f"Check of the method on negative controls (not counted in any claim): "
                     f"{summary['negative_control']} ({where}).")
    if calibration is not None:  # results/calibration.tsv: how often such an answer is wrong
        from .calibration import sentence

        parts.append(sentence(calibration))
    return " ".join(p for p in parts if p)


def _selection_html(selection: pd.DataFrame | None, datasets: Iterable[str]) -> str:
    e = html.escape
    datasets = list(datasets)
    if not datasets:
        return ""
    out = ["<h2>Selection by expression: the analyses side by side</h2><p>Selecting patients by a gene's "
           "expression can make a pathway look enriched by itself. Each analysis below answers the question "
           "differently; the sentence says what its result implies.</p>"]
    for ds in datasets:
        sub = selection[selection["dataset"] == ds] if selection is not None and len(selection) else pd.DataFrame()
        out.append(f"<h3>{e(ds)}</h3>")
        if sub.empty:
            out.append("<p>No selection analyses available (they come with the label-permutation null; "
                       "<code>null.enabled</code>).</p>")
            continue
        cols = ["analysis", "description", "library", "method", "rank", "n_terms", "pvalue", "fdr", "status",
                "implication"]
        cols = [c for c in cols if c in sub.columns]
        out.append(f"<table class='selection' id='selection-{e(ds)}'><tr>"
                   + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr>")
        for _, r in sub.iterrows():
            cells = []
            for c in cols:
                v = r[c]
                if c in ("pvalue", "fdr", "rank", "n_terms"):
                    v = _verdict._num(float(v)) if not pd.isna(v) else "–"
                cells.append(f"<td>{e(str(v))}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</table>")
    return "".join(out)


def to_html(table: pd.DataFrame, summary: dict[str, str], target: str, key_genes, banner: str = "",
            selection: pd.DataFrame | None = None, selected: Iterable[str] = ()) -> str:
    e = html.escape
    colour = {"yes": "#d8f0d8", "partly": "#fff3cd", "no": "#f6dede", "inconclusive": "#eeeeee",
              "not tested": "#ffffff"}

    def rows_of(t):
        return "".join(
            f"<tr><td>{e(r['claim'])}</td><td>{e(r['dataset'])}</td><td>{e(ROLE_NAMES.get(r['role'], r['role']))}"
            f"</td><td style='background:{colour.get(r['holds'], '#fff')}'><b>{e(r['holds'])}</b></td>"
            f"<td>{e(r['evidence'])}</td><td>{e(str(r.get('null', '') or '–'))}</td></tr>" for _, r in t.iterrows())

    head = ("<tr><th>claim</th><th>dataset</th><th>role</th><th>holds</th><th>evidence</th>"
            "<th>label-permutation null</th></tr>")
    claims_t = table[table["claim"].isin(list(CLAIMS))]
    checks_t = table[table["claim"] == "negative_control"]
    claims = "".join(f"<li><b>{e(summary[k])}</b>: {e(v.format(target=target, genes=' and '.join(key_genes)))}</li>"
                     for k, v in CLAIMS.items())
    checks = ""
    if len(checks_t):
        checks = (f"<h2>Check of the method: negative controls ({e(summary['negative_control'])})</h2><p>"
                  f"{e(CHECKS['negative_control'].format(target=target))} holds = yes: the check passed.</p>"
                  f"<table id='checks-table'>{head}{rows_of(checks_t)}</table>")
    legend = ("<p><b>holds</b>: yes / partly / no; <i>inconclusive</i> = the data cannot answer (too little "
              "evidence, an uninformative null), the evidence says why; <i>not tested</i> = nothing in the dataset "
              "could test the claim (e.g. every metallothionein untested). Untested genes are never counted as not "
              "DE. Datasets of role <code>other</code> are analysed but not part of the claims.</p>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Claims</title><style>body{font-family:"
            "sans-serif;margin:1.5em;max-width:75em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px "
            "solid #ccc;padding:3px 6px;font-size:90%;vertical-align:top}th{background:#f2f2f2}.banner{background:"
            "#fff3cd;border:1px solid #e0c36c;padding:.5em;font-weight:bold}</style></head><body>"
            + (f"<p class='banner'>{e(banner)}</p>" if banner else "")
            + f"<h1>Does the study reproduce? {e(summary['study'])}</h1>"
            + f"<p id='claims-paragraph'>{e(paragraph(table, summary, target, key_genes))}</p><ul>{claims}</ul>"
            + legend + f"<table id='claims-table'>{head}{rows_of(claims_t)}</table>" + checks
            + _selection_html(selection, selected) + "</body></html>\n")
