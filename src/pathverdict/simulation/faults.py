"""What goes wrong with samples, simulated: the cases sample QC and leave-one-sample-out must catch.

Keys of a dataset of ``simulation.datasets`` (:func:`pathverdict.simulation.simulated_study.simulate_dataset`
applies them after the counts are drawn, in this order):

* ``effect_in_samples: [3]`` -- the planted effect only in these samples of the second group
  (1-based positions; e.g. one treated sample carries the whole pathway change, the others look
  like controls); applied when the counts are drawn (``affected`` of :func:`simulate`);
* ``resequenced: {S05: S04}`` -- sample S05 is not a biological replicate but the library of S04
  sequenced again: its counts are Poisson draws around S04's counts scaled to S05's depth (the same
  molecules, new sampling of reads: technical noise only);
* ``swap_labels: [[S03, S04]]`` -- the two samples' labels are exchanged in the sample sheet (a
  mix-up between the tubes and the sheet);
* ``sheet_columns: {batch: [A, A, A, B, B, B]}`` -- extra sample-sheet columns, one value per
  sample in sheet order (a sequencing batch aliased with the groups, a partly associated one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError, preview

KEYS = ("effect_in_samples", "resequenced", "swap_labels", "sheet_columns")


def affected_positions(entry: dict, n_per_group: int, where: str) -> list[int] | None:
    """0-based positions within the second group from ``effect_in_samples`` (None when not given)."""
    positions = entry.get("effect_in_samples")
    if positions is None:
        return None
    bad = [p for p in positions if not (isinstance(p, int) and 1 <= p <= n_per_group)]
    if bad or not positions:
        raise InputError(
            f"{where}.effect_in_samples: {preview(bad) if bad else 'empty'}: give positions 1..{n_per_group} of the "
            "second group's samples, e.g. [3]."
        )
    return sorted({int(p) - 1 for p in positions})


def resequence(counts: pd.DataFrame, pairs: dict, seed, where: str) -> pd.DataFrame:
    """``pairs`` maps a sample to the sample whose library it re-sequences (see the module docs)."""
    out = counts.copy()
    rng = np.random.default_rng(seed)
    for copy, original in pairs.items():
        copy, original = str(copy), str(original)
        missing = [s for s in (copy, original) if s not in counts.columns]
        if missing or copy == original:
            raise InputError(
                f"{where}.resequenced: {copy}: {original}: name two different simulated samples "
                f"({preview(list(counts.columns))})."
            )
        depth = counts[copy].sum() / max(counts[original].sum(), 1)
        out[copy] = rng.poisson(counts[original].to_numpy(dtype=float) * depth).astype(np.int64)
    return out


def swap_labels(sheet: pd.DataFrame, pairs, where: str, column: str = "condition") -> pd.DataFrame:
    """The sheet with the ``column`` values of each pair of samples exchanged."""
    out = sheet.copy()
    names = list(out["sample"])
    for pair in pairs or []:
        if len(pair) != 2 or any(str(s) not in names for s in pair):
            raise InputError(f"{where}.swap_labels: {pair}: give pairs of simulated samples ({preview(names)}).")
        i, j = (names.index(str(s)) for s in pair)
        out.loc[[i, j], column] = out.loc[[j, i], column].to_numpy()
    return out


def add_columns(sheet: pd.DataFrame, columns: dict, where: str) -> pd.DataFrame:
    """The sheet with extra columns (one value per sample, in sheet order)."""
    out = sheet.copy()
    for name, values in (columns or {}).items():
        if name in out.columns or len(values) != len(out):
            raise InputError(
                f"{where}.sheet_columns.{name}: give a new column with {len(out)} values (one per sample), "
                f"got {len(values)}" + (" for an existing column" if name in out.columns else "")
            )
        out[str(name)] = [str(v) for v in values]
    return out


def apply_faults(counts: pd.DataFrame, sheet: pd.DataFrame, entry: dict, seed, where: str):
    """``resequenced``, ``swap_labels`` and ``sheet_columns`` of a dataset entry; returns counts, sheet
    and what was done (for ``study.json``)."""
    info = {}
    if entry.get("resequenced"):
        counts = resequence(counts, dict(entry["resequenced"]), [int(seed), 5], where)
        info["resequenced"] = {str(k): str(v) for k, v in entry["resequenced"].items()}
    if entry.get("swap_labels"):
        sheet = swap_labels(sheet, entry["swap_labels"], where)
        info["swap_labels"] = [[str(s) for s in p] for p in entry["swap_labels"]]
    if entry.get("sheet_columns"):
        sheet = add_columns(sheet, entry["sheet_columns"], where)
        info["sheet_columns"] = sorted(map(str, entry["sheet_columns"]))
    return counts, sheet, info
