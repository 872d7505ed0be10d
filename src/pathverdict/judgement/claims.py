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
   needs the selection-aware label-permutation null (``results/<study>/null.tsv``, method
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

from collections.abc import Iterable

import numpy as np
import pandas as pd

from . import calibration as _calibration
from . import verdict as _verdict
from ..util import read_text_table

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
ROLE_NAMES = {
    "cells_overexpression": "MEIS1 over-expression (cells)",
    "cells_loss_of_function": "MEIS1 loss of function (cells)",
    "tissue": "tissue",
    "negative_control": "negative control",
    "other": "other (not part of the claims)",
}
HOLDS = ("yes", "partly", "no", "inconclusive", "not tested")
COLUMNS = ["claim", "dataset", "role", "holds", "evidence", "null"]
NULL_TEXT = ("dataset", "library", "method", "statistic", "informative", "selection_aware", "note")
SELECTION_TEXT = ("dataset", "analysis", "description", "library", "method", "status", "implication")


# --------------------------------------------------------------------------- reading


def read_null(path) -> pd.DataFrame:
    """``results/<study>/null.tsv`` with text columns as text (a dataset may be called "null" or
    "NA"); ``empirical_p`` empty -> NaN."""
    return read_text_table(path, NULL_TEXT)


def read_selection(paths: Iterable) -> pd.DataFrame:
    """The selection analyses of every dataset with ``select_by_expression``, in one table."""
    tables = [read_text_table(p, SELECTION_TEXT) for p in paths]
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
    return (
        f"{row['method']} ({row['library']}): rank {int(row['rank'])} of {row['n_terms']}, "
        f"p {_p(row)}, FDR {_verdict._num(row['fdr'])}; {st}" + (f" ({row['note']})" if row["note"] else "")
    )


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
    """The selection-aware set_score null for a tissue dataset with a selection:
    ("yes" | "no" | "inconclusive", reason)."""
    if not enabled:
        return "inconclusive", (
            "the label-permutation null is disabled (null.enabled: false), so an enrichment "
            "caused by selecting patients by expression cannot be ruled out"
        )
    rows = _null_rows(null, dataset, library)
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
    if not _yes(r.get("selection_aware", "no")):
        return "inconclusive", f"the set_score null is not selection-aware{note}"
    if not _yes(r.get("informative", "no")) or pd.isna(p):
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


# --------------------------------------------------------------------------- evaluate


def evaluate(
    verdict: pd.DataFrame,
    genes: pd.DataFrame,
    roles: dict[str, str],
    *,
    target: str,
    key_genes: tuple[str, ...] = ("HMOX1", "VDR"),
    max_fdr: float = 0.05,
    library: str | None = None,
    null: pd.DataFrame | None = None,
    selected: Iterable[str] = (),
    null_enabled: bool = True,
    null_alpha: float = 0.05,
    sensitivity: pd.DataFrame | None = None,
    directions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per claim (and check) x dataset it concerns: does it hold, and the numbers.

    ``library`` is the primary library (default: the first in ``verdict``); ``null`` is
    ``results/<study>/null.tsv`` (or None); ``selected`` the datasets with ``select_by_expression``.
    ``sensitivity`` (``results/<study>/sensitivity.tsv``) and ``directions``
    (``results/<study>/sensitivity_directions.tsv``) add one clause each to the evidence of the
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
            said = {
                "on_top": "called ON TOP",
                "not_on_top": "not on top",
                "inconclusive": "not called on top (inconclusive)",
                None: "no result",
            }[st]
            rows.append(
                {
                    "claim": "negative_control",
                    "dataset": ds,
                    "role": role,
                    "holds": passed,
                    "evidence": f"{_describe(head)}; expected: not on top; {said}",
                    "null": ntext,
                }
            )
            continue
        if role in CELL_ROLES:
            pathway = {"on_top": "yes", "not_on_top": "no", "inconclusive": "inconclusive", None: "not tested"}[st]
            gene_calls = [_gene(genes, ds, g) for g in key_genes]
            in_overlap = [g for g in key_genes if head is not None and g in str(head["genes"]).split(";")]
            holds = combine([pathway] + [c for c, _ in gene_calls])
            ev = (
                f"{_describe(head)}; "
                + "; ".join(t for _, t in gene_calls)
                + (f"; in the pathway's DE genes: {', '.join(in_overlap)}" if in_overlap else "")
                + sensitivity_clause(ds, head, cells=True)
            )
            rows.append({"claim": "cells", "dataset": ds, "role": role, "holds": holds, "evidence": ev, "null": ntext})
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
            rows.append({"claim": "tissue", "dataset": ds, "role": role, "holds": holds, "evidence": ev, "null": ntext})
        g = counted[(counted["dataset"] == ds) & (counted["reason"] == "pattern")]
        sig = g[g["status"].isin(["up", "down"])]
        tested = g[g["status"].isin(["up", "down", "not DE"])]
        untested = g[g["status"] == "untested"]
        ut = f"; untested: {', '.join(untested['symbol'])}" if len(untested) else ""
        if len(sig):
            holds = "yes"
            ev = ", ".join(
                f"{s} {st_} ({lfc:.2f})" for s, st_, lfc in zip(sig["symbol"], sig["status"], sig["log2FoldChange"])
            )
            ev += f" (of {len(tested)} tested){ut}"
        elif len(tested):
            holds, ev = "no", f"none of the {len(tested)} tested metallothionein gene(s) is DE{ut}"
        else:
            holds = "not tested"
            ev = (
                f"no metallothionein gene could be tested{ut}"
                if len(untested)
                else "no protein-coding metallothionein gene in the data"
            )
        rows.append(
            {"claim": "metallothioneins", "dataset": ds, "role": role, "holds": holds, "evidence": ev, "null": ""}
        )
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


def paragraph(
    table: pd.DataFrame, summary: dict[str, str], target: str, key_genes, calibration: pd.DataFrame | None = None
) -> str:
    study = summary["study"]
    verb = (
        "could NOT BE TESTED"
        if study == "not tested"
        else ("INCONCLUSIVE" if study == "inconclusive" else study.upper())
    )
    parts = [f"Overall the study's findings are {verb} by this analysis."]
    for claim, text in CLAIMS.items():
        sub = table[table["claim"] == claim]
        where = ", ".join(f"{d}: {h}" for d, h in zip(sub["dataset"], sub["holds"])) or "no dataset of its roles"
        parts.append(
            f"Claim '{text.format(target=target, genes=' and '.join(key_genes))}' — {summary[claim]} ({where})."
        )
    sub = table[table["claim"] == "negative_control"]
    if len(sub):
        where = ", ".join(
            f"{d}: {'not on top' if h == 'yes' else ('ON TOP' if h == 'no' else h)}"
            for d, h in zip(sub["dataset"], sub["holds"])
        )
        parts.append(
            f"Check of the method on negative controls (not counted in any claim): "
            f"{summary['negative_control']} ({where})."
        )
    if calibration is not None:  # results/<study>/calibration.tsv: how often such an answer is wrong
        from .calibration import sentence

        parts.append(sentence(calibration))
    return " ".join(p for p in parts if p)


CALIBRATION_TEXT = _calibration.TEXT_COLUMNS
CALIBRATION_COLUMNS = (
    _calibration.COLUMNS
)  # results/<study>/calibration.tsv, as pathverdict.judgement.calibration writes it
SENSITIVITY_TEXT = ("dataset", "library", "method", "variant", "on_top", "status", "detail")
SENSITIVITY_COLUMNS = [
    "dataset",
    "library",
    "method",
    "variant",
    "rank",
    "n_terms",
    "fdr",
    "on_top",
    "status",
    "detail",
]


def read_calibration(path) -> pd.DataFrame:
    """``results/<study>/calibration.tsv`` (one row per dataset), text columns as text."""
    return read_text_table(path, CALIBRATION_TEXT)


def read_sensitivity(path) -> pd.DataFrame:
    """``results/<study>/sensitivity.tsv`` (dataset x library x method x variant), text columns as text."""
    return read_text_table(path, SENSITIVITY_TEXT)


def _records(table: pd.DataFrame | None, columns: Iterable[str]) -> list[dict]:
    """Rows as dicts holding every column of ``columns`` (missing ones empty)."""
    if table is None or table.empty:
        return []
    out = []
    for r in table.to_dict("records"):
        out.append(
            {c: ("" if c not in r or (not isinstance(r[c], str) and pd.isna(r[c])) else r[c]) for c in columns}
            | {k: v for k, v in r.items() if k not in columns}
        )
    return out


def calibration_text(row: dict) -> str:
    """One dataset's calibration (its headline method), in words, for the column beside its answer."""
    from ..render import num

    if str(row.get("fpr_on_top", "")) == "":
        return row.get("note") or ""
    ci = f" (95% CI up to {num(row['fpr_ci_high'])})" if str(row.get("fpr_ci_high", "")) != "" else ""
    verdict = _calibration.power_verdict(row)
    design = f"{row['design']}, {row.get('method', '')}: " if row.get("design") else ""
    return (
        f"{design}false-positive rate of on top {num(row['fpr_on_top'])}{ci}; {_calibration.power_words(row)}"
        + (f" ({verdict})" if verdict else "")
        + (f" [{row['source']}]" if row.get("source") else "")
    )


VARIANT_WORDS = {"without_metallothioneins": "without the metallothioneins", "direction": "by direction of change"}


def variant_text(variant: str) -> str:
    v = str(variant)
    if v in VARIANT_WORDS:
        return VARIANT_WORDS[v]
    kind, _, what = v.partition(":")
    if kind == "leave_one_out" and what:
        return f"leaving out {what}"
    if kind == "release" and what:
        return f"library release {what}"
    return v.replace("_", " ")


def _sensitivity_sections(sensitivity: pd.DataFrame | None) -> list[dict]:
    rows = _records(sensitivity, SENSITIVITY_COLUMNS)
    out: dict[str, list[dict]] = {}
    for r in rows:
        r["variant_text"] = variant_text(r["variant"])
        out.setdefault(str(r["dataset"]), []).append(r)
    sections = []
    for ds, rs in out.items():
        on_top = sum(r["status"] == "on_top" for r in rs)
        inconcl = sum(r["status"] == "inconclusive" for r in rs)
        sentence = (
            f"{ds}: the target is on top in {on_top} of {len(rs)} variant(s)"
            + (f", inconclusive in {inconcl}" if inconcl else "")
            + "."
        )
        sections.append({"dataset": ds, "rows": rs, "sentence": sentence})
    return sections


def to_html(
    table: pd.DataFrame,
    summary: dict[str, str],
    target: str,
    key_genes,
    banner: str = "",
    selection: pd.DataFrame | None = None,
    selected: Iterable[str] = (),
    calibration: pd.DataFrame | None = None,
    sensitivity: pd.DataFrame | None = None,
) -> str:
    """The claims page (``templates/claims.html``): the answer overall and per claim (one
    line each), each claim per dataset with its evidence and null (and, when
    ``calibration`` is given, the calibrated false-positive rate and power of "on top" for
    the dataset's design), the negative-control checks, the selection analyses, and the
    sensitivity analyses when ``sensitivity`` is given."""
    from ..render import render

    genes = " and ".join(key_genes)
    cal = _records(calibration, CALIBRATION_COLUMNS)
    head = [c for c in cal if str(c.get("primary", "")).strip().lower() not in ("false", "0", "no")]
    cal_by_ds = {str(c["dataset"]): calibration_text(c) for c in head[::-1]}  # the headline method's row
    rows = _records(table, COLUMNS)
    for r in rows:
        r["role_name"] = ROLE_NAMES.get(r["role"], r["role"])
        r["calibration"] = cal_by_ds.get(str(r["dataset"]), "")
    claims = []
    for key, text in CLAIMS.items():
        sub = table[table["claim"] == key]
        claims.append(
            {
                "key": key,
                "answer": summary[key],
                "text": text.format(target=target, genes=genes),
                "where": ", ".join(f"{d}: {h}" for d, h in zip(sub["dataset"], sub["holds"])),
            }
        )
    checks = [r for r in rows if r["claim"] == "negative_control"]
    check = None
    if checks:
        check = {
            "answer": summary.get("negative_control", "not tested"),
            "n": len(checks),
            "where": ", ".join(
                f"{r['dataset']}: "
                + ("not on top" if r["holds"] == "yes" else "ON TOP" if r["holds"] == "no" else r["holds"])
                for r in checks
            ),
        }
    sel_cols = [
        "analysis",
        "description",
        "library",
        "method",
        "rank",
        "n_terms",
        "pvalue",
        "fdr",
        "status",
        "implication",
    ]
    selection_sections = []
    for ds in selected:
        sub = selection[selection["dataset"] == ds] if selection is not None and len(selection) else None
        selection_sections.append({"dataset": ds, "rows": _records(sub, sel_cols)})
    return render(
        "claims.html",
        title="Claims",
        banner=banner,
        study=summary["study"],
        claims=claims,
        check=check,
        paragraph=paragraph(table, summary, target, key_genes),
        claim_table=[r for r in rows if r["claim"] in CLAIMS],
        checks=checks,
        check_text=CHECKS["negative_control"].format(target=target),
        calibration=cal,
        selection_sections=selection_sections,
        sensitivity=_sensitivity_sections(sensitivity),
    )
