"""The forest plot of the replication summary (``results/<study>/replication.png``): one panel per claim
with a pathway test, one row per dataset -- its standardised effect and 95% interval, a filled square sized
by its random-effects weight when pooled, a hollow grey circle when not (the reason is in the page) -- and the
pooled estimate as a diamond (95% interval) with the prediction interval as a thin line; the negative
controls in a panel of their own. The answer of each claim is in its panel's title."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .style import CATEGORICAL, NOT_SIG, TARGET, _empty_axes, _figure, fit_title

POOLED = CATEGORICAL[0]
ROW_IN = 0.3  # inches per row


def _num(x) -> float:
    v = pd.to_numeric(x, errors="coerce")
    return float(v) if not pd.isna(v) else float("nan")


def _panels(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame, dict | None]]:
    """(title, dataset rows, pooled row) per claim that has datasets, then the negative controls."""
    out = []
    for claim in dict.fromkeys(table["claim"]):
        sub = table[table["claim"] == claim]
        rows = sub[sub["kind"] == "dataset"]
        pooled = sub[sub["kind"] == "pooled"]
        if rows.empty:
            continue
        p = pooled.iloc[0].to_dict() if len(pooled) else None
        if p is not None:
            title = f"{claim}: {p['answer']}"
            if not np.isnan(_num(p.get("effect"))):
                title += f" (k = {int(_num(p['k']))}, I² {_num(p['i2']):.0f}%)"
        else:
            title = f"{claim.replace('_', ' ')}s (never pooled)"
        out.append((title, rows, p))
    return out


def forest_plot(table: pd.DataFrame, out: str | Path, title: str, effect_label: str) -> None:
    """Draw the forest plot of ``table`` (``replication.tsv``, :mod:`pathverdict.judgement.replication`)."""
    panels = _panels(table) if len(table) else []
    n_rows = sum(len(rows) + (1 if p is not None else 0) for _, rows, p in panels)
    longest = max([len(str(d)) for _, rows, _ in panels for d in rows["dataset"]] + [12])
    width = max(6.5, 5.0 + 0.08 * longest)
    height = max(2.4, ROW_IN * n_rows + 0.75 * len(panels) + 1.0)
    with _figure(out, figsize=(width, height)) as fig:
        if not panels:
            ax = fig.add_subplot()
            ax.set_title(fit_title(title, width))
            _empty_axes(ax, "no claim with a pathway test and datasets")
            return
        fig.suptitle(fit_title(title, width))
        ratios = [len(rows) + (1 if p is not None else 0) + 0.8 for _, rows, p in panels]
        axes = fig.subplots(len(panels), 1, gridspec_kw={"height_ratios": ratios}, squeeze=False)[:, 0]
        lows = [_num(v) for v in table["ci_low"]] + [_num(v) for v in table["pi_low"]] + [0.0]
        highs = [_num(v) for v in table["ci_high"]] + [_num(v) for v in table["pi_high"]] + [0.0]
        lo, hi = np.nanmin(lows), np.nanmax(highs)
        pad = 0.05 * (hi - lo or 1.0)
        for ax, (panel_title, rows, pooled) in zip(axes, panels):
            _panel(ax, panel_title, rows, pooled)
            ax.set_xlim(lo - pad, hi + pad)
        axes[-1].set_xlabel(fit_title(effect_label, width, 9.0))


def _panel(ax, title: str, rows: pd.DataFrame, pooled: dict | None) -> None:
    labels = []
    y = len(rows) + (1 if pooled is not None else 0)
    weights = [_num(w) for w in rows["weight"]]
    wmax = np.nanmax(weights) if np.isfinite(weights).any() else 1.0
    for (_, r), w in zip(rows.iterrows(), weights):
        y -= 1
        est, low, high = _num(r["effect"]), _num(r["ci_low"]), _num(r["ci_high"])
        is_pooled = str(r["poolable"]) == "yes"
        control = str(r["claim"]) == "negative_control"
        labels.append((y, f"{r['dataset']}" + ("" if is_pooled or control else "  (not pooled)")))
        if np.isnan(est):
            ax.text(0, y, "no effect", va="center", ha="left", fontsize=7.5, color="#5D4037")
            continue
        colour = POOLED if is_pooled else NOT_SIG
        ax.plot([low, high], [y, y], color=colour, lw=1.4, zorder=2)
        if is_pooled:
            size = 30 + 90 * (w / wmax if np.isfinite(w) and wmax > 0 else 0.5)
            ax.scatter([est], [y], marker="s", s=size, color=colour, zorder=3)
        else:
            ax.scatter([est], [y], marker="o", s=36, facecolors="white", edgecolors=colour, lw=1.4, zorder=3)
    if pooled is not None:
        y -= 1
        est, low, high = _num(pooled.get("effect")), _num(pooled.get("ci_low")), _num(pooled.get("ci_high"))
        if np.isnan(est):
            labels.append((y, "pooled: not tested"))
        else:
            labels.append((y, "pooled (REML)"))
            pi_low, pi_high = _num(pooled.get("pi_low")), _num(pooled.get("pi_high"))
            ax.plot([pi_low, pi_high], [y, y], color=TARGET, lw=0.8, zorder=2)
            ax.fill([low, est, high, est], [y, y + 0.28, y, y - 0.28], color=TARGET, zorder=3)
    ax.axvline(0, color="#555555", lw=0.8, ls="--", zorder=1)
    ax.set_yticks([p for p, _ in labels], [t for _, t in labels])
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_title(title, loc="left", fontsize=9.5)
    ax.grid(axis="x", color="#EEEEEE", lw=0.6)
