"""How often is the answer wrong? The false-positive rate and power of the verdict, per dataset and
method, and the power rule of the claims.

``results/<study>/calibration.tsv`` (:func:`dataset_rows`, one row per dataset x method of the verdict,
the headline method first) comes from one of two sources, named in its ``source`` column:

* **this dataset's fit** (``calibration.enabled``, the default): studies simulated from the
  dataset's own genes, library sizes, means, dispersions, design and amount of background DE, judged
  by the verdict as the workflow judges them (:mod:`pathverdict.judgement.dataset_calibration`);
* **the package table** (``pathverdict/data/calibration.tsv``, made by ``benchmarks/calibration.py``
  on simulated studies of 15,000 genes; the fallback when the per-dataset calibration is off):
  :func:`lookup` picks the scenario of the dataset's design (role, group size, selection, method; the
  scenario with correlated modules when there is one); another design gets the nearest scenario's
  figures and a note that they are indicative only.

Each row gives the false-positive rate of ``on_top`` (share of null studies called on top) and the
power at the reference effect (``calibration.reference_effect``, ``|log2FC|`` on ``fraction`` of the
target's genes), both with 95% Clopper-Pearson intervals, the power at every simulated effect, and
the same for "enriched" (FDR <= ``verdict.max_fdr``: the tissue claim's test).

**The power rule** (:func:`caveats_from_power`): "not on top" is evidence that the target is not the
principal pathway only where the design could have found it. For every dataset and method whose power
at the reference effect (primary library) is below ``calibration.min_power`` (or was not measured), a
caveat turns a ``no`` of the claims' ``on_top`` test judged by that method into ``inconclusive``
with the reason (:func:`power_reason`); likewise for the ``enriched`` test with the power of
"enriched". The caveats are rows of the claims engine's caveats table
(:data:`pathverdict.judgement.claims.CAVEAT_COLUMNS`, source :data:`POWER_SOURCE`): they reach
``caveats.tsv``, the claims page and the replication summary like every other caveat. A dataset that
could not be calibrated (a DE table: no counts to simulate from) has no power figure, so its "not on
top" is inconclusive too, and its reason says the calibration was not tested.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import pandas as pd

from ..render import yes
from .dataset_calibration import FPR_COLUMNS, CalibrationSettings, parse_by_effect

COLUMNS = [
    "dataset",
    "library",
    "method",
    "primary",
    "design",
    "source",
    "scenario",
    "n_genes",
    *FPR_COLUMNS,
    "n_planted",
    "reference_effect",
    "min_power",
    "power",
    "power_ci_low",
    "power_ci_high",
    "power_enriched",
    "power_enriched_ci_low",
    "power_enriched_ci_high",
    "power_effect",
    "power_by_effect",
    "enriched_by_effect",
    "background",
    "note",
]
TEXT_COLUMNS = ("dataset", "library", "method", "design", "source", "scenario", "power_effect", "background", "note")
PACKAGE_TABLE = "data/calibration.tsv"
CELL_LIKE = ("cells_overexpression", "cells_loss_of_function", "negative_control", "other")
PER_DATASET_SOURCE = "this dataset's fit"
NOT_CALIBRATED = "not calibrated"
DE_TABLE_NOTE = "a DE table has no counts to simulate from"
POWER_SOURCE = "power"  # the caveats' source column


def table_path() -> Path:
    return Path(str(resources.files("pathverdict") / PACKAGE_TABLE))


def read_table(path: str | Path | None = None) -> pd.DataFrame:
    """The calibration table (default: the one shipped with the package)."""
    p = Path(path) if path is not None else table_path()
    return pd.read_csv(p, sep="\t", keep_default_na=False, na_values=[""])


def lookup(
    n_per_group: int,
    method: str = "ora_all",
    role: str = "cells_overexpression",
    *,
    selection: bool = False,
    table: pd.DataFrame | None = None,
) -> dict:
    """The package table's figures for a design: a dict with the table row's fields plus ``match``
    (exact / nearest / none) and ``note``. ``n_per_group`` is the smaller compared group; ``role``
    picks tissue (12 vs 12 with a selection by expression) or cell-like scenarios."""
    t = read_table() if table is None else table
    kind = "tissue" if role == "tissue" else "cells"
    rows = t[t["role"] == kind]
    if method not in set(rows["method"]):
        return {
            "scenario": "",
            "match": "none",
            "note": f"not in the package table for {method} (it covers {', '.join(sorted(set(t['method'])))}); "
            "the per-dataset calibration (calibration.enabled) covers every method",
        }
    rows = rows[rows["method"] == method]
    with_modules = rows[rows["modules"] != "none"]
    rows = with_modules if len(with_modules) else rows
    best = rows.iloc[(rows["n_per_group"] - int(n_per_group)).abs().argsort().iloc[0]]
    out = best.to_dict()
    notes = []
    if int(best["n_per_group"]) != int(n_per_group):
        out["match"] = "nearest"
        notes.append(
            f"calibrated at {best['design']}, this dataset has {n_per_group} in its smaller group: the figures "
            "are indicative only (power grows with the group size; the false-positive rate should not)"
        )
    else:
        out["match"] = "exact"
    if kind == "tissue" and not selection:
        notes.append("the tissue calibration selects patients by MEIS1 expression; this dataset has no selection")
    if kind == "cells" and role in ("other", "negative_control"):
        notes.append(f"role {role}: the cell-line calibration is used")
    out["note"] = "; ".join(notes)
    return out


CALIBRATION_ENGINE = "r_exact"  # the DE engine of the per-dataset simulations (steps.verdict.calibrate_dataset)


def _engine_note(calibrated: str, engine: str) -> str:
    """A note when the figures' DE engine is not the study's: they are indicative only."""
    if calibrated == engine:
        return ""
    return (
        f"calibrated with the DE engine {calibrated}, this study runs {engine}: indicative only (the engines "
        "agree on most calls: docs/fidelity.md)"
    )


def table_engine(table: pd.DataFrame) -> str:
    """The DE engine a calibration table was made with: ``de.engine X`` in its ``settings`` (tables
    made before the engine choice existed say nothing: r_exact, then the only engine)."""
    settings = " ".join(str(s) for s in table.get("settings", pd.Series(dtype=str)).dropna())
    found = re.search(r"de\.engine (\w+)", settings)
    return found.group(1) if found else "r_exact"


def _design(samples: pd.DataFrame, contrast, selected_group: str | None = None) -> tuple[str, int]:
    """("n_tested vs n_reference", the group size to look up): the smaller group, or with a
    selection by expression the group that is not selected (the calibration's tissue studies
    are 12 vs 12 *before* the selection)."""
    var, tested, ref = (str(c) for c in contrast)
    labels = samples[var].astype(str) if var in samples.columns else pd.Series(dtype=str)
    n_t, n_r = int((labels == tested).sum()), int((labels == ref).sum())
    if selected_group is not None:
        return f"{n_t} vs {n_r}", n_r if str(selected_group) == tested else n_t
    return f"{n_t} vs {n_r}", min(n_t, n_r)


def _at(by_effect: str, effect: float) -> tuple[float, float, float]:
    """(rate, 95% low, 95% high) at ``effect`` from a ``power_by_effect`` text (NaN when absent)."""
    hit = parse_by_effect(by_effect).get(float(effect))
    if hit is None or hit[1] == 0:
        return math.nan, math.nan, math.nan
    k, n, lo, hi = hit
    return k / n, lo, hi


def _empty_row(name: str, method: str, design: str, source: str, note: str) -> dict:
    return {c: math.nan for c in COLUMNS} | {
        "dataset": name,
        "method": method,
        "design": design,
        "source": source,
        "scenario": "",
        "power_effect": "",
        "power_by_effect": "",
        "enriched_by_effect": "",
        "background": "",
        "note": note,
    }


def _rates(row: dict, by_effect: str, enriched_by_effect: str, settings: CalibrationSettings) -> dict:
    p, plo, phi = _at(by_effect, settings.reference_effect)
    q, qlo, qhi = _at(enriched_by_effect, settings.reference_effect)
    return row | {
        "reference_effect": settings.reference_effect,
        "min_power": settings.min_power,
        "power": p,
        "power_ci_low": plo,
        "power_ci_high": phi,
        "power_enriched": q,
        "power_enriched_ci_low": qlo,
        "power_enriched_ci_high": qhi,
        "power_effect": settings.effect_text(),
        "power_by_effect": by_effect_text(by_effect),
        "enriched_by_effect": by_effect_text(enriched_by_effect),
    }


def by_effect_text(by_effect: str) -> str:
    """ "1:5/30:0.056:0.35;2:..." -> "|log2FC| 1: 5/30 = 17% (95% CI 6-35%); |log2FC| 2: ..." (old package
    tables: "1:0.165" -> "|log2FC| 1: 16%")."""
    parts = []
    for part in str(by_effect or "").split(";"):
        bits = part.split(":")
        if len(bits) == 4:
            k, n = (int(x) for x in bits[1].split("/"))
            parts.append(f"|log2FC| {bits[0]}: {k}/{n} = {_pct(k / n) if n else '-'}{_ci(bits[2], bits[3])}")
        elif len(bits) == 2 and bits[1]:
            parts.append(f"|log2FC| {bits[0]}: {_pct(bits[1])}")
    return "; ".join(parts)


def _package_row(name, ds, sheet, method, settings, table, source) -> dict:
    sel = ds.get("select_by_expression") or None
    design, n = _design(sheet, ds["contrast"], str(sel.get("group", ds["contrast"][1])) if sel else None)
    hit = lookup(n, method, ds.get("role", "other"), selection=bool(sel), table=table)
    if hit["match"] == "none":
        return _empty_row(name, method, design, source, hit["note"])
    note = [hit["note"]] if hit["note"] else []
    if float(hit.get("fraction", settings.fraction)) != settings.fraction:
        note.append(f"the package table planted on {100 * float(hit['fraction']):.0f}% of the target's genes")
    keys = RAW_FIGURES
    if sel and hit["role"] == "tissue" and not _missing(hit.get("fpr_counted")):
        note.append(counted_note(hit))  # the figures as the claims count them, the raw ones in the note
        keys = COUNTED_FIGURES
    fig = [hit.get(k, math.nan) for k in keys]
    row = _empty_row(name, method, design, f"{source} ({int(hit['n_genes'])} genes)", "; ".join(note))
    row |= {
        "scenario": hit["scenario"],
        "n_genes": int(hit["n_genes"]),
        "n_null": int(hit["n_null"]),
        "n_planted": int(hit["n_planted"]),
        **{k: float(v) for k, v in zip(RAW_FIGURES[:5], fig[:5])},
    }
    return _rates(row, "" if _missing(fig[5]) else str(fig[5]), "" if _missing(fig[6]) else str(fig[6]), settings)


# a package row's figures as the verdict calls them, and (a cohort selected by expression, the tissue rows)
# as the claims count them: a yes only where the selection-aware null rejects (benchmarks/calibration.py)
RAW_FIGURES = ("fpr_on_top", "fpr_ci_low", "fpr_ci_high", "fpr_enriched", "fpr_enriched_ci_high")
RAW_FIGURES += ("power_by_effect", "enriched_by_effect")
COUNTED_FIGURES = ("fpr_counted", "fpr_counted_ci_low", "fpr_counted_ci_high", "fpr_enriched_counted")
COUNTED_FIGURES += ("fpr_enriched_counted_ci_high", "power_counted_by_effect", "enriched_counted_by_effect")


COUNTED_MARK = "as the claims count them in a cohort selected by expression"


def is_counted(row) -> bool:
    """Are a row's figures as the claims count them (a package row for a cohort selected by expression)?"""
    return COUNTED_MARK in str(row.get("note", "") or "")


def counted_note(hit) -> str:
    """The note of a package row for a cohort selected by expression: its figures are as the claims count
    them (claim_tests.qualify_by_selection), the verdict's raw ones beside them."""
    k = round(float(hit["fpr_on_top"]) * int(hit["n_null"]))
    raw = by_effect_text(str(hit.get("power_by_effect", "") or ""))
    return (
        f"{COUNTED_MARK}: 'on top' (and 'enriched') only where the "
        f"selection-aware null rejects; as called, without that null: a false 'on top' in {k}/{int(hit['n_null'])} "
        f"null studies (95% upper bound {_pct(hit['fpr_ci_high'])})" + (f", power {raw}" if raw else "")
    )


def _dataset_row(name, ds, sheet, summary: pd.Series, settings: CalibrationSettings) -> dict:
    sel = ds.get("select_by_expression") or None
    design, _ = _design(sheet, ds["contrast"], str(sel.get("group", ds["contrast"][1])) if sel else None)
    if not int(summary.get("n_null", 0) or 0):  # the dataset could not be simulated: the step said why
        return _empty_row(name, str(summary["method"]), design, PER_DATASET_SOURCE, str(summary.get("note", "")))
    note = []
    if sel:
        note.append(f"each simulated cohort is selected by {sel.get('gene')} expression as the data were")
    if int(summary.get("no_answer", 0) or 0):
        note.append(f"{int(summary['no_answer'])} simulation(s) gave no answer (counted as not on top)")
    row = _empty_row(
        name,
        str(summary["method"]),
        design,
        f"{PER_DATASET_SOURCE} ({int(summary['n_null'])} null + {int(summary['n_planted'])} planted simulated studies)",
        "; ".join(note),
    )
    row |= {k: summary[k] for k in ("n_null", "n_planted", "fpr_on_top", "fpr_ci_low", "fpr_ci_high")}
    row |= {
        "n_genes": int(summary["genes"]),
        "fpr_enriched": summary["fpr_enriched"],
        "fpr_enriched_ci_high": summary["fpr_enriched_ci_high"],
        "background": summary["background"],
    }
    return _rates(row, str(summary["power_by_effect"]), str(summary["enriched_by_effect"]), settings)


def dataset_rows(
    datasets: dict[str, dict],
    sample_sheets: dict[str, pd.DataFrame],
    methods=("ora_all",),
    primary: str = "ora_all",
    *,
    library: str = "",
    settings: CalibrationSettings | None = None,
    summaries: dict[str, pd.DataFrame] | None = None,
    table: pd.DataFrame | None = None,
    table_source: str | None = None,
    engine: str = "r_exact",
) -> pd.DataFrame:
    """``results/<study>/calibration.tsv``: per dataset (the config's datasets section: role, contrast,
    select_by_expression) and method (the headline method first), the false-positive rate and power,
    from the dataset's own simulations when ``summaries`` has it (``calibration/summary.tsv``), else
    from the package table. ``sample_sheets``: the checked (selected) sample sheets; a dataset given as
    a DE table has none, and its rows say it is not calibrated (:data:`NOT_CALIBRATED`). ``engine``: the
    study's ``de.engine`` (a note says when the figures' DE ran with another engine)."""
    settings = settings or CalibrationSettings()
    t = read_table() if table is None else table
    source = table_source or f"package table pathverdict/{PACKAGE_TABLE}, benchmarks/calibration.py"
    engines = {"table": _engine_note(table_engine(t), engine), "fit": _engine_note(CALIBRATION_ENGINE, engine)}
    order = [primary] + [m for m in methods if m != primary]
    rows = []
    for name, ds in datasets.items():
        summary = (summaries or {}).get(name)
        for method in order:
            if name not in sample_sheets and "de_table" in ds:
                row = _empty_row(name, method, "DE table", NOT_CALIBRATED, DE_TABLE_NOTE) | {
                    "reference_effect": settings.reference_effect,
                    "min_power": settings.min_power,
                    "power_effect": settings.effect_text(),
                }
                kind = ""
            elif summary is not None and method in set(summary["method"]):
                row = _dataset_row(
                    name, ds, sample_sheets[name], summary[summary["method"] == method].iloc[0], settings
                )
                kind = "fit"
            else:
                row = _package_row(name, ds, sample_sheets[name], method, settings, t, source)
                kind = "table"
            if kind and not _missing(row["fpr_on_top"]):
                row["note"] = "; ".join(x for x in (row["note"], engines[kind]) if x)
            rows.append(row | {"library": library, "primary": method == primary})
    out = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("n_genes", "n_null", "n_planted"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    return out


# --------------------------------------------------------------------------- the words and the power rule


def _missing(x) -> bool:
    """No value: None, NaN, or an empty cell of a table read as text."""
    return x is None or (isinstance(x, str) and x.strip() == "") or (not isinstance(x, str) and pd.isna(x))


def _pct(x) -> str:
    return f"{100 * float(x):.0f}%"


def _ci(lo, hi) -> str:
    if _missing(lo) or _missing(hi):
        return ""
    return f" (95% CI {_pct(lo)}-{_pct(hi)})"


def power_words(row, test: str = "on_top") -> str:
    """ "with this design a real effect of |log2FC| 1 on 30% of the pathway's genes is called on top in
    18% (95% CI 9-31%) of simulated studies" -- the sentence the claims page, the terminal and the
    caveats use; "enriched" for the ``enriched`` test."""
    col = "power" if test == "on_top" else "power_enriched"
    what = "called on top" if test == "on_top" else "called enriched"
    if is_counted(row):
        what += " with the selection-aware null rejecting"
    effect = str(row.get("power_effect", "") or "") or "the reference effect"
    value = row.get(col, math.nan)
    if _missing(value):
        method = row.get("method") or "this method"
        if str(row.get("source", "")) == NOT_CALIBRATED:
            return (
                f"calibration not tested ({row.get('note') or NOT_CALIBRATED}): the power of {method} was not measured"
            )
        return f"the power of this design for {method} was not measured"
    return (
        f"with this design a real effect of {effect} is {what} in {_pct(value)}"
        f"{_ci(row.get(col + '_ci_low'), row.get(col + '_ci_high'))} of simulated studies"
    )


def powered(row, min_power: float, test: str = "on_top") -> bool:
    """Did the design have adequate power: point estimate >= ``min_power``?"""
    value = row.get("power" if test == "on_top" else "power_enriched", math.nan)
    return not _missing(value) and float(value) >= min_power


def power_reason(row, min_power: float, test: str = "on_top") -> str:
    """The caveat's reason: why a "no" of ``test`` is inconclusive in this dataset."""
    answer = "not on top" if test == "on_top" else "not enriched"
    src = row.get("source")
    source = "" if _missing(src) or str(src) == NOT_CALIBRATED else f"; calibrated on {src}"
    return f"{answer}, but {power_words(row, test)}: a 'no' needs power >= {min_power:g}{source}"


def _of_library(calibration: pd.DataFrame, library: str | None) -> pd.DataFrame:
    """The rows of ``library`` (all rows when it has none, or the table has no library column)."""
    t = calibration
    if library and "library" in t.columns and (t["library"].astype(str) == library).any():
        t = t[t["library"].astype(str) == library]
    return t


def headline_rows(calibration: pd.DataFrame, primary: str | None = None, library: str | None = None) -> pd.DataFrame:
    """One row per dataset: the headline method (``primary`` column, or the method ``primary``)."""
    if calibration is None or calibration.empty:
        return pd.DataFrame(columns=COLUMNS)
    t = _of_library(calibration, library)
    if primary is not None:
        t = t[t["method"].astype(str) == primary]
    elif "primary" in t.columns:
        t = t[t["primary"].map(yes)]
    return t.drop_duplicates("dataset")


def caveats_from_power(
    calibration: pd.DataFrame,
    *,
    min_power: float | None = None,
    primary: str | None = None,
    library: str | None = None,
    methods: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The power rule as caveats (``claims.CAVEAT_COLUMNS``) for the claims engine: for each dataset and
    method (``methods``; default the headline method, ``primary`` or the rows marked primary) of the
    primary library (``library``) with power < ``min_power`` (default: the table's ``min_power``,
    ``calibration.min_power``) at the reference effect, or no measured power, a ``no`` of ``on_top``
    judged by that method becomes ``inconclusive`` (``tests`` ``on_top:<method>``); likewise a ``no``
    of ``enriched`` with the power of "enriched". A method's power never earns another method's "no"."""
    from .claims import CAVEAT_COLUMNS  # claims reads this module's columns: imported here, not above

    if calibration is None or calibration.empty:
        return pd.DataFrame(columns=CAVEAT_COLUMNS)
    if methods is None:
        table = headline_rows(calibration, primary, library)
    else:
        table = _of_library(calibration, library)
        table = table[table["method"].astype(str).isin(list(methods))].drop_duplicates(["dataset", "method"])
    rows = []
    for _, r in table.iterrows():
        r = r.to_dict()
        need = float(r["min_power"]) if min_power is None else float(min_power)
        method = "" if _missing(r.get("method")) else f":{r['method']}"
        for test in ("on_top", "enriched"):
            if not powered(r, need, test):
                rows.append(
                    {
                        "dataset": str(r["dataset"]),
                        "tests": test + method,
                        "when": "no",
                        "holds": "inconclusive",
                        "source": POWER_SOURCE,
                        "reason": power_reason(r, need, test),
                    }
                )
    return pd.DataFrame(rows, columns=CAVEAT_COLUMNS)


CONTROL_VERDICT = "a negative control: its 'not on top' is the check passing, which power does not qualify"


def power_verdict(row, control: bool = False) -> str:
    """What the power means for a "no" of this dataset: earned, or inconclusive (the power rule); for a
    negative control (``control``), that power does not enter its check."""
    need = row.get("min_power", math.nan)
    if _missing(need):
        return ""
    if control:
        return CONTROL_VERDICT
    need = float(need)
    if powered(row, need):
        return f"power >= {need:g}: a 'not on top' here counts as no"
    if _missing(row.get("power", math.nan)):
        return "power not measured: a 'not on top' here is inconclusive, not a no"
    return f"power below {need:g}: a 'not on top' here is inconclusive, not a no"


def sentence(calibration: pd.DataFrame, controls: Iterable[str] = ()) -> str:
    """The calibration of each dataset's headline answer, for the claims paragraph and the log
    (``controls``: the negative controls, whose check power does not qualify)."""
    parts = []
    controls = {str(c) for c in controls}
    for _, r in headline_rows(calibration).iterrows():
        verdict = power_verdict(r, str(r["dataset"]) in controls)
        if _missing(r["fpr_on_top"]):  # not calibrated (a DE table) or not in the package table: say so
            parts.append(
                f"{r['dataset']} ({r['design']}, {r['method']}): {power_words(r)}"
                + (f" ({verdict})" if verdict else "")
            )
            continue
        parts.append(
            f"{r['dataset']} ({r['design']}, {r['method']}): a false 'on top'"
            + (" counted by the claims" if is_counted(r) else "")
            + f" in {_pct(r['fpr_on_top'])} of null "
            f"studies (95% upper bound {_pct(r['fpr_ci_high'])}); {power_words(r)}"
            + (f" ({verdict})" if verdict else "")
        )
    if not parts:
        return ""
    return "Calibration (results/calibration.tsv): " + "; ".join(parts) + "."
