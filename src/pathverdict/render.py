"""HTML pages of the workflow, rendered from Jinja2 templates with one stylesheet.

Every page (verdict, claims, label-permutation null, provenance) extends
``templates/base.html`` and inlines ``templates/style.css``: the pages are shown inside
the Snakemake report as self-contained files, so nothing may be linked. Numbers are
formatted by the filters below (3 significant digits; a p-value that is only bounded
reads "< bound"), never printed raw.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"


def _missing(x) -> bool:
    if x is None:
        return True
    if isinstance(x, str):
        return x.strip() in ("", "nan", "NaN", "NA", "<NA>", "None")
    try:
        return bool(math.isnan(float(x)))
    except (TypeError, ValueError):
        return False


def num(x, digits: int = 3, missing: str = "–") -> str:
    """A number for display: integers as integers, others to ``digits`` significant digits."""
    if _missing(x):
        return missing
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if v.is_integer() and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.{digits}g}"


def bound_up(x: float, digits: int = 1) -> float:
    """``x`` rounded *up* to ``digits`` significant digits (a bound stays a bound: 1/1001 -> 0.001)."""
    if x <= 0 or not math.isfinite(x):
        return x
    exp = math.floor(math.log10(x)) - digits + 1
    step = 10.0**exp
    return float(f"{math.ceil(round(x / step, 9)) * step:.{digits + 1}g}")


def pval(p, bound=False, digits: int = 3, missing: str = "–") -> str:
    """A p-value; an upper bound (GSEA's 1/permutations when no permutation reached the
    score) as "< value" rounded up to one significant digit ("< 0.001")."""
    if _missing(p):
        return missing
    if isinstance(bound, str):
        bound = bound.strip().lower() in ("true", "1", "yes")
    if bound and not _missing(bound):
        return f"< {num(bound_up(float(p)))}"
    return num(p, digits)


def yes(value) -> bool:
    return str(value).strip().lower() in ("yes", "true", "1")


@lru_cache(maxsize=1)
def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(num=num, pval=pval, yes=yes, missing=_missing)
    env.tests["missing"] = _missing
    return env


def render(template: str, **context) -> str:
    """The page ``template`` (a file in ``templates/``) rendered with ``context``."""
    context.setdefault("banner", "")
    return environment().get_template(template).render(**context)


# --------------------------------------------------------------------------- label-permutation null


def _null_test(r: dict) -> str:
    if r.get("method") == "set_score":
        return "set score"
    return f"rank by {r.get('method')}"


def _null_sentence(dataset: str, rows: list[dict]) -> str:
    parts = []
    for r in rows:
        test = _null_test(r)
        sel = " (selection-aware)" if yes(r.get("selection_aware")) else ""
        note = str(r.get("note") or "")
        if str(r.get("informative")) == "not tested":  # a dataset given as a DE table: no counts to relabel
            parts.append(f"{test}: {note}")
            continue
        if not yes(r.get("informative")) or _missing(r.get("empirical_p")):
            why = note[len("uninformative: ") :] if note.startswith("uninformative: ") else note
            why = why.split(";")[0].strip()
            parts.append(f"{test}{sel}: uninformative" + (f" ({why})" if why else ""))
            continue
        p, mp = float(r["empirical_p"]), r.get("min_p")
        at_min = not _missing(mp) and p <= float(mp) * (1 + 1e-9)
        text = (
            f"{test}{sel}: {num(r.get('n_as_extreme'))} of {num(r.get('n_defined'))} relabelings as extreme as "
            f"observed, empirical p {'≤ ' if at_min else '= '}{num(p)}"
        )
        if not _missing(mp) and float(mp) > 0.05:
            text += f" (cannot go below {num(mp)} with this design)"
        parts.append(text)
    return f"{dataset}: " + "; ".join(parts) + "."


def null_page(table, banner: str = "") -> str:
    """``results/<study>/null.html``: one sentence per dataset, then a compact table (readable
    headers, 3 significant digits, "≤ p" where no relabeling was as extreme), the notes
    folded."""
    records = []
    for r in table.to_dict("records"):
        r = {k: ("" if (not isinstance(v, str) and _missing(v)) else v) for k, v in r.items()}
        for c in (
            "dataset",
            "library",
            "method",
            "observed",
            "n_permutations",
            "n_defined",
            "n_as_extreme",
            "empirical_p",
            "min_p",
            "informative",
            "selection_aware",
            "scheme",
            "note",
            "statistic",
        ):
            r.setdefault(c, "")
        r["test"] = _null_test(r)
        r["observed_text"] = (
            f"z = {num(r['observed'])}"
            if r["method"] == "set_score"
            else (f"rank {num(r['observed'])}" if r["observed"] != "" else "not ranked")
        )
        if r["informative"] == "not tested":
            r["p_text"] = "not tested"
        elif not yes(r["informative"]) or r["empirical_p"] == "":
            r["p_text"] = "uninformative"
        else:
            at_min = r["min_p"] != "" and float(r["empirical_p"]) <= float(r["min_p"]) * (1 + 1e-9)
            r["p_text"] = ("≤ " if at_min else "") + num(r["empirical_p"])
        records.append(r)
    by_ds: dict[str, list[dict]] = {}
    for r in records:
        by_ds.setdefault(str(r["dataset"]), []).append(r)
    libraries = {str(r["library"]) for r in records}
    sentences = [
        _null_sentence(ds, [r for r in rs if str(r["library"]) == str(rs[0]["library"])]) for ds, rs in by_ds.items()
    ]
    return render(
        "null.html",
        title="Label-permutation null",
        banner=banner,
        rows=records,
        sentences=sentences,
        multi_library=len(libraries) > 1,
    )


# --------------------------------------------------------------------------- samples


def _records_of(table, dataset: str) -> list[dict]:
    if table is None or not len(table):
        return []
    sub = table[table["dataset"].astype(str) == dataset]
    return [
        {k: ("" if (not isinstance(v, str) and _missing(v)) else v) for k, v in r.items()}
        for r in sub.to_dict("records")
    ]


def _loo_grid(rows: list[dict]) -> tuple[list[str], list[dict], list[dict]]:
    """Leave-one-sample-out rows as a grid (one row per removed sample, one column per method) and the
    rows that are not a removal (not tested: not eligible, samples not removed)."""
    prefix = "leave_one_sample_out:"
    methods: list[str] = []
    grid: dict[str, dict] = {}
    other = []
    for r in rows:
        variant = str(r.get("variant", ""))
        if not variant.startswith(prefix):
            other.append(r)
            continue
        sample = variant[len(prefix) :]
        cell = grid.setdefault(sample, {"sample": sample, "cells": {}})
        method = str(r.get("method", ""))
        if method not in methods and method != "de":
            methods.append(method)
        word = str(r.get("detail", "")).split(":")[0]
        cell["cells"][method] = {**r, "word": word}
    return methods, list(grid.values()), other


def samples_page(qc, confounding, loo, banner: str = "", verdict=None, not_tested: dict | None = None) -> str:
    """``results/<study>/samples.html``: per dataset one sentence, the sample QC table (flagged figures
    marked), the sheet's columns against the contrast, and leaving each sample out (first row: the
    ``verdict`` on all samples, in the library the samples were left out of, when given); a dataset in
    ``not_tested`` (dataset -> why its samples could not be checked) gets its sentence and the reason."""
    datasets = list(dict.fromkeys(str(d) for d in qc["dataset"]))
    sections = []
    for ds in datasets:
        untested = (not_tested or {}).get(ds)
        if untested:  # no samples to check (a DE table): the reason, no tables
            sections.append({"dataset": ds, "sentence": f"{ds}: not tested: {untested}.", "not_tested": untested})
            continue
        q = _records_of(qc, ds)
        conf = _records_of(confounding, ds)
        methods, grid, other = _loo_grid(_records_of(loo, ds))
        libraries = {str(c.get("library")) for g in grid for c in g["cells"].values()}
        baseline = {str(r["method"]): r for r in _records_of(verdict, ds) if str(r.get("library")) in libraries}
        flagged = [r for r in q if r.get("flags")]
        confounded = [r for r in conf if r.get("status") == "confounded"]
        associated = [r for r in conf if r.get("status") == "associated"]
        parts = []
        parts.append(
            f"{len(flagged)} of {len(q)} samples flagged ({', '.join(r['sample'] for r in flagged)})"
            if flagged
            else f"none of the {len(q)} samples flagged"
        )
        if confounded:
            parts.append("confounded with " + ", ".join(f"`{r['column']}`" for r in confounded))
        elif associated:
            parts.append("associated with " + ", ".join(f"`{r['column']}`" for r in associated))
        else:
            parts.append("no column of the sheet confounded with the contrast")
        rests = sorted(
            {
                f"{c['sample']} ({m})"
                for c in grid
                for m, x in c["cells"].items()
                if x["word"].startswith(("rests on", "masks"))
            }
        )
        if rests:
            parts.append("the answer rests on " + ", ".join(rests))
        elif grid:
            parts.append(f"no single sample of the {len(grid)} left out carries the answer")
        else:
            parts.append("leave-one-sample-out not run" + (f" ({other[0]['detail']})" if other else ""))
        sections.append(
            {
                "dataset": ds,
                "sentence": f"{ds}: " + "; ".join(parts) + ".",
                "qc": q,
                "checked": [r for r in conf if r.get("status") != "skipped"],
                "skipped": [r for r in conf if r.get("status") == "skipped"],
                "methods": methods,
                "grid": grid,
                "other": other,
                "baseline": baseline,
                "not_tested": "",
            }
        )
    return render(
        "samples.html",
        title="Samples: does the answer rest on one sample, or on the sample sheet?",
        banner=banner,
        sections=sections,
    )
