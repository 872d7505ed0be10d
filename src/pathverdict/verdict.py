"""The verdict: is the target pathway on top, per dataset, library and method?

For every dataset x gene-set library x enrichment method (ORA of up, down and all DE
genes; pre-ranked GSEA) the target pathway's rank among the ranked pathways, its p
and FDR and its overlap genes are reported. The target is "on top" when its rank is
at most ``top_n`` and its FDR at most ``max_fdr``. Each dataset's headline answer
comes from the ``primary`` method. The status of chosen genes (default HMOX1, VDR and
every metallothionein) is reported alongside.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

METHODS = ("ora_all", "ora_up", "ora_down", "gsea")
VERDICT_COLUMNS = ["dataset", "library", "method", "primary", "target", "target_id", "on_top", "rank",
                   "n_terms", "pvalue", "fdr", "nes", "overlap_size", "set_size", "genes", "top_term",
                   "de_genes", "note"]
GENE_COLUMNS = ["dataset", "symbol", "gene_id", "reason", "baseMean", "log2FoldChange", "padj", "status"]


@dataclass
class VerdictSettings:
    top_n: int = 1
    max_fdr: float = 0.05
    primary: str = "ora_all"
    alpha: float = 0.05
    genes: tuple[str, ...] = ("HMOX1", "VDR")
    gene_patterns: tuple[str, ...] = (r"^MT1[A-Z0-9]*$", r"^MT2A$", r"^MT3$", r"^MT4$")


def _fmt_count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def judge_method(table: pd.DataFrame, method: str, target: str, settings: VerdictSettings,
                 n_query: int | None) -> dict:
    """One verdict row (without dataset/library keys) from one enrichment table."""
    is_gsea = method == "gsea"
    row = {"method": method, "target": target, "n_terms": int(len(table)), "rank": np.nan, "pvalue": np.nan,
           "fdr": np.nan, "nes": np.nan, "overlap_size": np.nan, "set_size": np.nan, "genes": "",
           "top_term": table["term"].iloc[0] if len(table) else "", "on_top": "no", "note": "",
           "de_genes": n_query if n_query is not None else np.nan}
    if not is_gsea and not n_query:
        row["note"] = "no DE genes at the thresholds: over-representation cannot be tested"
        return row
    hit = table[table["term"] == target]
    if hit.empty:
        if is_gsea:
            row["note"] = "target not tested by GSEA (too few of its genes among the ranked genes)"
        else:
            row["note"] = "none of the DE genes is in the target pathway (or it is outside the size limits)"
        return row
    h = hit.iloc[0]
    fdr = float(h["fdr"] if is_gsea else h["padj"])
    row.update(rank=int(h["rank"]), pvalue=float(h["pvalue"]), fdr=fdr,
               set_size=int(h["set_size"]),
               genes=h["leading_edge"] if is_gsea else h["overlap_genes"])
    if is_gsea:
        row["nes"] = float(h["nes"])
    else:
        row["overlap_size"] = int(h["overlap_size"])
    on_top = row["rank"] <= settings.top_n and fdr <= settings.max_fdr
    row["on_top"] = "yes" if on_top else "no"
    if not on_top:
        reasons = []
        if row["rank"] > settings.top_n:
            reasons.append(f"rank {row['rank']} > top {settings.top_n}")
        if fdr > settings.max_fdr:
            reasons.append(f"FDR {fdr:.3g} > {settings.max_fdr}")
        row["note"] = "; ".join(reasons)
    return row


def judge_dataset(dataset: str, library: str, target: str, target_id: str | None,
                  tables: dict[str, pd.DataFrame], query_sizes: dict[str, int],
                  settings: VerdictSettings) -> pd.DataFrame:
    rows = []
    for method in METHODS:
        if method not in tables:
            continue
        t = tables[method]
        t = t[t["library"] == library] if "library" in t.columns else t
        r = judge_method(t, method, target, settings, query_sizes.get(method))
        r.update(dataset=dataset, library=library, target_id=target_id or "",
                 primary=method == settings.primary)
        rows.append(r)
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def gene_status(dataset: str, de: pd.DataFrame, settings: VerdictSettings,
                input_genes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Status of the requested genes and of every gene matching the patterns.

    ``input_genes`` (columns gene_id, symbol: every gene of the count matrix) tells genes
    removed by the pre-filter apart from genes absent from the data, and lets patterns
    match genes that were not tested.
    """
    symbols = de["symbol"].astype("string")
    known = set(symbols.dropna())
    input_symbols = set()
    if input_genes is not None:
        input_symbols = set(input_genes["symbol"].dropna().astype(str))
    patterns = [re.compile(p) for p in settings.gene_patterns]
    wanted: dict[str, str] = {g: "requested" for g in settings.genes}
    for s in sorted(known | input_symbols):
        if s not in wanted and any(p.search(s) for p in patterns):
            wanted[s] = "pattern"
    rows = []
    for sym, reason in wanted.items():
        sub = de[symbols == sym]
        if sub.empty:
            if input_genes is None:
                status = "not tested (absent or removed by the pre-filter)"
            elif sym in input_symbols:
                status = "not tested (removed by the pre-filter: too few reads)"
            else:
                status = "absent from the count matrix"
            ids = input_genes.loc[input_genes["symbol"] == sym, "gene_id"] if input_genes is not None else []
            rows.append({"dataset": dataset, "symbol": sym, "gene_id": ";".join(map(str, ids)), "reason": reason,
                         "baseMean": np.nan, "log2FoldChange": np.nan, "padj": np.nan, "status": status})
            continue
        for _, g in sub.iterrows():
            padj = g["padj"]
            if pd.isna(g["pvalue"]) and g["baseMean"] == 0:
                status = "not tested (no reads in any sample)"
            elif pd.isna(g["pvalue"]):
                status = "no p-value (Cook's outlier)"
            elif pd.isna(padj):
                status = "filtered (low mean count, independent filtering)"
            elif padj < settings.alpha:
                status = "up" if g["log2FoldChange"] > 0 else "down"
            else:
                status = "not significant"
            rows.append({"dataset": dataset, "symbol": sym, "gene_id": g["gene_id"], "reason": reason,
                         "baseMean": g["baseMean"], "log2FoldChange": g["log2FoldChange"], "padj": padj,
                         "status": status})
    return pd.DataFrame(rows, columns=GENE_COLUMNS)


def headline(verdict: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset x library: the primary method's answer."""
    return verdict[verdict["primary"]].reset_index(drop=True)


def _num(x, digits=3) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.{digits}g}"


def summary_sentences(verdict: pd.DataFrame, genes: pd.DataFrame, settings: VerdictSettings) -> list[str]:
    out = []
    for _, r in headline(verdict).iterrows():
        top = "is on top" if r["on_top"] == "yes" else "is not on top"
        if pd.isna(r["rank"]):
            detail = r["note"]
        else:
            detail = (f"rank {_num(r['rank'])} of {r['n_terms']}, p = {_num(r['pvalue'])}, FDR = {_num(r['fdr'])}"
                      + (f"; {r['note']}" if r["note"] else ""))
        others = verdict[(verdict["dataset"] == r["dataset"]) & (verdict["library"] == r["library"])
                         & ~verdict["primary"]]
        also = [m for m in others[others["on_top"] == "yes"]["method"]]
        extra = f" It is on top by {', '.join(also)} as well." if also and r["on_top"] == "yes" else (
            f" It is on top by {', '.join(also)}." if also else "")
        g = genes[genes["dataset"] == r["dataset"]]
        sig = g[g["status"].isin(["up", "down"])]
        gl = ", ".join(f"{s} {st}" for s, st in zip(sig["symbol"], sig["status"])) or "none"
        out.append(f"{r['dataset']} ({r['library']}, {r['method']}): {r['target']} {top} ({detail}).{extra} "
                   f"Significant genes of interest (padj < {settings.alpha}): {gl}.")
    return out


def to_markdown(verdict: pd.DataFrame, genes: pd.DataFrame, settings: VerdictSettings, title: str) -> str:
    lines = [f"# {title}", "",
             f"On top = rank <= {settings.top_n} and FDR <= {settings.max_fdr}; headline method: "
             f"{settings.primary}.", ""]
    lines += [f"- {s}" for s in summary_sentences(verdict, genes, settings)]
    lines += ["", "## All methods", "",
              "| dataset | library | method | on top | rank | terms | p | FDR | NES | genes | note |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in verdict.iterrows():
        lines.append(f"| {r['dataset']} | {r['library']} | {r['method']}{' (headline)' if r['primary'] else ''} | "
                     f"{r['on_top']} | {_num(r['rank'])} | {r['n_terms']} | {_num(r['pvalue'])} | {_num(r['fdr'])} | "
                     f"{_num(r['nes'])} | {r['genes'] or '–'} | {r['note'] or ''} |")
    lines += ["", "## Genes of interest", "", "| dataset | gene | gene_id | log2FC | padj | status |",
              "|---|---|---|---|---|---|"]
    for _, g in genes.iterrows():
        lines.append(f"| {g['dataset']} | {g['symbol']} | {g['gene_id'] or '–'} | {_num(g['log2FoldChange'])} | "
                     f"{_num(g['padj'])} | {g['status']} |")
    return "\n".join(lines) + "\n"


def to_html(verdict: pd.DataFrame, genes: pd.DataFrame, settings: VerdictSettings, title: str,
            banner: str = "") -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
             "<style>body{font-family:sans-serif;margin:1.5em;max-width:75em}table{border-collapse:collapse;"
             "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;font-size:90%;vertical-align:top}"
             "th{background:#f2f2f2}.yes{background:#d8f0d8;font-weight:bold}.no{background:#f6dede}"
             ".banner{background:#fff3cd;border:1px solid #e0c36c;padding:.5em;font-weight:bold}"
             "td.genes{max-width:30em;word-break:break-word}</style></head><body>"]
    if banner:
        parts.append(f"<p class='banner'>{e(banner)}</p>")
    parts.append(f"<h1>{e(title)}</h1>")
    parts.append(f"<p>The target counts as <b>on top</b> when its rank among all tested pathways is at most "
                 f"{settings.top_n} and its FDR at most {settings.max_fdr}. Headline method: "
                 f"<b>{e(settings.primary)}</b>.</p><ul id='verdict-summary'>")
    for s in summary_sentences(verdict, genes, settings):
        parts.append(f"<li>{e(s)}</li>")
    parts.append("</ul><h2>All methods</h2><table id='verdict-table'><tr>" + "".join(
        f"<th>{h}</th>" for h in ["dataset", "library", "method", "on top", "rank", "terms", "p", "FDR", "NES",
                                  "overlap / leading edge", "top pathway", "note"]) + "</tr>")
    for _, r in verdict.iterrows():
        parts.append(
            f"<tr><td>{e(r['dataset'])}</td><td>{e(r['library'])}</td><td>{e(r['method'])}"
            f"{' <b>(headline)</b>' if r['primary'] else ''}</td><td class='{r['on_top']}'>{r['on_top']}</td>"
            f"<td>{_num(r['rank'])}</td><td>{r['n_terms']}</td><td>{_num(r['pvalue'])}</td><td>{_num(r['fdr'])}</td>"
            f"<td>{_num(r['nes'])}</td><td class='genes'>{e(str(r['genes']).replace(';', ', ')) or '–'}</td>"
            f"<td>{e(str(r['top_term']))}</td><td>{e(str(r['note']))}</td></tr>")
    parts.append("</table><h2>Genes of interest</h2><table id='genes-table'><tr>" + "".join(
        f"<th>{h}</th>" for h in ["dataset", "gene", "gene ID", "baseMean", "log2FC", "padj", "status"]) + "</tr>")
    for _, g in genes.iterrows():
        cls = "yes" if g["status"] in ("up", "down") else ""
        parts.append(f"<tr><td>{e(g['dataset'])}</td><td>{e(g['symbol'])}</td><td>{e(str(g['gene_id']))}</td>"
                     f"<td>{_num(g['baseMean'])}</td><td>{_num(g['log2FoldChange'])}</td><td>{_num(g['padj'])}</td>"
                     f"<td class='{cls}'>{e(g['status'])}</td></tr>")
    parts.append("</table></body></html>\n")
    return "".join(parts)
