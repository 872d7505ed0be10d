"""Confounding: can the contrast be told apart from another column of the sample sheet?

A design such as ``~condition`` attributes every difference between the compared groups to the
condition. When another column of the sheet (a sequencing batch, a dissection date) splits the
samples the same way, that column's effect is in the contrast too and nothing in the data can
separate them. :func:`check_sheet` checks every column of the sheet that is not in the design
against the contrast's variable, over the samples of the two compared groups:

* **confounded** (complete aliasing): a factor column each of whose levels lies within one group
  -- the column determines the group, so ``~column + condition`` cannot be estimated. The
  dataset's claims become ``inconclusive`` (:func:`pathverdict.judgement.samples.caveats_from_qc`):
  "the contrast is confounded with `batch`: every control sample is in A, every treated sample in B";
* **associated** (strong partial association, a warning with its figure): a factor with Cramér's V
  >= :data:`ASSOCIATION`, or a numeric column whose rank-biserial correlation with the group has
  \\|r\\| >= :data:`ASSOCIATION` (\\|r\\| = 1: the groups' values do not overlap). 0.5 is the
  conventional "large" association (Cohen); with it part of the column's effect is read as the
  condition's;
* **independent**: below that;
* **skipped**, with the reason: constant over the compared samples; a per-sample identifier (every
  value different, or more distinct values than half the samples: a batch has several samples per
  level); a numeric running number (1, 2, ..., n); a column that defines the groups (a GEO
  dataset's ``samples.groups`` fields) or that the config says restates the contrast
  (``datasets.X.same_as_contrast``).

A dataset given as a published DE table has no sample sheet: one row, status ``not tested``, says so
(:func:`not_tested`).

Numeric columns with at most half as many distinct values as samples are read as factors (a
batch numbered 1, 2), as the DE step reads a numeric design column.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..util import read_text_table

ASSOCIATION = 0.5
COLUMNS = ["dataset", "column", "kind", "levels", "status", "measure", "value", "detail"]
TEXT = ("dataset", "column", "kind", "status", "measure", "detail")
CONFOUNDED, ASSOCIATED, INDEPENDENT, SKIPPED = "confounded", "associated", "independent", "skipped"
NOT_TESTED = "not tested"  # no sample sheet to check (a dataset given as a DE table)


def _numeric(values: pd.Series) -> pd.Series | None:
    v = pd.to_numeric(values, errors="coerce")
    return v if v.notna().all() else None


def _levels_text(levels: Iterable[str], limit: int = 6) -> str:
    levels = [str(x) for x in levels]
    if len(levels) > limit:
        return ", ".join(levels[:limit]) + f" or {len(levels) - limit} other levels"
    return levels[0] if len(levels) == 1 else ", ".join(levels[:-1]) + f" or {levels[-1]}"


def _cramers_v(table: pd.DataFrame) -> float:
    obs = table.to_numpy(dtype=float)
    n = obs.sum()
    expected = obs.sum(axis=1, keepdims=True) * obs.sum(axis=0, keepdims=True) / n
    chi2 = float(((obs - expected) ** 2 / np.where(expected > 0, expected, 1)).sum())
    k = min(obs.shape) - 1
    return math.sqrt(chi2 / (n * k)) if k > 0 and n > 0 else float("nan")


def _rank_biserial(values: pd.Series, groups: pd.Series, tested: str) -> float:
    """2 AUC - 1 of the column's values in the tested vs the reference group (ties count half)."""
    a = values[groups == tested].to_numpy(dtype=float)
    b = values[groups != tested].to_numpy(dtype=float)
    if not len(a) or not len(b):
        return float("nan")
    greater = (a[:, None] > b[None, :]).sum() + 0.5 * (a[:, None] == b[None, :]).sum()
    return float(2 * greater / (len(a) * len(b)) - 1)


def _group_word(group: str, plural: bool = False) -> str:
    return f"{group} sample{'s' if plural else ''}"


def check_column(name: str, values: pd.Series, groups: pd.Series, contrast: list[str], *, restates: str = "") -> dict:
    """One row of :func:`check_sheet` for the column ``name`` (``values`` and ``groups`` over the compared
    samples, same index)."""
    _, tested, reference = (str(c) for c in contrast)
    values = values.astype(str)
    n = len(values)
    distinct = values.nunique()
    row = {"column": name, "kind": "factor", "levels": int(distinct), "measure": "", "value": np.nan}
    if restates:
        return {**row, "status": SKIPPED, "detail": f"not checked: {restates}"}
    if distinct <= 1:
        return {**row, "status": SKIPPED, "detail": "the same value in every compared sample"}
    numbers = _numeric(values)
    if numbers is not None and distinct > n / 2:
        ints = numbers.round().eq(numbers).all()
        if (
            ints
            and distinct == n
            and set(numbers.astype(int)) == set(range(int(numbers.min()), int(numbers.min()) + n))
        ):
            return {**row, "kind": "numeric", "status": SKIPPED, "detail": "a running number (one per sample)"}
        r = _rank_biserial(numbers, groups, tested)
        status = ASSOCIATED if abs(r) >= ASSOCIATION else INDEPENDENT
        lo_t, hi_t = numbers[groups == tested].min(), numbers[groups == tested].max()
        lo_r, hi_r = numbers[groups == reference].min(), numbers[groups == reference].max()
        detail = (
            f"{tested} {lo_t:g}-{hi_t:g}, {reference} {lo_r:g}-{hi_r:g}: rank-biserial correlation with the group "
            f"{r:+.2f}" + ("; the groups' values do not overlap" if abs(r) >= 1 - 1e-12 else "")
        )
        return {**row, "kind": "numeric", "status": status, "measure": "rank_biserial", "value": r, "detail": detail}
    if distinct == n or distinct > n / 2:
        why = "every value differs" if distinct == n else f"{distinct} values for {n} samples"
        return {**row, "status": SKIPPED, "detail": f"a per-sample identifier ({why})"}
    table = pd.crosstab(values, groups).reindex(columns=[reference, tested], fill_value=0)
    in_one = (table > 0).sum(axis=1) == 1
    v = _cramers_v(table)
    if in_one.all():
        where = {g: sorted(table.index[(table[g] > 0) & in_one].tolist(), key=str) for g in (reference, tested)}
        detail = (
            f"the contrast is confounded with `{name}`: every {reference} sample is in "
            f"{_levels_text(where[reference])}, every {tested} sample in {_levels_text(where[tested])}"
        )
        return {**row, "status": CONFOUNDED, "measure": "cramers_v", "value": v, "detail": detail}
    split = "; ".join(
        f"{lvl}: {int(table.loc[lvl, reference])} {reference}, {int(table.loc[lvl, tested])} {tested}"
        for lvl in table.index
    )
    status = ASSOCIATED if v >= ASSOCIATION else INDEPENDENT
    return {**row, "status": status, "measure": "cramers_v", "value": v, "detail": f"{split} (Cramér's V {v:.2f})"}


def check_sheet(
    sheet: pd.DataFrame,
    design_variables: Iterable[str],
    contrast: list[str],
    *,
    restating: dict[str, str] | None = None,
    dataset: str = "",
) -> pd.DataFrame:
    """Every column of ``sheet`` (indexed by sample) except ``sample`` and the design's variables,
    checked against the contrast over the compared samples (:data:`COLUMNS`; see the module docs).
    ``restating`` maps a column to why it is not checked (it defines or restates the groups)."""
    var, tested, reference = (str(c) for c in contrast)
    sheet = sheet.copy()
    sheet.columns = [str(c) for c in sheet.columns]
    groups = sheet[var].astype(str)
    compared = groups.isin([tested, reference])
    skip = {"sample", var, *map(str, design_variables)}
    rows = []
    for col in sheet.columns:
        if col in skip:
            continue
        rows.append(
            check_column(
                col,
                sheet.loc[compared, col],
                groups[compared],
                [var, tested, reference],
                restates=(restating or {}).get(col, ""),
            )
        )
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "dataset"])
    out.insert(0, "dataset", dataset)
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    return out[COLUMNS]


def not_tested(dataset: str, reason: str) -> pd.DataFrame:
    """The table of a dataset without a sample sheet to check: one row, no column, status ``not tested``
    and the reason as its ``detail``."""
    row = {"dataset": dataset, "column": "", "kind": "", "levels": np.nan, "status": NOT_TESTED}
    return pd.DataFrame([row | {"measure": "", "value": np.nan, "detail": reason}], columns=COLUMNS)


def restating_columns(dataset_config: dict) -> dict[str, str]:
    """Columns of a dataset's sheet that define or restate its groups (not checked): the fields of a
    GEO dataset's ``samples.groups`` rules and ``same_as_contrast``."""
    out = {}
    for col in dataset_config.get("same_as_contrast") or []:
        out[str(col)] = "restates the contrast (datasets.*.same_as_contrast)"
    groups = ((dataset_config.get("geo") or {}).get("samples") or {}).get("groups") or {}
    for rules in groups.values():
        for field in rules or {}:
            out.setdefault(str(field), "defines the groups (geo.samples.groups)")
    return out


def sentence(table: pd.DataFrame) -> str:
    """The confounded and associated columns of one dataset in one sentence ('' when none)."""
    if table is None or table.empty:
        return ""
    parts = [str(d) for d in table.loc[table["status"] == CONFOUNDED, "detail"]]
    parts += [
        f"`{c}` is associated with the groups ({d})"
        for c, d in table.loc[table["status"] == ASSOCIATED, ["column", "detail"]].itertuples(index=False)
    ]
    return "; ".join(parts)


def read_confounding(path) -> pd.DataFrame:
    t = read_text_table(path, TEXT)
    return t.fillna({c: "" for c in TEXT if c in t.columns})
