"""The study's claims, checked dataset by dataset (Sarayloo et al. 2019 by default).

Each dataset has a ``role`` in the config. The claims:

1. ``cells``: in cells where MEIS1 is over-expressed (``cells_overexpression``) and where it
   is knocked out/down (``cells_loss_of_function``), the target pathway is on top (by the
   verdict's headline method and first library) *and* the key genes (HMOX1, VDR) are
   among its DE genes;
2. ``tissue``: in tissue (RLS thalamus with reduced MEIS1 vs controls) the target pathway
   is enriched (FDR <= max_fdr by the headline method; on top is not required);
3. ``metallothioneins``: in every dataset at least one metallothionein (the verdict's
   gene patterns) is differentially expressed.

A claim is "reproduced" when it holds in every dataset it concerns, "partly" when in
some, "not reproduced" when in none, and "not assessed" without such datasets. The
study as a whole is reproduced when every assessed claim is, not reproduced when none
is, and partly otherwise.
"""

from __future__ import annotations

import html

import pandas as pd

CLAIMS = {
    "cells": "In cells with MEIS1 over-expressed and with MEIS1 knocked out/down, {target} is the top "
             "dysregulated pathway, with {genes} among its DE genes.",
    "tissue": "{target} is enriched in the tissue of patients with reduced MEIS1 expression versus controls.",
    "metallothioneins": "Metallothionein genes are dysregulated in every dataset.",
}
ROLE_NAMES = {"cells_overexpression": "MEIS1 over-expression (cells)",
              "cells_loss_of_function": "MEIS1 loss of function (cells)", "tissue": "tissue", "other": "other"}
COLUMNS = ["claim", "dataset", "role", "holds", "evidence"]


def _de(genes: pd.DataFrame, dataset: str, symbol: str) -> tuple[bool, str]:
    g = genes[(genes["dataset"] == dataset) & (genes["symbol"] == symbol)]
    if g.empty:
        return False, f"{symbol}: not reported"
    best = g.iloc[0]
    if best["status"] in ("up", "down"):
        return True, f"{symbol} {best['status']} (log2FC {best['log2FoldChange']:.2f}, padj {best['padj']:.2g})"
    return False, f"{symbol} {best['status']}"


def _headline(verdict: pd.DataFrame, dataset: str) -> pd.Series | None:
    rows = verdict[(verdict["dataset"] == dataset) & verdict["primary"].astype(bool)]
    return rows.iloc[0] if len(rows) else None


def _describe(row: pd.Series) -> str:
    if row is None:
        return "no enrichment result"
    if pd.isna(row["rank"]):
        return f"{row['method']}: not ranked ({row['note']})"
    return (f"{row['method']} ({row['library']}): rank {int(row['rank'])} of {row['n_terms']}, "
            f"p {row['pvalue']:.2g}, FDR {row['fdr']:.2g}")


def evaluate(verdict: pd.DataFrame, genes: pd.DataFrame, roles: dict[str, str], *, target: str,
             key_genes: tuple[str, ...] = ("HMOX1", "VDR"), max_fdr: float = 0.05) -> pd.DataFrame:
    """One row per claim x dataset it concerns: does it hold (yes/partly/no), and the numbers."""
    rows = []
    for ds, role in roles.items():
        head = _headline(verdict, ds)
        if role.startswith("cells_"):
            on_top = head is not None and head["on_top"] == "yes"
            gene_calls = [_de(genes, ds, g) for g in key_genes]
            n_genes = sum(ok for ok, _ in gene_calls)
            in_overlap = [g for g in key_genes if head is not None and g in str(head["genes"]).split(";")]
            holds = "yes" if on_top and n_genes == len(key_genes) else (
                "partly" if on_top or n_genes else "no")
            ev = (f"{_describe(head)}; on top: {'yes' if on_top else 'no'}; "
                  + "; ".join(t for _, t in gene_calls)
                  + (f"; in the pathway's DE genes: {', '.join(in_overlap)}" if in_overlap else ""))
            rows.append({"claim": "cells", "dataset": ds, "role": role, "holds": holds, "evidence": ev})
        if role == "tissue":
            enriched = head is not None and not pd.isna(head["fdr"]) and head["fdr"] <= max_fdr
            rows.append({"claim": "tissue", "dataset": ds, "role": role, "holds": "yes" if enriched else "no",
                         "evidence": f"{_describe(head)}; enriched (FDR <= {max_fdr}): {'yes' if enriched else 'no'}"})
        g = genes[(genes["dataset"] == ds) & (genes["reason"] == "pattern")]
        sig = g[g["status"].isin(["up", "down"])]
        ev = (", ".join(f"{s} {st} ({lfc:.2f})" for s, st, lfc in zip(sig["symbol"], sig["status"],
                                                                       sig["log2FoldChange"]))
              or f"none of {len(g)} metallothionein gene(s) reported is DE")
        rows.append({"claim": "metallothioneins", "dataset": ds, "role": role,
                     "holds": "yes" if len(sig) else "no", "evidence": ev})
    return pd.DataFrame(rows, columns=COLUMNS)


def summarise(table: pd.DataFrame) -> dict[str, str]:
    """Per claim: reproduced / partly / not reproduced / not assessed; and "study"."""
    out = {}
    for claim in CLAIMS:
        h = table.loc[table["claim"] == claim, "holds"]
        if h.empty:
            out[claim] = "not assessed"
        elif (h == "yes").all():
            out[claim] = "reproduced"
        elif (h == "no").all():
            out[claim] = "not reproduced"
        else:
            out[claim] = "partly"
    assessed = [v for v in out.values() if v != "not assessed"]
    if not assessed:
        out["study"] = "not assessed"
    elif all(v == "reproduced" for v in assessed):
        out["study"] = "reproduced"
    elif all(v == "not reproduced" for v in assessed):
        out["study"] = "not reproduced"
    else:
        out["study"] = "partly reproduced"
    return out


def paragraph(table: pd.DataFrame, summary: dict[str, str], target: str, key_genes) -> str:
    parts = [f"Overall the study's findings are {summary['study'].upper()} by this analysis."]
    for claim, text in CLAIMS.items():
        sub = table[table["claim"] == claim]
        where = ", ".join(f"{d}: {h}" for d, h in zip(sub["dataset"], sub["holds"])) or "no dataset"
        parts.append(f"Claim '{text.format(target=target, genes=' and '.join(key_genes))}' — "
                     f"{summary[claim]} ({where}).")
    return " ".join(parts)


def to_html(table: pd.DataFrame, summary: dict[str, str], target: str, key_genes, banner: str = "") -> str:
    e = html.escape
    colour = {"yes": "#d8f0d8", "partly": "#fff3cd", "no": "#f6dede"}
    rows = "".join(
        f"<tr><td>{e(r['claim'])}</td><td>{e(r['dataset'])}</td><td>{e(ROLE_NAMES.get(r['role'], r['role']))}</td>"
        f"<td style='background:{colour.get(r['holds'], '#fff')}'><b>{e(r['holds'])}</b></td>"
        f"<td>{e(r['evidence'])}</td></tr>" for _, r in table.iterrows())
    claims = "".join(f"<li><b>{e(summary[k])}</b>: {e(v.format(target=target, genes=' and '.join(key_genes)))}</li>"
                     for k, v in CLAIMS.items())
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Claims</title><style>body{font-family:"
            "sans-serif;margin:1.5em;max-width:75em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
            "padding:3px 6px;font-size:90%;vertical-align:top}th{background:#f2f2f2}.banner{background:#fff3cd;"
            "border:1px solid #e0c36c;padding:.5em;font-weight:bold}</style></head><body>"
            + (f"<p class='banner'>{e(banner)}</p>" if banner else "")
            + f"<h1>Does the study reproduce? {e(summary['study'])}</h1>"
            + f"<p id='claims-paragraph'>{e(paragraph(table, summary, target, key_genes))}</p><ul>{claims}</ul>"
            + "<table id='claims-table'><tr><th>claim</th><th>dataset</th><th>role</th><th>holds</th>"
            + f"<th>evidence</th></tr>{rows}</table></body></html>\n")

