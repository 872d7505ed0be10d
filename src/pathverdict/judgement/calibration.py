"""How often is the answer wrong? The calibrated false-positive rate and power of the verdict.

``benchmarks/calibration.py`` runs the verdict procedure (the workflow's own functions and
default settings) on hundreds of simulated studies whose truth is known, per scenario (3 vs 3
cells, 12 vs 12 tissue with a selection by MEIS1 expression; with and without correlated gene
modules), and writes the table shipped as ``pathverdict/data/calibration.tsv``: per scenario
the false-positive rate of ``on_top`` (with its Clopper-Pearson 95% upper bound), how often
``inconclusive`` is returned, the false-positive rate of the claim the role tests
(``reproduced`` on a null study), and the power (share of planted studies called on top) at a
grid of effect sizes.

:func:`lookup` picks the scenario for a dataset's design (role, group size, selection,
method); :func:`dataset_rows` makes ``results/<study>/calibration.tsv`` (one row per dataset, the
columns of :data:`COLUMNS`), which the claims page shows next to each dataset's answer. The
scenario with correlated modules is used when there is one (real genes are correlated, and
its false-positive rate is the higher one in the table); a design other than the calibrated
one (e.g. 5 vs 5 cells) gets the nearest scenario's figures and a note saying they are
indicative only. Methods other than the calibrated one (``ora_all``) get no figures.
"""

from __future__ import annotations

import math
import re
from importlib import resources
from pathlib import Path

import pandas as pd

COLUMNS = [
    "dataset",
    "design",
    "scenario",
    "fpr_on_top",
    "fpr_ci_high",
    "power",
    "power_effect",
    "n_null",
    "n_planted",
    "source",
    "note",
]
PACKAGE_TABLE = "data/calibration.tsv"
CELL_LIKE = ("cells_overexpression", "cells_loss_of_function", "negative_control", "other")


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
    """The calibrated figures for a design: a dict with the table row's fields plus ``match``
    (exact / nearest) and ``note``. ``n_per_group`` is the smaller compared group; ``role``
    picks tissue (12 vs 12 with a selection by expression) or cell-like scenarios."""
    t = read_table() if table is None else table
    kind = "tissue" if role == "tissue" else "cells"
    rows = t[t["role"] == kind]
    if method not in set(rows["method"]):
        return {
            "scenario": "",
            "match": "none",
            "note": f"not calibrated for {method}: the calibration covers "
            f"{', '.join(sorted(set(t['method'])))} (the headline method by default)",
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


def table_engine(table: pd.DataFrame) -> str:
    """The DE engine a calibration table was made with: ``de.engine X`` in its ``settings`` (tables
    made before the engine choice existed, such as the shipped one, say nothing: r_exact, then the
    only engine)."""
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


def _uncalibrated(name: str, design: str, source: str, note: str) -> dict:
    """A dataset's row without calibrated figures, and why."""
    return {
        "dataset": name,
        "design": design,
        "scenario": "",
        "fpr_on_top": math.nan,
        "fpr_ci_high": math.nan,
        "power": math.nan,
        "power_effect": "",
        "n_null": pd.NA,
        "n_planted": pd.NA,
        "source": source,
        "note": note,
    }


def dataset_rows(
    datasets: dict[str, dict],
    sample_sheets: dict[str, pd.DataFrame],
    method: str = "ora_all",
    table: pd.DataFrame | None = None,
    table_source: str | None = None,
    engine: str = "r_exact",
) -> pd.DataFrame:
    """``results/<study>/calibration.tsv``: per dataset the calibrated false-positive rate and power of
    the headline method for its design. ``datasets`` is the config's datasets section (role,
    contrast, select_by_expression), ``sample_sheets`` the checked (selected) sample sheets; a dataset
    given as a DE table has none, and its row says it is not calibrated. ``engine`` the study's
    ``de.engine`` (a note says when the table was made with another one)."""
    t = read_table() if table is None else table
    source = table_source or f"package table pathverdict/{PACKAGE_TABLE} (benchmarks/calibration.py)"
    calibrated = table_engine(t)
    engine_note = (
        ""
        if calibrated == engine
        else f"calibrated with the DE engine {calibrated}, this study runs {engine}: indicative only "
        f"(benchmarks/calibration.py --engine {engine} calibrates it)"
    )
    rows = []
    for name, ds in datasets.items():
        if name not in sample_sheets and "de_table" in ds:
            note = "not tested: calibration by design needs the samples of each group; a DE table has none"
            rows.append(_uncalibrated(name, "DE table", source, note))
            continue
        sel = ds.get("select_by_expression") or None
        design, n = _design(
            sample_sheets[name], ds["contrast"], str(sel.get("group", ds["contrast"][1])) if sel else None
        )
        role = ds.get("role", "other")
        hit = lookup(n, method, role, selection=bool(ds.get("select_by_expression")), table=t)
        if hit["match"] == "none":
            rows.append(_uncalibrated(name, design, source, hit["note"]))
            continue
        note = "; ".join(x for x in (hit["note"], engine_note) if x)
        extra = (
            f"calibrated {hit['claim']} claim false-positive rate {float(hit['fpr_claim']):.3g}"
            if not pd.isna(hit.get("fpr_claim"))
            else ""
        )
        rows.append(
            {
                "dataset": name,
                "design": design,
                "scenario": hit["scenario"],
                "fpr_on_top": float(hit["fpr_on_top"]),
                "fpr_ci_high": float(hit["fpr_ci_high"]),
                "power": float(hit["power"]) if not pd.isna(hit["power"]) else math.nan,
                "power_effect": str(hit["power_effect"]),
                "n_null": int(hit["n_null"]),
                "n_planted": int(hit["n_planted"]),
                "source": source,
                "note": "; ".join(x for x in (note, extra) if x),
            }
        )
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["n_null"] = out["n_null"].astype("Int64")
    out["n_planted"] = out["n_planted"].astype("Int64")
    return out


def sentence(calibration: pd.DataFrame) -> str:
    """One sentence for the claims paragraph: the calibrated error rates of the answers."""
    if calibration is None or calibration.empty:
        return ""
    parts = []
    for _, r in calibration.iterrows():
        if pd.isna(r["fpr_on_top"]):
            continue
        parts.append(
            f"{r['dataset']} ({r['design']}): false-positive rate {100 * float(r['fpr_on_top']):.1f}% "
            f"(95% upper bound {100 * float(r['fpr_ci_high']):.1f}%), power "
            + (f"{100 * float(r['power']):.0f}%" if not pd.isna(r["power"]) else "not measured")
            + f" at {r['power_effect']}"
        )
    if not parts:
        return ""
    return (
        "Calibrated on simulated studies of the same design (benchmarks/calibration.py), a call 'on top' is "
        "wrong this often: " + "; ".join(parts) + "."
    )
