"""The verdict: is the target pathway on top, per dataset, library and method?

For every dataset x gene-set library x enrichment method (ORA of up, down and all DE
genes; pre-ranked GSEA; CAMERA, the competitive test that accounts for inter-gene
correlation, :mod:`pathverdict.enrichment.camera`) the target pathway's rank among the ranked pathways, its p
and FDR and its overlap genes are reported, with a ``status``:

* ``on_top``: rank <= ``top_n`` and FDR <= ``max_fdr``, with the minimum evidence;
* ``not_on_top``: tested with enough evidence, and the rank or the FDR misses;
* ``inconclusive``: the data cannot answer, and ``note`` says why -- the DE list is
  shorter than ``min_de_genes`` (no DE gene at all included), the target could not be
  tested (outside the size limits, too few of its genes ranked for GSEA), or the FDR
  passes but fewer than ``min_overlap`` of the target's genes are DE (one or two genes,
  e.g. a single metallothionein, cannot make a pathway "on top");
* ``not_tested``: the method needs what the dataset does not have (CAMERA needs the counts a
  published DE table lacks; GSEA a ranking of every tested gene), and ``note`` says so.

``on_top`` is "yes" only for status ``on_top``. The minimum evidence applies to
over-representation; GSEA and CAMERA are threshold free and their size limit
(``gsea_min_size``) already asks for enough ranked genes. CAMERA pathways are ranked by
p-value (ties share the best rank) and its FDR is Benjamini-Hochberg over the tested sets.
Each dataset's headline answer comes from the ``primary`` method. The status of chosen genes
(default HMOX1, VDR and every protein-coding metallothionein) is reported alongside: ``up``/``down`` (padj < alpha),
``not DE`` (tested, padj >= alpha) or ``untested`` (no padj: removed by the pre-filter,
independent filtering, a Cook's outlier, or absent from the counts) -- never "not DE"
for a gene that was not tested.

A GSEA p-value that gseapy reported as 0 is stored as its upper bound 1/(permutations+1)
with ``p_bound`` True (column written by the GSEA step; absent in older files); it is
shown as "< value".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..util import read_text_table
from ..errors import InputError

METHODS = ("ora_all", "ora_up", "ora_down", "gsea", "camera")
# threshold-free methods: no DE list, so no minimum number of DE genes or of DE genes in the target
THRESHOLD_FREE = ("gsea", "camera")
STATUSES = ("on_top", "not_on_top", "inconclusive", "not_tested")
VERDICT_COLUMNS = [
    "dataset",
    "library",
    "method",
    "primary",
    "target",
    "target_id",
    "on_top",
    "status",
    "rank",
    "n_terms",
    "pvalue",
    "p_bound",
    "fdr",
    "nes",
    "overlap_size",
    "set_size",
    "genes",
    "top_term",
    "de_genes",
    "note",
]
GENE_COLUMNS = [
    "dataset",
    "symbol",
    "gene_id",
    "gene_type",
    "reason",
    "baseMean",
    "log2FoldChange",
    "padj",
    "status",
    "detail",
]
GENE_STATUSES = ("up", "down", "not DE", "untested")
# reason of a gene matching the patterns that is not protein-coding: listed, never counted
EXCLUDED = "pattern, not protein-coding (excluded)"
# without a gene type in the annotation: names of pseudogenes (MT1P3, MT1XP1, MT1CP, MT2P1)
PSEUDOGENE_NAME = re.compile(r"P\d*$")
# added by the verdict step after VERDICT_COLUMNS: what the samples say of the row
# (pathverdict.judgement.samples.verdict_notes)
SAMPLES_COLUMN = "samples"
TEXT_COLUMNS = (
    "samples",
    "dataset",
    "library",
    "method",
    "target",
    "target_id",
    "on_top",
    "status",
    "genes",
    "top_term",
    "note",
    "symbol",
    "gene_id",
    "gene_type",
    "reason",
    "detail",
)


@dataclass
class VerdictSettings:
    top_n: int = 1
    max_fdr: float = 0.05
    primary: str = "ora_all"
    alpha: float = 0.05
    genes: tuple[str, ...] = ("HMOX1", "VDR")
    gene_patterns: tuple[str, ...] = (r"^MT1[A-Z0-9]*$", r"^MT2A$", r"^MT3$", r"^MT4$")
    min_overlap: int = 3
    min_de_genes: int = 5

    @classmethod
    def from_config(cls, verdict: dict, alpha: float, organism: str | None = None) -> VerdictSettings:
        """From the config's ``verdict`` section and ``de.alpha`` (the significance of a gene).
        ``genes`` and ``gene_patterns`` are lists, or {organism: list} (the validated config's form,
        the study organism first): those of ``organism``, by default the study organism's."""
        d = cls()
        return cls(
            top_n=verdict["top_n"],
            max_fdr=verdict["max_fdr"],
            primary=verdict["primary"],
            alpha=alpha,
            genes=tuple(_of_organism(verdict["genes"], organism, "genes")),
            gene_patterns=tuple(_of_organism(verdict["gene_patterns"], organism, "gene_patterns")),
            min_overlap=verdict.get("min_overlap", d.min_overlap),
            min_de_genes=verdict.get("min_de_genes", d.min_de_genes),
        )


def _of_organism(value, organism: str | None, key: str) -> list[str]:
    """A list setting, or its entry for ``organism`` when given per organism (the first: the study's)."""
    if not isinstance(value, dict):
        return list(value)
    if organism is None:
        return list(next(iter(value.values()), []))
    if organism not in value:
        raise InputError(
            f"verdict.{key} has no entry for organism {organism} (given for {', '.join(value)}). Fix: add "
            f"`{organism}: [...]` under verdict.{key} in the config."
        )
    return list(value[organism])


def _fmt_count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _bound(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    try:
        return bool(value) and not pd.isna(value)
    except (TypeError, ValueError):
        return False


def fmt_p(p, bound=False, digits: int = 3) -> str:
    """A p-value for display; an upper bound (``p_bound``) as "< value", rounded up to one
    significant digit (GSEA's 1/1001 reads "< 0.001")."""
    from ..render import pval

    return pval(p, _bound(bound), digits)


def _top_term(table: pd.DataFrame, is_gsea: bool) -> str:
    """The best-ranked pathway; for ORA only one with a DE gene (p = 1 ties are no "top")."""
    if not len(table):
        return ""
    if not is_gsea and "overlap_size" in table.columns and not table["overlap_size"].iloc[0] > 0:
        return ""
    return table["term"].iloc[0]


def judge_method(table: pd.DataFrame, method: str, target: str, settings: VerdictSettings, n_query: int | None) -> dict:
    """One verdict row (without dataset/library keys) from one enrichment table."""
    is_gsea = method in THRESHOLD_FREE  # GSEA or CAMERA: no DE list
    row = {
        "method": method,
        "target": target,
        "n_terms": int(len(table)),
        "rank": np.nan,
        "pvalue": np.nan,
        "p_bound": False,
        "fdr": np.nan,
        "nes": np.nan,
        "overlap_size": np.nan,
        "set_size": np.nan,
        "genes": "",
        "top_term": _top_term(table, is_gsea),
        "on_top": "no",
        "status": "inconclusive",
        "note": "",
        "de_genes": n_query if n_query is not None else np.nan,
    }
    if not is_gsea and not n_query:
        row["note"] = "inconclusive: no DE genes at the thresholds, so over-representation cannot be tested"
        return row
    if not is_gsea and n_query < settings.min_de_genes:
        row["note"] = (
            f"inconclusive: only {_fmt_count(n_query, 'DE gene')} (fewer than min_de_genes = "
            f"{settings.min_de_genes}): too few to tell which pathway is on top"
        )
    hit = table[table["term"] == target]
    if hit.empty:
        if is_gsea:
            why = (
                f"target not tested by {'CAMERA' if method == 'camera' else 'GSEA'} (fewer or more of its genes "
                "among the ranked genes than the size limits)"
            )
        else:
            why = "target not tested (fewer or more of its genes in the background than the ORA size limits)"
        row["note"] = f"inconclusive: {why}" + (f"; {row['note'][len('inconclusive: ') :]}" if row["note"] else "")
        return row
    h = hit.iloc[0]
    fdr = float(h["fdr"] if is_gsea else h["padj"])
    row.update(
        rank=int(h["rank"]),
        pvalue=float(h["pvalue"]),
        fdr=fdr,
        set_size=int(h["n_genes"] if method == "camera" else h["set_size"]),
        p_bound=_bound(h["p_bound"]) if "p_bound" in h.index else False,
        genes=h.get("leading_edge", "") if is_gsea else h["overlap_genes"],
    )
    if pd.isna(row["genes"]):
        row["genes"] = ""
    if method == "gsea":
        row["nes"] = float(h["nes"])
    elif method != "camera":
        row["overlap_size"] = int(h["overlap_size"])
    if row["note"]:  # too few DE genes: the numbers are shown, the status stays inconclusive
        return row
    passes = row["rank"] <= settings.top_n and fdr <= settings.max_fdr
    if not is_gsea and fdr <= settings.max_fdr and row["overlap_size"] < settings.min_overlap:
        row["note"] = (
            f"inconclusive: FDR {fdr:.3g} <= {settings.max_fdr} but only "
            f"{_fmt_count(row['overlap_size'], 'gene')} of the target DE (fewer than min_overlap = "
            f"{settings.min_overlap}): too few to call the pathway enriched"
        )
        return row
    if not is_gsea and row["overlap_size"] == 0:
        # tested (p = 1), but a rank among the tied pathways without a DE gene means nothing
        row.update(
            rank=np.nan, status="not_on_top", note="none of the DE genes is in the target pathway (p = 1; not ranked)"
        )
        return row
    row["status"] = "on_top" if passes else "not_on_top"
    row["on_top"] = "yes" if passes else "no"
    if not passes:
        reasons = []
        if row["rank"] > settings.top_n:
            reasons.append(f"rank {row['rank']} > top {settings.top_n}")
        if fdr > settings.max_fdr:
            reasons.append(f"FDR {fdr:.3g} > {settings.max_fdr}")
        row["note"] = "; ".join(reasons)
    if method == "camera":  # the set's direction and the correlation its variance was inflated by
        cor = pd.to_numeric(h.get("correlation"), errors="coerce")
        df = pd.to_numeric(h.get("df"), errors="coerce")
        extra = (
            f"{str(h.get('direction', '')).lower()}"
            + (f", inter-gene correlation {_num(float(cor))}" if not pd.isna(cor) else "")
            + (f", t on {_num(float(df))} df" if not pd.isna(df) else "")
        )
        row["note"] = "; ".join(x for x in (row["note"], extra) if x)
    return row


def judge_dataset(
    dataset: str,
    library: str,
    target: str,
    target_id: str | None,
    tables: dict[str, pd.DataFrame],
    query_sizes: dict[str, int],
    settings: VerdictSettings,
    not_tested: dict[str, str] | None = None,
    notes: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The dataset's verdict rows for one library. ``not_tested`` (method -> reason): methods the
    dataset's data cannot test (a DE table has no counts for CAMERA) get status ``not_tested`` with the
    reason, never a status computed on nothing; ``notes`` (``ora`` or a method -> text) are appended to
    the rows' notes (what a given background does to the ORA p-values)."""
    not_tested, notes = not_tested or {}, notes or {}
    rows = []
    for method in METHODS:
        if method in not_tested:
            r = judge_method(pd.DataFrame(columns=["term"]), method, target, settings, None)
            r.update(
                status="not_tested",
                on_top="no",
                note=f"not tested: {not_tested[method]}",
                de_genes=np.nan,
                n_terms=np.nan,
            )
        elif method not in tables:
            continue
        else:
            t = tables[method]
            t = t[t["library"] == library] if "library" in t.columns else t
            r = judge_method(t, method, target, settings, query_sizes.get(method))
        extra = notes.get(method) or (notes.get("ora") if method.startswith("ora_") else None)
        if extra and method not in not_tested:
            r["note"] = "; ".join(x for x in (r["note"], extra) if x)
        r.update(dataset=dataset, library=library, target_id=target_id or "", primary=method == settings.primary)
        rows.append(r)
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def is_protein_coding(gene_type) -> bool | None:
    """True/False from an annotation gene type (NCBI ``protein-coding``, Ensembl
    ``protein_coding``); None when unknown."""
    if gene_type is None or (not isinstance(gene_type, str) and pd.isna(gene_type)):
        return None
    t = str(gene_type).strip().lower().replace("_", "-")
    if t in ("", "-", "na", "nan", "<na>"):
        return None
    return t == "protein-coding"


def gene_status(
    dataset: str, de: pd.DataFrame, settings: VerdictSettings, input_genes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Status of the requested genes and of every gene matching the patterns.

    ``input_genes`` (columns gene_id, symbol and, when the annotation has it, gene_type:
    every gene of the count matrix, ``input/gene_ids.tsv``) tells genes removed by the
    pre-filter apart from genes absent from the data, lets patterns match genes that
    were not tested, and gives each gene's type. Genes matching the patterns count only
    when protein-coding: others (pseudogenes such as MT1P3) are listed with reason
    :data:`EXCLUDED` and never counted. Without a gene type (an annotation without it,
    or no ``input_genes``) names ending in P or P + digits (MT1P3, MT1XP1, MT1CP) are
    taken for pseudogenes and ``detail`` says so; a pseudogene with another name (MT1L)
    is then not recognised.

    ``status`` is up / down (padj < alpha), ``not DE`` or ``untested`` (no padj); the
    reason is in ``detail``.
    """
    symbols = de["symbol"].astype("string")
    known = set(symbols.dropna())
    input_symbols: set[str] = set()
    types: dict[str, str] = {}
    if input_genes is not None:
        input_symbols = set(input_genes["symbol"].dropna().astype(str))
        if "gene_type" in input_genes.columns:
            for sym, gt in zip(input_genes["symbol"], input_genes["gene_type"]):
                if not pd.isna(sym) and is_protein_coding(gt) is not None:
                    types.setdefault(str(sym), str(gt))
    patterns = [re.compile(p) for p in settings.gene_patterns]
    wanted: dict[str, str] = {g: "requested" for g in settings.genes}
    for s in sorted(known | input_symbols):
        if s not in wanted and any(p.search(s) for p in patterns):
            wanted[s] = "pattern"
    rows = []
    for sym, reason in wanted.items():
        gtype = types.get(sym, "")
        type_note = ""
        if reason == "pattern":
            coding = is_protein_coding(gtype)
            if coding is None:
                coding = PSEUDOGENE_NAME.search(sym) is None
                type_note = (
                    "gene type unknown (not in the annotation): "
                    + ("kept" if coding else "excluded as a pseudogene")
                    + " by its name"
                )
            if not coding:
                reason = EXCLUDED
        sub = de[symbols == sym]
        base = {"dataset": dataset, "symbol": sym, "gene_type": gtype, "reason": reason}
        if sub.empty:
            if input_genes is None:
                detail = "absent from the data or removed by the pre-filter"
            elif sym in input_symbols:
                detail = "removed by the pre-filter (too few reads)"
            else:
                detail = "absent from the count matrix"
            ids = input_genes.loc[input_genes["symbol"] == sym, "gene_id"] if input_genes is not None else []
            rows.append(
                {
                    **base,
                    "gene_id": ";".join(map(str, ids)),
                    "baseMean": np.nan,
                    "log2FoldChange": np.nan,
                    "padj": np.nan,
                    "status": "untested",
                    "detail": "; ".join(x for x in (detail, type_note) if x),
                }
            )
            continue
        for _, g in sub.iterrows():
            padj = g["padj"]
            # a published DE table (de.tsv from import_de_table) may have no baseMean and genes of a given
            # background it does not list (in_table = no): say so rather than DESeq2's reasons
            from_table = pd.isna(g["baseMean"])
            if str(g.get("in_table", "")) == "no":
                status, detail = "untested", "not in the DE table (it lists significant genes only)"
            elif pd.isna(g["pvalue"]) and g["baseMean"] == 0:
                status, detail = "untested", "no reads in any sample"
            elif pd.isna(g["pvalue"]):
                status, detail = (
                    "untested",
                    "no p-value in the DE table" if from_table else "no p-value (Cook's outlier)",
                )
            elif pd.isna(padj):
                status, detail = (
                    "untested",
                    (
                        "no adjusted p-value in the DE table"
                        if from_table
                        else "removed by independent filtering (low mean count)"
                    ),
                )
            elif padj < settings.alpha:
                status, detail = ("up" if g["log2FoldChange"] > 0 else "down"), f"padj < {settings.alpha}"
            else:
                status, detail = "not DE", f"padj {padj:.3g} >= {settings.alpha}"
            rows.append(
                {
                    **base,
                    "gene_id": g["gene_id"],
                    "baseMean": g["baseMean"],
                    "log2FoldChange": g["log2FoldChange"],
                    "padj": padj,
                    "status": status,
                    "detail": "; ".join(x for x in (detail, type_note) if x),
                }
            )
    return pd.DataFrame(rows, columns=GENE_COLUMNS)


def read_verdict(path) -> pd.DataFrame:
    """``results/<study>/verdict.tsv`` with text columns read as text (a dataset may be called
    "NA" or "null") and ``primary``/``p_bound`` as booleans."""
    return _read(path)


def read_genes(path) -> pd.DataFrame:
    """``results/<study>/verdict_genes.tsv``, text columns as text."""
    return _read(path)


def _read(path) -> pd.DataFrame:
    t = read_text_table(path, TEXT_COLUMNS)
    for c in ("primary", "p_bound"):
        if c in t.columns:
            t[c] = t[c].map(_bound)
    return t


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


STATUS_WORDS = {
    "on_top": "is on top",
    "not_on_top": "is not on top",
    "inconclusive": "cannot be judged (inconclusive)",
    "not_tested": "was not tested",
}


def _status(r) -> str:
    st = r.get("status", "") if hasattr(r, "get") else ""
    if st in STATUS_WORDS:
        return st
    return "on_top" if r["on_top"] == "yes" else "not_on_top"


def counted_genes(genes: pd.DataFrame) -> pd.DataFrame:
    """Rows of the genes table that count (requested genes and protein-coding pattern matches)."""
    if "reason" not in genes.columns:
        return genes
    return genes[genes["reason"] != EXCLUDED]


def evidence_rule(settings: VerdictSettings) -> str:
    return (
        f"On top = rank <= {settings.top_n} and FDR <= {settings.max_fdr}; for over-representation also at "
        f"least {settings.min_de_genes} DE genes and, when the FDR passes, at least {settings.min_overlap} of "
        "the target's genes DE — otherwise inconclusive. Over-representation p-values are adjusted (BH) over "
        "every pathway within the size limits, with or without a DE gene. GSEA and CAMERA are threshold-free "
        "(no minimum of DE genes); CAMERA ranks by p-value with the variance of a pathway's mean statistic "
        "inflated by its genes' inter-gene correlation."
    )


SELECTED_CLAUSE = (
    " Patients selected by expression: an 'on top' here cannot be told apart from the effect of the selection"
    " until the selection-aware null rejects; the claims count it only then (claims page, null.tsv)."
)


def summary_sentences(verdict: pd.DataFrame, genes: pd.DataFrame, settings: VerdictSettings, selected=()) -> list[str]:
    """One sentence per dataset (headline method); ``selected``: the datasets with select_by_expression."""
    out = []
    counted = counted_genes(genes)
    for _, r in headline(verdict).iterrows():
        st = _status(r)
        if pd.isna(r["rank"]):
            detail = r["note"]
        else:
            p = fmt_p(r["pvalue"], r.get("p_bound", False))
            detail = (
                f"rank {_num(r['rank'])} of {r['n_terms']}, p {p if p.startswith('<') else '= ' + p}, "
                f"FDR = {_num(r['fdr'])}" + (f"; {r['note']}" if r["note"] else "")
            )
        others = verdict[
            (verdict["dataset"] == r["dataset"]) & (verdict["library"] == r["library"]) & ~verdict["primary"]
        ]
        also = [m for m in others[others["on_top"] == "yes"]["method"]]
        extra = (
            f" It is on top by {', '.join(also)} as well."
            if also and st == "on_top"
            else (f" It is on top by {', '.join(also)}." if also else "")
        ) + (SELECTED_CLAUSE if r["dataset"] in set(selected) and (also or st == "on_top") else "")
        g = counted[counted["dataset"] == r["dataset"]]
        sig = g[g["status"].isin(["up", "down"])]
        gl = ", ".join(f"{s} {st_}" for s, st_ in zip(sig["symbol"], sig["status"])) or "none"
        untested = g[g["status"] == "untested"]["symbol"].tolist()
        ut = f" Untested: {', '.join(untested)}." if untested else ""
        samples = samples_text(verdict, r)
        out.append(
            f"{r['dataset']} ({r['library']}, {r['method']}): {r['target']} {STATUS_WORDS[st]} ({detail})."
            f"{extra} Significant genes of interest (padj < {settings.alpha}): {gl}.{ut}"
            + (f" Samples: {samples}." if samples else "")
        )
    return out


def samples_text(verdict: pd.DataFrame, headline_row) -> str:
    """The samples' notes of a dataset's rows (library of ``headline_row``): the headline method's note,
    then the other methods' answers that rest on a sample (leave-one-sample-out clauses without a
    parenthesis: the ones with one are a replicate fewer, or near the threshold, and stay in the rows)."""
    if SAMPLES_COLUMN not in verdict.columns:
        return ""
    rows = verdict[(verdict["dataset"] == headline_row["dataset"]) & (verdict["library"] == headline_row["library"])]
    notes = [str(headline_row.get(SAMPLES_COLUMN) or "")]
    for note in rows[SAMPLES_COLUMN].fillna("").astype(str):
        first = note.split("; ")[0]
        if first.startswith(("on top by", "not on top by")) and "(" not in first and first not in notes[0]:
            notes.insert(1, first)
    return "; ".join(n for n in dict.fromkeys(notes) if n)


def to_markdown(
    verdict: pd.DataFrame, genes: pd.DataFrame, settings: VerdictSettings, title: str, banner: str = "", selected=()
) -> str:
    lines = ([f"**{banner}**", ""] if banner else []) + [
        f"# {title}",
        "",
        f"{evidence_rule(settings)} Headline method: {settings.primary}.",
        "",
    ]
    lines += [f"- {s}" for s in summary_sentences(verdict, genes, settings, selected)]
    lines += [
        "",
        "## All methods",
        "",
        "| dataset | library | method | status | on top | rank | terms | p | FDR | NES | genes | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in verdict.iterrows():
        lines.append(
            f"| {r['dataset']} | {r['library']} | {r['method']}{' (headline)' if r['primary'] else ''} | "
            f"{_status(r)} | {r['on_top']} | {_num(r['rank'])} | {r['n_terms']} | "
            f"{fmt_p(r['pvalue'], r.get('p_bound', False))} | {_num(r['fdr'])} | "
            f"{_num(r['nes'])} | {r['genes'] or '–'} | {r['note'] or ''}"
            + (f" Samples: {r[SAMPLES_COLUMN]}" if r.get(SAMPLES_COLUMN) else "")
            + " |"
        )
    lines += [
        "",
        "## Genes of interest",
        "",
        "| dataset | gene | gene_id | type | counted as | log2FC | padj | status | detail |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, g in genes.iterrows():
        lines.append(
            f"| {g['dataset']} | {g['symbol']} | {g['gene_id'] or '–'} | "
            f"{g.get('gene_type', '') or '–'} | "
            f"{g.get('reason', '')} | {_num(g['log2FoldChange'])} | {_num(g['padj'])} | {g['status']} | "
            f"{g.get('detail', '') or ''} |"
        )
    return "\n".join(lines) + "\n"


def _records(table: pd.DataFrame) -> list[dict]:
    return [
        {k: ("" if (isinstance(v, float) and np.isnan(v) and k in TEXT_COLUMNS) else v) for k, v in r.items()}
        for r in table.to_dict("records")
    ]


GENES_INTRO = (
    "Metallothioneins (and any gene of the configured patterns) count only when protein-coding; "
    "pseudogenes are listed as excluded. <i>untested</i> = no adjusted p-value (removed by the pre-filter "
    "or independent filtering, a Cook's outlier, or absent): never counted as not DE."
)


def to_html(
    verdict: pd.DataFrame, genes: pd.DataFrame, settings: VerdictSettings, title: str, banner: str = "", selected=()
) -> str:
    """The verdict page (``templates/verdict.html``): the headline sentences, a compact
    table of every dataset x library x method, the genes and notes folded below it, and
    the genes of interest."""
    from markupsafe import Markup

    from ..render import render

    rows = _records(verdict)
    for r in rows:
        r["status"] = _status(r)
        g = str(r.get("genes") or "")
        r["genes"] = g.replace(";", ", ")
        r["n_genes"] = len([x for x in g.split(";") if x]) if g else "–"
    return render(
        "verdict.html",
        title=title,
        banner=banner,
        rows=rows,
        genes=_records(genes),
        sentences=summary_sentences(verdict, genes, settings, selected),
        rule=evidence_rule(settings),
        primary=settings.primary,
        genes_intro=Markup(GENES_INTRO),
    )
